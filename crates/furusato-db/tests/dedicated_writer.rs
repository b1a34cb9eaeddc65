//! `Db::dedicated_writer`: a long job's handle writes to the same database as the shared pool,
//! through a pool of its own on a SQLite file; elsewhere the shared pool serves.

use furusato_db::testing::test_db;
use furusato_db::{Backend, Db, with_db};

async fn count(db: &Db, key: &str) -> i64 {
    with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM writer_test WHERE value = $1"
    )
    .bind(key.to_string())
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn a_dedicated_writer_writes_to_the_same_database() {
    let db = test_db().await;
    with_db!(&db.db, |pool| sqlx::query(
        "CREATE TABLE writer_test (value TEXT NOT NULL)"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let own = db.dedicated_writer().await.unwrap();
    match db.backend() {
        Backend::Sqlite => assert!(own.is_some(), "a SQLite file gets its own pool"),
        Backend::Postgres => assert!(own.is_none(), "PostgreSQL shares its pool"),
    }
    let writer = own.as_ref().map_or(&db.db, |w| w.db()).clone();

    // Written through the writer, read through the shared pool, and the other way round.
    for (w, r, value) in [(&writer, &db.db, "one"), (&db.db, &writer, "two")] {
        let mut tx = w.begin().await.unwrap();
        furusato_db::with_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO writer_test (value) VALUES ($1)"
        )
        .bind(value.to_string())
        .execute(conn)
        .await
        .map(|_| ())
        .unwrap());
        tx.commit().await.unwrap();
        assert_eq!(count(r, value).await, 1);
    }
    if let Some(w) = own {
        w.close().await;
    }
    // Closing the writer leaves the shared pool open.
    assert_eq!(count(&db, "two").await, 1);
}
