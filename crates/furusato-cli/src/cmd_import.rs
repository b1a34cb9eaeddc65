//! `furusato import csv|payments` and `furusato bench csv-import` (owned by the intake-imports work).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Preview (and with --commit, import) a portal donation CSV.
    Csv(ImportCsvArgs),
}

#[derive(Args, Debug)]
pub struct ImportCsvArgs {
    #[arg(long)]
    pub municipality: String,
    #[arg(long)]
    pub profile: String,
    #[arg(long)]
    pub commit: bool,
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct BenchCsvImportArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
}

pub async fn run(_g: &Global, _cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub async fn bench(_g: &Global, _args: BenchCsvImportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
