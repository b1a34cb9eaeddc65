//! `/admin/users`: the municipality's accounts.
//!
//! Who manages whom: a 市管理者 (city_admin) creates and changes 市職員・市管理者・監査担当 accounts,
//! a 運営管理者 (operator_admin) 運営事業者・運営管理者・返礼品事業者 accounts; everybody sees the whole
//! list. Nobody changes their own account here (role, grant, password and second factor of one's
//! own account are changed on the account page, or by another administrator).
//!
//! The `my_number_handler` grant (特定個人情報 作業従事者) is given and taken by a 運営管理者 only,
//! to 運営事業者・運営管理者・市職員・市管理者 accounts, with a note naming the written designation
//! (the spec demands handlers be designated in writing); the note is stored in the audit entry.
//!
//! Passwords set here are generated, shown once on the response page (never stored in clear, never
//! in the audit trail) and must be changed at the next login.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use furusato_db::audit::{self, AuditEntry};
use furusato_db::users::{self, NewUser, User};
use furusato_db::{gifts, now_utc};
use furusato_domain::{Role, jst};
use serde::Deserialize;
use uuid::Uuid;

use super::{SelectOption, bad_request, refused};
use crate::access::{Audited, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::state::AppState;

/// The roles an administrator of `admin` role creates and manages (empty for other roles).
pub fn manageable_roles(admin: Role) -> &'static [Role] {
    match admin {
        Role::CityAdmin => &[Role::City, Role::CityAdmin, Role::Auditor],
        Role::OperatorAdmin => &[Role::Operator, Role::OperatorAdmin, Role::Partner],
        _ => &[],
    }
}

/// Whether an account of `role` may be a designated My Number handler.
pub fn may_hold_my_number_grant(role: Role) -> bool {
    matches!(
        role,
        Role::Operator | Role::OperatorAdmin | Role::City | Role::CityAdmin
    )
}

const NOT_YOURSELF: &str = "自分自身のアカウントはこの画面では変更できません。パスワードと二要素認証はアカウント画面で変更し、役割や権限は別の管理者に依頼してください。";
const NOT_YOURS: &str = "この利用者はあなたの管理対象ではありません（市管理者は市職員・市管理者・監査担当を、運営管理者は運営事業者・運営管理者・返礼品事業者を管理します）。";
const GRANT_ADMIN_ONLY: &str = "個人番号取扱者の指定と解除は、運営管理者だけが行えます。";

fn role_of(u: &User) -> Option<Role> {
    Role::parse(&u.role).ok()
}

fn fmt_time(t: Option<time::OffsetDateTime>) -> String {
    t.map(jst::format_datetime_ja).unwrap_or_else(|| "—".into())
}

/// An account locked by failed logins: until when (JST).
fn locked_label(u: &User) -> Option<String> {
    u.locked_until
        .filter(|t| *t > now_utc())
        .map(jst::format_datetime_ja)
}

// ---------------------------------------------------------------------------------------------
// List and creation

/// One row of the user list.
pub struct UserRow {
    pub id: Uuid,
    pub login: String,
    pub name: String,
    pub role_label: String,
    pub partner: String,
    pub handler: bool,
    pub totp: bool,
    pub locked_until: Option<String>,
    pub disabled: bool,
    pub last_login: String,
    pub is_self: bool,
}

/// What the creation form holds (refilled after an error).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    layout: Layout,
    rows: Vec<UserRow>,
    roles: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    form: CreateForm,
    errors: Vec<String>,
    scope_note: &'static str,
}

fn role_options(admin: Role, selected: &str) -> Vec<SelectOption> {
    manageable_roles(admin)
        .iter()
        .map(|r| SelectOption {
            value: r.as_str().into(),
            label: r.label_ja().into(),
            selected: r.as_str() == selected,
        })
        .collect()
}

async fn partner_options(
    state: &AppState,
    user: &CurrentUser,
    selected: &str,
) -> AppResult<Vec<SelectOption>> {
    if !manageable_roles(user.role).contains(&Role::Partner) {
        return Ok(vec![]);
    }
    Ok(gifts::partners(&state.db, user.tenant)
        .await?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| SelectOption {
            selected: p.id.to_string() == selected,
            value: p.id.to_string(),
            label: format!("{}（{}）", p.name, p.code),
        })
        .collect())
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    form: CreateForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> AppResult<UsersPage> {
    let partners = gifts::partners(&state.db, user.tenant).await?;
    let rows = users::list(&state.db, user.tenant)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.display_name.clone(),
            role_label: role_of(&u)
                .map(|r| r.label_ja().to_string())
                .unwrap_or_else(|| u.role.clone()),
            partner: u
                .partner_id
                .and_then(|id| partners.iter().find(|p| p.id == id))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            handler: u.my_number_handler,
            totp: u.totp_enabled,
            locked_until: locked_label(&u),
            disabled: u.disabled,
            last_login: fmt_time(u.last_login_at),
            is_self: u.id == user.user.id,
            login: u.login,
        })
        .collect();
    let scope_note = match user.role {
        Role::CityAdmin => {
            "市管理者は、市職員・市管理者・監査担当のアカウントを作成・変更できます。"
        }
        Role::OperatorAdmin => {
            "運営管理者は、運営事業者・運営管理者・返礼品事業者のアカウントの作成・変更と、個人番号取扱者の指定ができます。"
        }
        _ => "",
    };
    Ok(UsersPage {
        layout: Layout::new(state, user, "利用者管理", "/admin/users")
            .await
            .with_notice(notice),
        rows,
        roles: role_options(user.role, &form.role),
        partners: partner_options(state, user, &form.partner_id).await?,
        form,
        errors,
        scope_note,
    })
}

pub async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<UsersPage> {
    users_page(&state, &user, CreateForm::default(), vec![], None).await
}

/// A generated password: 16 random characters in groups of four with symbols (every strength
/// class present), without look-alike characters.
pub fn generated_password(login: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    loop {
        let body: String = (0..16)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let p = format!(
            "{}-{}-{}-{}!",
            &body[..4],
            &body[4..8],
            &body[8..12],
            &body[12..]
        );
        if crate::password::check_strength(&p, login).is_ok() {
            return p;
        }
    }
}

/// The page that shows a generated password once.
#[derive(Template, WebTemplate)]
#[template(path = "admin_user_password.html")]
pub struct PasswordPage {
    layout: Layout,
    id: Uuid,
    login: String,
    name: String,
    password: String,
    created: bool,
}

fn check_login(login: &str) -> Option<&'static str> {
    if login.is_empty() {
        Some("ログインIDを入力してください。")
    } else if login.chars().count() > 64
        || !login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        Some("ログインIDは半角英数字と「. _ - @」で、64文字以内で入力してください。")
    } else {
        None
    }
}

fn check_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("氏名を入力してください。")
    } else if name.chars().count() > 50 {
        Some("氏名は50文字以内で入力してください。")
    } else {
        None
    }
}

/// The state of an account the audit trail records before and after a change (no secrets).
fn access_json(
    role: &str,
    partner_id: Option<Uuid>,
    handler: bool,
    disabled: bool,
) -> serde_json::Value {
    serde_json::json!({"role": role, "partner_id": partner_id, "my_number_handler": handler, "disabled": disabled})
}

fn user_json(u: &User) -> serde_json::Value {
    access_json(&u.role, u.partner_id, u.my_number_handler, u.disabled)
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CreateForm>,
) -> AppResult<Response> {
    let login = form.login.trim().to_string();
    let name = form.display_name.trim().to_string();
    let mut errors: Vec<String> = vec![];
    errors.extend(check_login(&login).map(String::from));
    errors.extend(check_name(&name).map(String::from));
    let role = match Role::parse(form.role.trim()) {
        Ok(r) if manageable_roles(user.role).contains(&r) => Some(r),
        Ok(_) => return Ok(refused(NOT_YOURS)),
        Err(_) => {
            errors.push("役割を選択してください。".into());
            None
        }
    };
    let mut partner_id = None;
    if role == Some(Role::Partner) {
        let found = match Uuid::parse_str(form.partner_id.trim()) {
            Ok(id) => gifts::partner(&state.db, user.tenant, id).await?,
            Err(_) => None,
        };
        match found {
            Some(p) => partner_id = Some(p.id),
            None => {
                errors.push("返礼品事業者のアカウントには、対象の事業者を選択してください。".into())
            }
        }
    }
    if errors.is_empty() && users::find_by_login(&state.db, &login).await?.is_some() {
        errors.push("このログインIDはすでに使われています。別のIDを指定してください。".into());
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Ok(bad_request(
            users_page(&state, &user, form, errors, None).await?,
        ));
    };

    let password = generated_password(&login);
    let hash = crate::password::hash_async(password.clone()).await?;
    let new = NewUser {
        municipality_id: user.tenant,
        login: login.clone(),
        display_name: name.clone(),
        role: role.as_str().to_string(),
        partner_id,
        my_number_handler: false,
        password_hash: hash,
        must_change_password: true,
    };
    let mut tx = state.db.begin().await?;
    let id = match users::insert_tx(&mut tx, &new).await {
        Ok(id) => id,
        Err(furusato_db::DbError::Conflict(_)) => {
            drop(tx);
            let errors = vec![
                "このログインIDはすでに使われています。別のIDを指定してください。".to_string(),
            ];
            return Ok(bad_request(
                users_page(&state, &user, form, errors, None).await?,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let entry = user
        .audit("user.create")
        .target("user", id)
        .detail(serde_json::json!({
            "login": login,
            "before": null,
            "after": access_json(role.as_str(), partner_id, false, false),
        }));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    let layout = Layout::new(&state, &user, "利用者を作成しました", "/admin/users").await;
    let mut resp = PasswordPage {
        layout,
        id,
        login,
        name,
        password,
        created: true,
    }
    .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// One account

#[derive(Template, WebTemplate)]
#[template(path = "admin_user.html")]
pub struct UserPage {
    layout: Layout,
    u: UserRow,
    failed_logins: i64,
    must_change: bool,
    password_changed: String,
    created_at: String,
    /// The administrator may change this account.
    manage: bool,
    /// The administrator may give or take the My Number grant of this account.
    grant: bool,
    roles: Vec<SelectOption>,
    partners: Vec<SelectOption>,
    error: Option<String>,
    note: String,
    view_only_reason: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Option<String> {
    let m = match done? {
        "role" => "役割を変更しました。この利用者のログイン中の画面は終了しました。",
        "unlock" => "ロックを解除しました。",
        "disable" => "利用を停止しました。この利用者はログインできません。",
        "enable" => "利用を再開しました。",
        "grant" => "個人番号取扱者に指定しました。",
        "revoke" => "個人番号取扱者の指定を解除しました。",
        "totp" => {
            "二要素認証をリセットしました。次回ログイン時に再登録が必要です（役割で必須の場合）。"
        }
        "nochange" => "変更はありませんでした。",
        _ => return None,
    };
    Some(m.to_string())
}

async fn load(state: &AppState, user: &CurrentUser, id: &str) -> AppResult<User> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    users::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn can_manage(admin: &CurrentUser, target: &User) -> bool {
    target.id != admin.user.id
        && role_of(target).is_some_and(|r| manageable_roles(admin.role).contains(&r))
}

fn can_grant(admin: &CurrentUser, target: &User) -> bool {
    admin.role == Role::OperatorAdmin
        && target.id != admin.user.id
        && role_of(target).is_some_and(may_hold_my_number_grant)
}

async fn user_page(
    state: &AppState,
    admin: &CurrentUser,
    target: User,
    notice: Option<String>,
    error: Option<String>,
    note: String,
) -> AppResult<UserPage> {
    let partners = gifts::partners(&state.db, admin.tenant).await?;
    let manage = can_manage(admin, &target);
    let grant = can_grant(admin, &target);
    let view_only_reason = if target.id == admin.user.id {
        Some(NOT_YOURSELF)
    } else if !manage && !grant {
        Some(NOT_YOURS)
    } else {
        None
    };
    let selected_partner = target.partner_id.map(|p| p.to_string()).unwrap_or_default();
    let u = UserRow {
        id: target.id,
        login: target.login.clone(),
        name: target.display_name.clone(),
        role_label: role_of(&target)
            .map(|r| r.label_ja().to_string())
            .unwrap_or_else(|| target.role.clone()),
        partner: target
            .partner_id
            .and_then(|id| partners.iter().find(|p| p.id == id))
            .map(|p| format!("{}（{}）", p.name, p.code))
            .unwrap_or_default(),
        handler: target.my_number_handler,
        totp: target.totp_enabled,
        locked_until: locked_label(&target),
        disabled: target.disabled,
        last_login: fmt_time(target.last_login_at),
        is_self: target.id == admin.user.id,
    };
    Ok(UserPage {
        layout: Layout::new(
            state,
            admin,
            format!("利用者：{}", target.display_name),
            "/admin/users",
        )
        .await
        .with_notice(notice),
        u,
        failed_logins: target.failed_logins,
        must_change: target.must_change_password,
        password_changed: jst::format_datetime_ja(target.password_changed_at),
        created_at: jst::format_datetime_ja(target.created_at),
        manage,
        grant,
        roles: role_options(admin.role, &target.role),
        partners: partner_options(state, admin, &selected_partner).await?,
        error,
        note,
        view_only_reason,
    })
}

pub async fn show(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> AppResult<UserPage> {
    let target = load(&state, &admin, &id).await?;
    user_page(
        &state,
        &admin,
        target,
        done_notice(q.done.as_deref()),
        None,
        String::new(),
    )
    .await
}

fn done(id: Uuid, what: &str) -> Response {
    let mut resp = Redirect::to(&format!("/admin/users/{id}?done={what}")).into_response();
    resp.extensions_mut().insert(Audited);
    resp
}

/// Loads the target and checks that `admin` may change it; Err holds the refusal page.
async fn managed_target(
    state: &AppState,
    admin: &CurrentUser,
    id: &str,
) -> AppResult<Result<User, Response>> {
    let target = load(state, admin, id).await?;
    if target.id == admin.user.id {
        return Ok(Err(refused(NOT_YOURSELF)));
    }
    if !can_manage(admin, &target) {
        return Ok(Err(refused(NOT_YOURS)));
    }
    Ok(Ok(target))
}

fn entry(admin: &CurrentUser, action: &str, target: &User, after: serde_json::Value) -> AuditEntry {
    admin
        .audit(action)
        .target("user", target.id)
        .detail(serde_json::json!({
            "login": target.login,
            "before": user_json(target),
            "after": after,
        }))
}

#[derive(Deserialize, Default)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    partner_id: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> AppResult<Response> {
    let target = match managed_target(&state, &admin, &id).await? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    let role = match Role::parse(form.role.trim()) {
        Ok(r) if manageable_roles(admin.role).contains(&r) => r,
        Ok(_) => return Ok(refused(NOT_YOURS)),
        Err(_) => {
            let page = user_page(
                &state,
                &admin,
                target,
                None,
                Some("役割を選択してください。".into()),
                String::new(),
            )
            .await?;
            return Ok(bad_request(page));
        }
    };
    let partner_id = if role == Role::Partner {
        let found = match Uuid::parse_str(form.partner_id.trim()) {
            Ok(pid) => gifts::partner(&state.db, admin.tenant, pid).await?,
            Err(_) => None,
        };
        match found {
            Some(p) => Some(p.id),
            None => {
                let msg =
                    "返礼品事業者のアカウントには、対象の事業者を選択してください。".to_string();
                let page =
                    user_page(&state, &admin, target, None, Some(msg), String::new()).await?;
                return Ok(bad_request(page));
            }
        }
    } else {
        None
    };
    if role.as_str() == target.role && partner_id == target.partner_id {
        return Ok(
            Redirect::to(&format!("/admin/users/{}?done=nochange", target.id)).into_response(),
        );
    }
    // A role that may not hold the grant loses it.
    let handler = target.my_number_handler && may_hold_my_number_grant(role);
    let mut tx = state.db.begin().await?;
    users::update_access_tx(
        &mut tx,
        admin.tenant,
        target.id,
        role.as_str(),
        partner_id,
        handler,
        target.disabled,
    )
    .await?;
    users::end_sessions_tx(&mut tx, target.id).await?;
    let mut e = entry(
        &admin,
        "user.role_change",
        &target,
        access_json(role.as_str(), partner_id, handler, target.disabled),
    );
    e.detail["grant_dropped"] = serde_json::json!(target.my_number_handler && !handler);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(done(target.id, "role"))
}

pub async fn reset_password(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let target = match managed_target(&state, &admin, &id).await? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    let password = generated_password(&target.login);
    let hash = crate::password::hash_async(password.clone()).await?;
    let mut tx = state.db.begin().await?;
    users::set_password_tx(&mut tx, admin.tenant, target.id, &hash, true).await?;
    let ended = users::end_sessions_tx(&mut tx, target.id).await?;
    let mut e = entry(&admin, "user.reset_password", &target, user_json(&target));
    e.detail["must_change_password"] = serde_json::json!(true);
    e.detail["sessions_ended"] = serde_json::json!(ended);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    let layout = Layout::new(&state, &admin, "パスワードを再設定しました", "/admin/users").await;
    let mut resp = PasswordPage {
        layout,
        id: target.id,
        login: target.login,
        name: target.display_name,
        password,
        created: false,
    }
    .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

pub async fn unlock(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let target = match managed_target(&state, &admin, &id).await? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    let mut tx = state.db.begin().await?;
    users::unlock_tx(&mut tx, admin.tenant, target.id).await?;
    let mut e = entry(&admin, "user.unlock", &target, user_json(&target));
    e.detail["failed_logins"] = serde_json::json!(target.failed_logins);
    e.detail["locked_until"] = serde_json::json!(target.locked_until.map(jst::format_datetime_ja));
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(done(target.id, "unlock"))
}

async fn set_disabled(
    state: AppState,
    admin: CurrentUser,
    id: String,
    disabled: bool,
) -> AppResult<Response> {
    let target = match managed_target(&state, &admin, &id).await? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    if target.disabled == disabled {
        return Ok(
            Redirect::to(&format!("/admin/users/{}?done=nochange", target.id)).into_response(),
        );
    }
    let mut tx = state.db.begin().await?;
    users::update_access_tx(
        &mut tx,
        admin.tenant,
        target.id,
        &target.role,
        target.partner_id,
        target.my_number_handler,
        disabled,
    )
    .await?;
    if disabled {
        users::end_sessions_tx(&mut tx, target.id).await?;
    }
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let e = entry(
        &admin,
        action,
        &target,
        access_json(
            &target.role,
            target.partner_id,
            target.my_number_handler,
            disabled,
        ),
    );
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(done(target.id, if disabled { "disable" } else { "enable" }))
}

pub async fn disable(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    set_disabled(state, admin, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    set_disabled(state, admin, id, false).await
}

#[derive(Deserialize, Default)]
pub struct GrantForm {
    /// "1" to designate, "0" to revoke.
    #[serde(default)]
    grant: String,
    /// The written designation (指定書の番号・日付など).
    #[serde(default)]
    note: String,
}

pub async fn set_grant(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<GrantForm>,
) -> AppResult<Response> {
    let target = load(&state, &admin, &id).await?;
    if admin.role != Role::OperatorAdmin {
        return Ok(refused(GRANT_ADMIN_ONLY));
    }
    if target.id == admin.user.id {
        return Ok(refused(NOT_YOURSELF));
    }
    let grant = match form.grant.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::BadRequest(
                "指定するか解除するかを選んでください。".into(),
            ));
        }
    };
    if grant && !role_of(&target).is_some_and(may_hold_my_number_grant) {
        return Err(AppError::BadRequest(
            "この役割の利用者は個人番号取扱者に指定できません（指定できるのは運営事業者・運営管理者・市職員・市管理者です）。".into(),
        ));
    }
    let note = form.note.trim().to_string();
    let n = note.chars().count();
    if !(4..=500).contains(&n) {
        let msg = if n == 0 {
            "指定・解除の根拠（指定書の番号や日付など）を入力してください。"
        } else if n < 4 {
            "根拠は4文字以上で具体的に入力してください（例：特定個人情報取扱者指定書 第12号 2026年4月1日）。"
        } else {
            "根拠は500文字以内で入力してください。"
        };
        let page = user_page(&state, &admin, target, None, Some(msg.into()), note).await?;
        return Ok(bad_request(page));
    }
    if target.my_number_handler == grant {
        return Ok(
            Redirect::to(&format!("/admin/users/{}?done=nochange", target.id)).into_response(),
        );
    }
    let mut tx = state.db.begin().await?;
    users::update_access_tx(
        &mut tx,
        admin.tenant,
        target.id,
        &target.role,
        target.partner_id,
        grant,
        target.disabled,
    )
    .await?;
    let action = if grant {
        "user.grant_my_number"
    } else {
        "user.revoke_my_number"
    };
    let mut e = entry(
        &admin,
        action,
        &target,
        access_json(&target.role, target.partner_id, grant, target.disabled),
    )
    .reason(&note);
    e.detail["note"] = serde_json::json!(note);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(done(target.id, if grant { "grant" } else { "revoke" }))
}

pub async fn reset_totp(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let target = match managed_target(&state, &admin, &id).await? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    let mut tx = state.db.begin().await?;
    users::clear_totp_tx(&mut tx, admin.tenant, target.id).await?;
    users::end_sessions_tx(&mut tx, target.id).await?;
    let mut e = entry(&admin, "user.reset_totp", &target, user_json(&target));
    e.detail["totp_enabled_before"] = serde_json::json!(target.totp_enabled);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(done(target.id, "totp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_manage_their_own_roles() {
        assert_eq!(
            manageable_roles(Role::CityAdmin),
            [Role::City, Role::CityAdmin, Role::Auditor]
        );
        assert_eq!(
            manageable_roles(Role::OperatorAdmin),
            [Role::Operator, Role::OperatorAdmin, Role::Partner]
        );
        for r in [Role::City, Role::Operator, Role::Partner, Role::Auditor] {
            assert!(manageable_roles(r).is_empty());
        }
        assert!(!may_hold_my_number_grant(Role::Partner));
        assert!(!may_hold_my_number_grant(Role::Auditor));
        assert!(may_hold_my_number_grant(Role::City));
    }

    #[test]
    fn generated_passwords_are_strong_and_differ() {
        let a = generated_password("clerk");
        let b = generated_password("clerk");
        assert_ne!(a, b);
        assert!(crate::password::check_strength(&a, "clerk").is_ok());
        assert_eq!(a.chars().count(), 20);
    }

    #[test]
    fn logins_are_checked() {
        assert!(check_login("sato.k@city").is_none());
        assert!(check_login("").is_some());
        assert!(check_login("佐藤").is_some());
        assert!(check_login("a b").is_some());
    }
}
