//! `spawn_app()`: a whole `koogate serve` in-process, next to KooGallery's simulated open API and,
//! when asked, the vendor's webhook receiver, all on `127.0.0.1:0` with one shared
//! [`ManualClock`].
//!
//! The gateway's router is served directly (not `App::serve`), so no background outbox worker
//! runs: tests drain the outbox with [`TestApp::run_outbox`] and move the clock past retry times
//! instead of sleeping. Every production call goes through [`TestApp::call`], which signs the
//! way KooGallery does (scheme A at the clock's time, fresh nonce) and asserts what every answer
//! must satisfy (HTTP 200, `application/json`, a `Body-Sign` that verifies with the right key
//! over the exact bytes), so individual tests only check what is specific to them.

mod calls;
pub mod db;
pub mod hook;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::{Clock, ManualClock};
use koogate_gateway::config::{Config, Secret};
use koogate_gateway::domain::Gateway;
use koogate_gateway::domain::metering::MeteringWorker;
use koogate_gateway::outbox::Worker;
use koogate_gateway::server;
use koogate_gateway::store::{Instance, InstanceStatus, OutboxEvent, Store};
use koogate_protocol::AccessKey;
use koogate_protocol::messages::ProduceResponse;
use koogate_protocol::signing::scheme_a;
use koogate_sim::openapi::{self, Now, OpenApiHandle};
use koogate_sim::orders::{OrderBook, OrderSpec, PlacedOrder};
use serde_json::Value;
use tokio::sync::oneshot;

pub use db::Snapshot;
pub use hook::Hook;
pub use koogate_testkit::Backend;
use koogate_testkit::{TestDb, gateway_config};

/// Where every test's clock starts: 2025-03-01T08:00:00Z.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
}

/// A loopback URL on which nothing listens: bind port 0, note the port, close it.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// What a test wants from its gateway.
pub struct TestOptions {
    backend: Backend,
    hook: bool,
    sandbox: bool,
    configure: Vec<Configure>,
}

impl std::fmt::Debug for TestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestOptions")
            .field("backend", &self.backend)
            .field("hook", &self.hook)
            .finish_non_exhaustive()
    }
}

impl Default for TestOptions {
    /// SQLite, no hook (the built-in provisioner), not sandbox.
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            hook: false,
            sandbox: false,
            configure: Vec::new(),
        }
    }
}

impl TestOptions {
    /// The given backend, or `None` (after a loud SKIPPED line) when it cannot run here.
    pub fn on(backend: Backend, test: &str) -> Option<Self> {
        Some(Self {
            backend: backend.available(test)?,
            ..Self::default()
        })
    }

    /// Starts a webhook receiver and points `hook_url` at it.
    pub fn with_hook(mut self) -> Self {
        self.hook = true;
        self
    }

    /// `Options.sandbox` (only reported by `/readyz` and logs).
    pub fn sandbox(mut self) -> Self {
        self.sandbox = true;
        self
    }

    /// Changes the generated config before the gateway is built.
    pub fn configure(mut self, change: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure.push(Box::new(change));
        self
    }
}

/// The three keys of the seller center's key categories; the harness makes them all different
/// so that a response signed with the wrong one is caught.
#[derive(Debug, Clone)]
pub struct Keys {
    pub basic: AccessKey,
    pub license: AccessKey,
    pub notify: AccessKey,
}

impl Keys {
    /// The key KooGallery signs `activity` with (spec saas-v2 §2.1); missing or unknown
    /// activities fall under the basic interfaces.
    pub fn for_activity(&self, activity: Option<&str>) -> &AccessKey {
        match activity {
            Some("refreshLicenseCode" | "updateLicenseCodeStatus" | "releaseLicenseCode") => {
                &self.license
            }
            Some("orderNotify") => &self.notify,
            _ => &self.basic,
        }
    }

    /// The key a body's answer must be signed with (by its `activity`, as far as it parses).
    pub fn for_body(&self, body: &[u8]) -> &AccessKey {
        let activity = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("activity").and_then(Value::as_str).map(str::to_owned));
        self.for_activity(activity.as_deref())
    }

    fn all(&self) -> [&AccessKey; 3] {
        [&self.basic, &self.license, &self.notify]
    }
}

/// An answer of the production interface, already checked for the invariants every answer has.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn response(&self) -> ProduceResponse {
        ProduceResponse::from_json_bytes(&self.body).unwrap()
    }

    pub fn code(&self) -> String {
        self.json()["resultCode"].as_str().unwrap().to_owned()
    }

    pub fn instance_id(&self) -> String {
        self.json()["instanceId"].as_str().unwrap().to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the result code, showing the whole body when it differs.
    #[track_caller]
    pub fn assert_code(&self, code: &str) -> &Self {
        assert_eq!(self.code(), code, "unexpected answer: {}", self.text());
        self
    }
}

/// A running gateway and everything around it.
pub struct TestApp {
    pub base_url: String,
    pub produce_url: String,
    pub clock: ManualClock,
    pub keys: Keys,
    pub api_token: String,
    pub worker: Worker,
    pub metering: MeteringWorker,
    pub store: Arc<dyn Store>,
    /// For building more workers on the same gateway (another replica's, say).
    pub gateway: Arc<Gateway>,
    pub hook: Option<Hook>,
    pub http: reqwest::Client,
    sim: Option<OpenApiHandle>,
    sim_addr: std::net::SocketAddr,
    sim_ak: String,
    sim_sk: AccessKey,
    orders: OrderBook,
    reader: db::Reader,
    shutdown: Option<oneshot::Sender<()>>,
    // Declared last: dropped after everything that still uses the database.
    _db: TestDb,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// The SQLite database file, when the test runs on SQLite.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self._db.sqlite_path()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn sim_now(clock: &ManualClock) -> Now {
    let clock = clock.clone();
    Now::from_fn(move || clock.now().timestamp())
}

fn random_key(prefix: &str) -> AccessKey {
    AccessKey::new(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
}

/// Starts the sim open API, the hook receiver (if asked), and the gateway on its own database.
pub async fn spawn_app(options: TestOptions) -> TestApp {
    koogate_gateway::tls::install_default_crypto_provider();
    let clock = ManualClock::new(start_time());
    let keys = Keys {
        basic: random_key("basic"),
        license: random_key("license"),
        notify: random_key("notify"),
    };
    // The sim checks usage-push body signatures with the key bound to the basic interfaces.
    let sim = openapi::start(
        openapi::OpenApiConfig::default()
            .now(sim_now(&clock))
            .basic_key(keys.basic.clone()),
    )
    .await
    .unwrap();
    let hook = match options.hook {
        true => Some(Hook::start(clock.clone()).await),
        false => None,
    };
    let test_db = TestDb::create(options.backend).await;
    let database_url = test_db.url().to_owned();
    let api_token = format!("token-{}", uuid::Uuid::new_v4().simple());

    let mut config = Config {
        license_access_key: Some(Secret::new(keys.license.expose())),
        notify_access_key: Some(Secret::new(keys.notify.expose())),
        hook_url: hook.as_ref().map(Hook::url),
        frontend_url_template: "https://app.example.com/i/{instanceId}".to_owned(),
        ..gateway_config(&database_url, keys.basic.expose(), &api_token, &sim)
    };
    for change in options.configure {
        change(&mut config);
    }

    let app = App::build(
        &config,
        Options {
            clock: Arc::new(clock.clone()),
            metrics: None,
            sandbox: options.sandbox,
            marketplace: None,
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router();
    let (shutdown, stop) = oneshot::channel::<()>();
    // The server loop `serve` uses (timeouts, connection gate, peer addresses), without its
    // background workers: tests drive those themselves.
    let listener = server::GatedTcpListener::new(listener, app.connection_gate());
    let limits = app.serve_limits();
    tokio::spawn(server::serve(listener, router, limits, async move {
        let _ = stop.await;
    }));

    TestApp {
        produce_url: format!("{base_url}{}", config.produce_path),
        base_url,
        clock,
        keys,
        api_token,
        worker: app.worker.clone(),
        metering: app.metering.clone(),
        store: app.state.gateway.store.clone(),
        gateway: app.state.gateway.clone(),
        hook,
        http: reqwest::Client::new(),
        sim_addr: sim.addr,
        sim_ak: sim.ak.clone(),
        sim_sk: sim.sk.clone(),
        orders: sim.orders.clone(),
        sim: Some(sim),
        reader: db::Reader::connect(&database_url).await,
        shutdown: Some(shutdown),
        _db: test_db,
    }
}

/// The query string KooGallery sends: `signature`, `timestamp` (ms) and `nonce`.
pub fn signed_query(key: &AccessKey, timestamp_ms: i64, nonce: &str, body: &[u8]) -> String {
    let timestamp = timestamp_ms.to_string();
    let signature = scheme_a::sign(key, &timestamp, nonce, body);
    format!("signature={signature}&timestamp={timestamp}&nonce={nonce}")
}

pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl TestApp {
    // -----------------------------------------------------------------------------------------
    // The simulated KooGallery order book and open API

    pub fn place_order(&self, spec: OrderSpec) -> PlacedOrder {
        self.orders.place_order(spec)
    }

    /// The open API's usage store: records accepted and their asynchronous anomalies.
    pub fn sim(&self) -> &OpenApiHandle {
        self.sim.as_ref().unwrap()
    }

    /// Every license the open API accepted, oldest first.
    pub fn uploads(&self) -> Vec<openapi::Upload> {
        self.sim
            .as_ref()
            .map(OpenApiHandle::uploads)
            .unwrap_or_default()
    }

    /// Stops the open API: order queries fail until [`Self::restart_openapi`].
    pub async fn stop_openapi(&mut self) {
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await.unwrap();
        }
    }

    /// Serves the open API again on the same address, keys and order book.
    pub async fn restart_openapi(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.sim_addr).await.unwrap();
        let config = openapi::OpenApiConfig::default()
            .keys(&self.sim_ak, self.sim_sk.clone())
            .now(sim_now(&self.clock))
            .orders(self.orders.clone())
            .basic_key(self.keys.basic.clone())
            .listener(listener);
        self.sim = Some(openapi::start(config).await.unwrap());
    }

    // -----------------------------------------------------------------------------------------
    // State, time and the outbox

    /// The clock's time in epoch milliseconds, as signatures carry it.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Delivers every event that is due now; returns the attempts made.
    pub async fn run_outbox(&self) -> usize {
        self.worker.run_pending().await
    }

    pub fn hook(&self) -> &Hook {
        self.hook.as_ref().expect("spawned without a hook")
    }

    /// Runs `sql` on the gateway's database behind its back: for tests that play an operator
    /// (restoring a backup, say).
    pub async fn execute_sql(&self, sql: &'static str) {
        self.reader.execute(sql).await;
    }

    pub async fn snapshot(&self) -> Snapshot {
        Snapshot::take(self.store.as_ref(), &self.reader).await
    }

    pub async fn response_keys(&self) -> Vec<String> {
        self.reader.response_keys().await
    }

    pub async fn instance(&self, instance_id: &str) -> Instance {
        self.store
            .get_instance(instance_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no instance {instance_id}"))
    }

    pub async fn status(&self, instance_id: &str) -> InstanceStatus {
        self.instance(instance_id).await.status
    }

    pub async fn instances(&self) -> Vec<Instance> {
        self.store.list_instances(100_000, 0).await.unwrap()
    }

    /// Events of one ordering key (an instance id), oldest first.
    pub async fn events(&self, ordering_key: &str) -> Vec<OutboxEvent> {
        let mut events = self
            .store
            .list_events(Some(ordering_key), 100_000)
            .await
            .unwrap();
        events.reverse();
        events
    }

    /// Types of one key's events, oldest first.
    pub async fn event_types(&self, ordering_key: &str) -> Vec<String> {
        self.events(ordering_key)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// Every event, oldest first.
    pub async fn all_events(&self) -> Vec<OutboxEvent> {
        let mut events = self.store.list_events(None, 100_000).await.unwrap();
        events.reverse();
        events
    }
}
