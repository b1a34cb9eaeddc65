//! The JSON API under `/api/v1`, documented with OpenAPI (utoipa).
//!
//! Routes are registered in the same route table as the screens ([`register`] calls
//! [`Routes::add`]), so the same guard applies: the session cookie `furusato_session`, the role's
//! permission, and the audit of personal-data views (`donor.view`, `donation.view`). Errors of
//! the guard and of the handlers are JSON: `{"error": "Not Found", "message": "…"}` with a
//! Japanese message ([`ErrorBody`]).
//!
//! Conventions: amounts are integers (yen) or `null` while not fixed; dates are ISO
//! `YYYY-MM-DD` (JST calendar dates); timestamps RFC 3339 in JST; codes (portal, channel,
//! payment_status) are the stored snake_case codes, with the Japanese label beside them where a
//! client shows them. Lists are masked exactly like the screens' lists
//! ([`crate::routes::donors`]); detail endpoints return everything and are audited.
//!
//! The OpenAPI document is served at `/api/v1/openapi.json` ([`ApiDoc`]); a test checks that
//! every `/api/` route of the table is documented and the other way round.

pub mod donations;
pub mod donors;
pub mod postal;

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::access::{Access, Audit, Permission, Routes};
use crate::error::{ApiError, AppError};
use crate::routes::donors::QueryParams;

/// Registers every API route.
pub fn register(r: &mut Routes) {
    let read = Access::Perm(Permission::LedgerRead);
    let g = || Method::GET;
    r.add(
        g(),
        "/api/v1/donors",
        read,
        Audit::None,
        "donor.search",
        get(donors::search),
    );
    r.add(
        g(),
        "/api/v1/donors/{id}",
        read,
        Audit::PersonalView,
        "donor.view",
        get(donors::show),
    );
    r.add(
        g(),
        "/api/v1/donations",
        read,
        Audit::None,
        "donation.list",
        get(donations::list),
    );
    r.add(
        g(),
        "/api/v1/donations/{id}",
        read,
        Audit::PersonalView,
        "donation.view",
        get(donations::show),
    );
    r.add(
        g(),
        "/api/v1/postal/{code}",
        Access::LoggedIn,
        Audit::None,
        "postal.lookup",
        get(postal::lookup),
    );
    r.add(
        g(),
        "/api/v1/openapi.json",
        Access::LoggedIn,
        Audit::None,
        "api.openapi",
        get(openapi_json),
    );
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP reason phrase, e.g. `Bad Request`, `Unauthorized`, `Not Found`.
    #[schema(example = "Bad Request")]
    pub error: String,
    /// What went wrong, in Japanese, for the person using the client.
    #[schema(example = "寄附日（開始）: 存在しない日付です。")]
    pub message: String,
}

/// The OpenAPI document of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "furusato API",
        description = "ふるさと納税業務システムの参照用API。ログイン済みのセッション（Cookie `furusato_session`）で利用します。\
一覧の個人情報は画面と同じく一部を伏せて返し、詳細の取得は操作記録に残ります。金額は円単位の整数、日付は YYYY-MM-DD です。"
    ),
    paths(
        donors::search,
        donors::show,
        donations::list,
        donations::show,
        postal::lookup,
        openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SessionCookie),
    security(("session" = [])),
    tags(
        (name = "donors", description = "寄附者"),
        (name = "donations", description = "寄附"),
        (name = "reference", description = "参照データ（郵便番号）"),
        (name = "meta", description = "APIの説明"),
    )
)]
pub struct ApiDoc;

/// Adds the session cookie as the security scheme.
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::COOKIE,
                "ログイン画面で発行されるセッションCookie",
            ))),
        );
    }
}

/// The OpenAPI document (built once).
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc
    })
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "get_openapi",
    tag = "meta",
    responses(
        (status = 200, description = "OpenAPI 3.1 の文書", content_type = "application/json"),
        (status = 401, description = "ログインしていない", body = ErrorBody),
    )
)]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi())
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the endpoints

/// Default and largest `per_page`.
pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// A 400 with a Japanese message.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(AppError::BadRequest(message.into()))
}

/// `page` and `per_page`, strictly: a value that is not a number in range is a 400.
pub fn paging(p: &QueryParams) -> Result<(u32, u32), ApiError> {
    let page = match p.get("page") {
        None => 1,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=crate::routes::donors::MAX_PAGE).contains(n))
            .ok_or_else(|| bad_request("page は1以上の整数（10000まで）で指定してください。"))?,
    };
    let per_page = match p.get("per_page") {
        None => DEFAULT_PER_PAGE,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| {
                bad_request(format!(
                    "per_page は1〜{MAX_PER_PAGE}の整数で指定してください。"
                ))
            })?,
    };
    Ok((page, per_page))
}

/// A path id for the API: anything that is not a UUID is not found (as for the screens).
pub fn api_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id).map_err(|_| ApiError(AppError::NotFound))
}

/// "2026-12-24"
pub fn iso_date(d: time::Date) -> String {
    furusato_domain::jst::format_date_iso(d)
}

/// RFC 3339 in JST: "2026-12-24T13:05:00+09:00".
pub fn rfc3339(t: OffsetDateTime) -> String {
    furusato_domain::jst::to_jst(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}
