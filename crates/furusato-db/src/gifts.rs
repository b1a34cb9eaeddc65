//! Partners (返礼品協力事業者) and gifts (返礼品). Gift masters are versioned: a change of name
//! or amount makes a new version, and donation lines keep pointing at the version they were made under.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{Db, DbError, DbResult, MunicipalityId, Tx, new_id, now_utc, with_db, with_tx};

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Partner {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub active: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug, Default)]
pub struct NewPartner {
    pub code: String,
    pub name: String,
    pub name_kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub email: String,
}

const PARTNER_COLUMNS: &str = "id, municipality_id, code, name, name_kana, postal_code, address, phone, \
    email, active, created_at, updated_at";

pub async fn insert_partner(tx: &mut Tx, tenant: MunicipalityId, p: &NewPartner) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO partners (id, municipality_id, code, name, name_kana, postal_code, \
        address, phone, email, active, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10, $10)";
    let id = new_id();
    let r = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(tenant.0)
        .bind(&p.code)
        .bind(&p.name)
        .bind(&p.name_kana)
        .bind(&p.postal_code)
        .bind(&p.address)
        .bind(&p.phone)
        .bind(&p.email)
        .bind(now_utc())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()));
    match r {
        Ok(_) => Ok(id),
        Err(e) => {
            let e = DbError::from(e);
            Err(if e.is_unique_violation() {
                DbError::Conflict(format!("partner {} already exists", p.code))
            } else {
                e
            })
        }
    }
}

pub async fn partners(db: &Db, tenant: MunicipalityId) -> DbResult<Vec<Partner>> {
    let sql =
        format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE municipality_id = $1 ORDER BY code");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Partner>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

pub async fn partner(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<Partner>> {
    let sql =
        format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE municipality_id = $1 AND id = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Partner>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

pub async fn partner_by_code(
    db: &Db,
    tenant: MunicipalityId,
    code: &str,
) -> DbResult<Option<Partner>> {
    let sql =
        format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE municipality_id = $1 AND code = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Partner>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(code)
    .fetch_optional(pool)
    .await?))
}

/// A gift with its current version.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Gift {
    pub id: Uuid,
    pub code: String,
    pub partner_id: Uuid,
    pub active: bool,
    pub version_id: Uuid,
    pub version: i64,
    pub name: String,
    pub amount: i64,
    pub cost: i64,
    pub valid_from: Date,
}

#[derive(Clone, Debug)]
pub struct NewGift {
    pub code: String,
    pub partner_id: Uuid,
    pub name: String,
    pub amount: i64,
    pub cost: i64,
    pub valid_from: Date,
}

/// Creates a gift and its version 1. Returns (gift id, version id).
pub async fn insert_gift(
    tx: &mut Tx,
    tenant: MunicipalityId,
    g: &NewGift,
) -> DbResult<(Uuid, Uuid)> {
    const GIFT: &str = "INSERT INTO gifts (id, municipality_id, code, partner_id, active, created_at) \
        VALUES ($1, $2, $3, $4, TRUE, $5)";
    let id = new_id();
    let now = now_utc();
    let r = with_tx!(tx, |conn| sqlx::query(GIFT)
        .bind(id)
        .bind(tenant.0)
        .bind(&g.code)
        .bind(g.partner_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()));
    if let Err(e) = r {
        let e = DbError::from(e);
        return Err(if e.is_unique_violation() {
            DbError::Conflict(format!("gift {} already exists", g.code))
        } else {
            e
        });
    }
    let v = add_version(tx, tenant, id, &g.name, g.amount, g.cost, g.valid_from).await?;
    Ok((id, v))
}

/// Adds a new version of a gift (renames and price changes never rewrite history).
pub async fn add_version(
    tx: &mut Tx,
    tenant: MunicipalityId,
    gift_id: Uuid,
    name: &str,
    amount: i64,
    cost: i64,
    valid_from: Date,
) -> DbResult<Uuid> {
    const NEXT: &str = "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM gift_versions \
        WHERE municipality_id = $1 AND gift_id = $2";
    const SQL: &str = "INSERT INTO gift_versions (id, municipality_id, gift_id, version, name, amount, \
        cost, valid_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let max: i64 = with_tx!(tx, |conn| sqlx::query_scalar(NEXT)
        .bind(tenant.0)
        .bind(gift_id)
        .fetch_one(conn)
        .await?);
    let id = new_id();
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(tenant.0)
        .bind(gift_id)
        .bind(max + 1)
        .bind(name)
        .bind(amount)
        .bind(cost)
        .bind(valid_from)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(id)
}

const GIFT_CURRENT: &str = "SELECT g.id, g.code, g.partner_id, g.active, v.id AS version_id, v.version, \
    v.name, v.amount, v.cost, v.valid_from FROM gifts g JOIN gift_versions v ON v.gift_id = g.id \
    AND v.version = (SELECT MAX(v2.version) FROM gift_versions v2 WHERE v2.gift_id = g.id) \
    WHERE g.municipality_id = $1";

/// Every gift of the municipality with its current version, by code.
pub async fn gifts(db: &Db, tenant: MunicipalityId) -> DbResult<Vec<Gift>> {
    let sql = format!("{GIFT_CURRENT} ORDER BY g.code");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Gift>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

pub async fn gift_by_code(db: &Db, tenant: MunicipalityId, code: &str) -> DbResult<Option<Gift>> {
    let sql = format!("{GIFT_CURRENT} AND g.code = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Gift>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(code)
    .fetch_optional(pool)
    .await?))
}
