//! Indexes a bulk load defers (`dialect::defer_indexes`) come back exactly as they were: at the
//! end of the load, or at the next start (`Db::migrate`) when the load never got there.
//! Runs on SQLite, and on PostgreSQL when `FURUSATO_TEST_DATABASE_URL` is set (where nothing is
//! deferred).

use furusato_db::testing::test_db;
use furusato_db::{Backend, Db, dialect, with_db};

/// The index's definition, if it exists.
async fn definition(db: &Db, name: &str) -> Option<String> {
    match db.backend() {
        Backend::Sqlite => with_db!(db, |pool| sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await
        .unwrap()),
        Backend::Postgres => {
            with_db!(db, |pool| {
                sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await
        .unwrap()
            })
        }
    }
}

async fn listed(db: &Db) -> i64 {
    with_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM deferred_indexes"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn deferred_indexes_come_back_at_the_end_or_at_the_next_start() {
    let t = test_db().await;
    let db = &t.db;
    let names = [
        "donors_active_kana",
        "source_records_donor",
        "no_such_index",
    ];
    let before_kana = definition(db, "donors_active_kana").await.expect("index");
    let before_source = definition(db, "source_records_donor").await.expect("index");

    let deferred = dialect::defer_indexes(db, &names, "test load")
        .await
        .unwrap();
    if db.backend() == Backend::Postgres {
        assert!(deferred.is_empty(), "PostgreSQL keeps its indexes");
        assert_eq!(
            definition(db, "donors_active_kana").await,
            Some(before_kana)
        );
        assert_eq!(listed(db).await, 0);
        return;
    }
    assert_eq!(deferred, ["donors_active_kana", "source_records_donor"]);
    assert_eq!(definition(db, "donors_active_kana").await, None);
    assert_eq!(definition(db, "source_records_donor").await, None);
    assert_eq!(listed(db).await, 2);
    // A second load finds nothing left to defer, and the list keeps the first definitions.
    assert!(
        dialect::defer_indexes(db, &names, "second load")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(listed(db).await, 2);

    // The load stopped without building them: the next start does.
    db.migrate().await.unwrap();
    assert_eq!(
        definition(db, "donors_active_kana").await,
        Some(before_kana.clone())
    );
    assert_eq!(
        definition(db, "source_records_donor").await,
        Some(before_source)
    );
    assert_eq!(listed(db).await, 0);

    // The end of a load builds them and says which.
    dialect::defer_indexes(db, &names[..1], "third load")
        .await
        .unwrap();
    let built = dialect::restore_deferred_indexes(db).await.unwrap();
    assert_eq!(built, ["donors_active_kana"]);
    assert_eq!(
        definition(db, "donors_active_kana").await,
        Some(before_kana)
    );
    // Nothing listed: nothing to do.
    assert!(
        dialect::restore_deferred_indexes(db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_listed_index_that_exists_again_is_not_built_twice() {
    let t = test_db().await;
    let db = &t.db;
    if db.backend() != Backend::Sqlite {
        return;
    }
    let sql = definition(db, "donors_active_phone").await.expect("index");
    let deferred = dialect::defer_indexes(db, &["donors_active_phone"], "load")
        .await
        .unwrap();
    assert_eq!(deferred, ["donors_active_phone"]);
    assert_eq!(definition(db, "donors_active_phone").await, None);
    // Someone built it by hand meanwhile. (A statement that reads a table first makes the
    // connection notice the schema changed; `CREATE INDEX` alone is checked against the schema
    // the connection last read.)
    let mut tx = db.begin().await.unwrap();
    furusato_db::with_tx!(&mut tx, |conn| {
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(conn)
            .await
            .unwrap()
            .rows_affected()
    });
    tx.commit().await.unwrap();
    let built = dialect::restore_deferred_indexes(db).await.unwrap();
    assert!(built.is_empty(), "{built:?}");
    assert_eq!(listed(db).await, 0, "the list is emptied all the same");
    assert_eq!(definition(db, "donors_active_phone").await, Some(sql));
}
