pub async fn run(_g: &crate::cli::Global, _a: &crate::cli::DemoArgs) -> anyhow::Result<std::process::ExitCode> { anyhow::bail!("demo not yet") }
