//! Donations (寄附): the ledger. One row per donation from any channel, keyed for re-imports by
//! (portal, external id) and numbered with a 寄附番号 that every document prints.

use furusato_domain::jst;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::{Arg, Args};
use crate::donors::{Page, TOTAL_CAP};
use crate::{
    Db, DbError, DbResult, MunicipalityId, Tx, bind_args, counters, new_id, now_utc, with_db,
    with_tx,
};

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Donation {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub donor_id: Uuid,
    pub donation_number: String,
    /// `furusato_domain::Channel::as_str()`
    pub channel: String,
    /// `furusato_domain::Portal::as_str()`, None for direct donations
    pub portal: Option<String>,
    pub external_id: Option<String>,
    /// Yen; None while the amount is not fixed yet (楽天 -9999).
    pub amount: Option<i64>,
    /// 寄附日
    pub donated_on: Date,
    /// 受領日
    pub received_on: Option<Date>,
    pub applied_at: Option<OffsetDateTime>,
    pub payment_method: String,
    pub payment_status: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A donation to record. The 寄附番号 is assigned on insert.
#[derive(Clone, Debug, Serialize)]
pub struct NewDonation {
    pub donor_id: Uuid,
    pub channel: String,
    pub portal: Option<String>,
    pub external_id: Option<String>,
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub applied_at: Option<OffsetDateTime>,
    pub payment_method: String,
    pub payment_status: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
}

pub const COLUMNS: &str = "id, municipality_id, donor_id, donation_number, channel, portal, external_id, \
    amount, donated_on, received_on, applied_at, payment_method, payment_status, use_of_funds, \
    onestop_wanted, receipt_wanted, gift_declined, note, created_at, updated_at";

/// Where `donation_number` is in [`INSERT_COLUMNS`] (a planned row gets its number when written).
pub const NUMBER_COLUMN: usize = 3;
const _: () = assert!(same_str(INSERT_COLUMNS[NUMBER_COLUMN], "donation_number"));

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Column list for [`crate::dialect::bulk_insert`] matching [`insert_row`].
pub const INSERT_COLUMNS: [&str; 20] = [
    "id",
    "municipality_id",
    "donor_id",
    "donation_number",
    "channel",
    "portal",
    "external_id",
    "amount",
    "donated_on",
    "received_on",
    "applied_at",
    "payment_method",
    "payment_status",
    "use_of_funds",
    "onestop_wanted",
    "receipt_wanted",
    "gift_declined",
    "note",
    "created_at",
    "updated_at",
];

/// The 寄附番号 for serial `serial` of fiscal year `fy`: "2026-0001234".
pub fn format_donation_number(fy: i32, serial: i64) -> String {
    furusato_domain::DonationNumber::new(fy, serial as u32).to_string()
}

/// The bound values of one donation row, in [`INSERT_COLUMNS`] order.
pub fn insert_row(
    id: Uuid,
    tenant: MunicipalityId,
    donation_number: String,
    d: &NewDonation,
    now: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::Uuid(d.donor_id),
        Arg::Text(donation_number),
        Arg::Text(d.channel.clone()),
        Arg::OptText(d.portal.clone()),
        Arg::OptText(d.external_id.clone()),
        Arg::OptInt(d.amount),
        Arg::Date(d.donated_on),
        Arg::OptDate(d.received_on),
        Arg::OptTimestamp(d.applied_at),
        Arg::Text(d.payment_method.clone()),
        Arg::Text(d.payment_status.clone()),
        Arg::Text(d.use_of_funds.clone()),
        Arg::Bool(d.onestop_wanted),
        Arg::Bool(d.receipt_wanted),
        Arg::Bool(d.gift_declined),
        Arg::Text(d.note.clone()),
        Arg::Timestamp(now),
        Arg::Timestamp(now),
    ]
}

/// Reserves `n` 寄附番号 of the fiscal year of `donated_on`; returns the numbers in order.
pub async fn reserve_numbers(
    tx: &mut Tx,
    tenant: MunicipalityId,
    fiscal_year: i32,
    n: usize,
) -> DbResult<Vec<String>> {
    if n == 0 {
        return Ok(vec![]);
    }
    let first = counters::reserve(
        tx,
        tenant,
        &counters::donation_number_counter(fiscal_year),
        n as i64,
    )
    .await?;
    Ok((0..n as i64)
        .map(|i| format_donation_number(fiscal_year, first + i))
        .collect())
}

/// Inserts one donation inside `tx`, assigning its 寄附番号. Returns (id, 寄附番号).
pub async fn insert(
    tx: &mut Tx,
    tenant: MunicipalityId,
    d: &NewDonation,
) -> DbResult<(Uuid, String)> {
    let fy = jst::fiscal_year(d.donated_on);
    let number = reserve_numbers(tx, tenant, fy, 1).await?.remove(0);
    let id = new_id();
    let row = insert_row(id, tenant, number.clone(), d, now_utc());
    // DO NOTHING instead of a unique violation: on PostgreSQL a failed statement would abort the
    // caller's whole transaction.
    let n = crate::dialect::bulk_insert(
        tx,
        "donations",
        &INSERT_COLUMNS,
        vec![row],
        "ON CONFLICT (municipality_id, portal, external_id) DO NOTHING",
    )
    .await?;
    if n == 0 {
        return Err(DbError::Conflict(format!(
            "donation {} / {} already exists",
            d.portal.as_deref().unwrap_or("direct"),
            d.external_id.as_deref().unwrap_or("-")
        )));
    }
    Ok((id, number))
}

pub async fn get(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<Donation>> {
    let sql = format!("SELECT {COLUMNS} FROM donations WHERE municipality_id = $1 AND id = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Donation>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

/// The donation a portal record maps to, if it was imported before.
pub async fn find_by_external(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    external_id: &str,
) -> DbResult<Option<Donation>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM donations WHERE municipality_id = $1 AND portal = $2 AND external_id = $3"
    );
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, Donation>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .bind(external_id)
    .fetch_optional(conn)
    .await?))
}

pub async fn find_by_number(
    db: &Db,
    tenant: MunicipalityId,
    number: &str,
) -> DbResult<Option<Donation>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM donations WHERE municipality_id = $1 AND donation_number = $2"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Donation>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(number)
    .fetch_optional(pool)
    .await?))
}

/// Every donation of a donor, newest first.
pub async fn for_donor(db: &Db, tenant: MunicipalityId, donor_id: Uuid) -> DbResult<Vec<Donation>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM donations WHERE municipality_id = $1 AND donor_id = $2 \
         ORDER BY donated_on DESC, id DESC"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Donation>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(donor_id)
    .fetch_all(pool)
    .await?))
}

/// Filters of the donation list and of exports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DonationFilter {
    /// 寄附日 from (inclusive)
    pub from: Option<Date>,
    /// 寄附日 to (inclusive)
    pub to: Option<Date>,
    pub portal: Option<String>,
    pub payment_status: Option<String>,
    pub channel: Option<String>,
    pub donor_id: Option<Uuid>,
}

impl DonationFilter {
    /// Appends the WHERE conditions (on alias `x`) to `w`.
    pub fn conditions(&self, tenant: MunicipalityId, args: &mut Args) -> String {
        let mut w = vec![format!("x.municipality_id = {}", args.uuid(tenant.0))];
        if let Some(f) = self.from {
            w.push(format!("x.donated_on >= {}", args.date(f)));
        }
        if let Some(t) = self.to {
            w.push(format!("x.donated_on <= {}", args.date(t)));
        }
        if let Some(p) = self.portal.as_deref().filter(|p| !p.is_empty()) {
            if p == "direct" {
                w.push("x.portal IS NULL".into());
            } else {
                w.push(format!("x.portal = {}", args.text(p)));
            }
        }
        if let Some(s) = self.payment_status.as_deref().filter(|s| !s.is_empty()) {
            w.push(format!("x.payment_status = {}", args.text(s)));
        }
        if let Some(c) = self.channel.as_deref().filter(|c| !c.is_empty()) {
            w.push(format!("x.channel = {}", args.text(c)));
        }
        if let Some(d) = self.donor_id {
            w.push(format!("x.donor_id = {}", args.uuid(d)));
        }
        w.join(" AND ")
    }
}

/// One line of the donation list: the donation plus the donor's name for display (masked by the screen).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonationListRow {
    pub id: Uuid,
    pub donor_id: Uuid,
    pub donation_number: String,
    pub channel: String,
    pub portal: Option<String>,
    pub external_id: Option<String>,
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub payment_method: String,
    pub payment_status: String,
    pub onestop_wanted: bool,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
}

/// The filtered donation list, newest first; `page` is 1-based.
pub async fn list(
    db: &Db,
    tenant: MunicipalityId,
    filter: &DonationFilter,
    page: u32,
    per_page: u32,
) -> DbResult<Page<DonationListRow>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM donations x WHERE {wh} LIMIT {}) t",
        TOTAL_CAP + 1
    );
    let total: i64 = with_db!(db, |pool| bind_args!(
        sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)),
        args
    )
    .fetch_one(pool)
    .await?);
    let offset = (page as i64 - 1) * per_page as i64;
    // Page through the donations alone (index on donated_on), then join the few donors shown.
    let sql = format!(
        "SELECT x.id, x.donor_id, x.donation_number, x.channel, x.portal, x.external_id, x.amount, \
         x.donated_on, x.received_on, x.payment_method, x.payment_status, x.onestop_wanted, \
         d.family_name, d.given_name, d.family_kana, d.given_kana \
         FROM (SELECT * FROM donations x WHERE {wh} ORDER BY x.donated_on DESC, x.id DESC \
               LIMIT {per_page} OFFSET {offset}) x \
         JOIN donors d ON d.id = x.donor_id ORDER BY x.donated_on DESC, x.id DESC"
    );
    let items = with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, DonationListRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total: total.min(TOTAL_CAP),
        total_capped: total > TOTAL_CAP,
    })
}

/// Changes the payment status (入金消込, 返金, 取消) and the 受領日.
pub async fn set_payment(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    status: &str,
    received_on: Option<Date>,
) -> DbResult<()> {
    const SQL: &str = "UPDATE donations SET payment_status = $3, received_on = $4, updated_at = $5 \
        WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(status)
        .bind(received_on)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("donation"));
    }
    Ok(())
}

/// A gift line of a donation.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonationItem {
    pub id: Uuid,
    pub donation_id: Uuid,
    pub line_no: i64,
    pub gift_id: Option<Uuid>,
    pub gift_version_id: Option<Uuid>,
    pub gift_code: String,
    pub name: String,
    pub quantity: i64,
    pub amount: Option<i64>,
    pub ship_to_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default)]
pub struct NewDonationItem {
    pub gift_id: Option<Uuid>,
    pub gift_version_id: Option<Uuid>,
    pub gift_code: String,
    pub name: String,
    pub quantity: i64,
    pub amount: Option<i64>,
    pub ship_to_id: Option<Uuid>,
}

pub const ITEM_INSERT_COLUMNS: [&str; 11] = [
    "id",
    "municipality_id",
    "donation_id",
    "line_no",
    "gift_id",
    "gift_version_id",
    "gift_code",
    "name",
    "quantity",
    "amount",
    "ship_to_id",
];

pub fn item_insert_row(
    tenant: MunicipalityId,
    donation_id: Uuid,
    line_no: i64,
    it: &NewDonationItem,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(new_id()),
        Arg::Uuid(tenant.0),
        Arg::Uuid(donation_id),
        Arg::Int(line_no),
        Arg::OptUuid(it.gift_id),
        Arg::OptUuid(it.gift_version_id),
        Arg::Text(it.gift_code.clone()),
        Arg::Text(it.name.clone()),
        Arg::Int(it.quantity),
        Arg::OptInt(it.amount),
        Arg::OptUuid(it.ship_to_id),
    ]
}

pub async fn items(
    db: &Db,
    tenant: MunicipalityId,
    donation_id: Uuid,
) -> DbResult<Vec<DonationItem>> {
    const SQL: &str = "SELECT id, donation_id, line_no, gift_id, gift_version_id, gift_code, name, quantity, \
        amount, ship_to_id FROM donation_items WHERE municipality_id = $1 AND donation_id = $2 ORDER BY line_no";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, DonationItem>(SQL)
        .bind(tenant.0)
        .bind(donation_id)
        .fetch_all(pool)
        .await?))
}

/// Where a donation's gifts go.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct ShipTo {
    pub id: Uuid,
    pub donation_id: Uuid,
    pub seq: i64,
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub external_ref: String,
}

#[derive(Clone, Debug, Default)]
pub struct NewShipTo {
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub external_ref: String,
}

pub const SHIP_TO_INSERT_COLUMNS: [&str; 10] = [
    "id",
    "municipality_id",
    "donation_id",
    "seq",
    "name",
    "kana",
    "postal_code",
    "address",
    "phone",
    "external_ref",
];

pub fn ship_to_insert_row(
    id: Uuid,
    tenant: MunicipalityId,
    donation_id: Uuid,
    seq: i64,
    s: &NewShipTo,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::Uuid(donation_id),
        Arg::Int(seq),
        Arg::Text(s.name.clone()),
        Arg::Text(s.kana.clone()),
        Arg::Text(s.postal_code.clone()),
        Arg::Text(s.address.clone()),
        Arg::Text(s.phone.clone()),
        Arg::Text(s.external_ref.clone()),
    ]
}

pub async fn ship_tos(db: &Db, tenant: MunicipalityId, donation_id: Uuid) -> DbResult<Vec<ShipTo>> {
    const SQL: &str = "SELECT id, donation_id, seq, name, kana, postal_code, address, phone, external_ref \
        FROM ship_tos WHERE municipality_id = $1 AND donation_id = $2 ORDER BY seq";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, ShipTo>(SQL)
        .bind(tenant.0)
        .bind(donation_id)
        .fetch_all(pool)
        .await?))
}

/// Number of donations of a municipality.
pub async fn count(db: &Db, tenant: MunicipalityId) -> DbResult<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM donations WHERE municipality_id = $1";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .fetch_one(pool)
        .await?))
}
