//! Staff, partner and auditor accounts. Password hashing happens in the web crate; this module
//! only stores the PHC string.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Db, DbError, DbResult, MunicipalityId, new_id, now_utc, with_db};

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct User {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub login: String,
    pub display_name: String,
    /// `furusato_domain::Role::as_str()` value.
    pub role: String,
    pub partner_id: Option<Uuid>,
    /// Designated 特定個人情報 作業従事者: the only accounts that may see 個人番号.
    pub my_number_handler: bool,
    #[serde(skip)]
    pub password_hash: String,
    pub password_changed_at: OffsetDateTime,
    pub must_change_password: bool,
    #[serde(skip)]
    pub totp_secret_sealed: Option<Vec<u8>>,
    pub totp_enabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub disabled: bool,
    pub last_login_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn tenant(&self) -> MunicipalityId {
        MunicipalityId(self.municipality_id)
    }
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub municipality_id: MunicipalityId,
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub my_number_handler: bool,
    pub password_hash: String,
    pub must_change_password: bool,
}

pub(crate) const COLUMNS: &str = "id, municipality_id, login, display_name, role, partner_id, \
    my_number_handler, password_hash, password_changed_at, must_change_password, totp_secret_sealed, \
    totp_enabled, failed_logins, locked_until, disabled, last_login_at, created_at, updated_at";

pub async fn insert(db: &Db, u: &NewUser) -> DbResult<User> {
    const SQL: &str = "INSERT INTO users (id, municipality_id, login, display_name, role, partner_id, \
        my_number_handler, password_hash, password_changed_at, must_change_password, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9)";
    let id = new_id();
    let now = now_utc();
    let r = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(u.municipality_id.0)
        .bind(&u.login)
        .bind(&u.display_name)
        .bind(&u.role)
        .bind(u.partner_id)
        .bind(u.my_number_handler)
        .bind(&u.password_hash)
        .bind(now)
        .bind(u.must_change_password)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
    if let Err(e) = r {
        let e = DbError::from(e);
        return Err(if e.is_unique_violation() {
            DbError::Conflict(format!("login {} is already taken", u.login))
        } else {
            e
        });
    }
    get(db, u.municipality_id, id)
        .await?
        .ok_or(DbError::NotFound("user"))
}

/// Logins are unique across the install, so login works before the tenant is known.
pub async fn find_by_login(db: &Db, login: &str) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE login = $1");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, User>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(login)
    .fetch_optional(pool)
    .await?))
}

pub async fn get(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE municipality_id = $1 AND id = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, User>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

pub async fn list(db: &Db, tenant: MunicipalityId) -> DbResult<Vec<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE municipality_id = $1 ORDER BY login");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, User>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

/// Counts a failed password; sets `locked_until` when the caller decided to lock the account.
pub async fn record_failed_login(
    db: &Db,
    id: Uuid,
    locked_until: Option<OffsetDateTime>,
) -> DbResult<i64> {
    const SQL: &str = "UPDATE users SET failed_logins = failed_logins + 1, \
        locked_until = COALESCE($2, locked_until), updated_at = $3 WHERE id = $1 RETURNING failed_logins";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(id)
        .bind(locked_until)
        .bind(now_utc())
        .fetch_one(pool)
        .await?))
}

pub async fn record_login_success(db: &Db, id: Uuid) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, \
        updated_at = $2 WHERE id = $1";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Replaces the password hash; `must_change` forces a change at next login (admin resets).
pub async fn set_password(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
    password_hash: &str,
    must_change: bool,
) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET password_hash = $3, password_changed_at = $4, \
        must_change_password = $5, failed_logins = 0, locked_until = NULL, updated_at = $4 \
        WHERE municipality_id = $1 AND id = $2";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(password_hash)
        .bind(now_utc())
        .bind(must_change)
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("user"));
    }
    Ok(())
}

/// Stores (or clears) the sealed TOTP secret and whether the second factor is active.
pub async fn set_totp(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
    sealed_secret: Option<&[u8]>,
    enabled: bool,
) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET totp_secret_sealed = $3, totp_enabled = $4, updated_at = $5 \
        WHERE municipality_id = $1 AND id = $2";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(sealed_secret)
        .bind(enabled)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("user"));
    }
    Ok(())
}

/// Changes role, partner scope, My Number grant and the disabled flag.
pub async fn update_access(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
    role: &str,
    partner_id: Option<Uuid>,
    my_number_handler: bool,
    disabled: bool,
) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET role = $3, partner_id = $4, my_number_handler = $5, \
        disabled = $6, updated_at = $7 WHERE municipality_id = $1 AND id = $2";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(role)
        .bind(partner_id)
        .bind(my_number_handler)
        .bind(disabled)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("user"));
    }
    Ok(())
}

/// Unlocks an account locked by failed logins.
pub async fn unlock(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $3 \
        WHERE municipality_id = $1 AND id = $2";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Replaces a user's recovery codes (SHA-256 hashes of high-entropy random codes).
pub async fn replace_recovery_codes(
    db: &Db,
    user_id: Uuid,
    code_hashes: &[String],
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    crate::with_tx!(&mut tx, |conn| sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected());
    const SQL: &str = "INSERT INTO recovery_codes (id, user_id, code_hash, used_at, created_at) \
        VALUES ($1, $2, $3, NULL, $4)";
    let now = now_utc();
    for h in code_hashes {
        crate::with_tx!(&mut tx, |conn| sqlx::query(SQL)
            .bind(new_id())
            .bind(user_id)
            .bind(h)
            .bind(now)
            .execute(conn)
            .await?
            .rows_affected());
    }
    tx.commit().await
}

/// Consumes an unused recovery code; true when it existed and was unused.
pub async fn use_recovery_code(db: &Db, user_id: Uuid, code_hash: &str) -> DbResult<bool> {
    const SQL: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .bind(code_hash)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Number of unused recovery codes.
pub async fn recovery_codes_left(db: &Db, user_id: Uuid) -> DbResult<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .bind(user_id)
        .fetch_one(pool)
        .await?))
}

/// Every stored TOTP secret (sealed), across municipalities: for key rotation.
pub async fn sealed_totp_secrets(db: &Db) -> DbResult<Vec<(Uuid, Vec<u8>)>> {
    const SQL: &str =
        "SELECT id, totp_secret_sealed FROM users WHERE totp_secret_sealed IS NOT NULL ORDER BY id";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, (Uuid, Vec<u8>)>(
        SQL
    )
    .fetch_all(pool)
    .await?))
}

/// Replaces a sealed TOTP secret with its re-encrypted form (key rotation), if unchanged meanwhile.
pub async fn reseal_totp_secret(db: &Db, id: Uuid, old: &[u8], new: &[u8]) -> DbResult<bool> {
    const SQL: &str =
        "UPDATE users SET totp_secret_sealed = $3 WHERE id = $1 AND totp_secret_sealed = $2";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// Transactional variants for the user-administration screen: each change commits together with
// its audit entry (`audit::append` in the same transaction).

/// Inserts a user inside the caller's transaction; a taken login is a [`DbError::Conflict`].
pub async fn insert_tx(tx: &mut crate::Tx, u: &NewUser) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO users (id, municipality_id, login, display_name, role, partner_id, \
        my_number_handler, password_hash, password_changed_at, must_change_password, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9)";
    let id = new_id();
    let now = now_utc();
    let r = crate::with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(u.municipality_id.0)
        .bind(&u.login)
        .bind(&u.display_name)
        .bind(&u.role)
        .bind(u.partner_id)
        .bind(u.my_number_handler)
        .bind(&u.password_hash)
        .bind(now)
        .bind(u.must_change_password)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()));
    match r {
        Ok(_) => Ok(id),
        Err(e) => {
            let e = DbError::from(e);
            Err(if e.is_unique_violation() {
                DbError::Conflict(format!("login {} is already taken", u.login))
            } else {
                e
            })
        }
    }
}

fn one_user(n: u64) -> DbResult<()> {
    if n == 0 {
        Err(DbError::NotFound("user"))
    } else {
        Ok(())
    }
}

/// [`set_password`] inside the caller's transaction.
pub async fn set_password_tx(
    tx: &mut crate::Tx,
    tenant: MunicipalityId,
    id: Uuid,
    password_hash: &str,
    must_change: bool,
) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET password_hash = $3, password_changed_at = $4, \
        must_change_password = $5, failed_logins = 0, locked_until = NULL, updated_at = $4 \
        WHERE municipality_id = $1 AND id = $2";
    let n = crate::with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(password_hash)
        .bind(now_utc())
        .bind(must_change)
        .execute(conn)
        .await?
        .rows_affected());
    one_user(n)
}

/// [`unlock`] inside the caller's transaction.
pub async fn unlock_tx(tx: &mut crate::Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $3 \
        WHERE municipality_id = $1 AND id = $2";
    let n = crate::with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    one_user(n)
}

/// [`update_access`] inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn update_access_tx(
    tx: &mut crate::Tx,
    tenant: MunicipalityId,
    id: Uuid,
    role: &str,
    partner_id: Option<Uuid>,
    my_number_handler: bool,
    disabled: bool,
) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET role = $3, partner_id = $4, my_number_handler = $5, \
        disabled = $6, updated_at = $7 WHERE municipality_id = $1 AND id = $2";
    let n = crate::with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(role)
        .bind(partner_id)
        .bind(my_number_handler)
        .bind(disabled)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    one_user(n)
}

/// Removes the second factor of a user (TOTP secret and every recovery code), inside the
/// caller's transaction: the user enrols again at the next login when the role requires it.
pub async fn clear_totp_tx(tx: &mut crate::Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "UPDATE users SET totp_secret_sealed = NULL, totp_enabled = FALSE, updated_at = $3 \
        WHERE municipality_id = $1 AND id = $2";
    let n = crate::with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    one_user(n)?;
    crate::with_tx!(tx, |conn| sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1"
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected());
    Ok(())
}

/// Ends every session of a user inside the caller's transaction (password reset, disable, role
/// change). Returns how many sessions ended.
pub async fn end_sessions_tx(tx: &mut crate::Tx, id: Uuid) -> DbResult<u64> {
    Ok(crate::with_tx!(tx, |conn| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1"
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()))
}

/// Accepts a TOTP time step once: true when `step` is newer than the last accepted one (a code
/// cannot be replayed within its validity window).
pub async fn accept_totp_step(db: &Db, id: Uuid, step: i64) -> DbResult<bool> {
    const SQL: &str = "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)";
    let n = with_db!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(step)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}
