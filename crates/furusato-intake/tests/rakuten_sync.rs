//! 楽天 RMS sync against the in-process RMS-shaped mock, through the real client: the first sync,
//! re-runs, changes on later fetches, paging and the 15,000 cap, faults and the expired key.
//! Runs on SQLite, and on PostgreSQL when `FURUSATO_TEST_DATABASE_URL` is set.

mod rakuten_sync_support;

use furusato_db::donations;
use furusato_db::intake_sync;
use furusato_intake::rakuten_sync::{self, PORTAL};
use furusato_portals::rakuten::datetime::now_jst;
use furusato_portals::rakuten::mock::{Endpoint, Fault, GeneratorSpec, changes};
use rakuten_sync_support::*;
use serde_json::json;
use time::Duration;

async fn donation_of(env: &Env, number: &str) -> donations::Donation {
    let mut tx = env.db().begin().await.unwrap();
    let d = donations::find_by_external(&mut tx, env.tenant, PORTAL, number)
        .await
        .unwrap()
        .expect("donation exists");
    tx.rollback().await.unwrap();
    d
}

async fn counts(env: &Env) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push((t.to_string(), env.count(t).await));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_creates_donors_donations_ship_tos_and_items() {
    let env = Env::new().await;
    let at = days_ago(5);
    let n1 = number(at, 1);
    env.mock.insert_order(order(&n1, at, 300)).unwrap();
    // A second order of the same person, bank transfer not paid yet, with an unknown gift code.
    let n2 = number(at, 2);
    let mut o2 = order(&n2, at + Duration::hours(1), 100);
    o2["SettlementModel"] = json!({"settlementMethodCode": 9, "settlementMethod": "銀行振込"});
    o2["PackageModelList"][0]["ItemModelList"] = json!([item(
        "zz9999",
        "謎の返礼品",
        7000,
        2,
        "寄附金の使い道:観光振興"
    )]);
    o2["totalPrice"] = json!(14000);
    env.mock.insert_order(o2).unwrap();
    // Generated orders around them.
    let today = now_jst().date();
    env.mock.insert_generated(GeneratorSpec::new(
        120,
        7,
        today - Duration::days(20),
        today - Duration::days(1),
        "283819",
    ));

    let s = env.sync().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(s.counts.fetched, 122);
    assert_eq!(s.counts.created, 122);
    assert_eq!(s.counts.failed, 0);
    assert_eq!(env.count("donations").await, 122);
    assert_eq!(env.count("source_records").await, 122);
    assert_eq!(env.count("portal_orders").await, 122);
    assert!(
        s.license_expires_at.is_some(),
        "the expiry is read at each sync"
    );
    let acc_cursor = intake_sync::cursor(env.db(), env.tenant, PORTAL)
        .await
        .unwrap();
    assert!(acc_cursor.is_some(), "a complete run moves the cursor");

    let d1 = donation_of(&env, &n1).await;
    assert_eq!(d1.channel, "portal");
    assert_eq!(d1.portal.as_deref(), Some("rakuten"));
    assert_eq!(d1.amount, Some(10000));
    assert_eq!(d1.payment_method, "credit_card");
    assert_eq!(d1.payment_status, "paid");
    assert_eq!(d1.donated_on, at.to_offset(furusato_domain::JST).date());
    assert_eq!(
        d1.received_on,
        Some(d1.donated_on),
        "card: 受領日 = order date once settled"
    );
    assert!(d1.onestop_wanted);
    assert!(d1.receipt_wanted);
    assert_eq!(d1.use_of_funds, "子育て支援");
    assert!(d1.applied_at.is_some());

    let donor = furusato_db::donors::get(env.db(), env.tenant, d1.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (donor.family_name.as_str(), donor.given_name.as_str()),
        ("楽天", "太郎")
    );
    assert_eq!(
        (donor.family_kana.as_str(), donor.given_kana.as_str()),
        ("ラクテン", "タロウ")
    );
    assert_eq!(donor.postal_code, "1580094");
    assert_eq!(
        (
            donor.prefecture.as_str(),
            donor.city.as_str(),
            donor.address1.as_str()
        ),
        ("東京都", "世田谷区", "玉川1-2-3")
    );
    assert_eq!(donor.phone, "090-1111-2222");
    assert!(
        donor.email.ends_with("@pc.fw.rakuten.example"),
        "the relay address is kept"
    );
    assert_eq!(donor.sex, "male");
    assert_eq!(donor.birth_date, Some(time::macros::date!(1984 - 01 - 02)));

    let ships = donations::ship_tos(env.db(), env.tenant, d1.id)
        .await
        .unwrap();
    assert_eq!(ships.len(), 1);
    assert_eq!(ships[0].name, "楽天 太郎");
    assert_eq!(ships[0].postal_code, "1580094");
    assert_eq!(ships[0].address, "東京都世田谷区玉川1-2-3");
    assert_eq!(ships[0].external_ref, "90000001");
    let items = donations::items(env.db(), env.tenant, d1.id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].gift_code, "SD0001");
    assert!(
        items[0].gift_id.is_some() && items[0].gift_version_id.is_some(),
        "matched to the gift master"
    );
    assert_eq!(items[0].quantity, 1);
    assert_eq!(items[0].ship_to_id, Some(ships[0].id));

    // The same person's second order links to the same donor (exact match, never by e-mail).
    let d2 = donation_of(&env, &n2).await;
    assert_eq!(d2.donor_id, d1.donor_id);
    assert_eq!(d2.payment_method, "bank_transfer");
    assert_eq!(d2.payment_status, "unpaid");
    assert_eq!(d2.received_on, None);
    assert!(!d2.onestop_wanted);
    assert_eq!(d2.use_of_funds, "観光振興");
    let items2 = donations::items(env.db(), env.tenant, d2.id).await.unwrap();
    assert_eq!(items2[0].gift_code, "ZZ9999", "codes are upper-cased");
    assert_eq!(
        items2[0].gift_id, None,
        "an unknown code is kept without a gift"
    );
    assert_eq!(items2[0].name, "【ふるさと納税】謎の返礼品 [zz9999]");
    assert_eq!((items2[0].quantity, items2[0].amount), (2, Some(14000)));
    assert!(
        s.unknown_gift_codes
            .iter()
            .any(|g| g.code == "ZZ9999" && g.lines == 1),
        "{:?}",
        s.unknown_gift_codes
    );

    // The raw JSON is kept.
    let versions = furusato_db::source_records::versions(env.db(), env.tenant, "rakuten", &n1)
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].raw.contains(&n1));
    assert_eq!(versions[0].donation_id, Some(d1.id));

    // Run history.
    let runs = intake_sync::runs(env.db(), env.tenant, PORTAL, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].status.as_str(), runs[0].created, runs[0].fetched),
        ("succeeded", 122, 122)
    );
    assert!(runs[0].finished_at.is_some());
    assert!(runs[0].requests >= 3, "license + search + getOrder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_with_nothing_new_changes_nothing() {
    let env = Env::new().await;
    let today = now_jst().date();
    env.mock.insert_generated(GeneratorSpec::new(
        300,
        11,
        today - Duration::days(40),
        today - Duration::days(1),
        "283819",
    ));
    let first = env.sync().await;
    assert_eq!(first.status, "succeeded");
    assert_eq!(first.counts.created, 300);
    let before = counts(&env).await;
    let donations_digest = env
        .scalar_i64("SELECT CAST(COUNT(DISTINCT updated_at) + COALESCE(SUM(amount), 0) AS BIGINT) FROM donations WHERE municipality_id = $1")
        .await;

    let second = env.sync().await;
    assert_eq!(second.status, "succeeded");
    assert_eq!(
        (
            second.counts.created,
            second.counts.updated,
            second.counts.failed
        ),
        (0, 0, 0)
    );
    assert!(
        second.counts.unchanged > 0,
        "the overlap and the open orders were fetched again"
    );
    assert_eq!(second.counts.unchanged, second.counts.fetched);
    let after = counts(&env).await;
    for ((t, a), (_, b)) in before.iter().zip(&after) {
        let expected = if t == "sync_runs" { a + 1 } else { *a };
        assert_eq!(*b, expected, "rows of {t}");
    }
    let digest2 = env
        .scalar_i64("SELECT CAST(COUNT(DISTINCT updated_at) + COALESCE(SUM(amount), 0) AS BIGINT) FROM donations WHERE municipality_id = $1")
        .await;
    assert_eq!(donations_digest, digest2, "no donation was touched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_is_recorded_with_its_reason() {
    let env = Env::new().await;
    // Ordered 20 days ago (outside the overlap): the second pass must find it.
    let at = days_ago(20);
    let n = number(at, 1);
    env.mock.insert_order(order(&n, at, 300)).unwrap();
    assert_eq!(env.sync().await.counts.created, 1);
    assert_eq!(donation_of(&env, &n).await.payment_status, "paid");

    env.mock
        .update_order(&n, |o| changes::cancel(o, now_jst() - Duration::hours(1)))
        .unwrap();
    let s = env.sync().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(s.counts.updated, 1);
    let d = donation_of(&env, &n).await;
    assert_eq!(d.payment_status, "cancelled");
    assert_eq!(d.received_on, None);
    let ch = furusato_db::source_records::changes(env.db(), env.tenant, d.id)
        .await
        .unwrap();
    assert_eq!(ch.len(), 1);
    assert!(ch[0].summary.contains("取消"), "{}", ch[0].summary);
    assert!(
        ch[0].summary.contains("キャンセル完了") && ch[0].summary.contains("お客様都合"),
        "{}",
        ch[0].summary
    );
    assert_eq!(ch[0].source, "rakuten");
    let fields: serde_json::Value = serde_json::from_str(&ch[0].fields).unwrap();
    assert_eq!(fields["payment_status"], json!(["paid", "cancelled"]));
    let versions = furusato_db::source_records::versions(env.db(), env.tenant, "rakuten", &n)
        .await
        .unwrap();
    assert_eq!(versions.len(), 2, "each version of the order is kept");
    assert!(versions[1].raw.contains("\"orderProgress\":900"));
    // A cancelled order is terminal: later runs do not fetch it again.
    let again = env.sync().await;
    assert_eq!(again.counts.fetched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_edit_updates_the_ship_to_and_the_unshared_donor() {
    let env = Env::new().await;
    let at = days_ago(1);
    let n = number(at, 1);
    env.mock.insert_order(order(&n, at, 300)).unwrap();
    env.sync().await;
    let d = donation_of(&env, &n).await;
    let ship_id = donations::ship_tos(env.db(), env.tenant, d.id)
        .await
        .unwrap()[0]
        .id;

    env.mock
        .update_order(&n, |o| {
            changes::change_orderer_address(
                o,
                ("980", "0021"),
                "宮城県",
                "仙台市青葉区",
                "中央1-1-1",
            )
        })
        .unwrap();
    let s = env.sync().await;
    assert_eq!(s.counts.updated, 1, "{s:?}");
    let ships = donations::ship_tos(env.db(), env.tenant, d.id)
        .await
        .unwrap();
    assert_eq!(ships.len(), 1);
    assert_eq!(ships[0].id, ship_id, "updated in place");
    assert_eq!(ships[0].address, "宮城県仙台市青葉区中央1-1-1");
    assert_eq!(ships[0].postal_code, "9800021");
    let donor = furusato_db::donors::get(env.db(), env.tenant, d.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        donor.address1, "中央1-1-1",
        "the donor has no other donation: updated"
    );
    assert_eq!(donor.postal_code, "9800021");
    let ch = furusato_db::source_records::changes(env.db(), env.tenant, d.id)
        .await
        .unwrap();
    assert_eq!(ch.len(), 1);
    assert!(
        ch[0].summary.contains("送付先を更新") && ch[0].summary.contains("住所"),
        "{}",
        ch[0].summary
    );
    let fields: serde_json::Value = serde_json::from_str(&ch[0].fields).unwrap();
    assert_eq!(
        fields["orderer.address1"],
        json!(["玉川1-2-3", "中央1-1-1"])
    );
    assert_eq!(fields["donor_updated"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_edit_of_a_shared_donor_is_recorded_not_applied() {
    let env = Env::new().await;
    let at = days_ago(1);
    let (n1, n2) = (number(at, 1), number(at, 2));
    env.mock.insert_order(order(&n1, at, 300)).unwrap();
    env.mock
        .insert_order(order(&n2, at + Duration::minutes(5), 300))
        .unwrap();
    env.sync().await;
    let d1 = donation_of(&env, &n1).await;
    assert_eq!(
        d1.donor_id,
        donation_of(&env, &n2).await.donor_id,
        "one donor for both orders"
    );

    env.mock
        .update_order(&n1, |o| {
            changes::change_orderer_address(
                o,
                ("980", "0021"),
                "宮城県",
                "仙台市青葉区",
                "中央1-1-1",
            )
        })
        .unwrap();
    let s = env.sync().await;
    assert_eq!(s.donor_changes_pending, vec![n1.clone()]);
    let donor = furusato_db::donors::get(env.db(), env.tenant, d1.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        donor.address1, "玉川1-2-3",
        "a shared donor is not rewritten by one order"
    );
    let ch = furusato_db::source_records::changes(env.db(), env.tenant, d1.id)
        .await
        .unwrap();
    assert!(ch[0].summary.contains("未反映"), "{}", ch[0].summary);
    let fields: serde_json::Value = serde_json::from_str(&ch[0].fields).unwrap();
    assert_eq!(
        fields["orderer.address1"],
        json!(["玉川1-2-3", "中央1-1-1"])
    );
    assert_eq!(fields["donor_updated"], json!(false));
    // The ship-to of the edited order did change.
    assert_eq!(
        donations::ship_tos(env.db(), env.tenant, d1.id)
            .await
            .unwrap()[0]
            .address,
        "宮城県仙台市青葉区中央1-1-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amount_change_and_undetermined_amount() {
    let env = Env::new().await;
    let at = days_ago(2);
    let (n1, n2) = (number(at, 1), number(at, 2));
    env.mock.insert_order(order(&n1, at, 300)).unwrap();
    // -9999: 未確定 (never an amount).
    let mut o2 = order(&n2, at, 100);
    for k in ["goodsPrice", "totalPrice", "requestPrice"] {
        o2[k] = json!(-9999);
    }
    env.mock.insert_order(o2).unwrap();
    env.sync().await;
    assert_eq!(donation_of(&env, &n2).await.amount, None);
    assert_eq!(donation_of(&env, &n2).await.payment_status, "unpaid");

    env.mock
        .update_order(&n1, |o| changes::change_amount(o, 8000, now_jst()))
        .unwrap();
    env.mock
        .update_order(&n2, |o| {
            for k in ["goodsPrice", "totalPrice", "requestPrice"] {
                o[k] = json!(12000);
            }
            o["orderProgress"] = json!(300);
            o["orderFixDatetime"] = o["orderDatetime"].clone();
        })
        .unwrap();
    let s = env.sync().await;
    assert_eq!(s.counts.updated, 2, "{s:?}");
    let d1 = donation_of(&env, &n1).await;
    assert_eq!(d1.amount, Some(8000));
    let ch = furusato_db::source_records::changes(env.db(), env.tenant, d1.id)
        .await
        .unwrap();
    assert!(ch[0].summary.contains("寄附額"), "{}", ch[0].summary);
    let items = donations::items(env.db(), env.tenant, d1.id).await.unwrap();
    assert_eq!(items[0].amount, Some(8000));
    let d2 = donation_of(&env, &n2).await;
    assert_eq!(d2.amount, Some(12000), "fixed later → amount set");
    assert_eq!(d2.payment_status, "paid");
    let ch = furusato_db::source_records::changes(env.db(), env.tenant, d2.id)
        .await
        .unwrap();
    assert!(ch[0].summary.contains("金額未確定→"), "{}", ch[0].summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_package_order_gets_two_ship_tos() {
    let env = Env::new().await;
    let at = days_ago(3);
    let n = number(at, 1);
    let mut o = order(&n, at, 300);
    let friend = person(
        "山田",
        "花子",
        "ヤマダ",
        "ハナコ",
        ("980", "0811"),
        "仙台市青葉区",
        "一番町4-5-6",
        ["022", "123", "4567"],
    );
    o["severalSenderFlag"] = json!(1);
    o["PackageModelList"].as_array_mut().unwrap().push(package(
        90000002,
        friend,
        vec![item("SD0003", "笹かまぼこ", 5000, 2, "")],
    ));
    o["totalPrice"] = json!(20000);
    env.mock.insert_order(o).unwrap();
    env.sync().await;
    let d = donation_of(&env, &n).await;
    assert_eq!(d.amount, Some(20000));
    let ships = donations::ship_tos(env.db(), env.tenant, d.id)
        .await
        .unwrap();
    assert_eq!(ships.len(), 2);
    assert_eq!((ships[0].seq, ships[1].seq), (1, 2));
    assert_eq!(ships[1].name, "山田 花子");
    assert_eq!(ships[1].external_ref, "90000002");
    let items = donations::items(env.db(), env.tenant, d.id).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].ship_to_id, Some(ships[0].id));
    assert_eq!(items[1].ship_to_id, Some(ships[1].id));
    assert_eq!(
        (
            items[1].gift_code.as_str(),
            items[1].quantity,
            items[1].amount
        ),
        ("SD0003", 2, Some(10000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_hit_windows_and_an_empty_shop() {
    let env = Env::new().await;
    // Nothing at all: every window answers zero hits with null pagination.
    let s = env.sync().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(s.counts.fetched, 0);
    assert!(
        s.counts.requests >= 12,
        "730 days = 12 windows of ≤ 63 days, each searched once"
    );
    assert_eq!(env.count("donations").await, 0);
    // Orders only in the last days: the earlier windows of a --since run have zero hits.
    let at = days_ago(2);
    env.mock
        .insert_order(order(&number(at, 1), at, 300))
        .unwrap();
    let mut opts = env.opts();
    opts.since = Some(now_jst().date() - Duration::days(200));
    let s = rakuten_sync::run(env.db(), None, env.tenant, opts)
        .await
        .unwrap();
    assert_eq!((s.status.as_str(), s.counts.created), ("succeeded", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_above_15000_results_is_split_and_every_order_comes_once() {
    let env = Env::new().await;
    let today = now_jst().date();
    // 15,400 orders in three days: one searchOrder window reports more than the reachable 15,000.
    let n = 15_400;
    env.mock.insert_generated(GeneratorSpec::new(
        n,
        99,
        today - Duration::days(3),
        today - Duration::days(1),
        "283819",
    ));
    let s = env.sync().await;
    assert_eq!(s.status, "succeeded", "{:?}", s.error);
    assert_eq!(s.counts.fetched, n as i64);
    assert_eq!(s.counts.created, n as i64);
    assert_eq!(env.count("donations").await, n as i64);
    assert_eq!(
        env.scalar_i64(
            "SELECT COUNT(DISTINCT external_id) FROM donations WHERE municipality_id = $1"
        )
        .await,
        n as i64,
        "every order exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried() {
    let env = Env::new().await;
    let today = now_jst().date();
    env.mock.insert_generated(GeneratorSpec::new(
        250,
        5,
        today - Duration::days(10),
        today - Duration::days(1),
        "283819",
    ));
    env.mock
        .fail_next_on(Endpoint::GetOrder, 2, Fault::Throttle429);
    env.mock
        .fail_next_on(Endpoint::SearchOrder, 1, Fault::Status503);
    env.mock
        .fail_next_on(Endpoint::GetOrder, 1, Fault::Status500);
    let s = env.sync().await;
    assert_eq!(s.status, "succeeded", "{:?}", s.error);
    assert_eq!(s.counts.created, 250);
    assert!(s.counts.retries >= 4, "retries {}", s.counts.retries);
    assert_eq!(env.mock.pending_faults(), 0);
    assert!(env.mock.stats().faults_injected >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_fails_the_run_before_anything_is_written() {
    let env = Env::new().await;
    let today = now_jst().date();
    env.mock.insert_generated(GeneratorSpec::new(
        50,
        5,
        today - Duration::days(10),
        today - Duration::days(1),
        "283819",
    ));
    env.mock.set_key_expired(true);
    let s = env.sync().await;
    assert_eq!(s.status, "failed");
    assert_eq!(s.error_code.as_deref(), Some("GA0001"));
    assert!(s.error.as_deref().unwrap().contains("GA0001"));
    assert!(s.error_ja.as_deref().unwrap().contains("ライセンスキー"));
    assert_eq!(env.count("donations").await, 0);
    assert_eq!(env.count("source_records").await, 0);
    assert_eq!(
        intake_sync::cursor(env.db(), env.tenant, PORTAL)
            .await
            .unwrap(),
        None,
        "cursor not advanced"
    );
    let run = intake_sync::last_finished_run(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "failed");
    assert!(run.error.contains("GA0001"));
    assert_eq!(run.detail_json()["error_code"], json!("GA0001"));

    // The key is rejected in the middle of the run (the license check passed): still nothing
    // half-written, and the cursor stays before the window that could not be read (the empty
    // windows before it are complete).
    env.mock.set_key_expired(false);
    env.mock
        .fail_next_on(Endpoint::GetOrder, 1, Fault::ExpiredKey);
    let s = env.sync().await;
    assert_eq!(
        (s.status.as_str(), s.error_code.as_deref()),
        ("failed", Some("GA0001"))
    );
    assert_eq!(env.count("donations").await, 0);
    let cursor = intake_sync::cursor(env.db(), env.tenant, PORTAL)
        .await
        .unwrap();
    assert!(
        cursor.is_none_or(|c| c < days_ago(11)),
        "cursor {cursor:?} passed orders that were not written"
    );
    // Once the key works again everything comes in.
    let s = env.sync().await;
    assert_eq!((s.status.as_str(), s.counts.created), ("succeeded", 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_batch_fails_only_its_orders_and_holds_the_cursor() {
    let env = Env::new().await;
    let today = now_jst().date();
    env.mock.insert_generated(GeneratorSpec::new(
        350,
        21,
        today - Duration::days(10),
        today - Duration::days(1),
        "283819",
    ));
    // The first getOrder batch answers truncated JSON (a 200: no retry helps).
    env.mock
        .fail_next_on(Endpoint::GetOrder, 1, Fault::MalformedJson);
    let mut opts = env.opts();
    opts.group_size = 100;
    let s = rakuten_sync::run(env.db(), None, env.tenant, opts)
        .await
        .unwrap();
    assert_eq!(s.status, "partial", "{s:?}");
    assert_eq!(s.counts.failed, 100, "one batch of 100 failed");
    assert_eq!(s.counts.created, 250, "the other batches were written");
    assert_eq!(s.failed_orders.len(), 100);
    assert!(
        s.failed_orders[0].reason.contains("getOrder failed"),
        "{:?}",
        s.failed_orders[0]
    );
    let run = intake_sync::last_finished_run(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.failed, 100);
    assert_eq!(
        run.detail_json()["failed_orders"].as_array().unwrap().len(),
        100
    );
    // The cursor stops at the day of the earliest failed order.
    let cursor = intake_sync::cursor(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .expect("cursor");
    let earliest = s
        .failed_orders
        .iter()
        .filter_map(|f| f.ordered_at)
        .min()
        .unwrap();
    assert!(
        cursor <= earliest,
        "cursor {cursor} must not pass the failed order at {earliest}"
    );
    // The next run picks them up.
    let s = env.sync().await;
    assert_eq!(
        (s.status.as_str(), s.counts.created),
        ("succeeded", 100),
        "{s:?}"
    );
    assert_eq!(env.count("donations").await, 350);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_orders_are_listed_and_their_json_kept() {
    let env = Env::new().await;
    let at = days_ago(1);
    let (good, bad) = (number(at, 1), number(at, 2));
    env.mock.insert_order(order(&good, at, 300)).unwrap();
    let mut o = order(&bad, at, 300);
    o["OrdererModel"] = json!("not an object");
    let served = serde_json::to_string(&o).unwrap();
    env.mock.insert_order(o).unwrap();
    let s = env.sync().await;
    assert_eq!(s.status, "partial");
    assert_eq!((s.counts.created, s.counts.failed), (1, 1));
    assert_eq!(s.failed_orders[0].order_number, bad);
    let kept = furusato_db::source_records::versions(env.db(), env.tenant, "rakuten", &bad)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "the raw JSON of a failed order is kept");
    assert_eq!(kept[0].donation_id, None);
    assert_eq!(kept[0].raw, served, "kept as the bytes the server sent");
    let good_kept = furusato_db::source_records::versions(env.db(), env.tenant, "rakuten", &good)
        .await
        .unwrap();
    assert_eq!(
        good_kept[0].raw,
        serde_json::to_string(&order(&good, at, 300)).unwrap(),
        "an order taken in is kept as the bytes the server sent too"
    );

    // Corrected at the portal, the order comes in on the next run as version 2 of its record.
    env.mock.upsert_order(order(&bad, at, 300)).unwrap();
    let s = env.sync().await;
    assert_eq!((s.counts.created, s.counts.failed), (1, 0), "{s:?}");
    let kept = furusato_db::source_records::versions(env.db(), env.tenant, "rakuten", &bad)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .any(|v| v.version == 2 && v.donation_id.is_some())
    );
}
