//! The background job worker: started next to the web server ([`spawn`]), it polls the `jobs`
//! table every few seconds, runs due jobs one at a time, and queues the scheduled 楽天 syncs.
//!
//! Jobs it runs:
//! * [`rakuten_sync::JOB_KIND`] — one sync of a municipality (payload
//!   `{"trigger": "schedule"|"manual", "started_by": login}`). A run that failed on a transient
//!   error (RMS unreachable, 5xx, timeouts) is retried with a backoff; a rejected key (GA0001) or
//!   missing credentials are not retried — they need a person.
//! * [`rakuten_sync::REMAP_JOB_KIND`] — re-evaluation of synced donations after a text mapping
//!   was saved (payload `{"key": …, "started_by": login}`).
//!
//! Schedules: every enabled 楽天 account with credentials and `schedule_minutes` > 0 gets a sync
//! job when its last run (or last queued job) is at least that many minutes old and none is
//! queued or running ([`enqueue_due_schedules`]).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use furusato_db::audit::AuditEntry;
use furusato_db::intake_sync;
use furusato_db::jobs::{self, FailOutcome, Job, NewJob, RetryPolicy};
use furusato_db::{Db, DbError, MunicipalityId, now_utc};
use furusato_vault::Keyring;
use serde_json::json;
use time::Duration;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::rakuten_sync::{self, RunOptions, SyncError, Trigger};

/// Worker timing.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Pause between polls when no job was due.
    pub poll: StdDuration,
    /// Name written in `jobs.locked_by`.
    pub worker_id: String,
    /// A job held longer than this by a worker is considered abandoned and queued again.
    pub stale_after: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll: StdDuration::from_secs(3),
            worker_id: format!("worker-{}-{}", std::process::id(), Uuid::now_v7().simple()),
            stale_after: rakuten_sync::RUN_STALE_AFTER,
        }
    }
}

/// Starts the worker with the default timing; it runs until the task is aborted.
pub fn spawn(db: Db, keyring: Option<Arc<Keyring>>) -> JoinHandle<()> {
    spawn_with(db, keyring, WorkerConfig::default())
}

/// Starts the worker with the given timing.
pub fn spawn_with(db: Db, keyring: Option<Arc<Keyring>>, cfg: WorkerConfig) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(worker = %cfg.worker_id, "job worker started");
        if let Err(e) = jobs::requeue_stale(&db, cfg.stale_after).await {
            tracing::warn!(error = %e, "could not requeue abandoned jobs");
        }
        loop {
            match tick(&db, keyring.as_deref(), &cfg.worker_id).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "job worker iteration failed"),
            }
            tokio::time::sleep(cfg.poll).await;
        }
    })
}

/// One iteration: queue due schedules, then claim and run one due job. Returns whether a job ran.
pub async fn tick(db: &Db, keyring: Option<&Keyring>, worker_id: &str) -> Result<bool, DbError> {
    enqueue_due_schedules(db).await?;
    let Some(job) = jobs::claim_next(
        db,
        worker_id,
        &[rakuten_sync::JOB_KIND, rakuten_sync::REMAP_JOB_KIND],
        now_utc(),
    )
    .await?
    else {
        return Ok(false);
    };
    run_job(db, keyring, job).await?;
    Ok(true)
}

/// Queues a sync of `tenant` unless one is queued or running. Returns the job id, or `None`.
pub async fn enqueue_sync(
    db: &Db,
    tenant: MunicipalityId,
    trigger: Trigger,
    started_by: &str,
) -> Result<Option<Uuid>, DbError> {
    jobs::enqueue_unique(
        db,
        &NewJob::now(
            Some(tenant),
            rakuten_sync::JOB_KIND,
            json!({"trigger": trigger.as_str(), "started_by": started_by}),
        ),
    )
    .await
}

/// Queues a re-evaluation of the orders that had the unmapped text `key` (empty: all orders).
pub async fn enqueue_remap(
    db: &Db,
    tenant: MunicipalityId,
    key: &str,
    started_by: &str,
) -> Result<Uuid, DbError> {
    jobs::enqueue(
        db,
        &NewJob::now(
            Some(tenant),
            rakuten_sync::REMAP_JOB_KIND,
            json!({"key": key, "started_by": started_by}),
        ),
    )
    .await
}

/// Queues a sync for every scheduled account that is due. Returns how many were queued.
pub async fn enqueue_due_schedules(db: &Db) -> Result<usize, DbError> {
    let now = now_utc();
    let mut queued = 0;
    for acc in intake_sync::scheduled_accounts(db, rakuten_sync::PORTAL).await? {
        let tenant = acc.tenant();
        let interval = Duration::minutes(acc.schedule_minutes);
        let last_run = intake_sync::runs(db, tenant, rakuten_sync::PORTAL, 1)
            .await?
            .first()
            .map(|r| r.started_at);
        let last_job = jobs::last_created(db, tenant, rakuten_sync::JOB_KIND).await?;
        let last = last_run.into_iter().chain(last_job).max();
        if last.is_some_and(|t| t + interval > now) {
            continue;
        }
        if enqueue_sync(db, tenant, Trigger::Schedule, "schedule")
            .await?
            .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}

async fn run_job(db: &Db, keyring: Option<&Keyring>, job: Job) -> Result<(), DbError> {
    let payload = job.payload_json();
    let Some(tenant) = job.tenant() else {
        jobs::fail(
            db,
            job.id,
            "the job has no municipality",
            false,
            RetryPolicy::default(),
        )
        .await?;
        return Ok(());
    };
    let started_by = payload["started_by"].as_str().unwrap_or("").to_string();
    match job.kind.as_str() {
        rakuten_sync::JOB_KIND => {
            let trigger = payload["trigger"]
                .as_str()
                .and_then(Trigger::parse)
                .unwrap_or(Trigger::Schedule);
            let mut opts = RunOptions::new(trigger, started_by.clone());
            opts.actor = Some(AuditEntry {
                municipality_id: Some(tenant),
                user_login: if started_by.is_empty() {
                    "system".into()
                } else {
                    started_by
                },
                role: "system".into(),
                ..Default::default()
            });
            match rakuten_sync::run(db, keyring, tenant, opts).await {
                Ok(s) if !s.is_failed() => jobs::finish(db, job.id).await?,
                Ok(s) => {
                    // A rejected key needs a person; anything else may pass by itself.
                    let retry = s.error_code.as_deref() != Some("GA0001")
                        && s.error_code.as_deref() != Some("ES04-01");
                    let outcome = jobs::fail(
                        db,
                        job.id,
                        s.error.as_deref().unwrap_or("the sync failed"),
                        retry,
                        RetryPolicy::default(),
                    )
                    .await?;
                    log_failure(&job, &outcome);
                }
                Err(SyncError::AlreadyRunning) => {
                    let outcome = jobs::fail(
                        db,
                        job.id,
                        "another sync was running",
                        true,
                        RetryPolicy::default(),
                    )
                    .await?;
                    log_failure(&job, &outcome);
                }
                Err(e @ SyncError::Db(_)) => {
                    let outcome =
                        jobs::fail(db, job.id, &e.to_string(), true, RetryPolicy::default())
                            .await?;
                    log_failure(&job, &outcome);
                }
                Err(e) => {
                    let outcome =
                        jobs::fail(db, job.id, &e.to_string(), false, RetryPolicy::default())
                            .await?;
                    log_failure(&job, &outcome);
                }
            }
        }
        rakuten_sync::REMAP_JOB_KIND => {
            let key = payload["key"].as_str().unwrap_or("").to_string();
            let actor = AuditEntry {
                municipality_id: Some(tenant),
                user_login: if started_by.is_empty() {
                    "system".into()
                } else {
                    started_by
                },
                role: "system".into(),
                ..Default::default()
            };
            match rakuten_sync::remap::reevaluate(db, tenant, &key, &actor).await {
                Ok(s) => {
                    tracing::info!(
                        examined = s.examined,
                        updated = s.updated,
                        "mapping re-evaluation done"
                    );
                    jobs::finish(db, job.id).await?;
                }
                Err(e) => {
                    let outcome =
                        jobs::fail(db, job.id, &e.to_string(), true, RetryPolicy::default())
                            .await?;
                    log_failure(&job, &outcome);
                }
            }
        }
        other => {
            jobs::fail(
                db,
                job.id,
                &format!("unknown job kind {other}"),
                false,
                RetryPolicy::default(),
            )
            .await?;
        }
    }
    Ok(())
}

fn log_failure(job: &Job, outcome: &FailOutcome) {
    match outcome {
        FailOutcome::Retry(at) => {
            tracing::warn!(kind = %job.kind, job = %job.id, retry_at = %at, "job failed; it will be retried")
        }
        FailOutcome::Failed => tracing::warn!(kind = %job.kind, job = %job.id, "job failed"),
    }
}
