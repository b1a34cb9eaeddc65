//! `furusato export donations|donors` and `furusato bench export` (owned by the matching/export work).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Donations with the given filters, as CSV on stdout.
    Donations(ExportArgs),
    /// Donors, as CSV on stdout.
    Donors(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub municipality: String,
}

#[derive(Args, Debug)]
pub struct BenchExportArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
}

pub async fn run(_g: &Global, _cmd: ExportCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub async fn bench(_g: &Global, _args: BenchExportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
