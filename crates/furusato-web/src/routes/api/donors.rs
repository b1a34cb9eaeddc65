//! `GET /api/v1/donors` (masked search) and `GET /api/v1/donors/{id}` (full record, audited).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use furusato_db::{donations, donors};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ErrorBody, api_id, bad_request, iso_date, paging, rfc3339};
use crate::access::CurrentUser;
use crate::error::{ApiError, AppError};
use crate::routes::api::donations::DonationSummary;
use crate::routes::donors::{DonorForm, QueryParams, area, masked_kana, masked_name, masked_phone};
use crate::state::AppState;

/// Query parameters of the donor search. At least one criterion is required; all given criteria
/// must match (AND).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: the handler reads the query leniently and checks each value
pub struct DonorSearchParams {
    /// フリガナ, prefix match. Hiragana and half-width kana are accepted.
    #[param(example = "やまだ")]
    kana: Option<String>,
    /// 氏名 (family name first), prefix match.
    #[param(example = "山田")]
    name: Option<String>,
    /// 郵便番号, whole or leading digits, with or without hyphen.
    #[param(example = "980-0811")]
    postal_code: Option<String>,
    /// 電話番号, whole or leading digits, with or without hyphens.
    #[param(example = "090-1234")]
    phone: Option<String>,
    /// 寄附番号 or a portal's order number (e.g. 楽天's), exact.
    #[param(example = "2026-0000001")]
    donation_number: Option<String>,
    /// Page, from 1 (default 1).
    #[param(minimum = 1, maximum = 10000)]
    page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// A donor in a search result, masked like the screen's list.
#[derive(Serialize, ToSchema)]
pub struct DonorListItem {
    pub id: Uuid,
    /// Family name and a mask for the given name: `山田 ＊＊`.
    #[schema(example = "山田 ＊＊")]
    pub name: String,
    /// フリガナ masked the same way: `ヤマダ ＊＊`.
    #[schema(example = "ヤマダ ＊＊")]
    pub kana: String,
    /// 都道府県.
    #[schema(example = "宮城県")]
    pub prefecture: String,
    /// 市区町村.
    #[schema(example = "仙台市青葉区")]
    pub city: String,
    /// Prefecture and city together, as the screen shows them.
    #[schema(example = "宮城県仙台市青葉区")]
    pub area: String,
    /// Phone with its middle group masked: `090-****-5678` ("" when none).
    #[schema(example = "090-****-5678")]
    pub phone: String,
}

/// A page of donors.
#[derive(Serialize, ToSchema)]
pub struct DonorList {
    pub items: Vec<DonorListItem>,
    /// This page (1-based).
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
    /// Matching donors; counting stops at 10,000 (see `total_capped`).
    pub total: i64,
    /// `true` when more than `total` donors match.
    pub total_capped: bool,
    /// Whether a next page exists.
    pub has_next: bool,
}

/// Searches donors (masked list).
#[utoipa::path(
    get,
    path = "/api/v1/donors",
    operation_id = "search_donors",
    tag = "donors",
    params(DonorSearchParams),
    responses(
        (status = 200, description = "検索結果（個人情報は一部を伏せて返します）", body = DonorList),
        (status = 400, description = "検索条件がない、または正しくない", body = ErrorBody),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 403, description = "権限がない", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<DonorList>, ApiError> {
    let p = QueryParams::parse(raw.as_deref());
    let (page, per_page) = paging(&p)?;
    let criteria = DonorForm::from_params(&p)
        .to_search()
        .map_err(|e| bad_request(e.join(" ")))?;
    if criteria.is_empty() {
        return Err(bad_request(
            "検索条件（kana, name, postal_code, phone, donation_number）のいずれかを指定してください。",
        ));
    }
    let result = donors::search(&state.db, user.tenant, &criteria, page, per_page).await?;
    Ok(Json(DonorList {
        items: result
            .items
            .iter()
            .map(|d| DonorListItem {
                id: d.id,
                name: masked_name(&d.family_name, &d.given_name),
                kana: masked_kana(&d.family_kana, &d.given_kana),
                prefecture: d.prefecture.clone(),
                city: d.city.clone(),
                area: area(&d.prefecture, &d.city),
                phone: masked_phone(&d.phone),
            })
            .collect(),
        page: result.page,
        per_page: result.per_page,
        total: result.total,
        total_capped: result.total_capped,
        has_next: result.has_next(),
    }))
}

/// A donor's full record.
#[derive(Serialize, ToSchema)]
pub struct DonorDetail {
    pub id: Uuid,
    #[schema(example = "山田")]
    pub family_name: String,
    #[schema(example = "太郎")]
    pub given_name: String,
    #[schema(example = "ヤマダ")]
    pub family_kana: String,
    #[schema(example = "タロウ")]
    pub given_kana: String,
    /// 7 digits, or "" when unknown.
    #[schema(example = "9800811")]
    pub postal_code: String,
    #[schema(example = "宮城県")]
    pub prefecture: String,
    #[schema(example = "仙台市青葉区")]
    pub city: String,
    /// 町域・番地.
    #[schema(example = "一番町1-2-3")]
    pub address1: String,
    /// 建物名・部屋番号.
    #[schema(example = "")]
    pub address2: String,
    /// As stored (usually with hyphens).
    #[schema(example = "090-1234-5678")]
    pub phone: String,
    pub email: String,
    /// `male`, `female`, or null when not recorded.
    #[schema(example = "male")]
    pub sex: Option<String>,
    /// YYYY-MM-DD.
    #[schema(format = Date, example = "1980-03-01")]
    pub birth_date: Option<String>,
    /// Set when this record was merged into another donor.
    pub merged_into_id: Option<Uuid>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The donor's donations, newest first.
    pub donations: Vec<DonationSummary>,
}

/// One donor, with their donations. Each successful call is recorded in the audit trail
/// (`donor.view`).
#[utoipa::path(
    get,
    path = "/api/v1/donors/{id}",
    operation_id = "get_donor",
    tag = "donors",
    params(("id" = Uuid, Path, description = "寄附者のID")),
    responses(
        (status = 200, description = "寄附者の全情報（操作記録に残ります）", body = DonorDetail),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 403, description = "権限がない", body = ErrorBody),
        (status = 404, description = "寄附者が見つからない", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DonorDetail>, ApiError> {
    let id = api_id(&id)?;
    let d = donors::get(&state.db, user.tenant, id)
        .await?
        .ok_or(ApiError(AppError::NotFound))?;
    let list = donations::for_donor(&state.db, user.tenant, id).await?;
    Ok(Json(DonorDetail {
        id: d.id,
        family_name: d.family_name,
        given_name: d.given_name,
        family_kana: d.family_kana,
        given_kana: d.given_kana,
        postal_code: d.postal_code,
        prefecture: d.prefecture,
        city: d.city,
        address1: d.address1,
        address2: d.address2,
        phone: d.phone,
        email: d.email,
        sex: Some(d.sex).filter(|s| !s.is_empty()),
        birth_date: d.birth_date.map(iso_date),
        merged_into_id: d.merged_into_id,
        created_at: rfc3339(d.created_at),
        updated_at: rfc3339(d.updated_at),
        donations: list.iter().map(DonationSummary::from_donation).collect(),
    }))
}
