//! Storage of the portal sync (楽天 RMS): accounts with sealed credentials, the incremental
//! cursor, the run history, the text mappings of shop-defined choices and their review list, and
//! the sync's own state per portal order (`portal_orders`).
//!
//! This module never sees credentials in clear: callers seal them with `furusato-vault`
//! (`aad("portal_credentials", account_id)`) and store bytes. The ledger writes themselves
//! (donations, donors, ship-tos, items, source records) go through their own modules; the batch
//! lookups here load what one getOrder batch needs with one query each.

use std::collections::HashMap;

use serde::Serialize;
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::args::{Arg, Args};
use crate::{
    Db, DbError, DbResult, MunicipalityId, Tx, bind_args, new_id, now_utc, with_db, with_tx,
};

/// Timestamps are stored in UTC (SQLite compares them as text).
fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

// ---------------------------------------------------------------------------------------------
// Portal accounts
// ---------------------------------------------------------------------------------------------

/// A municipality's account on a portal (楽天: the RMS shop's API settings).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct PortalAccount {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub portal: String,
    /// API base URL (楽天: `https://api.rms.rakuten.co.jp` or any RMS-shaped server).
    pub base_url: String,
    /// `{service_secret, license_key}` sealed by the vault; never shown.
    #[serde(skip)]
    pub credentials_sealed: Option<Vec<u8>>,
    /// getOrder `version`.
    pub get_order_version: i64,
    /// Pace of requests; 0 = unlimited (benchmarks only).
    pub requests_per_second: i64,
    /// Minutes between scheduled syncs; 0 = no schedule.
    pub schedule_minutes: i64,
    pub enabled: bool,
    pub license_expires_at: Option<OffsetDateTime>,
    pub license_checked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl PortalAccount {
    pub fn tenant(&self) -> MunicipalityId {
        MunicipalityId(self.municipality_id)
    }

    /// Whether credentials were saved.
    pub fn has_credentials(&self) -> bool {
        self.credentials_sealed
            .as_ref()
            .is_some_and(|c| !c.is_empty())
    }
}

/// The editable settings of an account (credentials are saved separately, sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSettings {
    pub base_url: String,
    pub get_order_version: i64,
    pub requests_per_second: i64,
    pub schedule_minutes: i64,
    pub enabled: bool,
}

const ACCOUNT_COLUMNS: &str = "id, municipality_id, portal, base_url, credentials_sealed, get_order_version, \
    requests_per_second, schedule_minutes, enabled, license_expires_at, license_checked_at, created_at, updated_at";

/// The account of a municipality on `portal`, if one was set up.
pub async fn account(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
) -> DbResult<Option<PortalAccount>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE municipality_id = $1 AND portal = $2"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PortalAccount>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .fetch_optional(pool)
    .await?))
}

/// Creates the account or updates its settings; returns its id (needed to seal credentials).
pub async fn save_account_settings(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    s: &AccountSettings,
) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO portal_accounts (id, municipality_id, portal, base_url, get_order_version, \
        requests_per_second, schedule_minutes, enabled, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
        ON CONFLICT (municipality_id, portal) DO UPDATE SET base_url = excluded.base_url, \
        get_order_version = excluded.get_order_version, requests_per_second = excluded.requests_per_second, \
        schedule_minutes = excluded.schedule_minutes, enabled = excluded.enabled, updated_at = excluded.updated_at \
        RETURNING id";
    let id: Uuid = with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(new_id())
        .bind(tenant.0)
        .bind(portal)
        .bind(&s.base_url)
        .bind(s.get_order_version)
        .bind(s.requests_per_second)
        .bind(s.schedule_minutes)
        .bind(s.enabled)
        .bind(now_utc())
        .fetch_one(conn)
        .await?);
    Ok(id)
}

/// Stores sealed credentials of an account (sealed with `aad("portal_credentials", id)`).
pub async fn set_credentials(
    tx: &mut Tx,
    tenant: MunicipalityId,
    account_id: Uuid,
    sealed: &[u8],
) -> DbResult<()> {
    const SQL: &str = "UPDATE portal_accounts SET credentials_sealed = $3, license_expires_at = NULL, \
        license_checked_at = NULL, updated_at = $4 WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(account_id)
        .bind(sealed)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("portal account"));
    }
    Ok(())
}

/// Every account's sealed credentials, across municipalities (key rotation).
pub async fn sealed_credentials(db: &Db) -> DbResult<Vec<(Uuid, Vec<u8>)>> {
    const SQL: &str = "SELECT id, credentials_sealed FROM portal_accounts \
        WHERE credentials_sealed IS NOT NULL ORDER BY id";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, (Uuid, Vec<u8>)>(
        SQL
    )
    .fetch_all(pool)
    .await?))
}

/// Replaces sealed credentials with their re-encrypted form (key rotation), if unchanged meanwhile.
pub async fn reseal_credentials(
    db: &Db,
    account_id: Uuid,
    old: &[u8],
    new: &[u8],
) -> DbResult<bool> {
    const SQL: &str = "UPDATE portal_accounts SET credentials_sealed = $3 WHERE id = $1 AND credentials_sealed = $2";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(account_id)
        .bind(old)
        .bind(new)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Records the license key's expiry as read from the portal (None: could not be read).
pub async fn set_license_expiry(
    db: &Db,
    tenant: MunicipalityId,
    account_id: Uuid,
    expires_at: Option<OffsetDateTime>,
) -> DbResult<()> {
    const SQL: &str = "UPDATE portal_accounts SET license_expires_at = $3, license_checked_at = $4 \
        WHERE municipality_id = $1 AND id = $2";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(account_id)
        .bind(expires_at.map(utc))
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Enabled accounts of `portal` in every municipality that have credentials and a schedule.
pub async fn scheduled_accounts(db: &Db, portal: &str) -> DbResult<Vec<PortalAccount>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE portal = $1 AND enabled = TRUE \
         AND schedule_minutes > 0 AND credentials_sealed IS NOT NULL ORDER BY municipality_id"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PortalAccount>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(portal)
    .fetch_all(pool)
    .await?))
}

// ---------------------------------------------------------------------------------------------
// Cursor
// ---------------------------------------------------------------------------------------------

/// Where the next incremental sync of `portal` starts (None before the first complete run).
pub async fn cursor(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
) -> DbResult<Option<OffsetDateTime>> {
    const SQL: &str =
        "SELECT cursor_at FROM sync_cursors WHERE municipality_id = $1 AND portal = $2";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(portal)
        .fetch_optional(pool)
        .await?))
}

/// Moves the cursor.
pub async fn set_cursor(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    const SQL: &str = "INSERT INTO sync_cursors (municipality_id, portal, cursor_at, updated_at) VALUES ($1, $2, $3, $4) \
        ON CONFLICT (municipality_id, portal) DO UPDATE SET cursor_at = excluded.cursor_at, updated_at = excluded.updated_at";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(utc(at))
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/// Run states.
pub mod run_status {
    pub const RUNNING: &str = "running";
    /// Every order was processed.
    pub const SUCCEEDED: &str = "succeeded";
    /// The run completed but some orders failed (listed in the detail).
    pub const PARTIAL: &str = "partial";
    /// The run stopped on an error (GA0001, RMS unreachable, …).
    pub const FAILED: &str = "failed";
}

/// One sync run (a row of the run history).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct SyncRun {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub portal: String,
    /// `schedule` | `manual` | `cli`
    pub trigger_kind: String,
    pub started_by: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub status: String,
    pub window_from: Option<OffsetDateTime>,
    pub window_to: Option<OffsetDateTime>,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub requests: i64,
    pub retries: i64,
    /// English error (RmsError's Display); the Japanese one is in `detail.error_ja`.
    pub error: String,
    /// JSON: failed orders, unknown gift codes, warnings, Japanese error.
    pub detail: String,
}

impl SyncRun {
    pub fn detail_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.detail).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// Counters of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub requests: i64,
    pub retries: i64,
}

const RUN_COLUMNS: &str = "id, municipality_id, portal, trigger_kind, started_by, started_at, finished_at, status, \
    window_from, window_to, fetched, created, updated, unchanged, failed, requests, retries, error, detail";

/// Starts a run unless another run of the same portal is still running for the municipality
/// (started less than `stale_after` ago; older ones are marked failed as interrupted).
/// Returns the new run's id, or `DbError::Conflict` when one is running.
pub async fn start_run(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    trigger: &str,
    started_by: &str,
    stale_after: time::Duration,
) -> DbResult<Uuid> {
    let mut tx = db.begin().await?;
    crate::jobs::lock_key(&mut tx, &format!("sync_run:{tenant}:{portal}")).await?;
    let now = now_utc();
    const STALE: &str = "UPDATE sync_runs SET status = 'failed', finished_at = $4, \
        error = 'interrupted: the process stopped during the run' \
        WHERE municipality_id = $1 AND portal = $2 AND status = 'running' AND started_at < $3";
    with_tx!(&mut tx, |conn| sqlx::query(STALE)
        .bind(tenant.0)
        .bind(portal)
        .bind(now - stale_after)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected());
    const RUNNING: &str = "SELECT COUNT(*) FROM sync_runs WHERE municipality_id = $1 AND portal = $2 AND status = 'running'";
    let running: i64 = with_tx!(&mut tx, |conn| sqlx::query_scalar(RUNNING)
        .bind(tenant.0)
        .bind(portal)
        .fetch_one(conn)
        .await?);
    if running > 0 {
        tx.rollback().await?;
        return Err(DbError::Conflict(format!(
            "a {portal} sync is already running for this municipality"
        )));
    }
    const INSERT: &str = "INSERT INTO sync_runs (id, municipality_id, portal, trigger_kind, started_by, started_at, status) \
        VALUES ($1, $2, $3, $4, $5, $6, 'running')";
    let id = new_id();
    with_tx!(&mut tx, |conn| sqlx::query(INSERT)
        .bind(id)
        .bind(tenant.0)
        .bind(portal)
        .bind(trigger)
        .bind(started_by)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected());
    tx.commit().await?;
    Ok(id)
}

/// Updates a running run's counters and window (progress shown while it runs).
pub async fn update_run_progress(
    db: &Db,
    run_id: Uuid,
    c: &RunCounts,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
) -> DbResult<()> {
    const SQL: &str = "UPDATE sync_runs SET fetched = $2, created = $3, updated = $4, unchanged = $5, failed = $6, \
        requests = $7, retries = $8, window_from = COALESCE($9, window_from), window_to = COALESCE($10, window_to) \
        WHERE id = $1";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(run_id)
        .bind(c.fetched)
        .bind(c.created)
        .bind(c.updated)
        .bind(c.unchanged)
        .bind(c.failed)
        .bind(c.requests)
        .bind(c.retries)
        .bind(window.map(|w| utc(w.0)))
        .bind(window.map(|w| utc(w.1)))
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Ends a run with its final status, counters, error and detail.
pub async fn finish_run(
    tx: &mut Tx,
    run_id: Uuid,
    status: &str,
    c: &RunCounts,
    error: &str,
    detail: &serde_json::Value,
) -> DbResult<()> {
    const SQL: &str = "UPDATE sync_runs SET status = $2, finished_at = $3, fetched = $4, created = $5, updated = $6, \
        unchanged = $7, failed = $8, requests = $9, retries = $10, error = $11, detail = $12 WHERE id = $1";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(run_id)
        .bind(status)
        .bind(now_utc())
        .bind(c.fetched)
        .bind(c.created)
        .bind(c.updated)
        .bind(c.unchanged)
        .bind(c.failed)
        .bind(c.requests)
        .bind(c.retries)
        .bind(error)
        .bind(detail.to_string())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The run history of `portal`, newest first.
pub async fn runs(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    limit: i64,
) -> DbResult<Vec<SyncRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE municipality_id = $1 AND portal = $2 \
         ORDER BY started_at DESC, id DESC LIMIT $3"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, SyncRun>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// One run of the municipality.
pub async fn run(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<SyncRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE municipality_id = $1 AND id = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, SyncRun>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

/// The most recent finished run (not `running`), for warnings.
pub async fn last_finished_run(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
) -> DbResult<Option<SyncRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs WHERE municipality_id = $1 AND portal = $2 AND status <> 'running' \
         ORDER BY started_at DESC, id DESC LIMIT 1"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, SyncRun>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .fetch_optional(pool)
    .await?))
}

// ---------------------------------------------------------------------------------------------
// Text mappings and their review list
// ---------------------------------------------------------------------------------------------

/// What a mapped text means for the donation.
pub mod target {
    /// ワンストップ特例申請書を希望 (`target_value` "false" for an explicit no).
    pub const ONESTOP_WANTED: &str = "onestop_wanted";
    /// 寄附金受領証明書を希望 (`target_value` "false": not wanted).
    pub const RECEIPT_WANTED: &str = "receipt_wanted";
    /// 使い道: `target_value`, or the received value when empty.
    pub const USE_OF_FUNDS: &str = "use_of_funds";
    /// 返礼品を辞退 (`target_value` "false" for an explicit no).
    pub const GIFT_DECLINED: &str = "gift_declined";
    /// Kept in the donation's 備考 (note) as「見出し: 値」.
    pub const NOTE: &str = "note";
    /// Known and meaningless for the ledger (kept only in the raw record).
    pub const IGNORE: &str = "ignore";
    /// Every target, in the order of the screen's select box.
    pub const ALL: [&str; 6] = [
        ONESTOP_WANTED,
        RECEIPT_WANTED,
        USE_OF_FUNDS,
        GIFT_DECLINED,
        NOTE,
        IGNORE,
    ];

    /// The Japanese label of a target.
    pub fn label_ja(t: &str) -> &'static str {
        match t {
            ONESTOP_WANTED => "ワンストップ特例申請書",
            RECEIPT_WANTED => "寄附金受領証明書",
            USE_OF_FUNDS => "寄附金の使い道",
            GIFT_DECLINED => "返礼品の辞退",
            NOTE => "備考に記録",
            IGNORE => "使わない（無視）",
            _ => "不明",
        }
    }
}

/// Where a text came from in the order.
pub mod source_field {
    /// `ItemModelList[].selectedChoice` lines `項目名:選択肢`.
    pub const SELECTED_CHOICE: &str = "selected_choice";
    /// `remarks` blocks `[見出し:]\n値`.
    pub const REMARKS: &str = "remarks";
}

/// The value that matches any text under a heading.
pub const ANY_VALUE: &str = "*";

/// One mapping: (source field, heading, value) → target.
#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct TextMapping {
    pub id: Uuid,
    pub portal: String,
    pub source_field: String,
    pub heading: String,
    /// The exact value, or [`ANY_VALUE`].
    pub value: String,
    pub target: String,
    pub target_value: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A mapping to save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTextMapping {
    pub source_field: String,
    pub heading: String,
    pub value: String,
    pub target: String,
    pub target_value: String,
}

const MAPPING_COLUMNS: &str =
    "id, portal, source_field, heading, value, target, target_value, created_at, updated_at";

/// Every mapping of the municipality for `portal`.
pub async fn mappings(db: &Db, tenant: MunicipalityId, portal: &str) -> DbResult<Vec<TextMapping>> {
    let sql = format!(
        "SELECT {MAPPING_COLUMNS} FROM text_mappings WHERE municipality_id = $1 AND portal = $2 \
         ORDER BY source_field, heading, value"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, TextMapping>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .fetch_all(pool)
    .await?))
}

/// Creates or replaces the mapping of (source field, heading, value); returns its id.
pub async fn upsert_mapping(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    m: &NewTextMapping,
) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO text_mappings (id, municipality_id, portal, source_field, heading, value, target, \
        target_value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
        ON CONFLICT (municipality_id, portal, source_field, heading, value) DO UPDATE SET target = excluded.target, \
        target_value = excluded.target_value, updated_at = excluded.updated_at RETURNING id";
    Ok(with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(new_id())
        .bind(tenant.0)
        .bind(portal)
        .bind(&m.source_field)
        .bind(&m.heading)
        .bind(&m.value)
        .bind(&m.target)
        .bind(&m.target_value)
        .bind(now_utc())
        .fetch_one(conn)
        .await?))
}

/// Inserts mappings that do not exist yet (defaults); existing ones are left as they are.
pub async fn insert_missing_mappings(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    list: &[NewTextMapping],
) -> DbResult<u64> {
    let now = now_utc();
    let rows = list
        .iter()
        .map(|m| {
            vec![
                Arg::Uuid(new_id()),
                Arg::Uuid(tenant.0),
                Arg::Text(portal.to_string()),
                Arg::Text(m.source_field.clone()),
                Arg::Text(m.heading.clone()),
                Arg::Text(m.value.clone()),
                Arg::Text(m.target.clone()),
                Arg::Text(m.target_value.clone()),
                Arg::Timestamp(now),
                Arg::Timestamp(now),
            ]
        })
        .collect();
    crate::dialect::bulk_insert(
        tx,
        "text_mappings",
        &[
            "id",
            "municipality_id",
            "portal",
            "source_field",
            "heading",
            "value",
            "target",
            "target_value",
            "created_at",
            "updated_at",
        ],
        rows,
        "ON CONFLICT (municipality_id, portal, source_field, heading, value) DO NOTHING",
    )
    .await
}

/// Deletes a mapping; returns it (None when it did not exist).
pub async fn delete_mapping(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<TextMapping>> {
    let sql = format!(
        "SELECT {MAPPING_COLUMNS} FROM text_mappings WHERE municipality_id = $1 AND id = $2"
    );
    let found = with_tx!(tx, |conn| sqlx::query_as::<_, TextMapping>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?);
    if found.is_some() {
        const DEL: &str = "DELETE FROM text_mappings WHERE municipality_id = $1 AND id = $2";
        with_tx!(tx, |conn| sqlx::query(DEL)
            .bind(tenant.0)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected());
    }
    Ok(found)
}

/// A text that no mapping covered, waiting for an operator.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct MappingReview {
    pub id: Uuid,
    pub portal: String,
    pub source_field: String,
    pub heading: String,
    pub value: String,
    /// Orders in which it was seen.
    pub occurrences: i64,
    /// An order number where it appears.
    pub example_external_id: String,
    pub first_seen_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
}

/// One unmapped text seen in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmappedSeen {
    pub source_field: String,
    pub heading: String,
    pub value: String,
    /// Orders of the batch that had it (0: record the text without counting, e.g. a re-fetch).
    pub occurrences: i64,
    pub example_external_id: String,
}

/// Adds unmapped texts to the review list (counting occurrences; a resolved one is reopened).
pub async fn note_unmapped(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    seen: &[UnmappedSeen],
) -> DbResult<()> {
    if seen.is_empty() {
        return Ok(());
    }
    let now = now_utc();
    let rows = seen
        .iter()
        .map(|s| {
            vec![
                Arg::Uuid(new_id()),
                Arg::Uuid(tenant.0),
                Arg::Text(portal.to_string()),
                Arg::Text(s.source_field.clone()),
                Arg::Text(s.heading.clone()),
                Arg::Text(s.value.clone()),
                Arg::Int(s.occurrences.max(1)),
                Arg::Text(s.example_external_id.clone()),
                Arg::Timestamp(now),
                Arg::Timestamp(now),
                Arg::Int(s.occurrences),
            ]
        })
        .collect::<Vec<_>>();
    // The 11th value only tells the update how much to add; it is not a column. Insert one row
    // at a time (a batch rarely has more than a handful of distinct unmapped texts).
    for row in rows {
        let mut args = Args::new();
        let ph: Vec<String> = row.into_iter().map(|a| args.push(a)).collect();
        let sql = format!(
            "INSERT INTO mapping_reviews (id, municipality_id, portal, source_field, heading, value, occurrences, \
             example_external_id, first_seen_at, last_seen_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}) \
             ON CONFLICT (municipality_id, portal, source_field, heading, value) DO UPDATE SET \
             occurrences = mapping_reviews.occurrences + {}, last_seen_at = excluded.last_seen_at, resolved_at = NULL",
            ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7], ph[8], ph[9], ph[10]
        );
        with_tx!(tx, |conn| bind_args!(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            args
        )
        .execute(conn)
        .await?
        .rows_affected());
    }
    Ok(())
}

/// The review list: unresolved first (most frequent first), then recently resolved.
pub async fn reviews(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    include_resolved: bool,
) -> DbResult<Vec<MappingReview>> {
    let sql = format!(
        "SELECT id, portal, source_field, heading, value, occurrences, example_external_id, first_seen_at, \
         last_seen_at, resolved_at FROM mapping_reviews WHERE municipality_id = $1 AND portal = $2 {} \
         ORDER BY (CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END), occurrences DESC, heading, value LIMIT 500",
        if include_resolved {
            ""
        } else {
            "AND resolved_at IS NULL"
        }
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, MappingReview>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(portal)
    .fetch_all(pool)
    .await?))
}

/// Marks the review of (source field, heading, value) resolved; with `value` = [`ANY_VALUE`],
/// every open review under the heading.
pub async fn resolve_reviews(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    source_field: &str,
    heading: &str,
    value: &str,
) -> DbResult<u64> {
    const SQL: &str = "UPDATE mapping_reviews SET resolved_at = $6 WHERE municipality_id = $1 AND portal = $2 \
        AND source_field = $3 AND heading = $4 AND (value = $5 OR $5 = '*') AND resolved_at IS NULL";
    Ok(with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(source_field)
        .bind(heading)
        .bind(value)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected()))
}

/// Number of open reviews (for the intake landing page).
pub async fn open_review_count(db: &Db, tenant: MunicipalityId, portal: &str) -> DbResult<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM mapping_reviews WHERE municipality_id = $1 AND portal = $2 AND resolved_at IS NULL";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(portal)
        .fetch_one(pool)
        .await?))
}

// ---------------------------------------------------------------------------------------------
// Per-order sync state (portal_orders)
// ---------------------------------------------------------------------------------------------

/// What the sync remembers of a portal order: its donation, last status and last raw version.
#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct PortalOrder {
    pub external_id: String,
    pub donation_id: Uuid,
    /// 楽天 orderProgress (100 … 900).
    pub order_progress: i64,
    pub ordered_at: OffsetDateTime,
    /// SHA-256 of the last stored raw JSON (same as the latest source record).
    #[serde(skip)]
    pub content_hash: Vec<u8>,
    /// Version number of the latest source record.
    pub source_version: i64,
    /// Texts no mapping covered when last evaluated, one key per line (see the intake crate).
    pub unmapped: String,
}

/// Columns of [`portal_order_row`] for bulk inserts.
pub const PORTAL_ORDER_COLUMNS: [&str; 10] = [
    "municipality_id",
    "portal",
    "external_id",
    "donation_id",
    "order_progress",
    "ordered_at",
    "content_hash",
    "source_version",
    "unmapped",
    "updated_at",
];

/// The bound values of a new `portal_orders` row.
#[allow(clippy::too_many_arguments)]
pub fn portal_order_row(
    tenant: MunicipalityId,
    portal: &str,
    external_id: &str,
    donation_id: Uuid,
    order_progress: i64,
    ordered_at: OffsetDateTime,
    content_hash: Vec<u8>,
    source_version: i64,
    unmapped: String,
    now: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(tenant.0),
        Arg::Text(portal.to_string()),
        Arg::Text(external_id.to_string()),
        Arg::Uuid(donation_id),
        Arg::Int(order_progress),
        Arg::Timestamp(utc(ordered_at)),
        Arg::Bytes(content_hash),
        Arg::Int(source_version),
        Arg::Text(unmapped),
        Arg::Timestamp(now),
    ]
}

/// Updates the state of an order after a new version was stored.
#[allow(clippy::too_many_arguments)]
pub async fn update_portal_order(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    external_id: &str,
    order_progress: i64,
    ordered_at: OffsetDateTime,
    content_hash: &[u8],
    source_version: i64,
    unmapped: &str,
) -> DbResult<()> {
    const SQL: &str = "UPDATE portal_orders SET order_progress = $4, ordered_at = $5, content_hash = $6, \
        source_version = $7, unmapped = $8, updated_at = $9 WHERE municipality_id = $1 AND portal = $2 AND external_id = $3";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(external_id)
        .bind(order_progress)
        .bind(utc(ordered_at))
        .bind(content_hash)
        .bind(source_version)
        .bind(unmapped)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Sets only the unmapped texts of an order (after a re-evaluation).
pub async fn set_unmapped(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    external_id: &str,
    unmapped: &str,
) -> DbResult<()> {
    const SQL: &str = "UPDATE portal_orders SET unmapped = $4 WHERE municipality_id = $1 AND portal = $2 AND external_id = $3";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(external_id)
        .bind(unmapped)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

fn in_list(args: &mut Args, values: impl IntoIterator<Item = Arg>) -> String {
    let ph: Vec<String> = values.into_iter().map(|v| args.push(v)).collect();
    ph.join(", ")
}

/// The sync state of the given orders (one query).
pub async fn portal_orders(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    external_ids: &[String],
) -> DbResult<HashMap<String, PortalOrder>> {
    let mut out = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(500) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let p = args.text(portal);
        let list = in_list(&mut args, chunk.iter().map(|e| Arg::Text(e.clone())));
        let sql = format!(
            "SELECT external_id, donation_id, order_progress, ordered_at, content_hash, source_version, unmapped \
             FROM portal_orders WHERE municipality_id = {t} AND portal = {p} AND external_id IN ({list})"
        );
        let rows = with_tx!(tx, |conn| bind_args!(
            sqlx::query_as::<_, PortalOrder>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        for r in rows {
            out.insert(r.external_id.clone(), r);
        }
    }
    Ok(out)
}

/// A page of orders that are not in a terminal state (orderProgress neither 700 支払手続き済
/// nor 900 キャンセル確定) and were ordered at or after `since`, by order number after `after`.
pub async fn open_orders(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    since: OffsetDateTime,
    after: &str,
    limit: i64,
) -> DbResult<Vec<String>> {
    const SQL: &str = "SELECT external_id FROM portal_orders WHERE municipality_id = $1 AND portal = $2 \
        AND order_progress <> 700 AND order_progress <> 900 AND ordered_at >= $3 AND external_id > $4 \
        ORDER BY external_id LIMIT $5";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(utc(since))
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// A page of orders whose unmapped texts contain `key` (all orders when `key` is empty), by
/// order number after `after`. Used to re-evaluate donations when a mapping is saved.
pub async fn orders_with_unmapped(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    key: &str,
    after: &str,
    limit: i64,
) -> DbResult<Vec<PortalOrder>> {
    let pattern = if key.is_empty() {
        "%".to_string()
    } else {
        format!("%{}%", crate::args::like_escape(key))
    };
    const SQL: &str = "SELECT external_id, donation_id, order_progress, ordered_at, content_hash, source_version, unmapped \
        FROM portal_orders WHERE municipality_id = $1 AND portal = $2 AND unmapped LIKE $3 ESCAPE '\\' \
        AND external_id > $4 ORDER BY external_id LIMIT $5";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PortalOrder>(SQL)
        .bind(tenant.0)
        .bind(portal)
        .bind(pattern)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

// ---------------------------------------------------------------------------------------------
// Batch lookups of the ledger
// ---------------------------------------------------------------------------------------------

/// The fields of an existing donation the sync compares and updates.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct SyncedDonation {
    pub id: Uuid,
    pub donor_id: Uuid,
    pub external_id: String,
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub applied_at: Option<OffsetDateTime>,
    pub payment_method: String,
    pub payment_status: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
}

/// The donations of `portal` with these external ids (one query per 500 ids).
pub async fn donations_by_external(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
    external_ids: &[String],
) -> DbResult<HashMap<String, SyncedDonation>> {
    let mut out = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(500) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let p = args.text(portal);
        let list = in_list(&mut args, chunk.iter().map(|e| Arg::Text(e.clone())));
        let sql = format!(
            "SELECT id, donor_id, external_id, amount, donated_on, received_on, applied_at, payment_method, \
             payment_status, use_of_funds, onestop_wanted, receipt_wanted, gift_declined, note FROM donations \
             WHERE municipality_id = {t} AND portal = {p} AND external_id IN ({list})"
        );
        let rows = with_tx!(tx, |conn| bind_args!(
            sqlx::query_as::<_, SyncedDonation>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        for r in rows {
            out.insert(r.external_id.clone(), r);
        }
    }
    Ok(out)
}

/// The ship-tos of these donations, by donation, ordered by `seq`.
pub async fn ship_tos_of(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_ids: &[Uuid],
) -> DbResult<HashMap<Uuid, Vec<crate::donations::ShipTo>>> {
    let mut out: HashMap<Uuid, Vec<crate::donations::ShipTo>> = HashMap::new();
    for chunk in donation_ids.chunks(500) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let list = in_list(&mut args, chunk.iter().map(|d| Arg::Uuid(*d)));
        let sql = format!(
            "SELECT id, donation_id, seq, name, kana, postal_code, address, phone, external_ref FROM ship_tos \
             WHERE municipality_id = {t} AND donation_id IN ({list}) ORDER BY donation_id, seq"
        );
        let rows = with_tx!(tx, |conn| bind_args!(
            sqlx::query_as::<_, crate::donations::ShipTo>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        for r in rows {
            out.entry(r.donation_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// The gift lines of these donations, by donation, ordered by `line_no`.
pub async fn items_of(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_ids: &[Uuid],
) -> DbResult<HashMap<Uuid, Vec<crate::donations::DonationItem>>> {
    let mut out: HashMap<Uuid, Vec<crate::donations::DonationItem>> = HashMap::new();
    for chunk in donation_ids.chunks(500) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let list = in_list(&mut args, chunk.iter().map(|d| Arg::Uuid(*d)));
        let sql = format!(
            "SELECT id, donation_id, line_no, gift_id, gift_version_id, gift_code, name, quantity, amount, ship_to_id \
             FROM donation_items WHERE municipality_id = {t} AND donation_id IN ({list}) ORDER BY donation_id, line_no"
        );
        let rows = with_tx!(tx, |conn| bind_args!(
            sqlx::query_as::<_, crate::donations::DonationItem>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        for r in rows {
            out.entry(r.donation_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// Number of donations of a donor (to know whether a donor record is shared).
pub async fn donor_donation_count(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donor_id: Uuid,
) -> DbResult<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM donations WHERE municipality_id = $1 AND donor_id = $2";
    Ok(with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(donor_id)
        .fetch_one(conn)
        .await?))
}

/// The raw bytes of the latest stored version of an external record (decompressed).
pub async fn latest_raw(
    tx: &mut Tx,
    tenant: MunicipalityId,
    source: &str,
    external_id: &str,
) -> DbResult<Option<Vec<u8>>> {
    const SQL: &str = "SELECT raw_deflate, raw_dictionary FROM source_records WHERE municipality_id = $1 \
        AND source = $2 AND external_id = $3 ORDER BY version DESC LIMIT 1";
    let stored: Option<(Vec<u8>, i64)> = with_tx!(tx, |conn| sqlx::query_as(SQL)
        .bind(tenant.0)
        .bind(source)
        .bind(external_id)
        .fetch_optional(conn)
        .await?);
    stored
        .map(|(s, d)| crate::source_records::decompress_stored(&s, d))
        .transpose()
}

/// Gift lines of `portal` donations whose code matched no gift of the master, grouped by code
/// (code, a received name, number of lines), most frequent first.
pub async fn unknown_gift_codes(
    db: &Db,
    tenant: MunicipalityId,
    portal: &str,
    limit: i64,
) -> DbResult<Vec<(String, String, i64)>> {
    const SQL: &str = "SELECT i.gift_code, MIN(i.name), COUNT(*) FROM donation_items i JOIN donations d ON d.id = i.donation_id \
        WHERE i.municipality_id = $1 AND d.portal = $2 AND i.gift_id IS NULL GROUP BY i.gift_code \
        ORDER BY COUNT(*) DESC, i.gift_code LIMIT $3";
    Ok(with_db!(db, |pool| sqlx::query_as::<
        _,
        (String, String, i64),
    >(SQL)
    .bind(tenant.0)
    .bind(portal)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// Links gift lines of `portal` donations that have no gift yet to the gift of the master with
/// the same code (its current version). Returns the number of lines linked.
pub async fn relink_unknown_gifts(
    tx: &mut Tx,
    tenant: MunicipalityId,
    portal: &str,
) -> DbResult<u64> {
    const SQL: &str = "UPDATE donation_items SET \
        gift_id = (SELECT g.id FROM gifts g WHERE g.municipality_id = donation_items.municipality_id AND g.code = donation_items.gift_code), \
        gift_version_id = (SELECT v.id FROM gifts g JOIN gift_versions v ON v.gift_id = g.id \
            WHERE g.municipality_id = donation_items.municipality_id AND g.code = donation_items.gift_code \
            ORDER BY v.version DESC LIMIT 1) \
        WHERE municipality_id = $1 AND gift_id IS NULL AND gift_code <> '' \
        AND EXISTS (SELECT 1 FROM gifts g WHERE g.municipality_id = donation_items.municipality_id AND g.code = donation_items.gift_code) \
        AND donation_id IN (SELECT id FROM donations WHERE municipality_id = $1 AND portal = $2)";
    Ok(with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(portal)
        .execute(conn)
        .await?
        .rows_affected()))
}

// ---------------------------------------------------------------------------------------------
// Updates of synced ledger rows (changes received from the portal)
// ---------------------------------------------------------------------------------------------

/// Sets the given columns of a donation (`updated_at` too). Column names come from the caller's
/// fixed list, never from input.
pub async fn update_donation_columns(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
    columns: Vec<(&'static str, Arg)>,
) -> DbResult<()> {
    if columns.is_empty() {
        return Ok(());
    }
    let mut args = Args::new();
    let t = args.uuid(tenant.0);
    let id = args.uuid(donation_id);
    let mut sets: Vec<String> = columns
        .into_iter()
        .map(|(c, v)| format!("{c} = {}", args.push(v)))
        .collect();
    sets.push(format!("updated_at = {}", args.timestamp(now_utc())));
    let sql = format!(
        "UPDATE donations SET {} WHERE municipality_id = {t} AND id = {id}",
        sets.join(", ")
    );
    let n = with_tx!(tx, |conn| bind_args!(
        sqlx::query(sqlx::AssertSqlSafe(sql)),
        args
    )
    .execute(conn)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("donation"));
    }
    Ok(())
}

/// Replaces the address data of a ship-to (kept in place: gift lines and partner orders point at it).
pub async fn update_ship_to(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    s: &crate::donations::NewShipTo,
) -> DbResult<()> {
    const SQL: &str = "UPDATE ship_tos SET name = $3, kana = $4, postal_code = $5, address = $6, phone = $7, \
        external_ref = $8 WHERE municipality_id = $1 AND id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(&s.name)
        .bind(&s.kana)
        .bind(&s.postal_code)
        .bind(&s.address)
        .bind(&s.phone)
        .bind(&s.external_ref)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Deletes a ship-to that the portal removed (its gift lines must be gone or moved first).
pub async fn delete_ship_to(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "DELETE FROM ship_tos WHERE municipality_id = $1 AND id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Replaces a gift line's data in place.
pub async fn update_item(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    it: &crate::donations::NewDonationItem,
) -> DbResult<()> {
    const SQL: &str = "UPDATE donation_items SET gift_id = $3, gift_version_id = $4, gift_code = $5, name = $6, \
        quantity = $7, amount = $8, ship_to_id = $9 WHERE municipality_id = $1 AND id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(it.gift_id)
        .bind(it.gift_version_id)
        .bind(&it.gift_code)
        .bind(&it.name)
        .bind(it.quantity)
        .bind(it.amount)
        .bind(it.ship_to_id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Deletes a gift line that the portal removed.
pub async fn delete_item(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "DELETE FROM donation_items WHERE municipality_id = $1 AND id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bulk inserts of the sync
// ---------------------------------------------------------------------------------------------
