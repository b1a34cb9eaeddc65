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

pub async fn run(g: &Global, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Search(a) => crate::bench_search::run(g, &a).await,
        BenchCommand::Intake(a) => crate::cmd_sync::bench(g, a).await,
        BenchCommand::CsvImport(a) => crate::cmd_import::bench(g, a).await,
        BenchCommand::Export(a) => crate::cmd_export::bench(g, a).await,
    }
}
