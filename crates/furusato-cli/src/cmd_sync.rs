//! `furusato sync rakuten` (one 楽天 RMS sync, inline), `furusato dev rms-mock` (the RMS-shaped
//! mock server for the demo and manual tests) and `furusato bench intake` (sync throughput and
//! peak memory against the mock).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use furusato_db::audit::AuditEntry;
use furusato_db::intake_sync;
use furusato_db::{Db, MunicipalityId};
use furusato_domain::jst;
use furusato_intake::rakuten_sync::{self, Credentials, RunOptions, SyncSummary, Trigger};
use furusato_portals::rakuten::datetime::{format_expiry_datetime, now_jst};
use furusato_portals::rakuten::mock::generate::gift_code;
use furusato_portals::rakuten::mock::{
    GeneratorSpec, MockConfig, MockRms, OrderPerson, OrderPersonSource,
};
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::cli::Global;
use crate::config;

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Run one 楽天 RMS sync for a municipality and print its summary.
    ///
    /// Exit status: 0 succeeded, 2 completed with failed orders (listed), 1 failed.
    Rakuten(SyncRakutenArgs),
}

#[derive(Args, Debug)]
pub struct SyncRakutenArgs {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    /// RMS API base URL for this run [default: the municipality's setting, else https://api.rms.rakuten.co.jp].
    #[arg(long)]
    pub base_url: Option<String>,
    /// Requests per second for this run (0 = unlimited; only for mock servers) [default: the setting, else 1].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Search orders from this date (YYYY-MM-DD, JST) instead of the stored cursor.
    #[arg(long)]
    pub since: Option<String>,
    /// serviceSecret for this run (with --license-key) instead of the stored credentials.
    #[arg(
        long,
        requires = "license_key",
        env = "FURUSATO_RMS_SERVICE_SECRET",
        hide_env_values = true
    )]
    pub service_secret: Option<String>,
    /// licenseKey for this run (with --service-secret).
    #[arg(
        long,
        requires = "service_secret",
        env = "FURUSATO_RMS_LICENSE_KEY",
        hide_env_values = true
    )]
    pub license_key: Option<String>,
    /// getOrder calls in flight at once (only with an unlimited pace).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum DevCommand {
    /// Serve an RMS-shaped mock of the 楽天 order API with generated orders.
    RmsMock(RmsMockArgs),
}

#[derive(Args, Debug)]
pub struct RmsMockArgs {
    /// Address to listen on (port 0: any free port; the address is printed first).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// Number of generated orders.
    #[arg(long, default_value_t = 1000)]
    pub orders: u64,
    /// Seed of the generated orders.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The orders are dated over the last DAYS days (busiest in December).
    #[arg(long, default_value_t = 60)]
    pub days: i64,
    /// Shop id (first part of the order numbers).
    #[arg(long, default_value = "283819")]
    pub shop_id: String,
    /// Accepted serviceSecret.
    #[arg(long, default_value = "mock-service-secret")]
    pub service_secret: String,
    /// Accepted licenseKey.
    #[arg(long, default_value = "mock-license-key")]
    pub license_key: String,
    /// License key expiry date (YYYY-MM-DD, JST) [default: in 90 days].
    #[arg(long)]
    pub license_expiry: Option<String>,
    /// Answer 429 above this many requests per second.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Use the mock's small built-in list of people instead of furusato-synth's.
    #[arg(long)]
    pub builtin_people: bool,
    /// Japan Post's postal-code file for the generated people's addresses [default:
    /// furusato-synth's ~100 built-in areas].
    #[arg(long)]
    pub postal: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchIntakeArgs {
    /// Number of orders.
    #[arg(long, default_value_t = 100_000)]
    pub orders: usize,
    /// Seed of the generated orders.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The orders are dated over the last DAYS days.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Throw-away database to sync into [default: a temporary SQLite file, deleted afterwards];
    /// it must not contain municipality 041009. The global --database is never used by the bench.
    #[arg(long)]
    pub bench_database: Option<String>,
    /// getOrder calls in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Orders per write transaction.
    #[arg(long, default_value_t = furusato_intake::rakuten_sync::DEFAULT_GROUP_SIZE)]
    pub group_size: usize,
    /// Orders in one search window from which a sync that more than doubles the ledger is an
    /// initial load (indexes deferred, donors matched in memory; docs/INTAKE.md §1.8). A number
    /// larger than --orders measures the normal path.
    #[arg(long, default_value_t = furusato_intake::rakuten_sync::bulk::DEFAULT_BULK_LOAD_MIN_ORDERS)]
    pub initial_load_min_orders: usize,
    /// Connections of the bench database's pool (each SQLite connection may cache 64 MB of pages;
    /// the sync itself writes through a connection of its own, see `Db::dedicated_writer`).
    #[arg(long, default_value_t = 2)]
    pub connections: u32,
    /// Run the mock as a child process (`furusato dev rms-mock`) so that this process's peak
    /// memory is the sync's alone.
    #[arg(long)]
    pub mock_process: bool,
    /// Use the mock's small built-in list of people instead of furusato-synth's.
    #[arg(long)]
    pub builtin_people: bool,
    /// Japan Post's postal-code file for the generated people's addresses [default:
    /// furusato-synth's ~100 built-in areas].
    #[arg(long)]
    pub postal: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------------
// furusato sync rakuten
// ---------------------------------------------------------------------------------------------

pub async fn run(g: &Global, cmd: SyncCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SyncCommand::Rakuten(a) => sync_rakuten(g, a).await,
    }
}

fn parse_date(s: &str, flag: &str) -> anyhow::Result<time::Date> {
    jst::parse_date(s).map_err(|e| anyhow::anyhow!("{flag} {s:?} is not a date (YYYY-MM-DD): {e}"))
}

async fn sync_rakuten(g: &Global, a: SyncRakutenArgs) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    let m = crate::commands::municipality_by_code(&db, &a.municipality).await?;
    let tenant = m.tenant();
    let credentials = match (a.service_secret, a.license_key) {
        (Some(s), Some(k)) => Some(Credentials::new(s, k)),
        _ => None,
    };
    let keys = if credentials.is_some() {
        config::load_keys(g)?
    } else {
        Some(config::require_keys(g)?)
    };
    if let Some(r) = a.rate
        && !(r >= 0.0 && r.is_finite())
    {
        bail!("--rate must be 0 (unlimited) or a positive number of requests per second");
    }
    let mut opts = RunOptions::new(Trigger::Cli, cli_user());
    opts.since = a
        .since
        .as_deref()
        .map(|s| parse_date(s, "--since"))
        .transpose()?;
    opts.base_url = a.base_url;
    opts.rate = a.rate;
    opts.credentials = credentials;
    opts.fetch_concurrency = a.concurrency.max(1);
    opts.actor = Some(AuditEntry::cli(Some(tenant), "rakuten_sync.apply"));
    let summary = match rakuten_sync::run(&db, keys.as_deref(), tenant, opts).await {
        Ok(s) => s,
        Err(e) => bail!("the sync did not start: {e}"),
    };
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&m.name, &m.code, &summary);
    }
    Ok(match summary.status.as_str() {
        "failed" => {
            eprintln!(
                "error: {}",
                summary.error.as_deref().unwrap_or("the sync failed")
            );
            ExitCode::FAILURE
        }
        "partial" => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

fn cli_user() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn fmt_jst(t: OffsetDateTime) -> String {
    let j = jst::to_jst(t);
    format!(
        "{} {:02}:{:02} JST",
        jst::format_date_iso(j.date()),
        j.hour(),
        j.minute()
    )
}

fn print_summary(name: &str, code: &str, s: &SyncSummary) {
    println!(
        "楽天 sync of {name} ({code}): {} in {:.1} s",
        s.status,
        s.elapsed_ms as f64 / 1000.0
    );
    if let (Some(f), Some(t)) = (s.window_from, s.window_to) {
        println!("  window     {} → {}", fmt_jst(f), fmt_jst(t));
    }
    let c = &s.counts;
    println!("  fetched    {}", c.fetched);
    println!("  created    {}", c.created);
    println!("  updated    {}", c.updated);
    println!("  unchanged  {}", c.unchanged);
    println!("  failed     {}", c.failed);
    println!("  requests   {} (retries {})", c.requests, c.retries);
    if let Some(secs) = s.initial_load_index_seconds {
        println!(
            "  initial load: matching and donor-history indexes deferred, built at the end in {secs:.1} s"
        );
    }
    if let Some(exp) = s.license_expires_at {
        let days = (jst::to_jst(exp).date() - jst::today_jst()).whole_days();
        println!("  license key expires {} (in {days} days)", fmt_jst(exp));
    }
    if let Some(cur) = s.cursor {
        println!(
            "  cursor     {} (the next run starts 2 days earlier)",
            fmt_jst(cur)
        );
    }
    if !s.unknown_gift_codes.is_empty() {
        let list: Vec<String> = s
            .unknown_gift_codes
            .iter()
            .take(20)
            .map(|g| format!("{} ({} lines)", g.code, g.lines))
            .collect();
        println!("  gift codes not in the gift master: {}", list.join(", "));
    }
    if !s.donor_changes_pending.is_empty() {
        println!(
            "  orderer changes not applied to shared donors (check on the donor screen): {}",
            s.donor_changes_pending.join(", ")
        );
    }
    for f in s.failed_orders.iter().take(20) {
        println!("  failed order {}: {}", f.order_number, f.reason);
    }
    if s.failed_orders.len() > 20 {
        println!(
            "  … {} more failed orders on the run's page",
            s.failed_orders.len() - 20
        );
    }
    for w in &s.warnings {
        println!("  warning: {w}");
    }
}

// ---------------------------------------------------------------------------------------------
// furusato dev rms-mock
// ---------------------------------------------------------------------------------------------

pub async fn run_dev(_g: &Global, cmd: DevCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DevCommand::RmsMock(a) => rms_mock(a).await,
    }
}

/// Orderers and gift recipients from furusato-synth (realistic names, kana and real postal
/// areas) for the mock's generator: a donor pool of 60 % of the orders, so people come back.
pub struct SynthPeople {
    plan: furusato_synth::DonationPlan,
    donors: u64,
}

impl SynthPeople {
    pub fn new(
        seed: u64,
        orders: u64,
        addresses: furusato_synth::AddressBook,
    ) -> anyhow::Result<SynthPeople> {
        use furusato_synth::{Generator, LedgerParams};
        let donors = (orders * 6 / 10).max(1);
        let today = jst::today_jst();
        let plan = Generator::new(seed, addresses)
            .generate_ledger(LedgerParams::new(
                donors as usize,
                donors as usize,
                today - Duration::days(30),
                today,
                &[],
            ))
            .map_err(|e| anyhow::anyhow!("cannot plan synthetic people: {e}"))?;
        Ok(SynthPeople { plan, donors })
    }
}

impl OrderPersonSource for SynthPeople {
    fn person(&self, seed: u64, index: u64) -> OrderPerson {
        // A deterministic draw from the pool for (stream, index): people come back now and then,
        // and the gift-recipient stream draws other people than the orderer stream.
        let mut z =
            (seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let i = z ^ (z >> 31);
        let p = self.plan.donor((i % self.donors) as usize);
        let mut phone = p.phone.split('-').map(str::to_string);
        let phone = [
            phone.next().unwrap_or_default(),
            phone.next().unwrap_or_default(),
            phone.next().unwrap_or_default(),
        ];
        let romaji = format!(
            "{} {}",
            furusato_synth::romaji::katakana_to_romaji(&p.given_kana).unwrap_or_default(),
            furusato_synth::romaji::katakana_to_romaji(&p.family_kana).unwrap_or_default()
        )
        .to_uppercase();
        let sub_address = match p.building.as_deref() {
            Some(b) => format!("{} {b}", p.address1()),
            None => p.address1(),
        };
        OrderPerson {
            family_name: p.family_name.clone(),
            first_name: p.given_name.clone(),
            family_name_kana: p.family_kana.clone(),
            first_name_kana: p.given_kana.clone(),
            romaji,
            zip_code1: p.postal_code[..3].to_string(),
            zip_code2: p.postal_code[3..].to_string(),
            prefecture: p.prefecture.clone(),
            city: p.city.clone(),
            sub_address,
            phone,
            sex: Some(p.sex.label_ja().to_string()),
            birth: Some((
                p.birth_date.year(),
                u8::from(p.birth_date.month()),
                p.birth_date.day(),
            )),
        }
    }
}

fn expiry(s: Option<&str>) -> anyhow::Result<PrimitiveDateTime> {
    let date = match s {
        Some(s) => parse_date(s, "--license-expiry")?,
        None => (now_jst() + Duration::days(90)).date(),
    };
    Ok(PrimitiveDateTime::new(
        date,
        time::Time::from_hms(23, 59, 59).expect("valid time"),
    ))
}

/// Builds a mock with `orders` generated orders dated over the last `days` days.
#[allow(clippy::too_many_arguments)]
fn build_mock(
    secret: &str,
    key: &str,
    exp: PrimitiveDateTime,
    orders: u64,
    seed: u64,
    days: i64,
    shop_id: &str,
    builtin_people: bool,
    postal: Option<&Path>,
) -> anyhow::Result<(MockRms, time::Date, time::Date)> {
    let mock = MockRms::new(MockConfig::new(secret, key, exp));
    let today = jst::today_jst();
    let (from, to) = (
        today - Duration::days(days.clamp(1, 720)),
        today - Duration::days(1),
    );
    let mut spec = GeneratorSpec::new(orders, seed, from, to, shop_id);
    if !builtin_people {
        let addresses = crate::cmd_bench::address_book(postal)?;
        spec = spec.with_people(Arc::new(SynthPeople::new(seed, orders, addresses)?));
    }
    mock.insert_generated(spec);
    Ok((mock, from, to))
}

async fn rms_mock(a: RmsMockArgs) -> anyhow::Result<ExitCode> {
    let exp = expiry(a.license_expiry.as_deref())?;
    let (mock, from, to) = build_mock(
        &a.service_secret,
        &a.license_key,
        exp,
        a.orders,
        a.seed,
        a.days,
        &a.shop_id,
        a.builtin_people,
        a.postal.as_deref(),
    )?;
    mock.set_rate_limit(a.rate_limit);
    let addr: std::net::SocketAddr = a
        .listen
        .parse()
        .with_context(|| format!("--listen {:?} is not host:port", a.listen))?;
    let (addr, server) = mock.serve(addr).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running there?)",
            a.listen
        )
    })?;
    // The first line is read by `furusato bench intake --mock-process`: keep its shape.
    println!("RMS mock listening on http://{addr}");
    println!(
        "  {} orders dated {} … {} (shop {}), license key expires {} JST",
        mock.order_count(),
        jst::format_date_iso(from),
        jst::format_date_iso(to),
        a.shop_id,
        format_expiry_datetime(exp)
    );
    println!("  service secret: {}", a.service_secret);
    println!("  license key:    {}", a.license_key);
    println!(
        "  sync with: furusato sync rakuten --municipality 041009 --base-url http://{addr} --service-secret {} --license-key {} --rate 0",
        a.service_secret, a.license_key
    );
    println!(
        "  or save these in 取込 → 楽天同期 (base URL http://{addr}, 1 request/second or more)."
    );
    println!(
        "  control API: GET http://{addr}/_mock/stats, POST http://{addr}/_mock/faults, POST http://{addr}/_mock/license"
    );
    println!("  (Ctrl-C to stop)");
    tokio::select! {
        r = server => { r.context("the mock server stopped")?.context("the mock server failed")?; }
        _ = tokio::signal::ctrl_c() => { println!("stopped"); }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// furusato bench intake
// ---------------------------------------------------------------------------------------------

fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mb(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0} MB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

/// The throw-away database of the bench.
struct BenchDb {
    db: Db,
    /// A temporary directory to delete at the end.
    dir: Option<std::path::PathBuf>,
    path: Option<std::path::PathBuf>,
}

async fn bench_db(url: Option<&str>, connections: u32) -> anyhow::Result<BenchDb> {
    let opts = || furusato_db::ConnectOptions {
        max_connections: connections.max(1),
    };
    match url {
        Some(u) => {
            let db = Db::connect_with(u, opts()).await.with_context(|| {
                format!("cannot open --bench-database {}", config::redact_url(u))
            })?;
            Ok(BenchDb {
                db,
                dir: None,
                path: u.strip_prefix("sqlite://").map(Into::into),
            })
        }
        None => {
            let dir = std::env::temp_dir().join(format!(
                "furusato-bench-intake-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join("bench-intake.db");
            let db = Db::connect_with(&format!("sqlite://{}", path.display()), opts()).await?;
            Ok(BenchDb {
                db,
                dir: Some(dir),
                path: Some(path),
            })
        }
    }
}

impl BenchDb {
    async fn cleanup(self) {
        self.db.close().await;
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The bench municipality with the gift master the generator's orders refer to.
async fn bench_city(db: &Db) -> anyhow::Result<MunicipalityId> {
    use furusato_db::gifts::{self, NewGift, NewPartner};
    use furusato_db::municipalities::{self, NewMunicipality};
    let m = municipalities::insert(
        db,
        &NewMunicipality {
            code: "041009".into(),
            name: "仙台市".into(),
            name_kana: "センダイシ".into(),
            prefecture_code: 4,
            mayor_title: "仙台市長".into(),
            mayor_name: "ベンチ 太郎".into(),
            ..Default::default()
        },
    )
    .await?;
    let t = m.tenant();
    let mut tx = db.begin().await?;
    let partner = gifts::insert_partner(
        &mut tx,
        t,
        &NewPartner {
            code: "P001".into(),
            name: "ベンチ物産".into(),
            ..Default::default()
        },
    )
    .await?;
    // Gift codes SD0001…SD0025 exist; the generator's last codes stay unknown, as in real life.
    for i in 0..25 {
        gifts::insert_gift(
            &mut tx,
            t,
            &NewGift {
                code: gift_code(i),
                partner_id: partner,
                name: format!("返礼品 {}", gift_code(i)),
                amount: 10_000,
                cost: 3_000,
                valid_from: time::macros::date!(2024 - 04 - 01),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(t)
}

/// A child `furusato dev rms-mock`: its address and process.
struct MockChild {
    child: std::process::Child,
    base: String,
}

fn spawn_mock_child(a: &BenchIntakeArgs, secret: &str, key: &str) -> anyhow::Result<MockChild> {
    let exe = std::env::current_exe().context("cannot find the furusato executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "dev",
        "rms-mock",
        "--listen",
        "127.0.0.1:0",
        "--service-secret",
        secret,
        "--license-key",
        key,
    ])
    .args([
        "--orders",
        &a.orders.to_string(),
        "--seed",
        &a.seed.to_string(),
        "--days",
        &a.days.to_string(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::inherit());
    if a.builtin_people {
        cmd.arg("--builtin-people");
    }
    if let Some(p) = &a.postal {
        cmd.arg("--postal").arg(p);
    }
    let mut child = cmd
        .spawn()
        .context("cannot start `furusato dev rms-mock`")?;
    let stdout = child.stdout.take().context("no stdout of the mock")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    let base = first
        .strip_prefix("RMS mock listening on ")
        .map(str::to_string)
        .with_context(|| format!("unexpected first line of the mock: {first:?}"))?;
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    Ok(MockChild { child, base })
}

pub async fn bench(g: &Global, a: BenchIntakeArgs) -> anyhow::Result<ExitCode> {
    if g.database.is_some() {
        println!(
            "note: the bench ignores --database / FURUSATO_DATABASE_URL and syncs into a throw-away database (see --bench-database)"
        );
    }
    let (secret, key) = ("bench-service-secret", "bench-license-key");
    let n = a.orders as u64;
    println!(
        "bench intake: {n} generated orders over the last {} days, people from {}, pace unlimited, {} getOrder calls in flight",
        a.days,
        if a.builtin_people {
            "the mock's built-in list"
        } else {
            "furusato-synth"
        },
        a.concurrency
    );
    let rss0 = status_kib(None, "VmRSS:");

    // The mock: in this process (default) or as a child process.
    let t_gen = Instant::now();
    let mut child = None;
    let mut in_process = None;
    let base = if a.mock_process {
        let c = spawn_mock_child(&a, secret, key)?;
        let b = c.base.clone();
        child = Some(c);
        b
    } else {
        let (mock, _, _) = build_mock(
            secret,
            key,
            expiry(None)?,
            n,
            a.seed,
            a.days,
            "283819",
            a.builtin_people,
            a.postal.as_deref(),
        )?;
        let (addr, server) = mock.serve("127.0.0.1:0".parse()?).await?;
        in_process = Some((mock, server));
        format!("http://{addr}")
    };
    let gen_s = t_gen.elapsed().as_secs_f64();
    let rss_mock = status_kib(None, "VmRSS:");
    println!(
        "  mock ready in {gen_s:.1} s ({}); {}",
        if a.mock_process {
            "child process"
        } else {
            "in this process"
        },
        if a.mock_process {
            format!(
                "child pid {}",
                child.as_ref().map(|c| c.child.id()).unwrap_or(0)
            )
        } else {
            format!(
                "its store and index take about {} (RSS {} → {})",
                mb(rss_mock.zip(rss0).map(|(b, a0)| b.saturating_sub(a0))),
                mb(rss0),
                mb(rss_mock)
            )
        }
    );

    let bdb = bench_db(a.bench_database.as_deref(), a.connections).await?;
    let db = bdb.db.clone();
    db.migrate().await.context("migrating the bench database")?;
    let tenant = bench_city(&db)
        .await
        .context("creating the bench municipality (use an empty --bench-database)")?;
    println!(
        "  database: {} ({})",
        db.backend().as_str(),
        bdb.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "--bench-database".into())
    );

    // From here on the peak counts the sync (plus whatever the in-process mock holds).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kib(None, "VmRSS:");
    let mut opts = RunOptions::new(Trigger::Cli, cli_user());
    opts.base_url = Some(base);
    opts.credentials = Some(Credentials::new(secret, key));
    opts.rate = Some(0.0);
    opts.fetch_concurrency = a.concurrency.max(1);
    opts.group_size = a.group_size.max(1);
    opts.bulk_load_min_orders = a.initial_load_min_orders;
    opts.actor = Some(AuditEntry::cli(Some(tenant), "rakuten_sync.apply"));

    let progress = {
        let db = db.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            loop {
                tokio::time::sleep(StdDuration::from_secs(10)).await;
                if let Ok(runs) = intake_sync::runs(&db, tenant, rakuten_sync::PORTAL, 1).await
                    && let Some(r) = runs.first()
                {
                    {
                        println!(
                            "  … {:>4.0} s: fetched {}, created {}, requests {}; peak RSS so far {}",
                            t0.elapsed().as_secs_f64(),
                            r.fetched,
                            r.created,
                            r.requests,
                            mb(status_kib(None, "VmHWM:"))
                        );
                    }
                }
            }
        })
    };
    let t0 = Instant::now();
    let summary = rakuten_sync::run(&db, None, tenant, opts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let secs = t0.elapsed().as_secs_f64();
    progress.abort();
    let peak = status_kib(None, "VmHWM:");
    let child_peak = child
        .as_ref()
        .and_then(|c| status_kib(Some(c.child.id()), "VmHWM:"));
    let donations = furusato_db::donations::count(&db, tenant).await?;
    let db_size = bdb
        .path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());

    println!(
        "  sync {}: {} orders fetched, {} created, {} failed in {secs:.1} s = {:.0} orders/s ({} requests, {} retries)",
        summary.status,
        summary.counts.fetched,
        summary.counts.created,
        summary.counts.failed,
        summary.counts.fetched as f64 / secs.max(0.001),
        summary.counts.requests,
        summary.counts.retries
    );
    if let Some(s) = summary.initial_load_index_seconds {
        println!("  initial load: deferred indexes built at the end in {s:.1} s (included above)");
    }
    println!(
        "  donations in the database: {donations}{}",
        db_size
            .map(|s| format!(", file {:.0} MB", s as f64 / 1_048_576.0))
            .unwrap_or_default()
    );
    if a.mock_process {
        println!(
            "  peak memory (VmHWM) of the sync process: {}; of the mock process: {}",
            mb(peak),
            mb(child_peak)
        );
    } else {
        println!(
            "  peak memory (VmHWM) during the sync: {} for the whole process; {} were resident before the sync started (mock store, runtime), so the sync itself used about {}",
            mb(peak),
            mb(rss_before),
            mb(peak.zip(rss_before).map(|(p, b)| p.saturating_sub(b)))
        );
        println!("  (run with --mock-process for a figure without the mock in the process)");
    }
    if summary.status != "succeeded" {
        println!(
            "  error: {}",
            summary.error.as_deref().unwrap_or("some orders failed")
        );
    }
    if let Some(mut c) = child {
        let _ = c.child.kill();
        let _ = c.child.wait();
    }
    if let Some((_, server)) = in_process {
        server.abort();
    }
    bdb.cleanup().await;
    Ok(if summary.status == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
