//! `furusato sync rakuten`, `furusato dev rms-mock` and `furusato bench intake` (owned by the intake-sync work).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::Global;

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Run one 楽天 RMS sync for a municipality and print its summary.
    Rakuten(SyncRakutenArgs),
}

#[derive(Args, Debug)]
pub struct SyncRakutenArgs {
    #[arg(long)]
    pub municipality: String,
}

#[derive(Subcommand, Debug)]
pub enum DevCommand {
    /// Serve an RMS-shaped mock of the 楽天 order API.
    RmsMock(RmsMockArgs),
}

#[derive(Args, Debug)]
pub struct RmsMockArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
}

#[derive(Args, Debug)]
pub struct BenchIntakeArgs {
    /// Number of orders.
    #[arg(long, default_value_t = 100_000)]
    pub orders: usize,
}

pub async fn run(_g: &Global, _cmd: SyncCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub async fn run_dev(_g: &Global, _cmd: DevCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub async fn bench(_g: &Global, _args: BenchIntakeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
