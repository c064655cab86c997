//! The vendor's webhook receiver: a real axum server on `127.0.0.1:0` that checks every
//! Standard Webhooks signature with the protocol crate's `verify` (independently of how the
//! gateway built its headers), records what arrived, and answers as the test says: up, down
//! (an error status, or not listening at all), and with or without app info for
//! `instance.provision`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use koogate_gateway::clock::{Clock, ManualClock};
use koogate_protocol::signing::webhook::{self, WebhookSecret};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The Standard Webhooks documentation's example secret, the one every test gateway signs with.
pub use koogate_testkit::HOOK_SECRET;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: String,
    pub signature_ok: bool,
    /// What the receiver answered.
    pub status: u16,
    /// The exact body bytes.
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Delivery {
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Debug)]
struct HookState {
    secret: WebhookSecret,
    clock: ManualClock,
    /// `None`: up (2xx). `Some(status)`: down, every request answered with `status`.
    down: Mutex<Option<u16>>,
    /// What a 2xx answer carries, by event type; a type not listed gets `{"ok":true}` (for
    /// `instance.provision`: "I will call /ready later").
    answers: Mutex<HashMap<String, Value>>,
    /// How long the receiver takes before answering, by event type.
    delays: Mutex<HashMap<String, Duration>>,
    /// An error status for every event of a type (while up), by event type.
    statuses: Mutex<HashMap<String, u16>>,
    received: Mutex<Vec<Delivery>>,
    /// Stops the running server; `None` while offline.
    server: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

/// A running receiver. Clones share the same state.
#[derive(Debug, Clone)]
pub struct Hook {
    addr: SocketAddr,
    state: Arc<HookState>,
}

impl Hook {
    pub async fn start(clock: ManualClock) -> Self {
        let state = Arc::new(HookState {
            secret: WebhookSecret::parse(HOOK_SECRET),
            clock,
            down: Mutex::new(None),
            answers: Mutex::default(),
            delays: Mutex::default(),
            statuses: Mutex::default(),
            received: Mutex::new(Vec::new()),
            server: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = Self {
            addr: listener.local_addr().unwrap(),
            state,
        };
        hook.serve(listener);
        hook
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&self.state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        *self.state.server.lock().unwrap() = Some((stop, task));
    }

    /// Stops listening: deliveries fail to connect until [`Self::come_back`].
    pub async fn go_offline(&self) {
        let server = self.state.server.lock().unwrap().take();
        if let Some((stop, task)) = server {
            let _ = stop.send(());
            task.await.unwrap();
        }
    }

    /// Listens again on the same address.
    pub async fn come_back(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every request from now on is answered with `status` (e.g. 503).
    pub fn go_down(&self, status: u16) {
        *self.state.down.lock().unwrap() = Some(status);
    }

    pub fn come_up(&self) {
        *self.state.down.lock().unwrap() = None;
    }

    /// Answers `instance.provision` with `{"appInfo": app_info}`.
    pub fn provide_app_info(&self, app_info: Value) {
        self.answer(
            "instance.provision",
            serde_json::json!({ "appInfo": app_info }),
        );
    }

    /// Answers every event of `event_type` with `body` (when up).
    pub fn answer(&self, event_type: &str, body: Value) {
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(event_type.to_owned(), body);
    }

    /// Answers every event of `event_type` with `status` (when up).
    pub fn refuse(&self, event_type: &str, status: u16) {
        self.state
            .statuses
            .lock()
            .unwrap()
            .insert(event_type.to_owned(), status);
    }

    /// Waits `delay` before answering any event of `event_type`.
    pub fn delay(&self, event_type: &str, delay: Duration) {
        self.state
            .delays
            .lock()
            .unwrap()
            .insert(event_type.to_owned(), delay);
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests answered 2xx, in arrival order.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.received()
            .into_iter()
            .filter(Delivery::accepted)
            .collect()
    }
}

async fn receive(State(state): State<Arc<HookState>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let webhook_id = header(webhook::HEADER_ID);
    let signature_ok = webhook::verify(
        &state.secret,
        &webhook_id,
        &header(webhook::HEADER_TIMESTAMP),
        &header(webhook::HEADER_SIGNATURE),
        &body,
        state.clock.now().timestamp(),
    )
    .is_ok();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let event_type = parsed["type"].as_str().unwrap_or_default().to_owned();
    let refused = state.statuses.lock().unwrap().get(&event_type).copied();
    let status = match *state.down.lock().unwrap() {
        _ if !signature_ok => 401,
        Some(status) => status,
        None => refused.unwrap_or(200),
    };
    let answer = match (state.answers.lock().unwrap().get(&event_type), status) {
        (Some(answer), 200) => answer.to_string(),
        (_, 200) => r#"{"ok":true}"#.to_owned(),
        _ => format!("down with {status}"),
    };
    let delay = state.delays.lock().unwrap().get(&event_type).copied();
    state.received.lock().unwrap().push(Delivery {
        webhook_id,
        signature_ok,
        status,
        raw: body.to_vec(),
        body: parsed,
    });
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let code = StatusCode::from_u16(status).unwrap();
    (code, [("content-type", "application/json")], answer).into_response()
}
