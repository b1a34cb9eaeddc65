//! A connection of its own for a long job that writes many transactions one after the other
//! (the 楽天 sync).
//!
//! **Why a connection of its own.** SQLite drops a connection's whole page cache whenever
//! another connection has written since its last transaction, and a pool hands its idle
//! connections out in turn, so the groups of a sync written through the shared pool each began
//! with an empty cache and read their index pages back from the file (a 300,000-order sync:
//! 129.5 s through a pool of two connections, 97.2 s through one). Its cache is twice the usual
//! ([`WRITER_CACHE_KIB`]).
//!
//! **Why fewer checkpoints.** A connection that commits past `wal_autocheckpoint` pages copies
//! the WAL back into the database file right away and waits for the disk (`fsync`). With
//! SQLite's 1,000 pages that was after every group of a sync, and the index pages that every
//! group changes were copied every time. The writer checkpoints after [`WRITER_CHECKPOINT_PAGES`]
//! instead, so a page changed by several groups in a row is copied once.
//!
//! (Checkpointing from a second connection in the background was tried and made a
//! 1,000,000-order sync slower, 216 s against 197 s: a writer that never pauses leaves such a
//! checkpoint always behind, so the WAL is never restarted and grows to gigabytes, and every
//! page read looks through it.)
//!
//! PostgreSQL's buffers are shared by every connection, and an in-memory SQLite database shares
//! one cache too: there, [`crate::Db::dedicated_writer`] gives `None` and the shared pool serves.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::{Db, DbError, DbResult};

/// Page cache of a dedicated writer, in KiB. New donors land all over the matching indexes,
/// which outgrow the usual 64 MiB at a few hundred thousand donors; every page missing from the
/// cache is read back from the file. A 1,000,000-order sync took 266 s with 64 MiB and 239 s
/// with 128 MiB (peak memory 299 MB and 359 MB).
pub const WRITER_CACHE_KIB: u32 = 131_072;

/// WAL pages after which a dedicated writer's commit checkpoints (SQLite's default is 1,000).
pub const WRITER_CHECKPOINT_PAGES: u32 = 65_536;

/// A job's own writing connection. Close it with [`DedicatedWriter::close`] when the job ends.
pub struct DedicatedWriter {
    db: Db,
}

impl DedicatedWriter {
    /// Opens the writer on the same file as `options`.
    pub(crate) async fn open(options: &SqliteConnectOptions) -> DbResult<DedicatedWriter> {
        let options = options
            .clone()
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(DedicatedWriter {
            db: Db::Sqlite(pool),
        })
    }

    /// The database handle to write through.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Sets the writer's page cache, in KiB, until the next call (an initial load, whose writes
    /// are mostly appends, gives the memory to its donor matcher instead).
    pub async fn set_cache_kib(db: &Db, kib: u32) -> DbResult<()> {
        if let Db::Sqlite(pool) = db {
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = -{kib}")))
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Checkpoints what the job left in the WAL and closes the connection (the shared pool
    /// stays open).
    pub async fn close(self) {
        if let Db::Sqlite(pool) = &self.db
            && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await
        {
            tracing::warn!(error = %e, "the checkpoint after a job failed");
        }
        self.db.close().await;
    }
}
