//! The simulator in-process: [`Sim::start`] serves KooGallery's open API (order query, upload,
//! usage pushes, license-code APIs) plus a small inspection API, and returns a [`SimHandle`]
//! that plays flows against the target and exposes everything that happened, so tests read
//! results instead of sleeping.
//!
//! The engine is wired to the open API ([`EngineOptions::openapi`]): instances its flows create
//! are registered for the usage check and follow freeze, unfreeze and release, and
//! `getLicenseAsync` waits for the license upload.
//!
//! Inspection routes (unauthenticated: the simulator listens on loopback by default):
//! `GET /__sim/exchanges`, `/__sim/messages`, `/__sim/orders`, `/__sim/flows`, `/__sim/uploads`,
//! `/__sim/instances`, `/__sim/usage`, `/__sim/usage/anomalies`, `/__sim/licenses`;
//! `POST /__sim/messages/{id}/retrigger`.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use koogate_protocol::AccessKey;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::message_log::{Message, RetriggerError};
use crate::openapi::{
    self, License, OpenApiConfig, OpenApiState, Upload, UsageAnomaly, UsageInstance, UsageRecord,
};
use crate::orders::OrderBook;
use crate::scenario::{
    AttemptInfo, Engine, EngineOptions, ExchangeRecord, Flow, FlowReport, OpenApiLink, OrderState,
    SigningTime, SimClock, Target,
};

mod inspect;

/// How to start a simulator.
#[derive(Debug)]
pub struct SimConfig {
    pub target: Target,
    pub clock: SimClock,
    /// Its `openapi` is replaced by the simulator's own open API (owned by `openapi.ak`).
    pub options: EngineOptions,
    /// Credentials, order book and listener of the open API. Its `now` is replaced by the
    /// virtual clock when requests are signed in virtual time: a target whose clock follows the
    /// simulator's also dates its open-API calls in virtual time. Its `basic_key`, when `None`,
    /// becomes the target's key (the one bound to the basic interfaces).
    pub openapi: OpenApiConfig,
}

impl SimConfig {
    /// Against `target`, on a virtual clock starting now, with KooGallery's documented behaviour
    /// and a fresh open API on `127.0.0.1:0` holding the `MOCK*` orders.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            clock: SimClock::starting_now(),
            options: EngineOptions::default(),
            openapi: OpenApiConfig::default(),
        }
    }
}

/// Why the simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen: {0}")]
    Listen(#[from] io::Error),
    #[error(transparent)]
    Client(#[from] crate::produce_client::BuildError),
}

/// The simulator.
#[derive(Debug, Clone, Copy)]
pub struct Sim;

impl Sim {
    pub async fn start(config: SimConfig) -> Result<SimHandle, StartError> {
        let SimConfig {
            target,
            clock,
            mut options,
            openapi,
        } = config;
        let listener = match openapi.listener {
            Some(listener) => listener,
            None => TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let addr = listener.local_addr()?;
        let now = match options.signing {
            SigningTime::Virtual => clock.as_openapi_now(),
            SigningTime::Wall => openapi.now,
        };
        let state = OpenApiState::new(openapi.orders.clone(), now);
        state.add_key(&openapi.ak, openapi.sk.clone());
        // The target's key is the one bound to the basic interfaces, which signs usage pushes.
        state.set_basic_key(openapi.basic_key.unwrap_or_else(|| target.key.clone()));
        // The target signs its open-API calls with this AK, so the instances it is sold are its.
        options.openapi = Some(OpenApiLink {
            state: state.clone(),
            owner: Some(openapi.ak.clone()),
        });
        let engine = Engine::new(target, clock, openapi.orders, options)?;
        let reports = Arc::new(Mutex::new(Vec::new()));
        let app = openapi::router(state.clone()).merge(inspect::router(inspect::State {
            engine: engine.clone(),
            openapi: state.clone(),
            reports: reports.clone(),
        }));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // An explicit shutdown or the handle being dropped.
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!(error = %err, "simulator server stopped");
            }
        });
        tracing::info!(%addr, "KooGallery simulator listening");
        Ok(SimHandle {
            engine,
            openapi: state,
            ak: openapi.ak,
            sk: openapi.sk,
            addr,
            reports,
            _shutdown: shutdown,
        })
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    engine: Engine,
    openapi: OpenApiState,
    ak: String,
    sk: AccessKey,
    addr: SocketAddr,
    reports: Arc<Mutex<Vec<FlowReport>>>,
    _shutdown: oneshot::Sender<()>,
}

impl SimHandle {
    /// `http://{addr}`: the open-API base URL a target must be configured with.
    pub fn openapi_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The AK a target signs its open-API calls with.
    pub fn ak(&self) -> &str {
        &self.ak
    }

    /// The SK that goes with [`Self::ak`] (for configuring an in-process target).
    pub fn sk(&self) -> &AccessKey {
        &self.sk
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn clock(&self) -> &SimClock {
        self.engine.clock()
    }

    /// The order book the open API answers from (flows place their orders here).
    pub fn book(&self) -> &OrderBook {
        self.engine.book()
    }

    /// See [`Engine::on_attempt`].
    pub fn on_attempt(&self, hook: impl Fn(&AttemptInfo) + Send + Sync + 'static) {
        self.engine.on_attempt(hook);
    }

    /// Plays one flow and keeps its report for [`Self::export_json`].
    pub async fn run_flow(&self, flow: &Flow) -> FlowReport {
        let report = self.engine.run(flow).await;
        lock(&self.reports).push(report.clone());
        report
    }

    /// Every flow report so far.
    pub fn reports(&self) -> Vec<FlowReport> {
        lock(&self.reports).clone()
    }

    /// Every exchange with the target, oldest first.
    pub fn exchanges(&self) -> Vec<ExchangeRecord> {
        self.engine.exchanges().all()
    }

    /// The seller center's 生产接口消息.
    pub fn message_log(&self) -> Vec<Message> {
        self.engine.messages().all()
    }

    /// "重新启动": re-sends message `id` once, now.
    pub async fn retrigger(&self, id: u64) -> Result<ExchangeRecord, RetriggerError> {
        self.engine.messages().retrigger(&self.engine, id).await
    }

    /// Every order a flow placed, with where it stands.
    pub fn orders(&self) -> Vec<OrderState> {
        self.engine.orders().all()
    }

    /// Every license upload the target made to the open API.
    pub fn uploads(&self) -> Vec<Upload> {
        self.openapi.uploads()
    }

    /// Every usage record the target pushed (new and old API), duplicates stored once.
    pub fn usage_records(&self) -> Vec<UsageRecord> {
        self.openapi.usage_records()
    }

    /// The usage records the asynchronous check rejected (the seller center's 话单 anomalies);
    /// await [`OpenApiState::settle_usage`] first to see every one.
    pub fn usage_anomalies(&self) -> Vec<UsageAnomaly> {
        self.openapi.usage_anomalies()
    }

    /// Every instance the usage check knows: those the flows created (with the status the flows
    /// left them in) and any registered by hand.
    pub fn instances(&self) -> Vec<UsageInstance> {
        self.openapi.instances()
    }

    /// Every license code with its activation, heartbeats and usage reports.
    pub fn licenses(&self) -> Vec<License> {
        self.openapi.licenses()
    }

    /// The open API's shared state: keys, and the latency injection fault tests use
    /// ([`OpenApiState::set_latency`]), instances and license codes to set up.
    pub fn openapi(&self) -> &OpenApiState {
        &self.openapi
    }

    /// Every open-API request the target made (order queries, uploads, usage pushes, license calls).
    pub fn openapi_exchanges(&self) -> Vec<openapi::Exchange> {
        self.openapi.exchanges()
    }

    /// The whole record: flows, exchanges, messages, orders, and what the target did on the
    /// open API (uploads, usage records and anomalies so far, instances, license codes).
    pub fn record_json(&self) -> Value {
        inspect::record(&self.engine, &self.openapi, &self.reports)
    }

    /// Writes [`Self::record_json`], pretty-printed, to `path`.
    pub fn export_json(&self, path: &Path) -> io::Result<()> {
        let text = serde_json::to_string_pretty(&self.record_json()).map_err(io::Error::other)?;
        std::fs::write(path, text)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Reports are only pushed and cloned: a poisoned lock holds consistent data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `{"error": message}` for the inspection API.
fn error_json(message: &str) -> Value {
    json!({ "error": message })
}
