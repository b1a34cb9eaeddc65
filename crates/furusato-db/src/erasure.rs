//! Erasure of data past retention (`furusato erase`) and the データ消去報告書 it leaves.
//!
//! For each erasable class ([`DataClass::ERASABLE`]) the run computes the limit from the
//! municipality's policy ([`crate::retention`]) and deletes, in **one transaction per class**,
//! everything past it, with an `erase.class` audit entry in the same transaction. Then it stores
//! the report (`erasure_reports`, summary JSON) together with an `erase.run` audit entry. A dry run
//! executes the same statements in one transaction that it rolls back, so its counts are exactly
//! what a real run would erase at that moment; it writes nothing.
//!
//! Methods:
//! - **行削除**: the rows are deleted.
//! - **暗号消去（暗号文の削除）**: a 個人番号 exists only as AES-256-GCM ciphertext in
//!   `vault_entries`; deleting that row deletes the only copy of the ciphertext, which is what erases
//!   the number. The data keys stay (they protect every other entry), so erasure is per entry.
//!   Backups taken before the run still hold the ciphertext: they are erased when the backups
//!   expire (the operator's backup rotation must not exceed the retention margin), and a restored
//!   backup must be followed by another `furusato erase` run.
//!
//! The audit trail is never erased: entries refer to records by id and survive their deletion.
//!
//! Tables that reference donations or donors must be listed here when they are added (a foreign
//! key left out makes the class's transaction fail and roll back, with nothing erased).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::retention::{self, DataClass};
use crate::{Db, DbError, DbResult, MunicipalityId, Tx, new_id, now_utc, with_db, with_tx};

/// 行削除
pub const METHOD_ROWS: &str = "行削除";
/// 暗号消去（暗号文の削除）
pub const METHOD_CRYPTO: &str = "暗号消去（暗号文の削除）";

/// What to erase and who asks.
#[derive(Clone, Debug)]
pub struct EraseOptions {
    /// The day the retention periods are measured to (normally today, JST).
    pub as_of: Date,
    /// Count only; change nothing.
    pub dry_run: bool,
}

/// One line of the report: a kind of record of a class, how many, how.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErasureLine {
    /// `DataClass::as_str()`
    pub class: String,
    /// 寄附記録, 個人番号 …
    pub class_label: String,
    /// What was erased: 寄附, 寄附者, 個人番号 …
    pub target: String,
    pub count: i64,
    /// [`METHOD_ROWS`] or [`METHOD_CRYPTO`]
    pub method: String,
    /// The keep period applied ("10年").
    pub keep: String,
    /// Which records were past retention, in words.
    pub criterion: String,
}

/// The stored summary of a run (`erasure_reports.summary`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErasureSummary {
    /// YYYY-MM-DD
    pub as_of: String,
    pub dry_run: bool,
    pub lines: Vec<ErasureLine>,
}

impl ErasureSummary {
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.count).sum()
    }

    /// The count of one target of one class (0 when absent).
    pub fn count(&self, class: DataClass, target: &str) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.class == class.as_str() && l.target == target)
            .map(|l| l.count)
            .sum()
    }
}

/// A データ消去報告書.
#[derive(Clone, Debug, Serialize)]
pub struct ErasureReport {
    /// The stored report's id (a fresh id, not stored, for a dry run).
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub executed_at: OffsetDateTime,
    /// Who ran it: `cli:<os user>` or a login.
    pub executed_by: String,
    pub summary: ErasureSummary,
}

/// Targets (the `target` of [`ErasureLine`]).
pub mod target {
    pub const MY_NUMBER: &str = "個人番号";
    pub const MY_NUMBER_OF_DELETED_DONORS: &str = "個人番号（削除した寄附者のもの）";
    pub const DONATIONS: &str = "寄附";
    pub const ITEMS: &str = "返礼品明細";
    pub const SHIP_TOS: &str = "送付先";
    pub const CHANGES: &str = "寄附の変更履歴";
    pub const SOURCE_RECORDS: &str = "取込元データ";
    pub const PAYMENTS: &str = "入金記録";
    pub const DONORS: &str = "寄附者";
    pub const DONOR_SOURCES: &str = "寄附者の取込履歴";
    pub const MATCH_REVIEWS: &str = "名寄せ候補・統合履歴";
    pub const IMPORTS: &str = "取込ファイル";
}

/// Runs the erasure for one municipality (see the module doc). `actor` names who runs it (its
/// action is replaced). Returns the report (stored unless `dry_run`).
pub async fn run(
    db: &Db,
    tenant: MunicipalityId,
    opts: &EraseOptions,
    actor: &AuditEntry,
) -> DbResult<ErasureReport> {
    let policies = retention::policies(db, tenant).await?;
    let classes: Vec<(DataClass, i64)> = DataClass::ERASABLE
        .into_iter()
        .filter_map(|c| {
            policies
                .iter()
                .find(|p| p.class == c)
                .and_then(|p| p.keep_days)
                .map(|d| (c, d))
        })
        .collect();
    let mut lines = Vec::new();
    if opts.dry_run {
        // One transaction over every class, rolled back: the counts are those of a real run
        // (where an earlier class's deletions change what a later class finds).
        let mut tx = db.begin().await?;
        for &(class, keep_days) in &classes {
            lines.extend(erase_class(&mut tx, tenant, class, opts.as_of, keep_days).await?);
        }
        tx.rollback().await?;
    } else {
        for &(class, keep_days) in &classes {
            let mut tx = db.begin().await?;
            let class_lines = erase_class(&mut tx, tenant, class, opts.as_of, keep_days).await?;
            let mut e = actor.clone();
            e.municipality_id = Some(tenant);
            e.action = "erase.class".into();
            e.target_kind = "data_class".into();
            e.target_id = class.as_str().into();
            e.detail = serde_json::json!({
                "as_of": furusato_domain::jst::format_date_iso(opts.as_of),
                "keep_days": keep_days,
                "erased": class_lines.iter().map(|l| serde_json::json!({"target": l.target, "count": l.count, "method": l.method})).collect::<Vec<_>>(),
            });
            audit::append(&mut tx, &e).await?;
            tx.commit().await?;
            lines.extend(class_lines);
        }
    }
    let report = ErasureReport {
        id: new_id(),
        municipality_id: tenant.0,
        executed_at: now_utc(),
        executed_by: actor.user_login.clone(),
        summary: ErasureSummary {
            as_of: furusato_domain::jst::format_date_iso(opts.as_of),
            dry_run: opts.dry_run,
            lines,
        },
    };
    if !opts.dry_run {
        let summary =
            serde_json::to_string(&report.summary).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let mut tx = db.begin().await?;
        const SQL: &str = "INSERT INTO erasure_reports (id, municipality_id, executed_at, executed_by, summary, created_at) \
            VALUES ($1, $2, $3, $4, $5, $3)";
        with_tx!(&mut tx, |conn| sqlx::query(SQL)
            .bind(report.id)
            .bind(tenant.0)
            .bind(report.executed_at)
            .bind(&report.executed_by)
            .bind(&summary)
            .execute(conn)
            .await?
            .rows_affected());
        let mut e = actor.clone();
        e.municipality_id = Some(tenant);
        e.action = "erase.run".into();
        e.target_kind = "erasure_report".into();
        e.target_id = report.id.to_string();
        e.detail = serde_json::json!({
            "as_of": report.summary.as_of,
            "total": report.summary.total(),
            "erased": report.summary.lines.iter().map(|l| serde_json::json!({"class": l.class, "target": l.target, "count": l.count})).collect::<Vec<_>>(),
        });
        audit::append(&mut tx, &e).await?;
        tx.commit().await?;
    }
    Ok(report)
}

async fn erase_class(
    tx: &mut Tx,
    tenant: MunicipalityId,
    class: DataClass,
    as_of: Date,
    keep_days: i64,
) -> DbResult<Vec<ErasureLine>> {
    match class {
        DataClass::MyNumber => erase_my_numbers(tx, tenant, as_of, keep_days).await,
        DataClass::Donations => erase_donations(tx, tenant, as_of, keep_days).await,
        DataClass::Imports => erase_imports(tx, tenant, as_of, keep_days).await,
        DataClass::AuditLog => Ok(Vec::new()),
    }
}

fn line(
    class: DataClass,
    target: &str,
    count: u64,
    method: &str,
    keep_days: i64,
    criterion: &str,
) -> ErasureLine {
    ErasureLine {
        class: class.as_str().into(),
        class_label: class.label_ja().into(),
        target: target.into(),
        count: count as i64,
        method: method.into(),
        keep: retention::describe_days(keep_days),
        criterion: criterion.into(),
    }
}

/// Runs one statement with the given binds; returns the affected rows.
macro_rules! exec {
    ($tx:expr, $sql:expr $(, $bind:expr)*) => {
        with_tx!($tx, |conn| sqlx::query(sqlx::AssertSqlSafe($sql)) $(.bind($bind))* .execute(conn).await?.rows_affected())
    };
}

/// 個人番号: vault entries of donors whose latest donation is past the limit (and that were
/// registered before it).
async fn erase_my_numbers(
    tx: &mut Tx,
    tenant: MunicipalityId,
    as_of: Date,
    keep_days: i64,
) -> DbResult<Vec<ErasureLine>> {
    let limit = retention::my_number_limit(as_of, keep_days);
    let limit_ts = retention::start_of_day_utc(limit);
    let sql = "DELETE FROM vault_entries WHERE municipality_id = $1 AND purpose = 'my_number' AND owner_kind = 'donor' \
        AND created_at < $2 AND NOT EXISTS (SELECT 1 FROM donations x WHERE x.municipality_id = $1 \
        AND x.donor_id = vault_entries.owner_id AND COALESCE(x.received_on, x.donated_on) >= $3)";
    let n = exec!(tx, sql, tenant.0, limit_ts, limit);
    let criterion = format!(
        "最後の寄附が{}より前の寄附者（{}以降に登録されたものを除く）",
        furusato_domain::jst::format_date_ja(limit),
        furusato_domain::jst::format_date_ja(limit)
    );
    Ok(vec![line(
        DataClass::MyNumber,
        target::MY_NUMBER,
        n,
        METHOD_CRYPTO,
        keep_days,
        &criterion,
    )])
}

/// 寄附記録: donations past the limit with everything that belongs to them, then donors left
/// without donations that were created before the limit.
async fn erase_donations(
    tx: &mut Tx,
    tenant: MunicipalityId,
    as_of: Date,
    keep_days: i64,
) -> DbResult<Vec<ErasureLine>> {
    use target::*;
    let class = DataClass::Donations;
    let limit = retention::donation_limit(as_of, keep_days);
    let limit_ts = retention::start_of_day_utc(limit);
    let t = tenant.0;
    const OLD: &str = "(SELECT id FROM donations WHERE municipality_id = $1 AND COALESCE(received_on, donated_on) < $2)";
    let items = exec!(
        tx,
        format!("DELETE FROM donation_items WHERE municipality_id = $1 AND donation_id IN {OLD}"),
        t,
        limit
    );
    let ship_tos = exec!(
        tx,
        format!("DELETE FROM ship_tos WHERE municipality_id = $1 AND donation_id IN {OLD}"),
        t,
        limit
    );
    let changes = exec!(
        tx,
        format!("DELETE FROM donation_changes WHERE municipality_id = $1 AND donation_id IN {OLD}"),
        t,
        limit
    );
    let mut sources = exec!(
        tx,
        format!("DELETE FROM source_records WHERE municipality_id = $1 AND donation_id IN {OLD}"),
        t,
        limit
    );
    let mut payments = exec!(
        tx,
        format!("DELETE FROM payment_records WHERE municipality_id = $1 AND donation_id IN {OLD}"),
        t,
        limit
    );
    // Payment lines that never matched a donation, paid before the limit.
    payments += exec!(
        tx,
        "DELETE FROM payment_records WHERE municipality_id = $1 AND donation_id IS NULL AND paid_on < $2".to_string(),
        t,
        limit
    );
    let donations = exec!(
        tx,
        "DELETE FROM donations WHERE municipality_id = $1 AND COALESCE(received_on, donated_on) < $2".to_string(),
        t,
        limit
    );

    // Donors without any donation left, created before the limit.
    const GONE: &str = "(SELECT id FROM donors d WHERE d.municipality_id = $1 AND d.created_at < $2 \
        AND NOT EXISTS (SELECT 1 FROM donations x WHERE x.donor_id = d.id))";
    exec!(
        tx,
        format!(
            "UPDATE donors SET merged_into_id = NULL WHERE municipality_id = $1 AND merged_into_id IN {GONE}"
        ),
        t,
        limit_ts
    );
    let mut reviews = exec!(
        tx,
        format!(
            "DELETE FROM match_reviews WHERE municipality_id = $1 AND (donor_id IN {GONE} OR candidate_id IN {GONE})"
        ),
        t,
        limit_ts
    );
    reviews += exec!(
        tx,
        format!(
            "DELETE FROM donor_merges WHERE municipality_id = $1 AND (kept_id IN {GONE} OR merged_id IN {GONE})"
        ),
        t,
        limit_ts
    );
    let donor_sources = exec!(
        tx,
        format!("DELETE FROM donor_sources WHERE municipality_id = $1 AND donor_id IN {GONE}"),
        t,
        limit_ts
    );
    sources += exec!(
        tx,
        format!("DELETE FROM source_records WHERE municipality_id = $1 AND donor_id IN {GONE}"),
        t,
        limit_ts
    );
    let numbers = exec!(
        tx,
        format!(
            "DELETE FROM vault_entries WHERE municipality_id = $1 AND owner_kind = 'donor' AND owner_id IN {GONE}"
        ),
        t,
        limit_ts
    );
    let donors = exec!(
        tx,
        "DELETE FROM donors WHERE municipality_id = $1 AND created_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM donations x WHERE x.donor_id = donors.id)"
            .to_string(),
        t,
        limit_ts
    );

    let day = furusato_domain::jst::format_date_ja(limit);
    let by_date = format!("受領日（未受領は寄附日）が{day}より前の寄附");
    let of_donations = format!("{by_date}に属するもの");
    let donor_rule = format!("寄附が残っておらず、{day}より前に登録された寄附者");
    Ok(vec![
        line(
            class,
            DONATIONS,
            donations,
            METHOD_ROWS,
            keep_days,
            &by_date,
        ),
        line(class, ITEMS, items, METHOD_ROWS, keep_days, &of_donations),
        line(
            class,
            SHIP_TOS,
            ship_tos,
            METHOD_ROWS,
            keep_days,
            &of_donations,
        ),
        line(
            class,
            CHANGES,
            changes,
            METHOD_ROWS,
            keep_days,
            &of_donations,
        ),
        line(
            class,
            PAYMENTS,
            payments,
            METHOD_ROWS,
            keep_days,
            &format!("{of_donations}、および{day}より前の未照合の入金"),
        ),
        line(
            class,
            SOURCE_RECORDS,
            sources,
            METHOD_ROWS,
            keep_days,
            "消去する寄附・寄附者の取込元データ",
        ),
        line(class, DONORS, donors, METHOD_ROWS, keep_days, &donor_rule),
        line(
            class,
            DONOR_SOURCES,
            donor_sources,
            METHOD_ROWS,
            keep_days,
            "消去する寄附者のもの",
        ),
        line(
            class,
            MATCH_REVIEWS,
            reviews,
            METHOD_ROWS,
            keep_days,
            "消去する寄附者に関するもの",
        ),
        line(
            class,
            MY_NUMBER_OF_DELETED_DONORS,
            numbers,
            METHOD_CRYPTO,
            keep_days,
            "消去する寄附者のもの",
        ),
    ])
}

/// 取込ファイル: imports uploaded before the cutoff (the payment records they produced stay, without
/// the link to the file).
async fn erase_imports(
    tx: &mut Tx,
    tenant: MunicipalityId,
    as_of: Date,
    keep_days: i64,
) -> DbResult<Vec<ErasureLine>> {
    let cutoff = retention::cutoff(as_of, keep_days);
    let cutoff_ts = retention::start_of_day_utc(cutoff);
    let t = tenant.0;
    const OLD: &str = "(SELECT id FROM imports WHERE municipality_id = $1 AND created_at < $2)";
    exec!(
        tx,
        format!(
            "UPDATE payment_records SET import_id = NULL WHERE municipality_id = $1 AND import_id IN {OLD}"
        ),
        t,
        cutoff_ts
    );
    let n = exec!(
        tx,
        "DELETE FROM imports WHERE municipality_id = $1 AND created_at < $2".to_string(),
        t,
        cutoff_ts
    );
    let criterion = format!(
        "{}より前に取り込んだファイル",
        furusato_domain::jst::format_date_ja(cutoff)
    );
    Ok(vec![line(
        DataClass::Imports,
        target::IMPORTS,
        n,
        METHOD_ROWS,
        keep_days,
        &criterion,
    )])
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    municipality_id: Uuid,
    executed_at: OffsetDateTime,
    executed_by: String,
    summary: String,
}

impl TryFrom<ReportRow> for ErasureReport {
    type Error = DbError;
    fn try_from(r: ReportRow) -> DbResult<ErasureReport> {
        Ok(ErasureReport {
            id: r.id,
            municipality_id: r.municipality_id,
            executed_at: r.executed_at,
            executed_by: r.executed_by,
            summary: serde_json::from_str(&r.summary)
                .map_err(|e| DbError::Corrupt(format!("erasure_reports.summary: {e}")))?,
        })
    }
}

/// The municipality's reports, newest first (at most `limit`).
pub async fn list_reports(
    db: &Db,
    tenant: MunicipalityId,
    limit: i64,
) -> DbResult<Vec<ErasureReport>> {
    const SQL: &str = "SELECT id, municipality_id, executed_at, executed_by, summary FROM erasure_reports \
        WHERE municipality_id = $1 ORDER BY executed_at DESC, id DESC LIMIT $2";
    let rows: Vec<ReportRow> = with_db!(db, |pool| sqlx::query_as(SQL)
        .bind(tenant.0)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    rows.into_iter().map(ErasureReport::try_from).collect()
}

/// One report of the municipality.
pub async fn get_report(
    db: &Db,
    tenant: MunicipalityId,
    id: Uuid,
) -> DbResult<Option<ErasureReport>> {
    const SQL: &str = "SELECT id, municipality_id, executed_at, executed_by, summary FROM erasure_reports \
        WHERE municipality_id = $1 AND id = $2";
    let row: Option<ReportRow> = with_db!(db, |pool| sqlx::query_as(SQL)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(ErasureReport::try_from).transpose()
}

/// One CSV field, always quoted (RFC 4180).
fn field(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(&s.replace('"', "\"\""));
    out.push('"');
}

/// The データ消去報告書 as CSV: UTF-8 with BOM (opens in Excel), CRLF, Japanese column names, one
/// row per line of the report plus one row stating that the audit trail is not erased.
pub fn report_csv(report: &ErasureReport, municipality_name: &str) -> Vec<u8> {
    const HEADER: [&str; 11] = [
        "報告書ID",
        "団体名",
        "実施日時",
        "実施者",
        "基準日",
        "区分",
        "データ区分",
        "消去対象",
        "件数",
        "消去方法",
        "保存期間と条件",
    ];
    let kind = if report.summary.dry_run {
        "試行（消去していません）"
    } else {
        "消去実施"
    };
    let executed_at = furusato_domain::jst::format_datetime_ja(report.executed_at);
    let mut out = String::from("\u{feff}");
    let mut row = |cols: [&str; 11]| {
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    };
    row(HEADER);
    let id = report.id.to_string();
    for l in &report.summary.lines {
        let count = l.count.to_string();
        let rule = format!("保存期間{}：{}", l.keep, l.criterion);
        row([
            &id,
            municipality_name,
            &executed_at,
            &report.executed_by,
            &report.summary.as_of,
            kind,
            &l.class_label,
            &l.target,
            &count,
            &l.method,
            &rule,
        ]);
    }
    row([
        &id,
        municipality_name,
        &executed_at,
        &report.executed_by,
        &report.summary.as_of,
        kind,
        DataClass::AuditLog.label_ja(),
        "操作記録",
        "0",
        "消去しない",
        "操作記録は消去の対象外です（この消去の実施も操作記録に残ります）",
    ]);
    out.into_bytes()
}

#[cfg(test)]
mod tests;
