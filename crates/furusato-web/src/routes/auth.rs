//! Login, second factor, logout.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use furusato_db::audit::{self, AuditEntry};
use furusato_db::{sessions, users};
use furusato_domain::Role;
use serde::Deserialize;
use time::Duration;

use crate::access::{ClientIp, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::mfa;
use crate::session;
use crate::state::AppState;

/// A hash of a random password, verified when the login is unknown so that the response time does
/// not tell whether a login exists.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::password::hash(&session::random_token()).unwrap_or_default())
        .clone()
}

const LOGIN_CSRF_COOKIE: &str = "furusato_login_csrf";

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    next: String,
    login: String,
    login_csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

fn notice_text(settings: &crate::WebSettings, code: Option<&str>) -> Option<String> {
    match code? {
        "timeout" => Some(
            "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。".into(),
        ),
        "expired" => Some("ログインの有効期限が切れました。もう一度ログインしてください。".into()),
        "locked" => Some(
            "アカウントが利用できない状態のため、ログアウトしました。管理者に連絡してください。"
                .into(),
        ),
        "totp_locked" => Some(format!(
            "確認コードを続けて間違えたため、アカウントをロックしました。{}分後に再度お試しいただくか、管理者に解除を依頼してください。",
            settings.lockout_minutes
        )),
        "logout" => Some("ログアウトしました。".into()),
        "password" => {
            Some("パスワードを変更しました。新しいパスワードでログインしてください。".into())
        }
        _ => None,
    }
}

/// Only local paths are accepted as the post-login destination (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn login_csrf_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|p| {
            p.trim()
                .strip_prefix(LOGIN_CSRF_COOKIE)
                .and_then(|r| r.strip_prefix('='))
        })
        .map(str::to_string)
        .next()
}

fn login_page(state: &AppState, page: LoginPage) -> Response {
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={}; Path=/login; HttpOnly; SameSite=Strict{}",
        page.login_csrf,
        if state.settings.tls { "; Secure" } else { "" }
    );
    let mut resp = page.into_response();
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub async fn login_form(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    login_page(
        &state,
        LoginPage {
            next: safe_next(q.next.as_deref()),
            login: String::new(),
            login_csrf: session::random_token(),
            notice: notice_text(&state.settings, q.notice.as_deref()),
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    _login_csrf: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(Some(&form.next));
    let login = form.login.trim().to_string();
    let fail = |msg: &str| {
        login_page(
            &state,
            LoginPage {
                next: next.clone(),
                login: login.clone(),
                login_csrf: session::random_token(),
                notice: None,
                error: Some(msg.to_string()),
            },
        )
    };
    // Login CSRF: the form must come from our own login page (double-submit cookie).
    let cookie_token = login_csrf_from(&headers);
    if cookie_token.is_none() || cookie_token.as_deref() != Some(form._login_csrf.as_str()) {
        return Ok(fail(
            "画面の有効期限が切れました。もう一度ログインしてください。",
        ));
    }
    if login.is_empty() || form.password.is_empty() {
        return Ok(fail("ログインIDとパスワードを入力してください。"));
    }
    let wrong = "ログインIDまたはパスワードが違います。";
    let Some(user) = users::find_by_login(&state.db, &login).await? else {
        let _ = crate::password::verify_async(form.password.clone(), dummy_hash()).await;
        let entry = AuditEntry {
            user_login: login.clone(),
            role: String::new(),
            ip: ip.to_string(),
            action: "login.unknown_user".into(),
            detail: serde_json::json!({}),
            ..Default::default()
        };
        audit::record(&state.db, &entry).await?;
        return Ok(fail(wrong));
    };
    let now = furusato_db::now_utc();
    let base = AuditEntry {
        municipality_id: Some(user.tenant()),
        user_id: Some(user.id),
        user_login: user.login.clone(),
        role: user.role.clone(),
        ip: ip.to_string(),
        detail: serde_json::json!({}),
        ..Default::default()
    };
    if let Some(until) = user.locked_until.filter(|t| *t > now) {
        let minutes = ((until - now).whole_seconds() + 59) / 60;
        audit::record(
            &state.db,
            &AuditEntry {
                action: "login.locked".into(),
                ..base.clone()
            },
        )
        .await?;
        return Ok(fail(&format!(
            "ログインに続けて失敗したため、アカウントをロックしています。{minutes}分後に再度お試しいただくか、管理者に解除を依頼してください。"
        )));
    }
    if user.disabled {
        audit::record(
            &state.db,
            &AuditEntry {
                action: "login.disabled".into(),
                ..base.clone()
            },
        )
        .await?;
        return Ok(fail(
            "このアカウントは利用停止中です。管理者に連絡してください。",
        ));
    }
    let Ok(role) = Role::parse(&user.role) else {
        return Err(AppError::Forbidden);
    };
    if !state.settings.ip_allowed(role, ip) {
        audit::record(
            &state.db,
            &AuditEntry {
                action: "login.ip_denied".into(),
                ..base.clone()
            },
        )
        .await?;
        return Ok(fail(
            "このネットワークからはログインできません。許可された場所から接続してください。",
        ));
    }
    if !crate::password::verify_async(form.password.clone(), user.password_hash.clone()).await {
        let failures = user.failed_logins + 1;
        let lock = (failures >= state.settings.lockout_threshold)
            .then(|| now + Duration::minutes(state.settings.lockout_minutes));
        users::record_failed_login(&state.db, user.id, lock).await?;
        let action = if lock.is_some() {
            "login.lockout"
        } else {
            "login.failure"
        };
        audit::record(
            &state.db,
            &AuditEntry {
                action: action.into(),
                detail: serde_json::json!({"failures": failures}),
                ..base.clone()
            },
        )
        .await?;
        if lock.is_some() {
            return Ok(fail(&format!(
                "パスワードを{failures}回続けて間違えたため、アカウントを{}分間ロックしました。",
                state.settings.lockout_minutes
            )));
        }
        return Ok(fail(wrong));
    }
    users::record_login_success(&state.db, user.id).await?;
    let token = session::random_token();
    let hash = session::hash_token(&token);
    let csrf = session::random_token();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    sessions::create(
        &state.db,
        &sessions::NewSession {
            token_hash: &hash,
            user_id: user.id,
            municipality_id: user.tenant(),
            csrf_token: &csrf,
            mfa_passed: !user.totp_enabled,
            ip: &ip.to_string(),
            user_agent: &ua.chars().take(300).collect::<String>(),
            expires_at: now + Duration::hours(state.settings.session_absolute_hours),
        },
    )
    .await?;
    audit::record(
        &state.db,
        &AuditEntry {
            action: "login.success".into(),
            ..base
        },
    )
    .await?;
    let target = if user.totp_enabled {
        format!("/login/totp?next={}", crate::access::urlencode(&next))
    } else if user.must_change_password {
        "/account?must_change=1".to_string()
    } else {
        next
    };
    let mut resp = Redirect::to(&target).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&token, state.settings.tls),
    );
    Ok(resp)
}

pub async fn logout(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    sessions::delete(&state.db, &user.session_hash).await?;
    let mut resp = Redirect::to("/login?notice=logout").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::clear_cookie(state.settings.tls),
    );
    Ok(resp)
}

#[derive(Template, WebTemplate)]
#[template(path = "login_totp.html")]
pub struct TotpStepPage {
    csrf: String,
    next: String,
    error: Option<String>,
}

pub async fn totp_form(user: CurrentUser, Query(q): Query<LoginQuery>) -> TotpStepPage {
    TotpStepPage {
        csrf: user.csrf_token,
        next: safe_next(q.next.as_deref()),
        error: None,
    }
}

#[derive(Deserialize)]
pub struct TotpForm {
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn totp_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TotpForm>,
) -> AppResult<Response> {
    let next = safe_next(Some(&form.next));
    let ok = mfa::verify_login_code(&state, &user.user, &form.code).await?;
    let base = user.audit("login.totp");
    if !ok {
        let now = furusato_db::now_utc();
        let failures = user.user.failed_logins + 1;
        let lock = (failures >= state.settings.lockout_threshold)
            .then(|| now + Duration::minutes(state.settings.lockout_minutes));
        users::record_failed_login(&state.db, user.user.id, lock).await?;
        // A wrong code that reaches the threshold locks the account like a wrong password does,
        // and is recorded as the same `login.lockout`.
        let entry = if lock.is_some() {
            AuditEntry {
                action: "login.lockout".into(),
                ..base.clone()
            }
        } else {
            base.clone()
        };
        audit::record(
            &state.db,
            &entry.detail(serde_json::json!({
                "result": "failure",
                "factor": "totp",
                "failures": failures,
            })),
        )
        .await?;
        if lock.is_some() {
            sessions::delete(&state.db, &user.session_hash).await?;
            let mut resp = Redirect::to("/login?notice=totp_locked").into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                session::clear_cookie(state.settings.tls),
            );
            return Ok(resp);
        }
        return Ok(TotpStepPage {
            csrf: user.csrf_token,
            next,
            error: Some(
                "確認コードが違います。認証アプリに表示されている6桁の数字を入力してください。"
                    .into(),
            ),
        }
        .into_response());
    }
    users::record_login_success(&state.db, user.user.id).await?;
    sessions::set_mfa_passed(&state.db, &user.session_hash).await?;
    audit::record(
        &state.db,
        &base.detail(serde_json::json!({"result": "success"})),
    )
    .await?;
    let target = if user.user.must_change_password {
        "/account?must_change=1".to_string()
    } else {
        next
    };
    let mut resp = Redirect::to(&target).into_response();
    resp.extensions_mut().insert(crate::access::Audited);
    Ok(resp)
}
