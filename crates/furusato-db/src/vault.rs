//! Storage of vault entries (encrypted 個人番号 and other secrets). This module never sees
//! plaintext: callers seal with `furusato-vault` (row id bound as associated data) and store bytes.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbResult, MunicipalityId, Tx, now_utc, with_db, with_tx};

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct VaultEntry {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub purpose: String,
    pub owner_kind: String,
    pub owner_id: Uuid,
    pub key_id: String,
    #[serde(skip)]
    pub sealed: Vec<u8>,
    #[serde(skip)]
    pub blind_index: Option<Vec<u8>>,
    pub last4: String,
    pub synthetic: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A new entry: the caller chose `id` before sealing (it is bound into the ciphertext).
pub struct NewVaultEntry<'a> {
    pub id: Uuid,
    pub purpose: &'a str,
    pub owner_kind: &'a str,
    pub owner_id: Uuid,
    pub key_id: &'a str,
    pub sealed: &'a [u8],
    pub blind_index: Option<&'a [u8]>,
    pub last4: &'a str,
    pub synthetic: bool,
}

const COLUMNS: &str = "id, municipality_id, purpose, owner_kind, owner_id, key_id, sealed, blind_index, last4, \
    synthetic, created_at, updated_at";

/// Column list for bulk loads (demo data) matching [`insert_row`].
pub const INSERT_COLUMNS: [&str; 12] = [
    "id",
    "municipality_id",
    "purpose",
    "owner_kind",
    "owner_id",
    "key_id",
    "sealed",
    "blind_index",
    "last4",
    "synthetic",
    "created_at",
    "updated_at",
];

pub fn insert_row(
    tenant: MunicipalityId,
    e: &NewVaultEntry<'_>,
    now: OffsetDateTime,
) -> Vec<crate::args::Arg> {
    use crate::args::Arg;
    vec![
        Arg::Uuid(e.id),
        Arg::Uuid(tenant.0),
        Arg::Text(e.purpose.to_string()),
        Arg::Text(e.owner_kind.to_string()),
        Arg::Uuid(e.owner_id),
        Arg::Text(e.key_id.to_string()),
        Arg::Bytes(e.sealed.to_vec()),
        match e.blind_index {
            Some(b) => Arg::Bytes(b.to_vec()),
            None => Arg::OptText(None),
        },
        Arg::Text(e.last4.to_string()),
        Arg::Bool(e.synthetic),
        Arg::Timestamp(now),
        Arg::Timestamp(now),
    ]
}

/// Stores (or replaces) the entry of an owner for a purpose.
pub async fn put(tx: &mut Tx, tenant: MunicipalityId, e: &NewVaultEntry<'_>) -> DbResult<()> {
    const DELETE: &str = "DELETE FROM vault_entries WHERE municipality_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4";
    with_tx!(tx, |conn| sqlx::query(DELETE)
        .bind(tenant.0)
        .bind(e.owner_kind)
        .bind(e.owner_id)
        .bind(e.purpose)
        .execute(conn)
        .await?
        .rows_affected());
    const INSERT: &str = "INSERT INTO vault_entries (id, municipality_id, purpose, owner_kind, owner_id, key_id, \
        sealed, blind_index, last4, synthetic, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
    with_tx!(tx, |conn| sqlx::query(INSERT)
        .bind(e.id)
        .bind(tenant.0)
        .bind(e.purpose)
        .bind(e.owner_kind)
        .bind(e.owner_id)
        .bind(e.key_id)
        .bind(e.sealed)
        .bind(e.blind_index)
        .bind(e.last4)
        .bind(e.synthetic)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The entry of an owner for a purpose.
pub async fn get_for_owner(
    db: &Db,
    tenant: MunicipalityId,
    owner_kind: &str,
    owner_id: Uuid,
    purpose: &str,
) -> DbResult<Option<VaultEntry>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM vault_entries WHERE municipality_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, VaultEntry>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(owner_kind)
    .bind(owner_id)
    .bind(purpose)
    .fetch_optional(pool)
    .await?))
}

/// Entries whose blind index matches (exact lookup without decrypting anything).
pub async fn find_by_blind_index(
    db: &Db,
    tenant: MunicipalityId,
    purpose: &str,
    blind_index: &[u8],
) -> DbResult<Vec<VaultEntry>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM vault_entries WHERE municipality_id = $1 AND purpose = $2 AND blind_index = $3"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, VaultEntry>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(purpose)
    .bind(blind_index)
    .fetch_all(pool)
    .await?))
}

/// A batch of entries (any municipality) not sealed under `active_key`, for key rotation.
pub async fn not_under_key(db: &Db, active_key: &str, limit: i64) -> DbResult<Vec<VaultEntry>> {
    let sql =
        format!("SELECT {COLUMNS} FROM vault_entries WHERE key_id <> $1 ORDER BY id LIMIT $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, VaultEntry>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(active_key)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// Replaces the ciphertext of an entry (rotation), only if it is still under `old_key`.
pub async fn reseal(
    tx: &mut Tx,
    id: Uuid,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> DbResult<bool> {
    const SQL: &str = "UPDATE vault_entries SET key_id = $3, sealed = $4, updated_at = $5 WHERE id = $1 AND key_id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(old_key)
        .bind(new_key)
        .bind(sealed)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// How many entries each key protects.
pub async fn count_by_key(db: &Db) -> DbResult<Vec<(String, i64)>> {
    const SQL: &str = "SELECT key_id, COUNT(*) FROM vault_entries GROUP BY key_id ORDER BY key_id";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, (String, i64)>(SQL)
        .fetch_all(pool)
        .await?))
}

/// Deletes entries (crypto-erase: the ciphertext goes with the row; keys are kept for the others).
pub async fn delete_for_owner(
    tx: &mut Tx,
    tenant: MunicipalityId,
    owner_kind: &str,
    owner_id: Uuid,
) -> DbResult<u64> {
    const SQL: &str = "DELETE FROM vault_entries WHERE municipality_id = $1 AND owner_kind = $2 AND owner_id = $3";
    Ok(with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(owner_kind)
        .bind(owner_id)
        .execute(conn)
        .await?
        .rows_affected()))
}
