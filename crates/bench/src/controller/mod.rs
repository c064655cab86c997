//! `koogate bench`: the controller. It measures, in one run and on one machine:
//!
//! 1. the crypto cost, in-process;
//! 2. the HTTP ceiling and the storage ceiling, each a `koogate bench ceiling` child process;
//! 3. the five workloads against a `koogate serve` child (SQLite in a temporary directory, or
//!    fresh PostgreSQL databases), with the built-in provisioner and the embedded sandbox
//!    holding enough `SANDBOX*` orders for every purchase.
//!
//! Every measurement is a separate `koogate bench generate` process driving the target, so the
//! load generator never shares a process (or an allocator, or a runtime) with what it measures.

mod child;
mod database;
mod load;
mod memory;
mod workloads;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use koogate_gateway::clock::{Clock, SystemClock};

use crate::ceiling::PATH;
use crate::plan::{LoadPlan, Workload};
use crate::profile::{Profile, Settings};
use crate::report::{CeilingKind, Report, Row};
use child::ServerChild;
use database::Databases;
use workloads::Spec;

/// Start-up can include migrations and placing many sandbox orders.
const START_WITHIN: Duration = Duration::from_secs(60);

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

/// Runs everything; `progress` hears one line per step.
pub async fn run(options: &Options, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    let dir = TempDir::new()?;
    let databases = Databases::create(options.database_url.as_deref(), dir.path()).await?;
    let mut run = Run::new(options, dir.path(), &databases, progress)?;
    let report = run.everything().await;
    if let Err(err) = databases.remove().await {
        (run.progress)(&format!("could not drop the benchmark databases: {err:#}"));
    }
    report
}

struct Run<'a> {
    options: &'a Options,
    settings: Settings,
    concurrency: usize,
    dir: &'a Path,
    databases: &'a Databases,
    /// The gateway's access key; generators get it on stdin, nothing prints it.
    key: String,
    api_token: String,
    http: reqwest::Client,
    progress: &'a mut dyn FnMut(&str),
}

impl<'a> Run<'a> {
    fn new(
        options: &'a Options,
        dir: &'a Path,
        databases: &'a Databases,
        progress: &'a mut dyn FnMut(&str),
    ) -> anyhow::Result<Self> {
        let settings = options.profile.settings();
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            options,
            settings,
            concurrency: options.concurrency.unwrap_or(settings.concurrency).max(1),
            dir,
            databases,
            key: uuid::Uuid::new_v4().simple().to_string(),
            api_token: uuid::Uuid::new_v4().simple().to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            progress,
        })
    }

    async fn everything(&mut self) -> anyhow::Result<Report> {
        let started_at = SystemClock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        (self.progress)("crypto cost (in-process, one core)");
        let crypto = crate::crypto::measure(self.settings.crypto);
        let http = self
            .ceiling(CeilingKind::Http, self.settings.max_budget)
            .await?;
        let budget = self.settings.budget_for(http.result.rps, 500);
        let storage = self.ceiling(CeilingKind::Storage, budget).await?;
        let (workloads, serve_start_rss_kib) =
            self.workloads(http.result.rps, storage.result.rps).await?;
        let mut report = Report {
            koogate_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            profile: self.options.profile,
            backend: self.databases.backend().to_owned(),
            cores: crypto.cores,
            warmup_s: self.settings.warmup.as_secs_f64(),
            measure_s: self.settings.measure.as_secs_f64(),
            crypto,
            ceilings: vec![http, storage],
            workloads,
            serve_start_rss_kib,
        };
        report.compute_ratios();
        Ok(report)
    }

    async fn ceiling(&mut self, kind: CeilingKind, budget: usize) -> anyhow::Result<Row> {
        let label = kind.label();
        (self.progress)(&format!("{label} ceiling"));
        let addr = SocketAddr::from(([127, 0, 0, 1], child::free_port()?));
        let mut command = child::command(&self.options.exe);
        command.args(["bench", "ceiling", label, "--listen", &addr.to_string()]);
        if kind == CeilingKind::Storage {
            std::fs::create_dir_all(self.dir.join("ceiling"))?;
            command.args(["--database-url", &self.databases.ceiling_url()?]);
        }
        let log = self.dir.join(format!("{label}-ceiling.log"));
        let mut server = ServerChild::spawn(command, &format!("{label} ceiling"), &log)?;
        server.wait_listening(addr, START_WITHIN).await?;
        let (key, name, what) = match kind {
            CeilingKind::Http => (
                "http_ceiling",
                "HTTP ceiling",
                "the same HTTP stack answering a fixed signed-size JSON body, no work",
            ),
            CeilingKind::Storage => (
                "storage_ceiling",
                "storage ceiling",
                "the HTTP ceiling plus one durable single-row INSERT transaction per request \
                 through koogate's own store (same pool and sync settings)",
            ),
        };
        let url = format!("http://{addr}{PATH}");
        let spec = Spec {
            key,
            name,
            what,
            ceiling: None,
            workload: Workload::Ceiling { budget },
        };
        let row = self.measure(&server, &url, &spec).await;
        server.stop().await;
        row
    }

    /// The workload rows and the server's memory just after start-up.
    async fn workloads(
        &mut self,
        http_rps: f64,
        storage_rps: f64,
    ) -> anyhow::Result<(Vec<Row>, Option<u64>)> {
        let (specs, orders) = workloads::specs(&self.settings, http_rps, storage_rps);
        (self.progress)(&format!("starting koogate serve ({orders} sandbox orders)"));
        let (server, base_url) = self.start_gateway(orders).await?;
        let url = format!("{base_url}{PATH}");
        let start_rss = server.pid().and_then(memory::current_kib);
        let mut rows = Vec::new();
        for spec in specs {
            (self.progress)(spec.name);
            let mut row = match self.measure(&server, &url, &spec).await {
                Ok(row) => row,
                Err(err) => {
                    let tail = server.log_tail(20);
                    server.stop().await;
                    return Err(err.context(format!("koogate serve's log ends with:\n{tail}")));
                }
            };
            row.outbox_drain_s =
                load::drain_outbox(&self.http, &base_url, &self.api_token, self.settings.drain)
                    .await?;
            rows.push(row);
        }
        server.stop().await;
        Ok((rows, start_rss))
    }

    async fn start_gateway(&self, orders: usize) -> anyhow::Result<(ServerChild, String)> {
        let addr = SocketAddr::from(([127, 0, 0, 1], child::free_port()?));
        let mut command = child::command(&self.options.exe);
        command
            .arg("serve")
            .env("KOOGATE_LISTEN", addr.to_string())
            .env("KOOGATE_DATA_DIR", self.dir.join("gateway"))
            .env("KOOGATE_ACCESS_KEY", &self.key)
            .env("KOOGATE_API_TOKEN", &self.api_token)
            .env("KOOGATE_SANDBOX_ORDERS", orders.to_string())
            // The default, stated so that a caller's KOOGATE_LOG=debug cannot slow the server.
            .env("KOOGATE_LOG", "info");
        if let Some(url) = self.databases.gateway_url()? {
            command.env("KOOGATE_DATABASE_URL", url);
        }
        let log = self.dir.join("serve.log");
        let mut server = ServerChild::spawn(command, "koogate serve", &log)?;
        server.wait_listening(addr, START_WITHIN).await?;
        Ok((server, format!("http://{addr}")))
    }

    async fn measure(
        &mut self,
        server: &ServerChild,
        url: &str,
        spec: &Spec,
    ) -> anyhow::Result<Row> {
        let pid = server.pid();
        let peak_rss_reset = pid.is_some_and(memory::reset_peak);
        let plan = LoadPlan {
            url: url.to_owned(),
            key: self.key.clone(),
            workload: spec.workload,
            concurrency: self.concurrency,
            warmup_ms: duration_ms(self.settings.warmup),
            measure_ms: duration_ms(self.settings.measure),
        };
        let result = load::generate(&self.options.exe, &plan)
            .await
            .with_context(|| format!("measuring {}", spec.name))?;
        Ok(Row {
            key: spec.key.to_owned(),
            name: spec.name.to_owned(),
            what: spec.what.to_owned(),
            concurrency: self.concurrency,
            result,
            peak_rss_kib: pid.and_then(memory::peak_kib),
            peak_rss_reset,
            ceiling: spec.ceiling,
            ratio: None,
            ratio_http: None,
            ratio_storage: None,
            crypto_share: None,
            outbox_drain_s: None,
        })
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
