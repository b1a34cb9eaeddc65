//! An RMS-shaped mock server: the same searchOrder / getOrder / updateOrderSubStatus / license
//! expiry endpoints as RMS, over an in-memory, thread-safe order store, with switchable faults.
//! Used by the integration tests and by `furusato dev rms-mock` (demo / manual testing).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use furusato_portals::rakuten::mock::{Fault, GeneratorSpec, MockConfig, MockRms};
//! let mock = MockRms::new(MockConfig::default());
//! let today = furusato_portals::rakuten::datetime::now_jst().date();
//! mock.insert_generated(GeneratorSpec::new(10_000, 42, today - time::Duration::days(60), today, "283819"));
//! mock.fail_next(1, Fault::Status503);
//! let (addr, _handle) = mock.serve("127.0.0.1:0".parse().unwrap()).await?;
//! println!("RMS mock on http://{addr}");
//! # Ok(()) }
//! ```
//!
//! # What is simulated, and the choices made where RMS is not documented
//!
//! * **Auth**: `Authorization` must equal `ESA ` + strict Base64 of `serviceSecret:licenseKey`
//!   exactly; otherwise, or when the key is expired (past `license_expiry`, or forced with
//!   [`MockRms::set_key_expired`]), HTTP 401 `{"Results":{"errorCode":"GA0001",…}}`.
//! * **Content-Type** of POSTs must be `application/json` with `charset=utf-8` → else 415 `GK0003`.
//!   A body that is not JSON → 400 `C007`.
//! * **searchOrder**: validates `dateType` (`…_ERROR_009`), `startDatetime` (`…_ERROR_010`
//!   missing, `…_ERROR_011` not `YYYY-MM-DDThh:mm:ss±hhmm`), `endDatetime`, the 63-day limit, the
//!   730-day limit (switchable), `orderProgressList` values, `requestRecordsAmount` 1..=1000,
//!   `requestPage` ≥ 1, `SortModelList`. Only `dateType` 1 (注文日) and `orderProgressList` filter;
//!   other dateTypes answer 400 (not simulated) and other filters are ignored. Zero hits →
//!   `orderNumberList: []` with all pagination fields `null`.
//! * **15,000 cap** (documented: "only the first 15,000 hits are reachable", behaviour beyond is
//!   not): `totalRecordsAmount`/`totalPages` report the true count; a page that starts at or past
//!   hit 15,000 answers HTTP 400 with ERROR [`codes::SEARCH_BEYOND_15000`]; a page straddling
//!   15,000 is cut at 15,000. We chose an error over an empty page so that a client that fails
//!   to split its window sees it loudly instead of silently losing orders.
//! * **getOrder**: ≤ 100 numbers, `version` required (`…_GET_ORDER_ERROR_009`), 3..=10 accepted;
//!   unknown numbers → a `WARNING` per `orderNumber` ([`codes::GET_ORDER_WARNING_101`]); `version`
//!   is echoed when ≥ 6. The JSON is the same for every version.
//! * Message codes RMS does not document are mock-chosen and contain `_M` (see [`codes`]).
//! * **Control API** (for the CLI; no auth, bind to loopback): `GET /_mock/stats`,
//!   `POST /_mock/faults {"fault":"status503","count":2,"endpoint":"getOrder","millis":2000}`,
//!   `DELETE /_mock/faults`, `POST /_mock/orders` (an order object or an array; upsert),
//!   `POST /_mock/license {"expired":true}`, `POST /_mock/rate-limit {"perSecond":1}`.

pub mod changes;
pub mod generate;
mod handlers;
mod store;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::PrimitiveDateTime;

pub use generate::{
    BuiltinPeople, GeneratorSpec, OrderHeader, OrderPerson, OrderPersonSource, generate_orders,
};
pub use store::StoreError;

use crate::rakuten::datetime::now_jst;

/// Message / error codes the mock answers with. Codes marked "mock-chosen" are not documented
/// by RMS; they follow the RMS pattern with an `M` number so nobody mistakes them for real ones.
pub mod codes {
    /// searchOrder success.
    pub const SEARCH_INFO_101: &str = "ORDER_EXT_API_SEARCH_ORDER_INFO_101";
    /// searchOrder zero hits.
    pub const SEARCH_INFO_102: &str = "ORDER_EXT_API_SEARCH_ORDER_INFO_102";
    /// dateType missing (documented).
    pub const SEARCH_DATE_TYPE_MISSING: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_009";
    /// startDatetime missing (documented).
    pub const SEARCH_START_MISSING: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_010";
    /// startDatetime malformed (documented).
    pub const SEARCH_START_FORMAT: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_011";
    /// dateType not 1..=6 (mock-chosen).
    pub const SEARCH_DATE_TYPE_INVALID: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M01";
    /// dateType 2..=6 are not simulated (mock-chosen).
    pub const SEARCH_DATE_TYPE_NOT_SIMULATED: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M02";
    /// endDatetime missing (mock-chosen).
    pub const SEARCH_END_MISSING: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M03";
    /// endDatetime malformed (mock-chosen).
    pub const SEARCH_END_FORMAT: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M04";
    /// end before start (mock-chosen).
    pub const SEARCH_END_BEFORE_START: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M05";
    /// window longer than 63 days (mock-chosen).
    pub const SEARCH_WINDOW_TOO_LONG: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M06";
    /// start older than 730 days (mock-chosen).
    pub const SEARCH_TOO_OLD: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M07";
    /// bad orderProgressList (mock-chosen).
    pub const SEARCH_PROGRESS_INVALID: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M08";
    /// requestRecordsAmount not 1..=1000 (mock-chosen).
    pub const SEARCH_AMOUNT_INVALID: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M09";
    /// requestPage < 1 (mock-chosen).
    pub const SEARCH_PAGE_INVALID: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M10";
    /// bad SortModelList (mock-chosen).
    pub const SEARCH_SORT_INVALID: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M11";
    /// page starts beyond the 15,000th hit (mock-chosen).
    pub const SEARCH_BEYOND_15000: &str = "ORDER_EXT_API_SEARCH_ORDER_ERROR_M12";
    /// getOrder success.
    pub const GET_ORDER_INFO_101: &str = "ORDER_EXT_API_GET_ORDER_INFO_101";
    /// getOrder per-order warning (documented code; used for unknown numbers).
    pub const GET_ORDER_WARNING_101: &str = "ORDER_EXT_API_GET_ORDER_WARNING_101";
    /// version missing (documented).
    pub const GET_ORDER_VERSION_MISSING: &str = "ORDER_EXT_API_GET_ORDER_ERROR_009";
    /// orderNumberList missing/empty (mock-chosen).
    pub const GET_ORDER_LIST_MISSING: &str = "ORDER_EXT_API_GET_ORDER_ERROR_M01";
    /// more than 100 numbers (mock-chosen).
    pub const GET_ORDER_TOO_MANY: &str = "ORDER_EXT_API_GET_ORDER_ERROR_M02";
    /// version not 3..=10 (mock-chosen).
    pub const GET_ORDER_VERSION_INVALID: &str = "ORDER_EXT_API_GET_ORDER_ERROR_M03";
    /// updateOrderSubStatus success (mock-chosen).
    pub const SUB_STATUS_INFO: &str = "ORDER_EXT_API_UPDATE_ORDER_SUB_STATUS_INFO_M01";
    /// updateOrderSubStatus bad request (mock-chosen).
    pub const SUB_STATUS_INVALID: &str = "ORDER_EXT_API_UPDATE_ORDER_SUB_STATUS_ERROR_M01";
    /// updateOrderSubStatus unknown order (mock-chosen).
    pub const SUB_STATUS_NOT_FOUND: &str = "ORDER_EXT_API_UPDATE_ORDER_SUB_STATUS_ERROR_M02";
}

/// Mock configuration.
#[derive(Clone)]
pub struct MockConfig {
    /// Accepted serviceSecret.
    pub service_secret: String,
    /// Accepted licenseKey.
    pub license_key: String,
    /// Key expiry (JST wall-clock); after it every call gets GA0001.
    pub license_expiry: PrimitiveDateTime,
    /// Reject searches starting more than 730 days ago, as RMS does (default true).
    pub enforce_730_days: bool,
}

impl MockConfig {
    /// A configuration with the given credentials and expiry.
    pub fn new(
        service_secret: impl Into<String>,
        license_key: impl Into<String>,
        license_expiry: PrimitiveDateTime,
    ) -> Self {
        MockConfig {
            service_secret: service_secret.into(),
            license_key: license_key.into(),
            license_expiry,
            enforce_730_days: true,
        }
    }
}

impl Default for MockConfig {
    /// Credentials `mock-service-secret` / `mock-license-key`, expiring in 90 days.
    fn default() -> Self {
        let exp = now_jst() + time::Duration::days(90);
        MockConfig::new(
            "mock-service-secret",
            "mock-license-key",
            PrimitiveDateTime::new(
                exp.date(),
                exp.time().replace_nanosecond(0).unwrap_or(exp.time()),
            ),
        )
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("service_secret", &"[REDACTED]")
            .field("license_key", &"[REDACTED]")
            .field("license_expiry", &self.license_expiry)
            .field("enforce_730_days", &self.enforce_730_days)
            .finish()
    }
}

/// The mock's endpoints, for targeting faults and reading counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Endpoint {
    /// `POST /es/2.0/order/searchOrder/`.
    SearchOrder,
    /// `POST /es/2.0/order/getOrder/`.
    GetOrder,
    /// `POST /es/2.0/order/updateOrderSubStatus/`.
    UpdateOrderSubStatus,
    /// `GET /es/1.0/license-management/license-key/expiry-date`.
    LicenseExpiry,
}

/// A failure injected into upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 (plain-text body).
    Status500,
    /// HTTP 503 maintenance (plain-text body).
    Status503,
    /// HTTP 429 throttling.
    Throttle429,
    /// Wait this long, then answer normally (exceed the client timeout to simulate a timeout).
    Timeout(Duration),
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// HTTP 401 GA0001 for this request only.
    ExpiredKey,
    /// HTTP 403 ES04-01 (function not enabled in RMS).
    FunctionNotEnabled,
}

/// Counters of requests received (a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MockStats {
    /// All API requests (control API excluded).
    pub requests: u64,
    /// searchOrder requests.
    pub search_order: u64,
    /// getOrder requests.
    pub get_order: u64,
    /// updateOrderSubStatus requests.
    pub update_order_sub_status: u64,
    /// License expiry requests.
    pub license_expiry: u64,
    /// Requests answered GA0001 (bad header, wrong or expired key).
    pub auth_rejected: u64,
    /// Requests answered 415.
    pub media_type_rejected: u64,
    /// Requests that consumed an injected fault.
    pub faults_injected: u64,
    /// Requests refused by the rate limit.
    pub rate_limited: u64,
    /// Orders returned by getOrder.
    pub orders_served: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    search_order: AtomicU64,
    get_order: AtomicU64,
    update_order_sub_status: AtomicU64,
    license_expiry: AtomicU64,
    auth_rejected: AtomicU64,
    media_type_rejected: AtomicU64,
    faults_injected: AtomicU64,
    rate_limited: AtomicU64,
    orders_served: AtomicU64,
}

struct RateLimiter {
    per_second: Option<u32>,
    recent: VecDeque<std::time::Instant>,
}

struct Shared {
    config: RwLock<MockConfig>,
    store: RwLock<store::Store>,
    faults: Mutex<VecDeque<(Option<Endpoint>, Fault)>>,
    key_expired: AtomicBool,
    limiter: Mutex<RateLimiter>,
    counters: Counters,
    sub_status_names: RwLock<HashMap<i64, String>>,
}

fn lock_err<T>(e: std::sync::PoisonError<T>) -> T {
    // A panicking handler must not take the whole mock down: keep using the data.
    e.into_inner()
}

impl Shared {
    fn take_fault(&self, ep: Endpoint) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap_or_else(lock_err);
        let pos = q.iter().position(|(t, _)| t.is_none_or(|t| t == ep))?;
        q.remove(pos).map(|(_, f)| f)
    }

    fn rate_limited(&self) -> bool {
        let mut l = self.limiter.lock().unwrap_or_else(lock_err);
        let Some(limit) = l.per_second else {
            return false;
        };
        let now = std::time::Instant::now();
        while l
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            l.recent.pop_front();
        }
        if l.recent.len() >= limit as usize {
            return true;
        }
        l.recent.push_back(now);
        false
    }

    fn key_is_expired(&self) -> bool {
        if self.key_expired.load(Ordering::Relaxed) {
            return true;
        }
        let exp = self.config.read().unwrap_or_else(lock_err).license_expiry;
        let now = now_jst();
        PrimitiveDateTime::new(now.date(), now.time()) > exp
    }
}

/// The mock RMS: a cheap-to-clone handle over shared state. Configure it (orders, faults,
/// rate limit) at any time, also while serving.
#[derive(Clone)]
pub struct MockRms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockRms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockRms")
            .field("orders", &self.order_count())
            .finish_non_exhaustive()
    }
}

impl MockRms {
    /// An empty mock.
    pub fn new(config: MockConfig) -> Self {
        MockRms {
            shared: Arc::new(Shared {
                config: RwLock::new(config),
                store: RwLock::new(store::Store::default()),
                faults: Mutex::new(VecDeque::new()),
                key_expired: AtomicBool::new(false),
                limiter: Mutex::new(RateLimiter {
                    per_second: None,
                    recent: VecDeque::new(),
                }),
                counters: Counters::default(),
                sub_status_names: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Adds an order (getOrder JSON with at least `orderNumber`, `orderDatetime`,
    /// `orderProgress`). Fails if the number exists.
    pub fn insert_order(&self, order: Value) -> Result<(), StoreError> {
        self.store_mut().put(&order, false).map(|_| ())
    }

    /// Adds or replaces an order (to simulate changes: address edit, cancellation, amount).
    pub fn upsert_order(&self, order: Value) -> Result<(), StoreError> {
        self.store_mut().put(&order, true).map(|_| ())
    }

    /// Registers a generated set lazily (~150 bytes per order; the JSON is rebuilt on demand).
    /// Returns the number of orders added; numbers already present are skipped.
    pub fn insert_generated(&self, spec: GeneratorSpec) -> u64 {
        self.store_mut().add_generated(spec)
    }

    /// Edits an order in place (e.g. with [`changes::cancel`]).
    pub fn update_order(
        &self,
        order_number: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<(), StoreError> {
        let mut st = self.store_mut();
        let slot = st
            .slot_of(order_number)
            .ok_or_else(|| StoreError::NotFound(order_number.to_owned()))?;
        let mut v = st.value(slot);
        edit(&mut v);
        if v.get("orderNumber").and_then(Value::as_str) != Some(order_number) {
            return Err(StoreError::MissingOrderNumber);
        }
        st.put(&v, true).map(|_| ())
    }

    /// The stored JSON of an order.
    pub fn order(&self, order_number: &str) -> Option<Value> {
        let st = self.store();
        st.slot_of(order_number).map(|s| st.value(s))
    }

    /// Number of stored orders.
    pub fn order_count(&self) -> usize {
        self.store().len()
    }

    /// Order numbers with 注文日時 in `[start, end]`, ascending (test helper; no 15,000 cap).
    pub fn order_numbers_between(
        &self,
        start: time::OffsetDateTime,
        end: time::OffsetDateTime,
    ) -> Vec<String> {
        let st = self.store();
        st.search(start.unix_timestamp(), end.unix_timestamp(), None, false)
            .into_iter()
            .map(|s| st.number(s).to_owned())
            .collect()
    }

    /// Makes the next `n` API requests (any endpoint) fail with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut q = self.shared.faults.lock().unwrap_or_else(lock_err);
        q.extend(std::iter::repeat_n((None, fault), n));
    }

    /// Makes the next `n` requests to `endpoint` fail with `fault`.
    pub fn fail_next_on(&self, endpoint: Endpoint, n: usize, fault: Fault) {
        let mut q = self.shared.faults.lock().unwrap_or_else(lock_err);
        q.extend(std::iter::repeat_n((Some(endpoint), fault), n));
    }

    /// Drops all pending faults.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap_or_else(lock_err).clear();
    }

    /// Faults not consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.lock().unwrap_or_else(lock_err).len()
    }

    /// Forces the license key to be treated as expired (GA0001 on every call) or not.
    pub fn set_key_expired(&self, expired: bool) {
        self.shared.key_expired.store(expired, Ordering::Relaxed);
    }

    /// Replaces the license key, as issuing a new key in RMS does: the old key stops working
    /// immediately.
    pub fn rotate_license_key(&self, new_key: impl Into<String>, expiry: PrimitiveDateTime) {
        let mut c = self.shared.config.write().unwrap_or_else(lock_err);
        c.license_key = new_key.into();
        c.license_expiry = expiry;
        self.shared.key_expired.store(false, Ordering::Relaxed);
    }

    /// More than `per_second` requests within one second → 429. `None` disables the limit.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut l = self.shared.limiter.lock().unwrap_or_else(lock_err);
        l.per_second = per_second;
        l.recent.clear();
    }

    /// Names a shop sub-status (returned as `subStatusName` after updateOrderSubStatus).
    pub fn add_sub_status(&self, id: i64, name: impl Into<String>) {
        self.shared
            .sub_status_names
            .write()
            .unwrap_or_else(lock_err)
            .insert(id, name.into());
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> MockStats {
        let c = &self.shared.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MockStats {
            requests: l(&c.requests),
            search_order: l(&c.search_order),
            get_order: l(&c.get_order),
            update_order_sub_status: l(&c.update_order_sub_status),
            license_expiry: l(&c.license_expiry),
            auth_rejected: l(&c.auth_rejected),
            media_type_rejected: l(&c.media_type_rejected),
            faults_injected: l(&c.faults_injected),
            rate_limited: l(&c.rate_limited),
            orders_served: l(&c.orders_served),
        }
    }

    /// Resets the counters to zero.
    pub fn reset_stats(&self) {
        let c = &self.shared.counters;
        for a in [
            &c.requests,
            &c.search_order,
            &c.get_order,
            &c.update_order_sub_status,
            &c.license_expiry,
            &c.auth_rejected,
            &c.media_type_rejected,
            &c.faults_injected,
            &c.rate_limited,
            &c.orders_served,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }

    /// A client configuration with this mock's current credentials and the given base URL
    /// (e.g. `http://127.0.0.1:PORT`); pacing/retry settings are the production defaults.
    pub fn client_config(&self, base_url: &str) -> crate::rakuten::RmsConfig {
        let c = self.shared.config.read().unwrap_or_else(lock_err);
        crate::rakuten::RmsConfig::new(c.service_secret.clone(), c.license_key.clone())
            .with_base_url(base_url)
    }

    /// The axum router (RMS endpoints + `/_mock/` control API).
    pub fn router(&self) -> axum::Router {
        handlers::router(self.shared.clone())
    }

    /// Binds `addr` (use port 0 for a free port) and serves in a background task.
    pub async fn serve(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let app = self.router();
        let handle = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((local, handle))
    }

    fn store(&self) -> std::sync::RwLockReadGuard<'_, store::Store> {
        self.shared.store.read().unwrap_or_else(lock_err)
    }

    fn store_mut(&self) -> std::sync::RwLockWriteGuard<'_, store::Store> {
        self.shared.store.write().unwrap_or_else(lock_err)
    }
}
