//! A generic (取込調整) profile saved under a name and used by name, as the upload form and
//! `furusato import csv --profile NAME` do.

mod imports_support;

use furusato_db::imports as store;
use furusato_intake::imports::{self, ImportFailure, ProfileRef, StoredMapping};
use furusato_portals::csv_import::{ColumnMapping, suggest_mapping};
use imports_support::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../furusato-portals/tests/fixtures/csv/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_profile_is_used_by_name() {
    let (db, tenant) = setup().await;
    let mapping = ColumnMapping::from_json(
        std::str::from_utf8(&fixture("satofuru_like_mapping.json")).unwrap(),
    )
    .unwrap();
    let stored = StoredMapping {
        mapping: mapping.clone(),
        sample_headers: vec!["寄附受付番号".into()],
    };
    // The stored JSON still reads as a plain ColumnMapping (extra key ignored).
    assert_eq!(
        ColumnMapping::from_json(&stored.to_json()).unwrap(),
        mapping
    );
    let mut tx = db.begin().await.unwrap();
    store::insert_profile(&mut tx, tenant, "さとふる", "satofull", &stored.to_json())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let dup =
        store::insert_profile(&mut tx, tenant, "さとふる", "satofull", &stored.to_json()).await;
    assert!(matches!(dup, Err(furusato_db::DbError::Conflict(_))));
    drop(tx);

    // As `--profile さとふる`: previews, then commits.
    let reference = ProfileRef::from_name("さとふる", None);
    assert_eq!(reference.key(), "profile:さとふる");
    let profile = imports::resolve_profile(&db, tenant, &reference)
        .await
        .unwrap();
    assert_eq!(profile.source(), "csv:さとふる");
    let file = fixture("satofuru_like_cp932.csv");
    let preview = imports::preview(&db, tenant, &profile, bytes(file.clone()))
        .await
        .unwrap();
    assert_eq!(preview.encoding.as_str(), "cp932");
    assert_eq!(
        (
            preview.counts.rows_total,
            preview.counts.rows_ok,
            preview.counts.created
        ),
        (2, 2, 2)
    );
    // The gift code is not in the gift master: imported with its code and name, and said so.
    assert_eq!(preview.warnings.len(), 1, "{:?}", preview.warnings);
    assert!(preview.warnings[0].message_ja.contains("1234567"));
    let done = imports::import_now(
        &db,
        tenant,
        &profile,
        "satofuru.csv",
        bytes(file),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(done.counts.created, 2);
    let d = find_donation(&db, tenant, "satofull", "SF-20260105-0001").await;
    assert_eq!(
        (d.amount, d.payment_method.as_str(), d.onestop_wanted),
        (Some(15_000), "credit_card", true)
    );
    assert_eq!(
        d.received_on.map(|r| r.to_string()).as_deref(),
        Some("2026-01-05")
    );
    assert_eq!(d.use_of_funds, "市長におまかせ");
    let ships = furusato_db::donations::ship_tos(&db, tenant, d.id)
        .await
        .unwrap();
    assert_eq!(ships[0].name, "髙橋 花子");
    let donor = furusato_db::donors::get(&db, tenant, d.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (donor.postal_code.as_str(), donor.phone.as_str()),
        ("1000001", "0900000001")
    );
    let d2 = find_donation(&db, tenant, "satofull", "SF-20260106-0002").await;
    assert_eq!(
        (
            d2.payment_method.as_str(),
            d2.payment_status.as_str(),
            d2.onestop_wanted
        ),
        ("other", "unpaid", false)
    );

    // A profile that is not registered is a clear error; the built-in names stay built-in.
    let missing = imports::resolve_profile(&db, tenant, &ProfileRef::from_name("ふるなび", None))
        .await
        .unwrap_err();
    assert!(matches!(missing, ImportFailure::ProfileNotFound(_)));
    assert_eq!(
        missing.message_ja(),
        "取込設定「ふるなび」は登録されていません。"
    );
    assert_eq!(ProfileRef::from_name("choice", None), ProfileRef::Choice);
}

#[test]
fn suggestions_and_validation_for_the_mapping_screen() {
    let headers = [
        "寄附受付番号",
        "寄附日",
        "寄附金額",
        "寄附者氏名",
        "配送先郵便番号",
        "独自列",
    ];
    let m = suggest_mapping(&headers);
    let problems = m.validate(&headers);
    assert!(problems.is_empty(), "{problems:?}");
    let mut bad = m.clone();
    bad.columns
        .remove(&furusato_portals::csv_import::CanonicalField::Amount);
    let problems = bad.validate(&headers);
    assert_eq!(
        problems[0].message_ja,
        "必須項目「寄附金額」に列が割り当てられていません"
    );
}
