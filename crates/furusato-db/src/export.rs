//! Row streams for the CSV exports: every donation or donor matching a list screen's filters,
//! read from a database cursor one row at a time (`fetch()`), never collected. The CSV writing,
//! encodings and audit live in `furusato-intake::export`.
//!
//! Donations come with their donor and their gift lines by a `LEFT JOIN`, so a donation with two
//! gift lines arrives as two adjacent rows (same 寄附番号); the order `donated_on, id` guarantees the
//! adjacency on both engines, and the consumer folds them into one CSV line.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::{Args, prefix_end};
use crate::donations::DonationFilter;
use crate::donors::DonorSearch;
use crate::{Db, DbError, DbResult, MunicipalityId, bind_args, with_db};

/// Rows the SQLite worker thread may queue ahead of the export (sqlx's default is 50).
pub const SQLITE_EXPORT_ROW_BUFFER: usize = 2048;

/// The connection an export reads through (see [`ExportReader::open`]).
pub struct ExportReader {
    db: Db,
    own_pool: bool,
}

impl ExportReader {
    /// SQLite: a dedicated one-connection pool on the same database file whose row buffer holds
    /// [`SQLITE_EXPORT_ROW_BUFFER`] rows. sqlx runs SQLite on a worker thread that hands rows over
    /// one by one; with its default buffer of 50 the reader wakes for nearly every row, and those
    /// thread switches cost more than the query. With a deep buffer the exporter takes rows in
    /// batches (see `furusato-intake::export`). PostgreSQL (and an in-memory SQLite database):
    /// the pool itself.
    pub async fn open(db: &Db) -> DbResult<ExportReader> {
        if let Db::Sqlite(pool) = db {
            // The export's one statement runs for seconds by design: no "slow statement" warning.
            let options =
                sqlx::ConnectOptions::disable_statement_logging((*pool.connect_options()).clone());
            if options.get_filename() != std::path::Path::new(":memory:") {
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .connect_with(options.row_buffer_size(SQLITE_EXPORT_ROW_BUFFER))
                    .await
                    .map_err(DbError::Connect)?;
                return Ok(ExportReader {
                    db: Db::Sqlite(pool),
                    own_pool: true,
                });
            }
        }
        Ok(ExportReader {
            db: db.clone(),
            own_pool: false,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the dedicated connection (a no-op for a shared pool).
    pub async fn close(self) {
        if self.own_pool {
            self.db.close().await;
        }
    }
}
use furusato_domain::{kana, normalize};

/// Implements `FromRow` for both engines by column position (the fields in the order of the
/// query's select list) instead of by name: a million rows × 27 columns of name look-ups cost
/// more than the rest of the decoding.
macro_rules! from_row_by_position {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $ty {
            #[allow(unused_assignments)]
            fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
                let mut i = 0usize;
                Ok($ty { $($field: { let v = sqlx::Row::try_get(row, i)?; i += 1; v },)+ })
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $ty {
            #[allow(unused_assignments)]
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                let mut i = 0usize;
                Ok($ty { $($field: { let v = sqlx::Row::try_get(row, i)?; i += 1; v },)+ })
            }
        }
    };
}

/// One row of the donation export query: a donation, its donor and at most one of its gift lines.
/// Field order = the query's select list (see [`from_row_by_position`]). The donor's name, reading
/// and address come pre-joined by the database: every column is a value the SQLite worker copies
/// and hands over, so fewer columns is a faster export.
#[derive(Clone, Debug, Serialize)]
pub struct DonationExportRow {
    /// 寄附番号 (unique per municipality; also what groups the gift lines of a donation).
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
    /// "family given" (trim it: one part may be empty).
    pub name: String,
    /// "family_kana given_kana" (trim it).
    pub kana: String,
    pub postal_code: String,
    /// Prefecture + city + address1, then " " + address2 when there is one.
    pub address: String,
    pub phone: String,
    pub email: String,
    /// Gift line (NULL when the donation has none).
    pub line_no: Option<i64>,
    pub gift_code: Option<String>,
    pub quantity: Option<i64>,
}

from_row_by_position!(DonationExportRow {
    donation_number,
    portal,
    external_id,
    channel,
    donated_on,
    received_on,
    amount,
    payment_status,
    payment_method,
    use_of_funds,
    onestop_wanted,
    donor_id,
    name,
    kana,
    postal_code,
    address,
    phone,
    email,
    line_no,
    gift_code,
    quantity,
});

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
        "SELECT x.donation_number, x.portal, x.external_id, x.channel, x.donated_on, x.received_on, \
         x.amount, x.payment_status, x.payment_method, x.use_of_funds, x.onestop_wanted, x.donor_id, \
         d.family_name || ' ' || d.given_name, d.family_kana || ' ' || d.given_kana, d.postal_code, \
         CASE WHEN d.address2 = '' THEN d.prefecture || d.city || d.address1 \
              ELSE d.prefecture || d.city || d.address1 || ' ' || d.address2 END, \
         d.phone, d.email, i.line_no, i.gift_code, i.quantity \
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

/// One row of the donor export. Field order = the query's select list.
#[derive(Clone, Debug, Serialize)]
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

from_row_by_position!(DonorExportRow {
    id,
    family_name,
    given_name,
    family_kana,
    given_kana,
    postal_code,
    prefecture,
    city,
    address1,
    address2,
    phone,
    email,
    sex,
    birth_date,
    merged_into_id,
    created_at,
});

/// The WHERE clause of a donor export: the same criteria as the donor search screen
/// (`donors::search`; keep the two in step), or every unmerged donor when `s` is empty.
pub fn donor_conditions(tenant: MunicipalityId, s: &DonorSearch, args: &mut Args) -> String {
    let mut w = vec![format!("d.municipality_id = {}", args.uuid(tenant.0))];
    if !s.include_merged {
        // Literally the partial indexes' condition, so the planner uses them.
        w.push("d.merged_into_id IS NULL".into());
    }
    if let Some(k) = s
        .kana
        .as_deref()
        .map(kana::normalize_kana)
        .filter(|k| !k.is_empty())
    {
        let lo = args.text(k.clone());
        let hi = args.text(prefix_end(&k));
        w.push(format!("d.kana_norm >= {lo} AND d.kana_norm < {hi}"));
    }
    if let Some(n) = s
        .name
        .as_deref()
        .map(normalize::normalize_name)
        .filter(|n| !n.is_empty())
    {
        let lo = args.text(n.clone());
        let hi = args.text(prefix_end(&n));
        w.push(format!("d.name_norm >= {lo} AND d.name_norm < {hi}"));
    }
    if let Some(p) = s
        .postal_code
        .as_deref()
        .map(normalize::normalize_digits)
        .filter(|p| !p.is_empty())
    {
        if p.len() == 7 {
            w.push(format!("d.postal_code = {}", args.text(p)));
        } else {
            let lo = args.text(p.clone());
            let hi = args.text(prefix_end(&p));
            w.push(format!("d.postal_code >= {lo} AND d.postal_code < {hi}"));
        }
    }
    if let Some(p) = s
        .phone
        .as_deref()
        .map(normalize::normalize_digits)
        .filter(|p| !p.is_empty())
    {
        let lo = args.text(p.clone());
        let hi = args.text(prefix_end(&p));
        w.push(format!("d.phone_digits >= {lo} AND d.phone_digits < {hi}"));
    }
    if let Some(n) = s
        .donation_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let n = normalize::normalize_name(n);
        let t = args.uuid(tenant.0);
        let v = args.text(n);
        w.push(format!(
            "d.id IN (SELECT x.donor_id FROM donations x WHERE x.municipality_id = {t} AND x.donation_number = {v} \
             UNION SELECT x.donor_id FROM donations x WHERE x.municipality_id = {t} AND x.external_id = {v})"
        ));
    }
    w.join(" AND ")
}

/// Every donor matching `s` (all unmerged donors when `s` is empty), ordered by フリガナ then id
/// (the partial index on unmerged donors' フリガナ gives that order without sorting). With merged
/// donors included there is no such index, and sorting a whole table would hold it in memory, so
/// the order is then the id's (creation order).
pub fn donor_rows<'a>(
    db: &'a Db,
    tenant: MunicipalityId,
    s: &DonorSearch,
) -> BoxStream<'a, DbResult<DonorExportRow>> {
    let mut args = Args::new();
    let wh = donor_conditions(tenant, s, &mut args);
    let order = if s.include_merged {
        "d.id"
    } else {
        "d.kana_norm, d.id"
    };
    let sql = format!(
        "SELECT d.id, d.family_name, d.given_name, d.family_kana, d.given_kana, d.postal_code, d.prefecture, \
         d.city, d.address1, d.address2, d.phone, d.email, d.sex, d.birth_date, d.merged_into_id, d.created_at \
         FROM donors d WHERE {wh} ORDER BY {order}"
    );
    with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, DonorExportRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch(pool)
    .map_err(DbError::from)
    .boxed())
}
