//! The real RMS client against the RMS mock on 127.0.0.1:0: searching, paging, window
//! splitting, fetching and parsing.

use std::collections::HashSet;
use std::time::Duration;

use furusato_portals::rakuten::datetime::{JST, now_jst};
use furusato_portals::rakuten::mock::{GeneratorSpec, MockConfig, MockRms, changes};
use furusato_portals::rakuten::model::Price;
use furusato_portals::rakuten::{
    ProgressFilter, RmsClient, RmsConfig, RmsError, SearchWindow, split_windows,
};
use serde_json::json;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// A served mock and a fast client for it.
async fn setup() -> (MockRms, RmsClient) {
    let mock = MockRms::new(MockConfig::default());
    let (addr, _handle) = mock.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = RmsClient::new(fast(mock.client_config(&format!("http://{addr}")))).unwrap();
    (mock, client)
}

fn fast(mut cfg: RmsConfig) -> RmsConfig {
    cfg.min_interval = Duration::ZERO;
    cfg.timeout = Duration::from_secs(5);
    cfg.max_retries = 3;
    cfg.backoff_base = Duration::from_millis(10);
    cfg.backoff_max = Duration::from_millis(50);
    cfg
}

fn today() -> Date {
    now_jst().date()
}

fn day_start(d: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(JST)
}

fn day_end(d: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(d, Time::from_hms(23, 59, 59).unwrap()).assume_offset(JST)
}

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

#[tokio::test]
async fn happy_path_search_then_get() {
    let (mock, client) = setup().await;
    let (from, to) = (today() - days(10), today() - days(1));
    assert_eq!(
        mock.insert_generated(GeneratorSpec::new(250, 11, from, to, "283819")),
        250
    );

    let window = SearchWindow::by_order_datetime(day_start(from), day_end(to));
    let numbers = client
        .search_order_numbers(window, &ProgressFilter::All)
        .await
        .unwrap();
    assert_eq!(numbers.len(), 250);
    assert_eq!(
        numbers,
        mock.order_numbers_between(day_start(from), day_end(to)),
        "all orders, in 注文日時 order"
    );

    let fetched = client.get_orders(&numbers).await.unwrap();
    assert_eq!(fetched.orders.len(), 250);
    assert!(fetched.missing.is_empty());
    assert!(fetched.undecodable.is_empty());
    assert!(fetched.order_messages.is_empty());
    for (n, o) in numbers.iter().zip(&fetched.orders) {
        assert_eq!(&o.model.order_number, n);
        assert_eq!(o.raw["orderNumber"], json!(n));
        assert_eq!(o.raw, mock.order(n).unwrap(), "raw JSON kept as sent");
        assert!(o.model.orderer.as_ref().unwrap().family_name.is_some());
    }
    let s = mock.stats();
    assert_eq!(s.search_order, 1, "250 hits fit in one page of 1000");
    assert_eq!(s.get_order, 3, "batches of 100");
    assert_eq!(s.orders_served, 250);
    assert_eq!(client.stats().requests, 4);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn progress_filter_is_applied() {
    let (mock, client) = setup().await;
    let (from, to) = (today() - days(5), today() - days(1));
    mock.insert_generated(GeneratorSpec::new(400, 5, from, to, "1"));
    let window = SearchWindow::by_order_datetime(day_start(from), day_end(to));
    let cancelled = client
        .search_order_numbers(window, &ProgressFilter::Only(vec![900]))
        .await
        .unwrap();
    assert!(!cancelled.is_empty());
    for n in &cancelled {
        assert_eq!(mock.order(n).unwrap()["orderProgress"], json!(900));
    }
    let all = client
        .search_order_numbers(window, &ProgressFilter::All)
        .await
        .unwrap();
    assert_eq!(all.len(), 400);
}

#[tokio::test]
async fn range_longer_than_63_days_is_split() {
    let (mock, client) = setup().await;
    let (from, to) = (today() - days(150), today() - days(1));
    mock.insert_generated(GeneratorSpec::new(600, 12, from, to, "283819"));
    let (start, end) = (day_start(from), day_end(to));
    let windows = split_windows(start, end);
    assert_eq!(windows.len(), 3);

    let numbers = client
        .search_order_numbers(
            SearchWindow::by_order_datetime(start, end),
            &ProgressFilter::All,
        )
        .await
        .unwrap();
    assert_eq!(numbers.len(), 600);
    assert_eq!(numbers, mock.order_numbers_between(start, end));
    // One request per window (each holds < 1000 hits); the mock refuses windows > 63 days,
    // so getting here proves every request was within the limit.
    assert_eq!(mock.stats().search_order, 3);
}

#[tokio::test]
async fn more_than_15000_hits_in_one_window_are_split_and_each_order_fetched_once() {
    let (mock, client) = setup().await;
    let (from, to) = (today() - days(6), today() - days(2));
    let n = 16_500;
    mock.insert_generated(GeneratorSpec::new(n, 99, from, to, "283819"));
    let (start, end) = (day_start(from), day_end(to));

    let numbers = client
        .search_order_numbers(
            SearchWindow::by_order_datetime(start, end),
            &ProgressFilter::All,
        )
        .await
        .unwrap();
    assert_eq!(numbers.len() as u64, n);
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len() as u64, n);
    assert_eq!(numbers, mock.order_numbers_between(start, end));
    // The 5-day window had 16,500 > 15,000 hits: 1 probe + two halves of ≤ 9 pages each.
    let searches = mock.stats().search_order;
    assert!((3..=25).contains(&searches), "{searches} searchOrder calls");

    let fetched = client.get_orders(&numbers).await.unwrap();
    assert_eq!(fetched.orders.len() as u64, n);
    assert!(fetched.missing.is_empty());
    let fetched_numbers: HashSet<&str> = fetched
        .orders
        .iter()
        .map(|o| o.model.order_number.as_str())
        .collect();
    assert_eq!(fetched_numbers.len() as u64, n);
    assert_eq!(
        mock.stats().orders_served,
        n,
        "every order fetched exactly once"
    );
    assert_eq!(mock.stats().get_order, n.div_ceil(100));
}

#[tokio::test]
async fn one_second_window_above_15000_is_an_error() {
    let (mock, client) = setup().await;
    let t = day_start(today() - days(1)) + time::Duration::hours(12);
    let stamp = furusato_portals::rakuten::datetime::format_rms_datetime(t);
    for i in 0..15_001 {
        mock.insert_order(json!({
            "orderNumber": format!("1-20250101-{i:010}"),
            "orderDatetime": stamp,
            "orderProgress": 100
        }))
        .unwrap();
    }
    let err = client
        .search_order_numbers(
            SearchWindow::by_order_datetime(t - time::Duration::seconds(3), t),
            &ProgressFilter::All,
        )
        .await
        .unwrap_err();
    match &err {
        RmsError::WindowTooDense { total, .. } => assert_eq!(*total, 15_001),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("15,000"));
}

#[tokio::test]
async fn zero_hit_window_is_empty_not_an_error() {
    let (mock, client) = setup().await;
    mock.insert_generated(GeneratorSpec::new(
        20,
        1,
        today() - days(30),
        today() - days(25),
        "1",
    ));
    let w = SearchWindow::by_order_datetime(day_start(today() - days(3)), day_end(today()));
    let numbers = client
        .search_order_numbers(w, &ProgressFilter::All)
        .await
        .unwrap();
    assert!(numbers.is_empty());
    assert_eq!(mock.stats().search_order, 1);
    let fetched = client.get_orders(&[]).await.unwrap();
    assert!(fetched.orders.is_empty());
    assert_eq!(mock.stats().get_order, 0);
}

#[tokio::test]
async fn undetermined_amounts_are_never_amounts() {
    let (mock, client) = setup().await;
    let spec = GeneratorSpec::new(50, 3, today() - days(3), today() - days(1), "1");
    let mut order = spec.order(0);
    order["orderProgress"] = json!(100);
    order["goodsPrice"] = json!(-9999);
    order["totalPrice"] = json!(-9999);
    order["requestPrice"] = json!(-9999);
    order["PackageModelList"][0]["goodsPrice"] = json!(-9999);
    let number = order["orderNumber"].as_str().unwrap().to_owned();
    mock.insert_order(order).unwrap();

    let fetched = client
        .get_orders(std::slice::from_ref(&number))
        .await
        .unwrap();
    let m = &fetched.orders[0].model;
    assert_eq!(m.total_price, Some(Price::Undetermined));
    assert_eq!(m.total_price.unwrap().amount(), None);
    assert_eq!(m.goods_price, Some(Price::Undetermined));
    assert!(m.has_undetermined_amount());
    let pkg = &m.packages.as_ref().unwrap()[0];
    assert_eq!(pkg.goods_price, Some(Price::Undetermined));
    // The raw JSON still has the sentinel for audit.
    assert_eq!(fetched.orders[0].raw["totalPrice"], json!(-9999));
}

#[tokio::test]
async fn multi_package_gift_order_is_parsed() {
    let (mock, client) = setup().await;
    let spec = GeneratorSpec::new(3000, 8, today() - days(20), today() - days(1), "283819");
    let index = (0..spec.n)
        .find(|i| spec.order(*i)["PackageModelList"].as_array().unwrap().len() > 1)
        .expect("the generator makes some multi-destination gift orders");
    let order = spec.order(index);
    let number = order["orderNumber"].as_str().unwrap().to_owned();
    mock.insert_order(order).unwrap();

    let fetched = client.get_orders(&[number]).await.unwrap();
    let m = &fetched.orders[0].model;
    let packages = m.packages.as_ref().unwrap();
    assert_eq!(packages.len(), 2);
    assert_eq!(m.several_sender_flag, Some(1));
    assert_eq!(m.gift_check_flag, Some(1));
    assert_ne!(packages[0].basket_id, packages[1].basket_id);
    let orderer = m.orderer.as_ref().unwrap();
    let first = packages[0].sender.as_ref().unwrap();
    assert_eq!(first.family_name, orderer.family_name);
    assert_eq!(first.sub_address, orderer.sub_address);
    let items: usize = packages
        .iter()
        .map(|p| p.items.as_ref().unwrap().len())
        .sum();
    assert_eq!(m.items().count(), items);
    assert!(items >= 2);
    let total: i64 = packages
        .iter()
        .map(|p| p.total_price.unwrap().amount().unwrap())
        .sum();
    assert_eq!(m.total_price, Some(Price::Amount(total)));
}

#[tokio::test]
async fn missing_orders_are_reported_not_lost() {
    let (mock, client) = setup().await;
    let spec = GeneratorSpec::new(5, 4, today() - days(3), today() - days(1), "1");
    let numbers: Vec<String> = (0..5).map(|i| spec.header(i).order_number).collect();
    mock.insert_generated(spec);
    let mut asked = numbers.clone();
    asked.push("1-20250101-9999999999".into());
    asked.push(numbers[0].clone()); // duplicates are fetched once
    let r = client.get_orders(&asked).await.unwrap();
    assert_eq!(r.orders.len(), 5);
    assert_eq!(r.missing, vec!["1-20250101-9999999999".to_owned()]);
    assert_eq!(r.order_messages.len(), 1);
    assert!(r.order_messages[0].is_warning());
    assert_eq!(
        r.order_messages[0].order_number.as_deref(),
        Some("1-20250101-9999999999")
    );
    assert_eq!(mock.stats().orders_served, 5);
}

#[tokio::test]
async fn changes_on_older_orders_are_seen_on_refetch() {
    let (mock, client) = setup().await;
    let spec = GeneratorSpec::new(40, 21, today() - days(9), today() - days(2), "1");
    mock.insert_generated(spec.clone());
    let number = (0..40)
        .map(|i| spec.header(i))
        .find(|h| h.order_progress == 700)
        .unwrap()
        .order_number;
    let before = client
        .get_orders(std::slice::from_ref(&number))
        .await
        .unwrap();
    assert!(!before.orders[0].model.is_cancelled());

    mock.update_order(&number, |o| changes::cancel(o, now_jst()))
        .unwrap();
    let after = client
        .get_orders(std::slice::from_ref(&number))
        .await
        .unwrap();
    let m = &after.orders[0].model;
    assert!(m.is_cancelled());
    assert_eq!(
        m.change_reasons
            .as_ref()
            .unwrap()
            .last()
            .unwrap()
            .change_type,
        Some(2)
    );
    // The order stays findable by its 注文日時 with the cancelled status.
    let w =
        SearchWindow::by_order_datetime(day_start(today() - days(9)), day_end(today() - days(2)));
    let cancelled = client
        .search_order_numbers(w, &ProgressFilter::Only(vec![900]))
        .await
        .unwrap();
    assert!(cancelled.contains(&number));
}

#[tokio::test]
async fn license_expiry_is_read_as_jst() {
    let expiry = PrimitiveDateTime::new(
        time::macros::date!(2026 - 11 - 28),
        Time::from_hms(23, 59, 59).unwrap(),
    );
    let mock = MockRms::new(MockConfig::new("sec", "key", expiry));
    // The mock expires keys by the wall clock; keep this one valid whatever today is.
    let far = PrimitiveDateTime::new(time::macros::date!(2999 - 01 - 01), Time::MIDNIGHT);
    let (addr, _h) = mock.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    mock.rotate_license_key("key", far);
    let client = RmsClient::new(fast(mock.client_config(&format!("http://{addr}")))).unwrap();
    let got = client.license_expiry().await.unwrap();
    assert_eq!(got, far.assume_offset(JST));
    assert_eq!(got.offset(), JST);

    mock.rotate_license_key("key", expiry);
    if now_jst() < expiry.assume_offset(JST) {
        assert_eq!(
            client.license_expiry().await.unwrap(),
            time::macros::datetime!(2026-11-28 23:59:59 +9)
        );
    }
}

#[tokio::test]
async fn write_marks_orders_and_is_not_retried_on_success_path() {
    let (mock, client) = setup().await;
    let spec = GeneratorSpec::new(3, 2, today() - days(3), today() - days(1), "1");
    let numbers: Vec<String> = (0..3).map(|i| spec.header(i).order_number).collect();
    mock.insert_generated(spec);
    mock.add_sub_status(1001, "基幹取込済");
    let msgs = client
        .update_order_sub_status(1001, &numbers)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 3);
    let fetched = client.get_orders(&numbers).await.unwrap();
    for o in &fetched.orders {
        assert_eq!(o.model.sub_status_id, Some(1001));
        assert_eq!(o.model.sub_status_name.as_deref(), Some("基幹取込済"));
    }
    let err = client
        .update_order_sub_status(1001, &["1-20250101-0000000000".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(err, RmsError::Business(_)), "{err:?}");
}
