//! The audit trail: an append-only, hash-chained log of every write and every view of personal data.
//!
//! Each entry's `hash` is SHA-256 over its own fields and the previous entry's hash. Appends run
//! under the `audit_head` row (updated in the same transaction), which serialises appenders on
//! PostgreSQL; SQLite serialises writers anyway. [`verify`] recomputes the chain and reports the
//! first entry that was changed, removed or inserted behind the application's back.
//!
//! The log never stores personal data values (no names, addresses, numbers): only who, when, from
//! where, what action, which record (by id), and the reason typed for reveals and exports.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::Args;
use crate::donors::{Page, TOTAL_CAP};
use crate::{
    Db, DbError, DbResult, MunicipalityId, Tx, bind_args, new_id, now_utc, with_db, with_tx,
};

/// What happened, by whom, to what.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditEntry {
    pub municipality_id: Option<MunicipalityId>,
    pub user_id: Option<Uuid>,
    pub user_login: String,
    pub role: String,
    pub ip: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    /// Structured details (filters of an export, row counts, changed field names …). Never values
    /// of personal data.
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// An entry for a command-line action (no web user): login is `cli:<os user>`.
    pub fn cli(municipality_id: Option<MunicipalityId>, action: &str) -> Self {
        let who = ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        AuditEntry {
            municipality_id,
            user_login: format!("cli:{who}"),
            role: "cli".into(),
            action: action.into(),
            detail: serde_json::json!({}),
            ..Default::default()
        }
    }

    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_kind = kind.into();
        self.target_id = id.to_string();
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = reason.into();
        self
    }
}

/// A stored entry.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub at: OffsetDateTime,
    pub user_id: Option<Uuid>,
    pub user_login: String,
    pub role: String,
    pub ip: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    pub detail: String,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

impl AuditRow {
    /// The hash this row should carry given its fields and `prev_hash`.
    pub fn expected_hash(&self) -> [u8; 32] {
        chain_hash(
            self.seq,
            self.id,
            self.municipality_id,
            self.at,
            self.user_id,
            &self.user_login,
            &self.role,
            &self.ip,
            &self.action,
            &self.target_kind,
            &self.target_id,
            &self.reason,
            &self.detail,
            &self.prev_hash,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    seq: i64,
    id: Uuid,
    municipality_id: Option<Uuid>,
    at: OffsetDateTime,
    user_id: Option<Uuid>,
    user_login: &str,
    role: &str,
    ip: &str,
    action: &str,
    target_kind: &str,
    target_id: &str,
    reason: &str,
    detail: &str,
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"furusato-audit-v1");
    h.update(seq.to_be_bytes());
    h.update(id.as_bytes());
    h.update(municipality_id.unwrap_or_default().as_bytes());
    // Microseconds since the epoch: what both engines store exactly.
    h.update(((at.unix_timestamp_nanos() / 1000) as i64).to_be_bytes());
    h.update(user_id.unwrap_or_default().as_bytes());
    for s in [
        user_login,
        role,
        ip,
        action,
        target_kind,
        target_id,
        reason,
        detail,
    ] {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    h.update(prev_hash);
    h.finalize().into()
}

/// Appends an entry inside the caller's transaction (so the audit record commits or rolls back
/// with the change it describes). Returns the entry's sequence number.
pub async fn append(tx: &mut Tx, e: &AuditEntry) -> DbResult<i64> {
    const HEAD: &str = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash";
    let (seq, prev_hash): (i64, Vec<u8>) =
        with_tx!(tx, |conn| sqlx::query_as(HEAD).fetch_one(conn).await?);
    let id = new_id();
    let at = now_utc();
    let detail = if e.detail.is_null() {
        "{}".to_string()
    } else {
        e.detail.to_string()
    };
    let muni = e.municipality_id.map(|m| m.0);
    let hash = chain_hash(
        seq,
        id,
        muni,
        at,
        e.user_id,
        &e.user_login,
        &e.role,
        &e.ip,
        &e.action,
        &e.target_kind,
        &e.target_id,
        &e.reason,
        &detail,
        &prev_hash,
    );
    const INSERT: &str = "INSERT INTO audit_log (seq, id, municipality_id, at, user_id, user_login, role, ip, \
        action, target_kind, target_id, reason, detail, prev_hash, hash) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    with_tx!(tx, |conn| sqlx::query(INSERT)
        .bind(seq)
        .bind(id)
        .bind(muni)
        .bind(at)
        .bind(e.user_id)
        .bind(&e.user_login)
        .bind(&e.role)
        .bind(&e.ip)
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(&e.target_id)
        .bind(&e.reason)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash[..])
        .execute(conn)
        .await?
        .rows_affected());
    const SET_HASH: &str = "UPDATE audit_head SET hash = $1 WHERE id = 1";
    with_tx!(tx, |conn| sqlx::query(SET_HASH)
        .bind(&hash[..])
        .execute(conn)
        .await?
        .rows_affected());
    Ok(seq)
}

/// Appends an entry in a transaction of its own (views, exports, logins).
pub async fn record(db: &Db, e: &AuditEntry) -> DbResult<i64> {
    let mut tx = db.begin().await?;
    let seq = append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Entries without a municipality that every tenant's auditors see.
const SYSTEM_WIDE_ACTIONS: &str = "action LIKE 'keys.%' OR action LIKE 'data.%'";

/// Auditor screen filters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditFilter {
    pub user_login: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl AuditFilter {
    fn conditions(&self, tenant: MunicipalityId, args: &mut Args) -> String {
        // A tenant sees its own entries and the system-wide operations that concern every tenant
        // (vault keys, reference data), which are recorded without a municipality.
        let mut w = vec![format!(
            "(municipality_id = {} OR (municipality_id IS NULL AND ({})))",
            args.uuid(tenant.0),
            SYSTEM_WIDE_ACTIONS
        )];
        if let Some(u) = self.user_login.as_deref().filter(|s| !s.is_empty()) {
            w.push(format!("user_login = {}", args.text(u)));
        }
        if let Some(a) = self.action.as_deref().filter(|s| !s.is_empty()) {
            // "donor" matches donor.view, donor.update …
            if a.contains('.') {
                w.push(format!("action = {}", args.text(a)));
            } else {
                let lo = args.text(format!("{a}."));
                let hi = args.text(format!("{a}/"));
                w.push(format!("action >= {lo} AND action < {hi}"));
            }
        }
        if let Some(k) = self.target_kind.as_deref().filter(|s| !s.is_empty()) {
            w.push(format!("target_kind = {}", args.text(k)));
        }
        if let Some(t) = self.target_id.as_deref().filter(|s| !s.is_empty()) {
            w.push(format!("target_id = {}", args.text(t)));
        }
        let jst = furusato_domain::jst::JST;
        if let Some(f) = self.from {
            let start = f
                .midnight()
                .assume_offset(jst)
                .to_offset(time::UtcOffset::UTC);
            w.push(format!("at >= {}", args.timestamp(start)));
        }
        if let Some(t) = self.to.and_then(|t| t.next_day()) {
            let end = t
                .midnight()
                .assume_offset(jst)
                .to_offset(time::UtcOffset::UTC);
            w.push(format!("at < {}", args.timestamp(end)));
        }
        w.join(" AND ")
    }
}

const ROW_COLUMNS: &str = "seq, id, municipality_id, at, user_id, user_login, role, ip, action, target_kind, \
    target_id, reason, detail, prev_hash, hash";

/// A page of the tenant's audit trail, newest first.
pub async fn search(
    db: &Db,
    tenant: MunicipalityId,
    filter: &AuditFilter,
    page: u32,
    per_page: u32,
) -> DbResult<Page<AuditRow>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE {wh} LIMIT {}) t",
        TOTAL_CAP + 1
    );
    let total: i64 = with_db!(db, |pool| bind_args!(
        sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)),
        args
    )
    .fetch_one(pool)
    .await?);
    let offset = (page as i64 - 1) * per_page as i64;
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_log WHERE {wh} ORDER BY seq DESC LIMIT {per_page} OFFSET {offset}"
    );
    let items = with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total: total.min(TOTAL_CAP),
        total_capped: total > TOTAL_CAP,
    })
}

/// Streams every matching entry, oldest first, to `sink` (for the CSV export).
pub async fn for_each(
    db: &Db,
    tenant: MunicipalityId,
    filter: &AuditFilter,
    mut sink: impl FnMut(AuditRow) -> Result<(), String>,
) -> DbResult<u64> {
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE {wh} ORDER BY seq");
    let mut n = 0;
    with_db!(db, |pool| {
        let mut rows = bind_args!(
            sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch(pool);
        while let Some(row) = rows.try_next().await? {
            sink(row).map_err(DbError::Corrupt)?;
            n += 1;
        }
    });
    Ok(n)
}

/// The sequence number of the newest entry of the whole log (0 when empty). An export bounded by
/// it is a stable snapshot: the log is append-only, so nothing at or below it changes afterwards.
pub async fn head_seq(db: &Db) -> DbResult<i64> {
    const SQL: &str = "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM audit_log";
    Ok(with_db!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_one(pool)
        .await?))
}

/// How many of the tenant's entries match `filter` with `seq <= until_seq` (no cap).
pub async fn count_until(
    db: &Db,
    tenant: MunicipalityId,
    filter: &AuditFilter,
    until_seq: i64,
) -> DbResult<i64> {
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let seq = args.int(until_seq);
    let sql = format!("SELECT COUNT(*) FROM audit_log WHERE {wh} AND seq <= {seq}");
    Ok(with_db!(db, |pool| bind_args!(
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_one(pool)
    .await?))
}

/// Every entry of the tenant matching `filter` with `seq <= until_seq`, oldest first, read from a
/// database cursor one row at a time (for the streamed CSV export; unlike [`for_each`] the caller
/// pulls rows, so it can wait for a slow HTTP client in between). The stream holds one pooled
/// connection until it ends.
pub fn rows<'a>(
    db: &'a Db,
    tenant: MunicipalityId,
    filter: &AuditFilter,
    until_seq: i64,
) -> BoxStream<'a, DbResult<AuditRow>> {
    let mut args = Args::new();
    let wh = filter.conditions(tenant, &mut args);
    let seq = args.int(until_seq);
    let sql =
        format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE {wh} AND seq <= {seq} ORDER BY seq");
    with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch(pool)
    .map_err(DbError::from)
    .boxed())
}

/// Result of [`verify`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub checked: u64,
    /// The first problem found, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BrokenLink {
    /// Sequence number of the first entry that does not fit the chain.
    pub seq: i64,
    pub problem: BrokenKind,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BrokenKind {
    /// The entry's fields no longer match its hash (it was modified).
    Modified,
    /// The entry does not point at the previous entry's hash (an entry before it was removed or altered).
    ChainMismatch,
    /// Sequence numbers jump (entries were deleted).
    Missing { expected: i64 },
    /// The head row says the log is longer / different than what is stored (tail deleted or head altered).
    HeadMismatch { head_seq: i64, last_seq: i64 },
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            BrokenKind::Modified => write!(
                f,
                "entry #{} was modified after it was written (hash mismatch)",
                self.seq
            ),
            BrokenKind::ChainMismatch => write!(
                f,
                "entry #{} does not link to the entry before it (an earlier entry was altered or removed)",
                self.seq
            ),
            BrokenKind::Missing { expected } => {
                write!(
                    f,
                    "entries #{expected}..#{} are missing (deleted)",
                    self.seq - 1
                )
            }
            BrokenKind::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "the chain head records {head_seq} entries but the log ends at #{last_seq} (entries deleted at the end, or the head was altered)"
            ),
        }
    }
}

/// Walks the whole chain in order and reports the first broken link.
pub async fn verify(db: &Db) -> DbResult<VerifyReport> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_log ORDER BY seq");
    let mut checked = 0u64;
    let mut prev_hash = vec![0u8; 32];
    let mut expected_seq = 1i64;
    let mut broken = None;
    with_db!(db, |pool| {
        let mut rows = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql.clone())).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            checked += 1;
            if row.seq != expected_seq {
                broken = Some(BrokenLink {
                    seq: row.seq,
                    problem: BrokenKind::Missing {
                        expected: expected_seq,
                    },
                });
                break;
            }
            if row.expected_hash()[..] != row.hash[..] {
                broken = Some(BrokenLink {
                    seq: row.seq,
                    problem: BrokenKind::Modified,
                });
                break;
            }
            if row.prev_hash != prev_hash {
                broken = Some(BrokenLink {
                    seq: row.seq,
                    problem: BrokenKind::ChainMismatch,
                });
                break;
            }
            prev_hash = row.hash;
            expected_seq += 1;
        }
    });
    if broken.is_none() {
        const HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
        let (head_seq, head_hash): (i64, Vec<u8>) =
            with_db!(db, |pool| sqlx::query_as(HEAD).fetch_one(pool).await?);
        let last_seq = expected_seq - 1;
        if head_seq != last_seq || head_hash != prev_hash {
            broken = Some(BrokenLink {
                seq: last_seq + 1,
                problem: BrokenKind::HeadMismatch { head_seq, last_seq },
            });
        }
    }
    Ok(VerifyReport {
        checked,
        first_broken: broken,
    })
}

/// The chain head: (number of entries, hash of the last entry). Record it outside the database
/// (e.g. in the daily operations log) to anchor the chain: a rewrite of the whole log by someone
/// with database access would then no longer match the recorded head.
pub async fn head(db: &Db) -> DbResult<(i64, Vec<u8>)> {
    const HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
    Ok(with_db!(db, |pool| sqlx::query_as(HEAD)
        .fetch_one(pool)
        .await?))
}

#[cfg(test)]
mod tests {
    //! Tampering behind the application's back (plain SQL on the tables) is found by [`verify`].

    use super::*;
    use crate::testing::test_db;

    async fn seeded(n: usize) -> crate::testing::TestDb {
        let db = test_db().await;
        for i in 0..n {
            let e = AuditEntry::cli(None, "test.entry")
                .target("thing", i)
                .reason("検査");
            record(&db, &e).await.expect("append");
        }
        let report = verify(&db).await.expect("verify");
        assert_eq!(
            report,
            VerifyReport {
                checked: n as u64,
                first_broken: None
            }
        );
        db
    }

    async fn exec(db: &Db, sql: &str) {
        with_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await
            .expect("tamper statement")
            .rows_affected());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_updated_entry_is_reported_as_modified() {
        let db = seeded(5).await;
        exec(&db, "UPDATE audit_log SET reason = 'changed' WHERE seq = 3").await;
        let r = verify(&db).await.unwrap();
        assert_eq!(
            r.first_broken,
            Some(BrokenLink {
                seq: 3,
                problem: BrokenKind::Modified
            })
        );
        assert_eq!(r.checked, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link() {
        let db = seeded(5).await;
        // A forger who knows the algorithm recomputes the row's own hash; the next entry still
        // points at the original one.
        let sql = format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE seq = 2");
        let mut row: AuditRow = with_db!(&*db, |pool| sqlx::query_as::<_, AuditRow>(
            sqlx::AssertSqlSafe(sql)
        )
        .fetch_one(pool)
        .await
        .unwrap());
        row.action = "test.forged".into();
        let forged = row.expected_hash();
        with_db!(&*db, |pool| sqlx::query(
            "UPDATE audit_log SET action = $1, hash = $2 WHERE seq = 2"
        )
        .bind(&row.action)
        .bind(&forged[..])
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
        let r = verify(&db).await.unwrap();
        assert_eq!(
            r.first_broken,
            Some(BrokenLink {
                seq: 3,
                problem: BrokenKind::ChainMismatch
            })
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deleted_entry_is_reported_as_missing() {
        let db = seeded(5).await;
        exec(&db, "DELETE FROM audit_log WHERE seq = 3").await;
        let r = verify(&db).await.unwrap();
        assert_eq!(
            r.first_broken,
            Some(BrokenLink {
                seq: 4,
                problem: BrokenKind::Missing { expected: 3 }
            })
        );
        assert_eq!(
            r.first_broken.unwrap().to_string(),
            "entries #3..#3 are missing (deleted)"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_the_newest_entries_is_a_head_mismatch() {
        let db = seeded(5).await;
        exec(&db, "DELETE FROM audit_log WHERE seq >= 4").await;
        let r = verify(&db).await.unwrap();
        assert_eq!(
            r.first_broken,
            Some(BrokenLink {
                seq: 4,
                problem: BrokenKind::HeadMismatch {
                    head_seq: 5,
                    last_seq: 3
                }
            })
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_export_stream_is_bounded_and_in_order() {
        let db = test_db().await;
        let t = MunicipalityId(new_id());
        let other = MunicipalityId(new_id());
        for i in 0..4 {
            let mut e = AuditEntry::cli(Some(if i % 2 == 0 { t } else { other }), "donor.view");
            e.target_id = i.to_string();
            record(&db, &e).await.unwrap();
        }
        let head = head_seq(&db).await.unwrap();
        assert_eq!(head, 4);
        // Appended after the snapshot: not part of it.
        record(&db, &AuditEntry::cli(Some(t), "donor.view"))
            .await
            .unwrap();
        let f = AuditFilter {
            action: Some("donor".into()),
            ..Default::default()
        };
        assert_eq!(count_until(&db, t, &f, head).await.unwrap(), 2);
        let got: Vec<AuditRow> = rows(&db, t, &f, head).try_collect().await.unwrap();
        assert_eq!(
            got.iter().map(|r| r.target_id.as_str()).collect::<Vec<_>>(),
            ["0", "2"]
        );
        assert!(got[0].seq < got[1].seq);
    }
}
