//! HTTP surface: the production interface KooGallery calls, the vendor REST API, and operations
//! endpoints. `router(state)` builds everything so tests can drive it without a socket.

pub mod api;
pub mod extract;
pub mod kit;
pub mod kit_api;
pub mod ops;
pub mod produce;
pub mod reconcile_api;
pub mod reply;
pub mod request_id;
pub mod usage_api;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::domain::Gateway;

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// Renders `/metrics`; `None` when another recorder is installed (tests).
    pub metrics: Option<PrometheusHandle>,
    /// Bearer token of the vendor REST API.
    pub api_token: crate::config::Secret,
}

/// All routes. `produce_path` is the production-interface path registered with KooGallery.
pub fn router(state: AppState, produce_path: &str, body_limit: usize) -> Router {
    Router::new()
        .route(produce_path, post(produce::handle))
        .route(&kit::route_pattern(produce_path), post(kit::handle))
        .route("/api/v1/instances", get(api::list_instances))
        .route("/api/v1/instances/{id}", get(api::get_instance))
        .route("/api/v1/instances/{id}/ready", post(api::mark_ready))
        .route(
            "/api/v1/instances/{id}/usage",
            get(usage_api::instance_usage),
        )
        .route("/api/v1/usage", post(usage_api::report))
        .route("/api/v1/license-key", get(api::license_key))
        .route("/api/v1/reconciliation", get(reconcile_api::list))
        .route("/api/v1/kit/{kind}", get(kit_api::list))
        .route("/api/v1/events", get(api::list_events))
        .route("/api/v1/events/{id}/redeliver", post(api::redeliver))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}
