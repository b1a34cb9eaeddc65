//! The mock holds 1,000,000 generated orders in well under 500 MB and still answers searches
//! and getOrder. A single test in its own binary so the process RSS is meaningful.

use std::time::Instant;

use furusato_portals::rakuten::datetime::now_jst;
use furusato_portals::rakuten::mock::{GeneratorSpec, MockConfig, MockRms};
use furusato_portals::rakuten::{ProgressFilter, RmsClient, SearchWindow};

/// Resident set size of this process in bytes (Linux), if known.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn one_million_orders_fit_in_memory() {
    let before = rss_bytes();
    let mock = MockRms::new(MockConfig::default());
    let today = now_jst().date();
    let started = Instant::now();
    let added = mock.insert_generated(GeneratorSpec::new(
        1_000_000,
        2025,
        today - time::Duration::days(365),
        today - time::Duration::days(1),
        "283819",
    ));
    assert_eq!(added, 1_000_000);
    let load_time = started.elapsed();
    if let (Some(b), Some(a)) = (before, rss_bytes()) {
        let grown = a.saturating_sub(b);
        eprintln!(
            "1,000,000 orders: +{} MB RSS (total {} MB), loaded in {:?}",
            grown / 1_000_000,
            a / 1_000_000,
            load_time
        );
        assert!(
            a < 500_000_000,
            "mock RSS {a} bytes is not well under 500 MB"
        );
    }

    // Still serves: a search over the busiest days and a getOrder batch.
    let (addr, _h) = mock.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut cfg = mock.client_config(&format!("http://{addr}"));
    cfg.min_interval = std::time::Duration::ZERO;
    let client = RmsClient::new(cfg).unwrap();
    let end = now_jst() - time::Duration::days(2);
    let w = SearchWindow::by_order_datetime(end - time::Duration::hours(6), end);
    let numbers = client
        .search_order_numbers(w, &ProgressFilter::All)
        .await
        .unwrap();
    assert_eq!(numbers, mock.order_numbers_between(w.start, w.end));
    let some: Vec<String> = numbers.iter().take(100).cloned().collect();
    let fetched = client.get_orders(&some).await.unwrap();
    assert_eq!(fetched.orders.len(), some.len());
}
