//! Initial loads: a sync whose backlog more than doubles the ledger (a city's first sync, months
//! of orders after an outage) writes it without the indexes that only screens and matching read.
//!
//! **Why.** Each new donor lands at a random place in every donor-matching index, and each order
//! of a returning donor at a random place in the `donor_id` indexes of its source record and
//! donor source. A random insert dirties a page of its own, and every 5,000-order group writes
//! each dirtied page to the WAL and again at the checkpoint: in a 1,000,000-order sync these
//! pages were most of the 26–34 GB written, and the look-ups that read them a fifth of the time.
//!
//! **How.** When a window holds at least [`RunOptions::bulk_load_min_orders`](super::RunOptions)
//! orders and more than the ledger has donations (all municipalities: rebuilding an
//! index reads the whole table), the run, on a SQLite file with a connection of its own:
//! 1. drops the indexes of [`DEFERRED_INDEXES`] with [`furusato_db::dialect::defer_indexes`],
//!    which lists them in `deferred_indexes` in the same transaction;
//! 2. matches donors with a [`Matcher`] that holds the keys of every donor of the city, loaded
//!    once and kept up to date with the donors the run creates, instead of index look-ups;
//! 3. builds the indexes again when the run ends, whatever its outcome
//!    ([`furusato_db::dialect::restore_deferred_indexes`]). A run that never gets there (a crash,
//!    a killed process) leaves the list behind, and the next start of furusato builds them.
//!
//! **Decisions stay those of the normal path.** The matcher applies the same rules to the same
//! donors. It is read again from the database, before the next group, when another connection
//! has written (`PRAGMA data_version` changed: a person may have added or merged a donor), when
//! a group failed (its donors were rolled back) and when the run updated a donor's data.
//!
//! Meanwhile screens that search donors by name, フリガナ, postal code or phone, and a donor's
//! source history, read without those indexes: slower for the minutes the load takes, never
//! wrong. PostgreSQL keeps every index (its loads are not bound by one writer's page cache).

use furusato_db::{Backend, Db, DbResult, DedicatedWriter, MunicipalityId, Tx};

use crate::matching::Matcher;

/// The indexes an initial load builds at its end instead of row by row: those that receive
/// inserts at random places. `donations_donor` stays: the sync reads it to know whether a donor
/// has other donations.
pub const DEFERRED_INDEXES: [&str; 6] = [
    "donors_active_kana",
    "donors_active_name",
    "donors_active_postal_keys",
    "donors_active_phone",
    "source_records_donor",
    "donor_sources_donor",
];

/// Default of [`super::RunOptions::bulk_load_min_orders`]: below this a window is written with
/// every index in place (dropping and building them costs seconds).
pub const DEFAULT_BULK_LOAD_MIN_ORDERS: usize = 50_000;

/// The writer's page cache during an initial load, in KiB (instead of
/// [`furusato_db::WRITER_CACHE_KIB`]): without the random indexes most pages it writes are
/// appended, and the memory goes to the matcher.
pub const BULK_WRITER_CACHE_KIB: u32 = 32_768;

/// An initial load in progress: the matcher, and what tells when it must be read again.
pub struct BulkLoad {
    tenant: MunicipalityId,
    matcher: Option<Matcher>,
    /// `PRAGMA data_version` when the matcher was last known to match the database.
    data_version: i64,
}

impl BulkLoad {
    /// Whether a window of `orders` orders starts an initial load on `db`.
    pub async fn wanted(db: &Db, own_writer: bool, orders: usize, min: usize) -> DbResult<bool> {
        if !own_writer || db.backend() != Backend::Sqlite || orders < min.max(1) {
            return Ok(false);
        }
        let mut tx = db.begin().await?;
        let rows = furusato_db::dialect::table_rows(&mut tx, "donations").await?;
        tx.rollback().await?;
        Ok(orders as i64 > rows)
    }

    /// Drops the deferred indexes (see the module documentation); `None` if none was dropped
    /// (on PostgreSQL, or another load already deferred them).
    pub async fn start(db: &Db, tenant: MunicipalityId, by: &str) -> DbResult<Option<BulkLoad>> {
        let dropped = furusato_db::dialect::defer_indexes(db, &DEFERRED_INDEXES, by).await?;
        if dropped.is_empty() {
            return Ok(None);
        }
        tracing::info!(indexes = %dropped.join(", "), "initial load: indexes deferred to the end of the run");
        DedicatedWriter::set_cache_kib(db, BULK_WRITER_CACHE_KIB).await?;
        Ok(Some(BulkLoad {
            tenant,
            matcher: None,
            data_version: 0,
        }))
    }

    /// The matcher for the group whose transaction `tx` is, read again if the database may
    /// differ from it. Call right after `BEGIN IMMEDIATE`: with the write lock held, no other
    /// connection can commit until the group does.
    pub async fn matcher(&mut self, tx: &mut Tx) -> DbResult<&mut Matcher> {
        let version = data_version(tx).await?;
        if self.matcher.is_none() || version != self.data_version {
            let started = std::time::Instant::now();
            let m = Matcher::load(tx, self.tenant).await?;
            tracing::debug!(
                donors = m.known(),
                seconds = started.elapsed().as_secs_f64(),
                "initial load: donor keys read"
            );
            self.matcher = Some(m);
            self.data_version = version;
        }
        Ok(self.matcher.as_mut().expect("loaded above"))
    }

    /// Forgets the matcher: the next group reads the donors again (after a rolled-back group or
    /// a donor update).
    pub fn invalidate(&mut self) {
        self.matcher = None;
    }

    /// Builds the deferred indexes. Returns their names.
    pub async fn finish(self, db: &Db) -> DbResult<Vec<String>> {
        drop(self.matcher);
        let started = std::time::Instant::now();
        let built = furusato_db::dialect::restore_deferred_indexes(db).await?;
        DedicatedWriter::set_cache_kib(db, furusato_db::WRITER_CACHE_KIB).await?;
        tracing::info!(
            indexes = %built.join(", "),
            seconds = started.elapsed().as_secs_f64(),
            "initial load: indexes built"
        );
        Ok(built)
    }
}

/// SQLite's count of commits by other connections (changes when anyone else wrote).
async fn data_version(tx: &mut Tx) -> DbResult<i64> {
    match tx {
        Tx::Sqlite(conn) => Ok(sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut **conn)
            .await?),
        Tx::Postgres(_) => Ok(0),
    }
}
