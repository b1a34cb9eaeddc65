//! Background jobs: a small queue in the `jobs` table (portal syncs, re-evaluations, batches).
//!
//! Life of a job: [`enqueue`] (state `queued`, due at `run_at`) → a worker [`claim_next`]s it
//! (state `running`, `attempts` + 1, `locked_by`/`locked_at` set) → [`finish`] (`done`) or
//! [`fail`] (back to `queued` with an exponential backoff while attempts remain, else `failed`).
//! A worker that died leaves its job `running`; [`requeue_stale`] puts such jobs back.
//!
//! Claiming is written in the portable SQL subset (select the oldest due job, then a guarded
//! `UPDATE … WHERE state = 'queued'`, inside one transaction). On SQLite the transaction is
//! `BEGIN IMMEDIATE`, so claimers are serialised by the database. On PostgreSQL the select adds
//! `FOR UPDATE SKIP LOCKED` so that several workers (several servers) claim different jobs without
//! waiting on each other — the only engine-specific SQL of this module, in the marked section below.

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{Db, DbError, DbResult, MunicipalityId, Tx, new_id, now_utc, with_db, with_tx};

/// A job as stored.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Job {
    pub id: Uuid,
    pub municipality_id: Option<Uuid>,
    /// What to do, e.g. `rakuten_sync`.
    pub kind: String,
    /// JSON arguments of the job.
    pub payload: String,
    /// `queued` | `running` | `done` | `failed`
    pub state: String,
    /// When the job becomes due.
    pub run_at: OffsetDateTime,
    /// Claims so far (the running attempt included).
    pub attempts: i64,
    pub locked_by: String,
    pub locked_at: Option<OffsetDateTime>,
    /// Message of the last failure (English, no personal data).
    pub last_error: String,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

impl Job {
    /// The payload as JSON (`{}` when it does not parse).
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|_| serde_json::json!({}))
    }

    /// The tenant of the job, if it belongs to one.
    pub fn tenant(&self) -> Option<MunicipalityId> {
        self.municipality_id.map(MunicipalityId)
    }
}

/// Job states.
pub mod state {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

const COLUMNS: &str = "id, municipality_id, kind, payload, state, run_at, attempts, locked_by, locked_at, \
    last_error, created_at, finished_at";

/// A job to add to the queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub municipality_id: Option<MunicipalityId>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Due time (now for "as soon as possible").
    pub run_at: OffsetDateTime,
}

impl NewJob {
    /// A job of `kind` for `tenant`, due now.
    pub fn now(tenant: Option<MunicipalityId>, kind: &str, payload: serde_json::Value) -> Self {
        NewJob {
            municipality_id: tenant,
            kind: kind.to_string(),
            payload,
            run_at: now_utc(),
        }
    }
}

async fn insert(tx: &mut Tx, job: &NewJob) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO jobs (id, municipality_id, kind, payload, state, run_at, attempts, locked_by, \
        last_error, created_at) VALUES ($1, $2, $3, $4, 'queued', $5, 0, '', '', $6)";
    let id = new_id();
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(job.municipality_id.map(|m| m.0))
        .bind(&job.kind)
        .bind(job.payload.to_string())
        .bind(job.run_at)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(id)
}

/// Adds a job to the queue.
pub async fn enqueue(db: &Db, job: &NewJob) -> DbResult<Uuid> {
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, job).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a job unless a job of the same kind for the same municipality is already queued or
/// running (a sync must not be queued twice). Returns the new job's id, or `None` when one was
/// already waiting or running.
pub async fn enqueue_unique(db: &Db, job: &NewJob) -> DbResult<Option<Uuid>> {
    let mut tx = db.begin().await?;
    let key = format!(
        "jobs:{}:{}",
        job.municipality_id
            .map(|m| m.to_string())
            .unwrap_or_default(),
        job.kind
    );
    lock_key(&mut tx, &key).await?;
    const ACTIVE: &str = "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state IN ('queued', 'running') \
        AND ((municipality_id IS NULL AND $2 IS NULL) OR municipality_id = $2)";
    let active: i64 = with_tx!(&mut tx, |conn| sqlx::query_scalar(ACTIVE)
        .bind(&job.kind)
        .bind(job.municipality_id.map(|m| m.0))
        .fetch_one(conn)
        .await?);
    if active > 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let id = insert(&mut tx, job).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Claims the oldest due job of one of `kinds` for worker `worker`: it becomes `running`.
/// Returns `None` when nothing is due.
pub async fn claim_next(
    db: &Db,
    worker: &str,
    kinds: &[&str],
    now: OffsetDateTime,
) -> DbResult<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let mut tx = db.begin().await?;
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
    let base = format!(
        "SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $1 AND kind IN ({}) ORDER BY run_at, id LIMIT 1",
        placeholders.join(", ")
    );
    // ---------------------------------------------------------------------------------------
    // ENGINE-SPECIFIC (PostgreSQL): skip rows another worker has locked instead of waiting.
    // SQLite has no row locks; its BEGIN IMMEDIATE transaction already serialises claimers.
    // ---------------------------------------------------------------------------------------
    let sql = match tx.backend() {
        crate::Backend::Postgres => format!("{base} FOR UPDATE SKIP LOCKED"),
        crate::Backend::Sqlite => base,
    };
    let id: Option<Uuid> = with_tx!(&mut tx, |conn| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now);
        for k in kinds {
            q = q.bind(*k);
        }
        q.fetch_optional(conn).await?
    });
    let Some(id) = id else {
        tx.rollback().await?;
        return Ok(None);
    };
    const CLAIM: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $2, locked_at = $3 \
        WHERE id = $1 AND state = 'queued'";
    let n = with_tx!(&mut tx, |conn| sqlx::query(CLAIM)
        .bind(id)
        .bind(worker)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let job = get_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Some(job))
}

async fn get_tx(tx: &mut Tx, id: Uuid) -> DbResult<Job> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    with_tx!(tx, |conn| sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
    .ok_or(DbError::NotFound("job"))
}

/// One job by id.
pub async fn get(db: &Db, id: Uuid) -> DbResult<Option<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Job>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

/// Marks a running job done.
pub async fn finish(db: &Db, id: Uuid) -> DbResult<()> {
    const SQL: &str = "UPDATE jobs SET state = 'done', finished_at = $2, last_error = '' WHERE id = $1 AND state = 'running'";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("running job"));
    }
    Ok(())
}

/// How failed jobs are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in total (the first one included); after the last the job is `failed`.
    pub max_attempts: i64,
    /// Delay before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::minutes(1),
            max_delay: Duration::hours(1),
        }
    }
}

impl RetryPolicy {
    /// The delay after attempt number `attempts` (1-based) failed.
    pub fn delay_after(&self, attempts: i64) -> Duration {
        let exp = (attempts.max(1) - 1).min(20) as u32;
        let factor = 1i64 << exp;
        let secs = self.base_delay.whole_seconds().saturating_mul(factor);
        Duration::seconds(secs).min(self.max_delay)
    }
}

/// What [`fail`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, due at this time.
    Retry(OffsetDateTime),
    /// No attempts left: the job is `failed`.
    Failed,
}

/// Records a failure of a running job: queued again after a backoff while attempts remain
/// (`retryable` and `attempts < max_attempts`), else `failed`. `error` must not contain personal data.
pub async fn fail(
    db: &Db,
    id: Uuid,
    error: &str,
    retryable: bool,
    policy: RetryPolicy,
) -> DbResult<FailOutcome> {
    let job = get(db, id).await?.ok_or(DbError::NotFound("job"))?;
    let now = now_utc();
    let error: String = error.chars().take(2000).collect();
    if retryable && job.attempts < policy.max_attempts {
        let at = now + policy.delay_after(job.attempts);
        const SQL: &str = "UPDATE jobs SET state = 'queued', run_at = $2, last_error = $3, locked_by = '', \
            locked_at = NULL WHERE id = $1 AND state = 'running'";
        with_db!(db, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(at)
            .bind(&error)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(FailOutcome::Retry(at))
    } else {
        const SQL: &str = "UPDATE jobs SET state = 'failed', finished_at = $2, last_error = $3 WHERE id = $1 AND state = 'running'";
        with_db!(db, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .bind(&error)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(FailOutcome::Failed)
    }
}

/// Puts jobs back in the queue whose worker has held them longer than `older_than` (the worker
/// died or the server was stopped). Returns how many.
pub async fn requeue_stale(db: &Db, older_than: Duration) -> DbResult<u64> {
    const SQL: &str = "UPDATE jobs SET state = 'queued', locked_by = '', locked_at = NULL, \
        last_error = 'interrupted: the worker stopped while running this job' \
        WHERE state = 'running' AND locked_at < $1";
    Ok(with_db!(db, |pool| sqlx::query(SQL)
        .bind(now_utc() - older_than)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// The most recent jobs of a municipality (newest first), optionally of one kind.
pub async fn list_recent(
    db: &Db,
    tenant: MunicipalityId,
    kind: Option<&str>,
    limit: i64,
) -> DbResult<Vec<Job>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE municipality_id = $1 AND ($2 = '' OR kind = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Job>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(kind.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// The queued or running job of `kind` for a municipality, if any.
pub async fn active(db: &Db, tenant: MunicipalityId, kind: &str) -> DbResult<Option<Job>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE municipality_id = $1 AND kind = $2 AND state IN ('queued', 'running') \
         ORDER BY created_at LIMIT 1"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Job>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(kind)
    .fetch_optional(pool)
    .await?))
}

/// When the last job of `kind` for a municipality was created (any state), for schedules.
pub async fn last_created(
    db: &Db,
    tenant: MunicipalityId,
    kind: &str,
) -> DbResult<Option<OffsetDateTime>> {
    const SQL: &str = "SELECT created_at FROM jobs WHERE municipality_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 1";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(kind)
        .fetch_optional(pool)
        .await?))
}

/// Serialises transactions that use the same `key` until they end (check-then-insert sections).
///
/// ---------------------------------------------------------------------------------------------
/// ENGINE-SPECIFIC: PostgreSQL takes a transaction-scoped advisory lock on a hash of the key.
/// SQLite needs nothing: its write transactions (`BEGIN IMMEDIATE`) are serialised already.
/// ---------------------------------------------------------------------------------------------
pub async fn lock_key(tx: &mut Tx, key: &str) -> DbResult<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(key)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test_db;

    async fn city(db: &Db) -> MunicipalityId {
        let m = crate::municipalities::insert(
            db,
            &crate::municipalities::NewMunicipality {
                code: "041009".into(),
                name: "仙台市".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        m.tenant()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn enqueue_claim_finish() {
        let db = test_db().await;
        let t = city(&db).await;
        let id = enqueue(
            &db,
            &NewJob::now(
                Some(t),
                "rakuten_sync",
                serde_json::json!({"trigger": "manual"}),
            ),
        )
        .await
        .unwrap();
        // Not due yet for a claim in the past.
        assert!(
            claim_next(&db, "w1", &["rakuten_sync"], now_utc() - Duration::hours(1))
                .await
                .unwrap()
                .is_none()
        );
        // Another kind is not claimed.
        assert!(
            claim_next(&db, "w1", &["other"], now_utc())
                .await
                .unwrap()
                .is_none()
        );
        let job = claim_next(&db, "w1", &["rakuten_sync"], now_utc())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.id, id);
        assert_eq!(job.state, state::RUNNING);
        assert_eq!(job.attempts, 1);
        assert_eq!(job.locked_by, "w1");
        assert_eq!(job.payload_json()["trigger"], "manual");
        // Nothing else to claim while it runs.
        assert!(
            claim_next(&db, "w2", &["rakuten_sync"], now_utc())
                .await
                .unwrap()
                .is_none()
        );
        finish(&db, id).await.unwrap();
        let job = get(&db, id).await.unwrap().unwrap();
        assert_eq!(job.state, state::DONE);
        assert!(job.finished_at.is_some());
        assert!(
            finish(&db, id).await.is_err(),
            "a done job cannot finish twice"
        );
    }

    // multi_thread: on PostgreSQL the test database's Drop needs another worker to drive the pool's IO.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unique_enqueue_and_retry_backoff() {
        let db = test_db().await;
        let t = city(&db).await;
        let job = NewJob::now(Some(t), "rakuten_sync", serde_json::json!({}));
        let first = enqueue_unique(&db, &job).await.unwrap();
        assert!(first.is_some());
        assert_eq!(
            enqueue_unique(&db, &job).await.unwrap(),
            None,
            "no duplicate while queued"
        );
        let claimed = claim_next(&db, "w", &["rakuten_sync"], now_utc())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            enqueue_unique(&db, &job).await.unwrap(),
            None,
            "no duplicate while running"
        );
        let policy = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
        };
        match fail(&db, claimed.id, "HTTP 503", true, policy)
            .await
            .unwrap()
        {
            FailOutcome::Retry(at) => assert!(at > now_utc() + Duration::seconds(20)),
            other => panic!("expected a retry, got {other:?}"),
        }
        let again = get(&db, claimed.id).await.unwrap().unwrap();
        assert_eq!(again.state, state::QUEUED);
        assert_eq!(again.last_error, "HTTP 503");
        // Due only after the backoff.
        assert!(
            claim_next(&db, "w", &["rakuten_sync"], now_utc())
                .await
                .unwrap()
                .is_none()
        );
        let second = claim_next(
            &db,
            "w",
            &["rakuten_sync"],
            now_utc() + Duration::minutes(2),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(second.attempts, 2);
        assert_eq!(
            fail(&db, second.id, "HTTP 503", true, policy)
                .await
                .unwrap(),
            FailOutcome::Failed
        );
        assert_eq!(
            get(&db, second.id).await.unwrap().unwrap().state,
            state::FAILED
        );
        // A failed job no longer blocks a new one.
        assert!(enqueue_unique(&db, &job).await.unwrap().is_some());
        let recent = list_recent(&db, t, Some("rakuten_sync"), 10).await.unwrap();
        assert_eq!(recent.len(), 2);
        assert!(active(&db, t, "rakuten_sync").await.unwrap().is_some());
    }

    // multi_thread: on PostgreSQL the test database's Drop needs another worker to drive the pool's IO.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_jobs_are_requeued() {
        let db = test_db().await;
        let t = city(&db).await;
        let id = enqueue(&db, &NewJob::now(Some(t), "k", serde_json::json!({})))
            .await
            .unwrap();
        claim_next(&db, "w", &["k"], now_utc())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(requeue_stale(&db, Duration::hours(1)).await.unwrap(), 0);
        assert_eq!(requeue_stale(&db, Duration::seconds(-1)).await.unwrap(), 1);
        assert_eq!(get(&db, id).await.unwrap().unwrap().state, state::QUEUED);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::minutes(1),
            max_delay: Duration::minutes(10),
        };
        assert_eq!(p.delay_after(1), Duration::minutes(1));
        assert_eq!(p.delay_after(2), Duration::minutes(2));
        assert_eq!(p.delay_after(3), Duration::minutes(4));
        assert_eq!(p.delay_after(9), Duration::minutes(10));
    }
}
