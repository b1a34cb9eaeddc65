//! Public reference data shared by every tenant: 地方公共団体コード and 郵便番号. Loaded by
//! `furusato data import-localgov` / `import-postal` (parsing lives in furusato-refdata).

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::args::Arg;
use crate::dialect::bulk_insert;
use crate::{Db, DbResult, new_id, now_utc, with_db, with_tx};

#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct LocalGov {
    pub code: String,
    pub code5: String,
    pub pref_code: i64,
    pub kind: String,
    pub parent_code: Option<String>,
    pub prefecture: String,
    pub name: String,
    pub prefecture_kana: String,
    pub name_kana: String,
}

#[derive(Clone, Debug, sqlx::FromRow, Serialize, PartialEq, Eq)]
pub struct PostalRecord {
    pub postal_code: String,
    pub seq: i64,
    pub local_gov_code5: String,
    pub prefecture: String,
    pub city: String,
    pub town: String,
    pub prefecture_kana: String,
    pub city_kana: String,
    pub town_kana: String,
}

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct ReferenceImport {
    pub id: Uuid,
    pub kind: String,
    pub source_name: String,
    pub sha256: String,
    pub rows: i64,
    pub imported_at: OffsetDateTime,
}

/// Replaces the whole 地方公共団体コード table in one transaction.
pub async fn replace_local_gov(
    db: &Db,
    rows: &[LocalGov],
    source_name: &str,
    sha256: &str,
) -> DbResult<u64> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| sqlx::query("DELETE FROM local_gov_codes")
        .execute(conn)
        .await?
        .rows_affected());
    let values = rows
        .iter()
        .map(|r| {
            vec![
                Arg::Text(r.code.clone()),
                Arg::Text(r.code5.clone()),
                Arg::Int(r.pref_code),
                Arg::Text(r.kind.clone()),
                Arg::OptText(r.parent_code.clone()),
                Arg::Text(r.prefecture.clone()),
                Arg::Text(r.name.clone()),
                Arg::Text(r.prefecture_kana.clone()),
                Arg::Text(r.name_kana.clone()),
            ]
        })
        .collect();
    let n = bulk_insert(
        &mut tx,
        "local_gov_codes",
        &[
            "code",
            "code5",
            "pref_code",
            "kind",
            "parent_code",
            "prefecture",
            "name",
            "prefecture_kana",
            "name_kana",
        ],
        values,
        "",
    )
    .await?;
    record_import(&mut tx, "localgov", source_name, sha256, n as i64).await?;
    tx.commit().await?;
    Ok(n)
}

/// Replaces the whole 郵便番号 table in one transaction.
pub async fn replace_postal(
    db: &Db,
    rows: Vec<PostalRecord>,
    source_name: &str,
    sha256: &str,
) -> DbResult<u64> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |conn| sqlx::query("DELETE FROM postal_codes")
        .execute(conn)
        .await?
        .rows_affected());
    let mut n = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows
            .by_ref()
            .take(20_000)
            .map(|r| {
                vec![
                    Arg::Text(r.postal_code),
                    Arg::Int(r.seq),
                    Arg::Text(r.local_gov_code5),
                    Arg::Text(r.prefecture),
                    Arg::Text(r.city),
                    Arg::Text(r.town),
                    Arg::Text(r.prefecture_kana),
                    Arg::Text(r.city_kana),
                    Arg::Text(r.town_kana),
                ]
            })
            .collect();
        n += bulk_insert(
            &mut tx,
            "postal_codes",
            &[
                "postal_code",
                "seq",
                "local_gov_code5",
                "prefecture",
                "city",
                "town",
                "prefecture_kana",
                "city_kana",
                "town_kana",
            ],
            chunk,
            "",
        )
        .await?;
    }
    record_import(&mut tx, "postal", source_name, sha256, n as i64).await?;
    tx.commit().await?;
    Ok(n)
}

async fn record_import(
    tx: &mut crate::Tx,
    kind: &str,
    source_name: &str,
    sha256: &str,
    rows: i64,
) -> DbResult<()> {
    const SQL: &str = "INSERT INTO reference_imports (id, kind, source_name, sha256, rows, imported_at) \
        VALUES ($1, $2, $3, $4, $5, $6)";
    let id: Uuid = new_id();
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(kind)
        .bind(source_name)
        .bind(sha256)
        .bind(rows)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The latest import of each kind.
pub async fn latest_imports(db: &Db) -> DbResult<Vec<ReferenceImport>> {
    const SQL: &str = "SELECT id, kind, source_name, sha256, rows, imported_at FROM reference_imports r \
        WHERE imported_at = (SELECT MAX(imported_at) FROM reference_imports r2 WHERE r2.kind = r.kind) \
        ORDER BY kind";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, ReferenceImport>(
        SQL
    )
    .fetch_all(pool)
    .await?))
}

/// Addresses of a 7-digit postal code (several rows when the code covers several towns).
pub async fn postal_lookup(db: &Db, postal_code: &str) -> DbResult<Vec<PostalRecord>> {
    const SQL: &str = "SELECT postal_code, seq, local_gov_code5, prefecture, city, town, prefecture_kana, \
        city_kana, town_kana FROM postal_codes WHERE postal_code = $1 ORDER BY seq";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PostalRecord>(SQL)
        .bind(postal_code)
        .fetch_all(pool)
        .await?))
}

/// A sample of postal records (every `step`-th row), e.g. for the synthetic address book.
pub async fn postal_sample(db: &Db, limit: i64) -> DbResult<Vec<PostalRecord>> {
    const SQL: &str = "SELECT postal_code, seq, local_gov_code5, prefecture, city, town, prefecture_kana, \
        city_kana, town_kana FROM postal_codes WHERE seq = 0 AND town <> '' ORDER BY postal_code LIMIT $1";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, PostalRecord>(SQL)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

pub async fn count_postal(db: &Db) -> DbResult<i64> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM postal_codes"
    )
    .fetch_one(pool)
    .await?))
}

pub async fn count_local_gov(db: &Db) -> DbResult<i64> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM local_gov_codes"
    )
    .fetch_one(pool)
    .await?))
}

const LG_COLUMNS: &str =
    "code, code5, pref_code, kind, parent_code, prefecture, name, prefecture_kana, name_kana";

pub async fn local_gov(db: &Db, code: &str) -> DbResult<Option<LocalGov>> {
    let sql = format!("SELECT {LG_COLUMNS} FROM local_gov_codes WHERE code = $1 OR code5 = $1");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, LocalGov>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(code)
    .fetch_optional(pool)
    .await?))
}

/// Finds a municipality (or ward) by prefecture and name, e.g. ("宮城県", "仙台市青葉区").
pub async fn local_gov_by_name(
    db: &Db,
    prefecture: &str,
    name: &str,
) -> DbResult<Option<LocalGov>> {
    let sql =
        format!("SELECT {LG_COLUMNS} FROM local_gov_codes WHERE prefecture = $1 AND name = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, LocalGov>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(prefecture)
    .bind(name)
    .fetch_optional(pool)
    .await?))
}
