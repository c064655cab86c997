//! The vendor's webhook endpoint, in the test process (it outlives every server restart). Every
//! delivery is verified with the Standard Webhooks signature and recorded in arrival order; an
//! `instance.provision` is answered with app info, so instances become ready as with a real
//! vendor system.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use koogate_gateway::clock::{Clock, SystemClock};
use koogate_protocol::signing::webhook::{
    self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret,
};
use serde_json::{Value, json};

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub webhook_id: String,
    pub event_type: String,
    pub instance_id: Option<String>,
}

#[derive(Debug)]
struct Inner {
    secret: WebhookSecret,
    arrivals: Mutex<Vec<Arrival>>,
    /// Deliveries refused (bad signature, bad body): each is a test failure.
    problems: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// Binds 127.0.0.1:0 and serves on the current runtime until the runtime ends.
    pub async fn start(secret: &str) -> Self {
        let inner = Arc::new(Inner {
            secret: WebhookSecret::parse(secret),
            arrivals: Mutex::default(),
            problems: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("webhook receiver cannot bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("webhook receiver has no address: {e}"));
        let app = Router::new()
            .route("/hooks", post(handle))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hooks"),
            inner,
        }
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        lock(&self.inner.arrivals).clone()
    }

    pub fn problems(&self) -> Vec<String> {
        lock(&self.inner.problems).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header(HEADER_ID),
        header(HEADER_TIMESTAMP),
        header(HEADER_SIGNATURE),
    );
    let now = SystemClock.now().timestamp();
    if let Err(err) = webhook::verify(&inner.secret, &id, &timestamp, &signature, &body, now) {
        lock(&inner.problems).push(format!("delivery {id:?} fails verification: {err}"));
        return (StatusCode::BAD_REQUEST, "bad signature").into_response();
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        lock(&inner.problems).push(format!("delivery {id:?} is not JSON"));
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let text = |field: &str| event.get(field).and_then(Value::as_str).map(str::to_owned);
    if text("eventId").as_deref() != Some(id.as_str()) {
        lock(&inner.problems).push(format!(
            "delivery {id:?} carries eventId {:?}",
            text("eventId")
        ));
    }
    let event_type = text("type").unwrap_or_default();
    let instance_id = text("instanceId");
    lock(&inner.arrivals).push(Arrival {
        webhook_id: id,
        event_type: event_type.clone(),
        instance_id: instance_id.clone(),
    });
    if event_type == "instance.provision" {
        let id = instance_id.unwrap_or_default();
        let answer = json!({"appInfo": {
            "frontEndUrl": format!("https://app.example/{id}"),
            "userName": "admin",
            "password": format!("pw-{id}"),
        }});
        return (StatusCode::OK, axum::Json(answer)).into_response();
    }
    (StatusCode::OK, axum::Json(json!({}))).into_response()
}
