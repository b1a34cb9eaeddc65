//! Municipalities: the tenants. One install may serve many cities.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbError, DbResult, MunicipalityId, new_id, now_utc, with_db};

/// A city (or town, village) that takes ふるさと納税 donations, with what its documents need.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Municipality {
    pub id: Uuid,
    /// 地方公共団体コード (6 digits with check digit).
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub prefecture_code: i64,
    /// e.g. 仙台市長
    pub mayor_title: String,
    pub mayor_name: String,
    pub issuer_postal_code: String,
    pub issuer_address: String,
    pub issuer_department: String,
    pub issuer_phone: String,
    pub fiscal_year_start_month: i64,
    pub settings_json: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Municipality {
    pub fn tenant(&self) -> MunicipalityId {
        MunicipalityId(self.id)
    }
}

/// What `municipality add` and the demo provide.
#[derive(Clone, Debug, Default)]
pub struct NewMunicipality {
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub prefecture_code: i64,
    pub mayor_title: String,
    pub mayor_name: String,
    pub issuer_postal_code: String,
    pub issuer_address: String,
    pub issuer_department: String,
    pub issuer_phone: String,
}

const COLUMNS: &str = "id, code, name, name_kana, prefecture_code, mayor_title, mayor_name, \
    issuer_postal_code, issuer_address, issuer_department, issuer_phone, fiscal_year_start_month, \
    settings_json, created_at, updated_at";

pub async fn insert(db: &Db, m: &NewMunicipality) -> DbResult<Municipality> {
    const SQL: &str = "INSERT INTO municipalities (id, code, name, name_kana, prefecture_code, \
        mayor_title, mayor_name, issuer_postal_code, issuer_address, issuer_department, issuer_phone, \
        fiscal_year_start_month, settings_json, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 4, '{}', $12, $12)";
    let id = new_id();
    let now = now_utc();
    let result = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(&m.code)
        .bind(&m.name)
        .bind(&m.name_kana)
        .bind(m.prefecture_code)
        .bind(&m.mayor_title)
        .bind(&m.mayor_name)
        .bind(&m.issuer_postal_code)
        .bind(&m.issuer_address)
        .bind(&m.issuer_department)
        .bind(&m.issuer_phone)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
    if let Err(e) = result {
        let e = DbError::from(e);
        return Err(if e.is_unique_violation() {
            DbError::Conflict(format!("municipality {} already exists", m.code))
        } else {
            e
        });
    }
    get(db, MunicipalityId(id)).await
}

pub async fn get(db: &Db, id: MunicipalityId) -> DbResult<Municipality> {
    let sql = format!("SELECT {COLUMNS} FROM municipalities WHERE id = $1");
    with_db!(db, |pool| sqlx::query_as::<_, Municipality>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(id.0)
    .fetch_optional(pool)
    .await?)
    .ok_or(DbError::NotFound("municipality"))
}

pub async fn find_by_code(db: &Db, code: &str) -> DbResult<Option<Municipality>> {
    let sql = format!("SELECT {COLUMNS} FROM municipalities WHERE code = $1");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Municipality>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(code)
    .fetch_optional(pool)
    .await?))
}

pub async fn list(db: &Db) -> DbResult<Vec<Municipality>> {
    let sql = format!("SELECT {COLUMNS} FROM municipalities ORDER BY code");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Municipality>(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_all(pool)
    .await?))
}

/// Updates the issuer details printed on documents.
pub async fn update_issuer(db: &Db, id: MunicipalityId, m: &NewMunicipality) -> DbResult<()> {
    const SQL: &str = "UPDATE municipalities SET name = $2, name_kana = $3, mayor_title = $4, \
        mayor_name = $5, issuer_postal_code = $6, issuer_address = $7, issuer_department = $8, \
        issuer_phone = $9, updated_at = $10 WHERE id = $1";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id.0)
        .bind(&m.name)
        .bind(&m.name_kana)
        .bind(&m.mayor_title)
        .bind(&m.mayor_name)
        .bind(&m.issuer_postal_code)
        .bind(&m.issuer_address)
        .bind(&m.issuer_department)
        .bind(&m.issuer_phone)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("municipality"));
    }
    Ok(())
}

/// Reads one key of the municipality's settings JSON.
pub async fn setting(
    db: &Db,
    id: MunicipalityId,
    key: &str,
) -> DbResult<Option<serde_json::Value>> {
    let m = get(db, id).await?;
    let v: serde_json::Value = serde_json::from_str(&m.settings_json)
        .map_err(|e| DbError::Corrupt(format!("settings_json: {e}")))?;
    Ok(v.get(key).cloned())
}

/// Writes one key of the municipality's settings JSON (read-modify-write in a transaction).
pub async fn set_setting(
    db: &Db,
    id: MunicipalityId,
    key: &str,
    value: serde_json::Value,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    const GET: &str = "SELECT settings_json FROM municipalities WHERE id = $1";
    let current: Option<String> = crate::with_tx!(&mut tx, |conn| sqlx::query_scalar(GET)
        .bind(id.0)
        .fetch_optional(conn)
        .await?);
    let current = current.ok_or(DbError::NotFound("municipality"))?;
    let mut v: serde_json::Value = serde_json::from_str(&current)
        .map_err(|e| DbError::Corrupt(format!("settings_json: {e}")))?;
    if !v.is_object() {
        v = serde_json::json!({});
    }
    v[key] = value;
    const SET: &str = "UPDATE municipalities SET settings_json = $2, updated_at = $3 WHERE id = $1";
    crate::with_tx!(&mut tx, |conn| sqlx::query(SET)
        .bind(id.0)
        .bind(v.to_string())
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    tx.commit().await
}

/// Deletes every ledger row of a municipality (donations, donors, gifts, partners, intake records,
/// vault entries) but keeps the municipality, its users and the audit trail. Used by
/// `furusato demo --reset`; partner users lose their partner link.
pub async fn delete_ledger_data(db: &Db, id: MunicipalityId) -> DbResult<()> {
    const TABLES: &[&str] = &[
        "donation_items",
        "ship_tos",
        "donation_changes",
        "source_records",
        "payment_records",
        "match_reviews",
        "donor_merges",
        "donor_sources",
        "vault_entries",
        "imports",
        "csv_profiles",
        "text_mappings",
        "mapping_reviews",
        "sync_runs",
        "sync_cursors",
        "portal_accounts",
        "jobs",
        "counters",
    ];
    let mut tx = db.begin().await?;
    for t in TABLES {
        let sql = format!("DELETE FROM {t} WHERE municipality_id = $1");
        crate::with_tx!(&mut tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .execute(conn)
            .await?
            .rows_affected());
    }
    // Merged donors point at each other; clear the links before deleting.
    for sql in [
        "UPDATE donors SET merged_into_id = NULL WHERE municipality_id = $1",
        "DELETE FROM donations WHERE municipality_id = $1",
        "DELETE FROM donors WHERE municipality_id = $1",
        "DELETE FROM gift_versions WHERE municipality_id = $1",
        "DELETE FROM gifts WHERE municipality_id = $1",
        "UPDATE users SET partner_id = NULL WHERE municipality_id = $1",
        "DELETE FROM partners WHERE municipality_id = $1",
    ] {
        crate::with_tx!(&mut tx, |conn| sqlx::query(sql)
            .bind(id.0)
            .execute(conn)
            .await?
            .rows_affected());
    }
    tx.commit().await
}
