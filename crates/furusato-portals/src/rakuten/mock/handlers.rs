//! HTTP handlers of the mock (see the module docs of `mock` for the behaviour).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Endpoint, Fault, Shared, codes, lock_err};
use crate::rakuten::client::{
    GET_ORDER_PATH, LICENSE_EXPIRY_PATH, SEARCH_ORDER_PATH, UPDATE_ORDER_SUB_STATUS_PATH,
    esa_authorization,
};
use crate::rakuten::datetime::{
    format_expiry_datetime, is_request_datetime_shape, now_jst, parse_rms_datetime,
};
use crate::rakuten::window::{ALL_ORDER_PROGRESS, MAX_REACHABLE_HITS};

type St = State<Arc<Shared>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let no_slash = |p: &str| p.trim_end_matches('/').to_owned();
    Router::new()
        .route(SEARCH_ORDER_PATH, post(search_order))
        .route(&no_slash(SEARCH_ORDER_PATH), post(search_order))
        .route(GET_ORDER_PATH, post(get_order))
        .route(&no_slash(GET_ORDER_PATH), post(get_order))
        .route(UPDATE_ORDER_SUB_STATUS_PATH, post(update_sub_status))
        .route(
            &no_slash(UPDATE_ORDER_SUB_STATUS_PATH),
            post(update_sub_status),
        )
        .route(LICENSE_EXPIRY_PATH, get(license_expiry))
        .route("/_mock/stats", get(ctl_stats))
        .route(
            "/_mock/faults",
            post(ctl_add_fault).delete(ctl_clear_faults),
        )
        .route("/_mock/orders", post(ctl_upsert_orders))
        .route("/_mock/license", post(ctl_license))
        .route("/_mock/rate-limit", post(ctl_rate_limit))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Response helpers
// ---------------------------------------------------------------------------------------------

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    r
}

fn json_value(status: StatusCode, v: &Value) -> Response {
    json_bytes(
        status,
        serde_json::to_vec(v).expect("a serde_json::Value always serialises"),
    )
}

fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    json_value(
        status,
        &json!({"Results": {"errorCode": code, "message": message}}),
    )
}

fn msg(kind: &str, code: &str, text: &str) -> Value {
    json!({"messageType": kind, "messageCode": code, "message": text})
}

fn search_error(code: &str, text: &str) -> Response {
    json_value(
        StatusCode::BAD_REQUEST,
        &json!({
            "orderNumberList": null,
            "MessageModelList": [msg("ERROR", code, text)],
            "PaginationResponseModel": null
        }),
    )
}

fn get_order_error(code: &str, text: &str) -> Response {
    json_value(
        StatusCode::BAD_REQUEST,
        &json!({"MessageModelList": [msg("ERROR", code, text)], "OrderModelList": null}),
    )
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// Common gate: counters, rate limit, faults, auth, content type
// ---------------------------------------------------------------------------------------------

async fn gate(sh: &Shared, ep: Endpoint, headers: &HeaderMap, json_body: bool) -> Option<Response> {
    let c = &sh.counters;
    bump(&c.requests);
    bump(match ep {
        Endpoint::SearchOrder => &c.search_order,
        Endpoint::GetOrder => &c.get_order,
        Endpoint::UpdateOrderSubStatus => &c.update_order_sub_status,
        Endpoint::LicenseExpiry => &c.license_expiry,
    });
    if sh.rate_limited() {
        bump(&c.rate_limited);
        return Some(throttled());
    }
    if let Some(fault) = sh.take_fault(ep) {
        bump(&c.faults_injected);
        match fault {
            Fault::Status500 => {
                return Some(plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                ));
            }
            Fault::Status503 => {
                return Some(plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable (maintenance)",
                ));
            }
            Fault::Throttle429 => return Some(throttled()),
            Fault::Timeout(d) => tokio::time::sleep(d).await,
            Fault::MalformedJson => {
                return Some(json_bytes(
                    StatusCode::OK,
                    br#"{"orderNumberList":["283819-20251201-00"#.to_vec(),
                ));
            }
            Fault::ExpiredKey => {
                bump(&c.auth_rejected);
                return Some(unauthorised());
            }
            Fault::FunctionNotEnabled => {
                return Some(envelope(
                    StatusCode::FORBIDDEN,
                    "ES04-01",
                    "This API function is not permitted for this shop.",
                ));
            }
        }
    }
    let expected = {
        let cfg = sh.config.read().unwrap_or_else(lock_err);
        esa_authorization(&cfg.service_secret, &cfg.license_key)
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if given != expected.as_bytes() || sh.key_is_expired() {
        bump(&c.auth_rejected);
        return Some(unauthorised());
    }
    if json_body {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace(' ', "");
        if !(ct.starts_with("application/json") && ct.contains("charset=utf-8")) {
            bump(&c.media_type_rejected);
            return Some(envelope(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "GK0003",
                "Unsupported Media Type",
            ));
        }
    }
    None
}

fn unauthorised() -> Response {
    envelope(StatusCode::UNAUTHORIZED, "GA0001", "Un-Authorised")
}

fn throttled() -> Response {
    let mut r = envelope(
        StatusCode::TOO_MANY_REQUESTS,
        "MOCK-429",
        "Too Many Requests",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

// The error side is a ready HTTP answer for an early return; not a hot path.
#[allow(clippy::result_large_err)]
fn parse_body(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(envelope(
            StatusCode::BAD_REQUEST,
            "C007",
            "Request Model is invalid",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// searchOrder
// ---------------------------------------------------------------------------------------------

async fn search_order(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = gate(&sh, Endpoint::SearchOrder, &headers, true).await {
        return r;
    }
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match search_inner(&sh, &req) {
        Ok(r) | Err(r) => r,
    }
}

// `Err` is the 400 answer, so validation can use `?`; not a hot path.
#[allow(clippy::result_large_err)]
fn search_inner(sh: &Shared, req: &Value) -> Result<Response, Response> {
    let date_type = match req.get("dateType") {
        None | Some(Value::Null) => {
            return Err(search_error(
                codes::SEARCH_DATE_TYPE_MISSING,
                "dateTypeの項目を指定して下さい。",
            ));
        }
        Some(v) => v.as_i64().filter(|d| (1..=6).contains(d)).ok_or_else(|| {
            search_error(codes::SEARCH_DATE_TYPE_INVALID, "dateTypeの値が不正です。")
        })?,
    };
    if date_type != 1 {
        return Err(search_error(
            codes::SEARCH_DATE_TYPE_NOT_SIMULATED,
            "モック: dateType 1（注文日）以外は再現していません。",
        ));
    }
    let start = match req.get("startDatetime") {
        None | Some(Value::Null) => {
            return Err(search_error(
                codes::SEARCH_START_MISSING,
                "startDatetimeの値を指定して下さい。",
            ));
        }
        Some(v) => v
            .as_str()
            .filter(|s| is_request_datetime_shape(s))
            .and_then(|s| parse_rms_datetime(s).ok())
            .ok_or_else(|| {
                search_error(
                    codes::SEARCH_START_FORMAT,
                    "startDatetimeの書式が不正です。",
                )
            })?,
    };
    let end = match req.get("endDatetime") {
        None | Some(Value::Null) => {
            return Err(search_error(
                codes::SEARCH_END_MISSING,
                "endDatetimeの値を指定して下さい。",
            ));
        }
        Some(v) => v
            .as_str()
            .filter(|s| is_request_datetime_shape(s))
            .and_then(|s| parse_rms_datetime(s).ok())
            .ok_or_else(|| {
                search_error(codes::SEARCH_END_FORMAT, "endDatetimeの書式が不正です。")
            })?,
    };
    if end < start {
        return Err(search_error(
            codes::SEARCH_END_BEFORE_START,
            "endDatetimeはstartDatetime以降を指定して下さい。",
        ));
    }
    if end - start > time::Duration::days(63) {
        return Err(search_error(
            codes::SEARCH_WINDOW_TOO_LONG,
            "検索期間は63日以内で指定して下さい。",
        ));
    }
    let enforce_730 = sh.config.read().unwrap_or_else(lock_err).enforce_730_days;
    if enforce_730 && start < now_jst() - time::Duration::days(730) {
        return Err(search_error(
            codes::SEARCH_TOO_OLD,
            "startDatetimeは過去730日以内を指定して下さい。",
        ));
    }
    let progress: Option<Vec<i32>> = match req.get("orderProgressList") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for v in a {
                match v.as_i64().and_then(|p| i32::try_from(p).ok()) {
                    Some(p) if ALL_ORDER_PROGRESS.contains(&p) => out.push(p),
                    _ => {
                        return Err(search_error(
                            codes::SEARCH_PROGRESS_INVALID,
                            "orderProgressListの値が不正です。",
                        ));
                    }
                }
            }
            Some(out)
        }
        Some(_) => {
            return Err(search_error(
                codes::SEARCH_PROGRESS_INVALID,
                "orderProgressListの値が不正です。",
            ));
        }
    };
    let pag = req.get("PaginationRequestModel").filter(|v| !v.is_null());
    let amount = match pag.and_then(|p| p.get("requestRecordsAmount")) {
        None | Some(Value::Null) => 30,
        Some(v) => v
            .as_u64()
            .filter(|a| (1..=1000).contains(a))
            .ok_or_else(|| {
                search_error(
                    codes::SEARCH_AMOUNT_INVALID,
                    "requestRecordsAmountは1以上1000以下で指定して下さい。",
                )
            })?,
    };
    let page = match pag.and_then(|p| p.get("requestPage")) {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_u64().filter(|p| *p >= 1).ok_or_else(|| {
            search_error(
                codes::SEARCH_PAGE_INVALID,
                "requestPageは1以上で指定して下さい。",
            )
        })?,
    };
    let mut descending = false;
    if let Some(list) = pag
        .and_then(|p| p.get("SortModelList"))
        .filter(|v| !v.is_null())
    {
        let bad = || search_error(codes::SEARCH_SORT_INVALID, "SortModelListの値が不正です。");
        let arr = list.as_array().ok_or_else(bad)?;
        for s in arr {
            if s.get("sortColumn").and_then(Value::as_i64) != Some(1) {
                return Err(bad());
            }
            match s.get("sortDirection").and_then(Value::as_i64) {
                Some(1) => descending = false,
                Some(2) => descending = true,
                _ => return Err(bad()),
            }
        }
    }

    let store = sh.store.read().unwrap_or_else(lock_err);
    let hits = store.search(
        start.unix_timestamp(),
        end.unix_timestamp(),
        progress.as_deref(),
        descending,
    );
    let total = hits.len() as u64;
    if total == 0 {
        return Ok(json_value(
            StatusCode::OK,
            &json!({
                "orderNumberList": [],
                "MessageModelList": [msg("INFO", codes::SEARCH_INFO_102, "注文検索結果は0件です。")],
                "PaginationResponseModel": {"totalRecordsAmount": null, "totalPages": null, "requestPage": null}
            }),
        ));
    }
    let offset = (page - 1) * amount;
    if offset >= MAX_REACHABLE_HITS {
        return Err(search_error(
            codes::SEARCH_BEYOND_15000,
            "15,000件を超える検索結果は取得できません。検索条件を絞り込んで下さい。",
        ));
    }
    let reachable = total.min(MAX_REACHABLE_HITS);
    let from = offset.min(reachable) as usize;
    let to = (offset + amount).min(reachable) as usize;
    let numbers: Vec<&str> = hits[from..to].iter().map(|s| store.number(*s)).collect();
    Ok(json_value(
        StatusCode::OK,
        &json!({
            "orderNumberList": numbers,
            "MessageModelList": [msg("INFO", codes::SEARCH_INFO_101, "注文検索に成功しました。")],
            "PaginationResponseModel": {
                "totalRecordsAmount": total,
                "totalPages": total.div_ceil(amount),
                "requestPage": page
            }
        }),
    ))
}

// ---------------------------------------------------------------------------------------------
// getOrder
// ---------------------------------------------------------------------------------------------

async fn get_order(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = gate(&sh, Endpoint::GetOrder, &headers, true).await {
        return r;
    }
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let numbers: Vec<&str> = match req.get("orderNumberList").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            let n: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
            match n {
                Some(n) => n,
                None => {
                    return get_order_error(
                        codes::GET_ORDER_LIST_MISSING,
                        "orderNumberListの値が不正です。",
                    );
                }
            }
        }
        _ => {
            return get_order_error(
                codes::GET_ORDER_LIST_MISSING,
                "orderNumberListを指定して下さい。",
            );
        }
    };
    if numbers.len() > 100 {
        return get_order_error(
            codes::GET_ORDER_TOO_MANY,
            "orderNumberListは100件以内で指定して下さい。",
        );
    }
    let version = match req.get("version") {
        None | Some(Value::Null) => {
            return get_order_error(
                codes::GET_ORDER_VERSION_MISSING,
                "versionを指定して下さい。",
            );
        }
        Some(v) => match v.as_u64().filter(|v| (3..=10).contains(v)) {
            Some(v) => v,
            None => {
                return get_order_error(
                    codes::GET_ORDER_VERSION_INVALID,
                    "versionの値が不正です。",
                );
            }
        },
    };

    let store = sh.store.read().unwrap_or_else(lock_err);
    let mut orders: Vec<Vec<u8>> = Vec::with_capacity(numbers.len());
    let mut warnings = Vec::new();
    for n in &numbers {
        match store.slot_of(n) {
            Some(slot) => orders.push(store.json_bytes(slot)),
            None => {
                let mut w = msg(
                    "WARNING",
                    codes::GET_ORDER_WARNING_101,
                    "指定された注文番号の受注情報が存在しません。",
                );
                w["orderNumber"] = json!(n);
                warnings.push(w);
            }
        }
    }
    drop(store);
    sh.counters
        .orders_served
        .fetch_add(orders.len() as u64, Ordering::Relaxed);

    let mut messages = vec![msg(
        "INFO",
        codes::GET_ORDER_INFO_101,
        &format!("受注情報取得に成功しました。(取得件数{}件)", orders.len()),
    )];
    messages.extend(warnings);
    // Assemble by hand: the stored bytes are spliced in without re-parsing.
    let mut out = Vec::with_capacity(orders.iter().map(Vec::len).sum::<usize>() + 512);
    out.extend_from_slice(b"{\"MessageModelList\":");
    out.extend(serde_json::to_vec(&messages).expect("messages serialise"));
    out.extend_from_slice(b",\"OrderModelList\":[");
    for (i, o) in orders.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(o);
    }
    out.push(b']');
    if version >= 6 {
        out.extend_from_slice(format!(",\"version\":{version}").as_bytes());
    }
    out.push(b'}');
    json_bytes(StatusCode::OK, out)
}

// ---------------------------------------------------------------------------------------------
// updateOrderSubStatus
// ---------------------------------------------------------------------------------------------

async fn update_sub_status(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = gate(&sh, Endpoint::UpdateOrderSubStatus, &headers, true).await {
        return r;
    }
    let req = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let bad = |text: &str| {
        json_value(
            StatusCode::BAD_REQUEST,
            &json!({"MessageModelList": [msg("ERROR", codes::SUB_STATUS_INVALID, text)]}),
        )
    };
    let Some(id) = req.get("subStatusId").and_then(Value::as_i64) else {
        return bad("subStatusIdを指定して下さい。");
    };
    let numbers: Vec<String> = match req.get("orderNumberList").and_then(Value::as_array) {
        Some(a) if !a.is_empty() && a.len() <= 100 => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => return bad("orderNumberListは1件以上100件以内で指定して下さい。"),
    };
    let name = sh
        .sub_status_names
        .read()
        .unwrap_or_else(lock_err)
        .get(&id)
        .cloned();
    let mut messages = Vec::new();
    let mut store = sh.store.write().unwrap_or_else(lock_err);
    for n in &numbers {
        match store.slot_of(n) {
            Some(slot) => {
                let mut v = store.value(slot);
                v["subStatusId"] = json!(id);
                v["subStatusName"] = json!(name);
                store
                    .put(&v, true)
                    .expect("an order read from the store is storable");
                let mut m = msg(
                    "INFO",
                    codes::SUB_STATUS_INFO,
                    "サブステータスを更新しました。",
                );
                m["orderNumber"] = json!(n);
                messages.push(m);
            }
            None => {
                let mut m = msg(
                    "ERROR",
                    codes::SUB_STATUS_NOT_FOUND,
                    "指定された注文番号が存在しません。",
                );
                m["orderNumber"] = json!(n);
                messages.push(m);
            }
        }
    }
    json_value(StatusCode::OK, &json!({"MessageModelList": messages}))
}

// ---------------------------------------------------------------------------------------------
// License expiry
// ---------------------------------------------------------------------------------------------

async fn license_expiry(
    State(sh): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&sh, Endpoint::LicenseExpiry, &headers, false).await {
        return r;
    }
    let (key, expiry) = {
        let cfg = sh.config.read().unwrap_or_else(lock_err);
        (cfg.license_key.clone(), cfg.license_expiry)
    };
    match q.get("licenseKey") {
        None => envelope(StatusCode::BAD_REQUEST, "C007", "Request Model is invalid"),
        Some(k) if *k != key => {
            bump(&sh.counters.auth_rejected);
            unauthorised()
        }
        Some(_) => json_value(
            StatusCode::OK,
            &json!({"expiryDate": format_expiry_datetime(expiry)}),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------------

async fn ctl_stats(State(sh): St) -> Response {
    let m = super::MockRms { shared: sh };
    json_value(
        StatusCode::OK,
        &json!({"stats": m.stats(), "orders": m.order_count(), "pendingFaults": m.pending_faults()}),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FaultRequest {
    fault: String,
    #[serde(default = "one")]
    count: usize,
    endpoint: Option<Endpoint>,
    millis: Option<u64>,
}

fn one() -> usize {
    1
}

async fn ctl_add_fault(State(sh): St, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<FaultRequest>(&body) else {
        return json_value(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected {\"fault\":…, \"count\":n, \"endpoint\":…, \"millis\":…}"}),
        );
    };
    let fault = match req.fault.as_str() {
        "status500" => Fault::Status500,
        "status503" => Fault::Status503,
        "throttle429" => Fault::Throttle429,
        "timeout" => Fault::Timeout(Duration::from_millis(req.millis.unwrap_or(60_000))),
        "malformedJson" => Fault::MalformedJson,
        "expiredKey" => Fault::ExpiredKey,
        "functionNotEnabled" => Fault::FunctionNotEnabled,
        other => {
            return json_value(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("unknown fault {other:?}; use status500, status503, throttle429, timeout, malformedJson, expiredKey, functionNotEnabled")}),
            );
        }
    };
    let m = super::MockRms { shared: sh };
    match req.endpoint {
        Some(ep) => m.fail_next_on(ep, req.count, fault),
        None => m.fail_next(req.count, fault),
    }
    json_value(
        StatusCode::OK,
        &json!({"pendingFaults": m.pending_faults()}),
    )
}

async fn ctl_clear_faults(State(sh): St) -> Response {
    super::MockRms { shared: sh }.clear_faults();
    json_value(StatusCode::OK, &json!({"pendingFaults": 0}))
}

async fn ctl_upsert_orders(State(sh): St, body: Bytes) -> Response {
    let orders = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => a,
        Ok(v @ Value::Object(_)) => vec![v],
        _ => {
            return json_value(
                StatusCode::BAD_REQUEST,
                &json!({"error": "expected an order object or an array of orders"}),
            );
        }
    };
    let m = super::MockRms { shared: sh };
    let mut upserted = 0;
    for o in orders {
        if let Err(e) = m.upsert_order(o) {
            return json_value(
                StatusCode::BAD_REQUEST,
                &json!({"error": e.to_string(), "upserted": upserted}),
            );
        }
        upserted += 1;
    }
    json_value(StatusCode::OK, &json!({"upserted": upserted}))
}

#[derive(Deserialize)]
struct LicenseRequest {
    expired: bool,
}

async fn ctl_license(State(sh): St, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<LicenseRequest>(&body) else {
        return json_value(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected {\"expired\": true|false}"}),
        );
    };
    super::MockRms { shared: sh }.set_key_expired(req.expired);
    json_value(StatusCode::OK, &json!({"expired": req.expired}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitRequest {
    per_second: Option<u32>,
}

async fn ctl_rate_limit(State(sh): St, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<RateLimitRequest>(&body) else {
        return json_value(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected {\"perSecond\": n|null}"}),
        );
    };
    super::MockRms { shared: sh }.set_rate_limit(req.per_second);
    json_value(StatusCode::OK, &json!({"perSecond": req.per_second}))
}
