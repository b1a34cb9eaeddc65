//! Payment records matched to donations: by 寄附番号, by payer kana + amount + date window,
//! ambiguous and unmatched cases, double payments, manual match and ignore.

mod imports_support;

use furusato_db::MunicipalityId;
use furusato_db::donations::{self, NewDonation};
use furusato_db::donors::{self, NewDonor};
use furusato_db::imports as store;
use furusato_intake::payments::{self, PaymentColumns, PaymentFailure};
use imports_support::*;
use time::Date;
use time::macros::date;
use uuid::Uuid;

async fn donor(
    db: &furusato_db::Db,
    tenant: MunicipalityId,
    family: &str,
    given: &str,
    fk: &str,
    gk: &str,
) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = donors::insert(
        &mut tx,
        tenant,
        &NewDonor {
            family_name: family.into(),
            given_name: given.into(),
            family_kana: fk.into(),
            given_kana: gk.into(),
            postal_code: "9800000".into(),
            prefecture: "宮城県".into(),
            city: "仙台市青葉区".into(),
            address1: "見本通り1-1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// An unpaid bank-transfer donation; returns (id, 寄附番号).
async fn unpaid(
    db: &furusato_db::Db,
    tenant: MunicipalityId,
    donor_id: Uuid,
    on: Date,
    amount: i64,
) -> (Uuid, String) {
    let mut tx = db.begin().await.unwrap();
    let r = donations::insert(
        &mut tx,
        tenant,
        &NewDonation {
            donor_id,
            channel: "bank_transfer".into(),
            portal: None,
            external_id: None,
            amount: Some(amount),
            donated_on: on,
            received_on: None,
            applied_at: None,
            payment_method: "bank_transfer".into(),
            payment_status: "unpaid".into(),
            use_of_funds: String::new(),
            onestop_wanted: false,
            receipt_wanted: true,
            gift_declined: true,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    r
}

fn statement(lines: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut s = String::from("取引日,お預り金額,振込依頼人名,備考\r\n");
    for (d, a, p, r) in lines {
        s.push_str(&format!("{d},\"{a}\",{p},{r}\r\n"));
    }
    cp932(&s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_rules() {
    let (db, tenant) = setup().await;
    let yamada = donor(&db, tenant, "山田", "太郎", "ヤマダ", "タロウ").await;
    let sato = donor(&db, tenant, "佐藤", "花子", "サトウ", "ハナコ").await;
    let sato2 = donor(&db, tenant, "佐藤", "花子", "サトウ", "ハナコ").await;
    let shacho = donor(&db, tenant, "社長", "一郎", "シャチョウ", "イチロウ").await;
    let (by_number, number) = unpaid(&db, tenant, yamada, date!(2026 - 01 - 05), 10_000).await;
    let (by_kana, _) = unpaid(&db, tenant, shacho, date!(2026 - 01 - 06), 30_000).await;
    let (_, _) = unpaid(&db, tenant, sato, date!(2026 - 01 - 07), 20_000).await;
    let (_, _) = unpaid(&db, tenant, sato2, date!(2026 - 01 - 08), 20_000).await;
    let (too_old, _) = unpaid(&db, tenant, yamada, date!(2025 - 10 - 01), 7_000).await;

    let file = statement(&[
        ("2026/01/10", "10,000", "ﾔﾏﾀﾞ ﾀﾛｳ", &number), // 1: exact 寄附番号 + amount
        ("2026/01/11", "30,000", "ｼﾔﾁﾖｳ ｲﾁﾛｳ", ""),   // 2: kana (bank small-kana folding) + amount
        ("2026/01/12", "20,000", "ｻﾄｳ ﾊﾅｺ", ""),      // 3: two candidates → ambiguous
        ("2026/01/13", "10,000", "ﾔﾏﾀﾞ ﾀﾛｳ", &number), // 4: same donation again → ambiguous (double)
        ("2026/01/14", "5,000", "ｽｽﾞｷ ｼﾞﾛｳ", ""),       // 5: nothing → unmatched
        ("2026/01/15", "7,000", "ﾔﾏﾀﾞ ﾀﾛｳ", ""),       // 6: outside the 60-day window → unmatched
        ("2026/01/16", "abc", "ﾔﾏﾀﾞ", ""),             // 7: unreadable amount
    ]);
    let parsed = payments::parse(&file, &PaymentColumns::default()).unwrap();
    assert_eq!(parsed.records.len(), 6);
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(parsed.errors[0].line, 8);
    let plan = payments::match_records(&db, tenant, &parsed.records)
        .await
        .unwrap();
    let statuses: Vec<&str> = plan.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [
            "matched",
            "matched",
            "ambiguous",
            "ambiguous",
            "unmatched",
            "unmatched"
        ]
    );
    assert_eq!(plan[0].donation_id, Some(by_number));
    assert_eq!(plan[1].donation_id, Some(by_kana));
    assert!(plan[2].note.contains("2件"), "{}", plan[2].note);
    assert!(plan[3].note.contains("二重入金"), "{}", plan[3].note);

    // Commit: one transaction; the matched donations are paid with 受領日 = 入金日.
    let out = payments::import_now(
        &db,
        tenant,
        "bank.csv",
        &file,
        &PaymentColumns::default(),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(
        (out.matched, out.ambiguous, out.unmatched, out.errors),
        (2, 2, 2, 1)
    );
    let d = donations::get(&db, tenant, by_number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.payment_status.as_str(), d.received_on),
        ("paid", Some(date!(2026 - 01 - 10)))
    );
    let d = donations::get(&db, tenant, by_kana).await.unwrap().unwrap();
    assert_eq!(
        (d.payment_status.as_str(), d.received_on),
        ("paid", Some(date!(2026 - 01 - 11)))
    );
    assert_eq!(
        furusato_db::source_records::changes(&db, tenant, by_number)
            .await
            .unwrap()
            .len(),
        1
    );
    let old = donations::get(&db, tenant, too_old).await.unwrap().unwrap();
    assert_eq!(old.payment_status, "unpaid");

    // The same statement again pays nothing twice: the two paid donations give ambiguous records
    // with a double-payment note, and every record of the file waits for an operator.
    let again = payments::import_now(
        &db,
        tenant,
        "bank.csv",
        &file,
        &PaymentColumns::default(),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!((again.matched, again.ambiguous, again.unmatched), (0, 4, 2));
    let records = store::payment_records_of_import(&db, tenant, again.import_id)
        .await
        .unwrap();
    assert!(
        records[0].note.contains("既に入金済") && records[1].note.contains("既に入金済"),
        "{:?}",
        records[1].note
    );
    let open = payments::open_records(&db, tenant, 1, 100).await.unwrap();
    assert_eq!(open.total, 4 + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_match_and_ignore() {
    let (db, tenant) = setup().await;
    let ito = donor(&db, tenant, "伊藤", "七海", "イトウ", "ナナミ").await;
    let (target, number) = unpaid(&db, tenant, ito, date!(2026 - 02 - 01), 12_000).await;
    let (cancelled, _) = unpaid(&db, tenant, ito, date!(2026 - 02 - 01), 12_000).await;
    furusato_intake::direct::change_payment(
        &db,
        tenant,
        cancelled,
        &furusato_intake::direct::PaymentAction::Cancel {
            reason: "重複申込".into(),
        },
        &actor(tenant),
    )
    .await
    .unwrap();
    let file = statement(&[
        ("2026/02/03", "12,000", "ｲﾄｳ ﾅﾅﾐ ｶｲｼﾔ", ""),
        ("2026/02/04", "1,000", "ﾌﾒｲ", ""),
    ]);
    let out = payments::import_now(
        &db,
        tenant,
        "b.csv",
        &file,
        &PaymentColumns::default(),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(out.unmatched, 2);
    let open = payments::open_records(&db, tenant, 1, 10)
        .await
        .unwrap()
        .items;
    let (rec, other) = (open[0].id, open[1].id);

    // The search finds the donation by its number; a cancelled donation cannot be paid.
    let found = store::search_payment_candidates(&db, tenant, &number, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let err = payments::manual_match(&db, tenant, rec, cancelled, &actor(tenant))
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentFailure::Donation(_)));
    assert!(err.message_ja().contains("未入金"), "{}", err.message_ja());
    payments::manual_match(&db, tenant, rec, target, &actor(tenant))
        .await
        .unwrap();
    let d = donations::get(&db, tenant, target).await.unwrap().unwrap();
    assert_eq!(
        (d.payment_status.as_str(), d.received_on),
        ("paid", Some(date!(2026 - 02 - 03)))
    );
    let r = store::payment_record(&db, tenant, rec)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.donation_id),
        ("matched", Some(target))
    );
    // Never twice.
    let twice = payments::manual_match(&db, tenant, other, target, &actor(tenant))
        .await
        .unwrap_err();
    assert!(
        twice.message_ja().contains("既に入金済"),
        "{}",
        twice.message_ja()
    );

    // Ignore needs a note.
    assert!(matches!(
        payments::ignore(&db, tenant, other, " ", &actor(tenant)).await,
        Err(PaymentFailure::NoteRequired)
    ));
    payments::ignore(&db, tenant, other, "市の別会計への入金", &actor(tenant))
        .await
        .unwrap();
    assert_eq!(
        payments::open_records(&db, tenant, 1, 10)
            .await
            .unwrap()
            .total,
        0
    );

    // Undoing the payment sends the record back to the unmatched list.
    furusato_intake::direct::change_payment(
        &db,
        tenant,
        target,
        &furusato_intake::direct::PaymentAction::Restore {
            reason: "照合誤り".into(),
        },
        &actor(tenant),
    )
    .await
    .unwrap();
    let r = store::payment_record(&db, tenant, rec)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status.as_str(), r.donation_id), ("unmatched", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_and_commit_a_statement() {
    let (db, tenant) = setup().await;
    let sasaki = donor(&db, tenant, "佐々木", "一", "ササキ", "ハジメ").await;
    let (d, _) = unpaid(&db, tenant, sasaki, date!(2026 - 03 - 01), 8_000).await;
    // UTF-8, a title line, the columns named explicitly.
    let file = "入金明細\n日付,入金額,依頼人,番号\n2026-03-02,8000,ササキ ハジメ,\n".as_bytes();
    let cols = PaymentColumns {
        paid_on: Some("日付".into()),
        amount: Some("入金額".into()),
        payer: Some("依頼人".into()),
        reference: Some("番号".into()),
    };
    let staged = payments::stage(&db, tenant, "m.csv", file, &cols, &actor(tenant))
        .await
        .unwrap();
    let preview = staged.preview.unwrap();
    assert_eq!(preview.count("matched"), 1);
    assert_eq!(
        donations::get(&db, tenant, d)
            .await
            .unwrap()
            .unwrap()
            .payment_status,
        "unpaid"
    );
    let out = payments::commit(&db, tenant, staged.import_id, &actor(tenant))
        .await
        .unwrap();
    assert_eq!(out.matched, 1);
    assert_eq!(
        donations::get(&db, tenant, d)
            .await
            .unwrap()
            .unwrap()
            .payment_status,
        "paid"
    );
    assert!(matches!(
        payments::commit(&db, tenant, staged.import_id, &actor(tenant)).await,
        Err(PaymentFailure::NotPreviewed(_))
    ));
    let import = store::get(&db, tenant, staged.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((import.status.as_str(), import.updated), ("committed", 1));
}
