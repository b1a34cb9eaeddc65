pub async fn run(_g: &crate::cli::Global, _a: &crate::cmd_bench::SearchBenchArgs) -> anyhow::Result<std::process::ExitCode> { anyhow::bail!("not yet") }
