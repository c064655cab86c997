//! Liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use crate::domain::Gateway;

use super::AppState;

/// The process is up. Never touches the database, so it cannot flap with it.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// How long a write check's outcome stands: probes come every few seconds from every load
/// balancer, and each would otherwise be a durable write.
const WRITE_CHECK_TTL: Duration = Duration::from_secs(5);

/// The last write check: when it ran and whether the write succeeded.
#[derive(Debug, Default)]
pub struct WriteCheck {
    last: Mutex<Option<(Instant, bool)>>,
}

impl WriteCheck {
    /// Whether a write succeeds, checked at most once per [`WRITE_CHECK_TTL`]: one nonce-table
    /// row under a `readyz:` prefix (pruned with the nonces), so a read-only, full or locked
    /// database shows as not ready even while reads still work.
    async fn writable(&self, gateway: &Gateway) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, ok)) = *last
            && at.elapsed() < WRITE_CHECK_TTL
        {
            return ok;
        }
        let probe = format!("readyz:{}", uuid::Uuid::new_v4());
        let ok = match gateway
            .store
            .remember_nonce(&probe, gateway.clock.now())
            .await
        {
            Ok(_) => true,
            Err(err) => {
                tracing::error!(error = %err, "readiness: the database cannot be written");
                false
            }
        };
        *last = Some((Instant::now(), ok));
        ok
    }
}

/// Ready to take traffic: the database answers and takes writes. Reports sandbox mode so a
/// misconfigured production deployment cannot pass for a real one.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let gateway = &state.gateway;
    let readable = gateway.store.ping().await.is_ok();
    let writable = readable && state.readiness.writable(gateway).await;
    let body = json!({
        "status": if writable { "ready" } else { "not ready" },
        "database": gateway.store.backend(),
        "database_ok": readable,
        "database_writable": writable,
        "sandbox": gateway.settings.sandbox,
        "mode": if gateway.settings.sandbox { "SANDBOX: order queries go to the embedded KooGallery sandbox" } else { "production" },
    });
    let status = if writable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
