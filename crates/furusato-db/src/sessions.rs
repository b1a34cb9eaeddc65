//! Server-side login sessions. The cookie carries a random token; only its SHA-256 is stored,
//! so a database dump does not yield usable sessions.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::users::User;
use crate::{Db, DbResult, MunicipalityId, now_utc, with_db};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Session {
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub municipality_id: Uuid,
    pub csrf_token: String,
    pub mfa_passed: bool,
    pub ip: String,
    pub user_agent: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub user_id: Uuid,
    pub municipality_id: MunicipalityId,
    pub csrf_token: &'a str,
    pub mfa_passed: bool,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub expires_at: OffsetDateTime,
}

pub async fn create(db: &Db, s: &NewSession<'_>) -> DbResult<()> {
    const SQL: &str = "INSERT INTO sessions (token_hash, user_id, municipality_id, csrf_token, \
        mfa_passed, ip, user_agent, created_at, last_seen_at, expires_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)";
    let now = now_utc();
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(s.token_hash)
        .bind(s.user_id)
        .bind(s.municipality_id.0)
        .bind(s.csrf_token)
        .bind(s.mfa_passed)
        .bind(s.ip)
        .bind(s.user_agent)
        .bind(now)
        .bind(s.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// The session and its user, if the token is known (expiry is checked by the caller, which
/// knows the idle and absolute limits).
pub async fn find(db: &Db, token_hash: &[u8]) -> DbResult<Option<(Session, User)>> {
    const SQL: &str = "SELECT token_hash, user_id, municipality_id, csrf_token, mfa_passed, ip, \
        user_agent, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = $1";
    let session: Option<Session> = with_db!(db, |pool| sqlx::query_as::<_, Session>(SQL)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?);
    let Some(session) = session else {
        return Ok(None);
    };
    let user =
        crate::users::get(db, MunicipalityId(session.municipality_id), session.user_id).await?;
    Ok(user.map(|u| (session, u)))
}

/// Records activity (for the idle timeout).
pub async fn touch(db: &Db, token_hash: &[u8], at: OffsetDateTime) -> DbResult<()> {
    const SQL: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(token_hash)
        .bind(at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Marks the second factor as passed for this session.
pub async fn set_mfa_passed(db: &Db, token_hash: &[u8]) -> DbResult<()> {
    const SQL: &str =
        "UPDATE sessions SET mfa_passed = TRUE, last_seen_at = $2 WHERE token_hash = $1";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(token_hash)
        .bind(now_utc())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn delete(db: &Db, token_hash: &[u8]) -> DbResult<()> {
    const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1";
    with_db!(db, |pool| sqlx::query(SQL)
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Ends every session of a user (password change, lock, role change).
pub async fn delete_for_user(db: &Db, user_id: Uuid) -> DbResult<u64> {
    const SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
    Ok(with_db!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// Removes sessions past their absolute expiry.
pub async fn purge_expired(db: &Db, now: OffsetDateTime) -> DbResult<u64> {
    const SQL: &str = "DELETE FROM sessions WHERE expires_at < $1";
    Ok(with_db!(db, |pool| sqlx::query(SQL)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()))
}
