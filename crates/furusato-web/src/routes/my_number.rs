//! A donor's 個人番号 (My Number): shown masked, revealed to a designated handler with a typed
//! reason, registered or replaced by a handler who also keeps the ledger.
//!
//! - `GET /donors/{id}/my-number` ([`Permission::MyNumberReveal`], i.e. the `my_number_handler`
//!   grant): "****-****-1234" from the vault entry's stored last four digits (nothing is decrypted)
//!   and a form asking for the reason.
//! - `POST /donors/{id}/my-number`: with a reason of at least [`MIN_REASON_CHARS`] characters,
//!   decrypts the entry (AAD `aad("my_number", entry id)`) and shows the twelve digits once,
//!   "1234 5678 9012", on the response page (`Cache-Control: no-store`). The `my_number.reveal`
//!   audit entry with the reason is written before the page is sent; if it cannot be written the
//!   digits are not shown.
//! - `GET|POST /donors/{id}/my-number/edit` ([`Permission::MyNumberWrite`]: the grant on a role that writes the ledger): registers
//!   or replaces the number. [`MyNumber::parse`] checks the check digit; errors never echo the
//!   digits. The number is sealed with a fresh entry id bound as associated data, with an HMAC blind
//!   index for exact lookups, and stored together with its `my_number.register` / `my_number.replace`
//!   audit entry (which records the entry id, never any digit).
//!
//! The digits exist in clear only in memory that is wiped after use (`Zeroizing`), and in the one
//! response page. They are never logged, put in a URL, an audit entry, an error or a CSV.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use furusato_db::donors::{self, Donor};
use furusato_db::vault::{self, NewVaultEntry, VaultEntry};
use furusato_db::{audit, new_id};
use furusato_domain::{MyNumber, jst};
use furusato_vault::{Keyring, Zeroizing};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::state::AppState;

/// Vault purpose of a 個人番号.
pub const PURPOSE: &str = "my_number";
/// Owner kind of a donor's number.
pub const OWNER_KIND: &str = "donor";
/// Shortest accepted reveal reason (characters).
pub const MIN_REASON_CHARS: usize = 4;

/// Registers the My Number screens.
pub fn register(r: &mut Routes) {
    let handler = Access::Perm(Permission::MyNumberReveal);
    r.add(
        Method::GET,
        "/donors/{id}/my-number",
        handler,
        Audit::PersonalView,
        "my_number.form",
        get(show),
    );
    r.add(
        Method::POST,
        "/donors/{id}/my-number",
        handler,
        Audit::None,
        "my_number.reveal",
        post(reveal),
    );
    let writer = Access::Perm(Permission::MyNumberWrite);
    r.add(
        Method::GET,
        "/donors/{id}/my-number/edit",
        writer,
        Audit::PersonalView,
        "my_number.edit_form",
        get(edit_form),
    );
    r.add(
        Method::POST,
        "/donors/{id}/my-number/edit",
        writer,
        Audit::None,
        "my_number.register",
        post(save),
    );
}

/// "****-****-1234"
pub fn masked(last4: &str) -> String {
    format!("****-****-{last4}")
}

/// "1234 5678 9012", in memory that is wiped when dropped.
fn grouped(n: &MyNumber) -> Zeroizing<String> {
    let d = n.expose_secret();
    let mut s = Zeroizing::new(String::with_capacity(14));
    s.push_str(&d[..4]);
    s.push(' ');
    s.push_str(&d[4..8]);
    s.push(' ');
    s.push_str(&d[8..]);
    s
}

fn keyring(state: &AppState) -> AppResult<&Keyring> {
    state.keyring.as_deref().ok_or_else(|| {
        AppError::Conflict(
            "暗号鍵が設定されていないため、個人番号を扱えません。システム管理者が `furusato keys init` で鍵を用意してください。".into(),
        )
    })
}

async fn donor_of(state: &AppState, user: &CurrentUser, id: &str) -> AppResult<Donor> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    donors::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn entry_of(
    state: &AppState,
    user: &CurrentUser,
    donor: &Donor,
) -> AppResult<Option<VaultEntry>> {
    Ok(vault::get_for_owner(&state.db, user.tenant, OWNER_KIND, donor.id, PURPOSE).await?)
}

fn donor_name(d: &Donor) -> String {
    d.full_name()
}

#[derive(Template, WebTemplate)]
#[template(path = "my_number.html")]
pub struct MyNumberPage {
    layout: Layout,
    donor_id: Uuid,
    donor_name: String,
    masked: Option<String>,
    registered_at: String,
    synthetic: bool,
    /// The twelve digits, only on the response to a reveal.
    revealed: Option<Zeroizing<String>>,
    reason: String,
    error: Option<String>,
    can_edit: bool,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    donor: &Donor,
    entry: Option<&VaultEntry>,
    notice: Option<String>,
) -> AppResult<MyNumberPage> {
    Ok(MyNumberPage {
        layout: Layout::new(state, user, "個人番号", "/donors")
            .await
            .with_notice(notice),
        donor_id: donor.id,
        donor_name: donor_name(donor),
        masked: entry.map(|e| masked(&e.last4)),
        registered_at: entry
            .map(|e| jst::format_datetime_ja(e.updated_at))
            .unwrap_or_default(),
        synthetic: entry.is_some_and(|e| e.synthetic),
        revealed: None,
        reason: String::new(),
        error: None,
        can_edit: user.can(Permission::MyNumberWrite),
    })
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
    /// How many other donors carry the same number (after a registration).
    same: Option<u32>,
}

/// Records a view of a My Number screen against the donor (so that the auditor finds every
/// access to a donor under 対象種別 寄附者), and marks the response as audited.
async fn record_view(
    state: &AppState,
    user: &CurrentUser,
    action: &str,
    donor: &Donor,
) -> AppResult<()> {
    let entry = user.audit(action).target("donor", donor.id);
    audit::record(&state.db, &entry).await?;
    Ok(())
}

fn audited(mut resp: Response) -> Response {
    resp.extensions_mut().insert(Audited);
    resp
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let donor = donor_of(&state, &user, &id).await?;
    let entry = entry_of(&state, &user, &donor).await?;
    record_view(&state, &user, "my_number.form", &donor).await?;
    let mut notice = match q.done.as_deref() {
        Some("registered") => Some("個人番号を登録しました。".to_string()),
        Some("replaced") => Some("個人番号を変更しました。".to_string()),
        _ => None,
    };
    if let (Some(n), Some(msg)) = (q.same.filter(|n| *n > 0), notice.as_mut()) {
        msg.push_str(&format!(
            "同じ個人番号が別の寄附者{n}人にも登録されています。同一人物の重複登録であれば寄附者の統合を検討してください。"
        ));
    }
    Ok(audited(
        page(&state, &user, &donor, entry.as_ref(), notice)
            .await?
            .into_response(),
    ))
}

#[derive(Deserialize, Default)]
pub struct RevealForm {
    #[serde(default)]
    reason: String,
}

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub async fn reveal(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<RevealForm>,
) -> AppResult<Response> {
    let donor = donor_of(&state, &user, &id).await?;
    let entry = entry_of(&state, &user, &donor).await?;
    let reason = form.reason.trim().to_string();
    let mut p = page(&state, &user, &donor, entry.as_ref(), None).await?;
    let Some(entry) = entry else {
        p.error = Some("この寄附者の個人番号は登録されていません。".into());
        return Ok((axum::http::StatusCode::NOT_FOUND, p).into_response());
    };
    let n = reason.chars().count();
    if !(MIN_REASON_CHARS..=500).contains(&n) {
        p.error = Some(if n < MIN_REASON_CHARS {
            format!(
                "表示する理由を{MIN_REASON_CHARS}文字以上で入力してください（例：申告特例通知書の記載内容の確認）。"
            )
        } else {
            "理由は500文字以内で入力してください。".into()
        });
        p.reason = reason;
        return Ok((axum::http::StatusCode::BAD_REQUEST, p).into_response());
    }
    let ring = keyring(&state)?;
    let plain = ring
        .open(
            &entry.sealed,
            &furusato_vault::aad(PURPOSE, entry.id.as_bytes()),
        )
        .map_err(|e| {
            AppError::Other(anyhow::anyhow!(
                "vault entry {} cannot be opened: {e}",
                entry.id
            ))
        })?;
    let number = std::str::from_utf8(&plain)
        .ok()
        .and_then(|s| MyNumber::parse(s).ok())
        .ok_or_else(|| {
            AppError::Other(anyhow::anyhow!(
                "vault entry {} does not hold a valid number",
                entry.id
            ))
        })?;
    drop(plain);
    // Recorded before the digits leave the server; no record, no digits.
    let record = user
        .audit("my_number.reveal")
        .target("donor", donor.id)
        .reason(&reason)
        .detail(serde_json::json!({
            "vault_entry": entry.id,
            "key_id": entry.key_id,
        }));
    audit::record(&state.db, &record).await?;
    p.revealed = Some(grouped(&number));
    p.reason = reason;
    let mut resp = no_store(p.into_response());
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[derive(Template, WebTemplate)]
#[template(path = "my_number_edit.html")]
pub struct EditPage {
    layout: Layout,
    donor_id: Uuid,
    donor_name: String,
    masked: Option<String>,
    error: Option<String>,
}

pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let donor = donor_of(&state, &user, &id).await?;
    let entry = entry_of(&state, &user, &donor).await?;
    record_view(&state, &user, "my_number.edit_form", &donor).await?;
    let page = EditPage {
        layout: Layout::new(&state, &user, "個人番号の登録", "/donors").await,
        donor_id: donor.id,
        donor_name: donor_name(&donor),
        masked: entry.map(|e| masked(&e.last4)),
        error: None,
    };
    Ok(audited(no_store(page.into_response())))
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    my_number: String,
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> AppResult<Response> {
    let donor = donor_of(&state, &user, &id).await?;
    let existing = entry_of(&state, &user, &donor).await?;
    let typed = Zeroizing::new(form.my_number);
    let number = match MyNumber::parse(&typed) {
        Ok(n) => n,
        Err(e) => {
            drop(typed);
            let page = EditPage {
                layout: Layout::new(&state, &user, "個人番号の登録", "/donors").await,
                donor_id: donor.id,
                donor_name: donor_name(&donor),
                masked: existing.map(|e| masked(&e.last4)),
                error: Some(format!(
                    "{}入力した番号は表示しません。もう一度入力してください。",
                    e.message_ja()
                )),
            };
            return Ok(no_store(
                (axum::http::StatusCode::BAD_REQUEST, page).into_response(),
            ));
        }
    };
    drop(typed);
    let ring = keyring(&state)?;
    let entry_id = new_id();
    let digits = number.expose_secret().as_bytes();
    let sealed = ring.seal(digits, &furusato_vault::aad(PURPOSE, entry_id.as_bytes()));
    let blind = ring.blind_index(PURPOSE, digits);
    let others: Vec<Uuid> = vault::find_by_blind_index(&state.db, user.tenant, PURPOSE, &blind)
        .await?
        .into_iter()
        .filter(|e| e.owner_kind == OWNER_KIND && e.owner_id != donor.id)
        .map(|e| e.owner_id)
        .collect();
    let replaced = existing.is_some();
    let action = if replaced {
        "my_number.replace"
    } else {
        "my_number.register"
    };
    let mut tx = state.db.begin().await?;
    vault::put(
        &mut tx,
        user.tenant,
        &NewVaultEntry {
            id: entry_id,
            purpose: PURPOSE,
            owner_kind: OWNER_KIND,
            owner_id: donor.id,
            key_id: ring.active_key_id().as_str(),
            sealed: sealed.as_bytes(),
            blind_index: Some(&blind),
            last4: number.last4(),
            synthetic: false,
        },
    )
    .await?;
    let record = user
        .audit(action)
        .target("donor", donor.id)
        .detail(serde_json::json!({
            "vault_entry": entry_id,
            "replaced_entry": existing.as_ref().map(|e| e.id),
            "key_id": ring.active_key_id().as_str(),
            "same_number_on_other_donors": others,
        }));
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    let done = if replaced { "replaced" } else { "registered" };
    let target = if others.is_empty() {
        format!("/donors/{}/my-number?done={done}", donor.id)
    } else {
        // Same person entered twice? Say so (ids only) so that the donors can be merged.
        format!(
            "/donors/{}/my-number?done={done}&same={}",
            donor.id,
            others.len()
        )
    };
    let mut resp = Redirect::to(&target).into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_masked() {
        let n = MyNumber::from_first11(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
        let g = grouped(&n);
        assert_eq!(g.len(), 14);
        assert_eq!(&g[..4], "1234");
        assert_eq!(&g[4..5], " ");
        assert_eq!(masked(n.last4()), n.masked());
    }
}
