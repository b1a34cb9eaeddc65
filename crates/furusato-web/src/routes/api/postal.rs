//! `GET /api/v1/postal/{code}`: the address of a postal code, for filling address forms
//! (static/app.js reads `prefecture`, `city` and `town`).
//!
//! Reads the 郵便番号 reference table directly (`furusato_db::reference::postal_lookup`). When a
//! code covers several towns, `town` is "" and only what all of them share is returned.

use axum::extract::{Path, State};
use axum::Json;
use furusato_db::reference;
use furusato_domain::{LocalGovCode, PostalCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::{bad_request, ErrorBody};
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// What a postal code tells about an address.
#[derive(Serialize, ToSchema, Debug, PartialEq, Eq)]
pub struct Autofill {
    /// 7 digits.
    #[schema(example = "9800811")]
    pub postal_code: String,
    #[schema(example = "宮城県")]
    pub prefecture: String,
    /// 市区町村 ("" when the code spans several).
    #[schema(example = "仙台市青葉区")]
    pub city: String,
    /// 町域 ("" when the code covers several towns).
    #[schema(example = "一番町")]
    pub town: String,
    /// 地方公共団体コード (6 digits) of the city or ward, when the code lies in one.
    #[schema(example = "041017")]
    pub local_gov_code: Option<String>,
}

/// Builds the answer from the reference rows of one code (None when there are none).
pub fn autofill_from(code: &PostalCode, rows: &[reference::PostalRecord]) -> Option<Autofill> {
    let first = rows.first()?;
    let common = |f: fn(&reference::PostalRecord) -> &str| -> String {
        let v = f(first);
        if rows.iter().all(|r| f(r) == v) { v.to_string() } else { String::new() }
    };
    let mut town = common(|r| r.town.as_str());
    // KEN_ALL's placeholder for "the rest of the city" is not a town name.
    if town.contains("以下に掲載がない場合") {
        town.clear();
    }
    let code5 = common(|r| r.local_gov_code5.as_str());
    Some(Autofill {
        postal_code: code.as_str().to_string(),
        prefecture: common(|r| r.prefecture.as_str()),
        city: common(|r| r.city.as_str()),
        town,
        local_gov_code: LocalGovCode::from_code5(&code5).ok().map(|c| c.as_str().to_string()),
    })
}

/// The address of a postal code.
#[utoipa::path(
    get,
    path = "/api/v1/postal/{code}",
    tag = "reference",
    params(("code" = String, Path, description = "郵便番号（7桁。ハイフンあり・なし）", example = "980-0811")),
    responses(
        (status = 200, description = "郵便番号の住所", body = Autofill),
        (status = 400, description = "郵便番号の形式が正しくない", body = ErrorBody),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 404, description = "郵便番号が見つからない", body = ErrorBody),
    )
)]
pub async fn lookup(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<Autofill>, ApiError> {
    let code = PostalCode::parse(&code).map_err(|e| bad_request(e.message_ja()))?;
    let rows = reference::postal_lookup(&state.db, code.as_str()).await?;
    autofill_from(&code, &rows).map(Json).ok_or(ApiError(AppError::NotFound))
}
