//! `furusato bench search`: latency of the donor search and the filtered donation list — the two
//! screens a call-centre operator and a clerk use all day — on the current database (e.g. after
//! `furusato demo --size 1000000 --no-serve`). Query terms are sampled from the data itself.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use furusato_db::donations::{self, DonationFilter};
use furusato_db::donors::{self, DonorSearch};
use furusato_domain::{PaymentStatus, Portal, jst};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::cli::Global;
use crate::cmd_bench::SearchBenchArgs;
use crate::config;

struct Scenario {
    name: &'static str,
    samples: Vec<Duration>,
    rows: usize,
}

impl Scenario {
    fn new(name: &'static str) -> Self {
        Scenario {
            name,
            samples: vec![],
            rows: 0,
        }
    }
    fn pct(&self, p: f64) -> f64 {
        let mut s: Vec<f64> = self
            .samples
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        s.sort_by(|a, b| a.total_cmp(b));
        if s.is_empty() {
            return 0.0;
        }
        let idx = ((p / 100.0) * (s.len() as f64 - 1.0)).round() as usize;
        s[idx.min(s.len() - 1)]
    }
}

pub async fn run(g: &Global, a: &SearchBenchArgs) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    let m = crate::commands::municipality_by_code(&db, &a.municipality).await?;
    let t = m.tenant();
    let n_donations = donations::count(&db, t).await?;
    let n_donors = donors::count(&db, t).await?;
    if n_donations == 0 {
        anyhow::bail!(
            "{} has no donations: run `furusato demo --size 1000000 --no-serve` first",
            m.name
        );
    }
    println!(
        "bench search: {} ({}), {} donors, {} donations, {} queries per scenario",
        m.name,
        db.backend().as_str(),
        n_donors,
        n_donations,
        a.queries
    );
    let sample = donors::sample(&db, t, 400).await?;
    let numbers: Vec<String> = {
        let mut v = vec![];
        for d in sample.iter().take(200) {
            if let Some(x) = donations::for_donor(&db, t, d.id).await?.into_iter().next() {
                v.push(if v.len() % 2 == 0 {
                    x.donation_number
                } else {
                    x.external_id.unwrap_or(x.donation_number)
                });
            }
        }
        v
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let q = a.queries;

    // Warm the caches once (the first query after start-up reads pages from disk).
    let _ = donors::search(
        &db,
        t,
        &DonorSearch {
            kana: Some("ア".into()),
            ..Default::default()
        },
        1,
        50,
    )
    .await?;

    let mut scenarios = vec![];
    let mut s_kana = Scenario::new("donor search: kana prefix (3 chars)");
    let mut s_name = Scenario::new("donor search: name prefix (family name)");
    let mut s_phone = Scenario::new("donor search: phone number");
    let mut s_postal = Scenario::new("donor search: postal code");
    let mut s_number = Scenario::new("donor search: 寄附番号 / portal order no.");
    let mut s_kana_page = Scenario::new("donor search: kana (1 char), pages 1–20");
    for i in 0..q {
        let d = sample.choose(&mut rng).expect("sample");
        let kana: String = d.kana_norm.chars().take(3).collect();
        timed(
            &mut s_kana,
            donors::search(
                &db,
                t,
                &DonorSearch {
                    kana: Some(kana),
                    ..Default::default()
                },
                1,
                50,
            ),
        )
        .await?;
        timed(
            &mut s_name,
            donors::search(
                &db,
                t,
                &DonorSearch {
                    name: Some(d.family_name.clone()),
                    ..Default::default()
                },
                1,
                50,
            ),
        )
        .await?;
        timed(
            &mut s_phone,
            donors::search(
                &db,
                t,
                &DonorSearch {
                    phone: Some(d.phone.clone()),
                    ..Default::default()
                },
                1,
                50,
            ),
        )
        .await?;
        timed(
            &mut s_postal,
            donors::search(
                &db,
                t,
                &DonorSearch {
                    postal_code: Some(d.postal_code.clone()),
                    ..Default::default()
                },
                1,
                50,
            ),
        )
        .await?;
        if !numbers.is_empty() {
            let n = &numbers[i % numbers.len()];
            timed(
                &mut s_number,
                donors::search(
                    &db,
                    t,
                    &DonorSearch {
                        donation_number: Some(n.clone()),
                        ..Default::default()
                    },
                    1,
                    50,
                ),
            )
            .await?;
        }
        let k1: String = d.kana_norm.chars().take(1).collect();
        let page = rng.random_range(1..=20);
        timed(
            &mut s_kana_page,
            donors::search(
                &db,
                t,
                &DonorSearch {
                    kana: Some(k1),
                    ..Default::default()
                },
                page,
                50,
            ),
        )
        .await?;
    }
    scenarios.extend([s_kana, s_name, s_phone, s_postal, s_number, s_kana_page]);

    let today = jst::today_jst();
    let fy = jst::fiscal_year(today);
    let portals = [
        None,
        Some(Portal::Rakuten),
        Some(Portal::Choice),
        Some(Portal::Satofull),
        Some(Portal::Furunavi),
    ];
    let statuses = [
        None,
        Some(PaymentStatus::Paid),
        Some(PaymentStatus::Unpaid),
        Some(PaymentStatus::Cancelled),
    ];
    let mut s_list = Scenario::new("donation list: unfiltered, pages 1–20");
    let mut s_period = Scenario::new("donation list: one month");
    let mut s_combo = Scenario::new("donation list: 年度 + portal + status");
    let mut s_status = Scenario::new("donation list: status only (e.g. unpaid)");
    for _ in 0..q {
        let page = rng.random_range(1..=20);
        timed(
            &mut s_list,
            donations::list(&db, t, &DonationFilter::default(), page, 50),
        )
        .await?;
        let year = rng.random_range(2024..=today.year());
        let month = rng.random_range(1..=12u8);
        let from = time::Date::from_calendar_date(year, time::Month::try_from(month)?, 1)?;
        let to = from.replace_day(28)?;
        timed(
            &mut s_period,
            donations::list(
                &db,
                t,
                &DonationFilter {
                    from: Some(from),
                    to: Some(to),
                    ..Default::default()
                },
                1,
                50,
            ),
        )
        .await?;
        let (f, tt) = jst::fiscal_year_range(rng.random_range(fy - 2..=fy));
        let p = portals.choose(&mut rng).copied().flatten();
        let st = statuses.choose(&mut rng).copied().flatten();
        let filter = DonationFilter {
            from: Some(f),
            to: Some(tt),
            portal: p.map(|p| p.as_str().to_string()),
            payment_status: st.map(|s| s.as_str().to_string()),
            ..Default::default()
        };
        timed(&mut s_combo, donations::list(&db, t, &filter, 1, 50)).await?;
        let st = statuses[1..].choose(&mut rng).copied().flatten();
        let filter = DonationFilter {
            payment_status: st.map(|s| s.as_str().to_string()),
            ..Default::default()
        };
        timed(&mut s_status, donations::list(&db, t, &filter, 1, 50)).await?;
    }
    scenarios.extend([s_list, s_period, s_combo, s_status]);

    println!(
        "{:<46} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "scenario", "p50 ms", "p95 ms", "p99 ms", "max ms", "rows/q"
    );
    let mut worst = 0.0f64;
    for s in &scenarios {
        if s.samples.is_empty() {
            continue;
        }
        let p99 = s.pct(99.0);
        worst = worst.max(p99);
        println!(
            "{:<46} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.1}",
            s.name,
            s.pct(50.0),
            s.pct(95.0),
            p99,
            s.pct(100.0),
            s.rows as f64 / s.samples.len() as f64
        );
    }
    println!("worst p99: {worst:.2} ms (target: < 50 ms)");
    Ok(ExitCode::SUCCESS)
}

async fn timed<T>(
    s: &mut Scenario,
    fut: impl std::future::Future<Output = furusato_db::DbResult<furusato_db::donors::Page<T>>>,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let page = fut.await?;
    s.samples.push(start.elapsed());
    s.rows += page.items.len();
    Ok(())
}
