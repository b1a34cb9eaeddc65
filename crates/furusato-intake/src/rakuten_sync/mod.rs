//! 楽天 RMS sync: brings a municipality's 楽天ふるさと納税 orders into the ledger.
//!
//! # One run ([`run`])
//! 1. Credentials (sealed in `portal_accounts`, or given for this run), base URL, pace and
//!    getOrder version from the municipality's account (overridable per run); a run record is
//!    started (`sync_runs`, status `running`; only one run per municipality at a time).
//! 2. The license key's expiry is read (license-management endpoint) and stored. A rejected key
//!    (GA0001) ends the run as `failed` before anything is written.
//! 3. **Incremental pass**: `searchOrder` on 注文日 (dateType 1), every status, from the stored
//!    cursor minus an overlap (2 days, for late-registered orders) — or, on the first run, from
//!    `--since` or 730 days ago — to now, window by window (≤ 63 days; the client halves windows
//!    above the 15,000-hit cap). Order numbers are fetched with `getOrder` in batches of 100,
//!    mapped ([`map`]) and written in groups ([`apply`], one transaction per group of up to
//!    5,000 orders; the next group is fetched while one is written). After each window the
//!    cursor advances to the window's end — or, when orders failed, no further than the day of
//!    the earliest failed order: the cursor only moves past what is complete.
//! 4. **Second pass**: orders already in the ledger that are not in a terminal state
//!    (orderProgress neither 700 支払手続き済 nor 900 キャンセル確定) and are less than 730 days
//!    old are fetched again (except those just fetched), so that payment confirmations,
//!    cancellations and address edits on older orders are picked up.
//! 5. The run record gets its counts (fetched, created, updated, unchanged, failed), the failed
//!    orders with their reasons, unknown gift codes, and the status `succeeded`, `partial`
//!    (some orders failed) or `failed` (the run stopped: GA0001, RMS unreachable, …).
//!
//! Nothing is ever written twice: an order whose JSON did not change since its last stored
//! version is skipped without a write, so a re-run with nothing new only adds its run record.
//! Per-batch errors (undecodable JSON, an order not returned) make those orders fail, not the
//! run; authentication errors (GA0001, ES04-01) and three failing batches in a row stop it.
//!
//! The rule for 寄附日 / 受領日 / 収納状況 is in [`settlement`]; the mapping of shop-defined texts
//! (ワンストップ希望, 使い道, …) in [`choices`]; credentials in [`credentials`]; re-evaluation after
//! a mapping is saved in [`remap`].

pub mod apply;
pub mod bulk;
pub mod choices;
pub mod credentials;
pub mod map;
pub mod remap;
pub mod settlement;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use furusato_db::audit::{self, AuditEntry};
use furusato_db::intake_sync::{self, RunCounts, run_status};
use furusato_db::{Db, DbError, MunicipalityId, now_utc, source_records};
use furusato_domain::jst;
use furusato_portals::rakuten::client::{DEFAULT_BASE_URL, MAX_ORDERS_PER_CALL};
use furusato_portals::rakuten::model::GetOrderResponse;
use furusato_portals::rakuten::{
    ProgressFilter, RmsClient, RmsConfig, RmsError, SearchWindow, split_windows,
};
use furusato_vault::Keyring;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

pub use apply::FailedOrder;
use apply::{Ctx, GiftRef, GroupOutcome, Prepared};
use choices::MappingTable;
pub use credentials::Credentials;

/// The portal code of 楽天 in the ledger.
pub const PORTAL: &str = "rakuten";
/// The source name of 楽天 orders in `source_records` and `donor_sources`.
pub const SOURCE: &str = "rakuten";
/// Job kind of a sync.
pub const JOB_KIND: &str = "rakuten_sync";
/// Job kind of a re-evaluation of shop-defined texts (payload `{"key": …}`).
pub const REMAP_JOB_KIND: &str = "rakuten_remap";
/// How far back the first sync (and the second pass) reaches: RMS keeps 730 days.
pub const HISTORY_DAYS: i64 = 730;
/// Default overlap of an incremental sync with the previous one.
pub const DEFAULT_OVERLAP: Duration = Duration::days(2);
/// Orders per write transaction. Each commit writes every page it changed to the WAL, and new
/// donors change pages all over the matching indexes, so fewer, larger groups write far less
/// (a 300,000-order sync: 97 s in groups of 1,000, 57 s in groups of 5,000, 60 s and 80 MB more
/// memory in groups of 10,000). The next group is fetched while one is written, so two are in
/// memory at a time.
pub const DEFAULT_GROUP_SIZE: usize = 5000;
/// A run still `running` after this long is considered interrupted.
pub const RUN_STALE_AFTER: Duration = Duration::hours(12);
/// Municipality setting that records that the default mappings were created.
pub const DEFAULT_MAPPINGS_SETTING: &str = "intake_rakuten_default_mappings";
/// Failed batches in a row after which a run stops.
const MAX_CONSECUTIVE_BATCH_FAILURES: u32 = 3;
/// Failed orders listed in a run's detail (the count is always complete).
const MAX_LISTED_FAILURES: usize = 1000;

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The worker's schedule.
    Schedule,
    /// 「今すぐ同期」 on the screen.
    Manual,
    /// `furusato sync rakuten`.
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        match s {
            "schedule" => Some(Trigger::Schedule),
            "manual" => Some(Trigger::Manual),
            "cli" => Some(Trigger::Cli),
            _ => None,
        }
    }

    pub fn label_ja(s: &str) -> &'static str {
        match s {
            "schedule" => "定期",
            "manual" => "手動",
            "cli" => "コマンド",
            _ => "不明",
        }
    }
}

/// Client timing (tests shorten the backoff).
#[derive(Clone, Debug)]
pub struct ClientTuning {
    pub timeout: std::time::Duration,
    pub max_retries: u32,
    pub backoff_base: std::time::Duration,
    pub backoff_max: std::time::Duration,
    /// searchOrder page size (1..=1000).
    pub page_size: u32,
}

impl Default for ClientTuning {
    fn default() -> Self {
        let c = RmsConfig::new("x", "x");
        ClientTuning {
            timeout: c.timeout,
            max_retries: c.max_retries,
            backoff_base: c.backoff_base,
            backoff_max: c.backoff_max,
            page_size: c.page_size,
        }
    }
}

/// Options of one run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub trigger: Trigger,
    /// Login of whoever started it (`schedule` for the worker's schedule).
    pub started_by: String,
    /// Start of the incremental pass (JST date), instead of the cursor / 730 days.
    pub since: Option<Date>,
    /// API base URL for this run instead of the account's.
    pub base_url: Option<String>,
    /// Requests per second for this run instead of the account's (0 = unlimited).
    pub rate: Option<f64>,
    /// Credentials for this run instead of the stored ones.
    pub credentials: Option<Credentials>,
    pub overlap: Duration,
    pub group_size: usize,
    /// getOrder calls in flight at once (only useful when the pace is unlimited).
    pub fetch_concurrency: usize,
    /// Skip the second pass (re-fetching open orders).
    pub skip_second_pass: bool,
    pub tuning: ClientTuning,
    /// The audit identity of the writes (default: `started_by` as a system actor).
    pub actor: Option<AuditEntry>,
    /// Orders in one window from which, if they more than double the ledger, the run is an
    /// initial load (see [`bulk`]).
    pub bulk_load_min_orders: usize,
}

impl RunOptions {
    pub fn new(trigger: Trigger, started_by: impl Into<String>) -> Self {
        RunOptions {
            trigger,
            started_by: started_by.into(),
            since: None,
            base_url: None,
            rate: None,
            credentials: None,
            overlap: DEFAULT_OVERLAP,
            group_size: DEFAULT_GROUP_SIZE,
            fetch_concurrency: 1,
            skip_second_pass: false,
            tuning: ClientTuning::default(),
            actor: None,
            bulk_load_min_orders: bulk::DEFAULT_BULK_LOAD_MIN_ORDERS,
        }
    }
}

/// A gift code of the orders that is not in the gift master.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UnknownGift {
    pub code: String,
    pub name: String,
    pub lines: i64,
}

/// What a run did (also stored in `sync_runs`).
#[derive(Clone, Debug, Serialize)]
pub struct SyncSummary {
    pub run_id: Uuid,
    /// `succeeded` | `partial` | `failed`
    pub status: String,
    pub trigger: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub window_from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub window_to: Option<OffsetDateTime>,
    pub counts: RunCounts,
    pub elapsed_ms: u64,
    /// Orders that were not taken into the ledger (at most 1,000 listed; `counts.failed` is complete).
    pub failed_orders: Vec<FailedOrder>,
    pub unknown_gift_codes: Vec<UnknownGift>,
    /// Orders whose orderer changed while their donor is shared (see [`apply`]).
    pub donor_changes_pending: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub license_expires_at: Option<OffsetDateTime>,
    /// Where the next incremental run starts (before the overlap).
    #[serde(with = "time::serde::rfc3339::option")]
    pub cursor: Option<OffsetDateTime>,
    /// English error of a failed run (RmsError's Display).
    pub error: Option<String>,
    /// Japanese error of a failed run.
    pub error_ja: Option<String>,
    /// Gateway code of the error (e.g. `GA0001`).
    pub error_code: Option<String>,
    /// Seconds spent building the indexes an initial load deferred (see [`bulk`]); `None` when
    /// the run was not one.
    pub initial_load_index_seconds: Option<f64>,
}

impl SyncSummary {
    pub fn is_failed(&self) -> bool {
        self.status == run_status::FAILED
    }
}

/// Why a run could not start (no run record was written).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no 楽天 account is set up for this municipality and no credentials were given")]
    NoCredentials,
    #[error("a 楽天 sync is already running for this municipality")]
    AlreadyRunning,
    #[error(transparent)]
    Credentials(#[from] credentials::CredentialError),
    #[error("invalid RMS client settings: {0}")]
    Client(RmsError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SyncError {
    pub fn message_ja(&self) -> String {
        match self {
            SyncError::NoCredentials => {
                "楽天RMSの認証情報が登録されていません。取込設定で登録してください。".into()
            }
            SyncError::AlreadyRunning => {
                "この自治体の楽天同期はすでに実行中です。終了してから再度実行してください。".into()
            }
            SyncError::Credentials(e) => e.message_ja().into(),
            SyncError::Client(e) => e.message_ja(),
            SyncError::Db(_) => "システムエラーが発生しました。".into(),
        }
    }
}

/// The effective settings of a run.
struct Setup {
    client: RmsClient,
    account_id: Option<Uuid>,
}

async fn setup(
    db: &Db,
    keyring: Option<&Keyring>,
    tenant: MunicipalityId,
    opts: &RunOptions,
) -> Result<Setup, SyncError> {
    let account = intake_sync::account(db, tenant, PORTAL).await?;
    let creds = match &opts.credentials {
        Some(c) => c.clone(),
        None => credentials::stored(db, keyring, tenant)
            .await?
            .ok_or(SyncError::NoCredentials)?,
    };
    let base_url = opts
        .base_url
        .clone()
        .or_else(|| account.as_ref().map(|a| a.base_url.clone()))
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    let rate = opts
        .rate
        .or_else(|| account.as_ref().map(|a| a.requests_per_second as f64))
        .unwrap_or(1.0);
    let mut cfg = RmsConfig::new(creds.service_secret, creds.license_key).with_base_url(base_url);
    if let Some(a) = &account {
        cfg.get_order_version = u32::try_from(a.get_order_version).unwrap_or(9);
    }
    cfg.min_interval = if rate > 0.0 {
        std::time::Duration::from_secs_f64(1.0 / rate)
    } else {
        std::time::Duration::ZERO
    };
    cfg.timeout = opts.tuning.timeout;
    cfg.max_retries = opts.tuning.max_retries;
    cfg.backoff_base = opts.tuning.backoff_base;
    cfg.backoff_max = opts.tuning.backoff_max;
    cfg.page_size = opts.tuning.page_size;
    let client = RmsClient::new(cfg).map_err(SyncError::Client)?;
    Ok(Setup {
        client,
        account_id: account.map(|a| a.id),
    })
}

/// Creates the default text mappings the first time a municipality syncs (see [`choices`]).
/// Deleted defaults do not come back.
pub async fn ensure_default_mappings(db: &Db, tenant: MunicipalityId) -> Result<(), DbError> {
    if furusato_db::municipalities::setting(db, tenant, DEFAULT_MAPPINGS_SETTING)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    intake_sync::insert_missing_mappings(&mut tx, tenant, PORTAL, &choices::default_mappings())
        .await?;
    tx.commit().await?;
    furusato_db::municipalities::set_setting(
        db,
        tenant,
        DEFAULT_MAPPINGS_SETTING,
        serde_json::json!(1),
    )
    .await
}

/// The municipality's mapping table (creating the defaults on first use).
pub async fn mapping_table(db: &Db, tenant: MunicipalityId) -> Result<MappingTable, DbError> {
    ensure_default_mappings(db, tenant).await?;
    Ok(MappingTable::new(
        &intake_sync::mappings(db, tenant, PORTAL).await?,
    ))
}

/// The gift master by upper-case code.
pub async fn gift_index(
    db: &Db,
    tenant: MunicipalityId,
) -> Result<HashMap<String, GiftRef>, DbError> {
    Ok(furusato_db::gifts::gifts(db, tenant)
        .await?
        .into_iter()
        .map(|g| {
            (
                g.code.trim().to_uppercase(),
                GiftRef {
                    gift_id: g.id,
                    version_id: g.version_id,
                },
            )
        })
        .collect())
}

/// Reads the license key's expiry from RMS and stores it on the account (the 「有効期限を確認」
/// button). Uses the stored credentials.
pub async fn check_license(
    db: &Db,
    keyring: Option<&Keyring>,
    tenant: MunicipalityId,
) -> Result<OffsetDateTime, CheckError> {
    let opts = RunOptions::new(Trigger::Manual, "");
    let s = setup(db, keyring, tenant, &opts)
        .await
        .map_err(CheckError::Setup)?;
    let exp = s.client.license_expiry().await.map_err(CheckError::Rms)?;
    if let Some(id) = s.account_id {
        intake_sync::set_license_expiry(db, tenant, id, Some(exp))
            .await
            .map_err(|e| CheckError::Setup(e.into()))?;
    }
    Ok(exp)
}

/// Why the license check failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Setup(SyncError),
    #[error(transparent)]
    Rms(RmsError),
}

impl CheckError {
    pub fn message_ja(&self) -> String {
        match self {
            CheckError::Setup(e) => e.message_ja(),
            CheckError::Rms(e) => e.message_ja(),
        }
    }
}

/// The start of a JST day.
fn jst_midnight(d: Date) -> OffsetDateTime {
    jst::start_of_day(d)
}

/// The order date encoded in a 楽天 order number (`shop-YYYYMMDD-seq`), at 00:00 JST.
pub fn date_of_order_number(n: &str) -> Option<OffsetDateTime> {
    let part = n.split('-').nth(1)?;
    if part.len() != 8 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = part[..4].parse().ok()?;
    let m: u8 = part[4..6].parse().ok()?;
    let d: u8 = part[6..].parse().ok()?;
    let date = Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    Some(jst_midnight(date))
}

fn number_hash(n: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    n.hash(&mut h);
    h.finish()
}

/// A batch of orders fetched and prepared for writing.
struct PreparedBatch {
    prepared: Vec<Prepared>,
    /// Raw JSON of orders that could not be mapped (kept as evidence).
    raw_only: Vec<(String, Vec<u8>)>,
    failed: Vec<FailedOrder>,
    fetched: i64,
}

/// 注文日時 of an order that could not be taken: from `orderDatetime`, else from the date in its
/// number.
fn ordered_at(order_datetime: Option<&str>, number: &str) -> Option<OffsetDateTime> {
    order_datetime
        .and_then(|s| furusato_portals::rakuten::datetime::parse_rms_datetime(s).ok())
        .or_else(|| date_of_order_number(number))
}

/// Decodes, maps, hashes and compresses a getOrder response (CPU work, run off the async threads).
fn prepare_batch(
    resp: GetOrderResponse,
    requested: &[String],
    table: &MappingTable,
    observed_on: Date,
) -> PreparedBatch {
    use furusato_portals::rakuten::OrderModel;
    use furusato_portals::rakuten::model::OrderHead;
    let mut messages: HashMap<String, String> = HashMap::new();
    for m in resp.message_model_list.unwrap_or_default() {
        if let Some(n) = &m.order_number
            && (m.is_warning() || m.is_error())
        {
            messages.insert(
                n.clone(),
                format!(
                    "{} {}",
                    m.message_code.as_deref().unwrap_or(""),
                    m.message.as_deref().unwrap_or("")
                )
                .trim()
                .to_string(),
            );
        }
    }
    let orders = resp.order_model_list.unwrap_or_default();
    let mut out = PreparedBatch {
        prepared: Vec::with_capacity(orders.len()),
        raw_only: Vec::new(),
        failed: Vec::new(),
        fetched: orders.len() as i64,
    };
    let mut returned: HashSet<String> = HashSet::with_capacity(orders.len());
    for raw in orders {
        // The order's bytes exactly as RMS sent them: hashed, stored, and decoded from directly.
        let bytes = raw.get().as_bytes();
        let model = match serde_json::from_str::<OrderModel>(raw.get()) {
            Ok(m) => m,
            Err(e) => {
                let head = OrderHead::of(&raw);
                let number = head.order_number().unwrap_or("").to_string();
                returned.insert(number.clone());
                out.failed.push(FailedOrder {
                    order_number: number.clone(),
                    reason: format!("the order JSON does not decode: {e}"),
                    reason_ja: "注文データの形式を解釈できません（生データは保存しました）。"
                        .into(),
                    ordered_at: ordered_at(head.order_datetime(), &number),
                });
                if !number.is_empty() {
                    out.raw_only.push((number, bytes.to_vec()));
                }
                continue;
            }
        };
        let number = model.order_number.clone();
        returned.insert(number.clone());
        match map::map_order(&model, table, observed_on) {
            Ok(mapped) => {
                let hash = Sha256::digest(bytes).to_vec();
                let compressed = source_records::compress_with(
                    bytes,
                    source_records::Dictionary::for_source(SOURCE),
                );
                let keys = crate::matching::MatchKeys::of_new(&mapped.orderer);
                out.prepared.push(Prepared {
                    number,
                    hash,
                    compressed,
                    mapped,
                    keys,
                });
            }
            Err(e) => {
                out.failed.push(FailedOrder {
                    ordered_at: ordered_at(model.order_datetime.as_deref(), &number),
                    order_number: number.clone(),
                    reason: e.to_string(),
                    reason_ja: format!("{}（生データは保存しました）", e.message_ja()),
                });
                out.raw_only.push((number, bytes.to_vec()));
            }
        }
    }
    for n in requested {
        if !returned.contains(n) {
            let msg = messages.get(n).cloned().unwrap_or_default();
            out.failed.push(FailedOrder {
                order_number: n.clone(),
                reason: format!("getOrder did not return the order {msg}")
                    .trim()
                    .to_string(),
                reason_ja: "注文情報取得（getOrder）で注文が返されませんでした。".into(),
                ordered_at: date_of_order_number(n),
            });
        }
    }
    out
}

async fn fetch_batch(
    client: RmsClient,
    numbers: Vec<String>,
    table: Arc<MappingTable>,
    observed_on: Date,
) -> Result<PreparedBatch, RmsError> {
    let resp = client.get_order_batch(&numbers).await?;
    // Decoding and compressing a batch takes a few milliseconds: done right here, on the
    // runtime's worker threads (a blocking-pool thread per batch would give glibc a malloc
    // arena per thread and multiply the resident memory).
    Ok(prepare_batch(resp, &numbers, &table, observed_on))
}

/// The state of a run in progress.
struct RunState<'a> {
    db: &'a Db,
    tenant: MunicipalityId,
    run_id: Uuid,
    client: RmsClient,
    table: Arc<MappingTable>,
    gifts: HashMap<String, GiftRef>,
    observed_on: Date,
    actor: AuditEntry,
    opts: &'a RunOptions,
    counts: RunCounts,
    outcome: GroupOutcome,
    /// Numbers fetched in this run (hashed), so the second pass skips them.
    fetched: HashSet<u64>,
    /// The earliest 注文日時 of a failed order of the incremental pass.
    min_failed_at: Option<OffsetDateTime>,
    cursor: Option<OffsetDateTime>,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
    in_second_pass: bool,
    /// Whether the run writes through a connection of its own (an initial load needs one).
    own_writer: bool,
    /// The initial load in progress, if this run is one (see [`bulk`]).
    bulk: Option<bulk::BulkLoad>,
}

impl RunState<'_> {
    fn note_failures(&mut self, failed: &[FailedOrder], window_start: OffsetDateTime) {
        if self.in_second_pass {
            return;
        }
        for f in failed {
            let at = f.ordered_at.unwrap_or(window_start);
            self.min_failed_at = Some(self.min_failed_at.map_or(at, |m| m.min(at)));
        }
    }

    async fn flush(&mut self, group: &mut Vec<Prepared>, raw_only: &mut Vec<(String, Vec<u8>)>) {
        if !raw_only.is_empty() {
            if let Err(e) = store_raw_only(self.db, self.tenant, self.run_id, raw_only).await {
                tracing::warn!(error = %e, "raw JSON of failed orders could not be stored");
            }
            raw_only.clear();
        }
        if group.is_empty() {
            return;
        }
        let orders = std::mem::take(group);
        let ctx = Ctx {
            db: self.db,
            tenant: self.tenant,
            run_id: self.run_id,
            table: &self.table,
            gifts: &self.gifts,
            observed_on: self.observed_on,
            actor: &self.actor,
        };
        let o = apply::apply_group(&ctx, orders, self.bulk.as_mut()).await;
        self.counts.created += o.created;
        self.counts.updated += o.updated;
        self.counts.unchanged += o.unchanged;
        self.counts.failed += o.failed.len() as i64;
        let start = self.window.map(|w| w.0).unwrap_or_else(now_utc);
        self.note_failures(&o.failed, start);
        self.outcome.merge(o);
        self.progress().await;
    }

    async fn progress(&mut self) {
        let s = self.client.stats();
        self.counts.requests = s.requests as i64;
        self.counts.retries = s.retries as i64;
        if let Err(e) =
            intake_sync::update_run_progress(self.db, self.run_id, &self.counts, self.window).await
        {
            tracing::warn!(error = %e, "run progress could not be saved");
        }
    }

    /// Fetches and writes `numbers`. Returns the error that stopped the run, if any.
    async fn process(
        &mut self,
        numbers: Vec<String>,
        window_start: OffsetDateTime,
    ) -> Result<(), RmsError> {
        if numbers.is_empty() {
            return Ok(());
        }
        self.maybe_start_bulk_load(numbers.len()).await;
        for n in &numbers {
            self.fetched.insert(number_hash(n));
        }
        let numbers_len = numbers.len();
        let batches: Vec<Vec<String>> = numbers
            .chunks(MAX_ORDERS_PER_CALL)
            .map(<[String]>::to_vec)
            .collect();
        let concurrency = self.opts.fetch_concurrency.max(1);
        // Room for a whole group: the next group is fetched and prepared while one is written.
        let room = self.opts.group_size.max(1).div_ceil(MAX_ORDERS_PER_CALL) + concurrency;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(room);
        let client = self.client.clone();
        let table = self.table.clone();
        let observed_on = self.observed_on;
        let producer = tokio::spawn(async move {
            let mut stream = futures::stream::iter(batches.into_iter().map(move |b| {
                let c = client.clone();
                let t = table.clone();
                async move {
                    let r = fetch_batch(c, b.clone(), t, observed_on).await;
                    (b, r)
                }
            }))
            .buffered(concurrency);
            while let Some(item) = stream.next().await {
                if sender.send(item).await.is_err() {
                    break;
                }
            }
        });
        let mut group: Vec<Prepared> = Vec::new();
        let mut raw_only: Vec<(String, Vec<u8>)> = Vec::new();
        let mut consecutive = 0u32;
        let mut fatal = None;
        // Where the time goes (logged at debug level): waiting for fetched orders, writing.
        let (mut t_wait, mut t_write) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let mut t0 = std::time::Instant::now();
        while let Some((batch, r)) = receiver.recv().await {
            t_wait += t0.elapsed();
            match r {
                Ok(b) => {
                    consecutive = 0;
                    self.counts.fetched += b.fetched;
                    self.counts.failed += b.failed.len() as i64;
                    self.note_failures(&b.failed, window_start);
                    self.outcome.failed.extend(b.failed);
                    group.extend(b.prepared);
                    raw_only.extend(b.raw_only);
                }
                Err(e) if e.is_auth() || e.gateway_code() == Some("ES04-01") => {
                    fatal = Some(e);
                    break;
                }
                Err(e) => {
                    consecutive += 1;
                    tracing::warn!(error = %e, orders = batch.len(), "a getOrder batch failed");
                    let failed: Vec<FailedOrder> = batch
                        .iter()
                        .map(|n| FailedOrder {
                            order_number: n.clone(),
                            reason: format!("getOrder failed: {e}"),
                            reason_ja: format!("注文情報取得に失敗しました: {}", e.message_ja()),
                            ordered_at: date_of_order_number(n),
                        })
                        .collect();
                    self.counts.failed += failed.len() as i64;
                    self.note_failures(&failed, window_start);
                    self.outcome.failed.extend(failed);
                    if consecutive >= MAX_CONSECUTIVE_BATCH_FAILURES {
                        fatal = Some(e);
                        break;
                    }
                }
            }
            if group.len() >= self.opts.group_size.max(1) {
                let t1 = std::time::Instant::now();
                self.flush(&mut group, &mut raw_only).await;
                t_write += t1.elapsed();
            }
            t0 = std::time::Instant::now();
        }
        drop(receiver);
        producer.abort();
        let t1 = std::time::Instant::now();
        self.flush(&mut group, &mut raw_only).await;
        t_write += t1.elapsed();
        tracing::debug!(
            orders = numbers_len,
            wait_fetch_s = t_wait.as_secs_f64(),
            write_s = t_write.as_secs_f64(),
            "sync window timings"
        );
        match fatal {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Starts an initial load if this window of `orders` orders is one (see [`bulk`]). If the
    /// indexes cannot be deferred, the run goes on the normal way.
    async fn maybe_start_bulk_load(&mut self, orders: usize) {
        if self.bulk.is_some() {
            return;
        }
        let by = format!("rakuten sync {}", self.run_id);
        let started = async {
            if !bulk::BulkLoad::wanted(
                self.db,
                self.own_writer,
                orders,
                self.opts.bulk_load_min_orders,
            )
            .await?
            {
                return Ok(None);
            }
            bulk::BulkLoad::start(self.db, self.tenant, &by).await
        }
        .await;
        match started {
            Ok(b) => self.bulk = b,
            Err(e) => {
                tracing::warn!(error = %e, "could not start an initial load; syncing with every index")
            }
        }
    }

    /// Builds the indexes an initial load deferred (at the end of the run, whatever its
    /// outcome). Returns the seconds it took, if the run was an initial load.
    async fn finish_bulk_load(&mut self) -> Result<Option<f64>, DbError> {
        match self.bulk.take() {
            Some(b) => {
                let started = std::time::Instant::now();
                b.finish(self.db).await?;
                Ok(Some(started.elapsed().as_secs_f64()))
            }
            None => Ok(None),
        }
    }

    /// Moves the cursor after a completed window (never backwards, never past a failure).
    async fn advance_cursor(&mut self, window_end: OffsetDateTime) -> Result<(), DbError> {
        let target = match self.min_failed_at {
            Some(f) => f.min(window_end),
            None => window_end,
        };
        if self.cursor.is_some_and(|c| c >= target) {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        intake_sync::set_cursor(&mut tx, self.tenant, PORTAL, target).await?;
        tx.commit().await?;
        self.cursor = Some(target);
        Ok(())
    }
}

/// Keeps the raw JSON of orders that could not be mapped (no donation), unless unchanged.
async fn store_raw_only(
    db: &Db,
    tenant: MunicipalityId,
    run_id: Uuid,
    list: &[(String, Vec<u8>)],
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let now = now_utc();
    for (number, raw) in list {
        let rec = furusato_db::source_records::NewSourceRecord {
            source: SOURCE,
            external_id: number,
            raw,
            donation_id: None,
            donor_id: None,
            import_id: None,
            sync_run_id: Some(run_id),
            received_at: now,
        };
        furusato_db::source_records::put(&mut tx, tenant, &rec).await?;
    }
    tx.commit().await
}

/// Runs one sync for a municipality (see the module documentation). A run that starts always
/// returns its summary, also when it failed (`status` `failed`, with the error); `Err` means no
/// run was started.
pub async fn run(
    db: &Db,
    keyring: Option<&Keyring>,
    tenant: MunicipalityId,
    opts: RunOptions,
) -> Result<SyncSummary, SyncError> {
    let started = std::time::Instant::now();
    let setup = setup(db, keyring, tenant, &opts).await?;
    let table = Arc::new(mapping_table(db, tenant).await?);
    let gifts = gift_index(db, tenant).await?;
    let run_id = match intake_sync::start_run(
        db,
        tenant,
        PORTAL,
        opts.trigger.as_str(),
        &opts.started_by,
        RUN_STALE_AFTER,
    )
    .await
    {
        Ok(id) => id,
        Err(DbError::Conflict(_)) => return Err(SyncError::AlreadyRunning),
        Err(e) => return Err(e.into()),
    };
    let actor = opts.actor.clone().unwrap_or_else(|| AuditEntry {
        municipality_id: Some(tenant),
        user_login: if opts.started_by.is_empty() {
            "system".into()
        } else {
            opts.started_by.clone()
        },
        role: "system".into(),
        ..Default::default()
    });
    let actor = AuditEntry {
        action: "rakuten_sync.apply".into(),
        municipality_id: Some(tenant),
        ..actor
    };
    let cursor = intake_sync::cursor(db, tenant, PORTAL).await?;
    // The run's writes go through one connection of their own (see `Db::dedicated_writer`);
    // if it cannot be opened, through the shared pool.
    let own_writer = db.dedicated_writer().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "no connection of its own for the sync; using the pool");
        None
    });
    let mut st = RunState {
        db: own_writer.as_ref().map_or(db, |w| w.db()),
        tenant,
        run_id,
        client: setup.client,
        table,
        gifts,
        observed_on: jst::today_jst(),
        actor,
        opts: &opts,
        counts: RunCounts::default(),
        outcome: GroupOutcome::default(),
        fetched: HashSet::new(),
        min_failed_at: None,
        cursor,
        window: None,
        in_second_pass: false,
        own_writer: own_writer.is_some(),
        bulk: None,
    };
    let mut warnings: Vec<String> = Vec::new();
    let mut license_expires_at = None;
    // Indexes an earlier initial load could not build (see `bulk`): build them first.
    if let Err(e) = furusato_db::dialect::restore_deferred_indexes(st.db).await {
        tracing::warn!(error = %e, "indexes left deferred by an earlier load could not be built");
    }

    let result = run_passes(
        &mut st,
        setup.account_id,
        &mut warnings,
        &mut license_expires_at,
    )
    .await;
    // An initial load's indexes are built before the run is reported finished. If that fails,
    // they stay listed in `deferred_indexes` and the next start of furusato builds them.
    let initial_load_index_seconds = match st.finish_bulk_load().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the indexes an initial load deferred could not be built; the next start builds them");
            warnings.push(format!("the indexes deferred by the initial load could not be built ({e}); they are built at the next start or sync"));
            None
        }
    };
    st.progress().await;

    let (status, error) = match &result {
        Ok(()) if st.counts.failed > 0 => (run_status::PARTIAL, None),
        Ok(()) => (run_status::SUCCEEDED, None),
        Err(e) => (run_status::FAILED, Some(e)),
    };
    for (code, n) in &st.outcome.unknown_settlements {
        warnings.push(format!("unknown settlementMethodCode {code} in {n} orders: treated as paid later (bank-transfer rule)"));
    }
    let unknown_gift_codes: Vec<UnknownGift> = st
        .outcome
        .unknown_gifts
        .iter()
        .map(|(code, (name, lines))| UnknownGift {
            code: code.clone(),
            name: name.clone(),
            lines: *lines,
        })
        .collect();
    let failed_total = st.outcome.failed.len();
    let mut failed_orders = std::mem::take(&mut st.outcome.failed);
    failed_orders.truncate(MAX_LISTED_FAILURES);
    let summary = SyncSummary {
        run_id,
        status: status.to_string(),
        trigger: opts.trigger.as_str().to_string(),
        window_from: st.window.map(|w| w.0),
        window_to: st.window.map(|w| w.1),
        counts: st.counts,
        elapsed_ms: started.elapsed().as_millis() as u64,
        failed_orders,
        unknown_gift_codes,
        donor_changes_pending: st.outcome.donor_changes_pending.clone(),
        warnings,
        license_expires_at,
        cursor: st.cursor,
        error: error.map(|e| e.to_string()),
        error_ja: error.map(RunError::message_ja),
        error_code: error.and_then(RunError::code),
        initial_load_index_seconds,
    };
    let detail = serde_json::json!({
        "failed_orders": summary.failed_orders,
        "failed_total": failed_total,
        "unknown_gift_codes": summary.unknown_gift_codes,
        "donor_changes_pending": summary.donor_changes_pending,
        "warnings": summary.warnings,
        "versions_only": st.outcome.versions_only,
        "error_ja": summary.error_ja,
        "error_code": summary.error_code,
        "license_expires_at": summary.license_expires_at.map(|t| t.to_string()),
        "elapsed_ms": summary.elapsed_ms,
        "initial_load_index_seconds": summary.initial_load_index_seconds,
    });
    let mut tx = db.begin().await?;
    intake_sync::finish_run(
        &mut tx,
        run_id,
        status,
        &st.counts,
        summary.error.as_deref().unwrap_or(""),
        &detail,
    )
    .await?;
    // The run record is the history of every run; the audit trail gets a summary only of runs
    // that wrote ledger data (each write group has its own entry too), so that a run with
    // nothing new adds no row but its run record.
    let wrote = st.counts.created + st.counts.updated + st.outcome.versions_only > 0;
    if wrote {
        append_run_audit(&mut tx, &st, &summary, status, opts.trigger).await?;
    }
    tx.commit().await?;
    if let Some(w) = own_writer {
        w.close().await;
    }
    Ok(summary)
}

async fn append_run_audit(
    tx: &mut furusato_db::Tx,
    st: &RunState<'_>,
    summary: &SyncSummary,
    status: &str,
    trigger: Trigger,
) -> Result<(), DbError> {
    let entry = st.actor.clone();
    let entry = AuditEntry {
        action: "rakuten_sync.run".into(),
        ..entry
    }
    .target("sync_run", summary.run_id)
    .detail(serde_json::json!({
        "status": status,
        "trigger": trigger.as_str(),
        "fetched": st.counts.fetched,
        "created": st.counts.created,
        "updated": st.counts.updated,
        "unchanged": st.counts.unchanged,
        "failed": st.counts.failed,
        "error_code": summary.error_code,
    }));
    audit::append(tx, &entry).await?;
    Ok(())
}

/// What stopped a run.
#[derive(Debug)]
enum RunError {
    Rms(RmsError),
    Db(DbError),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Rms(e) => e.fmt(f),
            RunError::Db(e) => write!(f, "database error: {e}"),
        }
    }
}

impl RunError {
    fn message_ja(&self) -> String {
        match self {
            RunError::Rms(e) => e.message_ja(),
            RunError::Db(_) => {
                "データベースの処理に失敗しました。管理者に連絡してください。".into()
            }
        }
    }

    fn code(&self) -> Option<String> {
        match self {
            RunError::Rms(e) => e.gateway_code().map(str::to_string),
            RunError::Db(_) => None,
        }
    }
}

impl From<RmsError> for RunError {
    fn from(e: RmsError) -> Self {
        RunError::Rms(e)
    }
}

impl From<DbError> for RunError {
    fn from(e: DbError) -> Self {
        RunError::Db(e)
    }
}

async fn run_passes(
    st: &mut RunState<'_>,
    account_id: Option<Uuid>,
    warnings: &mut Vec<String>,
    license_expires_at: &mut Option<OffsetDateTime>,
) -> Result<(), RunError> {
    // The license key first: a rejected key stops the run before anything is written.
    match st.client.license_expiry().await {
        Ok(exp) => {
            *license_expires_at = Some(exp);
            if let Some(id) = account_id {
                intake_sync::set_license_expiry(st.db, st.tenant, id, Some(exp)).await?;
            }
        }
        Err(e) if e.is_auth() => return Err(e.into()),
        Err(e) => warnings.push(format!("the license key's expiry could not be read: {e}")),
    }

    let now = furusato_portals::rakuten::window::truncate_to_second(now_utc());
    let earliest = now - Duration::days(HISTORY_DAYS) + Duration::hours(1);
    let start = match (st.opts.since, st.cursor) {
        (Some(d), _) => jst_midnight(d),
        (None, Some(c)) => c - st.opts.overlap,
        (None, None) => earliest,
    }
    .max(earliest);
    st.window = Some((start, now));
    st.progress().await;

    // Incremental pass, window by window.
    for (ws, we) in split_windows(start, now) {
        let t = std::time::Instant::now();
        let numbers = st
            .client
            .search_order_numbers(
                SearchWindow::by_order_datetime(ws, we),
                &ProgressFilter::All,
            )
            .await?;
        tracing::debug!(
            orders = numbers.len(),
            search_s = t.elapsed().as_secs_f64(),
            "sync window searched"
        );
        st.process(numbers, ws).await?;
        st.advance_cursor(we).await?;
    }

    // Second pass: open orders already in the ledger.
    if !st.opts.skip_second_pass {
        st.in_second_pass = true;
        let mut after = String::new();
        loop {
            let page =
                intake_sync::open_orders(st.db, st.tenant, PORTAL, earliest, &after, 2000).await?;
            let Some(last) = page.last() else { break };
            after = last.clone();
            let todo: Vec<String> = page
                .into_iter()
                .filter(|n| !st.fetched.contains(&number_hash(n)))
                .collect();
            st.process(todo, earliest).await?;
        }
    }
    Ok(())
}

/// The Japanese label of a run status.
pub fn status_label_ja(status: &str) -> &'static str {
    match status {
        run_status::RUNNING => "実行中",
        run_status::SUCCEEDED => "成功",
        run_status::PARTIAL => "一部失敗",
        run_status::FAILED => "失敗",
        _ => "不明",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_number_dates() {
        let t = date_of_order_number("283819-20251231-0000000001").unwrap();
        assert_eq!(
            t.to_offset(jst::JST).date(),
            time::macros::date!(2025 - 12 - 31)
        );
        assert_eq!(t.to_offset(jst::JST).hour(), 0);
        assert!(date_of_order_number("x").is_none());
        assert!(date_of_order_number("1-2025123-1").is_none());
        assert!(date_of_order_number("1-20251332-1").is_none());
    }

    #[test]
    fn triggers() {
        for t in [Trigger::Schedule, Trigger::Manual, Trigger::Cli] {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
        }
        assert_eq!(Trigger::label_ja("manual"), "手動");
    }
}
