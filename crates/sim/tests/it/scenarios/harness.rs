//! The real koogate gateway in-process as the scenario target, on a temp-file SQLite database,
//! with its clock following the simulator's virtual clock (so scheme-A timestamps signed in
//! virtual time stay inside the gateway's ±60 s window), behind a switch that makes it answer
//! HTTP 503 while "down". Its outbox worker runs as `koogate serve` runs it, so the licenses it
//! issues after `getLicenseAsync` reach the simulator's upload API; the rig also pushes usage
//! the way a vendor would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use chrono::{DateTime, TimeZone, Utc};
use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::ManualClock;
use koogate_gateway::config::{Config, Secret};
use koogate_protocol::AccessKey;
use koogate_protocol::signing::{apig, usage as body_sign};
use koogate_sim::handle::{Sim, SimConfig, SimHandle};
use koogate_sim::openapi::{OpenApiConfig, USAGE_DATA_PATH};
use koogate_sim::scenario::{EngineOptions, SigningTime, SimClock, Target};
use koogate_testkit::{Backend, TestDb, gateway_config};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const KEY: &str = "scenario-test-access-key-0001";
/// An Ed25519 seed in hex (RFC 8032 test 1's secret key; any 32 bytes will do).
const LICENSE_SIGNING_SEED: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// 2025-03-01T08:00:00Z.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
}

/// The simulator, and the gateway it plays against.
pub struct Rig {
    pub sim: SimHandle,
    /// While true the gateway answers every request with HTTP 503.
    pub down: Arc<AtomicBool>,
    pub addr: SocketAddr,
    app: Option<App>,
    /// Dropping it stops the gateway's outbox worker.
    _worker: oneshot::Sender<()>,
    _db: TestDb,
}

impl Rig {
    /// Gateway served at once (behind the 503 switch, initially up).
    pub async fn up(options: EngineOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut rig = Self::build(listener.local_addr().unwrap(), options).await;
        rig.serve(listener);
        rig
    }

    /// Nothing listens on the target's port until [`Rig::come_up`].
    pub async fn unreachable(options: EngineOptions) -> Self {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        Self::build(addr, options).await
    }

    /// Starts serving the gateway on the port that was closed.
    pub async fn come_up(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    async fn build(addr: SocketAddr, mut options: EngineOptions) -> Self {
        let gateway_clock = ManualClock::new(start_time());
        let follower = gateway_clock.clone();
        let clock = SimClock::new(start_time()).on_change(move |t| follower.set(t));
        options.signing = SigningTime::Virtual;
        let target = Target {
            url: format!("http://{addr}/produce"),
            key: AccessKey::new(KEY),
        };
        let sim = Sim::start(SimConfig {
            target,
            clock,
            options,
            openapi: OpenApiConfig::default(),
        })
        .await
        .unwrap();
        let db = TestDb::create(Backend::Sqlite).await;
        let config = Config {
            // Signs the built-in licenses the gateway uploads after getLicenseAsync.
            license_signing_key: Some(Secret::new(LICENSE_SIGNING_SEED)),
            ..gateway_config(db.url(), KEY, "scenario-test-token", &sim)
        };
        let options = Options {
            clock: Arc::new(gateway_clock),
            metrics: None,
            sandbox: true,
            marketplace: None,
        };
        let app = App::build(&config, options).await.unwrap();
        // Not behind the 503 switch: the worker talks to the open API, not to KooGallery's calls.
        let (worker, stop) = oneshot::channel::<()>();
        tokio::spawn(app.worker.clone().run(async move {
            let _ = stop.await;
        }));
        Self {
            sim,
            down: Arc::new(AtomicBool::new(false)),
            addr,
            app: Some(app),
            _worker: worker,
            _db: db,
        }
    }

    /// Pushes one usage record for `instance_id` to the simulator's new usage API as a vendor
    /// would: the body signed with the basic-interface key, the request APIG-signed with the
    /// simulator's AK/SK at virtual time, for the hour that ended ten minutes ago. Returns the
    /// answer's body.
    pub async fn push_usage(&self, instance_id: &str, metering_sn: &str) -> Value {
        let now = self.sim.clock().now();
        let at = |minutes_ago: i64| {
            (now - chrono::Duration::minutes(minutes_ago))
                .format("%Y%m%dT%H%M%SZ")
                .to_string()
        };
        let body = json!({"usage_records": [{
            "instance_id": instance_id,
            "metering_sn": metering_sn,
            "begin_time": at(70),
            "end_time": at(10),
            "record_time": at(5),
            "usage_value": "2.5",
        }]})
        .to_string();
        let ts = self.sim.clock().now_ms().to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let signature = body_sign::sign(&AccessKey::new(KEY), &ts, &nonce, &body);
        let url = format!("{}{USAGE_DATA_PATH}", self.sim.openapi_url());
        let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
        let request = apig::Request {
            method: "POST",
            url: &url,
            headers: &headers,
            body: body.as_bytes(),
        };
        let date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let signed = apig::sign(self.sim.ak(), self.sim.sk(), &date, &request).unwrap();
        let response = reqwest::Client::new()
            .post(&url)
            .header("Content-Type", "application/json")
            .header(apig::HEADER_DATE, &signed.sdk_date)
            .header(apig::HEADER_AUTHORIZATION, &signed.authorization)
            .header("signature", signature)
            .header("ts", ts)
            .header("nonce", nonce)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    fn serve(&mut self, listener: TcpListener) {
        let app = self.app.take().expect("the gateway is served once");
        let down = self.down.clone();
        let router = app.router().layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let down = down.clone();
                async move {
                    if down.load(Ordering::SeqCst) {
                        (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
                    } else {
                        next.run(req).await
                    }
                }
            },
        ));
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
}
