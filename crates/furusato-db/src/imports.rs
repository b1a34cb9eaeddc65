//! Uploaded files and what became of them: the `imports` table (donation CSVs and payment
//! records, with the original bytes), saved CSV column mappings (`csv_profiles`, the 取込調整
//! screen), payment records (`payment_records`), and the batch reads and writes on donations that
//! a large import needs (one query per batch, never one per row).
//!
//! Status of an import: `previewed` (stored and parsed, nothing written to the ledger yet) →
//! `committed`; or `discarded` (the operator dropped the preview) / `failed`.

use std::collections::HashMap;

use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::{Arg, Args};
use crate::donations::{Donation, DonationItem, ShipTo};
use crate::donors::{Donor, Page};
use crate::{Db, DbError, DbResult, MunicipalityId, Tx, bind_args, new_id, now_utc, with_tx};

/// Either a pool (reads outside a transaction, e.g. a preview) or an open transaction.
pub enum Exec<'a> {
    /// Read through the pool.
    Db(&'a Db),
    /// Read or write inside the caller's transaction.
    Tx(&'a mut Tx),
}

/// Runs `$body` with `$c` bound to an executor of the [`Exec`] (compiled once per engine and kind).
macro_rules! with_exec {
    ($ex:expr, |$c:ident| $body:expr) => {
        match $ex {
            Exec::Db(Db::Sqlite($c)) => $body,
            Exec::Db(Db::Postgres($c)) => $body,
            Exec::Tx(Tx::Sqlite(t)) => {
                let $c = &mut **t;
                $body
            }
            Exec::Tx(Tx::Postgres(t)) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Most values bound in one `IN (…)` list (well under both engines' limits).
const IN_CHUNK: usize = 2_000;

// ---------------------------------------------------------------------------------------------
// Engine-specific (like `crate::dialect::bulk_insert`): parameter style of large IN lists.
//
// sqlx binds SQLite parameters written `$N` by name: for each parameter it calls
// `sqlite3_bind_parameter_name`, which walks the statement's whole parameter list, so a statement
// with n parameters costs O(n²). Anonymous `?` parameters are bound by position at O(1) each. The
// large IN lists of imports therefore use `?` on SQLite (each placeholder used once, in binding
// order) and `$N` on PostgreSQL.

/// Placeholders for one statement (see above).
struct Binds {
    sqlite: bool,
    args: Args,
}

impl Binds {
    fn new(backend: crate::Backend) -> Binds {
        Binds {
            sqlite: backend == crate::Backend::Sqlite,
            args: Args::new(),
        }
    }

    /// Adds a value; returns its placeholder. Placeholders must appear in the SQL in the order
    /// they were handed out, once each.
    fn push(&mut self, a: Arg) -> String {
        let ph = self.args.push(a);
        if self.sqlite { "?".to_string() } else { ph }
    }
}

impl Exec<'_> {
    fn backend(&self) -> crate::Backend {
        match self {
            Exec::Db(db) => db.backend(),
            Exec::Tx(tx) => tx.backend(),
        }
    }
}

/// Status values of `imports.status`.
pub mod status {
    /// Stored and parsed; nothing written to the ledger yet.
    pub const PREVIEWED: &str = "previewed";
    /// Written to the ledger.
    pub const COMMITTED: &str = "committed";
    /// Dropped by the operator without importing.
    pub const DISCARDED: &str = "discarded";
    /// The file could not be read at all.
    pub const FAILED: &str = "failed";
}

// ---------------------------------------------------------------------------------------------
// imports

/// An import record without the file bytes (see [`file`]).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Import {
    pub id: Uuid,
    /// `donations` | `payments`
    pub kind: String,
    /// Profile key (e.g. `choice`, `redhorse:satofull`, `profile:さとふる`, `payments`).
    pub profile: String,
    pub file_name: String,
    /// Hex SHA-256 of the file.
    pub file_sha256: String,
    /// Size of the stored file in bytes.
    pub file_size: i64,
    /// `utf8` | `utf8_bom` | `cp932` (empty when unreadable).
    pub encoding: String,
    /// See [`status`].
    pub status: String,
    pub rows_total: i64,
    pub rows_ok: i64,
    pub rows_error: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// JSON array of row errors `[{line, column, message_ja}]`.
    pub errors: String,
    /// Login of who uploaded it (or `cli:<user>`).
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub committed_at: Option<OffsetDateTime>,
}

const IMPORT_COLUMNS: &str = "id, kind, profile, file_name, file_sha256, \
    CAST(COALESCE(file_size, LENGTH(file_bytes)) AS BIGINT) AS file_size, encoding, status, rows_total, rows_ok, rows_error, \
    created, updated, unchanged, errors, created_by, created_at, committed_at";

/// A file to store. For a `previewed` import, `created`/`updated`/`unchanged` hold the figures
/// the preview expects; they are replaced by the real ones on commit.
#[derive(Clone, Debug)]
pub struct NewImport<'a> {
    pub kind: &'a str,
    pub profile: &'a str,
    pub file_name: &'a str,
    pub file_bytes: &'a [u8],
    pub encoding: &'a str,
    /// See [`status`].
    pub status: &'a str,
    pub rows_total: i64,
    pub rows_ok: i64,
    pub rows_error: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// JSON array of row errors.
    pub errors: &'a str,
    pub created_by: &'a str,
}

/// Hex SHA-256 of a file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A file as `imports` keeps it: deflated (fast level), with the size and SHA-256 of the
/// original. A CP932 portal CSV shrinks to some 40 %, which a large import also writes twice
/// less (SQLite's WAL, then the database file).
pub struct StoredFile {
    deflated: Vec<u8>,
    size: i64,
    sha256: String,
}

impl StoredFile {
    /// Compresses `bytes`. CPU work (some 0.9 s for 270 MB): a caller holding a large file runs it
    /// on a blocking thread.
    pub fn pack(bytes: &[u8]) -> StoredFile {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(
            Vec::with_capacity(bytes.len() / 2 + 64),
            flate2::Compression::fast(),
        );
        // Writing into a Vec cannot fail.
        let deflated = e
            .write_all(bytes)
            .and_then(|()| e.finish())
            .expect("deflate into memory");
        StoredFile {
            deflated,
            size: bytes.len() as i64,
            sha256: sha256_hex(bytes),
        }
    }

    /// Hex SHA-256 of the original bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// The original bytes of a stored file.
fn unpack(bytes: Vec<u8>, deflated: bool) -> DbResult<Vec<u8>> {
    if !deflated {
        return Ok(bytes);
    }
    use std::io::Read;
    let mut out = Vec::with_capacity(bytes.len() * 3);
    flate2::read::DeflateDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| DbError::Corrupt(format!("stored import file does not inflate: {e}")))?;
    Ok(out)
}

/// Stores an uploaded file with its preview counts; returns the import's id.
pub async fn insert(tx: &mut Tx, tenant: MunicipalityId, i: &NewImport<'_>) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO imports (id, municipality_id, kind, profile, file_name, file_sha256, \
        file_bytes, file_deflated, file_size, encoding, status, rows_total, rows_ok, rows_error, created, \
        updated, unchanged, errors, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
    let id = new_id();
    let file = StoredFile::pack(i.file_bytes);
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(tenant.0)
        .bind(i.kind)
        .bind(i.profile)
        .bind(i.file_name)
        .bind(&file.sha256)
        .bind(&file.deflated)
        .bind(file.size)
        .bind(i.encoding)
        .bind(i.status)
        .bind(i.rows_total)
        .bind(i.rows_ok)
        .bind(i.rows_error)
        .bind(i.created)
        .bind(i.updated)
        .bind(i.unchanged)
        .bind(i.errors)
        .bind(i.created_by)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(id)
}

/// Stores (or replaces) the file of an import. Takes the file by value: sqlx binds an owned
/// buffer without copying it.
pub async fn set_file(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    file: StoredFile,
) -> DbResult<()> {
    const SQL: &str = "UPDATE imports SET file_bytes = $3, file_sha256 = $4, file_deflated = TRUE, \
        file_size = $5 WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(file.deflated)
        .bind(&file.sha256)
        .bind(file.size)
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("import"));
    }
    Ok(())
}

/// One import of the municipality.
pub async fn get(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<Import>> {
    let sql =
        format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE municipality_id = $1 AND id = $2");
    Ok(crate::with_db!(db, |pool| sqlx::query_as::<_, Import>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

/// The stored file of an import: (file name, bytes).
pub async fn file(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<(String, Vec<u8>)>> {
    const SQL: &str = "SELECT file_name, file_bytes, file_deflated FROM imports \
        WHERE municipality_id = $1 AND id = $2";
    let row = crate::with_db!(db, |pool| sqlx::query_as::<_, (String, Vec<u8>, bool)>(SQL)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(|(name, bytes, deflated)| Ok((name, unpack(bytes, deflated)?)))
        .transpose()
}

/// Imports of one kind, newest first; `page` is 1-based.
pub async fn list(
    db: &Db,
    tenant: MunicipalityId,
    kind: &str,
    page: u32,
    per_page: u32,
) -> DbResult<Page<Import>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 200);
    const COUNT: &str = "SELECT COUNT(*) FROM imports WHERE municipality_id = $1 AND kind = $2";
    let total: i64 = crate::with_db!(db, |pool| sqlx::query_scalar(COUNT)
        .bind(tenant.0)
        .bind(kind)
        .fetch_one(pool)
        .await?);
    let offset = (i64::from(page) - 1) * i64::from(per_page);
    let sql = format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE municipality_id = $1 AND kind = $2 \
         ORDER BY created_at DESC, id DESC LIMIT {per_page} OFFSET {offset}"
    );
    let items = crate::with_db!(db, |pool| sqlx::query_as::<_, Import>(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(tenant.0)
    .bind(kind)
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total,
        total_capped: false,
    })
}

/// Committed imports of the same kind whose file has this SHA-256 (to warn about re-uploads).
pub async fn committed_with_sha(
    db: &Db,
    tenant: MunicipalityId,
    kind: &str,
    sha: &str,
) -> DbResult<Vec<Import>> {
    let sql = format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE municipality_id = $1 AND kind = $2 AND file_sha256 = $3 \
         AND status = 'committed' ORDER BY created_at"
    );
    Ok(crate::with_db!(db, |pool| sqlx::query_as::<_, Import>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(kind)
    .bind(sha)
    .fetch_all(pool)
    .await?))
}

/// Takes a previewed import for committing inside `tx`: returns false when it is not (or no
/// longer) `previewed` — e.g. committed by a concurrent request, or discarded. The row stays
/// locked until the transaction ends.
pub async fn claim_for_commit(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<bool> {
    const SQL: &str = "UPDATE imports SET status = 'committing' WHERE municipality_id = $1 AND id = $2 \
        AND status = 'previewed'";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// The outcome written when an import is committed.
#[derive(Clone, Debug, Default)]
pub struct ImportOutcome {
    /// `utf8` | `utf8_bom` | `cp932`.
    pub encoding: String,
    pub rows_total: i64,
    pub rows_ok: i64,
    pub rows_error: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// JSON array of row errors.
    pub errors: String,
}

/// Marks an import committed with its figures (inside the commit's transaction).
pub async fn mark_committed(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    o: &ImportOutcome,
) -> DbResult<()> {
    const SQL: &str = "UPDATE imports SET status = 'committed', rows_total = $3, rows_ok = $4, rows_error = $5, \
        created = $6, updated = $7, unchanged = $8, errors = $9, committed_at = $10, encoding = $11 \
        WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(o.rows_total)
        .bind(o.rows_ok)
        .bind(o.rows_error)
        .bind(o.created)
        .bind(o.updated)
        .bind(o.unchanged)
        .bind(&o.errors)
        .bind(now_utc())
        .bind(&o.encoding)
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("import"));
    }
    Ok(())
}

/// Sets the status of a previewed import (e.g. `discarded`); false if it was not previewed.
pub async fn set_status_if_previewed(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    new_status: &str,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE imports SET status = $3 WHERE municipality_id = $1 AND id = $2 AND status = 'previewed'";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(new_status)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// csv_profiles

/// A saved column mapping (取込調整).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct CsvProfile {
    pub id: Uuid,
    pub name: String,
    /// `furusato_domain::Portal::as_str()` of the donations it imports.
    pub portal: String,
    /// JSON of the mapping (furusato-portals `ColumnMapping`, plus the sample headers).
    pub mapping: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const PROFILE_COLUMNS: &str = "id, name, portal, mapping, created_at, updated_at";

/// Every saved profile of the municipality, by name.
pub async fn profiles(db: &Db, tenant: MunicipalityId) -> DbResult<Vec<CsvProfile>> {
    let sql = format!(
        "SELECT {PROFILE_COLUMNS} FROM csv_profiles WHERE municipality_id = $1 ORDER BY name"
    );
    Ok(crate::with_db!(db, |pool| sqlx::query_as::<_, CsvProfile>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

pub async fn profile(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<CsvProfile>> {
    let sql = format!(
        "SELECT {PROFILE_COLUMNS} FROM csv_profiles WHERE municipality_id = $1 AND id = $2"
    );
    Ok(crate::with_db!(db, |pool| sqlx::query_as::<_, CsvProfile>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

pub async fn profile_by_name(
    db: &Db,
    tenant: MunicipalityId,
    name: &str,
) -> DbResult<Option<CsvProfile>> {
    let sql = format!(
        "SELECT {PROFILE_COLUMNS} FROM csv_profiles WHERE municipality_id = $1 AND name = $2"
    );
    Ok(crate::with_db!(db, |pool| sqlx::query_as::<_, CsvProfile>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(name)
    .fetch_optional(pool)
    .await?))
}

/// Saves a new profile; [`DbError::Conflict`] when the name is taken.
pub async fn insert_profile(
    tx: &mut Tx,
    tenant: MunicipalityId,
    name: &str,
    portal: &str,
    mapping: &str,
) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO csv_profiles (id, municipality_id, name, portal, mapping, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6)";
    let id = new_id();
    let r = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(tenant.0)
        .bind(name)
        .bind(portal)
        .bind(mapping)
        .bind(now_utc())
        .execute(conn)
        .await
        .map(|_| ()));
    match r.map_err(DbError::from) {
        Ok(()) => Ok(id),
        Err(e) if e.is_unique_violation() => {
            Err(DbError::Conflict(format!("csv profile {name:?}")))
        }
        Err(e) => Err(e),
    }
}

/// Replaces a profile's name, portal and mapping; [`DbError::Conflict`] when the new name is taken.
pub async fn update_profile(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    name: &str,
    portal: &str,
    mapping: &str,
) -> DbResult<()> {
    const SQL: &str = "UPDATE csv_profiles SET name = $3, portal = $4, mapping = $5, updated_at = $6 \
        WHERE municipality_id = $1 AND id = $2";
    let r = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(name)
        .bind(portal)
        .bind(mapping)
        .bind(now_utc())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()));
    match r.map_err(DbError::from) {
        Ok(0) => Err(DbError::NotFound("csv profile")),
        Ok(_) => Ok(()),
        Err(e) if e.is_unique_violation() => {
            Err(DbError::Conflict(format!("csv profile {name:?}")))
        }
        Err(e) => Err(e),
    }
}

pub async fn delete_profile(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "DELETE FROM csv_profiles WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("csv profile"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// payment_records

/// Status values of `payment_records.status`.
pub mod payment_status {
    /// Linked to a donation, which was marked paid.
    pub const MATCHED: &str = "matched";
    /// No donation found.
    pub const UNMATCHED: &str = "unmatched";
    /// Several possible donations, or one that needs a person's judgement (see the note).
    pub const AMBIGUOUS: &str = "ambiguous";
    /// Set aside by an operator (with a note).
    pub const IGNORED: &str = "ignored";
}

/// One line of a bank / 郵便振替 statement.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub import_id: Option<Uuid>,
    pub line: i64,
    pub paid_on: Date,
    pub amount: i64,
    pub payer_name: String,
    pub payer_kana: String,
    pub reference: String,
    pub method: String,
    pub donation_id: Option<Uuid>,
    /// See [`payment_status`].
    pub status: String,
    pub note: String,
    pub created_at: OffsetDateTime,
    pub matched_at: Option<OffsetDateTime>,
    pub matched_by: String,
}

const PAYMENT_COLUMNS: &str = "id, import_id, line, paid_on, amount, payer_name, payer_kana, reference, method, \
    donation_id, status, note, created_at, matched_at, matched_by";

/// A payment record to store.
#[derive(Clone, Debug)]
pub struct NewPaymentRecord {
    pub import_id: Option<Uuid>,
    pub line: i64,
    pub paid_on: Date,
    pub amount: i64,
    pub payer_name: String,
    pub payer_kana: String,
    pub reference: String,
    pub method: String,
    pub donation_id: Option<Uuid>,
    pub status: String,
    pub note: String,
    pub matched_by: String,
}

/// Column list for [`crate::dialect::bulk_insert`] matching [`payment_insert_row`].
pub const PAYMENT_INSERT_COLUMNS: [&str; 16] = [
    "id",
    "municipality_id",
    "import_id",
    "line",
    "paid_on",
    "amount",
    "payer_name",
    "payer_kana",
    "reference",
    "method",
    "donation_id",
    "status",
    "note",
    "created_at",
    "matched_at",
    "matched_by",
];

/// The bound values of one payment record, in [`PAYMENT_INSERT_COLUMNS`] order.
pub fn payment_insert_row(
    id: Uuid,
    tenant: MunicipalityId,
    r: &NewPaymentRecord,
    now: OffsetDateTime,
) -> Vec<Arg> {
    let matched = r.status == payment_status::MATCHED;
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::OptUuid(r.import_id),
        Arg::Int(r.line),
        Arg::Date(r.paid_on),
        Arg::Int(r.amount),
        Arg::Text(r.payer_name.clone()),
        Arg::Text(r.payer_kana.clone()),
        Arg::Text(r.reference.clone()),
        Arg::Text(r.method.clone()),
        Arg::OptUuid(r.donation_id),
        Arg::Text(r.status.clone()),
        Arg::Text(r.note.clone()),
        Arg::Timestamp(now),
        Arg::OptTimestamp(matched.then_some(now)),
        Arg::Text(r.matched_by.clone()),
    ]
}

pub async fn payment_record(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<PaymentRecord>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_records WHERE municipality_id = $1 AND id = $2"
    );
    Ok(crate::with_db!(db, |pool| {
        sqlx::query_as::<_, PaymentRecord>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// The records of one payment import, in file order.
pub async fn payment_records_of_import(
    db: &Db,
    tenant: MunicipalityId,
    import_id: Uuid,
) -> DbResult<Vec<PaymentRecord>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_records WHERE municipality_id = $1 AND import_id = $2 ORDER BY line, id"
    );
    Ok(crate::with_db!(db, |pool| {
        sqlx::query_as::<_, PaymentRecord>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .bind(import_id)
            .fetch_all(pool)
            .await?
    }))
}

/// Records with one of `statuses`, oldest payment first; `page` is 1-based.
pub async fn payment_records_by_status(
    db: &Db,
    tenant: MunicipalityId,
    statuses: &[&str],
    page: u32,
    per_page: u32,
) -> DbResult<Page<PaymentRecord>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let mut args = Args::new();
    let t = args.uuid(tenant.0);
    let list: Vec<String> = statuses.iter().map(|s| args.text(*s)).collect();
    let wh = format!("municipality_id = {t} AND status IN ({})", list.join(", "));
    let count_sql = format!("SELECT COUNT(*) FROM payment_records WHERE {wh}");
    let total: i64 = crate::with_db!(db, |pool| bind_args!(
        sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)),
        args
    )
    .fetch_one(pool)
    .await?);
    let offset = (i64::from(page) - 1) * i64::from(per_page);
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_records WHERE {wh} ORDER BY paid_on, line, id \
         LIMIT {per_page} OFFSET {offset}"
    );
    let items = crate::with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, PaymentRecord>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total,
        total_capped: false,
    })
}

/// Changes how a record is matched (manual match, ignore, un-match).
pub async fn set_payment_match(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    new_status: &str,
    donation_id: Option<Uuid>,
    note: &str,
    matched_by: &str,
) -> DbResult<()> {
    const SQL: &str = "UPDATE payment_records SET status = $3, donation_id = $4, note = $5, matched_by = $6, \
        matched_at = $7 WHERE municipality_id = $1 AND id = $2";
    let at = (new_status == payment_status::MATCHED).then(now_utc);
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(new_status)
        .bind(donation_id)
        .bind(note)
        .bind(matched_by)
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("payment record"));
    }
    Ok(())
}

/// Matched records pointing at a donation (to release them when the payment is undone).
pub async fn matched_records_for_donation(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
) -> DbResult<Vec<PaymentRecord>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_records WHERE municipality_id = $1 AND donation_id = $2 \
         AND status = 'matched' ORDER BY created_at"
    );
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, PaymentRecord>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(donation_id)
    .fetch_all(conn)
    .await?))
}

/// A donation that a payment could be for, with what matching compares.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct PaymentCandidate {
    pub donation_id: Uuid,
    pub donation_number: String,
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub payment_status: String,
    pub channel: String,
    pub portal: Option<String>,
    pub donor_id: Uuid,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub kana_norm: String,
}

const CANDIDATE_SELECT: &str = "SELECT x.id AS donation_id, x.donation_number, x.amount, x.donated_on, \
    x.payment_status, x.channel, x.portal, x.donor_id, d.family_name, d.given_name, d.family_kana, d.given_kana, \
    d.kana_norm FROM donations x JOIN donors d ON d.id = x.donor_id";

/// Unpaid or paid donations of exactly `amount` made between `from` and `to` (寄附日, inclusive).
pub async fn payment_candidates(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    amount: i64,
    from: Date,
    to: Date,
) -> DbResult<Vec<PaymentCandidate>> {
    let sql = format!(
        "{CANDIDATE_SELECT} WHERE x.municipality_id = $1 AND x.payment_status IN ('unpaid', 'paid') \
         AND x.donated_on >= $2 AND x.donated_on <= $3 AND x.amount = $4 ORDER BY x.donated_on, x.id LIMIT 5000"
    );
    Ok(with_exec!(ex, |c| sqlx::query_as::<_, PaymentCandidate>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.0)
    .bind(from)
    .bind(to)
    .bind(amount)
    .fetch_all(c)
    .await?))
}

/// Donations by 寄附番号, for matching references.
pub async fn payment_candidates_by_number(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    numbers: &[String],
) -> DbResult<Vec<PaymentCandidate>> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut ex = ex;
    let backend = ex.backend();
    for chunk in numbers.chunks(IN_CHUNK) {
        let mut b = Binds::new(backend);
        let t = b.push(Arg::Uuid(tenant.0));
        let list: Vec<String> = chunk.iter().map(|n| b.push(Arg::Text(n.clone()))).collect();
        let args = b.args;
        let sql = format!(
            "{CANDIDATE_SELECT} WHERE x.municipality_id = {t} AND x.donation_number IN ({})",
            list.join(", ")
        );
        let rows: Vec<PaymentCandidate> = match &mut ex {
            Exec::Db(db) => crate::with_db!(*db, |pool| bind_args!(
                sqlx::query_as::<_, PaymentCandidate>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(pool)
            .await?),
            Exec::Tx(tx) => with_tx!(&mut **tx, |conn| bind_args!(
                sqlx::query_as::<_, PaymentCandidate>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(conn)
            .await?),
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Donations for the manual-match search: by 寄附番号 / portal id (exact) or donor name or kana
/// (prefix), unpaid first, at most `limit`.
pub async fn search_payment_candidates(
    db: &Db,
    tenant: MunicipalityId,
    query: &str,
    limit: u32,
) -> DbResult<Vec<PaymentCandidate>> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = Args::new();
    let t = args.uuid(tenant.0);
    let exact = args.text(q.to_string());
    let kana = furusato_domain::kana::normalize_kana(q);
    let name = furusato_domain::normalize::normalize_name(q);
    let klo = args.text(kana.clone());
    let khi = args.text(crate::args::prefix_end(&kana));
    let nlo = args.text(name.clone());
    let nhi = args.text(crate::args::prefix_end(&name));
    let limit = limit.clamp(1, 200);
    let sql = format!(
        "{CANDIDATE_SELECT} WHERE x.municipality_id = {t} AND (x.donation_number = {exact} OR x.external_id = {exact} \
         OR (d.kana_norm >= {klo} AND d.kana_norm < {khi}) OR (d.name_norm >= {nlo} AND d.name_norm < {nhi})) \
         ORDER BY CASE WHEN x.payment_status = 'unpaid' THEN 0 ELSE 1 END, x.donated_on DESC, x.id LIMIT {limit}"
    );
    Ok(crate::with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, PaymentCandidate>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_all(pool)
    .await?))
}

// ---------------------------------------------------------------------------------------------
// Batch reads and writes for the donation CSV import

/// Existing donations of `portal` with the given external ids (one query per 2,000 ids).
pub async fn donations_by_external(
    mut ex: Exec<'_>,
    tenant: MunicipalityId,
    portal: &str,
    external_ids: &[&str],
) -> DbResult<Vec<Donation>> {
    let mut out = Vec::new();
    let backend = ex.backend();
    for chunk in external_ids.chunks(IN_CHUNK) {
        let mut b = Binds::new(backend);
        let t = b.push(Arg::Uuid(tenant.0));
        let p = b.push(Arg::Text(portal.to_string()));
        let list: Vec<String> = chunk
            .iter()
            .map(|id| b.push(Arg::Text(id.to_string())))
            .collect();
        let args = b.args;
        let sql = format!(
            "SELECT {} FROM donations WHERE municipality_id = {t} AND portal = {p} AND external_id IN ({})",
            crate::donations::COLUMNS,
            list.join(", ")
        );
        let rows: Vec<Donation> = match &mut ex {
            Exec::Db(db) => crate::with_db!(*db, |pool| bind_args!(
                sqlx::query_as::<_, Donation>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(pool)
            .await?),
            Exec::Tx(tx) => with_tx!(&mut **tx, |conn| bind_args!(
                sqlx::query_as::<_, Donation>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(conn)
            .await?),
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Runs one `SELECT … WHERE municipality_id = $1 AND <col> IN (…ids…)` per chunk of ids.
async fn select_by_ids<T>(
    mut ex: Exec<'_>,
    tenant: MunicipalityId,
    select: &str,
    col: &str,
    ids: &[Uuid],
) -> DbResult<Vec<T>>
where
    T: Send + Unpin,
    for<'r> T:
        sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::new();
    let backend = ex.backend();
    for chunk in ids.chunks(IN_CHUNK) {
        let mut b = Binds::new(backend);
        let t = b.push(Arg::Uuid(tenant.0));
        let list: Vec<String> = chunk.iter().map(|id| b.push(Arg::Uuid(*id))).collect();
        let args = b.args;
        let sql = format!(
            "{select} WHERE municipality_id = {t} AND {col} IN ({})",
            list.join(", ")
        );
        let rows: Vec<T> = match &mut ex {
            Exec::Db(db) => crate::with_db!(*db, |pool| bind_args!(
                sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(pool)
            .await?),
            Exec::Tx(tx) => with_tx!(&mut **tx, |conn| bind_args!(
                sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(conn)
            .await?),
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Gift lines of several donations, in (donation, line) order within each chunk.
pub async fn items_of(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    donation_ids: &[Uuid],
) -> DbResult<Vec<DonationItem>> {
    const SELECT: &str = "SELECT id, donation_id, line_no, gift_id, gift_version_id, gift_code, name, quantity, \
        amount, ship_to_id FROM donation_items";
    let mut items: Vec<DonationItem> =
        select_by_ids(ex, tenant, SELECT, "donation_id", donation_ids).await?;
    items.sort_by_key(|i| (i.donation_id, i.line_no));
    Ok(items)
}

/// Ship-tos of several donations, in (donation, seq) order.
pub async fn ship_tos_of(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    donation_ids: &[Uuid],
) -> DbResult<Vec<ShipTo>> {
    const SELECT: &str = "SELECT id, donation_id, seq, name, kana, postal_code, address, phone, external_ref FROM ship_tos";
    let mut rows: Vec<ShipTo> =
        select_by_ids(ex, tenant, SELECT, "donation_id", donation_ids).await?;
    rows.sort_by_key(|r| (r.donation_id, r.seq));
    Ok(rows)
}

/// (id, 寄附番号) of donations by id.
pub async fn donation_numbers(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    ids: &[Uuid],
) -> DbResult<Vec<(Uuid, String)>> {
    select_by_ids(
        ex,
        tenant,
        "SELECT id, donation_number FROM donations",
        "id",
        ids,
    )
    .await
}

/// Donors by id.
pub async fn donors_by_ids(
    ex: Exec<'_>,
    tenant: MunicipalityId,
    ids: &[Uuid],
) -> DbResult<Vec<Donor>> {
    let select = format!("SELECT {} FROM donors", crate::donors::COLUMNS);
    select_by_ids(ex, tenant, &select, "id", ids).await
}

/// The latest (version, content hash) of each of `external_ids` from `source`.
pub async fn latest_source_hashes(
    mut ex: Exec<'_>,
    tenant: MunicipalityId,
    source: &str,
    external_ids: &[&str],
) -> DbResult<HashMap<String, (i64, Vec<u8>)>> {
    let mut out: HashMap<String, (i64, Vec<u8>)> = HashMap::new();
    let backend = ex.backend();
    for chunk in external_ids.chunks(IN_CHUNK) {
        let mut b = Binds::new(backend);
        let t = b.push(Arg::Uuid(tenant.0));
        let s = b.push(Arg::Text(source.to_string()));
        let list: Vec<String> = chunk
            .iter()
            .map(|id| b.push(Arg::Text(id.to_string())))
            .collect();
        let args = b.args;
        let sql = format!(
            "SELECT external_id, version, content_hash FROM source_records WHERE municipality_id = {t} \
             AND source = {s} AND external_id IN ({})",
            list.join(", ")
        );
        let rows: Vec<(String, i64, Vec<u8>)> = match &mut ex {
            Exec::Db(db) => crate::with_db!(*db, |pool| bind_args!(
                sqlx::query_as::<_, (String, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(pool)
            .await?),
            Exec::Tx(tx) => with_tx!(&mut **tx, |conn| bind_args!(
                sqlx::query_as::<_, (String, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql)),
                args
            )
            .fetch_all(conn)
            .await?),
        };
        for (id, version, hash) in rows {
            let newer = out.get(&id).is_none_or(|(v, _)| version > *v);
            if newer {
                out.insert(id, (version, hash));
            }
        }
    }
    Ok(out)
}

/// The fields of a donation an import may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DonationFields {
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub payment_method: String,
    pub payment_status: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
}

/// Rewrites the import-managed fields of a donation.
pub async fn update_donation_fields(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    f: &DonationFields,
) -> DbResult<()> {
    const SQL: &str = "UPDATE donations SET amount = $3, donated_on = $4, received_on = $5, payment_method = $6, \
        payment_status = $7, use_of_funds = $8, onestop_wanted = $9, gift_declined = $10, note = $11, \
        updated_at = $12 WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(f.amount)
        .bind(f.donated_on)
        .bind(f.received_on)
        .bind(&f.payment_method)
        .bind(&f.payment_status)
        .bind(&f.use_of_funds)
        .bind(f.onestop_wanted)
        .bind(f.gift_declined)
        .bind(&f.note)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("donation"));
    }
    Ok(())
}

/// Deletes the gift lines and ship-tos of a donation (before writing the new ones).
pub async fn clear_items_and_ship_tos(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
) -> DbResult<()> {
    const ITEMS: &str =
        "DELETE FROM donation_items WHERE municipality_id = $1 AND donation_id = $2";
    const SHIP: &str = "DELETE FROM ship_tos WHERE municipality_id = $1 AND donation_id = $2";
    with_tx!(tx, |conn| sqlx::query(ITEMS)
        .bind(tenant.0)
        .bind(donation_id)
        .execute(conn)
        .await?
        .rows_affected());
    with_tx!(tx, |conn| sqlx::query(SHIP)
        .bind(tenant.0)
        .bind(donation_id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Changes a donation's payment status and 受領日 only if its status is still `from` (so that two
/// operators, or an operator and a payment file, never both apply a change). Returns whether the
/// row was changed.
pub async fn set_payment_if(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    from: &str,
    to: &str,
    received_on: Option<Date>,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE donations SET payment_status = $4, received_on = $5, updated_at = $6 \
        WHERE municipality_id = $1 AND id = $2 AND payment_status = $3";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(received_on)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Closes an open (unmatched or ambiguous) payment record: matched to a donation or ignored.
/// Returns false when the record was not open any more.
pub async fn close_payment_record(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    new_status: &str,
    donation_id: Option<Uuid>,
    note: &str,
    by: &str,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE payment_records SET status = $3, donation_id = $4, note = $5, matched_by = $6, \
        matched_at = $7 WHERE municipality_id = $1 AND id = $2 AND status IN ('unmatched', 'ambiguous')";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(new_status)
        .bind(donation_id)
        .bind(note)
        .bind(by)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}
