//! Named per-municipality counters (寄附番号 serials per fiscal year, receipt serials, …).
//! Incremented inside the caller's transaction, so a rolled-back import leaves no gap.

use crate::{DbResult, MunicipalityId, Tx, with_tx};

/// Reserves `n` consecutive values of counter `name` and returns the first one (counters start at 1).
pub async fn reserve(tx: &mut Tx, tenant: MunicipalityId, name: &str, n: i64) -> DbResult<i64> {
    debug_assert!(n > 0);
    const SQL: &str = "INSERT INTO counters (municipality_id, name, value) VALUES ($1, $2, $3) \
        ON CONFLICT (municipality_id, name) DO UPDATE SET value = counters.value + $3 \
        RETURNING value";
    let last: i64 = with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(name)
        .bind(n)
        .fetch_one(conn)
        .await?);
    Ok(last - n + 1)
}

/// The next value of counter `name`.
pub async fn next(tx: &mut Tx, tenant: MunicipalityId, name: &str) -> DbResult<i64> {
    reserve(tx, tenant, name, 1).await
}

/// The name of the 寄附番号 counter of a fiscal year.
pub fn donation_number_counter(fiscal_year: i32) -> String {
    format!("donation_number:{fiscal_year}")
}
