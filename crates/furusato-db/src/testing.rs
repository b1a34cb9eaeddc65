//! Test support: a fresh, migrated database per test.
//!
//! SQLite (a temporary file, WAL) by default; PostgreSQL when `FURUSATO_TEST_DATABASE_URL` is set,
//! in which case every test gets its own schema, dropped when the [`TestDb`] is dropped.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::{ConnectOptions, Db};

/// The environment variable that switches the test suite to PostgreSQL.
pub const TEST_DATABASE_URL_ENV: &str = "FURUSATO_TEST_DATABASE_URL";

pub struct TestDb {
    pub db: Db,
    /// The URL other processes (e.g. the CLI binary under test) can use to reach this database.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl std::ops::Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

/// A fresh migrated database for one test.
pub async fn test_db() -> TestDb {
    let db = empty_test_db().await;
    db.db.migrate().await.expect("migrations apply");
    db
}

/// A fresh database without migrations (for migration tests).
pub async fn empty_test_db() -> TestDb {
    match std::env::var(TEST_DATABASE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => postgres(url.trim()).await,
        _ => sqlite().await,
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.db");
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)
        .expect("sqlite url")
        .create_if_missing(true);
    let db = Db::connect_sqlite(options, ConnectOptions { max_connections: 4 })
        .await
        .expect("open sqlite test db");
    TestDb {
        db,
        url,
        _dir: Some(dir),
        pg: None,
    }
}

async fn postgres(admin_url: &str) -> TestDb {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(admin_url)
        .await
        .expect("connect to FURUSATO_TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create test schema");
    admin.close().await;
    // The schema name doubles as the application name, so cleanup can find this test's sessions.
    let options = PgConnectOptions::from_str(admin_url)
        .expect("postgres url")
        .application_name(&schema)
        .options([("search_path", schema.as_str())]);
    let db = Db::connect_postgres(options, ConnectOptions { max_connections: 4 })
        .await
        .expect("open postgres test db");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    TestDb {
        db,
        url,
        _dir: None,
        pg: Some((admin_url.to_string(), schema)),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = self.pg.take() {
            // Drop may run on the test's own (possibly single-threaded) runtime, which is blocked
            // here: the pool's connections cannot be driven, so do not close it from another thread.
            // Its idle connections hold no locks; the schema is dropped through a fresh connection
            // on a short-lived runtime of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                            // A transaction dropped without commit may still hold locks on a
                            // connection the blocked test runtime cannot drive: end those sessions.
                            let _ = sqlx::query(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                            )
                            .bind(&schema)
                            .execute(&admin)
                            .await;
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                                .execute(&admin)
                                .await;
                            admin.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
