//! Shared setup of the 楽天 sync tests: a migrated database (SQLite, or PostgreSQL when
//! `FURUSATO_TEST_DATABASE_URL` is set), a municipality with a small gift master, and the
//! RMS-shaped mock server on 127.0.0.1:0 that the real client talks to.

#![allow(dead_code)] // each test file uses a different part

use std::time::Duration as StdDuration;

use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::{Db, MunicipalityId};
use furusato_intake::rakuten_sync::{
    self, ClientTuning, Credentials, RunOptions, SyncSummary, Trigger,
};
use furusato_portals::rakuten::datetime::{format_rms_datetime, now_jst};
use furusato_portals::rakuten::mock::{MockConfig, MockRms};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

pub const SECRET: &str = "mock-service-secret";
pub const KEY: &str = "mock-license-key";

pub struct Env {
    pub db: TestDb,
    pub tenant: MunicipalityId,
    pub mock: MockRms,
    pub base: String,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Env {
    /// Database, 仙台市 with gifts SD0001–SD0005, and a running mock without orders.
    pub async fn new() -> Env {
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
        .expect("municipality");
        let tenant = m.tenant();
        let mut tx = db.begin().await.unwrap();
        let partner = furusato_db::gifts::insert_partner(
            &mut tx,
            tenant,
            &furusato_db::gifts::NewPartner {
                code: "P001".into(),
                name: "仙台物産".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for i in 1..=5 {
            furusato_db::gifts::insert_gift(
                &mut tx,
                tenant,
                &furusato_db::gifts::NewGift {
                    code: format!("SD{i:04}"),
                    partner_id: partner,
                    name: format!("返礼品{i}"),
                    amount: 10_000,
                    cost: 3_000,
                    valid_from: time::macros::date!(2024 - 04 - 01),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mock = MockRms::new(MockConfig::new(SECRET, KEY, {
            let exp = now_jst() + Duration::days(60);
            time::PrimitiveDateTime::new(exp.date(), time::Time::from_hms(23, 59, 59).unwrap())
        }));
        let (addr, server) = mock
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .expect("mock serves");
        Env {
            db,
            tenant,
            mock,
            base: format!("http://{addr}"),
            _server: server,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db.db
    }

    /// Options for a run against the mock: given credentials, no pacing, fast retries.
    pub fn opts(&self) -> RunOptions {
        let mut o = RunOptions::new(Trigger::Cli, "test");
        o.base_url = Some(self.base.clone());
        o.credentials = Some(Credentials::new(SECRET, KEY));
        o.rate = Some(0.0);
        o.tuning = ClientTuning {
            timeout: StdDuration::from_secs(5),
            max_retries: 3,
            backoff_base: StdDuration::from_millis(10),
            backoff_max: StdDuration::from_millis(50),
            page_size: 1000,
        };
        o
    }

    pub async fn sync(&self) -> SyncSummary {
        rakuten_sync::run(self.db(), None, self.tenant, self.opts())
            .await
            .expect("the run starts")
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE municipality_id = $1");
        furusato_db::with_db!(self.db(), |pool| sqlx::query_scalar::<_, i64>(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(self.tenant.0)
        .fetch_one(pool)
        .await
        .unwrap())
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        furusato_db::with_db!(self.db(), |pool| sqlx::query_scalar::<_, i64>(
            sqlx::AssertSqlSafe(sql.to_string())
        )
        .bind(self.tenant.0)
        .fetch_one(pool)
        .await
        .unwrap())
    }
}

/// Every table the sync may write, for before/after comparisons.
pub const TABLES: &[&str] = &[
    "donors",
    "donations",
    "ship_tos",
    "donation_items",
    "source_records",
    "donation_changes",
    "donor_sources",
    "match_reviews",
    "portal_orders",
    "mapping_reviews",
    "text_mappings",
    "counters",
    "audit_log",
    "sync_runs",
    "sync_cursors",
    "jobs",
];

/// A person of an order.
#[allow(clippy::too_many_arguments)]
pub fn person(
    family: &str,
    given: &str,
    family_kana: &str,
    given_kana: &str,
    zip: (&str, &str),
    city: &str,
    sub: &str,
    phone: [&str; 3],
) -> Value {
    json!({
        "zipCode1": zip.0, "zipCode2": zip.1, "prefecture": "東京都", "city": city, "subAddress": sub,
        "familyName": family, "firstName": given, "familyNameKana": family_kana, "firstNameKana": given_kana,
        "phoneNumber1": phone[0], "phoneNumber2": phone[1], "phoneNumber3": phone[2],
    })
}

/// An item line.
pub fn item(code: &str, title: &str, price: i64, units: i64, choice: &str) -> Value {
    json!({
        "itemDetailId": 1, "itemName": format!("【ふるさと納税】{title} [{code}]"), "itemId": 10000119,
        "itemNumber": code, "manageNumber": code.to_lowercase(), "price": price, "units": units,
        "includePostageFlag": 1, "includeTaxFlag": 1, "selectedChoice": choice, "deleteItemFlag": 0,
    })
}

/// A package to `sender` with `items`.
pub fn package(basket_id: i64, sender: Value, items: Vec<Value>) -> Value {
    let mut s = sender;
    s["isolatedIslandFlag"] = json!(0);
    json!({"basketId": basket_id, "packageDeleteFlag": 0, "SenderModel": s, "ItemModelList": items, "ShippingModelList": []})
}

/// A complete getOrder order: card payment, one package to the orderer, one item SD0001.
pub fn order(number: &str, at: OffsetDateTime, progress: i32) -> Value {
    let orderer = person(
        "楽天",
        "太郎",
        "ラクテン",
        "タロウ",
        ("158", "0094"),
        "世田谷区",
        "玉川1-2-3",
        ["090", "1111", "2222"],
    );
    let mut o = orderer.clone();
    o["emailAddress"] = json!("815db15ff6ee7c0285bf7f5ce8485450s1@pc.fw.rakuten.example");
    o["sex"] = json!("男");
    o["birthYear"] = json!(1984);
    o["birthMonth"] = json!(1);
    o["birthDay"] = json!(2);
    let t = |m: i64| format_rms_datetime(at + Duration::minutes(m));
    json!({
        "orderNumber": number,
        "orderProgress": progress,
        "orderDatetime": format_rms_datetime(at),
        "shopOrderCfmDatetime": if progress >= 200 { json!(t(10)) } else { Value::Null },
        "orderFixDatetime": if progress >= 300 && progress != 900 { json!(t(30)) } else { Value::Null },
        "remarks": "[配送日時指定:]\n\n",
        "equalSenderFlag": 1, "severalSenderFlag": 0, "orderType": 1, "modifyFlag": 0,
        "goodsPrice": 10000, "postagePrice": 0, "deliveryPrice": 0, "paymentCharge": 0,
        "totalPrice": 10000, "requestPrice": 10000,
        "OrdererModel": o,
        "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード", "rpaySettlementFlag": 1},
        "PointModel": {"usedPoint": 0},
        "PackageModelList": [package(90000001, orderer, vec![item("SD0001", "牛タン 塩仕込み 500g", 10000, 1,
            "税金控除申請に必要な書類:必要(ワンストップ特例申請用)\n寄附金の使い道:子育て支援")])],
        "ChangeReasonModelList": [],
    })
}

/// Now minus `days`, at 10:00 JST.
pub fn days_ago(days: i64) -> OffsetDateTime {
    let d = now_jst() - Duration::days(days);
    time::PrimitiveDateTime::new(d.date(), time::Time::from_hms(10, 0, 0).unwrap())
        .assume_offset(furusato_portals::rakuten::datetime::JST)
}

/// An order number of shop 283819 dated at `at`.
pub fn number(at: OffsetDateTime, seq: u32) -> String {
    let d = at
        .to_offset(furusato_portals::rakuten::datetime::JST)
        .date();
    format!(
        "283819-{:04}{:02}{:02}-{:010}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        seq
    )
}
