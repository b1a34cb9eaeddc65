//! `furusato import csv|payments` and `furusato bench csv-import`.
//!
//! Both imports preview by default (nothing is written) and write with `--commit`. They exit with
//! status 1 when the file cannot be read or no row can be imported.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use furusato_domain::Portal;
use furusato_intake::imports::{self, Actor, ImportFailure, ProfileRef, StoredRowError};

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Preview (and with --commit, import) a portal donation CSV.
    Csv(ImportCsvArgs),
    /// Preview (and with --commit, import) a bank / 郵便振替 statement CSV and match its payments
    /// to donations.
    Payments(ImportPaymentsArgs),
}

#[derive(Args, Debug)]
pub struct ImportCsvArgs {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    /// `choice`, `redhorse`, or the name of a saved column mapping (取込調整).
    #[arg(long)]
    pub profile: String,
    /// Portal of the donations when the file does not say (レッドホース layout): rakuten, choice,
    /// satofull, furunavi, au_pay, ana, other.
    #[arg(long)]
    pub portal: Option<String>,
    /// Write the donations (without it, only a preview is printed).
    #[arg(long)]
    pub commit: bool,
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImportPaymentsArgs {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    /// Header of the 入金日 column (guessed when omitted).
    #[arg(long)]
    pub date_column: Option<String>,
    /// Header of the 金額 column (guessed when omitted).
    #[arg(long)]
    pub amount_column: Option<String>,
    /// Header of the 振込依頼人名 column (guessed when omitted).
    #[arg(long)]
    pub payer_column: Option<String>,
    /// Header of the 寄附番号 / 参照番号 column (guessed when omitted).
    #[arg(long)]
    pub reference_column: Option<String>,
    /// Store the records and mark the matched donations paid.
    #[arg(long)]
    pub commit: bool,
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct BenchCsvImportArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Random seed of the synthetic people.
    #[arg(long, default_value_t = 20_261_126)]
    pub seed: u64,
    /// Keep the generated CSV and database in this directory instead of a temporary one.
    #[arg(long)]
    pub keep_in: Option<PathBuf>,
    /// Japan Post's postal-code file (utf_ken_all.csv, KEN_ALL.CSV or the .zip) for the donors'
    /// addresses [default: furusato-synth's ~100 built-in areas, which crowd matching].
    #[arg(long)]
    pub postal: Option<PathBuf>,
}

pub async fn run(g: &Global, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImportCommand::Csv(a) => csv(g, a).await,
        ImportCommand::Payments(a) => payments(g, a).await,
    }
}

/// "line 12, column 寄附金額: 寄附金額が正しくありません: abc"
fn describe(e: &StoredRowError) -> String {
    match (&e.column, e.line) {
        (_, 0) => e.message_ja.clone(),
        (Some(c), line) => format!("line {line}, column {c}: {}", e.message_ja),
        (None, line) => format!("line {line}: {}", e.message_ja),
    }
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.csv".into())
}

async fn csv(g: &Global, a: ImportCsvArgs) -> anyhow::Result<ExitCode> {
    let db = crate::config::open_migrated(g).await?;
    let m = crate::commands::municipality_by_code(&db, &a.municipality).await?;
    let tenant = m.tenant();
    let portal = match a.portal.as_deref() {
        None => None,
        Some(p) => Some(Portal::parse(p).map_err(|_| {
            anyhow::anyhow!("--portal {p:?} is not a portal (rakuten, choice, satofull, furunavi, au_pay, ana, other)")
        })?),
    };
    let reference = ProfileRef::from_name(&a.profile, portal);
    let profile = match imports::resolve_profile(&db, tenant, &reference).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let bytes = match read_file(&a.file) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let size = bytes.len();
    println!(
        "file: {} ({size} bytes), profile: {} [{}]",
        a.file.display(),
        profile.key(),
        profile.label_ja
    );
    if !a.commit {
        return match imports::preview(&db, tenant, &profile, bytes).await {
            Ok(p) => {
                println!("encoding: {}", p.encoding.as_str());
                print_counts(&p.counts, false);
                print_problems(&p.errors, &p.warnings);
                println!("preview only: nothing was written (add --commit to import)");
                Ok(if p.counts.rows_ok == 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                })
            }
            Err(e) => file_failure(e),
        };
    }
    match imports::import_now(
        &db,
        tenant,
        &profile,
        &file_name(&a.file),
        bytes,
        &Actor::cli(tenant),
    )
    .await
    {
        Ok(s) => {
            println!("encoding: {}", s.encoding.as_str());
            print_counts(&s.counts, true);
            print_problems(&s.errors, &s.warnings);
            println!("committed as import {}", s.import_id);
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportFailure::NothingToImport) => {
            eprintln!("error: no row can be imported; nothing was written");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => file_failure(e),
    }
}

fn file_failure(e: ImportFailure) -> anyhow::Result<ExitCode> {
    match e {
        ImportFailure::Db(_) | ImportFailure::Internal(_) => Err(e.into()),
        e => {
            eprintln!("error: {e} ({})", e.message_ja());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_counts(c: &imports::Counts, committed: bool) {
    println!(
        "rows: {} total, {} importable, {} with errors",
        c.rows_total, c.rows_ok, c.rows_error
    );
    let verb = if committed { "" } else { "would be " };
    println!(
        "donations: {} {verb}created, {} {verb}updated, {} unchanged ({} registered through another route, left as they are)",
        c.created, c.updated, c.unchanged, c.other_source
    );
}

fn print_problems(errors: &[StoredRowError], warnings: &[StoredRowError]) {
    if !errors.is_empty() {
        println!(
            "row errors ({}; these rows are not imported):",
            errors.len()
        );
        for e in errors {
            println!("  {}", describe(e));
        }
    }
    if !warnings.is_empty() {
        println!("warnings ({}):", warnings.len());
        for w in warnings {
            println!("  {}", describe(w));
        }
    }
}

async fn payments(g: &Global, a: ImportPaymentsArgs) -> anyhow::Result<ExitCode> {
    use furusato_intake::payments::{self, PaymentColumns};
    let db = crate::config::open_migrated(g).await?;
    let m = crate::commands::municipality_by_code(&db, &a.municipality).await?;
    let tenant = m.tenant();
    let bytes = match read_file(&a.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let columns = PaymentColumns {
        paid_on: a.date_column,
        amount: a.amount_column,
        payer: a.payer_column,
        reference: a.reference_column,
    };
    let parsed = match payments::parse(&bytes, &columns) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e} ({})", e.message_ja());
            return Ok(ExitCode::FAILURE);
        }
    };
    println!(
        "file: {} ({} bytes), encoding: {}",
        a.file.display(),
        bytes.len(),
        parsed.encoding.as_str()
    );
    println!(
        "columns: 入金日 = {}, 金額 = {}, 振込依頼人名 = {}, 参照番号 = {}",
        parsed.columns.paid_on,
        parsed.columns.amount,
        parsed.columns.payer.as_deref().unwrap_or("-"),
        parsed.columns.reference.as_deref().unwrap_or("-")
    );
    for e in &parsed.errors {
        println!("  {}", describe(e));
    }
    if parsed.records.is_empty() {
        eprintln!("error: no payment record can be read; nothing was written");
        return Ok(ExitCode::FAILURE);
    }
    let plan = payments::match_records(&db, tenant, &parsed.records).await?;
    let count = |s: &str| plan.iter().filter(|p| p.status == s).count();
    println!(
        "records: {} read, {} with errors; matched {}, ambiguous {}, unmatched {}",
        parsed.records.len(),
        parsed.errors.len(),
        count("matched"),
        count("ambiguous"),
        count("unmatched")
    );
    for p in plan.iter().filter(|p| p.status != "matched") {
        println!(
            "  line {}: {} {}円 {} → {}{}",
            p.record.line,
            p.record.paid_on,
            p.record.amount,
            p.record.payer_kana,
            p.status,
            if p.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.note)
            }
        );
    }
    if !a.commit {
        println!(
            "preview only: nothing was written (add --commit to store the records and mark the matched donations paid)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = payments::import_now(
        &db,
        tenant,
        &file_name(&a.file),
        &bytes,
        &columns,
        &Actor::cli(tenant),
    )
    .await?;
    println!(
        "committed as import {}: {} donations marked paid, {} records left to match by hand",
        outcome.import_id,
        outcome.matched,
        outcome.unmatched + outcome.ambiguous
    );
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Benchmark

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak (VmHWM) to the current size, so that generation does not count.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Writes `rows` donations in the ふるさとチョイス layout, CP932, CRLF. Returns the file size.
fn generate(
    path: &Path,
    rows: usize,
    seed: u64,
    addresses: furusato_synth::AddressBook,
) -> anyhow::Result<u64> {
    use furusato_synth::{Generator, LedgerParams, default_gifts};
    use time::macros::date;
    let gifts = default_gifts();
    let donors = (rows * 7 / 10).max(1);
    let plan = Generator::new(seed, addresses)
        .generate_ledger(LedgerParams::new(
            donors,
            rows,
            date!(2025 - 04 - 01),
            date!(2026 - 03 - 31),
            &gifts,
        ))
        .map_err(|e| anyhow::anyhow!("cannot plan the data: {e}"))?;
    let uses: Vec<String> = plan.uses_of_funds().to_vec();
    let mut header: Vec<String> = [
        "寄附者番号",
        "申込日",
        "入金日",
        "氏名",
        "フリガナ",
        "〒",
        "都道府県",
        "市区町村",
        "町名・番地",
        "マンション名",
        "電話番号",
        "E-mailアドレス",
        "寄附金額",
        "寄附金の払込方法",
        "チョイス決済状態",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for u in &uses {
        header.push(format!("{u} 選択"));
        header.push(format!("{u} 金額"));
    }
    header.extend(
        [
            "公表",
            "返礼品辞退",
            "返礼品1_コード",
            "返礼品1_名称",
            "返礼品2_コード",
            "返礼品2_名称",
            "ワンストップ特例_要望",
            "ワンストップ特例_性別",
            "ワンストップ特例_生年月日",
            "備考",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut encoder_buf = Vec::with_capacity(4096);
    let mut write_line =
        |out: &mut std::io::BufWriter<std::fs::File>, cells: &[String]| -> anyhow::Result<()> {
            let mut line = String::with_capacity(512);
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                if c.contains([',', '"', '\n']) {
                    line.push('"');
                    line.push_str(&c.replace('"', "\"\""));
                    line.push('"');
                } else {
                    line.push_str(c);
                }
            }
            line.push_str("\r\n");
            encoder_buf.clear();
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&line);
            encoder_buf.extend_from_slice(&bytes);
            out.write_all(&encoder_buf)?;
            Ok(())
        };
    write_line(&mut out, &header)?;
    for d in plan.donations() {
        let p = plan.donor(d.donor_index);
        let mut cells: Vec<String> = Vec::with_capacity(header.len());
        cells.push(format!("CH-{:08}", d.index + 1));
        cells.push(d.donated_on.to_string());
        cells.push(d.received_on.map(|r| r.to_string()).unwrap_or_default());
        cells.push(format!("{}\u{3000}{}", p.family_name, p.given_name));
        cells.push(format!("{}\u{3000}{}", p.family_kana, p.given_kana));
        cells.push(p.postal_code_display());
        cells.push(p.prefecture.clone());
        cells.push(p.city.clone());
        cells.push(p.address1());
        cells.push(p.address2().to_string());
        cells.push(p.phone.clone());
        cells.push(p.email.clone());
        cells.push(furusato_domain::Yen::new(d.amount).format_number());
        cells.push(d.payment_method.label_ja().to_string());
        cells.push(if d.received_on.is_some() {
            "決済完了".into()
        } else {
            "未決済".into()
        });
        for u in &uses {
            let chosen = d.use_of_funds == *u;
            cells.push(if chosen { "○".into() } else { String::new() });
            cells.push(if chosen {
                d.amount.to_string()
            } else {
                String::new()
            });
        }
        cells.push("公表しない".into());
        cells.push(if d.gift_declined {
            "○".into()
        } else {
            String::new()
        });
        for i in 0..2 {
            match d.gift_lines.get(i) {
                Some(l) => {
                    cells.push(l.code.clone());
                    cells.push(plan.gifts()[l.gift_index].name.clone());
                }
                None => {
                    cells.push(String::new());
                    cells.push(String::new());
                }
            }
        }
        cells.push(if d.onestop_wanted {
            "希望する".into()
        } else {
            "希望しない".into()
        });
        cells.push(p.sex.label_ja().to_string());
        cells.push(p.birth_date.to_string());
        cells.push(String::new());
        write_line(&mut out, &cells)?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

pub async fn bench(_g: &Global, args: BenchCsvImportArgs) -> anyhow::Result<ExitCode> {
    let rows = args.rows.max(1);
    let tmp = tempfile_dir(args.keep_in.as_deref())?;
    let dir = tmp.path().to_path_buf();
    let csv_path = dir.join("bench-choice-cp932.csv");
    let db_path = dir.join("bench.db");
    println!(
        "furusato bench csv-import: {rows} rows, ふるさとチョイス layout, CP932; {} CPU(s); directory {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        dir.display()
    );

    let t = Instant::now();
    let addresses = crate::cmd_bench::address_book(args.postal.as_deref())?;
    println!(
        "addresses: {}",
        match &args.postal {
            Some(p) => format!("{} areas from {}", addresses.len(), p.display()),
            None => format!(
                "{} built-in areas (give --postal for real spread)",
                addresses.len()
            ),
        }
    );
    let size = generate(&csv_path, rows, args.seed, addresses)?;
    println!(
        "generated {} in {:.1} s (not counted below)",
        mb(size),
        t.elapsed().as_secs_f64()
    );

    let db = furusato_db::Db::connect(&format!("sqlite://{}", db_path.display())).await?;
    db.migrate().await?;
    let m = furusato_db::municipalities::insert(
        &db,
        &furusato_db::municipalities::NewMunicipality {
            code: "041009".into(),
            name: "仙台市".into(),
            name_kana: "センダイシ".into(),
            prefecture_code: 4,
            mayor_title: "仙台市長".into(),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await?;
    let tenant = m.tenant();
    load_gift_master(&db, tenant).await?;
    let profile = imports::resolve_profile(&db, tenant, &ProfileRef::Choice).await?;

    reset_peak();
    let t = Instant::now();
    let bytes = Arc::new(std::fs::read(&csv_path)?);
    let summary = imports::import_now(
        &db,
        tenant,
        &profile,
        "bench-choice-cp932.csv",
        bytes,
        &Actor::cli(tenant),
    )
    .await?;
    let ours = t.elapsed().as_secs_f64();
    let peak = peak_kib().unwrap_or(0);
    let c = summary.counts;
    println!(
        "furusato import (parse + validate + donor matching + ledger rows + source records + original file, one transaction):"
    );
    println!(
        "  {} rows in {ours:.1} s = {:.0} rows/s; created {}, updated {}, unchanged {}, row errors {}; peak memory (VmHWM) {:.0} MB",
        c.rows_total,
        c.rows_total as f64 / ours,
        c.created,
        c.updated,
        c.unchanged,
        c.rows_error,
        peak as f64 / 1024.0
    );
    let donors = furusato_db::donors::count(&db, tenant).await?;
    println!(
        "  donors after matching: {donors} (the plan has {} distinct people)",
        (rows * 7 / 10).max(1)
    );
    db.close().await;
    let db_size = std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0);
    println!("  database file: {}", mb(db_size));

    match sqlite3_import(&db_path, &csv_path) {
        Ok((secs, n)) => {
            println!(
                "sqlite3 .mode csv / .import into one table t (raw CP932 bytes, no parsing of values, no validation):"
            );
            println!(
                "  {n} rows in {secs:.1} s = {:.0} rows/s; ours is {:.1}× its time",
                n as f64 / secs,
                ours / secs
            );
        }
        Err(e) => println!("sqlite3 comparison skipped: {e:#} (install Debian's sqlite3 package)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Times `sqlite3 DB ".mode csv" ".import FILE t"`; returns (seconds, rows in t).
fn sqlite3_import(db_path: &Path, csv_path: &Path) -> anyhow::Result<(f64, u64)> {
    let t = Instant::now();
    let out = std::process::Command::new("sqlite3")
        .arg(db_path)
        .arg(".mode csv")
        .arg(format!(".import {} t", csv_path.display()))
        .output()
        .context("cannot run sqlite3")?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "sqlite3 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let count = std::process::Command::new("sqlite3")
        .arg(db_path)
        .arg("SELECT COUNT(*) FROM t")
        .output()?;
    let n = String::from_utf8_lossy(&count.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    Ok((secs, n))
}

/// The synthetic gift catalogue, so that gift codes of the file link to the master.
async fn load_gift_master(
    db: &furusato_db::Db,
    tenant: furusato_db::MunicipalityId,
) -> anyhow::Result<()> {
    let partners = furusato_synth::default_partners();
    let mut tx = db.begin().await?;
    let mut ids = Vec::new();
    for p in &partners {
        ids.push(
            furusato_db::gifts::insert_partner(
                &mut tx,
                tenant,
                &furusato_db::gifts::NewPartner {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    for g in furusato_synth::default_gifts() {
        furusato_db::gifts::insert_gift(
            &mut tx,
            tenant,
            &furusato_db::gifts::NewGift {
                code: g.code.clone(),
                partner_id: ids[g.partner_index],
                name: g.name.clone(),
                amount: g.amount,
                cost: g.cost,
                valid_from: time::macros::date!(2025 - 04 - 01),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The bench's working directory: a fresh one under the system temporary directory (removed at
/// the end), or `keep` (created if needed, kept).
struct BenchDir {
    path: PathBuf,
    remove: bool,
}

impl BenchDir {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn tempfile_dir(keep: Option<&Path>) -> anyhow::Result<BenchDir> {
    let (path, remove) = match keep {
        Some(p) => (p.to_path_buf(), false),
        None => (
            std::env::temp_dir().join(format!("furusato-bench-{}", uuid::Uuid::new_v4().simple())),
            true,
        ),
    };
    std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BenchDir { path, remove })
}
