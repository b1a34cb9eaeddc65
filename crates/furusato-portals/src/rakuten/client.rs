//! [`RmsClient`]: the RakutenPayOrderAPI client (searchOrder, getOrder, license expiry, and one
//! write function, updateOrderSubStatus).
//!
//! * Every request carries `Authorization: ESA base64(serviceSecret:licenseKey)` (strict Base64,
//!   no wrapping) and `Content-Type: application/json; charset=utf-8`.
//! * One shared pacer per client (and its clones) keeps at least `min_interval` between the starts
//!   of two requests (RMS guideline: 1 request / second / shop).
//! * Reads are retried on 429, 5xx, timeouts and connection errors with exponential backoff and
//!   jitter; writes are never retried.
//! * The license key and the secret never appear in an error, a log line or `Debug` output.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::datetime::{JST, format_rms_datetime, parse_expiry_datetime};
use super::error::{RmsError, redact_excerpt};
use super::model::{
    FetchedOrder, GatewayEnvelope, GetOrderRequest, GetOrderResponse, LicenseExpiryResponse,
    MessageModel, MessagesResponse, OrderHead, OrderModel, PaginationRequestModel,
    SearchOrderRequest, SearchOrderResponse, SortModel, UpdateOrderSubStatusRequest,
};
use super::window::{
    MAX_REACHABLE_HITS, ProgressFilter, SearchWindow, halve, split_windows, truncate_to_second,
};

/// Production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.rms.rakuten.co.jp";
/// Path of searchOrder.
pub const SEARCH_ORDER_PATH: &str = "/es/2.0/order/searchOrder/";
/// Path of getOrder.
pub const GET_ORDER_PATH: &str = "/es/2.0/order/getOrder/";
/// Path of updateOrderSubStatus.
pub const UPDATE_ORDER_SUB_STATUS_PATH: &str = "/es/2.0/order/updateOrderSubStatus/";
/// Path of the license-key expiry check (GET, `?licenseKey=`).
pub const LICENSE_EXPIRY_PATH: &str = "/es/1.0/license-management/license-key/expiry-date";
/// The exact Content-Type RMS requires (without `charset` → HTTP 415).
pub const CONTENT_TYPE_JSON_UTF8: &str = "application/json; charset=utf-8";
/// Maximum order numbers per getOrder / write call.
pub const MAX_ORDERS_PER_CALL: usize = 100;
/// Maximum `requestRecordsAmount`.
pub const MAX_PAGE_SIZE: u32 = 1000;

const EXCERPT_CHARS: usize = 200;

/// Builds the `Authorization` header value: `ESA ` + strict Base64 of `serviceSecret:licenseKey`.
/// The result is a credential: never log it.
pub fn esa_authorization(service_secret: &str, license_key: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(format!("{service_secret}:{license_key}").as_bytes());
    format!("ESA {b64}")
}

/// Client configuration. `Debug` shows the secret and the key as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct RmsConfig {
    /// API host, default [`DEFAULT_BASE_URL`]; a mock's `http://127.0.0.1:port` in tests.
    pub base_url: String,
    /// serviceSecret (per shop).
    pub service_secret: SecretString,
    /// licenseKey (per shop, 90 days).
    pub license_key: SecretString,
    /// getOrder `version` (default 9; 10 adds social-gift fields).
    pub get_order_version: u32,
    /// Minimum time between the starts of two requests of this client (default 1 s; zero
    /// disables pacing).
    pub min_interval: Duration,
    /// Per-request timeout (default 30 s).
    pub timeout: Duration,
    /// Retries for reads after the first attempt (default 4). Writes are never retried.
    pub max_retries: u32,
    /// First backoff delay; doubled per retry, with jitter (default 1 s).
    pub backoff_base: Duration,
    /// Upper bound of one backoff delay, also caps `Retry-After` (default 30 s).
    pub backoff_max: Duration,
    /// searchOrder page size, 1..=1000 (default 1000).
    pub page_size: u32,
}

impl RmsConfig {
    /// Configuration with the production defaults.
    pub fn new(service_secret: impl Into<String>, license_key: impl Into<String>) -> Self {
        RmsConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            service_secret: SecretString::from(service_secret.into()),
            license_key: SecretString::from(license_key.into()),
            get_order_version: 9,
            min_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Sets the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// Request counters of one client (shared by its clones), for the sync run history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// HTTP requests sent (including retries).
    pub requests: u64,
    /// Retries performed.
    pub retries: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// Requests that timed out.
    pub timeouts: u64,
}

#[derive(Default)]
struct StatsInner {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    timeouts: AtomicU64,
}

/// Keeps at least `interval` between the starts of consecutive requests, across all tasks
/// sharing it. Waiters are served in FIFO order (tokio's mutex is fair).
struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        if let Some(t) = *next {
            tokio::time::sleep_until(t).await;
        }
        *next = Some(Instant::now() + self.interval);
    }
}

/// Result of [`RmsClient::get_orders`].
#[derive(Debug, Clone, Default)]
pub struct GetOrdersResult {
    /// Orders returned and decoded, in response order.
    pub orders: Vec<FetchedOrder>,
    /// WARNING/ERROR messages that name an `orderNumber` (partial failures).
    pub order_messages: Vec<MessageModel>,
    /// Requested numbers for which no order came back (whether or not a message names them).
    pub missing: Vec<String>,
    /// Orders returned that did not fit [`OrderModel`]; the raw JSON is kept.
    pub undecodable: Vec<UndecodableOrder>,
}

/// An order whose JSON did not decode into [`OrderModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct UndecodableOrder {
    /// `orderNumber`, if present in the JSON.
    pub order_number: Option<String>,
    /// Decoder message.
    pub error: String,
    /// Raw JSON as received.
    pub raw: serde_json::Value,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
    service_secret: SecretString,
    license_key: SecretString,
    get_order_version: u32,
    timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    page_size: u32,
    pacer: Pacer,
    stats: StatsInner,
}

/// RakutenPayOrderAPI client for one shop. Cheap to clone; clones share the pacer and stats.
#[derive(Clone)]
pub struct RmsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RmsClient")
            .field("base", &self.inner.base)
            .field("credentials", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Response {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    Timeout,
    Transport(String),
}

impl RmsClient {
    /// Builds a client. Fails on an unusable base URL, page size or credentials.
    pub fn new(config: RmsConfig) -> Result<Self, RmsError> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RmsError::InvalidRequest(format!(
                "base URL must start with https:// or http://, got {base:?}"
            )));
        }
        if config.page_size == 0 || config.page_size > MAX_PAGE_SIZE {
            return Err(RmsError::InvalidRequest(format!(
                "page size must be 1..=1000, got {}",
                config.page_size
            )));
        }
        let secret = config.service_secret.expose_secret();
        let key = config.license_key.expose_secret();
        if secret.is_empty() || key.is_empty() {
            return Err(RmsError::InvalidRequest(
                "service secret and license key must not be empty".to_owned(),
            ));
        }
        let mut auth = HeaderValue::from_str(&esa_authorization(secret, key)).map_err(|_| {
            RmsError::InvalidRequest("credentials produce an invalid header".to_owned())
        })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("furusato/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RmsError::Transport(format!("cannot build HTTP client: {e}")))?;
        Ok(RmsClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                service_secret: config.service_secret,
                license_key: config.license_key,
                get_order_version: config.get_order_version,
                timeout: config.timeout,
                max_retries: config.max_retries,
                backoff_base: config.backoff_base,
                backoff_max: config.backoff_max,
                page_size: config.page_size,
                pacer: Pacer {
                    interval: config.min_interval,
                    next: Mutex::new(None),
                },
                stats: StatsInner::default(),
            }),
        })
    }

    /// Request counters since the client was built.
    pub fn stats(&self) -> ClientStats {
        let s = &self.inner.stats;
        ClientStats {
            requests: s.requests.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            throttled: s.throttled.load(Ordering::Relaxed),
            timeouts: s.timeouts.load(Ordering::Relaxed),
        }
    }

    /// The configured getOrder version.
    pub fn get_order_version(&self) -> u32 {
        self.inner.get_order_version
    }

    // -----------------------------------------------------------------------------------------
    // High level
    // -----------------------------------------------------------------------------------------

    /// Lists every order number in `window` (inclusive), for the given statuses.
    ///
    /// The range is first cut into ≤ 63-day windows ([`split_windows`]); each window is paged
    /// (1000 per page, sorted by 注文日時 ascending); a window reporting more than 15,000 hits is
    /// halved recursively, down to one second ([`RmsError::WindowTooDense`] beyond that).
    /// Numbers are returned once each, in ascending window order. Zero hits → empty list.
    pub async fn search_order_numbers(
        &self,
        window: SearchWindow,
        progress: &ProgressFilter,
    ) -> Result<Vec<String>, RmsError> {
        let start = truncate_to_second(window.start);
        let end = truncate_to_second(window.end);
        if start > end {
            return Err(RmsError::InvalidRequest(format!(
                "search window starts after it ends ({} > {})",
                format_rms_datetime(start),
                format_rms_datetime(end)
            )));
        }
        if let ProgressFilter::Only(v) = progress
            && v.is_empty()
        {
            return Err(RmsError::InvalidRequest(
                "the status filter is empty".to_owned(),
            ));
        }
        let progress_list = progress.to_list();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (s, e) in split_windows(start, end) {
            // Depth-first, left half first, so the output stays in ascending order.
            let mut stack = vec![(s, e)];
            while let Some((ws, we)) = stack.pop() {
                let first = self
                    .search_page(window.date_type.code(), ws, we, &progress_list, 1)
                    .await?;
                let pagination = first.pagination_response_model.clone().unwrap_or_default();
                let total = pagination.total_records_amount.unwrap_or(0);
                if total > MAX_REACHABLE_HITS {
                    match halve(ws, we) {
                        Some((left, right)) => {
                            tracing::debug!(
                                total,
                                start = %format_rms_datetime(ws),
                                end = %format_rms_datetime(we),
                                "searchOrder window above 15,000 hits; halving"
                            );
                            stack.push(right);
                            stack.push(left);
                            continue;
                        }
                        None => {
                            return Err(RmsError::WindowTooDense {
                                start: format_rms_datetime(ws),
                                end: format_rms_datetime(we),
                                total,
                            });
                        }
                    }
                }
                let mut push_all = |list: Option<Vec<String>>| {
                    for n in list.unwrap_or_default() {
                        if seen.insert(n.clone()) {
                            out.push(n);
                        }
                    }
                };
                let mut total_pages = pagination.total_pages.unwrap_or(0);
                push_all(first.order_number_list);
                let mut page = 2;
                while page <= total_pages {
                    let resp = self
                        .search_page(window.date_type.code(), ws, we, &progress_list, page)
                        .await?;
                    if let Some(tp) = resp
                        .pagination_response_model
                        .as_ref()
                        .and_then(|p| p.total_pages)
                    {
                        total_pages = tp;
                    }
                    push_all(resp.order_number_list);
                    page += 1;
                }
            }
        }
        Ok(out)
    }

    /// Fetches orders in batches of 100 with the configured `version`. Per-order WARNING/ERROR
    /// messages and orders that did not come back are reported in the result, not dropped.
    /// Duplicate numbers in `numbers` are fetched once.
    pub async fn get_orders(&self, numbers: &[String]) -> Result<GetOrdersResult, RmsError> {
        let mut seen = HashSet::new();
        let unique: Vec<String> = numbers
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .cloned()
            .collect();
        let mut result = GetOrdersResult::default();
        for chunk in unique.chunks(MAX_ORDERS_PER_CALL) {
            let resp = self.get_order_batch(chunk).await?;
            let mut returned = HashSet::new();
            for m in resp.message_model_list.unwrap_or_default() {
                if m.order_number.is_some() && (m.is_warning() || m.is_error()) {
                    result.order_messages.push(m);
                }
            }
            for raw in resp.order_model_list.unwrap_or_default() {
                // Valid JSON (the response decoded), so this cannot fail.
                let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                match serde_json::from_str::<OrderModel>(raw.get()) {
                    Ok(model) => {
                        returned.insert(model.order_number.clone());
                        result.orders.push(FetchedOrder { model, raw: value });
                    }
                    Err(e) => {
                        let order_number = OrderHead::of(&raw).order_number().map(str::to_owned);
                        if let Some(n) = &order_number {
                            returned.insert(n.clone());
                        }
                        result.undecodable.push(UndecodableOrder {
                            order_number,
                            error: e.to_string(),
                            raw: value,
                        });
                    }
                }
            }
            result.missing.extend(
                chunk
                    .iter()
                    .filter(|n| !returned.contains(n.as_str()))
                    .cloned(),
            );
        }
        Ok(result)
    }

    /// The license key's expiry as a JST datetime (RMS sends JST wall-clock without offset).
    pub async fn license_expiry(&self) -> Result<OffsetDateTime, RmsError> {
        let key = self.inner.license_key.expose_secret();
        let url = format!(
            "{}{}?licenseKey={}",
            self.inner.base,
            LICENSE_EXPIRY_PATH,
            percent_encode(key)
        );
        let body = self
            .execute("license expiry", Method::GET, url, None, Kind::Read)
            .await?;
        let resp: LicenseExpiryResponse = self.decode("license expiry", &body)?;
        let raw = resp.expiry_date.ok_or_else(|| RmsError::Decode {
            context: "license expiry".to_owned(),
            detail: "expiryDate missing".to_owned(),
            excerpt: self.excerpt(&body),
        })?;
        let local = parse_expiry_datetime(&raw).map_err(|e| RmsError::Decode {
            context: "license expiry".to_owned(),
            detail: e.to_string(),
            excerpt: self.excerpt(&body),
        })?;
        Ok(local.assume_offset(JST))
    }

    /// Sets the shop sub-status of up to 100 orders (e.g. a 「基幹取込済」 marker).
    /// A write: never retried, whatever the failure. Returns RMS's messages.
    pub async fn update_order_sub_status(
        &self,
        sub_status_id: i64,
        numbers: &[String],
    ) -> Result<Vec<MessageModel>, RmsError> {
        if numbers.is_empty() || numbers.len() > MAX_ORDERS_PER_CALL {
            return Err(RmsError::InvalidRequest(format!(
                "updateOrderSubStatus takes 1..=100 order numbers, got {}",
                numbers.len()
            )));
        }
        let req = UpdateOrderSubStatusRequest {
            sub_status_id: Some(sub_status_id),
            order_number_list: numbers.to_vec(),
        };
        let body = self
            .post_json(
                "updateOrderSubStatus",
                UPDATE_ORDER_SUB_STATUS_PATH,
                &req,
                Kind::Write,
            )
            .await?;
        let resp: MessagesResponse = self.decode("updateOrderSubStatus", &body)?;
        let msgs = resp.message_model_list.unwrap_or_default();
        if msgs.iter().any(MessageModel::is_error) {
            return Err(RmsError::Business(msgs));
        }
        Ok(msgs)
    }

    // -----------------------------------------------------------------------------------------
    // Low level
    // -----------------------------------------------------------------------------------------

    /// One searchOrder call as given. `ERROR` messages (even on HTTP 200) → [`RmsError::Business`].
    pub async fn search_order(
        &self,
        req: &SearchOrderRequest,
    ) -> Result<SearchOrderResponse, RmsError> {
        let body = self
            .post_json("searchOrder", SEARCH_ORDER_PATH, req, Kind::Read)
            .await?;
        let resp: SearchOrderResponse = self.decode("searchOrder", &body)?;
        if let Some(msgs) = &resp.message_model_list
            && msgs.iter().any(MessageModel::is_error)
        {
            return Err(RmsError::Business(msgs.clone()));
        }
        Ok(resp)
    }

    /// One getOrder call (≤ 100 numbers) with the configured version. `ERROR` messages without
    /// an `orderNumber` → [`RmsError::Business`]; per-order messages are left in the response.
    pub async fn get_order_batch(&self, numbers: &[String]) -> Result<GetOrderResponse, RmsError> {
        if numbers.is_empty() || numbers.len() > MAX_ORDERS_PER_CALL {
            return Err(RmsError::InvalidRequest(format!(
                "getOrder takes 1..=100 order numbers, got {}",
                numbers.len()
            )));
        }
        let req = GetOrderRequest {
            order_number_list: numbers.to_vec(),
            version: Some(self.inner.get_order_version),
        };
        let body = self
            .post_json("getOrder", GET_ORDER_PATH, &req, Kind::Read)
            .await?;
        let resp: GetOrderResponse = self.decode("getOrder", &body)?;
        if let Some(msgs) = &resp.message_model_list
            && msgs
                .iter()
                .any(|m| m.is_error() && m.order_number.is_none())
        {
            return Err(RmsError::Business(msgs.clone()));
        }
        Ok(resp)
    }

    async fn search_page(
        &self,
        date_type: i32,
        start: OffsetDateTime,
        end: OffsetDateTime,
        progress: &[i32],
        page: u32,
    ) -> Result<SearchOrderResponse, RmsError> {
        let req = SearchOrderRequest {
            date_type: Some(date_type),
            start_datetime: Some(format_rms_datetime(start)),
            end_datetime: Some(format_rms_datetime(end)),
            order_progress_list: Some(progress.to_vec()),
            pagination_request_model: Some(PaginationRequestModel {
                request_records_amount: Some(self.inner.page_size),
                request_page: Some(page),
                sort_model_list: Some(vec![SortModel {
                    sort_column: 1,
                    sort_direction: 1,
                }]),
            }),
            ..Default::default()
        };
        self.search_order(&req).await
    }

    async fn post_json<T: serde::Serialize>(
        &self,
        op: &'static str,
        path: &str,
        body: &T,
        kind: Kind,
    ) -> Result<Bytes, RmsError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| RmsError::InvalidRequest(format!("cannot encode {op} request: {e}")))?;
        let url = format!("{}{}", self.inner.base, path);
        self.execute(op, Method::POST, url, Some(bytes), kind).await
    }

    fn secrets(&self) -> [&str; 2] {
        [
            self.inner.license_key.expose_secret(),
            self.inner.service_secret.expose_secret(),
        ]
    }

    fn excerpt(&self, body: &[u8]) -> String {
        redact_excerpt(
            &String::from_utf8_lossy(body),
            &self.secrets(),
            EXCERPT_CHARS,
        )
    }

    fn decode<T: DeserializeOwned>(&self, op: &str, body: &[u8]) -> Result<T, RmsError> {
        serde_json::from_slice(body).map_err(|e| RmsError::Decode {
            context: op.to_owned(),
            detail: e.to_string(),
            excerpt: self.excerpt(body),
        })
    }

    /// Maps a non-success answer to the most specific error.
    fn classify(&self, status: StatusCode, body: &[u8]) -> RmsError {
        if let Ok(env) = serde_json::from_slice::<GatewayEnvelope>(body)
            && let Some(code) = env.results.error_code.clone()
        {
            return RmsError::Gateway {
                http_status: status.as_u16(),
                code: redact_excerpt(&code, &self.secrets(), 40),
                message: redact_excerpt(
                    env.results.text().unwrap_or(""),
                    &self.secrets(),
                    EXCERPT_CHARS,
                ),
            };
        }
        if let Ok(resp) = serde_json::from_slice::<MessagesResponse>(body)
            && let Some(msgs) = resp.message_model_list
            && msgs.iter().any(MessageModel::is_error)
        {
            return RmsError::Business(msgs);
        }
        RmsError::Http {
            status: status.as_u16(),
            body_excerpt: self.excerpt(body),
        }
    }

    async fn attempt(&self, method: &Method, url: &str, body: Option<&Vec<u8>>) -> Attempt {
        let mut rb = self
            .inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(CONTENT_TYPE, CONTENT_TYPE_JSON_UTF8);
        if let Some(b) = body {
            rb = rb.body(b.clone());
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return self.attempt_error(e),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match resp.bytes().await {
            Ok(body) => Attempt::Response {
                status,
                retry_after,
                body,
            },
            Err(e) => self.attempt_error(e),
        }
    }

    fn attempt_error(&self, e: reqwest::Error) -> Attempt {
        if e.is_timeout() {
            return Attempt::Timeout;
        }
        // `without_url`: the expiry URL carries the license key.
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Attempt::Transport(redact_excerpt(&msg, &self.secrets(), 300))
    }

    fn backoff(&self, retry_no: u32, retry_after: Option<Duration>) -> Duration {
        use rand::Rng as _;
        let exp = self
            .inner
            .backoff_base
            .saturating_mul(1u32.checked_shl(retry_no.min(20)).unwrap_or(u32::MAX))
            .min(self.inner.backoff_max);
        // "Equal jitter": half fixed, half random, so retries of parallel syncs spread out.
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().min(u64::MAX as u128) as u64);
        let delay = half + Duration::from_millis(jitter_ms);
        match retry_after {
            Some(ra) => delay.max(ra).min(self.inner.backoff_max),
            None => delay,
        }
    }

    async fn execute(
        &self,
        op: &'static str,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
        kind: Kind,
    ) -> Result<Bytes, RmsError> {
        let max_attempts = match kind {
            Kind::Read => 1 + self.inner.max_retries,
            Kind::Write => 1,
        };
        let stats = &self.inner.stats;
        let mut attempt_no = 0u32;
        loop {
            attempt_no += 1;
            self.inner.pacer.wait().await;
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let (err, retry_after) = match self.attempt(&method, &url, body.as_ref()).await {
                Attempt::Response { status, body, .. } if status.is_success() => return Ok(body),
                Attempt::Response {
                    status,
                    retry_after,
                    ..
                } if status == StatusCode::TOO_MANY_REQUESTS => {
                    stats.throttled.fetch_add(1, Ordering::Relaxed);
                    (
                        RmsError::RateLimited {
                            attempts: attempt_no,
                        },
                        retry_after,
                    )
                }
                Attempt::Response {
                    status,
                    retry_after,
                    body,
                } if status.is_server_error() => (self.classify(status, &body), retry_after),
                Attempt::Response { status, body, .. } => {
                    return Err(self.classify(status, &body));
                }
                Attempt::Timeout => {
                    stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    (
                        RmsError::Timeout {
                            after: self.inner.timeout,
                        },
                        None,
                    )
                }
                Attempt::Transport(msg) => (RmsError::Transport(msg), None),
            };
            if attempt_no >= max_attempts {
                tracing::warn!(op, attempts = attempt_no, error = %err, "RMS call failed");
                return Err(err);
            }
            let delay = self.backoff(attempt_no - 1, retry_after);
            tracing::info!(
                op,
                attempt = attempt_no,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "RMS read failed; retrying"
            );
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esa_header_is_strict_base64() {
        assert_eq!(esa_authorization("secret", "key"), "ESA c2VjcmV0OmtleQ==");
        // Long credentials must not be wrapped (no CR/LF), unlike MIME Base64.
        let long = esa_authorization(&"S".repeat(100), &"K".repeat(100));
        assert!(!long.contains('\n') && !long.contains('\r'));
        assert_eq!(long.len(), 4 + 4 * 201usize.div_ceil(3));
    }

    #[test]
    fn debug_never_shows_credentials() {
        let cfg = RmsConfig::new("SP_SECRET_123", "SL_KEY_456");
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("SP_SECRET_123"));
        assert!(!dbg.contains("SL_KEY_456"));
        let client = RmsClient::new(cfg).unwrap();
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("SP_SECRET_123") && !dbg.contains("SL_KEY_456"));
    }

    #[test]
    fn config_validation() {
        let bad = RmsConfig::new("a", "b").with_base_url("ftp://x");
        assert!(matches!(
            RmsClient::new(bad),
            Err(RmsError::InvalidRequest(_))
        ));
        let mut bad = RmsConfig::new("a", "b");
        bad.page_size = 1001;
        assert!(RmsClient::new(bad).is_err());
        assert!(RmsClient::new(RmsConfig::new("", "b")).is_err());
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("SL1234_ab-c.~"), "SL1234_ab-c.~");
        assert_eq!(percent_encode("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut cfg = RmsConfig::new("a", "b");
        cfg.backoff_base = Duration::from_millis(100);
        cfg.backoff_max = Duration::from_millis(1000);
        let c = RmsClient::new(cfg).unwrap();
        for _ in 0..20 {
            let d0 = c.backoff(0, None);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = c.backoff(2, None);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let d9 = c.backoff(9, None);
            assert!(d9 <= Duration::from_millis(1000));
            // Retry-After is honoured but capped.
            assert_eq!(
                c.backoff(0, Some(Duration::from_secs(60))),
                Duration::from_millis(1000)
            );
        }
    }

    #[tokio::test]
    async fn pacer_spaces_request_starts() {
        let p = Pacer {
            interval: Duration::from_millis(30),
            next: Mutex::new(None),
        };
        let t0 = Instant::now();
        for _ in 0..4 {
            p.wait().await;
        }
        assert!(t0.elapsed() >= Duration::from_millis(90));
    }
}
