//! Initial loads (`rakuten_sync::bulk`): a sync that defers the random-insert indexes and matches
//! donors in memory decides exactly what the normal sync decides, and leaves every index in
//! place. Runs on SQLite, and on PostgreSQL when `FURUSATO_TEST_DATABASE_URL` is set (where a
//! sync never defers indexes, so both runs take the normal path).

mod rakuten_sync_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use furusato_db::donors::{self, NewDonor};
use furusato_db::{Backend, with_db};
use furusato_intake::rakuten_sync::{self, bulk};
use furusato_portals::rakuten::datetime::now_jst;
use furusato_portals::rakuten::mock::GeneratorSpec;
use furusato_portals::rakuten::mock::generate::{BuiltinPeople, OrderPerson, OrderPersonSource};
use rakuten_sync_support::*;
use time::Duration;

/// What the sync decided: for each donor, the order numbers linked to it; each source's link;
/// and the scores of the review queue.
#[derive(Debug, PartialEq, Eq)]
struct Decisions {
    donors: Vec<Vec<String>>,
    links: BTreeMap<String, String>,
    review_scores: Vec<i64>,
    counts: Vec<i64>,
}

async fn decisions(env: &Env) -> Decisions {
    let db = env.db();
    let rows: Vec<(uuid::Uuid, String)> = with_db!(db, |pool| sqlx::query_as(
        "SELECT donor_id, external_id FROM donations WHERE municipality_id = $1"
    )
    .bind(env.tenant.0)
    .fetch_all(pool)
    .await
    .unwrap());
    let mut by_donor: BTreeMap<uuid::Uuid, Vec<String>> = BTreeMap::new();
    for (donor, number) in rows {
        by_donor.entry(donor).or_default().push(number);
    }
    let mut donors: Vec<Vec<String>> = by_donor
        .into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    donors.sort();
    let links: Vec<(String, String)> = with_db!(db, |pool| sqlx::query_as(
        "SELECT external_id, link FROM donor_sources WHERE municipality_id = $1"
    )
    .bind(env.tenant.0)
    .fetch_all(pool)
    .await
    .unwrap());
    let mut review_scores: Vec<i64> = with_db!(db, |pool| sqlx::query_scalar(
        "SELECT score FROM match_reviews WHERE municipality_id = $1"
    )
    .bind(env.tenant.0)
    .fetch_all(pool)
    .await
    .unwrap());
    review_scores.sort();
    let mut counts = Vec::new();
    for t in [
        "donations",
        "donors",
        "donor_sources",
        "source_records",
        "portal_orders",
    ] {
        counts.push(env.count(t).await);
    }
    Decisions {
        donors,
        links: links.into_iter().collect(),
        review_scores,
        counts,
    }
}

/// The mock's built-in people, 150 of them coming back again and again; every seventh return
/// with another phone number and every eleventh with another address, so that some orders link
/// on their own and some go to the review queue.
struct Returning;

impl OrderPersonSource for Returning {
    fn person(&self, seed: u64, index: u64) -> OrderPerson {
        let mut p = BuiltinPeople.person(seed, index % 150);
        if index >= 150 && index.is_multiple_of(7) {
            p.phone = [
                "070".into(),
                format!("{:04}", index % 10_000),
                "0007".into(),
            ];
        }
        if index >= 150 && index.is_multiple_of(11) {
            p.sub_address = format!("{}-{}", p.sub_address, index % 97);
        }
        p
    }
}

/// A fresh database and mock with the same 600 generated orders.
async fn env_with_orders() -> Env {
    let env = Env::new().await;
    let today = now_jst().date();
    env.mock.insert_generated(
        GeneratorSpec::new(
            600,
            11,
            today - Duration::days(30),
            today - Duration::days(1),
            "283819",
        )
        .with_people(Arc::new(Returning)),
    );
    env
}

async fn index_count(env: &Env, names: &[&str]) -> i64 {
    let db = env.db();
    let mut n = 0;
    for name in names {
        let sql = match db.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
            }
        };
        let c: i64 = with_db!(db, |pool| sqlx::query_scalar(sql)
            .bind(*name)
            .fetch_one(pool)
            .await
            .unwrap());
        n += c;
    }
    n
}

/// The 600 orders synced into a fresh database in groups of 100, with initial loads from
/// `bulk_load_min_orders` orders on; every order is created.
async fn synced(bulk_load_min_orders: usize) -> (Env, rakuten_sync::SyncSummary) {
    let env = env_with_orders().await;
    let mut opts = env.opts();
    opts.group_size = 100;
    opts.bulk_load_min_orders = bulk_load_min_orders;
    let s = rakuten_sync::run(env.db(), None, env.tenant, opts)
        .await
        .unwrap();
    assert_eq!(
        (s.status.as_str(), s.counts.created),
        ("succeeded", 600),
        "{s:?}"
    );
    (env, s)
}

#[tokio::test]
async fn an_initial_load_decides_what_the_normal_sync_decides() {
    let (normal, _) = synced(usize::MAX).await;
    let (load, s) = synced(1).await;
    assert_eq!(
        s.initial_load_index_seconds.is_some(),
        load.db().backend() == Backend::Sqlite,
        "on SQLite the run is an initial load"
    );

    let expected = decisions(&normal).await;
    assert!(
        expected.donors.len() < 600,
        "people come back: {} donors",
        expected.donors.len()
    );
    assert!(expected.links.values().any(|l| l == "auto"));
    assert!(
        !expected.review_scores.is_empty(),
        "some orders need a review"
    );
    assert_eq!(decisions(&load).await, expected);

    // Every index is back and nothing is left listed.
    let all = bulk::DEFERRED_INDEXES.len() as i64;
    assert_eq!(index_count(&load, &bulk::DEFERRED_INDEXES).await, all);
    let listed: i64 = with_db!(load.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM deferred_indexes"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(listed, 0);

    // A re-run of the same orders changes nothing.
    let mut opts = load.opts();
    opts.bulk_load_min_orders = 1;
    let again = rakuten_sync::run(load.db(), None, load.tenant, opts)
        .await
        .unwrap();
    assert_eq!(again.counts.created, 0, "{again:?}");
    assert_eq!(again.initial_load_index_seconds, None, "nothing to load");
    assert_eq!(decisions(&load).await, expected);
}

fn person(kana: (&str, &str), phone: &str) -> NewDonor {
    NewDonor {
        family_name: "試験".into(),
        given_name: "花子".into(),
        family_kana: kana.0.into(),
        given_kana: kana.1.into(),
        postal_code: "9800811".into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: "一番町1-1-1".into(),
        phone: phone.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_matcher_reads_the_donors_again_when_another_connection_wrote() {
    let env = Env::new().await;
    let Some(writer) = env.db().dedicated_writer().await.unwrap() else {
        return; // PostgreSQL: no initial loads.
    };
    let wdb = writer.db();
    let mut load = bulk::BulkLoad::start(wdb, env.tenant, "test")
        .await
        .unwrap()
        .expect("indexes deferred");
    let mut tx = wdb.begin().await.unwrap();
    assert_eq!(load.matcher(&mut tx).await.unwrap().known(), 0);
    tx.commit().await.unwrap();

    // A clerk adds a donor through the shared pool while the load runs.
    let mut other = env.db().begin().await.unwrap();
    donors::insert(
        &mut other,
        env.tenant,
        &person(("シケン", "ハナコ"), "022-111-2222"),
    )
    .await
    .unwrap();
    other.commit().await.unwrap();

    let mut tx = wdb.begin().await.unwrap();
    assert_eq!(
        load.matcher(&mut tx).await.unwrap().known(),
        1,
        "the donor written by another connection is seen"
    );
    tx.rollback().await.unwrap();

    // Without another writer the matcher is kept; invalidate() reads again.
    let mut tx = wdb.begin().await.unwrap();
    assert_eq!(load.matcher(&mut tx).await.unwrap().known(), 1);
    load.invalidate();
    assert_eq!(load.matcher(&mut tx).await.unwrap().known(), 1);
    tx.rollback().await.unwrap();

    let built = load.finish(wdb).await.unwrap();
    assert_eq!(built.len(), bulk::DEFERRED_INDEXES.len());
    assert_eq!(
        index_count(&env, &bulk::DEFERRED_INDEXES).await,
        bulk::DEFERRED_INDEXES.len() as i64
    );
    writer.close().await;
}
