//! `koogate bench`: throughput and latency of `koogate serve` as ratios to ceilings measured in
//! the same run (see `BENCHMARKS.md`). The hidden `generate` and `ceiling` subcommands are the
//! child processes the benchmark starts from this same binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use koogate_bench::ceiling::{self, Ceiling};
use koogate_bench::controller::{self, Options};
use koogate_bench::profile::Profile;
use koogate_bench::report::{Report, table};

use super::{CliError, CmdResult};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    role: Option<Role>,
    /// Short windows: the whole run finishes within 60 s.
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// Tiny windows that only prove everything runs (tests); the figures mean nothing.
    #[arg(long, hide = true)]
    smoke: bool,
    /// Also write every figure as JSON to this file, and a PNG chart next to it.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Benchmark on PostgreSQL: three fresh databases are created on this server and dropped
    /// afterwards (default: SQLite in a temporary directory).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Concurrent connections of the load generator (default 16).
    #[arg(long)]
    concurrency: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Load generator: a plan as JSON on stdin, the result as JSON on stdout.
    #[command(hide = true)]
    Generate,
    /// A ceiling server.
    #[command(hide = true)]
    Ceiling {
        #[arg(value_enum)]
        kind: CeilingArg,
        #[arg(long)]
        listen: SocketAddr,
        /// The storage ceiling's database.
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CeilingArg {
    Http,
    Storage,
}

pub fn run(args: BenchArgs) -> CmdResult {
    let outcome = match args.role {
        Some(Role::Generate) => koogate_bench::generator::run_stdio().map(|()| ExitCode::SUCCESS),
        Some(Role::Ceiling {
            kind,
            listen,
            database_url,
        }) => serve_ceiling(kind, listen, database_url),
        None => bench(&args),
    };
    outcome.map_err(|e| CliError::new(format!("{e:#}")))
}

fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let profile = match (args.smoke, args.quick) {
        (true, _) => Profile::Smoke,
        (_, true) => Profile::Quick,
        _ => Profile::Full,
    };
    let options = Options {
        exe: std::env::current_exe().context("locating the koogate binary")?,
        profile,
        database_url: args.database_url.clone(),
        concurrency: args.concurrency,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let mut progress = |step: &str| {
        eprintln!(
            "koogate bench [{:>5.1} s] {step}",
            started.elapsed().as_secs_f64()
        );
    };
    let report = runtime.block_on(controller::run(&options, &mut progress))?;
    print!("{}", table::render(&report));
    if let Some(path) = &args.json {
        write_outputs(&report, path)?;
    }
    let problems = report.problems();
    for problem in &problems {
        eprintln!("koogate bench: {problem}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The JSON at `path` and the chart beside it, same name with `.png`.
fn write_outputs(report: &Report, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    let chart = path.with_extension("png");
    koogate_bench::chart::render(report, &chart)?;
    eprintln!(
        "koogate bench: wrote {} and {}",
        path.display(),
        chart.display()
    );
    Ok(())
}

fn serve_ceiling(
    kind: CeilingArg,
    listen: SocketAddr,
    database_url: Option<String>,
) -> anyhow::Result<ExitCode> {
    let ceiling = match (kind, database_url) {
        (CeilingArg::Http, _) => Ceiling::Http,
        (CeilingArg::Storage, Some(database_url)) => Ceiling::Storage { database_url },
        (CeilingArg::Storage, None) => anyhow::bail!("the storage ceiling needs --database-url"),
    };
    // The same runtime `koogate serve` uses, so the stacks compare.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        ceiling::serve(&ceiling, listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}
