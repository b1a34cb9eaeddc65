//! Administrators manage the accounts of their side: create them with a one-time password,
//! reset passwords, unlock, stop, reset the second factor, and — the contractor's administrator
//! only — designate the 個人番号取扱者 in writing. Each change is in the audit trail.

mod support;

use furusato_db::users;
use furusato_domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::*;
use uuid::Uuid;

/// POSTs a form with the page's CSRF token.
async fn post(
    app: &TestApp,
    client: &Client,
    csrf_page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let csrf = app.csrf(client, csrf_page).await;
    let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let resp = client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .expect("POST");
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, location, resp.text().await.unwrap_or_default())
}

/// One login attempt: Some(client) when it succeeded (a redirect with a session), with the target.
async fn try_login(app: &TestApp, login: &str, password: &str) -> Option<(Client, String)> {
    let client = app.client();
    let html = app.get_html(&client, "/login").await.1;
    let token = hidden_input(&html, "_login_csrf").expect("login form");
    let resp = client
        .post(app.url("/login"))
        .form(&[
            ("login", login),
            ("password", password),
            ("next", "/"),
            ("_login_csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    if !resp.status().is_redirection() {
        return None;
    }
    let to = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Some((client, to))
}

/// The one-time password shown on the page after creation or reset.
fn shown_password(html: &str) -> String {
    text_of_class(html, "secret kpi-value").expect("the page shows the password")
}

async fn admin(app: &TestApp, role: Role) -> (Client, users::User) {
    let login = format!("{}-{}", role.as_str(), Uuid::new_v4().simple());
    let u = app.create_user(app.tenant(), &login, role, None).await;
    (app.login(&login, PASSWORD).await, u)
}

fn detail(row: &furusato_db::audit::AuditRow) -> Value {
    serde_json::from_str(&row.detail).expect("detail is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_admin_creates_an_operator_who_must_change_the_generated_password() {
    let app = TestApp::spawn().await;
    let (admin, admin_user) = admin(&app, Role::OperatorAdmin).await;
    let (status, html) = app.get_html(&admin, "/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("利用者の作成"));
    assert!(html.contains(&admin_user.login));

    // Bad input: clear messages, nothing created.
    let (status, _, html) = post(
        &app,
        &admin,
        "/admin/users",
        "/admin/users",
        &[
            ("login", "佐藤"),
            ("display_name", ""),
            ("role", "operator"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("ログインIDは半角英数字"));
    assert!(html.contains("氏名を入力してください。"));

    let (status, _, html) = post(
        &app,
        &admin,
        "/admin/users",
        "/admin/users",
        &[
            ("login", "sato.clerk"),
            ("display_name", "佐藤 一郎"),
            ("role", "operator"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let password = shown_password(&html);
    assert!(html.contains("一度だけ表示します"));

    let created = users::find_by_login(&app.db, "sato.clerk")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(created.role, "operator");
    assert!(created.must_change_password);
    assert!(!created.my_number_handler);

    // The new clerk logs in and is sent to change the password first.
    let (clerk, to) = try_login(&app, "sato.clerk", &password)
        .await
        .expect("the shown password works");
    assert_eq!(to, "/account?must_change=1");
    let resp = clerk.get(app.url("/donors")).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/account?must_change=1");

    // Audited in the same transaction, without the password.
    let rows = app.audit_rows(app.tenant(), "user.create").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id, created.id.to_string());
    assert_eq!(rows[0].user_login, admin_user.login);
    let d = detail(&rows[0]);
    assert_eq!(d["after"]["role"], "operator");
    assert!(d["before"].is_null());
    assert!(!rows[0].detail.contains(&password));

    // The same login again is refused.
    let (status, _, html) = post(
        &app,
        &admin,
        "/admin/users",
        "/admin/users",
        &[
            ("login", "sato.clerk"),
            ("display_name", "別人"),
            ("role", "operator"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("このログインIDはすでに使われています"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_admin_manages_only_the_roles_of_its_side() {
    let app = TestApp::spawn().await;
    let (city_admin, _) = admin(&app, Role::CityAdmin).await;
    let html = app.get_html(&city_admin, "/admin/users").await.1;
    assert!(html.contains("value=\"auditor\""));
    assert!(
        !html.contains("value=\"operator\""),
        "the role select offers the city side only"
    );

    // A forged form asking for an operator is refused.
    let (status, _, html) = post(
        &app,
        &city_admin,
        "/admin/users",
        "/admin/users",
        &[
            ("login", "forged.operator"),
            ("display_name", "偽 操作員"),
            ("role", "operator"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("管理対象ではありません"));
    assert!(
        users::find_by_login(&app.db, "forged.operator")
            .await
            .unwrap()
            .is_none()
    );

    // A city admin may create an auditor.
    let (status, _, _) = post(
        &app,
        &city_admin,
        "/admin/users",
        "/admin/users",
        &[
            ("login", "kansa"),
            ("display_name", "監査 花子"),
            ("role", "auditor"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // … but cannot reset an operator's password, and an operator admin cannot touch a city user.
    let operator = app
        .create_user(app.tenant(), "op-1", Role::Operator, None)
        .await;
    let (status, _, _) = post(
        &app,
        &city_admin,
        "/admin/users",
        &format!("/admin/users/{}/password", operator.id),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (op_admin, _) = admin(&app, Role::OperatorAdmin).await;
    let city = app
        .create_user(app.tenant(), "city-1", Role::City, None)
        .await;
    let (status, _, _) = post(
        &app,
        &op_admin,
        "/admin/users",
        &format!("/admin/users/{}/disable", city.id),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !users::get(&app.db, app.tenant(), city.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    // Other cities' accounts do not exist here.
    let sapporo = app
        .create_user(app.other_tenant(), "sapporo-op", Role::Operator, None)
        .await;
    let (status, _) = app
        .get_html(&op_admin, &format!("/admin/users/{}", sapporo.id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let html = app.get_html(&op_admin, "/admin/users").await.1;
    assert!(!html.contains("sapporo-op"));

    // Nobody else reaches the screen.
    for role in [Role::Operator, Role::City, Role::Auditor, Role::Partner] {
        let c = app.login_as(role).await;
        let (status, _) = app.get_html(&c, "/admin/users").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_change_its_own_account_here() {
    let app = TestApp::spawn().await;
    let (op_admin, me) = admin(&app, Role::OperatorAdmin).await;
    let (status, _, html) = post(
        &app,
        &op_admin,
        "/admin/users",
        &format!("/admin/users/{}/role", me.id),
        &[("role", "operator")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("自分自身のアカウント"));
    let (status, _, _) = post(
        &app,
        &op_admin,
        "/admin/users",
        &format!("/admin/users/{}/my-number-handler", me.id),
        &[("grant", "1"), ("note", "自分で自分を指定")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let me = users::get(&app.db, app.tenant(), me.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.role, "operator_admin");
    assert!(!me.my_number_handler);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_ends_the_sessions_and_shows_a_new_password_once() {
    let app = TestApp::spawn().await;
    let (op_admin, _) = admin(&app, Role::OperatorAdmin).await;
    let clerk = app
        .create_user(app.tenant(), "clerk-reset", Role::Operator, None)
        .await;
    let clerk_client = app.login("clerk-reset", PASSWORD).await;
    assert_eq!(
        app.get_html(&clerk_client, "/dashboard").await.0,
        StatusCode::OK
    );

    let (status, _, html) = post(
        &app,
        &op_admin,
        &format!("/admin/users/{}", clerk.id),
        &format!("/admin/users/{}/password", clerk.id),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_password = shown_password(&html);

    let resp = clerk_client
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "the old session ended"
    );
    assert!(
        try_login(&app, "clerk-reset", PASSWORD).await.is_none(),
        "the old password no longer works"
    );
    let (_, to) = try_login(&app, "clerk-reset", &new_password)
        .await
        .expect("the new one does");
    assert_eq!(to, "/account?must_change=1");

    let rows = app.audit_rows(app.tenant(), "user.reset_password").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(detail(&rows[0])["sessions_ended"], 1);
    assert!(!rows[0].detail.contains(&new_password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_is_unlocked_and_a_stopped_one_cannot_log_in() {
    let app = TestApp::spawn().await;
    let (op_admin, _) = admin(&app, Role::OperatorAdmin).await;
    let clerk = app
        .create_user(app.tenant(), "clerk-lock", Role::Operator, None)
        .await;
    for _ in 0..5 {
        assert!(
            try_login(&app, "clerk-lock", "Wrong-Password-0")
                .await
                .is_none()
        );
    }
    assert!(
        try_login(&app, "clerk-lock", PASSWORD).await.is_none(),
        "locked"
    );
    let html = app.get_html(&op_admin, "/admin/users").await.1;
    assert!(html.contains("まで</span>"), "the list shows the lock");

    let page = format!("/admin/users/{}", clerk.id);
    let (status, to, _) = post(&app, &op_admin, &page, &format!("{page}/unlock"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{page}?done=unlock"));
    assert!(try_login(&app, "clerk-lock", PASSWORD).await.is_some());
    let rows = app.audit_rows(app.tenant(), "user.unlock").await;
    assert_eq!(detail(&rows[0])["failed_logins"], 5);

    let session = app.login("clerk-lock", PASSWORD).await;
    let (status, _, _) = post(&app, &op_admin, &page, &format!("{page}/disable"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        try_login(&app, "clerk-lock", PASSWORD).await.is_none(),
        "stopped"
    );
    let resp = session.get(app.url("/dashboard")).send().await.unwrap();
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let rows = app.audit_rows(app.tenant(), "user.disable").await;
    let d = detail(&rows[0]);
    assert_eq!(
        (
            d["before"]["disabled"].clone(),
            d["after"]["disabled"].clone()
        ),
        (Value::Bool(false), Value::Bool(true))
    );

    post(&app, &op_admin, &page, &format!("{page}/enable"), &[]).await;
    assert!(try_login(&app, "clerk-lock", PASSWORD).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_my_number_grant_is_given_in_writing_by_the_operator_admin_only() {
    let app = TestApp::spawn().await;
    let (op_admin, _) = admin(&app, Role::OperatorAdmin).await;
    let (city_admin, _) = admin(&app, Role::CityAdmin).await;
    let clerk = app
        .create_user(app.tenant(), "clerk-mn", Role::Operator, None)
        .await;
    let auditor = app
        .create_user(app.tenant(), "auditor-mn", Role::Auditor, None)
        .await;
    let city = app
        .create_user(app.tenant(), "city-mn", Role::City, None)
        .await;
    let donor_id = app
        .add_donor(app.tenant(), donor("番号", "確認", "バンゴウ", "カクニン"))
        .await;
    let grant_path = |id: Uuid| format!("/admin/users/{id}/my-number-handler");
    let page = format!("/admin/users/{}", clerk.id);

    // Without the grant, the clerk cannot open a My Number page.
    let clerk_client = app.login("clerk-mn", PASSWORD).await;
    let mn_page = format!("/donors/{donor_id}/my-number");
    assert_eq!(
        app.get_html(&clerk_client, &mn_page).await.0,
        StatusCode::FORBIDDEN
    );

    // A note is required.
    let (status, _, html) = post(
        &app,
        &op_admin,
        &page,
        &grant_path(clerk.id),
        &[("grant", "1"), ("note", "")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("根拠（指定書の番号や日付など）を入力してください"));
    // The city admin may not designate; auditors and partners cannot be designated.
    let (status, _, _) = post(
        &app,
        &city_admin,
        "/admin/users",
        &grant_path(city.id),
        &[("grant", "1"), ("note", "指定書第1号")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post(
        &app,
        &op_admin,
        "/admin/users",
        &grant_path(auditor.id),
        &[("grant", "1"), ("note", "指定書第2号")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        !users::get(&app.db, app.tenant(), clerk.id)
            .await
            .unwrap()
            .unwrap()
            .my_number_handler
    );

    let note = "特定個人情報取扱者指定書 第12号（2026年4月1日）";
    let (status, to, _) = post(
        &app,
        &op_admin,
        &page,
        &grant_path(clerk.id),
        &[("grant", "1"), ("note", note)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{page}?done=grant"));
    assert_eq!(
        app.get_html(&clerk_client, &mn_page).await.0,
        StatusCode::OK,
        "the grant applies at once"
    );
    let rows = app.audit_rows(app.tenant(), "user.grant_my_number").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reason, note);
    let d = detail(&rows[0]);
    assert_eq!(d["note"], note);
    assert_eq!(d["before"]["my_number_handler"], false);
    assert_eq!(d["after"]["my_number_handler"], true);

    // The operator admin may also designate a city user (a city-side handler).
    let (status, _, _) = post(
        &app,
        &op_admin,
        "/admin/users",
        &grant_path(city.id),
        &[("grant", "1"), ("note", "指定書第13号")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Changing the clerk to a partner drops the grant (a partner may not hold it).
    let partner = app.add_partner(app.tenant(), "P001", "牛たん本舗").await;
    let partner_s = partner.to_string();
    let (status, _, _) = post(
        &app,
        &op_admin,
        &page,
        &format!("{page}/role"),
        &[("role", "partner"), ("partner_id", partner_s.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let changed = users::get(&app.db, app.tenant(), clerk.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            changed.role.as_str(),
            changed.my_number_handler,
            changed.partner_id
        ),
        ("partner", false, Some(partner))
    );
    let rows = app.audit_rows(app.tenant(), "user.role_change").await;
    assert_eq!(detail(&rows[0])["grant_dropped"], true);

    // Revoking the city user's grant, in writing too.
    let (status, _, _) = post(
        &app,
        &op_admin,
        "/admin/users",
        &grant_path(city.id),
        &[("grant", "0"), ("note", "異動により解除 第14号")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        !users::get(&app.db, app.tenant(), city.id)
            .await
            .unwrap()
            .unwrap()
            .my_number_handler
    );
    assert_eq!(
        app.audit_rows(app.tenant(), "user.revoke_my_number").await[0].reason,
        "異動により解除 第14号"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_reset_clears_the_secret_and_the_recovery_codes() {
    let app = TestApp::spawn().await;
    let (op_admin, _) = admin(&app, Role::OperatorAdmin).await;
    let clerk = app
        .create_user(app.tenant(), "clerk-totp", Role::Operator, None)
        .await;
    users::set_totp(
        &app.db,
        app.tenant(),
        clerk.id,
        Some(b"sealed secret"),
        true,
    )
    .await
    .unwrap();
    users::replace_recovery_codes(&app.db, clerk.id, &["a".into(), "b".into()])
        .await
        .unwrap();
    let page = format!("/admin/users/{}", clerk.id);
    let html = app.get_html(&op_admin, &page).await.1;
    assert!(html.contains("二要素認証をリセットする"));
    let (status, to, _) = post(&app, &op_admin, &page, &format!("{page}/totp-reset"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{page}?done=totp"));
    let after = users::get(&app.db, app.tenant(), clerk.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!after.totp_enabled);
    assert!(after.totp_secret_sealed.is_none());
    assert_eq!(
        users::recovery_codes_left(&app.db, clerk.id).await.unwrap(),
        0
    );
    let rows = app.audit_rows(app.tenant(), "user.reset_totp").await;
    assert_eq!(detail(&rows[0])["totp_enabled_before"], true);
}
