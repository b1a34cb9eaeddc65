//! Access control: the one place that decides who may call what.
//!
//! Every route is registered through [`Routes`] with an [`Access`] rule. The router wraps each
//! route in [`guard`], which authenticates the session, enforces timeouts, the second factor, the
//! per-role IP allow-list and CSRF, checks the permission against [`allows`], and writes the audit
//! record for writes and for views of personal data. Handlers then read the [`CurrentUser`]; they
//! never check roles themselves. Tenancy and partner scope are enforced by the queries, which always
//! take the user's municipality (and partner) from [`CurrentUser`].

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use furusato_db::MunicipalityId;
use furusato_db::audit::{self, AuditEntry};
use furusato_db::users::User;
use furusato_domain::Role;
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use crate::error::{AppError, error_page};
use crate::session;
use crate::state::AppState;

/// What a user may do. Routes name one permission each; [`allows`] is the role × permission matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Dashboard figures.
    Dashboard,
    /// Donor and donation lists and detail pages (personal data masked in lists; detail views audited).
    LedgerRead,
    /// Entering and correcting donations and donors, payment status changes, matching.
    LedgerWrite,
    /// Running imports and portal syncs.
    IntakeRun,
    /// Portal credentials, import profiles, text mappings.
    IntakeSettings,
    /// CSV exports of lists (audited with a reason).
    Export,
    /// Revealing a 個人番号 (My Number): the `my_number_handler` grant.
    MyNumberReveal,
    /// Registering or replacing a 個人番号: the grant on a role that writes the ledger.
    MyNumberWrite,
    /// The audit trail and its export.
    AuditRead,
    /// Users of the municipality (create, reset password, unlock, grants).
    UserAdmin,
    /// Municipality settings (issuer details printed on documents, retention).
    Settings,
    /// A partner's own orders (ship-to data they need, nothing else).
    PartnerOrders,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::Dashboard,
        Permission::LedgerRead,
        Permission::LedgerWrite,
        Permission::IntakeRun,
        Permission::IntakeSettings,
        Permission::Export,
        Permission::MyNumberReveal,
        Permission::MyNumberWrite,
        Permission::AuditRead,
        Permission::UserAdmin,
        Permission::Settings,
        Permission::PartnerOrders,
    ];
}

/// The role × permission matrix. `my_number_handler` is a grant on top of the role.
pub fn allows(role: Role, my_number_handler: bool, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match p {
        Dashboard | LedgerRead => {
            matches!(role, City | CityAdmin | Operator | OperatorAdmin | Auditor)
        }
        LedgerWrite | IntakeRun => matches!(role, Operator | OperatorAdmin),
        IntakeSettings => matches!(role, OperatorAdmin),
        Export => matches!(role, City | CityAdmin | Operator | OperatorAdmin),
        MyNumberReveal => {
            my_number_handler && matches!(role, City | CityAdmin | Operator | OperatorAdmin)
        }
        MyNumberWrite => my_number_handler && matches!(role, Operator | OperatorAdmin),
        AuditRead => matches!(role, Auditor | CityAdmin),
        UserAdmin => matches!(role, CityAdmin | OperatorAdmin),
        Settings => matches!(role, CityAdmin | OperatorAdmin),
        PartnerOrders => matches!(role, Partner),
    }
}

/// The rule of one route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Access {
    /// No login (login page, static files, health).
    Public,
    /// Logged in, password checked, second factor still pending (the TOTP step itself).
    MfaPending,
    /// Any logged-in user (own account pages, logout).
    LoggedIn,
    /// Logged in with the permission.
    Perm(Permission),
}

/// Whether the route shows personal data (each successful view is audited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Audit {
    /// Nothing personal; writes are still audited automatically.
    None,
    /// A view of personal data: audited with the route's action name and the path id.
    PersonalView,
}

/// One registered route: its method, path, rule and audit action name.
#[derive(Clone, Debug, Serialize)]
pub struct RouteSpec {
    #[serde(serialize_with = "ser_method")]
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub audit: Audit,
    /// Stable action name used in the audit trail, e.g. `donor.view`.
    pub action: &'static str,
    /// JSON API route (401/403 as JSON instead of redirects and pages).
    pub api: bool,
}

fn ser_method<S: serde::Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

/// Collects routes with their rules and builds the guarded router. The list of specs is public
/// so that the access-matrix test can walk every route.
pub struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
    state: AppState,
}

impl Routes {
    pub fn new(state: AppState) -> Self {
        Routes {
            router: Router::new(),
            specs: Vec::new(),
            state,
        }
    }

    /// Registers `method_router` (built with `get(handler)`, `post(handler)` …; one method per call)
    /// at `path` with `access`.
    pub fn add(
        &mut self,
        method: Method,
        path: &'static str,
        access: Access,
        audit: Audit,
        action: &'static str,
        method_router: MethodRouter<AppState>,
    ) -> &mut Self {
        let spec = RouteSpec {
            method,
            path,
            access,
            audit,
            action,
            api: path.starts_with("/api/"),
        };
        let guarded = method_router.route_layer(axum::middleware::from_fn_with_state(
            (self.state.clone(), spec.clone()),
            guard,
        ));
        let router = std::mem::take(&mut self.router);
        self.router = router.route(path, guarded);
        self.specs.push(spec);
        self
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}

/// The authenticated user of a request, put in the request extensions by [`guard`].
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub role: Role,
    pub tenant: MunicipalityId,
    pub csrf_token: String,
    pub ip: IpAddr,
    pub session_hash: Vec<u8>,
}

impl CurrentUser {
    pub fn can(&self, p: Permission) -> bool {
        allows(self.role, self.user.my_number_handler, p)
    }

    /// The partner a partner user is scoped to.
    pub fn partner_id(&self) -> Option<Uuid> {
        if self.role == Role::Partner {
            self.user.partner_id
        } else {
            None
        }
    }

    /// An audit entry pre-filled with who and from where.
    pub fn audit(&self, action: &str) -> AuditEntry {
        AuditEntry {
            municipality_id: Some(self.tenant),
            user_id: Some(self.user.id),
            user_login: self.user.login.clone(),
            role: self.role.as_str().to_string(),
            ip: self.ip.to_string(),
            action: action.to_string(),
            detail: serde_json::json!({}),
            ..Default::default()
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Forbidden)
    }
}

/// The client address of a request (see [`client_ip`]), as an extractor.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(client_ip(state, &parts.headers, peer)))
    }
}

/// The client address: the socket peer, or the last `X-Forwarded-For` hop when `trust_proxy` is set.
pub fn client_ip(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    if state.settings.trust_proxy {
        // The right-most hop is the one our own reverse proxy appended; anything to its left was
        // sent by the client and cannot be trusted (it would let a client pick its IP address).
        if let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .rfind(|v| !v.trim().is_empty())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

fn deny(spec: &RouteSpec, err: AppError) -> Response {
    if spec.api {
        err.into_json_response()
    } else {
        err.into_response()
    }
}

fn to_login(spec: &RouteSpec, uri: &axum::http::Uri, notice: Option<&str>) -> Response {
    if spec.api {
        let body =
            serde_json::json!({"error": "Unauthorized", "message": "ログインしてください。"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let next = if spec.method == Method::GET {
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    } else {
        "/"
    };
    let mut target = format!("/login?next={}", urlencode(next));
    if let Some(n) = notice {
        target.push_str("&notice=");
        target.push_str(n);
    }
    Redirect::to(&target).into_response()
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The middleware behind every route (see the module doc).
pub async fn guard(
    State((state, spec)): State<(AppState, RouteSpec)>,
    params: RawPathParams,
    mut req: Request,
    next: Next,
) -> Response {
    if spec.access == Access::Public {
        return next.run(req).await;
    }
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = client_ip(&state, req.headers(), peer);
    let Some(token) = session::token_from_headers(req.headers()) else {
        return to_login(&spec, req.uri(), None);
    };
    let token_hash = session::hash_token(&token);
    let found = match furusato_db::sessions::find(&state.db, &token_hash).await {
        Ok(f) => f,
        Err(e) => return deny(&spec, e.into()),
    };
    let Some((sess, user)) = found else {
        return to_login(&spec, req.uri(), Some("expired"));
    };
    let now = furusato_db::now_utc();
    let idle = Duration::minutes(state.settings.session_idle_minutes);
    let absolute = Duration::hours(state.settings.session_absolute_hours);
    if now > sess.expires_at || now - sess.last_seen_at > idle || now - sess.created_at > absolute {
        let _ = furusato_db::sessions::delete(&state.db, &token_hash).await;
        return to_login(&spec, req.uri(), Some("timeout"));
    }
    if user.disabled || user.locked_until.is_some_and(|t| t > now) {
        let _ = furusato_db::sessions::delete(&state.db, &token_hash).await;
        return to_login(&spec, req.uri(), Some("locked"));
    }
    let Ok(role) = Role::parse(&user.role) else {
        return deny(&spec, AppError::Forbidden);
    };
    if !state.settings.ip_allowed(role, ip) {
        tracing::warn!(login = %user.login, %ip, "request from an address outside the role's allow-list");
        record_denial(&state, &user, role, ip, &spec, "access.ip_denied", &params).await;
        return deny(
            &spec,
            AppError::BadRequest(
                "このネットワークからは利用できません。許可された場所から接続してください。".into(),
            ),
        );
    }
    // Second factor: pending sessions may only reach the TOTP step (and logout).
    let mfa_ok = sess.mfa_passed || !user.totp_enabled;
    if !mfa_ok && spec.access != Access::MfaPending && spec.path != "/logout" {
        return if spec.api {
            deny(&spec, AppError::Forbidden)
        } else {
            Redirect::to("/login/totp").into_response()
        };
    }
    // Roles that must use TOTP are sent to enrolment until they have it.
    if mfa_ok
        && !user.totp_enabled
        && state.settings.totp_required(role)
        && !matches!(spec.path, "/account/totp" | "/logout" | "/account")
    {
        return if spec.api {
            deny(&spec, AppError::Forbidden)
        } else {
            Redirect::to("/account/totp?required=1").into_response()
        };
    }
    // An admin reset the password: nothing but the account page until it is changed.
    if mfa_ok
        && user.must_change_password
        && !matches!(spec.path, "/account" | "/account/password" | "/logout")
    {
        return if spec.api {
            deny(&spec, AppError::Forbidden)
        } else {
            Redirect::to("/account?must_change=1").into_response()
        };
    }
    if let Access::Perm(p) = spec.access
        && !allows(role, user.my_number_handler, p)
    {
        record_denial(&state, &user, role, ip, &spec, "access.denied", &params).await;
        return deny(&spec, AppError::Forbidden);
    }
    // CSRF: every state-changing request carries the session's token (form field, header or query).
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let (parts, body) = req.into_parts();
        let (ok, body) =
            session::check_csrf(&parts, body, &sess.csrf_token, state.settings.max_upload_mb).await;
        if !ok {
            record_denial(
                &state,
                &user,
                role,
                ip,
                &spec,
                "access.csrf_rejected",
                &params,
            )
            .await;
            return deny(&spec, AppError::Csrf);
        }
        req = Request::from_parts(parts, body);
    }
    // Idle timeout bookkeeping: refresh at most once a minute to spare the database.
    if now - sess.last_seen_at > Duration::minutes(1) {
        let _ = furusato_db::sessions::touch(&state.db, &token_hash, now).await;
    }
    let current = CurrentUser {
        tenant: user.tenant(),
        user,
        role,
        csrf_token: sess.csrf_token.clone(),
        ip,
        session_hash: token_hash,
    };
    req.extensions_mut().insert(current.clone());
    let response = next.run(req).await;

    let status = response.status();
    let handled = response.extensions().get::<Audited>().is_some();
    let audited = !handled && (unsafe_method || spec.audit == Audit::PersonalView);
    if audited && (status.is_success() || status.is_redirection()) {
        let target_id = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let entry = current
            .audit(spec.action)
            .target(target_kind(spec.action), target_id)
            .detail(serde_json::json!({
                "method": spec.method.as_str(),
                "route": matched.as_ref().map(|m| m.as_str()).unwrap_or(spec.path),
                "status": status.as_u16(),
            }));
        if let Err(e) = audit::record(&state.db, &entry).await {
            // The action happened; failing to record it is an incident the operators must see.
            tracing::error!(error = %e, action = spec.action, "audit record failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "操作の記録に失敗しました。管理者に連絡してください。".into(),
            );
        }
    }
    let mut response = response;
    // Pages and API answers with personal data must not be kept by shared browsers or proxies.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Put in a response's extensions by a handler that wrote its own, more detailed audit entry
/// (in the same transaction as its change), so that [`guard`] does not add a generic one.
#[derive(Clone, Copy, Debug)]
pub struct Audited;

/// Records a refused request (permission, CSRF, network) in the audit trail: probing other
/// roles' screens is itself worth an auditor's attention.
async fn record_denial(
    state: &AppState,
    user: &User,
    role: Role,
    ip: IpAddr,
    spec: &RouteSpec,
    action: &str,
    params: &RawPathParams,
) {
    let target_id = params
        .iter()
        .find(|(k, _)| *k == "id")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let entry = AuditEntry {
        municipality_id: Some(user.tenant()),
        user_id: Some(user.id),
        user_login: user.login.clone(),
        role: role.as_str().to_string(),
        ip: ip.to_string(),
        action: action.to_string(),
        target_kind: target_kind(spec.action).to_string(),
        target_id,
        detail: serde_json::json!({"method": spec.method.as_str(), "route": spec.path, "wanted": spec.action}),
        ..Default::default()
    };
    if let Err(e) = audit::record(&state.db, &entry).await {
        tracing::error!(error = %e, "audit record of a denied request failed");
    }
}

/// "donor.view" → "donor"
fn target_kind(action: &str) -> &str {
    action.split('.').next().unwrap_or(action)
}
