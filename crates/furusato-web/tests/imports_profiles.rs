//! An operator admin builds a column mapping (取込調整) from a sample file: the headers are offered
//! with suggestions, problems are explained in Japanese, the saved profile appears in the upload
//! form and imports a file.

mod imports_support;
mod support;

use furusato_domain::Role;
use imports_support::*;
use reqwest::StatusCode;
use support::*;

const SAMPLE: &str = "寄附受付番号,寄附日,決済日,寄附金額,決済方法,寄附者氏名,寄附者氏名カナ,ワンストップ特例申請\r\n\
SF-1,2026/01/05,2026/01/06,10000,クレジット,見本 花子,ミホン ハナコ,申請書を送付\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_save_and_use_a_profile() {
    let app = TestApp::spawn().await;
    let admin = app.login_as(Role::OperatorAdmin).await;
    let resp = upload(
        &app,
        &admin,
        "/intake/profiles/sample",
        &[("header_row", "1")],
        "sample.csv",
        SAMPLE.as_bytes(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    // The sample's headers are offered, the suggestions pre-selected.
    assert!(
        html.contains(r#"<option value="寄附受付番号" selected>"#),
        "external id suggested"
    );
    assert!(
        html.contains(r#"<option value="寄附金額" selected>"#),
        "amount suggested"
    );
    assert!(html.contains("値の読み替え"));

    let base = vec![
        ("name", "さとふる"),
        ("portal", "satofull"),
        ("encoding", ""),
        ("header_row", "1"),
        ("date_format", "YYYY/MM/DD"),
        ("header", "寄附受付番号"),
        ("header", "寄附日"),
        ("header", "決済日"),
        ("header", "寄附金額"),
        ("header", "決済方法"),
        ("header", "寄附者氏名"),
        ("header", "寄附者氏名カナ"),
        ("header", "ワンストップ特例申請"),
        ("col_external_id", "寄附受付番号"),
        ("col_applied_on", "寄附日"),
        ("col_paid_on", "決済日"),
        ("col_donor_name", "寄附者氏名"),
        ("col_donor_kana", "寄附者氏名カナ"),
        ("col_payment_method", "決済方法"),
        ("col_onestop_wanted", "ワンストップ特例申請"),
        ("vm_payment_method_from", "クレジット"),
        ("vm_payment_method_to", "クレジットカード"),
        ("vm_onestop_wanted_from", "申請書を送付"),
        ("vm_onestop_wanted_to", "はい"),
    ];
    // Without the amount column: a Japanese problem, nothing saved.
    let resp = post(&app, &admin, "/intake/profiles", &base).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("必須項目「寄附金額」に列が割り当てられていません"),
        "problem listed"
    );
    assert!(
        html.contains(r#"value="さとふる""#),
        "what was typed is kept"
    );
    assert!(
        furusato_db::imports::profiles(&app.db, app.tenant())
            .await
            .unwrap()
            .is_empty()
    );

    let mut good = base.clone();
    good.push(("col_amount", "寄附金額"));
    let resp = post(&app, &admin, "/intake/profiles", &good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.get_html(&admin, &location(&resp)).await;
    assert!(list.contains("さとふる") && list.contains("保存しました"));
    assert_eq!(
        app.audit_rows(app.tenant(), "csv_profile.create")
            .await
            .len(),
        1
    );
    // A built-in name is refused.
    let mut builtin = good.clone();
    builtin[0] = ("name", "choice");
    let resp = post(&app, &admin, "/intake/profiles", &builtin).await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("組み込みの取込設定の名前")
    );

    // The operator sees it in the upload form and imports with it.
    let clerk = app.login_as(Role::Operator).await;
    let (_, form) = app.get_html(&clerk, "/intake/imports").await;
    assert!(form.contains(r#"value="profile:さとふる""#));
    let resp = upload(
        &app,
        &clerk,
        "/intake/imports",
        &[("profile", "profile:さとふる")],
        "s.csv",
        SAMPLE.as_bytes(),
    )
    .await;
    let path = location(&resp);
    let (_, html) = app.get_html(&clerk, &path).await;
    assert_eq!(by_id(&html, "rows-ok"), "1");
    post(&app, &clerk, &format!("{path}/commit"), &[]).await;
    let found = furusato_db::imports::donations_by_external(
        furusato_db::imports::Exec::Db(&app.db),
        app.tenant(),
        "satofull",
        &["SF-1"],
    )
    .await
    .unwrap();
    assert_eq!(
        (found[0].payment_method.as_str(), found[0].onestop_wanted),
        ("credit_card", true)
    );

    // Only operator admins edit profiles.
    let (status, _) = app.get_html(&clerk, "/intake/profiles").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
