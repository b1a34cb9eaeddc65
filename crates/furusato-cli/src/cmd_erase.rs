//! `furusato erase`: deletes the data of a municipality that is past its retention periods
//! (設定 → 保存期間) and leaves a データ消去報告書 (stored, listed on /admin/erasure, optionally
//! written as CSV). See `furusato_db::erasure` for what each class covers and how.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use furusato_db::audit::AuditEntry;
use furusato_db::erasure::{self, EraseOptions};
use furusato_domain::jst;

use crate::cli::Global;
use crate::commands::municipality_by_code;
use crate::config;

#[derive(Args, Debug)]
pub struct EraseArgs {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    /// Count what would be erased, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Measure the retention periods up to this day (YYYY-MM-DD, JST) [default: today].
    /// A later day than today is accepted with --dry-run only.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also write the erasure report (データ消去報告書) as CSV (UTF-8 with BOM) to this file.
    #[arg(long)]
    pub report_csv: Option<PathBuf>,
}

pub async fn run(g: &Global, args: EraseArgs) -> anyhow::Result<ExitCode> {
    let today = jst::today_jst();
    let as_of = match args.as_of.as_deref() {
        None => today,
        Some(s) => jst::parse_date(s)
            .map_err(|e| anyhow::anyhow!("--as-of {s:?} is not a date (YYYY-MM-DD): {e}"))?,
    };
    if as_of > today && !args.dry_run {
        bail!(
            "--as-of {} is after today: data would be erased before its retention period ends (use a future date with --dry-run only)",
            jst::format_date_iso(as_of)
        );
    }
    let db = config::open_migrated(g).await?;
    let m = municipality_by_code(&db, &args.municipality).await?;
    let actor = AuditEntry::cli(Some(m.tenant()), "erase.run");
    let report = erasure::run(&db, m.tenant(), &EraseOptions { as_of, dry_run: args.dry_run }, &actor)
        .await
        .context("the erasure failed; the class being erased was rolled back, classes already done stay erased (see the audit trail, action erase.class)")?;

    let mode = if args.dry_run {
        "DRY RUN: nothing was changed"
    } else {
        "erased"
    };
    println!(
        "erasure for {} {} as of {} ({mode})",
        m.code,
        m.name,
        jst::format_date_iso(as_of)
    );
    for l in &report.summary.lines {
        println!(
            "  {} {} {:>8}  {}  [{}]",
            pad(&l.class_label, 12),
            pad(&l.target, 32),
            l.count,
            l.method,
            l.keep
        );
    }
    println!("  {} never erased (the audit trail)", pad("操作記録", 12));
    println!(
        "total: {} records {}",
        report.summary.total(),
        if args.dry_run {
            "would be erased"
        } else {
            "erased"
        }
    );
    if !args.dry_run {
        println!(
            "report {} stored (see /admin/erasure), audit entry erase.run written",
            report.id
        );
    }
    if let Some(path) = &args.report_csv {
        let csv = erasure::report_csv(&report, &m.name);
        std::fs::write(path, csv)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `s` followed by spaces up to `width` terminal columns (Japanese characters take two).
fn pad(s: &str, width: usize) -> String {
    let w: usize = s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}
