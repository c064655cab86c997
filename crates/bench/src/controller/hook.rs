//! The vendor's webhook receiver of the outbox drain line, served by the controller itself: it
//! answers every delivery `200` with an empty body at once (an empty answer asks for nothing,
//! so `instance.provision` changes no state) and counts what arrived. It does not verify the
//! Standard Webhooks signature, it only checks that one is there: the deliveries are the real
//! ones, signed by koogate serve and posted over HTTP; checking them is the vendor's cost, not
//! koogate's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the receiver has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Seen {
    /// Distinct `webhook-id`s received with a signature (delivery is at least once).
    pub delivered: u64,
    /// Every POST, repeats and unsigned ones included.
    pub receipts: u64,
    /// POSTs without a `webhook-id` or a `webhook-signature` header.
    pub unsigned: u64,
    /// When the first and the latest distinct event arrived.
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

#[derive(Debug, Default)]
struct Tally {
    ids: HashSet<String>,
    seen: Seen,
}

type Shared = Arc<Mutex<Tally>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Tally> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running receiver; dropping it stops the server.
#[derive(Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`, for `KOOGATE_HOOK_URL`.
    pub url: String,
    shared: Shared,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Binds a free local port and serves on a task of the current runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the webhook receiver")?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        let router = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!(error = %err, "the bench's webhook receiver stopped");
            }
        });
        Ok(Self {
            url: format!("http://{addr}/hook"),
            shared,
            _stop: stop,
        })
    }

    pub fn seen(&self) -> Seen {
        lock(&self.shared).seen
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let now = Instant::now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let signed = headers.contains_key("webhook-signature");
    let mut tally = lock(&shared);
    tally.seen.receipts += 1;
    match id {
        Some(id) if signed => {
            if tally.ids.insert(id) {
                tally.seen.delivered += 1;
                tally.seen.first.get_or_insert(now);
                tally.seen.last = Some(now);
            }
        }
        _ => tally.seen.unsigned += 1,
    }
    StatusCode::OK
}

/// `koogate_outbox_depth` from a `/metrics` page.
pub fn outbox_depth(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("koogate_outbox_depth "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_depth_gauge() {
        let page =
            "# TYPE koogate_outbox_depth gauge\nkoogate_outbox_depth 42\nkoogate_outbox_dead 0\n";
        assert_eq!(outbox_depth(page), Some(42.0));
        assert_eq!(outbox_depth("koogate_outbox_dead 0\n"), None);
    }

    #[tokio::test]
    async fn counts_distinct_signed_deliveries() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let receiver = Receiver::start().await.unwrap();
        let client = reqwest::Client::new();
        for (id, signed) in [("a", true), ("a", true), ("b", true), ("c", false)] {
            let mut request = client
                .post(&receiver.url)
                .header("webhook-id", id)
                .body("{}");
            if signed {
                request = request.header("webhook-signature", "v1,x");
            }
            assert_eq!(request.send().await.unwrap().status(), 200);
        }
        let seen = receiver.seen();
        assert_eq!((seen.delivered, seen.receipts, seen.unsigned), (2, 4, 1));
        assert!(seen.first.is_some() && seen.last >= seen.first);
    }
}
