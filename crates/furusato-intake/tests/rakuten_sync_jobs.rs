//! Text mappings (review list, re-evaluation), stored credentials and the job worker: a queued
//! sync runs, schedules are queued once.

mod rakuten_sync_support;

use std::sync::Arc;

use furusato_db::audit::AuditEntry;
use furusato_db::intake_sync::{self, AccountSettings, NewTextMapping, source_field, target};
use furusato_db::jobs;
use furusato_intake::rakuten_sync::{self, Credentials, PORTAL, credentials};
use furusato_intake::worker;
use furusato_portals::rakuten::datetime::now_jst;
use furusato_vault::Keyring;
use rakuten_sync_support::*;
use serde_json::json;
use time::Duration;

fn actor(env: &Env) -> AuditEntry {
    AuditEntry {
        municipality_id: Some(env.tenant),
        user_login: "admin".into(),
        role: "operator_admin".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_choices_go_to_review_and_a_saved_mapping_is_applied() {
    let env = Env::new().await;
    let at = days_ago(1);
    let (n1, n2, n3) = (number(at, 1), number(at, 2), number(at, 3));
    for n in [&n1, &n2] {
        let mut o = order(n, at, 300);
        o["PackageModelList"][0]["ItemModelList"][0]["selectedChoice"] =
            json!("ワンストップ申請書送付:送付を希望する\n寄附金の使い道:環境保全");
        env.mock.insert_order(o).unwrap();
    }
    env.mock.insert_order(order(&n3, at, 300)).unwrap();
    let s = env.sync().await;
    assert_eq!(s.counts.created, 3);

    // Defaults were created on first use.
    let mappings = intake_sync::mappings(env.db(), env.tenant, PORTAL)
        .await
        .unwrap();
    assert!(
        mappings
            .iter()
            .any(|m| m.heading == "税金控除申請に必要な書類" && m.target == target::ONESTOP_WANTED)
    );
    // The unknown line is on the review list, counted per order, with an example.
    let reviews = intake_sync::reviews(env.db(), env.tenant, PORTAL, false)
        .await
        .unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(
        (reviews[0].heading.as_str(), reviews[0].value.as_str()),
        ("ワンストップ申請書送付", "送付を希望する")
    );
    assert_eq!(reviews[0].occurrences, 2);
    assert!(reviews[0].example_external_id == n1 || reviews[0].example_external_id == n2);
    let donation = |n: String| {
        let db = env.db().clone();
        let t = env.tenant;
        async move {
            let mut tx = db.begin().await.unwrap();
            let d = furusato_db::donations::find_by_external(&mut tx, t, PORTAL, &n)
                .await
                .unwrap()
                .unwrap();
            tx.rollback().await.unwrap();
            d
        }
    };
    assert!(
        !donation(n1.clone()).await.onestop_wanted,
        "not decided while unmapped"
    );
    assert_eq!(donation(n1.clone()).await.use_of_funds, "環境保全");

    // An operator maps it; the donations synced before are re-evaluated.
    let mut tx = env.db().begin().await.unwrap();
    let m = NewTextMapping {
        source_field: source_field::SELECTED_CHOICE.into(),
        heading: "ワンストップ申請書送付".into(),
        value: "送付を希望する".into(),
        target: target::ONESTOP_WANTED.into(),
        target_value: "true".into(),
    };
    intake_sync::upsert_mapping(&mut tx, env.tenant, PORTAL, &m)
        .await
        .unwrap();
    intake_sync::resolve_reviews(
        &mut tx,
        env.tenant,
        PORTAL,
        &m.source_field,
        &m.heading,
        &m.value,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let key = rakuten_sync::choices::mapping_key(&m.source_field, &m.heading, &m.value);
    worker::enqueue_remap(env.db(), env.tenant, &key, "admin")
        .await
        .unwrap();
    assert!(
        worker::tick(env.db(), None, "test-worker").await.unwrap(),
        "the worker ran the re-evaluation"
    );
    for n in [&n1, &n2] {
        let d = donation(n.clone()).await;
        assert!(d.onestop_wanted, "mapping applied to {n}");
        let ch = furusato_db::source_records::changes(env.db(), env.tenant, d.id)
            .await
            .unwrap();
        assert!(
            ch.iter()
                .any(|c| c.summary.contains("ワンストップ希望 あり")),
            "{ch:?}"
        );
    }
    assert!(
        intake_sync::reviews(env.db(), env.tenant, PORTAL, false)
            .await
            .unwrap()
            .is_empty()
    );
    // Unmapped keys were cleared: a second re-evaluation finds nothing to do.
    let again = rakuten_sync::remap::reevaluate(env.db(), env.tenant, &key, &actor(&env))
        .await
        .unwrap();
    assert_eq!(again.examined, 0);
    // And future syncs use the mapping (a fresh order with the same choice).
    let n4 = number(at, 4);
    let mut o = order(&n4, at + Duration::minutes(1), 300);
    o["PackageModelList"][0]["ItemModelList"][0]["selectedChoice"] =
        json!("ワンストップ申請書送付:送付を希望する");
    env.mock.insert_order(o).unwrap();
    env.sync().await;
    assert!(donation(n4.clone()).await.onestop_wanted);

    // Deleting the mapping and re-evaluating everything puts the text back on the review list
    // and the donations back to "not decided".
    let id = intake_sync::mappings(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.heading == "ワンストップ申請書送付")
        .unwrap()
        .id;
    let mut tx = env.db().begin().await.unwrap();
    intake_sync::delete_mapping(&mut tx, env.tenant, id)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let all = rakuten_sync::remap::reevaluate(env.db(), env.tenant, "", &actor(&env))
        .await
        .unwrap();
    assert_eq!(all.examined, 4);
    assert_eq!(all.updated, 3);
    assert!(!donation(n1.clone()).await.onestop_wanted);
    let reviews = intake_sync::reviews(env.db(), env.tenant, PORTAL, false)
        .await
        .unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].heading, "ワンストップ申請書送付");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_runs_a_queued_sync_with_stored_credentials() {
    let env = Env::new().await;
    let keyring = Arc::new(Keyring::generate().unwrap());
    let today = now_jst().date();
    env.mock
        .insert_generated(furusato_portals::rakuten::mock::GeneratorSpec::new(
            40,
            3,
            today - Duration::days(5),
            today - Duration::days(1),
            "283819",
        ));
    let settings = AccountSettings {
        base_url: env.base.clone(),
        get_order_version: 9,
        requests_per_second: 0,
        schedule_minutes: 30,
        enabled: true,
    };
    let id = credentials::save_account(
        env.db(),
        Some(&keyring),
        env.tenant,
        &settings,
        Some(&Credentials::new(SECRET, KEY)),
        actor(&env),
    )
    .await
    .unwrap();
    // Stored sealed: the clear values are nowhere in the row.
    let acc = intake_sync::account(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acc.id, id);
    let sealed = acc.credentials_sealed.clone().unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains(KEY)
            && !String::from_utf8_lossy(&sealed).contains(SECRET)
    );
    assert_eq!(
        credentials::stored(env.db(), Some(&keyring), env.tenant)
            .await
            .unwrap(),
        Some(Credentials::new(SECRET, KEY))
    );

    let job = worker::enqueue_sync(env.db(), env.tenant, rakuten_sync::Trigger::Manual, "admin")
        .await
        .unwrap();
    assert!(job.is_some());
    assert_eq!(
        worker::enqueue_sync(env.db(), env.tenant, rakuten_sync::Trigger::Manual, "admin")
            .await
            .unwrap(),
        None,
        "no duplicate"
    );
    assert!(
        worker::tick(env.db(), Some(&keyring), "test-worker")
            .await
            .unwrap()
    );
    let j = jobs::get(env.db(), job.unwrap()).await.unwrap().unwrap();
    assert_eq!(j.state, "done", "{}", j.last_error);
    let runs = intake_sync::runs(env.db(), env.tenant, PORTAL, 5)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].trigger_kind.as_str(),
            runs[0].started_by.as_str(),
            runs[0].status.as_str()
        ),
        ("manual", "admin", "succeeded")
    );
    assert_eq!(runs[0].created, 40);
    let acc = intake_sync::account(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .unwrap();
    assert!(acc.license_expires_at.is_some() && acc.license_checked_at.is_some());

    // The schedule is not due right after a run; it is once the interval has passed, and only once.
    assert_eq!(worker::enqueue_due_schedules(env.db()).await.unwrap(), 0);
    let mut tx = env.db().begin().await.unwrap();
    intake_sync::save_account_settings(
        &mut tx,
        env.tenant,
        PORTAL,
        &AccountSettings {
            schedule_minutes: 1,
            ..settings.clone()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    shift_history(&env, Duration::minutes(2)).await;
    assert_eq!(worker::enqueue_due_schedules(env.db()).await.unwrap(), 1);
    assert_eq!(
        worker::enqueue_due_schedules(env.db()).await.unwrap(),
        0,
        "no duplicate while queued"
    );
    assert!(
        worker::tick(env.db(), Some(&keyring), "test-worker")
            .await
            .unwrap()
    );
    let runs = intake_sync::runs(env.db(), env.tenant, PORTAL, 5)
        .await
        .unwrap();
    assert_eq!(runs[0].trigger_kind, "schedule");
    assert_eq!((runs[0].status.as_str(), runs[0].created), ("succeeded", 0));

    // A disabled account is not scheduled.
    let mut tx = env.db().begin().await.unwrap();
    intake_sync::save_account_settings(
        &mut tx,
        env.tenant,
        PORTAL,
        &AccountSettings {
            enabled: false,
            ..settings
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    shift_history(&env, Duration::hours(1)).await;
    assert_eq!(worker::enqueue_due_schedules(env.db()).await.unwrap(), 0);
}

/// Moves the run and job history back in time (a clock that went forward).
async fn shift_history(env: &Env, by: Duration) {
    let runs = intake_sync::runs(env.db(), env.tenant, PORTAL, 100)
        .await
        .unwrap();
    let db = env.db();
    for r in runs {
        furusato_db::with_db!(db, |pool| sqlx::query(
            "UPDATE sync_runs SET started_at = $1 WHERE id = $2"
        )
        .bind(r.started_at - by)
        .bind(r.id)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
    }
    for j in jobs::list_recent(db, env.tenant, None, 100).await.unwrap() {
        furusato_db::with_db!(db, |pool| sqlx::query(
            "UPDATE jobs SET created_at = $1 WHERE id = $2"
        )
        .bind(j.created_at - by)
        .bind(j.id)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_job_with_a_rejected_key_is_not_retried() {
    let env = Env::new().await;
    let keyring = Keyring::generate().unwrap();
    let settings = AccountSettings {
        base_url: env.base.clone(),
        get_order_version: 9,
        requests_per_second: 0,
        schedule_minutes: 0,
        enabled: true,
    };
    credentials::save_account(
        env.db(),
        Some(&keyring),
        env.tenant,
        &settings,
        Some(&Credentials::new(SECRET, "old-key")),
        actor(&env),
    )
    .await
    .unwrap();
    let job = worker::enqueue_sync(env.db(), env.tenant, rakuten_sync::Trigger::Manual, "admin")
        .await
        .unwrap()
        .unwrap();
    assert!(worker::tick(env.db(), Some(&keyring), "w").await.unwrap());
    let j = jobs::get(env.db(), job).await.unwrap().unwrap();
    assert_eq!(j.state, "failed");
    assert!(j.last_error.contains("GA0001"), "{}", j.last_error);
    let run = intake_sync::last_finished_run(env.db(), env.tenant, PORTAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.detail_json()["error_code"], json!("GA0001"));
    // Without keys the stored credentials cannot be used.
    let e = rakuten_sync::run(
        env.db(),
        None,
        env.tenant,
        rakuten_sync::RunOptions::new(rakuten_sync::Trigger::Cli, "x"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            rakuten_sync::SyncError::Credentials(credentials::CredentialError::NoKeyring)
        ),
        "{e:?}"
    );
}
