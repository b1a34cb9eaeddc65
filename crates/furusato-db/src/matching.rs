//! Storage of donor matching: candidate look-ups by the normalised keys, the review queue
//! (`match_reviews`), each donor's source records (`donor_sources`) and merges (`donor_merges`)
//! with what they moved, so that a merge can be undone exactly.
//!
//! The rules (scores, thresholds, what a merge does) live in `furusato-intake::matching`; this
//! module only reads and writes rows. Every function takes the tenant and filters on it.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::args::{Arg, Args};
use crate::donors::{COLUMNS as DONOR_COLUMNS, Donor, Page};
use crate::{
    Db, DbError, DbResult, MunicipalityId, Tx, bind_args, new_id, now_utc, with_db, with_tx,
};

/// Values per `IN (…)` list: well under both engines' bind limits, small enough for the planner
/// to use the index for each value.
pub const IN_CHUNK: usize = 500;

// ---------------------------------------------------------------------------------------------
// Inserts

// ---------------------------------------------------------------------------------------------
// Candidates

/// What a candidate is compared on: the donor's normalised columns (never the e-mail address).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct MatchCandidate {
    pub id: Uuid,
    pub kana_norm: String,
    pub name_norm: String,
    pub postal_code: String,
    pub address_norm: String,
    pub phone_digits: String,
    pub created_at: OffsetDateTime,
}

const CANDIDATE_COLUMNS: &str =
    "id, kana_norm, name_norm, postal_code, address_norm, phone_digits, created_at";

/// What a candidate look-up compares (exact equality on indexed columns; never the e-mail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKey {
    Kana,
    Phone,
    Name,
    /// Postal code and フリガナ together; the value is [`pair`]`(postal_code, kana)`.
    PostalKana,
    /// Postal code and normalised name together; the value is [`pair`]`(postal_code, name)`.
    PostalName,
}

impl CandidateKey {
    fn column(self) -> &'static str {
        match self {
            CandidateKey::Kana => "kana_norm",
            CandidateKey::Phone => "phone_digits",
            CandidateKey::Name => "name_norm",
            CandidateKey::PostalKana | CandidateKey::PostalName => "postal_code",
        }
    }

    fn is_pair(self) -> bool {
        matches!(self, CandidateKey::PostalKana | CandidateKey::PostalName)
    }
}

const PAIR_SEP: char = '\u{1f}';

/// The value of a pair look-up ([`CandidateKey::PostalKana`], [`CandidateKey::PostalName`]).
pub fn pair(postal_code: &str, other: &str) -> String {
    format!("{postal_code}{PAIR_SEP}{other}")
}

/// The query of one chunk of a candidate look-up.
fn candidate_query(tenant: MunicipalityId, key: CandidateKey, chunk: &[&str]) -> (String, Args) {
    let mut args = Args::new();
    let t = args.uuid(tenant.0);
    let sql = if key.is_pair() {
        // A join with the wanted pairs: both engines probe the donors_active_postal_keys index
        // (postal_code, kana_norm, name_norm) once per pair. (`(a, b) IN (VALUES …)` is not
        // planned as index probes by SQLite.)
        let rows = chunk
            .iter()
            .map(|v| {
                let (a, b) = v.split_once(PAIR_SEP).unwrap_or((v, ""));
                format!("({}, {})", args.text(a), args.text(b))
            })
            .collect::<Vec<_>>()
            .join(", ");
        // The name follows the フリガナ in the index, so a name is compared within the entries of
        // the postal code, before any donor row is read. `|| ''` keeps SQLite from taking the
        // (name_norm) search index instead, which reads the row of every namesake in the
        // country to compare its postal code.
        let other = if key == CandidateKey::PostalKana {
            "d.kana_norm"
        } else {
            "d.name_norm || ''"
        };
        let cols = CANDIDATE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // `CROSS JOIN` fixes the join order on SQLite (the wanted pairs outside, one index probe
        // each); without it, SQLite 3.51 walks all of the city's donors and probes the pairs
        // instead, which grows with the table. PostgreSQL treats it as an inner join.
        format!(
            "WITH w (p, o) AS (VALUES {rows}) SELECT {cols} FROM w CROSS JOIN donors d \
             WHERE d.municipality_id = {t} AND d.postal_code = w.p AND {other} = w.o \
             AND d.merged_into_id IS NULL"
        )
    } else {
        let list = chunk
            .iter()
            .map(|v| args.text(*v))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {CANDIDATE_COLUMNS} FROM donors WHERE municipality_id = {t} AND {} IN ({list}) \
             AND merged_into_id IS NULL",
            key.column()
        )
    };
    (sql, args)
}

fn distinct_values(values: &[String]) -> Vec<&str> {
    let mut wanted: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// Unmerged donors whose `key` column equals one of `values` (empty values are ignored), in
/// chunks of [`IN_CHUNK`], inside the caller's transaction (so donors it created are seen).
/// Each donor appears once even if several values match it.
pub async fn candidates_by(
    tx: &mut Tx,
    tenant: MunicipalityId,
    key: CandidateKey,
    values: &[String],
) -> DbResult<Vec<MatchCandidate>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for chunk in distinct_values(values).chunks(IN_CHUNK) {
        let (sql, args) = candidate_query(tenant, key, chunk);
        let rows = with_tx!(tx, |conn| bind_args!(
            sqlx::query_as::<_, MatchCandidate>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        out.extend(rows.into_iter().filter(|r| seen.insert(r.id)));
    }
    Ok(out)
}

/// Calls `each` with every unmerged donor of `tenant` (a large run's matcher loads them once
/// instead of looking candidates up batch by batch). Streams: nothing is collected here.
pub async fn each_candidate(
    tx: &mut Tx,
    tenant: MunicipalityId,
    mut each: impl FnMut(MatchCandidate),
) -> DbResult<()> {
    use futures::TryStreamExt;
    let sql = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM donors WHERE municipality_id = $1 AND merged_into_id IS NULL"
    );
    with_tx!(tx, |conn| {
        let mut rows = sqlx::query_as::<_, MatchCandidate>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .fetch(conn);
        while let Some(c) = rows.try_next().await? {
            each(c);
        }
    });
    Ok(())
}

/// [`candidates_by`] outside a transaction (screens that only read).
pub async fn candidates_by_db(
    db: &Db,
    tenant: MunicipalityId,
    key: CandidateKey,
    values: &[String],
) -> DbResult<Vec<MatchCandidate>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for chunk in distinct_values(values).chunks(IN_CHUNK) {
        let (sql, args) = candidate_query(tenant, key, chunk);
        let rows = with_db!(db, |pool| bind_args!(
            sqlx::query_as::<_, MatchCandidate>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(pool)
        .await?);
        out.extend(rows.into_iter().filter(|r| seen.insert(r.id)));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Donor sources

/// A source record linked to a donor (`donor_sources`).
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonorSource {
    pub id: Uuid,
    pub donor_id: Uuid,
    /// `rakuten`, `csv:choice`, `manual`, `merge` …
    pub source: String,
    pub external_id: String,
    /// `new` | `auto` | `reviewed` | `merged`
    pub link: String,
    /// JSON as received: name, kana, postal_code, address, phone.
    pub snapshot: String,
    pub created_at: OffsetDateTime,
}

/// Column list for [`crate::dialect::bulk_insert`] into `donor_sources`.
pub const SOURCE_INSERT_COLUMNS: [&str; 8] = [
    "id",
    "municipality_id",
    "donor_id",
    "source",
    "external_id",
    "link",
    "snapshot",
    "created_at",
];

/// The bound values of one `donor_sources` row, in [`SOURCE_INSERT_COLUMNS`] order.
#[allow(clippy::too_many_arguments)]
pub fn source_insert_row(
    id: Uuid,
    tenant: MunicipalityId,
    donor_id: Uuid,
    source: &str,
    external_id: &str,
    link: &str,
    snapshot: &serde_json::Value,
    at: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::Uuid(donor_id),
        Arg::Text(source.to_string()),
        Arg::Text(external_id.to_string()),
        Arg::Text(link.to_string()),
        Arg::Text(snapshot.to_string()),
        Arg::Timestamp(at),
    ]
}

/// Every source record of a donor, oldest first.
pub async fn sources_for_donor(
    db: &Db,
    tenant: MunicipalityId,
    donor_id: Uuid,
) -> DbResult<Vec<DonorSource>> {
    const SQL: &str = "SELECT id, donor_id, source, external_id, link, snapshot, created_at FROM donor_sources \
        WHERE municipality_id = $1 AND donor_id = $2 ORDER BY created_at, id";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, DonorSource>(SQL)
        .bind(tenant.0)
        .bind(donor_id)
        .fetch_all(pool)
        .await?))
}

// ---------------------------------------------------------------------------------------------
// Review queue

/// Status of a review.
pub const REVIEW_PENDING: &str = "pending";
pub const REVIEW_MERGED: &str = "merged";
pub const REVIEW_REJECTED: &str = "rejected";

/// A likely duplicate waiting for (or decided by) a person.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct MatchReview {
    pub id: Uuid,
    /// The donor created by the intake.
    pub donor_id: Uuid,
    /// The existing donor it probably is.
    pub candidate_id: Uuid,
    pub score: i64,
    /// JSON list of matched criteria codes (`kana`, `name`, `phone`, `postal_code`, `address`).
    pub reasons: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: String,
}

impl MatchReview {
    /// The matched criteria codes.
    pub fn reason_codes(&self) -> Vec<String> {
        serde_json::from_str(&self.reasons).unwrap_or_default()
    }
}

const REVIEW_COLUMNS: &str =
    "id, donor_id, candidate_id, score, reasons, status, created_at, decided_at, decided_by";

/// Column list for [`crate::dialect::bulk_insert`] into `match_reviews` (pending rows).
pub const REVIEW_INSERT_COLUMNS: [&str; 8] = [
    "id",
    "municipality_id",
    "donor_id",
    "candidate_id",
    "score",
    "reasons",
    "status",
    "created_at",
];

/// The bound values of a new pending review, in [`REVIEW_INSERT_COLUMNS`] order.
pub fn review_insert_row(
    id: Uuid,
    tenant: MunicipalityId,
    donor_id: Uuid,
    candidate_id: Uuid,
    score: i64,
    reasons: &[&str],
    at: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::Uuid(donor_id),
        Arg::Uuid(candidate_id),
        Arg::Int(score),
        Arg::Text(serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into())),
        Arg::Text(REVIEW_PENDING.into()),
        Arg::Timestamp(at),
    ]
}

/// Conditions that keep a pending review on the queue: both donors still exist unmerged.
const OPEN_PAIR: &str = "r.status = 'pending' \
    AND EXISTS (SELECT 1 FROM donors a WHERE a.id = r.donor_id AND a.merged_into_id IS NULL) \
    AND EXISTS (SELECT 1 FROM donors b WHERE b.id = r.candidate_id AND b.merged_into_id IS NULL)";

/// Pending reviews whose two donors are both unmerged, highest score first (then oldest).
/// A review whose donor was merged by another decision disappears from the queue, and comes back
/// if that merge is undone.
pub async fn pending_reviews(
    db: &Db,
    tenant: MunicipalityId,
    page: u32,
    per_page: u32,
) -> DbResult<Page<MatchReview>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 200);
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM match_reviews r WHERE r.municipality_id = $1 AND {OPEN_PAIR} LIMIT {}) t",
        crate::donors::TOTAL_CAP + 1
    );
    let total: i64 = with_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        count_sql
    ))
    .bind(tenant.0)
    .fetch_one(pool)
    .await?);
    let offset = (page as i64 - 1) * per_page as i64;
    let cols = REVIEW_COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM match_reviews r WHERE r.municipality_id = $1 AND {OPEN_PAIR} \
         ORDER BY r.score DESC, r.created_at, r.id LIMIT {per_page} OFFSET {offset}"
    );
    let items = with_db!(db, |pool| sqlx::query_as::<_, MatchReview>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total: total.min(crate::donors::TOTAL_CAP),
        total_capped: total > crate::donors::TOTAL_CAP,
    })
}

/// Number of reviews on the queue (see [`pending_reviews`]).
pub async fn pending_count(db: &Db, tenant: MunicipalityId) -> DbResult<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM match_reviews r WHERE r.municipality_id = $1 AND {OPEN_PAIR}"
    );
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await?))
}

/// One review, inside a transaction (for a decision).
pub async fn get_review(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<MatchReview>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM match_reviews WHERE municipality_id = $1 AND id = $2"
    );
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, MatchReview>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?))
}

/// Every review of a donor (as the new donor or as the candidate), newest first.
pub async fn reviews_for_donor(
    db: &Db,
    tenant: MunicipalityId,
    donor_id: Uuid,
) -> DbResult<Vec<MatchReview>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM match_reviews WHERE municipality_id = $1 AND (donor_id = $2 OR candidate_id = $2) \
         ORDER BY created_at DESC, id DESC"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, MatchReview>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(donor_id)
    .fetch_all(pool)
    .await?))
}

/// Records a decision on a review that is in state `from`; returns false when it was not (another
/// person decided first).
pub async fn decide_review(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    from: &str,
    to: &str,
    by: &str,
) -> DbResult<bool> {
    let (at, by) = if to == REVIEW_PENDING {
        (None, "")
    } else {
        (Some(now_utc()), by)
    };
    const SQL: &str = "UPDATE match_reviews SET status = $4, decided_at = $5, decided_by = $6 \
        WHERE municipality_id = $1 AND id = $2 AND status = $3";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(at)
        .bind(by)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// Donors inside a transaction

/// A donor read inside a transaction (merge decisions).
pub async fn donor_in_tx(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<Donor>> {
    let sql = format!("SELECT {DONOR_COLUMNS} FROM donors WHERE municipality_id = $1 AND id = $2");
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, Donor>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?))
}

/// Donors by id (any state), in no particular order.
pub async fn donors_by_ids(db: &Db, tenant: MunicipalityId, ids: &[Uuid]) -> DbResult<Vec<Donor>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(IN_CHUNK) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let list = chunk
            .iter()
            .map(|id| args.uuid(*id))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {DONOR_COLUMNS} FROM donors WHERE municipality_id = {t} AND id IN ({list})"
        );
        let rows = with_db!(db, |pool| bind_args!(
            sqlx::query_as::<_, Donor>(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(pool)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Number of donations of each of `ids` (ids without donations are absent).
pub async fn donation_counts(
    db: &Db,
    tenant: MunicipalityId,
    ids: &[Uuid],
) -> DbResult<Vec<(Uuid, i64)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let list = chunk
            .iter()
            .map(|id| args.uuid(*id))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT donor_id, COUNT(*) FROM donations WHERE municipality_id = {t} AND donor_id IN ({list}) GROUP BY donor_id"
        );
        let rows: Vec<(Uuid, i64)> = with_db!(db, |pool| bind_args!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(pool)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Merges

/// What a merge moved, stored as JSON in `donor_merges.moved` so that an undo moves exactly
/// these rows back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// Donations whose `donor_id` went from the merged donor to the kept one.
    pub donations: Vec<Uuid>,
    /// `donor_sources` rows moved the same way.
    pub sources: Vec<Uuid>,
    /// The `donor_sources` row added to the kept donor to record the merge (removed on undo).
    #[serde(default)]
    pub marker: Option<Uuid>,
    /// The review the merge decided, if it came from the queue (back to pending on undo).
    #[serde(default)]
    pub review: Option<Uuid>,
}

/// A merge of two donors.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonorMerge {
    pub id: Uuid,
    pub kept_id: Uuid,
    pub merged_id: Uuid,
    /// JSON [`Moved`].
    pub moved: String,
    pub merged_at: OffsetDateTime,
    pub merged_by: String,
    pub undone_at: Option<OffsetDateTime>,
    pub undone_by: String,
}

impl DonorMerge {
    pub fn moved(&self) -> DbResult<Moved> {
        serde_json::from_str(&self.moved)
            .map_err(|e| DbError::Corrupt(format!("donor_merges.moved: {e}")))
    }
}

const MERGE_COLUMNS: &str =
    "id, kept_id, merged_id, moved, merged_at, merged_by, undone_at, undone_by";

/// Marks `merged` as merged into `kept`, only if it is not merged already (returns false otherwise).
pub async fn set_merged_into(
    tx: &mut Tx,
    tenant: MunicipalityId,
    merged: Uuid,
    kept: Uuid,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE donors SET merged_into_id = $3, updated_at = $4 \
        WHERE municipality_id = $1 AND id = $2 AND merged_into_id IS NULL";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(merged)
        .bind(kept)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Clears `merged_into_id` of `merged` if it points at `kept` (returns false otherwise).
pub async fn clear_merged_into(
    tx: &mut Tx,
    tenant: MunicipalityId,
    merged: Uuid,
    kept: Uuid,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE donors SET merged_into_id = NULL, updated_at = $4 \
        WHERE municipality_id = $1 AND id = $2 AND merged_into_id = $3";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(merged)
        .bind(kept)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Takes the row lock of an unmerged donor (PostgreSQL: until commit; SQLite serialises writers
/// anyway). Returns false when the donor does not exist or is merged.
pub async fn lock_unmerged(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<bool> {
    const SQL: &str = "UPDATE donors SET updated_at = updated_at \
        WHERE municipality_id = $1 AND id = $2 AND merged_into_id IS NULL";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// Moves every donation of `from` to `to`; returns the moved ids.
pub async fn move_all_donations(
    tx: &mut Tx,
    tenant: MunicipalityId,
    from: Uuid,
    to: Uuid,
) -> DbResult<Vec<Uuid>> {
    const SQL: &str = "UPDATE donations SET donor_id = $3, updated_at = $4 \
        WHERE municipality_id = $1 AND donor_id = $2 RETURNING id";
    let mut ids: Vec<Uuid> = with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .bind(now_utc())
        .fetch_all(conn)
        .await?);
    ids.sort_unstable();
    Ok(ids)
}

/// Moves every source record of `from` to `to`; returns the moved ids.
pub async fn move_all_sources(
    tx: &mut Tx,
    tenant: MunicipalityId,
    from: Uuid,
    to: Uuid,
) -> DbResult<Vec<Uuid>> {
    const SQL: &str = "UPDATE donor_sources SET donor_id = $3 WHERE municipality_id = $1 AND donor_id = $2 RETURNING id";
    let mut ids: Vec<Uuid> = with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?);
    ids.sort_unstable();
    Ok(ids)
}

/// Which table [`move_back`] works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovedTable {
    Donations,
    DonorSources,
}

/// Moves exactly the rows `ids` of `table` from donor `from` back to donor `to`. Returns how many
/// rows moved: fewer than `ids.len()` means some of them no longer belong to `from`.
pub async fn move_back(
    tx: &mut Tx,
    tenant: MunicipalityId,
    table: MovedTable,
    ids: &[Uuid],
    from: Uuid,
    to: Uuid,
) -> DbResult<u64> {
    let mut moved = 0;
    for chunk in ids.chunks(IN_CHUNK) {
        let mut args = Args::new();
        let t = args.uuid(tenant.0);
        let f = args.uuid(from);
        let d = args.uuid(to);
        let list = chunk
            .iter()
            .map(|id| args.uuid(*id))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = match table {
            MovedTable::Donations => {
                let now = args.timestamp(now_utc());
                format!(
                    "UPDATE donations SET donor_id = {d}, updated_at = {now} \
                     WHERE municipality_id = {t} AND donor_id = {f} AND id IN ({list})"
                )
            }
            MovedTable::DonorSources => format!(
                "UPDATE donor_sources SET donor_id = {d} WHERE municipality_id = {t} AND donor_id = {f} AND id IN ({list})"
            ),
        };
        moved += with_tx!(tx, |conn| bind_args!(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            args
        )
        .execute(conn)
        .await?
        .rows_affected());
    }
    Ok(moved)
}

/// Deletes one `donor_sources` row (the marker of an undone merge).
pub async fn delete_source(tx: &mut Tx, tenant: MunicipalityId, id: Uuid) -> DbResult<()> {
    const SQL: &str = "DELETE FROM donor_sources WHERE municipality_id = $1 AND id = $2";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Records a merge.
pub async fn insert_merge(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    kept: Uuid,
    merged: Uuid,
    moved: &Moved,
    by: &str,
) -> DbResult<()> {
    let moved = serde_json::to_string(moved).map_err(|e| DbError::Corrupt(e.to_string()))?;
    crate::dialect::bulk_insert(
        tx,
        "donor_merges",
        &[
            "id",
            "municipality_id",
            "kept_id",
            "merged_id",
            "moved",
            "merged_at",
            "merged_by",
            "undone_by",
        ],
        vec![vec![
            Arg::Uuid(id),
            Arg::Uuid(tenant.0),
            Arg::Uuid(kept),
            Arg::Uuid(merged),
            Arg::Text(moved),
            Arg::Timestamp(now_utc()),
            Arg::Text(by.to_string()),
            Arg::Text(String::new()),
        ]],
        "",
    )
    .await?;
    Ok(())
}

/// One merge, inside a transaction.
pub async fn get_merge(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<DonorMerge>> {
    let sql =
        format!("SELECT {MERGE_COLUMNS} FROM donor_merges WHERE municipality_id = $1 AND id = $2");
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, DonorMerge>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(conn)
    .await?))
}

/// Marks a merge undone; returns false when it already was.
pub async fn mark_undone(
    tx: &mut Tx,
    tenant: MunicipalityId,
    id: Uuid,
    by: &str,
) -> DbResult<bool> {
    const SQL: &str = "UPDATE donor_merges SET undone_at = $3, undone_by = $4 \
        WHERE municipality_id = $1 AND id = $2 AND undone_at IS NULL";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(now_utc())
        .bind(by)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(n == 1)
}

/// The merges of a municipality, newest first.
pub async fn merges(
    db: &Db,
    tenant: MunicipalityId,
    page: u32,
    per_page: u32,
) -> DbResult<Page<DonorMerge>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 200);
    let cap = crate::donors::TOTAL_CAP;
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM donor_merges WHERE municipality_id = $1 LIMIT {}) t",
        cap + 1
    );
    let total: i64 = with_db!(db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        count_sql
    ))
    .bind(tenant.0)
    .fetch_one(pool)
    .await?);
    let offset = (page as i64 - 1) * per_page as i64;
    let sql = format!(
        "SELECT {MERGE_COLUMNS} FROM donor_merges WHERE municipality_id = $1 \
         ORDER BY merged_at DESC, id DESC LIMIT {per_page} OFFSET {offset}"
    );
    let items = with_db!(db, |pool| sqlx::query_as::<_, DonorMerge>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?);
    Ok(Page {
        items,
        page,
        per_page,
        total: total.min(cap),
        total_capped: total > cap,
    })
}

/// Merges in which the donor was kept or merged, newest first.
pub async fn merges_for_donor(
    db: &Db,
    tenant: MunicipalityId,
    donor_id: Uuid,
) -> DbResult<Vec<DonorMerge>> {
    let sql = format!(
        "SELECT {MERGE_COLUMNS} FROM donor_merges WHERE municipality_id = $1 AND (kept_id = $2 OR merged_id = $2) \
         ORDER BY merged_at DESC, id DESC"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, DonorMerge>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(donor_id)
    .fetch_all(pool)
    .await?))
}

/// Writes one `donation_changes` row per donation (same summary and fields), in bulk.
pub async fn record_donor_changes(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_ids: &[Uuid],
    source: &str,
    actor: &str,
    summary: &str,
    fields: &serde_json::Value,
) -> DbResult<()> {
    let at = now_utc();
    let fields = fields.to_string();
    let rows = donation_ids
        .iter()
        .map(|id| {
            vec![
                Arg::Uuid(new_id()),
                Arg::Uuid(tenant.0),
                Arg::Uuid(*id),
                Arg::Timestamp(at),
                Arg::Text(source.to_string()),
                Arg::Text(actor.to_string()),
                Arg::Text(summary.to_string()),
                Arg::Text(fields.clone()),
            ]
        })
        .collect();
    crate::dialect::bulk_insert(
        tx,
        "donation_changes",
        &[
            "id",
            "municipality_id",
            "donation_id",
            "at",
            "source",
            "actor",
            "summary",
            "fields",
        ],
        rows,
        "",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::donors::{self, NewDonor};
    use crate::municipalities::{self, NewMunicipality};
    use crate::testing::test_db;

    /// The candidate look-ups must probe an index with their key columns (the name of a postal
    /// code + name pair is compared inside the postal-code index), whatever the table size:
    /// a walk over the city's donors per chunk made a 1,000,000-row import quadratic. SQLite
    /// (without statistics) estimates from the table's size, so the table gets rows first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn candidate_lookups_probe_indexes_on_sqlite() {
        let db = test_db().await;
        let Db::Sqlite(pool) = &db.db else {
            return; // PostgreSQL plans by statistics; its figures are in the bench.
        };
        let tenant = municipalities::insert(
            &db,
            &NewMunicipality {
                code: "041009".into(),
                name: "仙台市".into(),
                prefecture_code: 4,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .tenant();
        let now = now_utc();
        let rows: Vec<Vec<Arg>> = (0..20_000)
            .map(|i| {
                let d = NewDonor {
                    family_name: format!("山田{i}"),
                    given_name: "太郎".into(),
                    family_kana: format!("ヤマダ{i}"),
                    given_kana: "タロウ".into(),
                    postal_code: format!("{:07}", 1_000_000 + i * 37),
                    phone: format!("090{:08}", i),
                    ..Default::default()
                };
                donors::insert_row(new_id(), tenant, &d, now)
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        crate::dialect::bulk_insert(&mut tx, "donors", &donors::INSERT_COLUMNS, rows, "")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let values: Vec<String> = (0..300)
            .map(|i| format!("{:07}{PAIR_SEP}ヤマダ{i}", 1_000_000 + i * 37))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        for (key, probe) in [
            (CandidateKey::PostalKana, "postal_code=? AND kana_norm=?"),
            // The name is compared within the postal code's index entries.
            (
                CandidateKey::PostalName,
                "donors_active_postal_keys (municipality_id=? AND postal_code=?)",
            ),
            (CandidateKey::Phone, "phone_digits=?"),
            (CandidateKey::Kana, "kana_norm=?"),
        ] {
            let (sql, args) = candidate_query(tenant, key, &refs);
            let plan: Vec<(i64, i64, i64, String)> = bind_args!(
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))),
                args
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let text: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
            assert!(
                text.iter()
                    .any(|l| l.contains("USING INDEX") && l.contains(probe)),
                "{key:?} does not probe ({probe}): {text:?}"
            );
        }
    }
}
