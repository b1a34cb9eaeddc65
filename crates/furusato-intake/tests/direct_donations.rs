//! Direct donations entered by an operator, and the payment status rules.

mod imports_support;

use furusato_db::{audit, donations, source_records};
use furusato_intake::direct::{self, ChangeError, DirectForm, PaymentAction};
use furusato_intake::imports::{GiftMaster, gift_master};
use imports_support::*;
use time::macros::date;

fn form() -> DirectForm {
    DirectForm {
        family_name: "見本".into(),
        given_name: "花子".into(),
        family_kana: "ミホン".into(),
        given_kana: "ハナコ".into(),
        postal_code: "980-0811".into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: "一番町1-2-3".into(),
        phone: "022-000-0001".into(),
        amount: "30000".into(),
        donated_on: "2026-01-05".into(),
        channel: "bank_transfer".into(),
        use_of_funds: "子育て支援".into(),
        onestop_wanted: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_creates_a_numbered_unpaid_donation_and_reuses_the_donor() {
    let (db, tenant) = setup().await;
    let today = date!(2026 - 01 - 10);
    let v = direct::validate(&form(), today, &GiftMaster::new()).unwrap();
    let (id, number) = direct::create(&db, tenant, &v, &form(), &actor(tenant))
        .await
        .unwrap();
    assert!(
        number.starts_with("2025-"),
        "fiscal year of 2026-01-05 is 2025: {number}"
    );
    let d = donations::get(&db, tenant, id).await.unwrap().unwrap();
    assert_eq!(
        (
            d.channel.as_str(),
            d.portal.as_deref(),
            d.payment_method.as_str()
        ),
        ("bank_transfer", None, "bank_transfer")
    );
    assert_eq!(
        (d.payment_status.as_str(), d.received_on, d.amount),
        ("unpaid", None, Some(30_000))
    );
    assert!(d.onestop_wanted);
    assert_eq!(d.use_of_funds, "子育て支援");
    assert_eq!(
        source_records::versions(&db, tenant, "manual", &number)
            .await
            .unwrap()
            .len(),
        1
    );
    let entries = audit::search(
        &db,
        tenant,
        &audit::AuditFilter {
            action: Some("donation.create".into()),
            ..Default::default()
        },
        1,
        10,
    )
    .await
    .unwrap();
    assert_eq!(entries.items.len(), 1);

    // The same person at the counter: same donor, paid on the spot.
    let counter = DirectForm {
        channel: "counter".into(),
        amount: "5,000".into(),
        ..form()
    };
    let v = direct::validate(&counter, today, &GiftMaster::new()).unwrap();
    let (id2, _) = direct::create(&db, tenant, &v, &counter, &actor(tenant))
        .await
        .unwrap();
    let d2 = donations::get(&db, tenant, id2).await.unwrap().unwrap();
    assert_eq!(d2.donor_id, d.donor_id, "resolved to the same donor");
    assert_eq!(
        (
            d2.payment_status.as_str(),
            d2.received_on,
            d2.payment_method.as_str()
        ),
        ("paid", Some(date!(2026 - 01 - 05)), "cash")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gift_from_the_master() {
    let (db, tenant) = setup().await;
    let mut tx = db.begin().await.unwrap();
    let partner = furusato_db::gifts::insert_partner(
        &mut tx,
        tenant,
        &furusato_db::gifts::NewPartner {
            code: "P1".into(),
            name: "見本商店".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    furusato_db::gifts::insert_gift(
        &mut tx,
        tenant,
        &furusato_db::gifts::NewGift {
            code: "SD0001".into(),
            partner_id: partner,
            name: "牛たん".into(),
            amount: 10_000,
            cost: 3_000,
            valid_from: date!(2025 - 04 - 01),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let gifts = gift_master(&db, tenant).await.unwrap();
    let f = DirectForm {
        gift_code: "SD0001".into(),
        gift_quantity: "2".into(),
        ..form()
    };
    let v = direct::validate(&f, date!(2026 - 01 - 10), &gifts).unwrap();
    let (id, _) = direct::create(&db, tenant, &v, &f, &actor(tenant))
        .await
        .unwrap();
    let items = donations::items(&db, tenant, id).await.unwrap();
    assert_eq!(
        (
            items[0].gift_code.as_str(),
            items[0].name.as_str(),
            items[0].quantity
        ),
        ("SD0001", "牛たん", 2)
    );
    assert!(
        !donations::get(&db, tenant, id)
            .await
            .unwrap()
            .unwrap()
            .gift_declined
    );
    let bad = DirectForm {
        gift_code: "XX".into(),
        ..form()
    };
    let e = direct::validate(&bad, date!(2026 - 01 - 10), &gifts).unwrap_err();
    assert_eq!(
        e.get("gift_code"),
        Some("返礼品が見つかりません。一覧から選んでください。")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_status_rules() {
    let (db, tenant) = setup().await;
    let v = direct::validate(&form(), date!(2026 - 01 - 10), &GiftMaster::new()).unwrap();
    let (id, _) = direct::create(&db, tenant, &v, &form(), &actor(tenant))
        .await
        .unwrap();
    let a = actor(tenant);
    let status = |d: donations::Donation| (d.payment_status, d.received_on);

    // 受領日 before the 寄附日 is refused.
    let early = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::MarkPaid {
            received_on: date!(2026 - 01 - 01),
        },
        &a,
    )
    .await;
    assert!(
        matches!(early, Err(ChangeError::Rule(ref m)) if m.contains("寄附日")),
        "{early:?}"
    );
    // unpaid → paid
    let d = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::MarkPaid {
            received_on: date!(2026 - 01 - 08),
        },
        &a,
    )
    .await
    .unwrap();
    assert_eq!(status(d), ("paid".into(), Some(date!(2026 - 01 - 08))));
    // paid cannot be cancelled; it can be refunded.
    let e = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::Cancel { reason: "x".into() },
        &a,
    )
    .await
    .unwrap_err();
    assert!(e.message_ja().contains("返金済"), "{}", e.message_ja());
    let d = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::Refund {
            reason: String::new(),
        },
        &a,
    )
    .await
    .unwrap();
    assert_eq!(status(d), ("refunded".into(), Some(date!(2026 - 01 - 08))));
    // refunded → unpaid (with a reason) → cancelled
    let d = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::Restore {
            reason: "返金の取り消し".into(),
        },
        &a,
    )
    .await
    .unwrap();
    assert_eq!(status(d), ("unpaid".into(), None));
    let d = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::Cancel {
            reason: "二重申込".into(),
        },
        &a,
    )
    .await
    .unwrap();
    assert_eq!(status(d), ("cancelled".into(), None));
    // A cancelled donation cannot be marked paid before it is restored.
    let e = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::MarkPaid {
            received_on: date!(2026 - 01 - 09),
        },
        &a,
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.message_ja(),
        "取消された寄附は入金済にできません。先に「未入金に戻す」で取消を解除してから、入金済にしてください。"
    );
    direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::Restore {
            reason: "取消の誤り".into(),
        },
        &a,
    )
    .await
    .unwrap();
    let d = direct::change_payment(
        &db,
        tenant,
        id,
        &PaymentAction::MarkPaid {
            received_on: date!(2026 - 01 - 09),
        },
        &a,
    )
    .await
    .unwrap();
    assert_eq!(status(d), ("paid".into(), Some(date!(2026 - 01 - 09))));

    // Every change has its history line and audit entry.
    let changes = source_records::changes(&db, tenant, id).await.unwrap();
    assert_eq!(changes.len(), 6);
    assert!(
        changes[3].summary.contains("理由: 二重申込"),
        "{}",
        changes[3].summary
    );
    let entries = audit::search(
        &db,
        tenant,
        &audit::AuditFilter {
            action: Some("donation.payment".into()),
            ..Default::default()
        },
        1,
        50,
    )
    .await
    .unwrap();
    assert_eq!(entries.items.len(), 6);
}
