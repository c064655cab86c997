//! One round: the crypto cost, the ceilings, then `koogate serve` and the workloads, on fresh
//! databases. A full run repeats rounds and keeps each line's best (see [`super::run`]).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::child::{self, ServerChild};
use super::database::Databases;
use super::workloads::{self, Spec};
use super::{Options, load, memory};
use crate::ceiling::PATH;
use crate::crypto::CryptoCost;
use crate::plan::{LoadPlan, Workload};
use crate::profile::Settings;
use crate::report::Row;

/// Start-up can include migrations and placing many sandbox orders.
const START_WITHIN: Duration = Duration::from_secs(60);

/// What one round measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub crypto: CryptoCost,
    pub ceilings: Vec<Row>,
    pub workloads: Vec<Row>,
    pub serve_start_rss_kib: Option<u64>,
    pub sandbox_orders: usize,
}

pub struct Round<'a> {
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

impl<'a> Round<'a> {
    pub fn new(
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

    /// Measures the crypto cost, the ceilings and the workloads once.
    pub async fn run(&mut self) -> anyhow::Result<Measured> {
        (self.progress)("crypto cost (in-process, one core)");
        let crypto = crate::crypto::measure(self.settings.crypto);
        let mut ceilings: Vec<Row> = Vec::new();
        for ceiling in workloads::ceilings() {
            // The HTTP ceiling bounds every other rate, so it sizes their budgets.
            let budget = match ceilings.first() {
                None => self.settings.max_budget,
                Some(http) => self.settings.budget_for(http.result.rps, 500),
            };
            ceilings.push(self.ceiling(&ceiling, budget).await?);
        }
        let rps = |key: &str| {
            ceilings
                .iter()
                .find(|r| r.key == key)
                .map_or(0.0, |r| r.result.rps)
        };
        let (http_rps, storage_rps) = (rps(workloads::HTTP), rps(workloads::STORAGE));
        let (specs, sandbox_orders) = workloads::specs(&self.settings, http_rps, storage_rps);
        let (workloads, serve_start_rss_kib) = self.workloads(specs, sandbox_orders).await?;
        Ok(Measured {
            crypto,
            ceilings,
            workloads,
            serve_start_rss_kib,
            sandbox_orders,
        })
    }

    async fn ceiling(
        &mut self,
        ceiling: &workloads::CeilingRun,
        budget: usize,
    ) -> anyhow::Result<Row> {
        (self.progress)(ceiling.spec.name);
        let addr = SocketAddr::from(([127, 0, 0, 1], child::free_port()?));
        let mut command = child::command(&self.options.exe);
        command.args([
            "bench",
            "ceiling",
            ceiling.arg,
            "--listen",
            &addr.to_string(),
        ]);
        if ceiling.arg != "http" {
            let url = self.databases.ceiling_url(ceiling.arg)?;
            command.args(["--database-url", &url]);
        }
        let log = self.dir.join(format!("{}.log", ceiling.spec.key));
        let mut server = ServerChild::spawn(command, ceiling.spec.name, &log)?;
        server.wait_listening(addr, START_WITHIN).await?;
        let url = format!("http://{addr}{PATH}");
        let spec = Spec {
            workload: Workload::Ceiling { budget },
            ..ceiling.spec.clone()
        };
        let row = self.measure(&server, &url, &spec).await;
        server.stop().await;
        row
    }

    /// The workload rows and the server's memory just after start-up.
    async fn workloads(
        &mut self,
        specs: Vec<Spec>,
        orders: usize,
    ) -> anyhow::Result<(Vec<Row>, Option<u64>)> {
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
            round_rps: Vec::new(),
            outbox_drain_s: None,
        })
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
