//! The second factor end to end, as a user's authenticator app would drive it: enrolment from the
//! secret on the enrolment page, login with a code, no replay of an accepted code, one-time
//! recovery codes, and lockout after wrong codes.

mod support;

use furusato_domain::Role;
use reqwest::{Client, StatusCode};
use support::*;
use totp_rs::{Builder, Secret, Totp};

fn authenticator(base32: &str) -> Totp {
    Builder::new()
        .with_secret(Secret::try_from_base32(base32).expect("the page shows base32"))
        .with_account_name("test".to_string())
        .build()
        .expect("a TOTP generator")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A code that is valid neither now nor one step either side.
fn wrong_code(t: &Totp) -> String {
    let valid: Vec<String> = [now() - 30, now(), now() + 30]
        .iter()
        .map(|s| t.generate(*s).to_string())
        .collect();
    (0..)
        .map(|i: u32| format!("{:06}", (123_456 + i * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .unwrap()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    html.split(start)
        .skip(1)
        .filter_map(|s| s.split(end).next())
        .collect()
}

async fn post_totp(app: &TestApp, client: &Client, code: &str) -> reqwest::Response {
    let (_, html) = app.get_html(client, "/login/totp").await;
    let csrf = hidden_input(&html, "_csrf").expect("the code form has _csrf");
    client
        .post(app.url("/login/totp"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("next", "/donors"),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

async fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_login_no_replay_recovery_codes_and_lockout() {
    let app = TestApp::spawn().await;
    app.create_user(app.tenant(), "clerk-2fa", Role::Operator, None)
        .await;
    let clerk = app.login("clerk-2fa", PASSWORD).await;

    // Enrolment page: a QR code and the secret for typing in.
    let (status, html) = app.get_html(&clerk, "/account/totp").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("src=\"data:image/"), "a QR code image");
    let secret: String = between(&html, "<code class=\"secret\">", "</code>")
        .first()
        .expect("the secret is shown")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let app_totp = authenticator(&secret);
    let csrf = app.csrf(&clerk, "/account/totp").await;

    // A wrong code is refused with a message and nothing is enabled.
    let resp = clerk
        .post(app.url("/account/totp"))
        .form(&[("_csrf", csrf.as_str()), ("code", &wrong_code(&app_totp))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("確認コードが違います"));

    // The right code enables TOTP and shows ten recovery codes once.
    let code = app_totp.generate(now()).to_string();
    let resp = clerk
        .post(app.url("/account/totp"))
        .form(&[("_csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    let recovery: Vec<String> = between(&html, "<li><code>", "</code>")
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(recovery.len(), 10, "{html}");
    assert_eq!(
        app.audit_rows(app.tenant(), "account.totp_enable")
            .await
            .len(),
        1
    );

    // A new login stops at the code step: no screen before it.
    let second = app.login("clerk-2fa", PASSWORD).await;
    let resp = second.get(app.url("/donors")).send().await.unwrap();
    assert!(resp.status().is_redirection());
    assert!(location(&resp).await.starts_with("/login/totp"));
    // The next step's code (valid within the ±1 step window) lets the user in.
    let next_code = app_totp.generate(now() + 30).to_string();
    let resp = post_totp(&app, &second, &next_code).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp).await, "/donors");
    assert_eq!(app.get_html(&second, "/donors").await.0, StatusCode::OK);

    // The same code again (someone watching over the shoulder) is refused.
    let third = app.login("clerk-2fa", PASSWORD).await;
    let resp = post_totp(&app, &third, &next_code).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("確認コードが違います"));
    let resp = third.get(app.url("/donors")).send().await.unwrap();
    assert!(resp.status().is_redirection());

    // A recovery code works once, in any letter case.
    let resp = post_totp(&app, &third, &recovery[0]).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "recovery code accepted"
    );
    let fourth = app.login("clerk-2fa", PASSWORD).await;
    let resp = post_totp(&app, &fourth, &recovery[0]).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a used recovery code is refused"
    );

    // Wrong codes lock the account like wrong passwords do, and the lockout is recorded.
    let mut locked = false;
    for _ in 0..5 {
        let resp = post_totp(&app, &fourth, &wrong_code(&app_totp)).await;
        if resp.status().is_redirection() {
            assert_eq!(location(&resp).await, "/login?notice=totp_locked");
            let page = app
                .client()
                .get(app.url("/login?notice=totp_locked"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(page.contains("確認コードを続けて間違えたため"), "{page}");
            locked = true;
            break;
        }
    }
    assert!(locked, "five wrong codes lock the account");
    let rows = app.audit_rows(app.tenant(), "login.lockout").await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].detail.contains("\"factor\":\"totp\""),
        "{}",
        rows[0].detail
    );
    // While locked, even the right password is refused with the lockout message.
    let client = app.client();
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_input(&html, "_login_csrf").unwrap();
    let resp = client
        .post(app.url("/login"))
        .form(&[
            ("login", "clerk-2fa"),
            ("password", PASSWORD),
            ("next", "/"),
            ("_login_csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(!resp.status().is_redirection());
    assert!(resp.text().await.unwrap().contains("ロック"));
}
