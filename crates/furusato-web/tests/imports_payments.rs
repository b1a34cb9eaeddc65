//! An operator uploads a bank statement, checks the proposed matches, commits them, and matches
//! the rest by hand or sets it aside.

mod imports_support;
mod support;

use furusato_domain::Role;
use imports_support::*;
use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_upload_commit_and_manual_match() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let yamada = app
        .add_donor(t, donor("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    let sato = app
        .add_donor(t, donor("佐藤", "花子", "サトウ", "ハナコ"))
        .await;
    let (d1, number) = app
        .add_donation(t, bank_donation(yamada, date(2026, 1, 5), 10_000))
        .await;
    let (d2, _) = app
        .add_donation(t, bank_donation(sato, date(2026, 1, 6), 20_000))
        .await;
    let clerk = app.login_as(Role::Operator).await;
    let statement = format!(
        "取引日,お預り金額,振込依頼人名,備考\r\n2026/01/10,10000,ﾔﾏﾀﾞ ﾀﾛｳ,{number}\r\n2026/01/11,20000,ｻﾄｳ ﾊﾅｺ ｶｲｼﾔ,\r\n"
    );
    let resp = upload(
        &app,
        &clerk,
        "/intake/payments",
        &[],
        "bank.csv",
        &cp932(&statement),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let path = location(&resp);
    let (_, html) = app.get_html(&clerk, &path).await;
    assert_eq!(by_id(&html, "matched"), "1");
    assert_eq!(by_id(&html, "unmatched"), "1");
    assert!(
        html.contains("入金日 = 取引日"),
        "columns guessed and shown"
    );

    let resp = post(&app, &clerk, &format!("{path}/commit"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let d = furusato_db::donations::get(&app.db, t, d1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.payment_status.as_str(), d.received_on),
        ("paid", Some(date(2026, 1, 10)))
    );
    assert_eq!(app.audit_rows(t, "payments.commit").await.len(), 1);

    // The unmatched record: search by name, match by hand.
    let (_, list) = app.get_html(&clerk, "/intake/payments/records").await;
    assert_eq!(table_rows(&list), 1);
    let rec = furusato_intake::payments::open_records(&app.db, t, 1, 10)
        .await
        .unwrap()
        .items[0]
        .id;
    let (_, page) = app
        .get_html(&clerk, &format!("/intake/payments/records/{rec}?q=サトウ"))
        .await;
    assert!(page.contains("この寄附に照合"));
    let resp = post(
        &app,
        &clerk,
        &format!("/intake/payments/records/{rec}/match"),
        &[("donation_id", &d2.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let d = furusato_db::donations::get(&app.db, t, d2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.payment_status.as_str(), d.received_on),
        ("paid", Some(date(2026, 1, 11)))
    );
    // Matching the same donation again is refused in Japanese.
    let again = upload(
        &app,
        &clerk,
        "/intake/payments",
        &[],
        "bank2.csv",
        &cp932(&statement),
    )
    .await;
    let path2 = location(&again);
    post(&app, &clerk, &format!("{path2}/commit"), &[]).await;
    let open = furusato_intake::payments::open_records(&app.db, t, 1, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(open.len(), 2, "both records of the second statement wait");
    assert!(
        open[0]
            .note
            .contains(&format!("寄附番号 {number} は既に入金済です")),
        "{}",
        open[0].note
    );
    let resp = post(
        &app,
        &clerk,
        &format!("/intake/payments/records/{}/match", open[0].id),
        &[("donation_id", &d1.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("二重に入金済にはできません")
    );
    // Ignore with a note.
    let resp = post(
        &app,
        &clerk,
        &format!("/intake/payments/records/{}/ignore", open[0].id),
        &[("note", "")],
    )
    .await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("理由を入力してください")
    );
    let resp = post(
        &app,
        &clerk,
        &format!("/intake/payments/records/{}/ignore", open[0].id),
        &[("note", "同じ明細の再取込")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        furusato_intake::payments::open_records(&app.db, t, 1, 10)
            .await
            .unwrap()
            .total,
        1
    );
}
