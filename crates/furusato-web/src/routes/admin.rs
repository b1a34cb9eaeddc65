//! Administration of a municipality: its users (`/admin/users`, [`Permission::UserAdmin`]), the
//! issuer details printed on documents and the retention periods (`/admin/settings`), and the
//! データ消去報告書 of past erasure runs (`/admin/erasure`), both [`Permission::Settings`].
//!
//! Every change is written with its audit entry in the same transaction and the response carries
//! [`crate::access::Audited`], so the guard does not add a generic entry.

mod erasure;
mod settings;
mod users;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::access::{Access, Audit, Permission, Routes};
use crate::error::error_page;

pub use users::{manageable_roles, may_hold_my_number_grant};

/// Registers the administration screens.
pub fn register(r: &mut Routes) {
    let (g, p) = (Method::GET, Method::POST);
    let admin = Access::Perm(Permission::UserAdmin);
    r.add(
        g.clone(),
        "/admin/users",
        admin,
        Audit::None,
        "user.list",
        get(users::list),
    );
    r.add(
        p.clone(),
        "/admin/users",
        admin,
        Audit::None,
        "user.create",
        post(users::create),
    );
    r.add(
        g.clone(),
        "/admin/users/{id}",
        admin,
        Audit::None,
        "user.view",
        get(users::show),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/role",
        admin,
        Audit::None,
        "user.role_change",
        post(users::change_role),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/password",
        admin,
        Audit::None,
        "user.reset_password",
        post(users::reset_password),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/unlock",
        admin,
        Audit::None,
        "user.unlock",
        post(users::unlock),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/disable",
        admin,
        Audit::None,
        "user.disable",
        post(users::disable),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/enable",
        admin,
        Audit::None,
        "user.enable",
        post(users::enable),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/my-number-handler",
        admin,
        Audit::None,
        "user.my_number_handler",
        post(users::set_grant),
    );
    r.add(
        p.clone(),
        "/admin/users/{id}/totp-reset",
        admin,
        Audit::None,
        "user.reset_totp",
        post(users::reset_totp),
    );

    let settings = Access::Perm(Permission::Settings);
    r.add(
        g.clone(),
        "/admin/settings",
        settings,
        Audit::None,
        "settings.view",
        get(settings::show),
    );
    r.add(
        p.clone(),
        "/admin/settings/issuer",
        settings,
        Audit::None,
        "settings.issuer",
        post(settings::save_issuer),
    );
    r.add(
        p.clone(),
        "/admin/settings/retention",
        settings,
        Audit::None,
        "settings.retention",
        post(settings::save_retention),
    );
    r.add(
        g.clone(),
        "/admin/erasure",
        settings,
        Audit::None,
        "erasure.list",
        get(erasure::list),
    );
    r.add(
        p.clone(),
        "/admin/erasure/preview",
        settings,
        Audit::None,
        "erase.preview",
        post(erasure::preview),
    );
    r.add(
        g,
        "/admin/erasure/{id}/csv",
        settings,
        Audit::None,
        "erasure.download",
        get(erasure::download),
    );
}

/// One `<option>` of a select.
#[derive(Clone, Debug)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A 403 page with a specific Japanese explanation.
fn refused(message: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, message.to_string())
}

/// A page answered with 400 (the form is shown again with its errors).
fn bad_request(page: impl IntoResponse) -> Response {
    (StatusCode::BAD_REQUEST, page).into_response()
}
