//! `GET /api/v1/donations` (filtered list, donors masked) and `GET /api/v1/donations/{id}`
//! (everything, with gift lines and ship-tos; audited).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use furusato_db::donations::{self, Donation};
use furusato_db::donors;
use furusato_domain::PaymentStatus;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ErrorBody, api_id, bad_request, iso_date, paging, rfc3339};
use crate::access::CurrentUser;
use crate::error::{ApiError, AppError};
use crate::routes::donations::{DonationForm, donation_route_label};
use crate::routes::donors::{QueryParams, masked_name};
use crate::state::AppState;

/// Filters of the donation list; all given filters must match.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: the handler reads the query leniently and checks each value
pub struct DonationListParams {
    /// 寄附日 from (inclusive), YYYY-MM-DD.
    #[param(format = Date, example = "2026-04-01")]
    from: Option<String>,
    /// 寄附日 to (inclusive), YYYY-MM-DD.
    #[param(format = Date, example = "2027-03-31")]
    to: Option<String>,
    /// Portal code (`rakuten`, `choice`, `satofull`, `furunavi`, `au_pay`, `ana`, `other`), or
    /// `direct` for donations without a portal.
    #[param(example = "rakuten")]
    portal: Option<String>,
    /// `unpaid`, `paid`, `refunded` or `cancelled`.
    #[param(example = "paid")]
    payment_status: Option<String>,
    /// `portal`, `bank_transfer`, `postal_transfer`, `payment_slip`, `counter` or `other`.
    #[param(example = "portal")]
    channel: Option<String>,
    /// Page, from 1 (default 1).
    #[param(minimum = 1, maximum = 10000)]
    page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// A donation in a list.
#[derive(Serialize, ToSchema)]
pub struct DonationSummary {
    pub id: Uuid,
    /// 寄附番号.
    #[schema(example = "2026-0000001")]
    pub donation_number: String,
    /// 寄附日, YYYY-MM-DD.
    #[schema(format = Date, example = "2026-12-24")]
    pub donated_on: String,
    /// Channel code (`portal`, `bank_transfer`, …).
    #[schema(example = "portal")]
    pub channel: String,
    /// Portal code, null for direct donations.
    #[schema(example = "rakuten")]
    pub portal: Option<String>,
    /// The portal's label, or the channel's for direct donations.
    #[schema(example = "楽天ふるさと納税")]
    pub route_label: String,
    /// The portal's own order number.
    #[schema(example = "123456-20261224-0000000001")]
    pub external_id: Option<String>,
    /// Yen; null while the amount is not fixed.
    #[schema(example = 10000)]
    pub amount: Option<i64>,
    /// `unpaid`, `paid`, `refunded` or `cancelled`.
    #[schema(example = "paid")]
    pub payment_status: String,
    /// 未入金, 入金済, 返金済, 取消.
    #[schema(example = "入金済")]
    pub payment_status_label: String,
    /// 受領日, YYYY-MM-DD, null until paid.
    #[schema(format = Date, example = "2026-12-26")]
    pub received_on: Option<String>,
    /// The donor asked for the ワンストップ特例 form.
    pub onestop_wanted: bool,
}

fn status_label(code: &str) -> String {
    PaymentStatus::parse(code)
        .map(|s| s.label_ja().to_string())
        .unwrap_or_else(|_| code.to_string())
}

impl DonationSummary {
    pub fn from_donation(x: &Donation) -> DonationSummary {
        DonationSummary {
            id: x.id,
            donation_number: x.donation_number.clone(),
            donated_on: iso_date(x.donated_on),
            channel: x.channel.clone(),
            portal: x.portal.clone(),
            route_label: donation_route_label(&x.channel, x.portal.as_deref()),
            external_id: x.external_id.clone(),
            amount: x.amount,
            payment_status: x.payment_status.clone(),
            payment_status_label: status_label(&x.payment_status),
            received_on: x.received_on.map(iso_date),
            onestop_wanted: x.onestop_wanted,
        }
    }
}

/// A donation in the list, with its donor (masked).
#[derive(Serialize, ToSchema)]
pub struct DonationListItem {
    pub id: Uuid,
    #[schema(example = "2026-0000001")]
    pub donation_number: String,
    #[schema(format = Date, example = "2026-12-24")]
    pub donated_on: String,
    pub donor_id: Uuid,
    /// The donor's name, masked: `山田 ＊＊`.
    #[schema(example = "山田 ＊＊")]
    pub donor_name: String,
    #[schema(example = "portal")]
    pub channel: String,
    #[schema(example = "rakuten")]
    pub portal: Option<String>,
    #[schema(example = "楽天ふるさと納税")]
    pub route_label: String,
    pub external_id: Option<String>,
    /// Yen; null while the amount is not fixed.
    #[schema(example = 10000)]
    pub amount: Option<i64>,
    #[schema(example = "paid")]
    pub payment_status: String,
    #[schema(example = "入金済")]
    pub payment_status_label: String,
    #[schema(format = Date, example = "2026-12-26")]
    pub received_on: Option<String>,
    pub onestop_wanted: bool,
}

/// A page of donations, newest first.
#[derive(Serialize, ToSchema)]
pub struct DonationList {
    pub items: Vec<DonationListItem>,
    /// This page (1-based).
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
    /// Matching donations; counting stops at 10,000 (see `total_capped`).
    pub total: i64,
    /// `true` when more than `total` donations match.
    pub total_capped: bool,
    /// Whether a next page exists.
    pub has_next: bool,
}

/// Lists donations (donors masked).
#[utoipa::path(
    get,
    path = "/api/v1/donations",
    operation_id = "list_donations",
    tag = "donations",
    params(DonationListParams),
    responses(
        (status = 200, description = "寄附の一覧（新しい順）", body = DonationList),
        (status = 400, description = "条件が正しくない（日付の形式など）", body = ErrorBody),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 403, description = "権限がない", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<DonationList>, ApiError> {
    let p = QueryParams::parse(raw.as_deref());
    let (page, per_page) = paging(&p)?;
    let filter = DonationForm::from_params(&p)
        .to_filter()
        .map_err(|e| bad_request(e.join(" ")))?;
    let result = donations::list(&state.db, user.tenant, &filter, page, per_page).await?;
    Ok(Json(DonationList {
        items: result
            .items
            .iter()
            .map(|x| DonationListItem {
                id: x.id,
                donation_number: x.donation_number.clone(),
                donated_on: iso_date(x.donated_on),
                donor_id: x.donor_id,
                donor_name: masked_name(&x.family_name, &x.given_name),
                channel: x.channel.clone(),
                portal: x.portal.clone(),
                route_label: donation_route_label(&x.channel, x.portal.as_deref()),
                external_id: x.external_id.clone(),
                amount: x.amount,
                payment_status: x.payment_status.clone(),
                payment_status_label: status_label(&x.payment_status),
                received_on: x.received_on.map(iso_date),
                onestop_wanted: x.onestop_wanted,
            })
            .collect(),
        page: result.page,
        per_page: result.per_page,
        total: result.total,
        total_capped: result.total_capped,
        has_next: result.has_next(),
    }))
}

/// A gift line of a donation.
#[derive(Serialize, ToSchema)]
pub struct DonationItemOut {
    pub id: Uuid,
    #[schema(example = 1)]
    pub line_no: i64,
    /// The gift master, when the line was matched to one.
    pub gift_id: Option<Uuid>,
    /// The gift code as received.
    #[schema(example = "SD0001")]
    pub gift_code: String,
    #[schema(example = "仙台牛 サーロイン 500g")]
    pub name: String,
    #[schema(example = 1)]
    pub quantity: i64,
    /// Yen for the line, when known.
    pub amount: Option<i64>,
    /// The ship-to of this line, when it names one.
    pub ship_to_id: Option<Uuid>,
}

/// Where a donation's gifts go.
#[derive(Serialize, ToSchema)]
pub struct ShipToOut {
    pub id: Uuid,
    #[schema(example = 1)]
    pub seq: i64,
    pub name: String,
    pub kana: String,
    /// 7 digits, or "" when unknown.
    #[schema(example = "9800811")]
    pub postal_code: String,
    pub address: String,
    pub phone: String,
}

/// Every field of a donation.
#[derive(Serialize, ToSchema)]
pub struct DonationDetail {
    pub id: Uuid,
    #[schema(example = "2026-0000001")]
    pub donation_number: String,
    pub donor_id: Uuid,
    #[schema(example = "portal")]
    pub channel: String,
    #[schema(example = "rakuten")]
    pub portal: Option<String>,
    #[schema(example = "楽天ふるさと納税")]
    pub route_label: String,
    pub external_id: Option<String>,
    /// Yen; null while the amount is not fixed.
    #[schema(example = 10000)]
    pub amount: Option<i64>,
    /// 寄附日, YYYY-MM-DD.
    #[schema(format = Date, example = "2026-12-24")]
    pub donated_on: String,
    /// 受領日, YYYY-MM-DD, null until paid.
    #[schema(format = Date)]
    pub received_on: Option<String>,
    /// 申込日時, RFC 3339.
    #[schema(format = DateTime)]
    pub applied_at: Option<String>,
    /// `credit_card`, `bank_transfer`, …
    #[schema(example = "credit_card")]
    pub payment_method: String,
    #[schema(example = "paid")]
    pub payment_status: String,
    #[schema(example = "入金済")]
    pub payment_status_label: String,
    /// 使い道 as chosen by the donor ("" when none).
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub items: Vec<DonationItemOut>,
    pub ship_tos: Vec<ShipToOut>,
}

/// One donation with its gift lines and ship-tos. Each successful call is recorded in the audit
/// trail (`donation.view`).
#[utoipa::path(
    get,
    path = "/api/v1/donations/{id}",
    operation_id = "get_donation",
    tag = "donations",
    params(("id" = Uuid, Path, description = "寄附のID")),
    responses(
        (status = 200, description = "寄附の全情報（操作記録に残ります）", body = DonationDetail),
        (status = 401, description = "ログインしていない", body = ErrorBody),
        (status = 403, description = "権限がない", body = ErrorBody),
        (status = 404, description = "寄附が見つからない", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DonationDetail>, ApiError> {
    let id = api_id(&id)?;
    let db = &state.db;
    let x = donations::get(db, user.tenant, id)
        .await?
        .ok_or(ApiError(AppError::NotFound))?;
    // The donor belongs to the same municipality; a missing one means broken data, not a 404.
    donors::get(db, user.tenant, x.donor_id)
        .await?
        .ok_or_else(|| {
            ApiError(AppError::Other(anyhow::anyhow!(
                "donation without its donor"
            )))
        })?;
    let items = donations::items(db, user.tenant, id).await?;
    let ship_tos = donations::ship_tos(db, user.tenant, id).await?;
    Ok(Json(DonationDetail {
        id: x.id,
        donation_number: x.donation_number.clone(),
        donor_id: x.donor_id,
        route_label: donation_route_label(&x.channel, x.portal.as_deref()),
        channel: x.channel,
        portal: x.portal,
        external_id: x.external_id,
        amount: x.amount,
        donated_on: iso_date(x.donated_on),
        received_on: x.received_on.map(iso_date),
        applied_at: x.applied_at.map(rfc3339),
        payment_method: x.payment_method,
        payment_status_label: status_label(&x.payment_status),
        payment_status: x.payment_status,
        use_of_funds: x.use_of_funds,
        onestop_wanted: x.onestop_wanted,
        receipt_wanted: x.receipt_wanted,
        gift_declined: x.gift_declined,
        note: x.note,
        created_at: rfc3339(x.created_at),
        updated_at: rfc3339(x.updated_at),
        items: items
            .into_iter()
            .map(|i| DonationItemOut {
                id: i.id,
                line_no: i.line_no,
                gift_id: i.gift_id,
                gift_code: i.gift_code,
                name: i.name,
                quantity: i.quantity,
                amount: i.amount,
                ship_to_id: i.ship_to_id,
            })
            .collect(),
        ship_tos: ship_tos
            .into_iter()
            .map(|s| ShipToOut {
                id: s.id,
                seq: s.seq,
                name: s.name,
                kana: s.kana,
                postal_code: s.postal_code,
                address: s.address,
                phone: s.phone,
            })
            .collect(),
    }))
}
