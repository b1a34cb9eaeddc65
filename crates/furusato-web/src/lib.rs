//! The web server: server-rendered Japanese screens (askama) and a JSON API (utoipa), on axum.
//!
//! Request flow: [`app`] builds the router from [`routes::routes`]; every route passes through
//! [`access::guard`] (session, timeouts, second factor, IP allow-list, permission, CSRF, audit),
//! then its handler, which reads the [`access::CurrentUser`] and calls `furusato-db` with the
//! user's municipality. Errors become Japanese pages ([`error::AppError`]).

pub mod access;
pub mod error;
pub mod mfa;
pub mod notices;
pub mod page;
pub mod password;
pub mod routes;
pub mod session;
pub mod settings;
pub mod state;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use access::RouteSpec;
pub use settings::WebSettings;
pub use state::AppState;

/// Content-Security-Policy: our own scripts and styles only, no inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'";

/// The complete application router and the list of its routes (for the access-matrix test).
pub fn app(state: AppState) -> (Router, Vec<RouteSpec>) {
    let tls = state.settings.tls;
    let (router, specs) = routes::routes(state.clone()).into_parts();
    let router = router
        .fallback(|| async { error::AppError::NotFound })
        .with_state(state)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| -> Response {
                // Never show a panic to the user (and never log its payload: it could hold data).
                tracing::error!("a request handler panicked");
                error::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "システムエラーが発生しました。時間をおいて再度お試しください。".into(),
                )
            },
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                // Log the path only: query strings may carry search terms (names, phone numbers).
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            if tls {
                Some(HeaderValue::from_static(
                    "max-age=31536000; includeSubDomains",
                ))
            } else {
                None
            },
        ));
    (router, specs)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (router, _) = app(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
