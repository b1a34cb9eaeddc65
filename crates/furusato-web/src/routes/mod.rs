//! Every route of the server, registered with its access rule. Feature modules expose
//! `register(&mut Routes)`; the access-matrix test walks the resulting list.

pub mod account;
pub mod admin;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod direct;
pub mod donations;
pub mod donors;
pub mod exports;
pub mod imports;
pub mod intake;
pub mod matching;
pub mod my_number;
pub mod partner;
pub mod payments;
pub mod rakuten;

use axum::http::Method;
use axum::routing::{get, post};

use crate::access::{Access, Audit, Permission, Routes};
use crate::state::AppState;

/// Builds the guarded route table.
pub fn routes(state: AppState) -> Routes {
    let mut r = Routes::new(state);
    use Access::*;
    let (g, p) = (Method::GET, Method::POST);
    r.add(
        g.clone(),
        "/static/app.css",
        Public,
        Audit::None,
        "static.css",
        get(assets::css),
    );
    r.add(
        g.clone(),
        "/static/app.js",
        Public,
        Audit::None,
        "static.js",
        get(assets::js),
    );
    r.add(
        g.clone(),
        "/healthz",
        Public,
        Audit::None,
        "health",
        get(assets::health),
    );
    r.add(
        g.clone(),
        "/login",
        Public,
        Audit::None,
        "login.form",
        get(auth::login_form),
    );
    r.add(
        p.clone(),
        "/login",
        Public,
        Audit::None,
        "login.submit",
        post(auth::login_submit),
    );
    r.add(
        g.clone(),
        "/login/totp",
        MfaPending,
        Audit::None,
        "login.totp_form",
        get(auth::totp_form),
    );
    r.add(
        p.clone(),
        "/login/totp",
        MfaPending,
        Audit::None,
        "login.totp",
        post(auth::totp_submit),
    );
    r.add(
        p.clone(),
        "/logout",
        LoggedIn,
        Audit::None,
        "logout",
        post(auth::logout),
    );
    r.add(
        g.clone(),
        "/account",
        LoggedIn,
        Audit::None,
        "account.view",
        get(account::show),
    );
    r.add(
        p.clone(),
        "/account/password",
        LoggedIn,
        Audit::None,
        "account.password_change",
        post(account::change_password),
    );
    r.add(
        g.clone(),
        "/account/totp",
        LoggedIn,
        Audit::None,
        "account.totp_form",
        get(account::totp_show),
    );
    r.add(
        p.clone(),
        "/account/totp",
        LoggedIn,
        Audit::None,
        "account.totp_enable",
        post(account::totp_confirm),
    );
    r.add(
        p.clone(),
        "/account/totp/disable",
        LoggedIn,
        Audit::None,
        "account.totp_disable",
        post(account::totp_disable),
    );
    r.add(
        g.clone(),
        "/",
        LoggedIn,
        Audit::None,
        "home",
        get(dashboard::home),
    );
    r.add(
        g.clone(),
        "/dashboard",
        Perm(Permission::Dashboard),
        Audit::None,
        "dashboard.view",
        get(dashboard::show),
    );
    donors::register(&mut r);
    donations::register(&mut r);
    partner::register(&mut r);
    api::register(&mut r);
    admin::register(&mut r);
    audit::register(&mut r);
    my_number::register(&mut r);
    intake::register(&mut r);
    rakuten::register(&mut r);
    matching::register(&mut r);
    exports::register(&mut r);
    direct::register(&mut r);
    imports::register(&mut r);
    payments::register(&mut r);
    r
}
