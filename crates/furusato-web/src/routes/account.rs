//! The user's own account: password change and second-factor enrolment.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use furusato_db::{audit, sessions, users};
use serde::Deserialize;

use crate::access::{Audited, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::mfa;
use crate::page::Layout;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    layout: Layout,
    login: String,
    must_change: bool,
    totp_enabled: bool,
    totp_required: bool,
    recovery_left: i64,
    last_login: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    must_change: Option<String>,
    done: Option<String>,
}

async fn account_page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<AccountPage> {
    let layout = Layout::new(state, user, "アカウント", "/account")
        .await
        .with_notice(notice);
    let recovery_left = users::recovery_codes_left(&state.db, user.user.id).await?;
    Ok(AccountPage {
        layout,
        login: user.user.login.clone(),
        must_change: user.user.must_change_password,
        totp_enabled: user.user.totp_enabled,
        totp_required: state.settings.totp_required(user.role),
        recovery_left,
        last_login: user
            .user
            .last_login_at
            .map(furusato_domain::jst::format_datetime_ja)
            .unwrap_or_else(|| "—".into()),
        error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AccountQuery>,
) -> AppResult<AccountPage> {
    let notice = match q.done.as_deref() {
        Some("totp") => Some("二要素認証を有効にしました。".to_string()),
        Some("totp_off") => Some("二要素認証を無効にしました。".to_string()),
        _ if q.must_change.is_some() => Some(
            "管理者がパスワードを再設定しました。新しいパスワードを設定してください。".to_string(),
        ),
        _ => None,
    };
    account_page(&state, &user, notice, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new_password: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let fail = |msg: &str| msg.to_string();
    let error =
        if !crate::password::verify_async(form.current.clone(), user.user.password_hash.clone())
            .await
        {
            Some(fail("現在のパスワードが違います。"))
        } else if form.new_password != form.confirm {
            Some(fail("新しいパスワードと確認用のパスワードが一致しません。"))
        } else if form.new_password == form.current {
            Some(fail("現在と同じパスワードは設定できません。"))
        } else {
            crate::password::check_strength(&form.new_password, &user.user.login).err()
        };
    if let Some(e) = error {
        return Ok(account_page(&state, &user, None, Some(e))
            .await?
            .into_response());
    }
    let hash = crate::password::hash_async(form.new_password).await?;
    users::set_password(&state.db, user.tenant, user.user.id, &hash, false).await?;
    audit::record(
        &state.db,
        &user
            .audit("account.password_change")
            .target("user", user.user.id),
    )
    .await?;
    // Every session of the user ends: log in again with the new password.
    sessions::delete_for_user(&state.db, user.user.id).await?;
    let mut resp = Redirect::to("/login?notice=password").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[derive(Template, WebTemplate)]
#[template(path = "account_totp.html")]
pub struct TotpEnrolPage {
    layout: Layout,
    qr: String,
    secret: String,
    error: Option<String>,
    recovery_codes: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct TotpQuery {
    required: Option<String>,
}

/// Shows the QR code of a (new or pending) secret. The secret is stored sealed but inactive until
/// a code from the app confirms it.
pub async fn totp_show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<TotpQuery>,
) -> AppResult<Response> {
    if user.user.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    let (url, secret) = match user.user.totp_secret_sealed.as_deref() {
        Some(sealed) => mfa::describe_sealed(&state, &user.user, sealed)?,
        None => {
            let (sealed, url, secret) = mfa::new_secret(&state, &user.user)?;
            users::set_totp(&state.db, user.tenant, user.user.id, Some(&sealed), false).await?;
            (url, secret)
        }
    };
    let notice = q.required.map(|_| {
        "この役割では二要素認証が必須です。認証アプリを登録してから利用を続けてください。"
            .to_string()
    });
    let layout = Layout::new(&state, &user, "二要素認証の設定", "/account")
        .await
        .with_notice(notice);
    Ok(TotpEnrolPage {
        layout,
        qr: mfa::qr_data_uri(&url)?,
        secret: group4(&secret),
        error: None,
        recovery_codes: vec![],
    }
    .into_response())
}

fn group4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
pub struct TotpConfirmForm {
    code: String,
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TotpConfirmForm>,
) -> AppResult<Response> {
    let Some(sealed) = user.user.totp_secret_sealed.clone() else {
        return Ok(Redirect::to("/account/totp").into_response());
    };
    if user.user.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    if !mfa::accept_code(&state, &user.user, &sealed, &form.code).await? {
        let (url, secret) = mfa::describe_sealed(&state, &user.user, &sealed)?;
        // Recorded as what it was (a refused code), not as the enrolment the route stands for.
        audit::record(
            &state.db,
            &user
                .audit("account.totp_rejected")
                .target("user", user.user.id),
        )
        .await?;
        let layout = Layout::new(&state, &user, "二要素認証の設定", "/account").await;
        let mut resp = TotpEnrolPage {
            layout,
            qr: mfa::qr_data_uri(&url)?,
            secret: group4(&secret),
            error: Some("確認コードが違います。認証アプリの時刻設定を確認し、表示中の6桁を入力してください。".into()),
            recovery_codes: vec![],
        }
        .into_response();
        resp.extensions_mut().insert(Audited);
        return Ok(resp);
    }
    let (codes, hashes) = mfa::new_recovery_codes();
    users::set_totp(&state.db, user.tenant, user.user.id, Some(&sealed), true).await?;
    users::replace_recovery_codes(&state.db, user.user.id, &hashes).await?;
    // The current session has just proven the factor.
    sessions::set_mfa_passed(&state.db, &user.session_hash).await?;
    audit::record(
        &state.db,
        &user
            .audit("account.totp_enable")
            .target("user", user.user.id),
    )
    .await?;
    let layout = Layout::new(&state, &user, "二要素認証の設定", "/account")
        .await
        .with_notice(Some("二要素認証を有効にしました。".into()));
    let mut resp = TotpEnrolPage {
        layout,
        qr: String::new(),
        secret: String::new(),
        error: None,
        recovery_codes: codes,
    }
    .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// Turns the second factor off (not allowed for roles that require it).
pub async fn totp_disable(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    if state.settings.totp_required(user.role) {
        return Err(AppError::BadRequest(
            "この役割では二要素認証を無効にできません。".into(),
        ));
    }
    users::set_totp(&state.db, user.tenant, user.user.id, None, false).await?;
    users::replace_recovery_codes(&state.db, user.user.id, &[]).await?;
    audit::record(
        &state.db,
        &user
            .audit("account.totp_disable")
            .target("user", user.user.id),
    )
    .await?;
    let mut resp = Redirect::to("/account?done=totp_off").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}
