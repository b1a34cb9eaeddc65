//! A clerk enters a bank-transfer donation: every mistake is explained in Japanese next to its
//! field and the form keeps what was typed; a good entry creates the donation. Then the payment
//! status changes, with the cancellation rule.

mod imports_support;
mod support;

use furusato_domain::Role;
use imports_support::*;
use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_a_direct_donation_and_change_its_payment() {
    let app = TestApp::spawn().await;
    let clerk = app.login_as(Role::Operator).await;
    let (status, form) = app.get_html(&clerk, "/donations/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("data-postal-autofill") && form.contains(r##"data-pref="#prefecture""##),
        "postal autofill hook"
    );

    let mut fields = vec![
        ("family_name", "見本"),
        ("given_name", "花子"),
        ("family_kana", "mihon"),
        ("given_kana", "ハナコ"),
        ("postal_code", "980-08"),
        ("prefecture", "宮城県"),
        ("city", "仙台市青葉区"),
        ("address1", "一番町1-2-3"),
        ("amount", "三万円"),
        ("donated_on", "2026-01-05"),
        ("channel", "bank_transfer"),
        ("note", "窓口で受付"),
    ];
    let resp = post(&app, &clerk, "/donations/new", &fields).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("フリガナ（セイ）はカタカナで入力してください。"));
    assert!(html.contains("寄附金額は1円以上の整数で入力してください（例: 10000）。"));
    assert!(
        html.contains(r#"value="980-08""#) && html.contains("窓口で受付"),
        "typed values kept"
    );
    assert_eq!(
        furusato_db::donations::count(&app.db, app.tenant())
            .await
            .unwrap(),
        0
    );

    for (k, v) in fields.iter_mut() {
        match *k {
            "family_kana" => *v = "ミホン",
            "postal_code" => *v = "980-0811",
            "amount" => *v = "30,000",
            _ => {}
        }
    }
    let resp = post(&app, &clerk, "/donations/new", &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp);
    assert!(
        to.starts_with("/donations/") && to.ends_with("?notice=created"),
        "{to}"
    );
    let id = to
        .trim_start_matches("/donations/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let d = furusato_db::donations::get(&app.db, app.tenant(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.amount, d.payment_status.as_str(), d.channel.as_str()),
        (Some(30_000), "unpaid", "bank_transfer")
    );
    assert_eq!(
        app.audit_rows(app.tenant(), "donation.create").await.len(),
        1
    );

    // Payment: cancel (reason required), then paid is refused until restored.
    let page = format!("/donations/{id}/payment");
    let (status, html) = app.get_html(&clerk, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("未入金"));
    let resp = post(
        &app,
        &clerk,
        &page,
        &[("action", "cancelled"), ("reason", "")],
    )
    .await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("取消の理由を入力してください。")
    );
    let resp = post(
        &app,
        &clerk,
        &page,
        &[("action", "cancelled"), ("reason", "二重申込")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = post(
        &app,
        &clerk,
        &page,
        &[("action", "paid"), ("received_on", "2026-01-08")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("先に「未入金に戻す」で取消を解除してから")
    );
    post(
        &app,
        &clerk,
        &page,
        &[("action", "unpaid"), ("reason", "取消の誤り")],
    )
    .await;
    let resp = post(
        &app,
        &clerk,
        &page,
        &[("action", "paid"), ("received_on", "2099-01-01")],
    )
    .await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("受領日に未来の日付は指定できません。")
    );
    let resp = post(
        &app,
        &clerk,
        &page,
        &[("action", "paid"), ("received_on", "2026-01-08")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let d = furusato_db::donations::get(&app.db, app.tenant(), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            d.payment_status.as_str(),
            d.received_on.map(|x| x.to_string())
        ),
        ("paid", Some("2026-01-08".into()))
    );
    let (_, html) = app.get_html(&clerk, &page).await;
    assert!(html.contains("理由: 二重申込"), "history shows the reasons");
    assert_eq!(
        app.audit_rows(app.tenant(), "donation.payment").await.len(),
        3
    );

    // Read-only users cannot enter donations.
    let city = app.login_as(Role::City).await;
    assert_eq!(
        app.get_html(&city, "/donations/new").await.0,
        StatusCode::FORBIDDEN
    );
}
