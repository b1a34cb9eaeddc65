//! The few statements that differ between SQLite and PostgreSQL, and bulk-insert plumbing.
//! Everything engine-specific lives here, clearly marked.

use crate::args::Arg;
use crate::{DbResult, Tx, bind_values, with_tx};

/// SQLite allows 32,766 bound variables per statement, PostgreSQL 65,535; stay under both.
const MAX_BIND_VARS: usize = 30_000;

/// The most rows one statement takes: a power of two, at most [`MAX_ROWS_PER_STATEMENT`] and
/// within the bind-variable limit.
fn rows_per_statement(columns: usize) -> usize {
    let by_vars = (MAX_BIND_VARS / columns.max(1)).max(1);
    let cap = by_vars.min(MAX_ROWS_PER_STATEMENT);
    1 << cap.ilog2()
}

/// The size of the next statement for `left` rows: the largest power of two up to `cap`. Every
/// statement then has one of a handful of shapes per table, which both engines keep prepared
/// (sqlx's statement cache) instead of parsing and planning a new multi-thousand-parameter
/// statement for each batch's remainder.
fn chunk_len(left: usize, cap: usize) -> usize {
    (1 << left.ilog2()).min(cap)
}

/// Rows per multi-row `INSERT` at most (128 rows × 20 columns: large enough that the per-statement
/// cost vanishes, small enough to keep each prepared statement small).
const MAX_ROWS_PER_STATEMENT: usize = 128;

/// Inserts many rows with multi-row `INSERT … VALUES (…), (…)` statements inside `tx`.
/// `conflict` is appended verbatim (e.g. `ON CONFLICT DO NOTHING`). Returns rows affected.
///
/// The values are handed to the driver without copies, and the next statement is assembled
/// while the database runs the current one (on SQLite, its own thread).
pub async fn bulk_insert(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
    conflict: &str,
) -> DbResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let shape = InsertShape {
        table,
        columns,
        conflict,
        cap: rows_per_statement(columns.len()),
        sqlite: tx.backend() == crate::Backend::Sqlite,
    };
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    let mut next = Some(shape.statement(&mut rows, &mut left));
    let mut affected = 0;
    while let Some((sql, values)) = next.take() {
        let run = async {
            Ok::<u64, crate::DbError>(with_tx!(tx, |conn| bind_values!(
                sqlx::query(sqlx::AssertSqlSafe(sql)),
                values
            )
            .execute(conn)
            .await?
            .rows_affected()))
        };
        // Polled after `run` has handed its statement over.
        let assemble = async { (left > 0).then(|| shape.statement(&mut rows, &mut left)) };
        let (done, assembled) = futures::join!(run, assemble);
        affected += done?;
        next = assembled;
    }
    Ok(affected)
}

/// What every statement of one [`bulk_insert`] shares.
struct InsertShape<'a> {
    table: &'a str,
    columns: &'a [&'a str],
    conflict: &'a str,
    cap: usize,
    sqlite: bool,
}

impl InsertShape<'_> {
    /// The next statement: its SQL and its values, taken from `rows`.
    fn statement(
        &self,
        rows: &mut std::vec::IntoIter<Vec<Arg>>,
        left: &mut usize,
    ) -> (String, Vec<Arg>) {
        use std::fmt::Write;
        let n = chunk_len(*left, self.cap);
        *left -= n;
        let width = self.columns.len();
        let mut values = Vec::with_capacity(n * width);
        let mut sql = String::with_capacity(64 + n * width * 5);
        sql.push_str("INSERT INTO ");
        sql.push_str(self.table);
        sql.push_str(" (");
        sql.push_str(&self.columns.join(", "));
        sql.push_str(") VALUES ");
        for (i, row) in rows.by_ref().take(n).enumerate() {
            debug_assert_eq!(row.len(), width, "bulk_insert row width");
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (j, v) in row.into_iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                values.push(v);
                // SQLite resolves numbered parameters ($1, ?1) in time quadratic in their
                // count; plain `?` binds in order and is linear. PostgreSQL needs `$n`.
                if self.sqlite {
                    sql.push('?');
                } else {
                    let _ = write!(sql, "${}", values.len());
                }
            }
            sql.push(')');
        }
        if !self.conflict.is_empty() {
            sql.push(' ');
            sql.push_str(self.conflict);
        }
        (sql, values)
    }
}

/// Refreshes the query planner's statistics after a large load (ANALYZE; on PostgreSQL VACUUM
/// ANALYZE).
pub async fn analyze(db: &crate::Db) -> DbResult<()> {
    match db {
        crate::Db::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        // VACUUM also sets the visibility map, so capped counts become index-only scans.
        crate::Db::Postgres(pool) => {
            sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
        }
    }
    Ok(())
}

/// SQLite's non-unique secondary indexes of a table, as (name, CREATE statement): explicit
/// indexes have their SQL; unique constraints' autoindexes have NULL.
const SQLITE_SECONDARY_INDEXES: &str = "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
     AND tbl_name = $1 AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'";

/// The non-unique secondary indexes of `tables`, as (name, CREATE statement), read from the
/// database's own catalogue (so they always match the migrations).
async fn secondary_indexes(db: &crate::Db, tables: &[&str]) -> DbResult<Vec<(String, String)>> {
    let mut out = vec![];
    for t in tables {
        let rows: Vec<(String, String)> = match db {
            // SQLite: see SQLITE_SECONDARY_INDEXES.
            crate::Db::Sqlite(pool) => sqlx::query_as(
                SQLITE_SECONDARY_INDEXES,
            )
            .bind(*t)
            .fetch_all(pool)
            .await?,
            // PostgreSQL: skip primary keys and unique constraints.
            crate::Db::Postgres(pool) => sqlx::query_as(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() \
                 AND i.tablename = $1 AND i.indexdef NOT LIKE 'CREATE UNIQUE%'",
            )
            .bind(*t)
            .fetch_all(pool)
            .await?,
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Drops the secondary indexes of `tables` for a large load and returns what is needed to put
/// them back with [`restore_indexes`]. Building an index once after the load is much faster than
/// updating it row by row. Only for loads into tables nobody else is writing (demo, benchmarks).
pub async fn drop_secondary_indexes(
    db: &crate::Db,
    tables: &[&str],
) -> DbResult<Vec<(String, String)>> {
    let indexes = secondary_indexes(db, tables).await?;
    for (name, _) in &indexes {
        let sql = format!("DROP INDEX {name}");
        crate::with_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await?
            .rows_affected());
    }
    Ok(indexes)
}

/// Re-creates indexes saved by [`drop_secondary_indexes`].
pub async fn restore_indexes(db: &crate::Db, indexes: Vec<(String, String)>) -> DbResult<()> {
    for (_, sql) in indexes {
        crate::with_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// [`drop_secondary_indexes`] inside a transaction, for SQLite only (returns nothing to restore
/// on PostgreSQL, where `DROP INDEX` would lock the tables against every reader until the
/// commit). For a load that at least doubles the tables: SQLite's readers keep seeing the
/// indexes (and the rows) of the last commit, and a rollback brings the indexes back.
pub async fn drop_secondary_indexes_in(
    tx: &mut crate::Tx,
    tables: &[&str],
) -> DbResult<Vec<(String, String)>> {
    let crate::Tx::Sqlite(conn) = tx else {
        return Ok(Vec::new());
    };
    let mut indexes: Vec<(String, String)> = Vec::new();
    for t in tables {
        let rows: Vec<(String, String)> = sqlx::query_as(SQLITE_SECONDARY_INDEXES)
            .bind(*t)
            .fetch_all(&mut **conn)
            .await?;
        indexes.extend(rows);
    }
    for (name, _) in &indexes {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&mut **conn)
            .await?;
    }
    Ok(indexes)
}

/// Re-creates, inside the transaction, indexes saved by [`drop_secondary_indexes_in`].
pub async fn restore_indexes_in(
    tx: &mut crate::Tx,
    indexes: Vec<(String, String)>,
) -> DbResult<()> {
    for (_, sql) in indexes {
        crate::with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// Drops the indexes `names` (those that exist) for a bulk load written in many transactions,
/// recording each one's `CREATE INDEX` statement in `deferred_indexes` in the same transaction.
/// [`restore_deferred_indexes`] builds them again at the end of the load or, if the load never
/// got there (a crash, a killed process), at the next start of furusato ([`crate::Db::migrate`]).
/// `by` says who deferred them (kept in the table for an operator who looks).
///
/// SQLite only: on PostgreSQL it does nothing and returns no names. Readers meanwhile search
/// without these indexes, so only loads that at least double the tables use it.
pub async fn defer_indexes(db: &crate::Db, names: &[&str], by: &str) -> DbResult<Vec<String>> {
    if db.backend() != crate::Backend::Sqlite {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let mut deferred = Vec::new();
    let now = crate::now_utc();
    {
        let crate::Tx::Sqlite(conn) = &mut tx else {
            unreachable!("checked above")
        };
        for name in names {
            let sql: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1 AND sql IS NOT NULL",
            )
            .bind(*name)
            .fetch_optional(&mut **conn)
            .await?;
            let Some(sql) = sql else { continue };
            sqlx::query(
                "INSERT INTO deferred_indexes (name, definition, deferred_by, deferred_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(*name)
            .bind(&sql)
            .bind(by)
            .bind(now)
            .execute(&mut **conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
                .execute(&mut **conn)
                .await?;
            deferred.push((*name).to_string());
        }
    }
    tx.commit().await?;
    Ok(deferred)
}

/// Builds every index listed in `deferred_indexes` (see [`defer_indexes`]) and empties the list,
/// in one transaction. Returns the names built. Cheap when the list is empty (one read, no lock).
pub async fn restore_deferred_indexes(db: &crate::Db) -> DbResult<Vec<String>> {
    let crate::Db::Sqlite(pool) = db else {
        return Ok(Vec::new());
    };
    const LIST: &str = "SELECT name, definition FROM deferred_indexes ORDER BY name";
    let pending: Vec<(String, String)> = sqlx::query_as(LIST).fetch_all(pool).await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let crate::Tx::Sqlite(conn) = &mut tx else {
        unreachable!("a SQLite database gives SQLite transactions")
    };
    // Read again under the write lock: another process may have built them meanwhile. Reading
    // a table also makes this connection notice a schema another connection changed, which
    // `CREATE INDEX` alone would not (it would see a dropped index as still there).
    let pending: Vec<(String, String)> = sqlx::query_as(LIST).fetch_all(&mut **conn).await?;
    let mut built = Vec::new();
    for (name, definition) in pending {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1",
        )
        .bind(&name)
        .fetch_one(&mut **conn)
        .await?;
        if exists == 0 {
            sqlx::query(sqlx::AssertSqlSafe(definition))
                .execute(&mut **conn)
                .await?;
            built.push(name);
        }
    }
    sqlx::query("DELETE FROM deferred_indexes")
        .execute(&mut **conn)
        .await?;
    tx.commit().await?;
    Ok(built)
}

/// Rows of `table`, all tenants (what rebuilding one of its indexes reads).
pub async fn table_rows(tx: &mut crate::Tx, table: &str) -> DbResult<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(crate::with_tx!(tx, |conn| sqlx::query_scalar(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_one(conn)
    .await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_come_in_a_few_shapes() {
        // 20 columns: at most 128 rows a statement; 1,400 rows = 10 × 128 + 64 + 32 + 16 + 8.
        let cap = rows_per_statement(20);
        assert_eq!(cap, 128);
        let mut left = 1_400;
        let mut sizes = Vec::new();
        while left > 0 {
            let n = chunk_len(left, cap);
            sizes.push(n);
            left -= n;
        }
        assert_eq!(sizes.iter().sum::<usize>(), 1_400);
        assert_eq!(&sizes[9..], &[128, 64, 32, 16, 8]);
        // Wide rows stay under the bind-variable limit.
        let wide = rows_per_statement(400);
        assert!(wide * 400 <= MAX_BIND_VARS && wide.is_power_of_two());
        assert_eq!(rows_per_statement(100_000), 1);
    }
}
