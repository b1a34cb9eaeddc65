//! The partner's screens (`/partner/orders`, `/partner/orders/{id}`): the gift lines of the
//! partner's own gifts with the address each must be shipped to.
//!
//! A partner (返礼品協力事業者) sees what shipping needs and nothing else of the donor: the
//! 寄附番号, the date, the gift and quantity, and the ship-to name, postal code, address and
//! phone (see [`furusato_db::partner_orders`] for how the ship-to is chosen). No e-mail, no birth
//! date, no amount. Lines of another partner or another city are "not found". Both screens show
//! names and addresses, so every successful view is audited (`partner_order.list`,
//! `partner_order.view`).
//!
//! A line whose donation was cancelled or refunded stays in the list with a badge, so that a
//! partner who already saw it learns not to ship it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use furusato_db::gifts;
use furusato_db::partner_orders::{self, PartnerOrderLine, ShipToSource};
use furusato_domain::{PaymentStatus, jst};
use uuid::Uuid;

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donations::{StatusBadge, status_badge};
use crate::routes::donors::{
    PER_PAGE, Pager, QueryParams, lenient_page, parse_id, phone_display, postal_display,
};
use crate::state::AppState;

/// Registers the partner screens.
pub fn register(r: &mut Routes) {
    let p = Access::Perm(Permission::PartnerOrders);
    r.add(
        Method::GET,
        "/partner/orders",
        p,
        Audit::PersonalView,
        "partner_order.list",
        get(list),
    );
    r.add(
        Method::GET,
        "/partner/orders/{id}",
        p,
        Audit::PersonalView,
        "partner_order.view",
        get(show),
    );
}

/// One line as the partner sees it.
pub struct OrderRow {
    pub id: Uuid,
    pub number: String,
    pub date: String,
    pub gift_code: String,
    pub gift_name: String,
    pub quantity: i64,
    pub name: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    /// Where the address comes from (for the detail page).
    pub source: &'static str,
    /// A badge only when the gift must not be shipped (取消, 返金済).
    pub stop: Option<StatusBadge>,
}

impl OrderRow {
    fn from_line(l: &PartnerOrderLine) -> OrderRow {
        let stop = matches!(
            PaymentStatus::parse(&l.payment_status),
            Ok(PaymentStatus::Cancelled | PaymentStatus::Refunded)
        )
        .then(|| status_badge(&l.payment_status));
        OrderRow {
            id: l.id,
            number: l.donation_number.clone(),
            date: jst::format_date_ja(l.donated_on),
            gift_code: l.gift_code.clone(),
            gift_name: l.gift_name.clone(),
            quantity: l.quantity,
            name: l.ship_to.name.clone(),
            postal_code: postal_display(&l.ship_to.postal_code),
            address: l.ship_to.address.clone(),
            phone: phone_display(&l.ship_to.phone),
            source: match l.ship_to.source {
                ShipToSource::Line => "返礼品ごとの送付先",
                ShipToSource::Donation => "寄附の送付先",
                ShipToSource::Donor => "寄附者の住所（送付先の指定なし）",
            },
            stop,
        }
    }
}

/// The partner of a partner user; a partner account without a partner sees nothing.
fn partner_of(user: &CurrentUser) -> AppResult<Uuid> {
    user.partner_id().ok_or(AppError::Forbidden)
}

async fn partner_name(state: &AppState, user: &CurrentUser, id: Uuid) -> AppResult<String> {
    Ok(gifts::partner(&state.db, user.tenant, id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default())
}

#[derive(Template, WebTemplate)]
#[template(path = "partner_orders.html")]
pub struct OrdersPage {
    layout: Layout,
    partner: String,
    rows: Vec<OrderRow>,
    pager: Pager,
}

/// `GET /partner/orders`
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<OrdersPage> {
    let pid = partner_of(&user)?;
    let p = QueryParams::parse(raw.as_deref());
    let page =
        partner_orders::list(&state.db, user.tenant, pid, lenient_page(&p), PER_PAGE).await?;
    let layout = Layout::new(&state, &user, "発注一覧", "/partner/orders").await;
    Ok(OrdersPage {
        layout,
        partner: partner_name(&state, &user, pid).await?,
        rows: page.items.iter().map(OrderRow::from_line).collect(),
        pager: Pager::new(&page, "/partner/orders", &[]),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "partner_order_show.html")]
pub struct OrderPage {
    layout: Layout,
    o: OrderRow,
}

/// `GET /partner/orders/{id}` — `id` is the gift line's id.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<OrderPage> {
    let pid = partner_of(&user)?;
    let id = parse_id(&id)?;
    let line = partner_orders::get(&state.db, user.tenant, pid, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let title = format!("発注明細 {}", line.donation_number);
    let layout = Layout::new(&state, &user, title, "/partner/orders").await;
    Ok(OrderPage {
        layout,
        o: OrderRow::from_line(&line),
    })
}
