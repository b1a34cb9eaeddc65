//! The audit trail is append-only and tamper-evident: changing, deleting or adding rows behind
//! the application's back is reported by `verify` at the first broken entry.

use furusato_db::audit::{self, AuditEntry, BrokenKind};
use furusato_db::testing::test_db;
use furusato_db::with_db;

fn entry(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        user_login: "clerk".into(),
        role: "city".into(),
        ip: "192.0.2.1".into(),
        action: action.into(),
        target_kind: "donor".into(),
        target_id: target.into(),
        detail: serde_json::json!({"k": "v"}),
        ..Default::default()
    }
}

async fn seeded(n: usize) -> furusato_db::testing::TestDb {
    let db = test_db().await;
    for i in 0..n {
        let seq = audit::record(&db, &entry("donor.view", &format!("id-{i}")))
            .await
            .unwrap();
        assert_eq!(seq, i as i64 + 1);
    }
    db
}

#[tokio::test]
async fn an_untouched_log_verifies() {
    let db = seeded(5).await;
    let r = audit::verify(&db).await.unwrap();
    assert_eq!(r.checked, 5);
    assert_eq!(r.first_broken, None);
}

#[tokio::test]
async fn an_updated_row_is_reported() {
    let db = seeded(5).await;
    with_db!(&db.db, |pool| sqlx::query(
        "UPDATE audit_log SET target_id = 'someone-else' WHERE seq = 3"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let b = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!((b.seq, b.problem), (3, BrokenKind::Modified));
}

#[tokio::test]
async fn a_deleted_row_is_reported() {
    let db = seeded(5).await;
    with_db!(&db.db, |pool| sqlx::query(
        "DELETE FROM audit_log WHERE seq = 2"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let b = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!((b.seq, b.problem), (3, BrokenKind::Missing { expected: 2 }));
}

#[tokio::test]
async fn a_deleted_tail_is_reported() {
    let db = seeded(5).await;
    with_db!(&db.db, |pool| sqlx::query(
        "DELETE FROM audit_log WHERE seq >= 4"
    )
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let b = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!(
        b.problem,
        BrokenKind::HeadMismatch {
            head_seq: 5,
            last_seq: 3
        }
    );
}

#[tokio::test]
async fn a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link() {
    let db = seeded(4).await;
    // An attacker changes entry 2 and recomputes its own hash: entry 3 no longer links to it.
    let mut rows = Vec::new();
    audit::for_each(
        &db,
        furusato_db::MunicipalityId(uuid::Uuid::nil()),
        &Default::default(),
        |r| {
            rows.push(r);
            Ok(())
        },
    )
    .await
    .unwrap();
    assert!(
        rows.is_empty(),
        "install-wide entries are not in a tenant's view"
    );
    let mut forged: audit::AuditRow = with_db!(&db.db, |pool| {
        sqlx::query_as::<_, audit::AuditRow>(
        "SELECT seq, id, municipality_id, at, user_id, user_login, role, ip, action, target_kind, target_id, reason, detail, prev_hash, hash FROM audit_log WHERE seq = 2"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    forged.target_id = "forged".into();
    let new_hash = forged.expected_hash().to_vec();
    with_db!(&db.db, |pool| sqlx::query(
        "UPDATE audit_log SET target_id = 'forged', hash = $1 WHERE seq = 2"
    )
    .bind(&new_hash)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let b = audit::verify(&db).await.unwrap().first_broken.unwrap();
    assert_eq!((b.seq, b.problem), (3, BrokenKind::ChainMismatch));
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    let db = test_db().await;
    let mut handles = vec![];
    for i in 0..20 {
        let db = db.db.clone();
        handles.push(tokio::spawn(async move {
            audit::record(&db, &entry("donor.view", &format!("{i}")))
                .await
                .unwrap()
        }));
    }
    let mut seqs = vec![];
    for h in handles {
        seqs.push(h.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
    assert_eq!(audit::verify(&db).await.unwrap().first_broken, None);
}
