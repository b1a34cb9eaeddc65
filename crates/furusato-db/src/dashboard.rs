//! Figures for the dashboard. Every figure is one SQL aggregate over `donations`, so it can be
//! checked against the database by hand. Cancelled donations (取消) are left out of counts and amounts.

use serde::Serialize;
use time::Date;

use crate::{Db, DbResult, MunicipalityId, with_db};

/// Count and amount of one month ("2026-12").
#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct MonthFigure {
    pub month: String,
    pub count: i64,
    pub amount: i64,
}

/// Count and amount of one portal (None = direct donations).
#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct PortalFigure {
    pub portal: Option<String>,
    pub count: i64,
    pub amount: i64,
}

/// Donations per month with 寄附日 in `[from, to]`, excluding cancelled ones.
pub async fn by_month(
    db: &Db,
    tenant: MunicipalityId,
    from: Date,
    to: Date,
) -> DbResult<Vec<MonthFigure>> {
    const SQL: &str = "SELECT substr(CAST(donated_on AS TEXT), 1, 7) AS month, COUNT(*) AS count, \
        CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount FROM donations \
        WHERE municipality_id = $1 AND donated_on >= $2 AND donated_on <= $3 AND payment_status <> 'cancelled' \
        GROUP BY substr(CAST(donated_on AS TEXT), 1, 7) ORDER BY month";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, MonthFigure>(SQL)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?))
}

/// Donations per portal with 寄附日 in `[from, to]`, excluding cancelled ones, largest first.
pub async fn by_portal(
    db: &Db,
    tenant: MunicipalityId,
    from: Date,
    to: Date,
) -> DbResult<Vec<PortalFigure>> {
    const SQL: &str = "SELECT portal, COUNT(*) AS count, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount \
        FROM donations WHERE municipality_id = $1 AND donated_on >= $2 AND donated_on <= $3 \
        AND payment_status <> 'cancelled' GROUP BY portal ORDER BY amount DESC";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PortalFigure>(SQL)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?))
}

/// Number of donations with the given payment status (all dates).
pub async fn count_by_status(db: &Db, tenant: MunicipalityId, status: &str) -> DbResult<i64> {
    const SQL: &str =
        "SELECT COUNT(*) FROM donations WHERE municipality_id = $1 AND payment_status = $2";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(status)
        .fetch_one(pool)
        .await?))
}
