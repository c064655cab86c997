//! `koogate bench`: the controller. It measures, in one run and on one machine:
//!
//! 1. the crypto cost, in-process;
//! 2. the HTTP ceiling and the storage ceiling, each a `koogate bench ceiling` child process;
//! 3. the five workloads against a `koogate serve` child (SQLite in a temporary directory, or
//!    fresh PostgreSQL databases), with the built-in provisioner; its order queries go to an
//!    open-API simulator served from this process, holding enough `SANDBOX*` orders for every
//!    purchase (so they are not counted in koogate serve's memory);
//! 4. the outbox drain line against a second `koogate serve` whose vendor hook is a webhook
//!    receiver served from this process.
//!
//! Every measurement is a separate `koogate bench generate` process driving the target, so the
//! load generator never shares a process (or an allocator, or a runtime) with what it measures.
//!
//! The machine is shared and noisy: other work only ever slows a measurement down. The full
//! profile therefore runs several rounds, each on fresh databases, and keeps the best rate of
//! every line, ceilings and workloads alike; every round's rate stays in the report.

mod child;
mod database;
mod hook;
mod load;
mod memory;
mod round;
mod workloads;

use std::path::{Path, PathBuf};

use anyhow::Context;
use koogate_gateway::clock::{Clock, SystemClock};

use crate::profile::Profile;
use crate::report::{self, Report};
use database::Databases;
use round::{Measured, Round};

/// What the command line chose.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `koogate` binary whose `serve`, `bench ceiling` and `bench generate` run as children.
    pub exe: PathBuf,
    pub profile: Profile,
    /// `postgres://...`; SQLite when `None`.
    pub database_url: Option<String>,
    /// Overrides the profile's connection count.
    pub concurrency: Option<usize>,
}

/// Runs every round; `progress` hears one line per step.
pub async fn run(options: &Options, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    let settings = options.profile.settings();
    let started_at = SystemClock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let dir = TempDir::new()?;
    let mut rounds = Vec::new();
    for n in 1..=settings.rounds {
        let mut step = |text: &str| {
            if settings.rounds > 1 {
                progress(&format!("round {n}/{}: {text}", settings.rounds));
            } else {
                progress(text);
            }
        };
        let round_dir = dir.path().join(format!("round-{n}"));
        rounds.push(one_round(options, &round_dir, &mut step).await?);
    }
    let backend = if options.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let mut report = Report {
        koogate_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        profile: options.profile,
        backend: backend.to_owned(),
        cores: crate::crypto::cores(),
        warmup_s: settings.warmup.as_secs_f64(),
        measure_s: settings.measure.as_secs_f64(),
        rounds: rounds.len(),
        crypto: report::best_crypto(rounds.iter().map(|r| r.crypto)),
        ceilings: report::best_of(rounds.iter().map(|r| r.ceilings.clone()).collect()),
        workloads: report::best_of(rounds.iter().map(|r| r.workloads.clone()).collect()),
        serve_start_rss_kib: rounds.iter().filter_map(|r| r.serve_start_rss_kib).max(),
        serve_end_rss_kib: rounds.iter().filter_map(|r| r.serve_end_rss_kib).max(),
        serve_peak_rss_kib: None,
        sandbox_orders: rounds.iter().map(|r| r.sandbox_orders).max().unwrap_or(0),
    };
    report.compute_ratios();
    report.compute_peak();
    Ok(report)
}

/// One round on fresh databases, which are dropped afterwards whatever happened.
async fn one_round(
    options: &Options,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Measured> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let databases = Databases::create(options.database_url.as_deref(), dir).await?;
    let measured = match Round::new(options, dir, &databases, progress) {
        Ok(mut round) => round.run().await,
        Err(err) => Err(err),
    };
    if let Err(err) = databases.remove().await {
        progress(&format!("could not drop the benchmark databases: {err:#}"));
    }
    measured
}

/// The run's working directory (databases, secrets, logs), removed when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("koogate-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
