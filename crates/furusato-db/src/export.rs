//! Row streams for the CSV exports: every donation or donor matching a list screen's filters,
//! read from a database cursor one row at a time (`fetch()`), never collected. The CSV writing,
//! encodings and audit live in `furusato-intake::export`.
//!
//! Donations come with their donor and their gift lines by a `LEFT JOIN`, so a donation with two
//! gift lines arrives as two adjacent rows (same `id`); the order `donated_on, id` guarantees the
//! adjacency on both engines, and the consumer folds them into one CSV line.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::{prefix_end, Args};
use crate::donations::DonationFilter;
use crate::donors::DonorSearch;
use crate::{bind_args, with_db, Db, DbError, DbResult, MunicipalityId};
use furusato_domain::{kana, normalize};

/// One row of the donation export query: a donation, its donor and at most one of its gift lines.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonationExportRow {
    pub id: Uuid,
    pub donation_number: String,
    pub portal: Option<String>,
    pub external_id: Option<String>,
    pub channel: String,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub amount: Option<i64>,
    pub payment_status: String,
    pub payment_method: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub donor_id: Uuid,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
    pub email: String,
    /// Gift line (NULL when the donation has none).
    pub line_no: Option<i64>,
    pub gift_code: Option<String>,
    pub quantity: Option<i64>,
}

/// Every donation matching `filter`, ordered by 寄附日 then id, with donor and gift lines (one row
/// per gift line; see the module doc). The stream holds one pooled connection until it ends.
pub fn donation_rows<'a>(
    db: &'a Db,
    tenant: MunicipalityId,
    filter: &DonationFilter,
) -> BoxStream<'a, DbResult<DonationExportRow>> {
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let sql = format!(
        "SELECT x.id, x.donation_number, x.portal, x.external_id, x.channel, x.donated_on, x.received_on, \
         x.amount, x.payment_status, x.payment_method, x.use_of_funds, x.onestop_wanted, x.donor_id, \
         d.family_name, d.given_name, d.family_kana, d.given_kana, d.postal_code, d.prefecture, d.city, \
         d.address1, d.address2, d.phone, d.email, i.line_no, i.gift_code, i.quantity \
         FROM donations x JOIN donors d ON d.id = x.donor_id \
         LEFT JOIN donation_items i ON i.donation_id = x.id \
         WHERE {wh} ORDER BY x.donated_on, x.id"
    );
    with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, DonationExportRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch(pool)
    .map_err(DbError::from)
    .boxed())
}

/// One row of the donor export.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonorExportRow {
    pub id: Uuid,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
    pub email: String,
    pub sex: String,
    pub birth_date: Option<Date>,
    pub merged_into_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// The WHERE clause of a donor export: the same criteria as the donor search screen
/// (`donors::search`; keep the two in step), or every unmerged donor when `s` is empty.
pub fn donor_conditions(tenant: MunicipalityId, s: &DonorSearch, args: &mut Args) -> String {
    let mut w = vec![format!("d.municipality_id = {}", args.uuid(tenant.0))];
    if !s.include_merged {
        w.push("d.merged_into_id IS NULL".into());
    }
    if let Some(k) = s.kana.as_deref().map(kana::normalize_kana).filter(|k| !k.is_empty()) {
        let lo = args.text(k.clone());
        let hi = args.text(prefix_end(&k));
        w.push(format!("d.kana_norm >= {lo} AND d.kana_norm < {hi}"));
    }
    if let Some(n) = s.name.as_deref().map(normalize::normalize_name).filter(|n| !n.is_empty()) {
        let lo = args.text(n.clone());
        let hi = args.text(prefix_end(&n));
        w.push(format!("d.name_norm >= {lo} AND d.name_norm < {hi}"));
    }
    if let Some(p) = s.postal_code.as_deref().map(normalize::normalize_digits).filter(|p| !p.is_empty()) {
        if p.len() == 7 {
            w.push(format!("d.postal_code = {}", args.text(p)));
        } else {
            let lo = args.text(p.clone());
            let hi = args.text(prefix_end(&p));
            w.push(format!("d.postal_code >= {lo} AND d.postal_code < {hi}"));
        }
    }
    if let Some(p) = s.phone.as_deref().map(normalize::normalize_digits).filter(|p| !p.is_empty()) {
        let lo = args.text(p.clone());
        let hi = args.text(prefix_end(&p));
        w.push(format!("d.phone_digits >= {lo} AND d.phone_digits < {hi}"));
    }
    if let Some(n) = s.donation_number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let n = normalize::normalize_name(n);
        let t = args.uuid(tenant.0);
        let v = args.text(n);
        w.push(format!(
            "d.id IN (SELECT x.donor_id FROM donations x WHERE x.municipality_id = {t} \
             AND (x.donation_number = {v} OR x.external_id = {v}))"
        ));
    }
    w.join(" AND ")
}

/// Every donor matching `s` (all unmerged donors when `s` is empty), ordered by フリガナ then id.
pub fn donor_rows<'a>(db: &'a Db, tenant: MunicipalityId, s: &DonorSearch) -> BoxStream<'a, DbResult<DonorExportRow>> {
    let mut args = Args::new();
    let wh = donor_conditions(tenant, s, &mut args);
    let sql = format!(
        "SELECT d.id, d.family_name, d.given_name, d.family_kana, d.given_kana, d.postal_code, d.prefecture, \
         d.city, d.address1, d.address2, d.phone, d.email, d.sex, d.birth_date, d.merged_into_id, d.created_at \
         FROM donors d WHERE {wh} ORDER BY d.kana_norm, d.id"
    );
    with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, DonorExportRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch(pool)
    .map_err(DbError::from)
    .boxed())
}
