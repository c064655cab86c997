//! The real gateway over real HTTP, driven by the KooGallery simulator: a fresh database per test
//! (a temp SQLite file, or a fresh PostgreSQL database on the server named by
//! `KOOGATE_TEST_DATABASE_URL`, skipped loudly when unset), the gateway's clock following the
//! simulator's virtual clock, and a watch in front of the gateway that snapshots the store around
//! every request it refuses, so "a refused request changes nothing" is checked on every refusal.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::ManualClock;
use koogate_gateway::config::Config;
use koogate_gateway::domain::Gateway;
use koogate_gateway::outbox::Worker;
use koogate_gateway::store::Store;
use koogate_protocol::AccessKey;
use koogate_sim::faults::Faults;
use koogate_sim::handle::{Sim, SimConfig, SimHandle};
use koogate_sim::openapi::OpenApiConfig;
use koogate_sim::scenario::{Engine, EngineOptions, SigningTime, SimClock, Target};
use koogate_testkit::gateway_config;
use serde_json::Value;
use tokio::net::TcpListener;

pub const KEY: &str = "sim-faults-test-access-key-0001";
pub const TOKEN: &str = "sim-faults-api-token";

/// 2025-03-01T08:00:00Z.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
}

/// What the watch saw of refused (`000001`) requests.
#[derive(Debug, Default)]
pub struct Refusals {
    pub count: usize,
    /// One entry per refusal that changed the store, with the state before and after.
    pub changed: Vec<String>,
}

#[derive(Clone)]
struct Watch {
    store: Arc<dyn Store>,
    refusals: Arc<Mutex<Refusals>>,
}

/// The simulator and the gateway it plays against.
pub struct Rig {
    pub sim: SimHandle,
    /// The gateway's base URL (`http://127.0.0.1:port`).
    pub url: String,
    pub store: Arc<dyn Store>,
    pub refusals: Arc<Mutex<Refusals>>,
    /// For calling domain passes directly (the reconciliation tests).
    #[allow(dead_code)] // not every test binary sharing this harness uses it
    pub gateway: Arc<Gateway>,
    /// The outbox worker, for tests that run it (none runs by itself).
    #[allow(dead_code)] // not every test binary sharing this harness uses it
    pub worker: Worker,
    http: reqwest::Client,
}

impl Rig {
    /// A gateway on `database_url`; with `hook`, a vendor hook is configured, so instances
    /// wait in `provisioning` (the outbox worker is not run: nobody answers the hook).
    pub async fn start(database_url: String, hook: bool) -> Self {
        Self::start_with(database_url, hook, |_| {}).await
    }

    /// As [`Rig::start`], with `configure` adjusting the gateway's config first.
    pub async fn start_with(
        database_url: String,
        hook: bool,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_on_clock(
            database_url,
            hook,
            ManualClock::new(start_time()),
            configure,
        )
        .await
    }

    /// As [`Rig::start_with`], with the gateway on `gateway_clock` (which then follows the
    /// simulator's), for a vendor hook that checks signatures against the same time.
    pub async fn start_on_clock(
        database_url: String,
        hook: bool,
        gateway_clock: ManualClock,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let follower = gateway_clock.clone();
        let clock = SimClock::new(start_time()).on_change(move |t| follower.set(t));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = EngineOptions {
            signing: SigningTime::Virtual,
            ..EngineOptions::default()
        };
        let sim = Sim::start(SimConfig {
            target: target(&format!("http://{addr}/produce")),
            clock,
            options,
            openapi: OpenApiConfig::default(),
        })
        .await
        .unwrap();
        let mut config = Config {
            hook_url: hook.then(|| "http://127.0.0.1:9/never-called".to_owned()),
            ..gateway_config(&database_url, KEY, TOKEN, &sim)
        };
        configure(&mut config);
        let options = Options {
            clock: Arc::new(gateway_clock),
            metrics: None,
            sandbox: false,
            marketplace: None,
        };
        let app = App::build(&config, options).await.unwrap();
        let store = app.state.gateway.store.clone();
        let gateway = app.state.gateway.clone();
        let worker = app.worker.clone();
        let watch = Watch {
            store: store.clone(),
            refusals: Arc::default(),
        };
        let refusals = watch.refusals.clone();
        let router = app
            .router()
            .layer(axum::middleware::from_fn_with_state(watch, refusal_watch));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            sim,
            url: format!("http://{addr}"),
            store,
            refusals,
            gateway,
            worker,
            http: reqwest::Client::new(),
        }
    }

    /// A second KooGallery with `faults`, sharing the simulator's clock and order book (so the
    /// gateway's order queries find its orders) and playing against the same gateway.
    pub fn engine(&self, faults: Faults) -> Engine {
        let options = EngineOptions {
            signing: SigningTime::Virtual,
            faults,
            ..EngineOptions::default()
        };
        let clock = self.sim.clock().clone();
        let target = target(&format!("{}/produce", self.url));
        Engine::new(target, clock, self.sim.book().clone(), options).unwrap()
    }

    /// `GET` on the vendor API, as JSON.
    pub async fn api(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// `POST` a JSON body on the vendor API; returns the status and the JSON answer.
    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/{path}", self.url))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn instances(&self) -> Vec<Value> {
        self.api("instances?limit=500")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Event types for one instance, oldest first.
    pub async fn event_types(&self, instance_id: &str) -> Vec<String> {
        let events = self
            .api(&format!("events?instance={instance_id}&limit=500"))
            .await;
        let mut events: Vec<(i64, String)> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let id = e["id"].as_i64().unwrap();
                (id, e["eventType"].as_str().unwrap().to_owned())
            })
            .collect();
        events.sort();
        events.into_iter().map(|(_, t)| t).collect()
    }

    pub fn refusals(&self) -> std::sync::MutexGuard<'_, Refusals> {
        self.refusals.lock().unwrap()
    }
}

fn target(url: &str) -> Target {
    Target {
        url: url.to_owned(),
        key: AccessKey::new(KEY),
    }
}

/// Everything a request could change: every instance's state and version, and the events.
async fn snapshot(store: &dyn Store) -> String {
    let instances = store.list_instances(500, 0).await.unwrap();
    let events = store.list_events(None, 500).await.unwrap();
    let mut text = String::new();
    for i in instances {
        text.push_str(&format!(
            "{} {} v{} {:?}\n",
            i.instance_id,
            i.status.as_str(),
            i.version,
            i.expire_time
        ));
    }
    text.push_str(&format!("{} events", events.len()));
    text
}

/// Snapshots the store before and after each request; keeps a note when a refused request
/// (`resultCode` `000001`) changed it.
async fn refusal_watch(State(watch): State<Watch>, request: Request, next: Next) -> Response {
    let before = snapshot(watch.store.as_ref()).await;
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let code = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["resultCode"].as_str().map(str::to_owned));
    if code.as_deref() == Some("000001") {
        let after = snapshot(watch.store.as_ref()).await;
        let mut refusals = watch.refusals.lock().unwrap();
        refusals.count += 1;
        if before != after {
            refusals
                .changed
                .push(format!("before:\n{before}\nafter:\n{after}"));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
