//! `furusato bench …`: benchmarks over generated data at real scale. Figures are printed with the
//! machine they ran on; they are measurements, not tests.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Donor search and filtered donation list latency (p50/p95/p99) on the current database.
    Search(SearchBenchArgs),
    /// 楽天 sync throughput and peak memory against the RMS mock.
    Intake(crate::cmd_sync::BenchIntakeArgs),
    /// CP932 CSV import throughput, compared with `sqlite3 .import`.
    CsvImport(crate::cmd_import::BenchCsvImportArgs),
    /// CSV export throughput and peak memory.
    Export(crate::cmd_export::BenchExportArgs),
}

#[derive(clap::Args, Debug)]
pub struct SearchBenchArgs {
    /// Municipality code whose data to query.
    #[arg(long, default_value = "041009")]
    pub municipality: String,
    /// Queries per scenario.
    #[arg(long, default_value_t = 300)]
    pub queries: usize,
}

/// Addresses for generated people: Japan Post's postal-code file when given (the spread of real
/// donors over some 120,000 postal codes), else furusato-synth's built-in set of about 100 areas.
/// The built-in set crowds thousands of people into each postal code, which makes donor matching
/// (candidates are looked up by postal code) far slower than it is with real data.
pub fn address_book(
    postal: Option<&std::path::Path>,
) -> anyhow::Result<furusato_synth::AddressBook> {
    use anyhow::Context;
    let Some(path) = postal else {
        return Ok(furusato_synth::AddressBook::builtin());
    };
    let file = furusato_refdata::import::read_source(path)
        .with_context(|| format!("cannot read the postal-code file {}", path.display()))?;
    let parsed = furusato_refdata::postal::parse(&file.bytes)
        .with_context(|| format!("{} is not a Japan Post postal-code file", path.display()))?;
    let seeds = parsed
        .records
        .into_iter()
        .map(|r| furusato_synth::AddressSeed {
            postal_code: r.postal_code,
            prefecture: r.prefecture,
            city: r.city,
            town: r.town,
            town_kana: r.town_kana,
        });
    furusato_synth::AddressBook::from_seeds(seeds)
        .map_err(|e| anyhow::anyhow!("{}: no usable addresses: {e}", path.display()))
}

pub async fn run(g: &Global, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Search(a) => crate::bench_search::run(g, &a).await,
        BenchCommand::Intake(a) => crate::cmd_sync::bench(g, a).await,
        BenchCommand::CsvImport(a) => crate::cmd_import::bench(g, a).await,
        BenchCommand::Export(a) => crate::cmd_export::bench(g, a).await,
    }
}
