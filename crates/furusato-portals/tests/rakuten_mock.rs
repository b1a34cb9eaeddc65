//! The RMS mock speaks RMS's protocol strictly: exact ESA header, `charset=utf-8`, request
//! validation with RMS's message codes, pagination shape, the 15,000 cap, control API.

use furusato_portals::rakuten::client::esa_authorization;
use furusato_portals::rakuten::datetime::{JST, format_rms_datetime, now_jst};
use furusato_portals::rakuten::mock::{GeneratorSpec, MockConfig, MockRms, codes};
use furusato_portals::rakuten::model::SearchOrderRequest;
use furusato_portals::rakuten::{RmsClient, RmsError};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{PrimitiveDateTime, Time};

const SECRET: &str = "svc-secret";
const KEY: &str = "lic-key1"; // 19 bytes with the secret: Base64 padding present
const JSON_UTF8: &str = "application/json; charset=utf-8";

struct Env {
    mock: MockRms,
    base: String,
    http: reqwest::Client,
}

async fn env(n: u64) -> Env {
    let exp = PrimitiveDateTime::new(now_jst().date() + time::Duration::days(30), Time::MIDNIGHT);
    let mock = MockRms::new(MockConfig::new(SECRET, KEY, exp));
    let today = now_jst().date();
    mock.insert_generated(GeneratorSpec::new(
        n,
        5,
        today - time::Duration::days(10),
        today - time::Duration::days(1),
        "283819",
    ));
    let (addr, _h) = mock.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Env {
        mock,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Env {
    async fn post_with(
        &self,
        path: &str,
        auth: &str,
        ct: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Authorization", auth)
            .header("Content-Type", ct)
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_with(path, &esa_authorization(SECRET, KEY), JSON_UTF8, body)
            .await
    }

    async fn search(&self, body: &Value) -> (StatusCode, Value) {
        self.post("/es/2.0/order/searchOrder/", body).await
    }
}

fn window_body(days_back: i64, len_days: i64) -> Value {
    let start = now_jst() - time::Duration::days(days_back);
    json!({
        "dateType": 1,
        "startDatetime": format_rms_datetime(start),
        "endDatetime": format_rms_datetime(start + time::Duration::days(len_days)),
        "PaginationRequestModel": {"requestRecordsAmount": 1000, "requestPage": 1,
                                   "SortModelList": [{"sortColumn": 1, "sortDirection": 1}]}
    })
}

fn first_code(v: &Value) -> &str {
    v["MessageModelList"][0]["messageCode"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn auth_header_must_be_exact() {
    let e = env(3).await;
    let body = window_body(12, 12);
    let good = esa_authorization(SECRET, KEY);
    assert_eq!(e.search(&body).await.0, StatusCode::OK);

    let b64 = good.trim_start_matches("ESA ");
    let bad_headers = [
        esa_authorization(SECRET, "other-key"),
        esa_authorization("other-secret", KEY),
        format!("esa {b64}"),
        format!("ESA  {b64}"),
        format!("ESA {}", b64.trim_end_matches('=')),
        // A "wrapped" value (CR/LF cannot travel in a header; a folded space stands in).
        format!("ESA {} {}", &b64[..8], &b64[8..]),
        format!("Basic {b64}"),
        b64.to_owned(),
    ];
    for h in &bad_headers {
        let (status, v) = e
            .post_with("/es/2.0/order/searchOrder/", h, JSON_UTF8, &body)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{h}");
        assert_eq!(v["Results"]["errorCode"], json!("GA0001"));
    }
    assert_eq!(e.mock.stats().auth_rejected, bad_headers.len() as u64);
}

#[tokio::test]
async fn content_type_needs_charset() {
    let e = env(3).await;
    let auth = esa_authorization(SECRET, KEY);
    let body = window_body(12, 12);
    for ct in [
        "application/json",
        "text/plain; charset=utf-8",
        "application/json; charset=Shift_JIS",
    ] {
        let (status, v) = e
            .post_with("/es/2.0/order/searchOrder/", &auth, ct, &body)
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
        assert_eq!(v["Results"]["errorCode"], json!("GK0003"));
    }
    for ct in [JSON_UTF8, "application/json;charset=UTF-8"] {
        let (status, _) = e
            .post_with("/es/2.0/order/searchOrder/", &auth, ct, &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{ct}");
    }
    let r = e
        .http
        .post(format!("{}/es/2.0/order/searchOrder/", e.base))
        .header("Authorization", &auth)
        .header("Content-Type", JSON_UTF8)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["Results"]["errorCode"],
        json!("C007")
    );
}

#[tokio::test]
async fn search_validation_uses_rms_codes() {
    let e = env(3).await;
    let base = window_body(12, 12);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("dateType");
            }),
            codes::SEARCH_DATE_TYPE_MISSING,
        ),
        (
            with(&|b| b["dateType"] = json!(9)),
            codes::SEARCH_DATE_TYPE_INVALID,
        ),
        (
            with(&|b| b["dateType"] = json!(6)),
            codes::SEARCH_DATE_TYPE_NOT_SIMULATED,
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("startDatetime");
            }),
            codes::SEARCH_START_MISSING,
        ),
        (
            with(&|b| {
                b["startDatetime"] = json!(
                    b["startDatetime"]
                        .as_str()
                        .unwrap()
                        .replace("+0900", "+09:00")
                )
            }),
            codes::SEARCH_START_FORMAT,
        ),
        (
            with(&|b| {
                b["startDatetime"] = json!(b["startDatetime"].as_str().unwrap().replace('T', " "))
            }),
            codes::SEARCH_START_FORMAT,
        ),
        (
            with(&|b| {
                b["startDatetime"] =
                    json!(b["startDatetime"].as_str().unwrap()[..19].to_owned() + "Z")
            }),
            codes::SEARCH_START_FORMAT,
        ),
        (
            with(&|b| b["endDatetime"] = json!("2025/12/31")),
            codes::SEARCH_END_FORMAT,
        ),
        (window_body(80, 64), codes::SEARCH_WINDOW_TOO_LONG),
        (window_body(800, 10), codes::SEARCH_TOO_OLD),
        (
            with(&|b| {
                b["endDatetime"] = json!(format_rms_datetime(now_jst() - time::Duration::days(20)))
            }),
            codes::SEARCH_END_BEFORE_START,
        ),
        (
            with(&|b| b["orderProgressList"] = json!([100, 150])),
            codes::SEARCH_PROGRESS_INVALID,
        ),
        (
            with(&|b| b["PaginationRequestModel"]["requestRecordsAmount"] = json!(1001)),
            codes::SEARCH_AMOUNT_INVALID,
        ),
        (
            with(&|b| b["PaginationRequestModel"]["requestPage"] = json!(0)),
            codes::SEARCH_PAGE_INVALID,
        ),
        (
            with(&|b| {
                b["PaginationRequestModel"]["SortModelList"] =
                    json!([{"sortColumn": 2, "sortDirection": 1}])
            }),
            codes::SEARCH_SORT_INVALID,
        ),
    ];
    for (body, code) in &cases {
        let (status, v) = e.search(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(first_code(&v), *code);
        assert_eq!(v["MessageModelList"][0]["messageType"], json!("ERROR"));
        assert_eq!(v["orderNumberList"], Value::Null);
        assert_eq!(v["PaginationResponseModel"], Value::Null);
    }
    // Exactly 63 days is accepted.
    assert_eq!(e.search(&window_body(70, 63)).await.0, StatusCode::OK);
    // The documented message for a missing dateType.
    let (_, v) = e.search(&cases[0].0).await;
    assert_eq!(
        v["MessageModelList"][0]["message"],
        json!("dateTypeの項目を指定して下さい。")
    );
}

#[tokio::test]
async fn client_surfaces_business_errors() {
    let e = env(1).await;
    let client = RmsClient::new(e.mock.client_config(&e.base)).unwrap();
    let req = SearchOrderRequest {
        date_type: Some(1),
        start_datetime: Some("2025-12-01T00:00:00+09:00".into()),
        end_datetime: Some("2025-12-02T00:00:00+0900".into()),
        ..Default::default()
    };
    let err = client.search_order(&req).await.unwrap_err();
    match &err {
        RmsError::Business(msgs) => {
            assert_eq!(
                msgs[0].message_code.as_deref(),
                Some(codes::SEARCH_START_FORMAT)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("ORDER_EXT_API_SEARCH_ORDER_ERROR_011")
    );
}

#[tokio::test]
async fn pagination_shape_and_zero_hits() {
    let e = env(2500).await;
    let mut body = window_body(12, 12);
    let (status, v) = e.search(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["PaginationResponseModel"],
        json!({"totalRecordsAmount": 2500, "totalPages": 3, "requestPage": 1})
    );
    assert_eq!(v["orderNumberList"].as_array().unwrap().len(), 1000);
    assert_eq!(first_code(&v), codes::SEARCH_INFO_101);
    body["PaginationRequestModel"]["requestPage"] = json!(3);
    let (_, v3) = e.search(&body).await;
    assert_eq!(v3["orderNumberList"].as_array().unwrap().len(), 500);
    // Descending order reverses the list.
    body["PaginationRequestModel"]["requestPage"] = json!(1);
    body["PaginationRequestModel"]["SortModelList"] =
        json!([{"sortColumn": 1, "sortDirection": 2}]);
    let (_, vd) = e.search(&body).await;
    assert_eq!(vd["orderNumberList"][0], v3["orderNumberList"][499]);
    // Default page size is 30.
    let mut small = window_body(12, 12);
    small
        .as_object_mut()
        .unwrap()
        .remove("PaginationRequestModel");
    let (_, vs) = e.search(&small).await;
    assert_eq!(vs["orderNumberList"].as_array().unwrap().len(), 30);
    assert_eq!(vs["PaginationResponseModel"]["totalPages"], json!(84));

    // Zero hits: empty list, INFO_102, all pagination fields null.
    let (status, z) = e.search(&window_body(60, 10)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(z["orderNumberList"], json!([]));
    assert_eq!(first_code(&z), codes::SEARCH_INFO_102);
    assert_eq!(
        z["PaginationResponseModel"],
        json!({"totalRecordsAmount": null, "totalPages": null, "requestPage": null})
    );
}

#[tokio::test]
async fn only_the_first_15000_hits_are_reachable() {
    let e = env(15_500).await;
    let mut body = window_body(12, 12);
    body["PaginationRequestModel"]["requestPage"] = json!(15);
    let (status, v) = e.search(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["PaginationResponseModel"]["totalRecordsAmount"],
        json!(15_500)
    );
    assert_eq!(v["PaginationResponseModel"]["totalPages"], json!(16));
    assert_eq!(v["orderNumberList"].as_array().unwrap().len(), 1000);
    body["PaginationRequestModel"]["requestPage"] = json!(16);
    let (status, v) = e.search(&body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_code(&v), codes::SEARCH_BEYOND_15000);
    // A page straddling the cap is cut at 15,000.
    body["PaginationRequestModel"]["requestRecordsAmount"] = json!(700);
    body["PaginationRequestModel"]["requestPage"] = json!(22); // hits 14,701..15,400
    let (_, v) = e.search(&body).await;
    assert_eq!(v["orderNumberList"].as_array().unwrap().len(), 300);
}

#[tokio::test]
async fn get_order_validation_and_shape() {
    let e = env(120).await;
    let (_, s) = e.search(&window_body(12, 12)).await;
    let numbers: Vec<Value> = s["orderNumberList"].as_array().unwrap().clone();
    let path = "/es/2.0/order/getOrder/";

    let (status, v) = e
        .post(path, &json!({"orderNumberList": numbers[..2]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_code(&v), codes::GET_ORDER_VERSION_MISSING);
    assert_eq!(first_code(&v), "ORDER_EXT_API_GET_ORDER_ERROR_009");

    let (status, v) = e
        .post(
            path,
            &json!({"orderNumberList": numbers[..101], "version": 9}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_code(&v), codes::GET_ORDER_TOO_MANY);

    for bad in [1, 2, 11] {
        let (status, v) = e
            .post(
                path,
                &json!({"orderNumberList": numbers[..1], "version": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(first_code(&v), codes::GET_ORDER_VERSION_INVALID);
    }
    let (status, v) = e
        .post(path, &json!({"orderNumberList": [], "version": 9}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(first_code(&v), codes::GET_ORDER_LIST_MISSING);

    let (status, v) = e
        .post(
            path,
            &json!({"orderNumberList": numbers[..100], "version": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["OrderModelList"].as_array().unwrap().len(), 100);
    assert_eq!(v["version"], json!(10));
    assert_eq!(
        v["MessageModelList"][0]["message"],
        json!("受注情報取得に成功しました。(取得件数100件)")
    );
    let (_, v5) = e
        .post(
            path,
            &json!({"orderNumberList": numbers[..1], "version": 5}),
        )
        .await;
    assert!(v5.get("version").is_none(), "version echoed only from 6");
}

#[tokio::test]
async fn control_api_sets_faults_and_reports_stats() {
    let e = env(5).await;
    let r = e
        .http
        .post(format!("{}/_mock/faults", e.base))
        .json(&json!({"fault": "status503", "count": 2, "endpoint": "licenseExpiry"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(e.mock.pending_faults(), 2);
    let expiry_url = format!(
        "{}/es/1.0/license-management/license-key/expiry-date?licenseKey={KEY}",
        e.base
    );
    let get = || {
        e.http
            .get(&expiry_url)
            .header("Authorization", esa_authorization(SECRET, KEY))
            .send()
    };
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let ok = get().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let exp = ok.json::<Value>().await.unwrap();
    assert_eq!(
        exp["expiryDate"].as_str().unwrap().len(),
        19,
        "no offset: {exp}"
    );

    e.http
        .post(format!("{}/_mock/license", e.base))
        .json(&json!({"expired": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(get().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let n = json!({"orderNumber": "9-20250101-0000000001",
                   "orderDatetime": format_rms_datetime(now_jst().to_offset(JST)),
                   "orderProgress": 100});
    let r = e
        .http
        .post(format!("{}/_mock/orders", e.base))
        .json(&json!([n]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["upserted"], json!(1));
    assert_eq!(e.mock.order_count(), 6);

    let stats = e
        .http
        .get(format!("{}/_mock/stats", e.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stats["stats"]["licenseExpiry"], json!(4));
    assert_eq!(stats["stats"]["faultsInjected"], json!(2));
    assert_eq!(stats["orders"], json!(6));
}
