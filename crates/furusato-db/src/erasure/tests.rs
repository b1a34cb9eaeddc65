//! Erasure on both engines: data past retention is gone, data within retention stays, the report
//! counts what was deleted, a dry run changes nothing, other municipalities are untouched.

use time::macros::date;
use uuid::Uuid;

use super::*;
use crate::dialect::bulk_insert;
use crate::donations::{self, NewDonation, NewDonationItem, NewShipTo};
use crate::donors::{self, NewDonor};
use crate::imports::{self, NewImport, NewPaymentRecord};
use crate::municipalities::{self, NewMunicipality};
use crate::testing::{TestDb, test_db};
use crate::vault::{self, NewVaultEntry};

/// The day of the erasure runs: far enough ahead that rows created "now" are old.
const AS_OF: Date = date!(2040 - 06 - 01);

async fn municipality(db: &Db, code: &str, name: &str) -> MunicipalityId {
    municipalities::insert(
        db,
        &NewMunicipality {
            code: code.into(),
            name: name.into(),
            prefecture_code: 4,
            mayor_title: format!("{name}長"),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .tenant()
}

async fn donor(db: &Db, t: MunicipalityId, family: &str) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = donors::insert(
        &mut tx,
        t,
        &NewDonor {
            family_name: family.into(),
            given_name: "花子".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn donation(
    db: &Db,
    t: MunicipalityId,
    donor_id: Uuid,
    donated: Date,
    received: Option<Date>,
) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let (id, _) = donations::insert(
        &mut tx,
        t,
        &NewDonation {
            donor_id,
            channel: "bank_transfer".into(),
            portal: None,
            external_id: None,
            amount: Some(10_000),
            donated_on: donated,
            received_on: received,
            applied_at: None,
            payment_method: "bank_transfer".into(),
            payment_status: if received.is_some() { "paid" } else { "unpaid" }.into(),
            use_of_funds: String::new(),
            onestop_wanted: true,
            receipt_wanted: true,
            gift_declined: false,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Gift line, ship-to, change record, source record and a matched payment of a donation.
async fn belongings(db: &Db, t: MunicipalityId, donation_id: Uuid, donor_id: Uuid, paid_on: Date) {
    let mut tx = db.begin().await.unwrap();
    let ship = new_id();
    bulk_insert(
        &mut tx,
        "ship_tos",
        &donations::SHIP_TO_INSERT_COLUMNS,
        vec![donations::ship_to_insert_row(
            ship,
            t,
            donation_id,
            1,
            &NewShipTo {
                name: "送付 先".into(),
                ..Default::default()
            },
        )],
        "",
    )
    .await
    .unwrap();
    let item = NewDonationItem {
        name: "牛たん".into(),
        quantity: 1,
        ship_to_id: Some(ship),
        ..Default::default()
    };
    bulk_insert(
        &mut tx,
        "donation_items",
        &donations::ITEM_INSERT_COLUMNS,
        vec![donations::item_insert_row(t, donation_id, 1, &item)],
        "",
    )
    .await
    .unwrap();
    let now = now_utc();
    with_tx!(&mut tx, |conn| {
        sqlx::query(
        "INSERT INTO donation_changes (id, municipality_id, donation_id, at, source, actor, summary, fields) \
         VALUES ($1, $2, $3, $4, 'manual', 'test', '金額を訂正', '{}')"
    )
    .bind(new_id())
    .bind(t.0)
    .bind(donation_id)
    .bind(now)
    .execute(conn)
    .await
    .unwrap()
    .rows_affected()
    });
    with_tx!(&mut tx, |conn| {
        sqlx::query(
        "INSERT INTO source_records (id, municipality_id, source, external_id, version, content_hash, raw_deflate, \
         donation_id, donor_id, received_at) VALUES ($1, $2, 'manual', $3, 1, $4, $4, $5, $6, $7)"
    )
    .bind(new_id())
    .bind(t.0)
    .bind(donation_id.to_string())
    .bind(vec![1u8, 2, 3])
    .bind(donation_id)
    .bind(donor_id)
    .bind(now)
    .execute(conn)
    .await
    .unwrap()
    .rows_affected()
    });
    payment(&mut tx, t, Some(donation_id), None, paid_on).await;
    tx.commit().await.unwrap();
}

async fn payment(
    tx: &mut Tx,
    t: MunicipalityId,
    donation_id: Option<Uuid>,
    import_id: Option<Uuid>,
    paid_on: Date,
) {
    let r = NewPaymentRecord {
        import_id,
        line: 1,
        paid_on,
        amount: 10_000,
        payer_name: "振込 人".into(),
        payer_kana: String::new(),
        reference: String::new(),
        method: "bank".into(),
        donation_id,
        status: if donation_id.is_some() {
            "matched"
        } else {
            "unmatched"
        }
        .into(),
        note: String::new(),
        matched_by: String::new(),
    };
    bulk_insert(
        tx,
        "payment_records",
        &imports::PAYMENT_INSERT_COLUMNS,
        vec![imports::payment_insert_row(new_id(), t, &r, now_utc())],
        "",
    )
    .await
    .unwrap();
}

async fn my_number(db: &Db, t: MunicipalityId, donor_id: Uuid) {
    let mut tx = db.begin().await.unwrap();
    vault::put(
        &mut tx,
        t,
        &NewVaultEntry {
            id: new_id(),
            purpose: "my_number",
            owner_kind: "donor",
            owner_id: donor_id,
            key_id: "k1",
            sealed: b"not really sealed",
            blind_index: Some(&[7u8; 32]),
            last4: "0000",
            synthetic: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn import(db: &Db, t: MunicipalityId, name: &str) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = imports::insert(
        &mut tx,
        t,
        &NewImport {
            kind: "payments",
            profile: "generic",
            file_name: name,
            file_bytes: b"a,b\n1,2\n",
            encoding: "utf-8",
            status: "committed",
            rows_total: 1,
            rows_ok: 1,
            rows_error: 0,
            created: 1,
            updated: 0,
            unchanged: 0,
            errors: "[]",
            created_by: "test",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn count(db: &Db, sql: &str) -> i64 {
    with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

const TABLES: [&str; 12] = [
    "donations",
    "donors",
    "donation_items",
    "ship_tos",
    "donation_changes",
    "source_records",
    "payment_records",
    "vault_entries",
    "imports",
    "erasure_reports",
    "audit_log",
    "retention_policies",
];

async fn table_counts(db: &Db) -> Vec<(String, i64)> {
    let mut out = vec![];
    for t in TABLES {
        out.push((
            t.to_string(),
            count(db, &format!("SELECT COUNT(*) FROM {t}")).await,
        ));
    }
    out
}

async fn exists(db: &Db, table: &str, id: Uuid) -> bool {
    with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE id = $1"))
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
        == 1
}

struct World {
    db: TestDb,
    t: MunicipalityId,
    other: MunicipalityId,
    a: Uuid,
    a_old: Uuid,
    b: Uuid,
    b_old: Uuid,
    b_new: Uuid,
    c: Uuid,
    d: Uuid,
    e_boundary: Uuid,
    other_old: Uuid,
    recent_import: Uuid,
    old_import: Uuid,
}

/// With the default policies and AS_OF = 2040-06-01:
/// - 寄附記録 (10 years after the 年度): donations dated before 2030-04-01 go;
/// - 個人番号 (7 years after the year): donors whose latest donation is before 2033-01-01 lose it;
/// - 取込ファイル (1 year): files uploaded before 2039-05-31 go.
async fn world() -> World {
    let db = test_db().await;
    let t = municipality(&db, "041009", "仙台市").await;
    let other = municipality(&db, "011002", "札幌市").await;

    // A: one donation in FY2015, everything attached, a My Number → all gone.
    let a = donor(&db, t, "青木").await;
    let a_old = donation(
        &db,
        t,
        a,
        date!(2015 - 05 - 01),
        Some(date!(2015 - 05 - 02)),
    )
    .await;
    belongings(&db, t, a_old, a, date!(2015 - 05 - 02)).await;
    my_number(&db, t, a).await;
    // B: FY2015 donation (gone) and a 2032 one (kept); latest in 2032 → My Number erased.
    let b = donor(&db, t, "馬場").await;
    let b_old = donation(
        &db,
        t,
        b,
        date!(2016 - 01 - 10),
        Some(date!(2016 - 01 - 12)),
    )
    .await;
    let b_new = donation(
        &db,
        t,
        b,
        date!(2032 - 05 - 01),
        Some(date!(2032 - 05 - 01)),
    )
    .await;
    my_number(&db, t, b).await;
    // C: a 2035 donation → everything kept, My Number too.
    let c = donor(&db, t, "千葉").await;
    donation(
        &db,
        t,
        c,
        date!(2035 - 07 - 01),
        Some(date!(2035 - 07 - 01)),
    )
    .await;
    my_number(&db, t, c).await;
    // D: an unpaid donation of FY2028 (judged by 寄附日) → gone with the donor.
    let d = donor(&db, t, "土井").await;
    donation(&db, t, d, date!(2029 - 03 - 01), None).await;
    // E: donated on the last day of FY2029 but received in FY2030 → kept (受領日 decides).
    let e = donor(&db, t, "江藤").await;
    let e_boundary = donation(
        &db,
        t,
        e,
        date!(2030 - 03 - 31),
        Some(date!(2030 - 04 - 01)),
    )
    .await;
    // Another city's old donation is not touched.
    let o = donor(&db, other, "大野").await;
    let other_old = donation(
        &db,
        other,
        o,
        date!(2015 - 05 - 01),
        Some(date!(2015 - 05 - 01)),
    )
    .await;
    my_number(&db, other, o).await;

    // Payments that never matched: 2014 (gone) and 2035 (kept).
    // Imports: one uploaded "now" (before 2039-05-31: gone), one moved to 2039-12-01 (kept).
    let old_import = import(&db, t, "old.csv").await;
    let recent_import = import(&db, t, "recent.csv").await;
    let mut tx = db.begin().await.unwrap();
    payment(&mut tx, t, None, None, date!(2014 - 03 - 01)).await;
    payment(&mut tx, t, None, Some(old_import), date!(2035 - 01 - 01)).await;
    tx.commit().await.unwrap();
    let recent_at = retention::start_of_day_utc(date!(2039 - 12 - 01));
    with_db!(&*db, |pool| sqlx::query(
        "UPDATE imports SET created_at = $1 WHERE id = $2"
    )
    .bind(recent_at)
    .bind(recent_import)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());

    World {
        db,
        t,
        other,
        a,
        a_old,
        b,
        b_old,
        b_new,
        c,
        d,
        e_boundary,
        other_old,
        recent_import,
        old_import,
    }
}

fn actor() -> AuditEntry {
    AuditEntry {
        user_login: "cli:tester".into(),
        role: "cli".into(),
        ..Default::default()
    }
}

fn expected_counts(s: &ErasureSummary) {
    use target::*;
    assert_eq!(s.count(DataClass::MyNumber, MY_NUMBER), 2, "A and B");
    assert_eq!(
        s.count(DataClass::Donations, DONATIONS),
        3,
        "A's, B's old and D's"
    );
    assert_eq!(s.count(DataClass::Donations, DONORS), 2, "A and D");
    assert_eq!(s.count(DataClass::Donations, ITEMS), 1);
    assert_eq!(s.count(DataClass::Donations, SHIP_TOS), 1);
    assert_eq!(s.count(DataClass::Donations, CHANGES), 1);
    assert_eq!(s.count(DataClass::Donations, SOURCE_RECORDS), 1);
    assert_eq!(
        s.count(DataClass::Donations, PAYMENTS),
        2,
        "A's and the unmatched one of 2014"
    );
    assert_eq!(
        s.count(DataClass::Donations, MY_NUMBER_OF_DELETED_DONORS),
        0,
        "already erased by its own class"
    );
    assert_eq!(s.count(DataClass::Imports, IMPORTS), 1);
    assert_eq!(s.total(), 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_counts_exactly_and_changes_nothing() {
    let w = world().await;
    let before = table_counts(&w.db).await;
    let report = run(
        &w.db,
        w.t,
        &EraseOptions {
            as_of: AS_OF,
            dry_run: true,
        },
        &actor(),
    )
    .await
    .unwrap();
    assert!(report.summary.dry_run);
    expected_counts(&report.summary);
    assert_eq!(
        table_counts(&w.db).await,
        before,
        "a dry run writes nothing, not even the audit trail"
    );
    assert!(list_reports(&w.db, w.t, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_past_retention_is_erased_and_the_rest_stays() {
    let w = world().await;
    let report = run(
        &w.db,
        w.t,
        &EraseOptions {
            as_of: AS_OF,
            dry_run: false,
        },
        &actor(),
    )
    .await
    .unwrap();
    expected_counts(&report.summary);
    let db = &w.db;

    // Gone.
    assert!(!exists(db, "donations", w.a_old).await);
    assert!(!exists(db, "donations", w.b_old).await);
    assert!(!exists(db, "donors", w.a).await);
    assert!(!exists(db, "donors", w.d).await);
    assert!(!exists(db, "imports", w.old_import).await);
    assert_eq!(count(db, "SELECT COUNT(*) FROM donation_items").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM ship_tos").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM donation_changes").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM source_records").await, 0);
    // Kept.
    assert!(exists(db, "donors", w.b).await, "B still has a donation");
    assert!(exists(db, "donations", w.b_new).await);
    assert!(exists(db, "donors", w.c).await);
    assert!(
        exists(db, "donations", w.e_boundary).await,
        "received in FY2030"
    );
    assert!(
        exists(db, "donations", w.other_old).await,
        "another municipality"
    );
    assert!(exists(db, "imports", w.recent_import).await);
    let numbers: Vec<Uuid> = with_db!(&*w.db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM vault_entries ORDER BY owner_id"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let mut expected = vec![w.c, vault_owner_of_other(&w).await];
    expected.sort();
    assert_eq!(
        numbers, expected,
        "C's and the other city's My Numbers remain"
    );
    // The 2035 unmatched payment stays, without the link to its erased file.
    let left: Vec<(Option<Uuid>, Option<Uuid>)> = with_db!(&*w.db, |pool| sqlx::query_as(
        "SELECT donation_id, import_id FROM payment_records WHERE municipality_id = $1"
    )
    .bind(w.t.0)
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(left, vec![(None, None)]);

    // The report and the audit trail.
    let stored = list_reports(db, w.t, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].summary, report.summary);
    assert_eq!(stored[0].executed_by, "cli:tester");
    assert!(list_reports(db, w.other, 10).await.unwrap().is_empty());
    let f = audit::AuditFilter {
        action: Some("erase".into()),
        ..Default::default()
    };
    let entries = audit::search(db, w.t, &f, 1, 50).await.unwrap().items;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["erase.run", "erase.class", "erase.class", "erase.class"]
    );
    assert_eq!(entries[0].target_id, report.id.to_string());
    assert!(entries[0].detail.contains("\"total\":14"));
    assert_eq!(audit::verify(db).await.unwrap().first_broken, None);

    // The CSV report.
    let csv = String::from_utf8(report_csv(&stored[0], "仙台市")).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 1 + report.summary.lines.len() + 1);
    assert!(lines[0].contains("\"消去方法\""));
    assert!(csv.contains("\"個人番号\",\"2\",\"暗号消去（暗号文の削除）\""));
    assert!(csv.contains("\"寄附\",\"3\",\"行削除\""));
    assert!(csv.contains("\"操作記録\",\"0\",\"消去しない\""));

    // A second run finds nothing more.
    let again = run(
        db,
        w.t,
        &EraseOptions {
            as_of: AS_OF,
            dry_run: false,
        },
        &actor(),
    )
    .await
    .unwrap();
    assert_eq!(again.summary.total(), 0);
}

async fn vault_owner_of_other(w: &World) -> Uuid {
    with_db!(&*w.db, |pool| sqlx::query_scalar(
        "SELECT owner_id FROM vault_entries WHERE municipality_id = $1"
    )
    .bind(w.other.0)
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longer_policies_keep_more() {
    let w = world().await;
    let mut tx = w.db.begin().await.unwrap();
    retention::set_keep_days(
        &mut tx,
        w.t,
        DataClass::Donations,
        retention::years_to_days(30),
    )
    .await
    .unwrap();
    retention::set_keep_days(
        &mut tx,
        w.t,
        DataClass::MyNumber,
        retention::years_to_days(30),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = run(
        &w.db,
        w.t,
        &EraseOptions {
            as_of: AS_OF,
            dry_run: false,
        },
        &actor(),
    )
    .await
    .unwrap();
    assert_eq!(
        report
            .summary
            .count(DataClass::Donations, target::DONATIONS),
        0
    );
    assert_eq!(
        report.summary.count(DataClass::MyNumber, target::MY_NUMBER),
        0
    );
    assert_eq!(report.summary.count(DataClass::Imports, target::IMPORTS), 1);
    assert!(exists(&w.db, "donations", w.a_old).await);
    let p = retention::policies(&w.db, w.t).await.unwrap();
    assert_eq!(p[0].keep_label(), "30年");
    assert!(!p[0].is_default);
    assert!(p[2].is_default);
    assert_eq!(p[3].keep_label(), "消去しない");
    // The audit trail cannot get a policy.
    let mut tx = w.db.begin().await.unwrap();
    assert!(
        retention::set_keep_days(&mut tx, w.t, DataClass::AuditLog, 10)
            .await
            .is_err()
    );
}
