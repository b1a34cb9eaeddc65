//! Storage for furusato: one [`Db`] handle over SQLite (the embedded default) or PostgreSQL.
//!
//! Every query is written once, in the SQL subset both engines understand (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT … DO UPDATE`, no `ILIKE`, no arrays, no JSON operators), and the
//! [`with_db!`] / [`with_tx!`] macros expand the same body once per driver, so the compiler checks it
//! against both. The few statements that must differ live in [`dialect`].
//!
//! Dialect rules (see docs/ARCHITECTURE.md):
//! - ids are UUIDv7 and timestamps are made in Rust ([`new_id`], [`now_utc`]), never by the database;
//! - money is `BIGINT` yen; every integer column is `BIGINT` on PostgreSQL so rows decode to `i64` on both;
//! - aggregate sums are written `CAST(COALESCE(SUM(x), 0) AS BIGINT)` (PostgreSQL sums to NUMERIC);
//! - every table that holds city data has `municipality_id`, and every query filters on it
//!   (functions take a [`MunicipalityId`]).

pub mod args;
pub mod audit;
pub mod counters;
pub mod dashboard;
pub mod dialect;
pub mod donations;
pub mod donors;
pub mod erasure;
pub mod error;
pub mod export;
pub mod gifts;
pub mod imports;
pub mod intake_sync;
pub mod jobs;
pub mod matching;
pub mod municipalities;
pub mod partner_orders;
pub mod reference;
pub mod retention;
pub mod sessions;
pub mod source_records;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod users;
pub mod vault;
pub mod writer;

pub use writer::{DedicatedWriter, WRITER_CACHE_KIB, WRITER_CHECKPOINT_PAGES};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;
use uuid::Uuid;

pub use error::{DbError, DbResult};

/// The database handle: a pool for one of the two supported engines. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction on either engine. Commit with [`Tx::commit`]; dropping it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Which engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Runs `$body` with `$pool` bound to the driver's pool; the body is compiled once per engine.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut *Connection`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// The tenant: every row of city data belongs to one municipality.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct MunicipalityId(pub Uuid);

impl std::fmt::Display for MunicipalityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A new time-ordered id (UUIDv7).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Now, in UTC, truncated to microseconds so it round-trips through both engines unchanged.
pub fn now_utc() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

/// Options for opening the database.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub max_connections: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 8 }
    }
}

impl Db {
    /// Opens `url`: `sqlite://path/to/file.db` (created if missing; WAL, foreign keys on),
    /// `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
    pub async fn connect(url: &str) -> DbResult<Db> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: ConnectOptions) -> DbResult<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl {
                reason: e.to_string(),
            })?;
            Self::connect_postgres(options, opts).await
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::BadUrl {
                    reason: e.to_string(),
                })?
                .create_if_missing(true);
            Self::connect_sqlite(options, opts).await
        } else {
            Err(DbError::BadUrl {
                reason: "the database URL must start with sqlite:// or postgres://".into(),
            })
        }
    }

    /// Opens a SQLite database with the settings furusato relies on.
    pub async fn connect_sqlite(
        options: SqliteConnectOptions,
        opts: ConnectOptions,
    ) -> DbResult<Db> {
        let options = options
            // 8 KiB pages for new databases (existing ones keep their size). Measured on the 2-core
            // machine, 8 KiB against 32 KiB: a 1,000,000-row CSV import 81.6 s / 83.3 s, a
            // 1,000,000-order sync 234.5 s / 243.9 s, the 1,000,000-donation demo 74 s / 139 s,
            // worst search p99 10.3 ms / 17.3 ms (4 KiB made a 300,000-row import 43 s against
            // 26 s: every page a huge transaction reads back is looked up in the WAL index).
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db::Sqlite(pool))
    }

    pub async fn connect_postgres(options: PgConnectOptions, opts: ConnectOptions) -> DbResult<Db> {
        // Search and list screens bind values whose selectivity differs by orders of magnitude
        // (payment status 'paid' vs 'refunded', a one-letter kana prefix vs a full name). A cached
        // generic plan picks one access path for all of them; planning each execution costs well
        // under a millisecond and keeps every screen on the right index.
        let options = options.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db::Postgres(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every pending migration of this engine.
    pub async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(pool) => sqlite_migrator().run(pool).await?,
            Db::Postgres(pool) => postgres_migrator().run(pool).await?,
        }
        // A bulk load that stopped before the end left indexes dropped: build them now.
        let built = dialect::restore_deferred_indexes(self).await?;
        if !built.is_empty() {
            tracing::warn!(
                indexes = %built.join(", "),
                "built the indexes an interrupted bulk load had left dropped"
            );
        }
        Ok(())
    }

    /// Migration status: (applied, known to this binary). Applied > known means the database is
    /// newer than the program.
    pub async fn migration_status(&self) -> DbResult<MigrationStatus> {
        let known: Vec<i64> = match self {
            Db::Sqlite(_) => sqlite_migrator().iter().map(|m| m.version).collect(),
            Db::Postgres(_) => postgres_migrator().iter().map(|m| m.version).collect(),
        };
        const HAS_TABLE_SQLITE: &str =
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
        const HAS_TABLE_PG: &str = "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'";
        let has_table: i64 = match self {
            Db::Sqlite(pool) => sqlx::query_scalar(HAS_TABLE_SQLITE).fetch_one(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(HAS_TABLE_PG).fetch_one(pool).await?,
        };
        let applied: Vec<i64> = if has_table > 0 {
            const SQL: &str =
                "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version";
            with_db!(self, |pool| sqlx::query_scalar(SQL).fetch_all(pool).await?)
        } else {
            Vec::new()
        };
        let pending = known.iter().filter(|v| !applied.contains(v)).count();
        let unknown = applied.iter().filter(|v| !known.contains(v)).count();
        Ok(MigrationStatus {
            applied: applied.len(),
            known: known.len(),
            pending,
            unknown,
        })
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the write lock is taken
    /// up front and concurrent writers wait (busy_timeout) instead of failing on upgrade.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Is the database reachable? Used by `doctor` and the health endpoint.
    pub async fn ping(&self) -> DbResult<()> {
        let _: i64 = with_db!(self, |pool| sqlx::query_scalar("SELECT 1")
            .fetch_one(pool)
            .await?);
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }

    /// A connection of its own for a long job that writes in many transactions one after the
    /// other (the 楽天 sync), see [`writer`], on a SQLite file;
    /// `None` where the shared pool serves as well (PostgreSQL, in-memory SQLite). The caller
    /// closes it with [`DedicatedWriter::close`] when the job ends.
    pub async fn dedicated_writer(&self) -> DbResult<Option<DedicatedWriter>> {
        let Db::Sqlite(pool) = self else {
            return Ok(None);
        };
        let options = pool.connect_options();
        if !options.get_filename().is_file() {
            return Ok(None);
        }
        Ok(Some(DedicatedWriter::open(&options).await?))
    }
}

impl Tx {
    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// How far the database schema is from this program's migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: usize,
    pub known: usize,
    pub pending: usize,
    pub unknown: usize,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.pending == 0 && self.unknown == 0
    }
}

fn sqlite_migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations/sqlite")
}

fn postgres_migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations/postgres")
}
