//! `furusato export donations|donors` (CSV on stdout, audited as `cli:<user>`) and
//! `furusato bench export` (throughput and peak memory of a large donation export).
//!
//! The bench generates N donations with the synthetic generator into a throw-away SQLite
//! database (or uses `--database URL` as it is), then runs `furusato export donations` in a child
//! process with stdout to /dev/null, so that the child's peak resident memory (VmHWM, which the
//! child reports on stderr with the hidden `--stats` flag) measures the export alone.

use std::process::{ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use furusato_db::Db;
use furusato_db::audit::AuditEntry;
use furusato_db::donations::DonationFilter;
use furusato_db::donors::DonorSearch;
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_domain::{Channel, PaymentStatus, Portal, jst};
use furusato_intake::export::{
    self, ChunkSink, Encoding, ExportError, ExportRequest, ExportTarget,
};

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Donations with the given filters, as CSV on stdout.
    Donations(DonationExportArgs),
    /// Donors (all unmerged donors, or those matching the criteria), as CSV on stdout.
    Donors(DonorExportArgs),
}

/// Options of every export.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    /// cp932 (Shift_JIS for Excel; characters outside CP932 become 〓 and are counted) or utf8 (with BOM).
    #[arg(long, default_value = "cp932")]
    pub encoding: String,
    /// Why the data is exported (recorded in the audit trail).
    #[arg(long)]
    pub reason: Option<String>,
    /// Print a JSON line with rows, time and peak memory to stderr at the end (used by the bench).
    #[arg(long, hide = true)]
    pub stats: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DonationExportArgs {
    #[command(flatten)]
    pub common: ExportArgs,
    /// 寄附日 from (inclusive), e.g. 2026-04-01.
    #[arg(long)]
    pub from: Option<String>,
    /// 寄附日 to (inclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Portal code (rakuten, choice, satofull, furunavi, au_pay, ana, other) or `direct`.
    #[arg(long)]
    pub portal: Option<String>,
    /// Payment status: unpaid, paid, refunded, cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// Channel: portal, bank_transfer, postal_transfer, payment_slip, counter, other.
    #[arg(long)]
    pub channel: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DonorExportArgs {
    #[command(flatten)]
    pub common: ExportArgs,
    /// フリガナ prefix.
    #[arg(long)]
    pub kana: Option<String>,
    /// Name prefix.
    #[arg(long)]
    pub name: Option<String>,
    /// Postal code (or its leading digits).
    #[arg(long)]
    pub postal_code: Option<String>,
    /// Phone number (or its leading digits).
    #[arg(long)]
    pub phone: Option<String>,
    /// 寄附番号 or a portal's order number.
    #[arg(long)]
    pub donation_number: Option<String>,
    /// Include donors merged into another donor.
    #[arg(long)]
    pub include_merged: bool,
}

#[derive(Args, Debug)]
pub struct BenchExportArgs {
    /// Number of donations to generate and export.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Random seed of the synthetic data.
    #[arg(long, default_value_t = 20_261_126)]
    pub seed: u64,
    /// Municipality code (generated, or looked up with --database).
    #[arg(long, default_value = "041009")]
    pub municipality: String,
    /// Keep the generated database (its path is printed) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

/// The reason recorded when `--reason` is not given.
const NO_REASON: &str = "command-line export (no reason given)";

fn donation_filter(a: &DonationExportArgs) -> anyhow::Result<DonationFilter> {
    let date = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<time::Date>> {
        v.as_deref()
            .map(|s| jst::parse_date(s).map_err(|e| anyhow::anyhow!("{flag} {s:?}: {e}")))
            .transpose()
    };
    let from = date("--from", &a.from)?;
    let to = date("--to", &a.to)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        bail!("--from must not be after --to");
    }
    let portal = match a.portal.as_deref() {
        None => None,
        Some("direct") => Some("direct".to_string()),
        Some(p) => Some(
            Portal::parse(p)
                .map_err(|_| anyhow::anyhow!("--portal {p:?} is not a portal (rakuten, choice, satofull, furunavi, au_pay, ana, other, direct)"))?
                .as_str()
                .to_string(),
        ),
    };
    let payment_status = a
        .status
        .as_deref()
        .map(|s| {
            PaymentStatus::parse(s)
                .map(|s| s.as_str().to_string())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--status {s:?} is not a payment status (unpaid, paid, refunded, cancelled)"
                    )
                })
        })
        .transpose()?;
    let channel = a
        .channel
        .as_deref()
        .map(|c| {
            Channel::parse(c).map(|c| c.as_str().to_string()).map_err(|_| {
                anyhow::anyhow!(
                    "--channel {c:?} is not a channel (portal, bank_transfer, postal_transfer, payment_slip, counter, other)"
                )
            })
        })
        .transpose()?;
    Ok(DonationFilter {
        from,
        to,
        portal,
        payment_status,
        channel,
        donor_id: None,
    })
}

fn donor_search(a: &DonorExportArgs) -> DonorSearch {
    DonorSearch {
        kana: a.kana.clone(),
        name: a.name.clone(),
        postal_code: a.postal_code.clone(),
        phone: a.phone.clone(),
        donation_number: a.donation_number.clone(),
        include_merged: a.include_merged,
    }
}

/// `furusato export …`
pub async fn run(g: &Global, cmd: ExportCommand) -> anyhow::Result<ExitCode> {
    let (common, target) = match &cmd {
        ExportCommand::Donations(a) => (
            a.common.clone(),
            ExportTarget::Donations(donation_filter(a)?),
        ),
        ExportCommand::Donors(a) => (a.common.clone(), ExportTarget::Donors(donor_search(a))),
    };
    let encoding = Encoding::parse(&common.encoding)
        .ok_or_else(|| anyhow::anyhow!("--encoding {:?}: use cp932 or utf8", common.encoding))?;
    let started = Instant::now();
    let db = crate::config::open_migrated(g).await?;
    let city = crate::commands::municipality_by_code(&db, &common.municipality).await?;
    let actor = AuditEntry::cli(Some(city.tenant()), "export");
    let reason = common
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| NO_REASON.to_string());
    let request = ExportRequest {
        target,
        encoding,
        reason,
    };
    let mut sink = StdoutSink;
    let result = export::run(&db, city.tenant(), &actor, request, &mut sink).await;
    db.close().await;
    let summary = match result {
        Ok(s) => s,
        Err(ExportError::Sink(e)) => bail!("export aborted: cannot write to standard output ({e})"),
        Err(e) => return Err(anyhow::Error::new(e).context("export failed")),
    };
    if summary.unmappable > 0 {
        eprintln!(
            "warning: {} character(s) cannot be written in CP932 and were replaced by 〓; use --encoding utf8 to keep them",
            summary.unmappable
        );
    }
    if common.stats {
        let (hwm, rss) = memory_kb();
        eprintln!(
            "{}",
            serde_json::json!({
                "export_stats": {
                    "rows": summary.rows,
                    "bytes": summary.bytes,
                    "unmappable": summary.unmappable,
                    "export_ms": summary.elapsed_ms,
                    "process_ms": started.elapsed().as_millis() as u64,
                    "vm_hwm_kb": hwm,
                    "vm_rss_kb": rss,
                }
            })
        );
    } else {
        eprintln!(
            "exported {} row(s), {} bytes ({})",
            summary.rows,
            summary.bytes,
            encoding.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Standard output as a [`ChunkSink`]: each chunk is written and flushed on a blocking-allowed
/// worker thread (the CLI runs on the multi-threaded runtime).
struct StdoutSink;

impl ChunkSink for StdoutSink {
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        tokio::task::block_in_place(|| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&chunk)?;
            out.flush()
        })
    }
}

/// (VmHWM, VmRSS) of this process in KiB, from /proc/self/status (0 where unavailable).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

// ---------------------------------------------------------------------------------------------
// Bench

/// `furusato bench export --rows N`
pub async fn bench(g: &Global, args: BenchExportArgs) -> anyhow::Result<ExitCode> {
    if args.rows == 0 {
        bail!("--rows must be at least 1");
    }
    let (url, temp_dir) = match g.database.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => {
            println!(
                "database: {} (existing data, nothing generated)",
                crate::config::redact_url(url)
            );
            (url.to_string(), None)
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("furusato-bench-export-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            (url, Some(dir))
        }
    };
    let outcome = bench_inner(&args, &url, temp_dir.is_some()).await;
    if let Some(dir) = &temp_dir {
        if args.keep {
            println!("kept the generated database: {url}");
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    outcome
}

async fn bench_inner(
    args: &BenchExportArgs,
    url: &str,
    generate_data: bool,
) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if generate_data {
        println!(
            "furusato bench export: {} generated donations, CP932, {cores} core(s)",
            args.rows
        );
    } else {
        println!(
            "furusato bench export: every donation of {} in that database, CP932, {cores} core(s)",
            args.municipality
        );
    }
    if generate_data {
        let db = Db::connect(url)
            .await
            .context("cannot open the bench database")?;
        db.migrate().await.context("migration failed")?;
        let t = Instant::now();
        let (donors_n, donations_n) = generate(&db, args).await?;
        println!(
            "generated {donors_n} donors and {donations_n} donations in {:.1} s (not part of the measurement)",
            t.elapsed().as_secs_f64()
        );
        db.close().await;
    }

    let exe = std::env::current_exe().context("cannot find the furusato executable")?;
    let devnull = std::fs::File::create("/dev/null").context("cannot open /dev/null")?;
    let wall = Instant::now();
    let mut command = std::process::Command::new(&exe);
    command
        .args([
            "--database",
            url,
            "export",
            "donations",
            "--municipality",
            &args.municipality,
        ])
        .args([
            "--encoding",
            "cp932",
            "--reason",
            "benchmark (furusato bench export)",
            "--stats",
        ])
        .env("FURUSATO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::from(devnull))
        .stderr(Stdio::piped());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .context("the export child process could not be awaited")?
        .context("cannot run the export child process")?;
    let wall = wall.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("the export failed ({}): {}", output.status, stderr.trim());
    }
    let stats = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("export_stats").cloned())
        .ok_or_else(|| {
            anyhow::anyhow!("the export child printed no statistics: {}", stderr.trim())
        })?;
    let rows = stats["rows"].as_u64().unwrap_or(0);
    let export_ms = stats["export_ms"].as_u64().unwrap_or(0).max(1);
    let hwm_mb = stats["vm_hwm_kb"].as_u64().unwrap_or(0) as f64 / 1024.0;
    let bytes_mb = stats["bytes"].as_u64().unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let rate = rows as f64 / (export_ms as f64 / 1000.0);
    println!("rows exported:        {rows}");
    println!("CSV size:             {bytes_mb:.1} MiB");
    println!(
        "export time:          {:.2} s (stream from the database to /dev/null)",
        export_ms as f64 / 1000.0
    );
    println!(
        "process wall time:    {:.2} s (start, migrations check, export, audit)",
        wall.as_secs_f64()
    );
    println!("throughput:           {rate:.0} rows/s");
    println!("peak memory (VmHWM):  {hwm_mb:.1} MiB (export process)");
    if generate_data && rows as usize != args.rows {
        bail!("exported {rows} rows, expected {}", args.rows);
    }
    let projected_s = 1_000_000.0 / rate.max(1.0);
    println!(
        "targets: 1,000,000 rows in < 30 s (projected {projected_s:.1} s: {}), peak < 200 MB ({})",
        if projected_s < 30.0 { "ok" } else { "MISSED" },
        if hwm_mb < 200.0 { "ok" } else { "MISSED" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a synthetic municipality with `args.rows` donations, with the demo's generator.
async fn generate(db: &Db, args: &BenchExportArgs) -> anyhow::Result<(usize, usize)> {
    let code = furusato_domain::LocalGovCode::parse(&args.municipality)
        .map_err(|e| anyhow::anyhow!("--municipality {:?}: {e}", args.municipality))?;
    let city = municipalities::insert(
        db,
        &NewMunicipality {
            code: code.as_str().to_string(),
            name: "ベンチ市".into(),
            prefecture_code: code.prefecture().code() as i64,
            mayor_title: "ベンチ市長".into(),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await?;
    let keys = furusato_vault::Keyring::generate()?;
    let counts = crate::demo::generate(
        db,
        &keys,
        &city,
        args.rows,
        args.seed,
        furusato_synth::AddressBook::builtin(),
    )
    .await?;
    furusato_db::dialect::analyze(db).await?;
    Ok(counts)
}
