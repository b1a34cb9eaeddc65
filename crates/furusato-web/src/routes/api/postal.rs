//! `GET /api/v1/postal/{code}`: the address of a postal code, for filling address forms
//! (static/app.js reads `prefecture`, `city` and `town`). The look-up is
//! [`furusato_refdata::autofill`] over the imported 郵便番号 and 地方公共団体コード tables.

use axum::Json;
use axum::extract::{Path, State};
use furusato_domain::PostalCode;
use furusato_refdata::RefDataError;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ErrorBody, bad_request};
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// What a postal code tells about an address.
#[derive(Serialize, ToSchema, Debug, PartialEq, Eq)]
pub struct Autofill {
    /// 7 digits.
    #[schema(example = "9800811")]
    pub postal_code: String,
    /// 都道府県 ("" in the rare case the code spans two prefectures).
    #[schema(example = "宮城県")]
    pub prefecture: String,
    /// 市区町村 as written in addresses; "" when the code spans several municipalities (or the
    /// 政令市 when it spans several of its wards).
    #[schema(example = "仙台市青葉区")]
    pub city: String,
    /// 町域; "" when the code covers several towns or the whole municipality.
    #[schema(example = "一番町")]
    pub town: String,
    #[schema(example = "ミヤギケン")]
    pub prefecture_kana: String,
    #[schema(example = "センダイシアオバク")]
    pub city_kana: String,
    #[schema(example = "イチバンチョウ")]
    pub town_kana: String,
    /// 地方公共団体コード (6 digits) of `city` — the ward for a 政令市 ward — when the
    /// local-government list is loaded.
    #[schema(example = "041017")]
    pub local_gov_code: Option<String>,
    /// 地方公共団体コード of the municipality an address here belongs to for 申告特例通知 (the
    /// 政令市 for one of its wards).
    #[schema(example = "041009")]
    pub residence_city_code: Option<String>,
    /// How many (市区町村, 町域) pairs the code covers; more than 1 means the user must complete
    /// the address.
    #[schema(example = 1)]
    pub candidates: usize,
}

impl From<furusato_refdata::Autofill> for Autofill {
    fn from(a: furusato_refdata::Autofill) -> Self {
        Autofill {
            postal_code: a.postal_code,
            prefecture: a.prefecture,
            city: a.city,
            town: a.town,
            prefecture_kana: a.prefecture_kana,
            city_kana: a.city_kana,
            town_kana: a.town_kana,
            local_gov_code: a.local_gov_code,
            residence_city_code: a.residence_city_code,
            candidates: a.candidates,
        }
    }
}

/// The address of a postal code.
#[utoipa::path(
    get,
    path = "/api/v1/postal/{code}",
    operation_id = "lookup_postal_code",
    tag = "reference",
    params(("code" = String, Path, description = "郵便番号（7桁。ハイフンあり・なし）", example = "980-0811")),
    responses(
        (status = 200, description = "郵便番号の住所", body = Autofill),
        (status = 400, description = "郵便番号の形式が正しくない", body = ErrorBody),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 404, description = "郵便番号が見つからない", body = ErrorBody),
    )
)]
pub async fn lookup(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Autofill>, ApiError> {
    let code = PostalCode::parse(&code).map_err(|e| bad_request(e.message_ja()))?;
    let found = furusato_refdata::autofill(&state.db, &code)
        .await
        .map_err(|e| match e {
            RefDataError::Db(e) => ApiError(e.into()),
            other => ApiError(AppError::Other(anyhow::anyhow!(other))),
        })?;
    found
        .map(|a| Json(a.into()))
        .ok_or(ApiError(AppError::NotFound))
}
