//! A partner's view of the ledger: the donation lines (donation_items) whose gift belongs to the
//! partner, with the one address the gift must be shipped to.
//!
//! A partner (返礼品協力事業者) sees only what shipping needs: the 寄附番号, the date, the gift and
//! quantity, and the ship-to name, postal code, address and phone. Every query filters on the
//! municipality *and* on the partner (through `gifts.partner_id`), so a line of another partner or
//! another city is simply not found.
//!
//! The ship-to of a line is, in order: the line's own ship-to (`donation_items.ship_to_id`), the
//! donation's first ship-to (lowest `seq`), or — when the donation has none — the donor's own
//! name, address and phone (a donor who sends the gift to themself).

use serde::Serialize;
use time::Date;
use uuid::Uuid;

use crate::donors::{Page, TOTAL_CAP};
use crate::{Db, DbResult, MunicipalityId, with_db};

/// Where the ship-to of a line comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipToSource {
    /// The line names its own ship-to.
    Line,
    /// The donation's first ship-to.
    Donation,
    /// The donation has no ship-to: the donor's own address.
    Donor,
}

/// The address a gift goes to, as the partner needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartnerShipTo {
    pub name: String,
    /// 7 digits, or '' when unknown.
    pub postal_code: String,
    /// The whole address (prefecture first), as printed on a label.
    pub address: String,
    pub phone: String,
    pub source: ShipToSource,
}

/// One gift line of a partner.
#[derive(Clone, Debug, Serialize)]
pub struct PartnerOrderLine {
    /// `donation_items.id`
    pub id: Uuid,
    pub donation_id: Uuid,
    pub donation_number: String,
    /// 寄附日 (the day the donation was made: the order's date for the partner).
    pub donated_on: Date,
    /// `furusato_domain::PaymentStatus::as_str()` of the donation (cancelled lines are not shipped).
    pub payment_status: String,
    pub line_no: i64,
    /// The gift code as received, or the master's code when none was received.
    pub gift_code: String,
    pub gift_name: String,
    pub quantity: i64,
    pub ship_to: PartnerShipTo,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    donation_id: Uuid,
    donation_number: String,
    donated_on: Date,
    payment_status: String,
    line_no: i64,
    gift_code: String,
    master_code: String,
    gift_name: String,
    quantity: i64,
    line_name: Option<String>,
    line_postal: Option<String>,
    line_address: Option<String>,
    line_phone: Option<String>,
    first_name: Option<String>,
    first_postal: Option<String>,
    first_address: Option<String>,
    first_phone: Option<String>,
    family_name: String,
    given_name: String,
    donor_postal: String,
    prefecture: String,
    city: String,
    address1: String,
    address2: String,
    donor_phone: String,
}

impl Row {
    fn into_line(self) -> PartnerOrderLine {
        let ship_to = if let Some(name) = self.line_name {
            PartnerShipTo {
                name,
                postal_code: self.line_postal.unwrap_or_default(),
                address: self.line_address.unwrap_or_default(),
                phone: self.line_phone.unwrap_or_default(),
                source: ShipToSource::Line,
            }
        } else if let Some(name) = self.first_name {
            PartnerShipTo {
                name,
                postal_code: self.first_postal.unwrap_or_default(),
                address: self.first_address.unwrap_or_default(),
                phone: self.first_phone.unwrap_or_default(),
                source: ShipToSource::Donation,
            }
        } else {
            let name = if self.given_name.is_empty() {
                self.family_name
            } else {
                format!("{} {}", self.family_name, self.given_name)
            };
            let mut address = format!("{}{}{}", self.prefecture, self.city, self.address1);
            if !self.address2.is_empty() {
                address.push(' ');
                address.push_str(&self.address2);
            }
            PartnerShipTo {
                name,
                postal_code: self.donor_postal,
                address,
                phone: self.donor_phone,
                source: ShipToSource::Donor,
            }
        };
        PartnerOrderLine {
            id: self.id,
            donation_id: self.donation_id,
            donation_number: self.donation_number,
            donated_on: self.donated_on,
            payment_status: self.payment_status,
            line_no: self.line_no,
            gift_code: if self.gift_code.is_empty() {
                self.master_code
            } else {
                self.gift_code
            },
            gift_name: self.gift_name,
            quantity: self.quantity,
            ship_to,
        }
    }
}

/// The joins shared by [`list`] and [`get`]; `$1` is the municipality, `$2` the partner.
const FROM: &str = "FROM donation_items i \
    JOIN gifts g ON g.id = i.gift_id AND g.municipality_id = $1 \
    JOIN donations x ON x.id = i.donation_id AND x.municipality_id = $1 \
    JOIN donors d ON d.id = x.donor_id AND d.municipality_id = $1 \
    LEFT JOIN ship_tos s1 ON s1.id = i.ship_to_id AND s1.municipality_id = $1 \
    LEFT JOIN ship_tos s2 ON s2.donation_id = x.id AND s2.municipality_id = $1 \
        AND s2.seq = (SELECT MIN(s3.seq) FROM ship_tos s3 WHERE s3.donation_id = x.id) \
    WHERE i.municipality_id = $1 AND g.partner_id = $2";

const SELECT: &str = "SELECT i.id, i.donation_id, x.donation_number, x.donated_on, x.payment_status, \
    i.line_no, i.gift_code, g.code AS master_code, i.name AS gift_name, i.quantity, \
    s1.name AS line_name, s1.postal_code AS line_postal, s1.address AS line_address, s1.phone AS line_phone, \
    s2.name AS first_name, s2.postal_code AS first_postal, s2.address AS first_address, s2.phone AS first_phone, \
    d.family_name, d.given_name, d.postal_code AS donor_postal, d.prefecture, d.city, d.address1, d.address2, \
    d.phone AS donor_phone";

/// The partner's lines, newest donation first; `page` is 1-based.
pub async fn list(
    db: &Db,
    tenant: MunicipalityId,
    partner_id: Uuid,
    page: u32,
    per_page: u32,
) -> DbResult<Page<PartnerOrderLine>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM donation_items i JOIN gifts g ON g.id = i.gift_id \
         AND g.municipality_id = $1 WHERE i.municipality_id = $1 AND g.partner_id = $2 LIMIT {}) t",
        TOTAL_CAP + 1
    );
    let total: i64 = with_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        count_sql.clone()
    ))
    .bind(tenant.0)
    .bind(partner_id)
    .fetch_one(pool)
    .await?);
    let offset = (page as i64 - 1) * per_page as i64;
    let sql = format!(
        "{SELECT} {FROM} ORDER BY x.donated_on DESC, x.id DESC, i.line_no LIMIT {per_page} OFFSET {offset}"
    );
    let rows = with_db!(db, |pool| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(tenant.0)
    .bind(partner_id)
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items: rows.into_iter().map(Row::into_line).collect(),
        page,
        per_page,
        total: total.min(TOTAL_CAP),
        total_capped: total > TOTAL_CAP,
    })
}

/// One line of the partner, or None when it does not exist, belongs to another partner or to
/// another municipality.
pub async fn get(
    db: &Db,
    tenant: MunicipalityId,
    partner_id: Uuid,
    item_id: Uuid,
) -> DbResult<Option<PartnerOrderLine>> {
    let sql = format!("{SELECT} {FROM} AND i.id = $3");
    let row = with_db!(db, |pool| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(tenant.0)
    .bind(partner_id)
    .bind(item_id)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(Row::into_line))
}
