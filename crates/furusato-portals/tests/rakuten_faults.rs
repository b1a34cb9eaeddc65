//! The RMS client's behaviour under failures injected into the mock: retries for reads only,
//! error classification and messages, pacing.

use std::time::{Duration, Instant};

use furusato_portals::rakuten::datetime::{JST, now_jst};
use furusato_portals::rakuten::mock::{Endpoint, Fault, GeneratorSpec, MockConfig, MockRms};
use furusato_portals::rakuten::{ProgressFilter, RmsClient, RmsConfig, RmsError, SearchWindow};
use time::{PrimitiveDateTime, Time};

const SECRET: &str = "SP283819_secret_value";
const KEY: &str = "SL283819_license_key_value";

async fn serve(mock: &MockRms) -> String {
    let (addr, _h) = mock.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    format!("http://{addr}")
}

fn mock_with_orders(n: u64) -> MockRms {
    let far = PrimitiveDateTime::new(now_jst().date() + time::Duration::days(90), Time::MIDNIGHT);
    let mock = MockRms::new(MockConfig::new(SECRET, KEY, far));
    let today = now_jst().date();
    mock.insert_generated(GeneratorSpec::new(
        n,
        7,
        today - time::Duration::days(5),
        today - time::Duration::days(1),
        "283819",
    ));
    mock
}

fn config(base: &str) -> RmsConfig {
    let mut cfg = RmsConfig::new(SECRET, KEY).with_base_url(base);
    cfg.min_interval = Duration::ZERO;
    cfg.timeout = Duration::from_secs(5);
    cfg.max_retries = 3;
    cfg.backoff_base = Duration::from_millis(10);
    cfg.backoff_max = Duration::from_millis(50);
    cfg
}

fn window() -> SearchWindow {
    let today = now_jst().date();
    SearchWindow::by_order_datetime(
        PrimitiveDateTime::new(today - time::Duration::days(5), Time::MIDNIGHT).assume_offset(JST),
        now_jst(),
    )
}

fn assert_no_secret(err: &RmsError) {
    for text in [err.to_string(), format!("{err:?}"), err.message_ja()] {
        assert!(!text.contains(KEY), "license key leaked: {text}");
        assert!(!text.contains(SECRET), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn throttled_429_then_success_is_retried() {
    let mock = mock_with_orders(30);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next(2, Fault::Throttle429);
    let numbers = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap();
    assert_eq!(numbers.len(), 30);
    let s = client.stats();
    assert_eq!((s.requests, s.retries, s.throttled), (3, 2, 2));
    assert_eq!(mock.stats().search_order, 3);
}

#[tokio::test]
async fn persistent_429_ends_as_rate_limited() {
    let mock = mock_with_orders(3);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next(10, Fault::Throttle429);
    let err = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap_err();
    assert_eq!(err, RmsError::RateLimited { attempts: 4 });
    assert!(err.to_string().contains("429"));
    assert_eq!(mock.stats().search_order, 4, "1 try + 3 retries, then stop");
}

#[tokio::test]
async fn mock_rate_limit_429_is_retried_until_exhausted() {
    let mock = mock_with_orders(3);
    let mut cfg = config(&serve(&mock).await);
    cfg.max_retries = 2;
    let client = RmsClient::new(cfg).unwrap();
    mock.set_rate_limit(Some(1));
    client.license_expiry().await.unwrap();
    // Within the same second: 429, retried twice with short backoff, still throttled.
    let err = client.license_expiry().await.unwrap_err();
    assert_eq!(err, RmsError::RateLimited { attempts: 3 });
    assert_eq!(mock.stats().rate_limited, 3);
}

#[tokio::test]
async fn server_error_on_get_order_is_retried() {
    let mock = mock_with_orders(150);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    let numbers = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap();
    mock.fail_next_on(Endpoint::GetOrder, 1, Fault::Status500);
    mock.fail_next_on(Endpoint::GetOrder, 1, Fault::Status503);
    let r = client.get_orders(&numbers).await.unwrap();
    assert_eq!(r.orders.len(), 150);
    assert_eq!(client.stats().retries, 2);
    assert_eq!(mock.stats().get_order, 4, "2 failures + 2 batches");
    assert_eq!(mock.stats().orders_served, 150);
}

#[tokio::test]
async fn persistent_server_error_ends_as_http_error() {
    let mock = mock_with_orders(3);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next(4, Fault::Status503);
    let err = client.license_expiry().await.unwrap_err();
    match &err {
        RmsError::Http {
            status,
            body_excerpt,
        } => {
            assert_eq!(*status, 503);
            assert!(body_excerpt.contains("Service Unavailable"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_transient());
    assert!(err.message_ja().contains("時間をおいて"));
}

#[tokio::test]
async fn timeout_is_retried() {
    let mock = mock_with_orders(10);
    let mut cfg = config(&serve(&mock).await);
    cfg.timeout = Duration::from_millis(300);
    let client = RmsClient::new(cfg).unwrap();
    mock.fail_next(1, Fault::Timeout(Duration::from_secs(2)));
    let started = Instant::now();
    let numbers = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap();
    assert_eq!(numbers.len(), 10);
    assert_eq!(client.stats().timeouts, 1);
    assert_eq!(client.stats().retries, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the slow answer"
    );
}

#[tokio::test]
async fn timeouts_until_exhausted_end_as_timeout() {
    let mock = mock_with_orders(1);
    let mut cfg = config(&serve(&mock).await);
    cfg.timeout = Duration::from_millis(150);
    cfg.max_retries = 1;
    let client = RmsClient::new(cfg).unwrap();
    mock.fail_next(2, Fault::Timeout(Duration::from_secs(1)));
    let err = client.license_expiry().await.unwrap_err();
    assert_eq!(
        err,
        RmsError::Timeout {
            after: Duration::from_millis(150)
        }
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_with_an_excerpt() {
    let mock = mock_with_orders(5);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next(1, Fault::MalformedJson);
    let err = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap_err();
    match &err {
        RmsError::Decode {
            context, excerpt, ..
        } => {
            assert_eq!(context, "searchOrder");
            assert!(excerpt.starts_with("{\"orderNumberList\""));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        mock.stats().search_order,
        1,
        "a 200 with bad JSON is not retried"
    );
}

#[tokio::test]
async fn expired_key_is_ga0001_without_a_retry_storm() {
    let mock = mock_with_orders(200);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.set_key_expired(true);
    let err = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap_err();
    assert_eq!(err.gateway_code(), Some("GA0001"));
    assert!(err.is_auth());
    match &err {
        RmsError::Gateway { http_status, .. } => assert_eq!(*http_status, 401),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().starts_with(
        "Rakuten rejected the license key (GA0001): it is wrong or expired — issue a new key in RMS and update the municipality's credentials"
    ));
    assert!(err.message_ja().contains("新しいライセンスキー"));
    assert_no_secret(&err);
    let s = mock.stats();
    assert_eq!(
        (s.requests, s.auth_rejected),
        (1, 1),
        "exactly one request, no retries"
    );
    assert_eq!(client.stats().retries, 0);

    // The expiry check fails the same way.
    let err = client.license_expiry().await.unwrap_err();
    assert!(err.is_auth());
    assert_no_secret(&err);
}

#[tokio::test]
async fn key_past_its_expiry_date_and_rotated_keys_are_rejected() {
    let past = PrimitiveDateTime::new(now_jst().date() - time::Duration::days(1), Time::MIDNIGHT);
    let mock = MockRms::new(MockConfig::new(SECRET, KEY, past));
    let base = serve(&mock).await;
    let client = RmsClient::new(config(&base)).unwrap();
    assert!(client.license_expiry().await.unwrap_err().is_auth());

    // Issuing a new key kills the old one immediately.
    let future =
        PrimitiveDateTime::new(now_jst().date() + time::Duration::days(90), Time::MIDNIGHT);
    mock.rotate_license_key("SL_new_key", future);
    assert!(client.license_expiry().await.unwrap_err().is_auth());
    let mut cfg = config(&base);
    cfg.license_key = "SL_new_key".to_owned().into();
    let renewed = RmsClient::new(cfg).unwrap();
    assert_eq!(
        renewed.license_expiry().await.unwrap(),
        future.assume_offset(JST)
    );
}

#[tokio::test]
async fn function_not_enabled_is_es04_01() {
    let mock = mock_with_orders(5);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next(1, Fault::FunctionNotEnabled);
    let err = client
        .search_order_numbers(window(), &ProgressFilter::All)
        .await
        .unwrap_err();
    assert_eq!(err.gateway_code(), Some("ES04-01"));
    assert!(err.to_string().contains("not enabled"));
    assert!(err.message_ja().contains("利用機能編集"));
    assert_eq!(mock.stats().search_order, 1);
}

#[tokio::test]
async fn one_shot_expired_key_fault() {
    let mock = mock_with_orders(5);
    let client = RmsClient::new(config(&serve(&mock).await)).unwrap();
    mock.fail_next_on(Endpoint::LicenseExpiry, 1, Fault::ExpiredKey);
    assert!(client.license_expiry().await.unwrap_err().is_auth());
    assert!(client.license_expiry().await.is_ok());
}

#[tokio::test]
async fn writes_are_never_retried() {
    let mock = mock_with_orders(5);
    let mut cfg = config(&serve(&mock).await);
    cfg.timeout = Duration::from_millis(200);
    let client = RmsClient::new(cfg).unwrap();
    let number = mock.order_numbers_between(time::OffsetDateTime::UNIX_EPOCH, now_jst())[0].clone();
    let numbers = vec![number];

    for fault in [
        Fault::Status503,
        Fault::Status500,
        Fault::Throttle429,
        Fault::Timeout(Duration::from_secs(1)),
    ] {
        mock.reset_stats();
        let before = client.stats();
        mock.fail_next(1, fault.clone());
        let err = client
            .update_order_sub_status(1001, &numbers)
            .await
            .unwrap_err();
        let after = client.stats();
        assert_eq!(
            after.requests - before.requests,
            1,
            "{fault:?}: one attempt only"
        );
        assert_eq!(after.retries, before.retries, "{fault:?}: no retry");
        assert_eq!(mock.stats().update_order_sub_status, 1, "{fault:?}");
        assert!(err.is_transient(), "{fault:?}: {err:?}");
    }
    // Sanity: the same call does succeed without a fault, and the fault queue is empty.
    assert_eq!(mock.pending_faults(), 0);
    client
        .update_order_sub_status(1001, &numbers)
        .await
        .unwrap();
}

#[tokio::test]
async fn pacing_keeps_the_minimum_interval_across_clones() {
    let mock = mock_with_orders(1);
    let mut cfg = config(&serve(&mock).await);
    let interval = Duration::from_millis(50);
    cfg.min_interval = interval;
    let client = RmsClient::new(cfg).unwrap();

    // Sequential: n + 1 requests take at least n intervals.
    let n = 5;
    let started = Instant::now();
    for _ in 0..=n {
        client.license_expiry().await.unwrap();
    }
    assert!(started.elapsed() >= interval * n);

    // Concurrent clones share one pacer.
    let started = Instant::now();
    let tasks: Vec<_> = (0..=n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.license_expiry().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(started.elapsed() >= interval * n);
    assert_eq!(client.stats().requests, 2 * (n as u64 + 1));
}

#[tokio::test]
async fn connection_errors_are_retried_and_never_show_the_key() {
    // Bind then drop a listener to get a port with nothing behind it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.max_retries = 2;
    let client = RmsClient::new(cfg).unwrap();
    // The expiry URL carries the key in its query string.
    let err = client.license_expiry().await.unwrap_err();
    assert!(matches!(err, RmsError::Transport(_)), "{err:?}");
    assert_no_secret(&err);
    assert_eq!(client.stats().requests, 3);
    assert_eq!(client.stats().retries, 2);
}
