//! The 楽天 sync screens through HTTP: an operator_admin saves RMS credentials (never shown
//! again, never stored in clear), other roles cannot reach the form, a sync can be requested,
//! the text mappings can be edited, and the dashboard warns before the license key expires.

mod support;

use furusato_db::intake_sync::{self, AccountSettings};
use furusato_db::jobs;
use furusato_domain::Role;
use reqwest::StatusCode;
use support::*;

const SECRET: &str = "SP-secret-value-123456";
const KEY: &str = "SL-license-key-value-wxyz";

fn account_form(csrf: &str, secret: &str, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("_csrf", csrf.to_string()),
        ("base_url", "https://api.rms.rakuten.co.jp".into()),
        ("get_order_version", "9".into()),
        ("requests_per_second", "1".into()),
        ("schedule_minutes", "30".into()),
        ("enabled", "1".into()),
        ("service_secret", secret.to_string()),
        ("license_key", key.to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_admin_saves_credentials_that_are_never_shown_or_stored_in_clear() {
    let app = TestApp::spawn().await;
    let admin = app.login_as(Role::OperatorAdmin).await;
    let (status, html) = app.get_html(&admin, "/intake/rakuten").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("action=\"/intake/rakuten/account\""),
        "the admin sees the form"
    );
    assert!(html.contains("未登録"));
    let csrf = hidden_input(&html, "_csrf").unwrap();

    let resp = admin
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf, SECRET, KEY))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(
        resp.headers()["location"],
        "/intake/rakuten?done=saved_credentials"
    );

    let (_, html) = app.get_html(&admin, "/intake/rakuten").await;
    assert!(html.contains("登録済み（末尾4桁 ****wxyz）"), "{html}");
    assert!(
        !html.contains(SECRET) && !html.contains(KEY),
        "the secrets are never shown again"
    );

    // In the database only sealed bytes.
    let acc = intake_sync::account(&app.db, app.tenant(), "rakuten")
        .await
        .unwrap()
        .unwrap();
    let sealed = acc.credentials_sealed.clone().unwrap();
    for clear in [SECRET, KEY] {
        assert!(
            !sealed.windows(clear.len()).any(|w| w == clear.as_bytes()),
            "stored in clear"
        );
    }
    assert_eq!(
        (
            acc.get_order_version,
            acc.requests_per_second,
            acc.schedule_minutes,
            acc.enabled
        ),
        (9, 1, 30, true)
    );
    // Audited once, without the secrets.
    let rows = app.audit_rows(app.tenant(), "rakuten.account_save").await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].detail.contains(SECRET) && !rows[0].detail.contains(KEY));
    assert!(rows[0].detail.contains("\"credentials_replaced\":true"));

    // Saving the settings again with empty secret fields keeps the credentials.
    let resp = admin
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf, "", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/intake/rakuten?done=saved");
    let again = intake_sync::account(&app.db, app.tenant(), "rakuten")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.credentials_sealed, Some(sealed), "unchanged");
    // Only one of the two is refused, and the typed value is not echoed.
    let resp = admin
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf, "only-the-secret", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("両方を入力してください"));
    assert!(!html.contains("only-the-secret"));

    // A sync can be requested: a job is queued for the worker, once.
    let resp = admin
        .post(app.url("/intake/rakuten/sync"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/intake/rakuten?done=queued");
    let resp = admin
        .post(app.url("/intake/rakuten/sync"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/intake/rakuten?done=already");
    let job = jobs::active(&app.db, app.tenant(), "rakuten_sync")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.payload_json()["trigger"], "manual");
    let (_, html) = app.get_html(&admin, "/intake/rakuten").await;
    assert!(html.contains("同期の順番待ちです"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operator_admins_reach_the_credentials_form() {
    let app = TestApp::spawn().await;
    // A city user: no intake screens at all.
    let city = app.login_as(Role::City).await;
    let csrf = app.csrf(&city, "/dashboard").await;
    assert_eq!(
        app.get_html(&city, "/intake/rakuten").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_html(&city, "/intake").await.0,
        StatusCode::FORBIDDEN
    );
    let resp = city
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf, SECRET, KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let city_admin = app.login_as(Role::CityAdmin).await;
    let csrf_ca = app.csrf(&city_admin, "/dashboard").await;
    let resp = city_admin
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf_ca, SECRET, KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        intake_sync::account(&app.db, app.tenant(), "rakuten")
            .await
            .unwrap()
            .is_none(),
        "nothing was saved"
    );

    // An operator sees the sync page and may start a sync, but not the credentials form.
    let op = app.login_as(Role::Operator).await;
    let (status, html) = app.get_html(&op, "/intake/rakuten").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("action=\"/intake/rakuten/account\""));
    assert!(!html.contains("name=\"license_key\""));
    let csrf_op = hidden_input(&html, "_csrf").unwrap();
    let resp = op
        .post(app.url("/intake/rakuten/account"))
        .form(&account_form(&csrf_op, SECRET, KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // The landing page links the intake screens.
    let (status, html) = app.get_html(&op, "/intake").await;
    assert_eq!(status, StatusCode::OK);
    for href in [
        "/intake/rakuten",
        "/intake/imports",
        "/intake/payments",
        "/intake/matching",
    ] {
        assert!(html.contains(&format!("href=\"{href}\"")), "{href}");
    }
    // Mappings: visible to operators, editable by operator_admins only.
    let (status, html) = app.get_html(&op, "/intake/rakuten/mappings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("税金控除申請に必要な書類"),
        "the default mappings are listed"
    );
    assert!(!html.contains("action=\"/intake/rakuten/mappings\""));
    let form = [
        ("_csrf", csrf_op.as_str()),
        ("source_field", "selected_choice"),
        ("heading", "お礼の品"),
        ("value", "辞退する"),
        ("meaning", "gift_declined|true"),
    ];
    let resp = op
        .post(app.url("/intake/rakuten/mappings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let admin = app.login_as(Role::OperatorAdmin).await;
    let csrf_admin = app.csrf(&admin, "/intake/rakuten/mappings").await;
    let form = [
        ("_csrf", csrf_admin.as_str()),
        ("source_field", "selected_choice"),
        ("heading", "お礼の品"),
        ("value", "辞退する"),
        ("meaning", "gift_declined|true"),
    ];
    let resp = admin
        .post(app.url("/intake/rakuten/mappings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["location"],
        "/intake/rakuten/mappings?done=saved"
    );
    let m = intake_sync::mappings(&app.db, app.tenant(), "rakuten")
        .await
        .unwrap();
    assert!(
        m.iter().any(|m| m.heading == "お礼の品"
            && m.value == "辞退する"
            && m.target == "gift_declined")
    );
    assert!(
        jobs::active(&app.db, app.tenant(), "rakuten_remap")
            .await
            .unwrap()
            .is_some(),
        "re-evaluation queued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_warns_before_the_license_key_expires() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let mut tx = app.db.begin().await.unwrap();
    let settings = AccountSettings {
        base_url: "https://api.rms.rakuten.co.jp".into(),
        get_order_version: 9,
        requests_per_second: 1,
        schedule_minutes: 30,
        enabled: true,
    };
    let id = intake_sync::save_account_settings(&mut tx, t, "rakuten", &settings)
        .await
        .unwrap();
    intake_sync::set_credentials(&mut tx, t, id, b"sealed-bytes")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let op = app.login_as(Role::Operator).await;
    let (_, html) = app.get_html(&op, "/dashboard").await;
    assert!(
        !html.contains("ライセンスキーの有効期限"),
        "no expiry known yet: no warning"
    );

    let in_10_days = furusato_domain::jst::now_jst() + time::Duration::days(10);
    intake_sync::set_license_expiry(&app.db, t, id, Some(in_10_days))
        .await
        .unwrap();
    let (_, html) = app.get_html(&op, "/dashboard").await;
    let expected = format!(
        "楽天RMSのライセンスキーの有効期限が{}に切れます（あと10日）。RMSで新しいキーを発行し、取込設定で登録してください。",
        furusato_domain::jst::format_date_ja(in_10_days.date())
    );
    assert!(html.contains(&expected), "{html}");

    let in_20_days = furusato_domain::jst::now_jst() + time::Duration::days(20);
    intake_sync::set_license_expiry(&app.db, t, id, Some(in_20_days))
        .await
        .unwrap();
    let (_, html) = app.get_html(&op, "/dashboard").await;
    assert!(
        !html.contains("ライセンスキーの有効期限"),
        "more than 14 days left: no warning"
    );
}
