//! The role × route matrix: every registered route, requested by every kind of user, against a
//! hand-written table of who may use it. A route missing from the table (or a table row without a
//! route) fails the test, so a new screen cannot slip in without a decision about who sees it.
//!
//! How a cell is judged without side effects:
//! - GET: denied ⇔ the guard refused it (403 and an `access.denied` audit entry for that route).
//! - POST: sent with a wrong CSRF token. The guard checks the permission first: a permitted user is
//!   stopped by the CSRF check (`access.csrf_rejected`), a forbidden one by `access.denied`.
//!   Either way the handler never runs.

mod support;

use std::collections::BTreeSet;

use furusato_db::donations::{NewDonationItem, NewShipTo};
use furusato_domain::Role;
use reqwest::{Client, StatusCode};
use support::*;

/// The kinds of users: each role, plus the My Number grant on a city and an operator account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    City,
    CityHandler,
    CityAdmin,
    Operator,
    OperatorHandler,
    OperatorAdmin,
    Partner,
    Auditor,
}
use Who::*;

const EVERYONE: &[Who] = &[
    City,
    CityHandler,
    CityAdmin,
    Operator,
    OperatorHandler,
    OperatorAdmin,
    Partner,
    Auditor,
];
const READERS: &[Who] = &[
    City,
    CityHandler,
    CityAdmin,
    Operator,
    OperatorHandler,
    OperatorAdmin,
    Auditor,
];
const WRITERS: &[Who] = &[Operator, OperatorHandler, OperatorAdmin];
const OPS_ADMIN: &[Who] = &[OperatorAdmin];
const EXPORTERS: &[Who] = &[
    City,
    CityHandler,
    CityAdmin,
    Operator,
    OperatorHandler,
    OperatorAdmin,
];
const HANDLERS: &[Who] = &[CityHandler, OperatorHandler];
const HANDLER_WRITERS: &[Who] = &[OperatorHandler];
const AUDITORS: &[Who] = &[CityAdmin, Auditor];
const ADMINS: &[Who] = &[CityAdmin, OperatorAdmin];
const PARTNERS: &[Who] = &[Partner];

enum Rule {
    /// No login needed.
    Public,
    /// Any logged-in user.
    Users,
    /// Exactly these users.
    Only(&'static [Who]),
}
use Rule::*;

/// Who may call each route. Written by hand from the product's rules, not derived from the code.
const MATRIX: &[(&str, &str, Rule)] = &[
    ("GET", "/static/app.css", Public),
    ("GET", "/static/app.js", Public),
    ("GET", "/healthz", Public),
    ("GET", "/login", Public),
    ("POST", "/login", Public),
    ("GET", "/login/totp", Users),
    ("POST", "/login/totp", Users),
    ("POST", "/logout", Users),
    ("GET", "/account", Users),
    ("POST", "/account/password", Users),
    ("GET", "/account/totp", Users),
    ("POST", "/account/totp", Users),
    ("POST", "/account/totp/disable", Users),
    ("GET", "/", Users),
    ("GET", "/dashboard", Only(READERS)),
    // The ledger: read by the city, the contractor and auditors; written by the contractor.
    ("GET", "/donors", Only(READERS)),
    ("GET", "/donors/{id}", Only(READERS)),
    ("GET", "/donors/{id}/sources", Only(READERS)),
    ("GET", "/donors/{id}/merge", Only(WRITERS)),
    ("POST", "/donors/{id}/merge", Only(WRITERS)),
    ("GET", "/donations", Only(READERS)),
    ("GET", "/donations/{id}", Only(READERS)),
    ("GET", "/donations/new", Only(WRITERS)),
    ("POST", "/donations/new", Only(WRITERS)),
    ("GET", "/donations/{id}/payment", Only(WRITERS)),
    ("POST", "/donations/{id}/payment", Only(WRITERS)),
    ("GET", "/api/v1/donors", Only(READERS)),
    ("GET", "/api/v1/donors/{id}", Only(READERS)),
    ("GET", "/api/v1/donations", Only(READERS)),
    ("GET", "/api/v1/donations/{id}", Only(READERS)),
    ("GET", "/api/v1/postal/{code}", Users),
    ("GET", "/api/v1/openapi.json", Users),
    // Exports: the city and the contractor, never partners or auditors.
    ("GET", "/donations/export", Only(EXPORTERS)),
    ("GET", "/donors/export", Only(EXPORTERS)),
    // Partners: their own orders only.
    ("GET", "/partner/orders", Only(PARTNERS)),
    ("GET", "/partner/orders/{id}", Only(PARTNERS)),
    // 個人番号: designated handlers only; registering also needs a ledger-writing role.
    ("GET", "/donors/{id}/my-number", Only(HANDLERS)),
    ("POST", "/donors/{id}/my-number", Only(HANDLERS)),
    ("GET", "/donors/{id}/my-number/edit", Only(HANDLER_WRITERS)),
    ("POST", "/donors/{id}/my-number/edit", Only(HANDLER_WRITERS)),
    // Administration.
    ("GET", "/admin/users", Only(ADMINS)),
    ("POST", "/admin/users", Only(ADMINS)),
    ("GET", "/admin/users/{id}", Only(ADMINS)),
    ("POST", "/admin/users/{id}/role", Only(ADMINS)),
    ("POST", "/admin/users/{id}/password", Only(ADMINS)),
    ("POST", "/admin/users/{id}/unlock", Only(ADMINS)),
    ("POST", "/admin/users/{id}/disable", Only(ADMINS)),
    ("POST", "/admin/users/{id}/enable", Only(ADMINS)),
    ("POST", "/admin/users/{id}/my-number-handler", Only(ADMINS)),
    ("POST", "/admin/users/{id}/totp-reset", Only(ADMINS)),
    ("GET", "/admin/settings", Only(ADMINS)),
    ("POST", "/admin/settings/issuer", Only(ADMINS)),
    ("POST", "/admin/settings/retention", Only(ADMINS)),
    ("GET", "/admin/erasure", Only(ADMINS)),
    ("POST", "/admin/erasure/preview", Only(ADMINS)),
    ("GET", "/admin/erasure/{id}/csv", Only(ADMINS)),
    // The audit trail.
    ("GET", "/audit", Only(AUDITORS)),
    ("POST", "/audit/verify", Only(AUDITORS)),
    ("POST", "/audit/export", Only(AUDITORS)),
    // Intake: the contractor runs it; portal settings are the contractor's admin's.
    ("GET", "/intake", Only(WRITERS)),
    ("GET", "/intake/rakuten", Only(WRITERS)),
    ("POST", "/intake/rakuten/account", Only(OPS_ADMIN)),
    ("POST", "/intake/rakuten/sync", Only(WRITERS)),
    ("POST", "/intake/rakuten/license", Only(WRITERS)),
    ("POST", "/intake/rakuten/relink", Only(OPS_ADMIN)),
    ("GET", "/intake/rakuten/runs/{id}", Only(WRITERS)),
    ("GET", "/intake/rakuten/mappings", Only(WRITERS)),
    ("POST", "/intake/rakuten/mappings", Only(OPS_ADMIN)),
    (
        "POST",
        "/intake/rakuten/mappings/{id}/delete",
        Only(OPS_ADMIN),
    ),
    (
        "POST",
        "/intake/rakuten/mappings/reevaluate",
        Only(OPS_ADMIN),
    ),
    ("GET", "/intake/matching", Only(WRITERS)),
    ("POST", "/intake/matching/{id}/merge", Only(WRITERS)),
    ("POST", "/intake/matching/{id}/reject", Only(WRITERS)),
    ("GET", "/intake/matching/merges", Only(WRITERS)),
    ("POST", "/intake/matching/merges/{id}/undo", Only(WRITERS)),
    ("GET", "/intake/imports", Only(WRITERS)),
    ("POST", "/intake/imports", Only(WRITERS)),
    ("GET", "/intake/imports/{id}", Only(WRITERS)),
    ("POST", "/intake/imports/{id}/commit", Only(WRITERS)),
    ("POST", "/intake/imports/{id}/discard", Only(WRITERS)),
    ("GET", "/intake/imports/{id}/file", Only(WRITERS)),
    ("GET", "/intake/imports/{id}/errors.csv", Only(WRITERS)),
    ("GET", "/intake/profiles", Only(OPS_ADMIN)),
    ("POST", "/intake/profiles/sample", Only(OPS_ADMIN)),
    ("POST", "/intake/profiles", Only(OPS_ADMIN)),
    ("GET", "/intake/profiles/{id}", Only(OPS_ADMIN)),
    ("POST", "/intake/profiles/{id}/delete", Only(OPS_ADMIN)),
    ("GET", "/intake/payments", Only(WRITERS)),
    ("POST", "/intake/payments", Only(WRITERS)),
    ("GET", "/intake/payments/records", Only(WRITERS)),
    ("GET", "/intake/payments/records/{id}", Only(WRITERS)),
    ("POST", "/intake/payments/records/{id}/match", Only(WRITERS)),
    (
        "POST",
        "/intake/payments/records/{id}/ignore",
        Only(WRITERS),
    ),
    ("GET", "/intake/payments/{id}", Only(WRITERS)),
    ("POST", "/intake/payments/{id}/commit", Only(WRITERS)),
];

fn rule_for(method: &str, path: &str) -> Option<&'static Rule> {
    MATRIX
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, r)| r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_has_a_matrix_entry_and_every_entry_a_route() {
    let app = TestApp::spawn().await;
    let state = furusato_web::AppState::new(app.db.clone(), Default::default(), None);
    let (_, specs) = furusato_web::app(state);
    let registered: BTreeSet<(String, String)> = specs
        .iter()
        .map(|s| (s.method.to_string(), s.path.to_string()))
        .collect();
    let missing: Vec<_> = registered
        .iter()
        .filter(|(m, p)| rule_for(m, p).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an access-matrix entry: {missing:?}"
    );
    let stale: Vec<_> = MATRIX
        .iter()
        .filter(|(m, p, _)| !registered.contains(&(m.to_string(), p.to_string())))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix entries for routes that do not exist: {stale:?}"
    );
    // The route's declared access agrees with the matrix's kind of rule.
    for s in &specs {
        let rule = rule_for(s.method.as_str(), s.path).expect("checked above");
        match (rule, s.access) {
            (Public, furusato_web::access::Access::Public) => {}
            (
                Users,
                furusato_web::access::Access::LoggedIn | furusato_web::access::Access::MfaPending,
            ) => {}
            (Only(_), furusato_web::access::Access::Perm(_)) => {}
            _ => panic!(
                "{} {}: declared {:?} but the matrix says otherwise",
                s.method, s.path, s.access
            ),
        }
    }
}

struct Seeded {
    donor: String,
    donation: String,
    partner_line: String,
    other_partner_line: String,
    other_city_donor: String,
    other_city_donation: String,
    a_user: String,
}

async fn seed(app: &TestApp) -> Seeded {
    let t = app.tenant();
    let donor_id = app
        .add_donor(t, support::donor("行列", "試験", "ギョウレツ", "シケン"))
        .await;
    let (donation, _) = app
        .add_donation(t, support::donation(donor_id, date(2026, 11, 1)))
        .await;
    let partner_a = app.add_partner(t, "PA", "事業者A").await;
    let partner_b = app.add_partner(t, "PB", "事業者B").await;
    let (gift_a, ver_a) = app.add_gift(t, partner_a, "SD9001", "牛たん").await;
    let (gift_b, ver_b) = app.add_gift(t, partner_b, "SD9002", "笹かま").await;
    let ship = app
        .add_ship_to(
            t,
            donation,
            1,
            NewShipTo {
                name: "送付 先子".into(),
                ..Default::default()
            },
        )
        .await;
    let line = |gift, ver, code: &str| NewDonationItem {
        gift_id: Some(gift),
        gift_version_id: Some(ver),
        gift_code: code.into(),
        name: "品".into(),
        quantity: 1,
        amount: Some(10_000),
        ship_to_id: Some(ship),
    };
    let partner_line = app
        .add_item(t, donation, 1, line(gift_a, ver_a, "SD9001"))
        .await;
    let other_partner_line = app
        .add_item(t, donation, 2, line(gift_b, ver_b, "SD9002"))
        .await;
    let o = app.other_tenant();
    let other_city_donor = app
        .add_donor(o, support::donor("他市", "住人", "タシ", "ジュウニン"))
        .await;
    let (other_city_donation, _) = app
        .add_donation(o, support::donation(other_city_donor, date(2026, 11, 2)))
        .await;
    let a_user = app.create_user(t, "matrix-target", Role::City, None).await;
    let _ = partner_a;
    Seeded {
        donor: donor_id.to_string(),
        donation: donation.to_string(),
        partner_line: partner_line.to_string(),
        other_partner_line: other_partner_line.to_string(),
        other_city_donor: other_city_donor.to_string(),
        other_city_donation: other_city_donation.to_string(),
        a_user: a_user.id.to_string(),
    }
}

/// A concrete URL for a route pattern, with ids of rows that exist in the user's city.
fn concrete(path: &str, s: &Seeded) -> String {
    let id = if path.starts_with("/donors/") || path.starts_with("/api/v1/donors/") {
        s.donor.clone()
    } else if path.starts_with("/donations/") || path.starts_with("/api/v1/donations/") {
        s.donation.clone()
    } else if path.starts_with("/partner/orders/") {
        s.partner_line.clone()
    } else if path.starts_with("/admin/users/") {
        s.a_user.clone()
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    path.replace("{id}", &id).replace("{code}", "9800811")
}

async fn login_who(app: &TestApp, who: Who, partner: uuid::Uuid) -> (String, Client) {
    let (role, handler) = match who {
        City => (Role::City, false),
        CityHandler => (Role::City, true),
        CityAdmin => (Role::CityAdmin, false),
        Operator => (Role::Operator, false),
        OperatorHandler => (Role::Operator, true),
        OperatorAdmin => (Role::OperatorAdmin, false),
        Partner => (Role::Partner, false),
        Auditor => (Role::Auditor, false),
    };
    let login = format!("matrix-{who:?}").to_lowercase();
    let partner_id = (role == Role::Partner).then_some(partner);
    let u = app
        .create_user(app.tenant(), &login, role, partner_id)
        .await;
    if handler {
        furusato_db::users::update_access(
            &app.db,
            app.tenant(),
            u.id,
            role.as_str(),
            None,
            true,
            false,
        )
        .await
        .expect("grant");
    }
    (login.clone(), app.login(&login, PASSWORD).await)
}

/// Audit entries `action` written for `login` on `route`.
async fn denials(app: &TestApp, login: &str, action: &str, route: &str) -> usize {
    app.audit_rows(app.tenant(), action)
        .await
        .into_iter()
        .filter(|r| r.user_login == login && r.detail.contains(&format!("\"route\":\"{route}\"")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_of_the_role_route_matrix() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let partner_a = furusato_db::gifts::partner_by_code(&app.db, app.tenant(), "PA")
        .await
        .unwrap()
        .unwrap()
        .id;
    let state = furusato_web::AppState::new(app.db.clone(), Default::default(), None);
    let (_, specs) = furusato_web::app(state);

    let mut failures = vec![];
    for who in EVERYONE.iter().copied() {
        let (login, client) = login_who(&app, who, partner_a).await;
        for spec in &specs {
            let method = spec.method.as_str();
            let rule = rule_for(method, spec.path).expect("matrix covers every route");
            let expected_allowed = match rule {
                Public => continue, // not guarded; checked by the anonymous test
                Users => true,
                Only(list) => list.contains(&who),
            };
            let url = app.url(&concrete(spec.path, &s));
            let (status, denied, csrf_stopped) = if method == "GET" {
                let before = denials(&app, &login, "access.denied", spec.path).await;
                let status = client.get(&url).send().await.expect("GET").status();
                let after = denials(&app, &login, "access.denied", spec.path).await;
                (status, after > before, false)
            } else {
                let d0 = denials(&app, &login, "access.denied", spec.path).await;
                let c0 = denials(&app, &login, "access.csrf_rejected", spec.path).await;
                let status = client
                    .post(&url)
                    .header("x-csrf-token", "not-the-token")
                    .form(&[("x", "1")])
                    .send()
                    .await
                    .expect("POST")
                    .status();
                let d1 = denials(&app, &login, "access.denied", spec.path).await;
                let c1 = denials(&app, &login, "access.csrf_rejected", spec.path).await;
                (status, d1 > d0, c1 > c0)
            };
            let ok = if expected_allowed {
                !denied && status != StatusCode::UNAUTHORIZED && (method == "GET" || csrf_stopped)
            } else {
                denied && status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!(
                    "{who:?} {method} {}: expected {}, got {status} (denied: {denied}, csrf: {csrf_stopped})",
                    spec.path,
                    if expected_allowed { "allowed" } else { "forbidden" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix mismatches:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_reach_only_public_routes() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let state = furusato_web::AppState::new(app.db.clone(), Default::default(), None);
    let (_, specs) = furusato_web::app(state);
    let client = app.client();
    for spec in &specs {
        let rule = rule_for(spec.method.as_str(), spec.path).expect("matrix covers every route");
        if matches!(rule, Public) || spec.method.as_str() != "GET" {
            continue;
        }
        let resp = client
            .get(app.url(&concrete(spec.path, &s)))
            .send()
            .await
            .unwrap();
        if spec.path.starts_with("/api/") {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{}", spec.path);
        } else {
            assert!(
                resp.status().is_redirection(),
                "{}: {}",
                spec.path,
                resp.status()
            );
            let to = resp.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/login"), "{} redirects to {to}", spec.path);
        }
    }
    // Writes without a session never run either.
    let resp = client
        .post(app.url("/donations/new"))
        .form(&[("amount", "1")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_another_city_or_partner_are_not_found() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let partner_a = furusato_db::gifts::partner_by_code(&app.db, app.tenant(), "PA")
        .await
        .unwrap()
        .unwrap()
        .id;
    for who in [City, Operator, Auditor] {
        let (_, client) = login_who(&app, who, partner_a).await;
        for path in [
            format!("/donors/{}", s.other_city_donor),
            format!("/donations/{}", s.other_city_donation),
            format!("/api/v1/donors/{}", s.other_city_donor),
            format!("/api/v1/donations/{}", s.other_city_donation),
            format!("/donors/{}/sources", s.other_city_donor),
        ] {
            let status = client.get(app.url(&path)).send().await.unwrap().status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{who:?} {path}");
        }
    }
    let (_, partner) = login_who(&app, Partner, partner_a).await;
    let own = partner
        .get(app.url(&format!("/partner/orders/{}", s.partner_line)))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let other = partner
        .get(app.url(&format!("/partner/orders/{}", s.other_partner_line)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "partner A must not see partner B's line"
    );
    let list = partner
        .get(app.url("/partner/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("SD9001") && !list.contains("SD9002"),
        "partner list is scoped"
    );
}
