//! `furusato`: the command-line entry point (server, demo, data, users, keys, audit, intake).

mod bench_search;
mod cli;
mod cmd_bench;
mod cmd_erase;
mod cmd_export;
mod cmd_import;
mod cmd_sync;
mod commands;
mod config;
mod demo;
mod fonts;
mod keys;

use clap::Parser;

/// mimalloc instead of glibc's malloc: imports and syncs allocate millions of short-lived
/// strings and rows; glibc spent a fifth of an import's CPU time in malloc/free and kept freed
/// memory in per-thread arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // mimalloc asks Linux for transparent huge pages on its large regions, and a 2 MiB page
    // counts whole in the process's memory however little of it is used: a 1,000,000-order sync
    // peaked at 416–462 MB with them and 395 MB without, in the same time (docs/INTAKE.md §1.8).
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("note: transparent huge pages stay enabled ({e})");
    }
    let args = cli::Cli::parse();
    config::init_logging(args.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            // anyhow's alternate format prints the cause chain on one line, no backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
