//! Liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;

/// The process is up. Never touches the database, so it cannot flap with it.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// Ready to take traffic: the database answers. Reports sandbox mode so a misconfigured
/// production deployment cannot pass for a real one.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.gateway.store.ping().await;
    let body = json!({
        "status": if db.is_ok() { "ready" } else { "not ready" },
        "database": state.gateway.store.backend(),
        "database_ok": db.is_ok(),
        "sandbox": state.gateway.settings.sandbox,
        "mode": if state.gateway.settings.sandbox { "SANDBOX: order queries go to the embedded KooGallery sandbox" } else { "production" },
    });
    let status = if db.is_ok() {
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
