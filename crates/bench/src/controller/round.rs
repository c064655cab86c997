//! One round: the crypto cost, the ceilings, then `koogate serve` and the workloads, then a
//! second `koogate serve` with a vendor hook for the outbox drain line, on fresh databases. A
//! full run repeats rounds and keeps each line's best (see [`super::run`]).
//!
//! The `SANDBOX*` orders the purchases need are held by an open-API simulator served from this
//! controller process, which both servers query through `KOOGATE_OPENAPI_URL` as they would
//! KooGallery's; they are no longer placed in koogate serve's embedded sandbox, so koogate
//! serve's memory is its own.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use koogate_protocol::AccessKey;
use koogate_sim::openapi::{OpenApiConfig, OpenApiHandle};
use koogate_sim::orders::{OrderBook, OrderSpec, OrderType};

use super::child::{self, ServerChild};
use super::database::{Databases, Gateway};
use super::hook::{self, Receiver, Seen};
use super::workloads::{self, Spec};
use super::{Options, load, memory};
use crate::ceiling::PATH;
use crate::crypto::CryptoCost;
use crate::plan::{LoadPlan, LoadResult, Workload};
use crate::profile::Settings;
use crate::report::{Drain, Row};

/// After the last delivery, how long the outbox depth gauge (refreshed at most once a second,
/// and by an idle worker about once a second) needs before a reading of 0 can be trusted.
const GAUGE_SETTLES: Duration = Duration::from_millis(2_500);

/// Start-up can include migrations and placing many sandbox orders.
const START_WITHIN: Duration = Duration::from_secs(60);

/// What one round measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub crypto: CryptoCost,
    pub ceilings: Vec<Row>,
    pub workloads: Vec<Row>,
    pub serve_start_rss_kib: Option<u64>,
    pub serve_end_rss_kib: Option<u64>,
    pub sandbox_orders: usize,
}

/// The workloads' server's memory: idle after start-up and after the last workload.
#[derive(Debug, Clone, Copy, Default)]
struct Idle {
    start_kib: Option<u64>,
    end_kib: Option<u64>,
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
            ceilings.push(self.ceiling(&ceiling).await?);
        }
        let rps = |key: &str| {
            ceilings
                .iter()
                .find(|r| r.key == key)
                .map_or(0.0, |r| r.result.rps)
        };
        let (http_rps, storage_rps) = (rps(workloads::HTTP), rps(workloads::STORAGE));
        let (specs, orders) = workloads::specs(&self.settings, http_rps, storage_rps);
        let drain = workloads::drain(&self.settings, storage_rps, orders);
        let Workload::Burst { purchases, .. } = drain.workload else {
            anyhow::bail!("the drain line is a burst");
        };
        let sandbox_orders = orders + purchases;
        (self.progress)(&format!(
            "placing {sandbox_orders} sandbox orders in the bench's open-API simulator"
        ));
        let open_api = open_api(sandbox_orders).await?;
        let (mut rows, idle) = self.workloads(specs, &open_api).await?;
        (self.progress)(drain.name);
        rows.push(self.drain(&drain, &open_api).await?);
        Ok(Measured {
            crypto,
            ceilings,
            workloads: rows,
            serve_start_rss_kib: idle.start_kib,
            serve_end_rss_kib: idle.end_kib,
            sandbox_orders,
        })
    }

    /// A ceiling's line: its generator cycles through a prepared set and never runs out.
    async fn ceiling(&mut self, ceiling: &workloads::CeilingRun) -> anyhow::Result<Row> {
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
        let row = self.measure(&server, &url, &ceiling.spec).await;
        server.stop().await;
        row
    }

    /// The workload rows and the server's idle memory before and after them.
    async fn workloads(
        &mut self,
        specs: Vec<Spec>,
        open_api: &OpenApiHandle,
    ) -> anyhow::Result<(Vec<Row>, Idle)> {
        (self.progress)("starting koogate serve");
        let (server, base_url) = self
            .start_gateway(open_api, Gateway::Workloads, None)
            .await?;
        let url = format!("{base_url}{PATH}");
        let start_kib = server.pid().and_then(memory::current_kib);
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
        let end_kib = server.pid().and_then(memory::current_kib);
        server.stop().await;
        Ok((rows, Idle { start_kib, end_kib }))
    }

    /// The outbox drain line on a `koogate serve` of its own whose vendor hook is a receiver in
    /// this process: the burst, then distinct events delivered per second until the outbox is
    /// empty (or the profile's limit).
    async fn drain(&mut self, spec: &Spec, open_api: &OpenApiHandle) -> anyhow::Result<Row> {
        let receiver = Receiver::start().await?;
        let (server, base_url) = self
            .start_gateway(open_api, Gateway::Drain, Some(&receiver.url))
            .await?;
        let url = format!("{base_url}{PATH}");
        let measured = self.burst_and_drain(&server, &url, &base_url, spec, &receiver);
        let measured = measured.await;
        let measured = match measured {
            Ok(row) => row,
            Err(err) => {
                let tail = server.log_tail(20);
                server.stop().await;
                return Err(err.context(format!("koogate serve's log ends with:\n{tail}")));
            }
        };
        server.stop().await;
        Ok(measured)
    }

    async fn burst_and_drain(
        &mut self,
        server: &ServerChild,
        url: &str,
        base_url: &str,
        spec: &Spec,
        receiver: &Receiver,
    ) -> anyhow::Result<Row> {
        let mut row = self.measure(server, url, spec).await?;
        let burst_end = Instant::now();
        let at_end = receiver.seen();
        let emptied = self.wait_empty(base_url, receiver, burst_end).await?;
        let seen = receiver.seen();
        let drain_end = if emptied {
            seen.last.unwrap_or(burst_end).max(burst_end)
        } else {
            Instant::now()
        };
        let figures = drain_rate(&row.result, burst_end, at_end, seen, drain_end, emptied);
        row.peak_rss_kib = server.pid().and_then(memory::peak_kib);
        row.outbox_drain_s =
            emptied.then(|| drain_end.saturating_duration_since(burst_end).as_secs_f64());
        row.result = figures.0;
        row.drain = Some(figures.1);
        Ok(row)
    }

    /// Polls `/metrics` until `koogate_outbox_depth` reads 0 on a reading taken long enough after
    /// the last delivery to be fresh; `false` at the profile's limit.
    async fn wait_empty(
        &self,
        base_url: &str,
        receiver: &Receiver,
        burst_end: Instant,
    ) -> anyhow::Result<bool> {
        let limit = burst_end + self.settings.drain_line_limit;
        let url = format!("{base_url}/metrics");
        loop {
            let now = Instant::now();
            let quiet_since = receiver.seen().last.unwrap_or(burst_end).max(burst_end);
            if now.saturating_duration_since(quiet_since) >= GAUGE_SETTLES {
                let page = self
                    .http
                    .get(&url)
                    .bearer_auth(&self.api_token)
                    .send()
                    .await?
                    .error_for_status()?
                    .text()
                    .await?;
                if hook::outbox_depth(&page) == Some(0.0) {
                    return Ok(true);
                }
            }
            if now >= limit {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn start_gateway(
        &self,
        open_api: &OpenApiHandle,
        which: Gateway,
        hook_url: Option<&str>,
    ) -> anyhow::Result<(ServerChild, String)> {
        let addr = SocketAddr::from(([127, 0, 0, 1], child::free_port()?));
        let name = match which {
            Gateway::Workloads => "gateway",
            Gateway::Drain => "gateway-drain",
        };
        let mut command = child::command(&self.options.exe);
        command
            .arg("serve")
            .env("KOOGATE_LISTEN", addr.to_string())
            .env("KOOGATE_DATA_DIR", self.dir.join(name))
            .env("KOOGATE_ACCESS_KEY", &self.key)
            .env("KOOGATE_API_TOKEN", &self.api_token)
            // The bench's simulator, as KooGallery's open API: the orders live there.
            .env("KOOGATE_OPENAPI_URL", &open_api.base_url)
            .env("KOOGATE_AK", &open_api.ak)
            .env("KOOGATE_SK", open_api.sk.expose())
            // The default, stated so that a caller's KOOGATE_LOG=debug cannot slow the server.
            .env("KOOGATE_LOG", "info");
        if let Some(url) = hook_url {
            command.env("KOOGATE_HOOK_URL", url);
        }
        if let Some(url) = self.databases.gateway_url(which)? {
            command.env("KOOGATE_DATABASE_URL", url);
        }
        let log = self.dir.join(format!("{name}.log"));
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
            drain: None,
        })
    }
}

/// The open-API simulator holding the nine `MOCK*` orders and `SANDBOX000000` up to `orders`
/// (monthly periodic purchases, line `{orderId}-000001`), as `KOOGATE_SANDBOX_ORDERS` would
/// place them in koogate serve's embedded sandbox.
async fn open_api(orders: usize) -> anyhow::Result<OpenApiHandle> {
    let book = OrderBook::seeded();
    for n in 0..orders {
        let (id, _) = crate::generator::order(n);
        book.place_order(OrderSpec::new(OrderType::New).id(&id));
    }
    let ak = format!("BENCH{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    let sk = uuid::Uuid::new_v4().simple().to_string();
    koogate_sim::openapi::start(
        OpenApiConfig::default()
            .keys(&ak, AccessKey::new(&sk))
            .orders(book),
    )
    .await
    .context("starting the bench's open-API simulator")
}

/// The drain line's figures: events delivered per second after the burst's end, or, when the
/// outbox kept up with the burst (nothing left at its end), from the first event to the last.
fn drain_rate(
    burst: &LoadResult,
    burst_end: Instant,
    at_end: Seen,
    seen: Seen,
    drain_end: Instant,
    emptied: bool,
) -> (LoadResult, Drain) {
    let after_end = seen.delivered.saturating_sub(at_end.delivered);
    let (events, from, to, measured_from) = if after_end > 0 {
        (after_end, burst_end, drain_end, "burst_end")
    } else {
        // Everything arrived during the burst: from the first delivery to the last.
        let to = if emptied {
            seen.last.unwrap_or(drain_end)
        } else {
            drain_end
        };
        (
            seen.delivered,
            seen.first.unwrap_or(burst_end),
            to,
            "first_event",
        )
    };
    let window_s = to.saturating_duration_since(from).as_secs_f64();
    let result = LoadResult {
        requests: events,
        ok: events,
        errors: burst.errors + seen.unsigned,
        window_s,
        rps: if window_s > 0.0 {
            events as f64 / window_s
        } else {
            0.0
        },
        latency: crate::stats::Latency::default(),
        codes: burst.codes.clone(),
        error_samples: burst.error_samples.clone(),
        exhausted: false,
        setup_requests: burst.requests,
    };
    let drain = Drain {
        purchases: burst.ok,
        burst_s: burst.window_s,
        burst_rps: burst.rps,
        events: seen.delivered,
        backlog_at_burst_end: after_end,
        measured_from: measured_from.to_owned(),
        emptied,
        unsigned: seen.unsigned,
    };
    (result, drain)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst() -> LoadResult {
        LoadResult {
            requests: 100,
            ok: 100,
            window_s: 1.0,
            rps: 100.0,
            ..LoadResult::default()
        }
    }

    #[test]
    fn the_drain_rate_counts_from_the_burst_end() {
        let end = Instant::now();
        let at_end = Seen {
            delivered: 20,
            receipts: 20,
            first: Some(end - Duration::from_millis(500)),
            last: Some(end),
            ..Seen::default()
        };
        let seen = Seen {
            delivered: 100,
            receipts: 101,
            last: Some(end + Duration::from_secs(2)),
            ..at_end
        };
        let (result, drain) = drain_rate(
            &burst(),
            end,
            at_end,
            seen,
            end + Duration::from_secs(2),
            true,
        );
        assert_eq!((result.requests, result.ok, result.errors), (80, 80, 0));
        assert!((result.rps - 40.0).abs() < 1e-9, "{}", result.rps);
        assert_eq!(drain.measured_from, "burst_end");
        assert_eq!((drain.purchases, drain.events), (100, 100));
        assert_eq!(drain.backlog_at_burst_end, 80);
    }

    #[test]
    fn an_outbox_that_kept_up_is_measured_from_the_first_event() {
        let end = Instant::now();
        let seen = Seen {
            delivered: 100,
            receipts: 100,
            first: Some(end - Duration::from_secs(2)),
            last: Some(end - Duration::from_secs(1)),
            ..Seen::default()
        };
        let (result, drain) = drain_rate(&burst(), end, seen, seen, end, true);
        assert_eq!(drain.measured_from, "first_event");
        assert!((result.rps - 100.0).abs() < 1e-9, "{}", result.rps);
    }
}
