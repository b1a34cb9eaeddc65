//! Shared helpers of the import, payment and direct-donation tests: a fresh database with a
//! municipality, CP932 encoding, and small ふるさとチョイス-style files with fictitious people.

#![allow(dead_code)] // each test file uses a different part

use std::sync::Arc;

use furusato_db::MunicipalityId;
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_intake::imports::{self, Actor, ProfileRef, ResolvedProfile};

/// A migrated database with 仙台市.
pub async fn setup() -> (TestDb, MunicipalityId) {
    let db = test_db().await;
    let m = municipalities::insert(
        &db,
        &NewMunicipality {
            code: "041009".into(),
            name: "仙台市".into(),
            name_kana: "センダイシ".into(),
            prefecture_code: 4,
            mayor_title: "仙台市長".into(),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .expect("insert municipality");
    (db, m.tenant())
}

/// Encodes text as CP932; panics if a character has no CP932 form.
pub fn cp932(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "text has characters without a CP932 form");
    bytes.into_owned()
}

/// The columns of the test チョイス files.
pub const CHOICE_HEADERS: &[&str] = &[
    "寄附者番号",
    "申込日",
    "入金日",
    "氏名",
    "フリガナ",
    "〒",
    "都道府県",
    "市区町村",
    "町名・番地",
    "マンション名",
    "電話番号",
    "E-mailアドレス",
    "寄附金額",
    "寄附金の払込方法",
    "返礼品1_コード",
    "返礼品1_名称",
    "返礼品1_送り先_名前",
    "返礼品1_送り先_郵便番号",
    "返礼品1_送り先_都道府県",
    "返礼品1_送り先_市区町村",
    "返礼品1_送り先_町名・番地",
    "ワンストップ特例_要望",
    "備考",
];

/// One row of a test file, by column name; unnamed columns are empty.
#[derive(Clone, Debug, Default)]
pub struct Row(pub Vec<(&'static str, String)>);

impl Row {
    /// A good row: donation `id` of `amount` yen by a fictitious person.
    pub fn good(id: &str, name: &str, kana: &str, amount: i64) -> Row {
        Row(vec![
            ("寄附者番号", id.into()),
            ("申込日", "2026-01-05".into()),
            ("入金日", "2026-01-07".into()),
            ("氏名", name.into()),
            ("フリガナ", kana.into()),
            ("〒", "980-0000".into()),
            ("都道府県", "宮城県".into()),
            ("市区町村", "仙台市青葉区".into()),
            ("町名・番地", "見本通り1-2".into()),
            ("電話番号", "022-000-0001".into()),
            ("E-mailアドレス", "donor@example.jp".into()),
            ("寄附金額", amount.to_string()),
            ("寄附金の払込方法", "クレジットカード".into()),
            ("ワンストップ特例_要望", "希望する".into()),
        ])
    }

    pub fn set(mut self, col: &'static str, value: &str) -> Row {
        self.0.retain(|(c, _)| *c != col);
        self.0.push((col, value.into()));
        self
    }

    fn get(&self, col: &str) -> &str {
        self.0
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn quote(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A チョイス-style file (CRLF) with [`CHOICE_HEADERS`].
pub fn choice_csv(rows: &[Row]) -> String {
    let mut out = CHOICE_HEADERS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let cells: Vec<String> = CHOICE_HEADERS.iter().map(|h| quote(r.get(h))).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The チョイス profile, resolved.
pub async fn choice(db: &furusato_db::Db, tenant: MunicipalityId) -> ResolvedProfile {
    imports::resolve_profile(db, tenant, &ProfileRef::Choice)
        .await
        .expect("choice profile")
}

pub fn actor(tenant: MunicipalityId) -> Actor {
    Actor::cli(tenant)
}

pub fn bytes(b: Vec<u8>) -> Arc<Vec<u8>> {
    Arc::new(b)
}

/// Rows of a table (for counting).
pub async fn count(db: &furusato_db::Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    furusato_db::with_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .fetch_one(pool)
    .await
    .expect("count"))
}

/// The donation of `portal` with external id `id` (panics when absent).
pub async fn find_donation(
    db: &furusato_db::Db,
    tenant: MunicipalityId,
    portal: &str,
    id: &str,
) -> furusato_db::donations::Donation {
    let found = furusato_db::imports::donations_by_external(
        furusato_db::imports::Exec::Db(db),
        tenant,
        portal,
        &[id],
    )
    .await
    .expect("lookup");
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no donation {portal}/{id}"))
}
