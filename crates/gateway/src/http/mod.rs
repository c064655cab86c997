//! HTTP surface: the production interface KooGallery calls, the vendor REST API, and operations
//! endpoints. `router(state)` builds everything so tests can drive it without a socket.

pub mod api;
pub mod auth_limit;
pub mod extract;
pub mod guard;
pub mod kit;
pub mod kit_api;
pub mod license_code_api;
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
    /// Wrong bearer tokens per peer address.
    pub auth_limiter: Arc<auth_limit::AuthLimiter>,
    /// The cached outcome of `/readyz`'s write check.
    pub readiness: Arc<ops::WriteCheck>,
}

impl AppState {
    pub fn new(
        gateway: Arc<Gateway>,
        metrics: Option<PrometheusHandle>,
        api_token: crate::config::Secret,
    ) -> Self {
        Self {
            gateway,
            metrics,
            api_token,
            auth_limiter: Arc::default(),
            readiness: Arc::default(),
        }
    }
}

/// Which routes a router carries: everything on one listener, or the production interface
/// and the operations endpoints on listeners of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    All,
    /// The production interface and the Kit path (what KooGallery calls), plus `/healthz`.
    Public,
    /// The vendor API, `/readyz`, `/metrics` and `/healthz`.
    Operations,
}

/// The routes `routes` names, behind the body guard. `guard.produce_path` is the
/// production-interface path registered with KooGallery.
pub fn router(state: AppState, routes: Routes, guard: guard::BodyGuard) -> Router {
    let produce_path = guard.produce_path.clone();
    let mut router = Router::new().route("/healthz", get(ops::healthz));
    if routes != Routes::Operations {
        router = router
            .route(&produce_path, post(produce::handle))
            .route(&kit::route_pattern(&produce_path), post(kit::handle));
    }
    if routes != Routes::Public {
        router = router
            .route("/api/v1/instances", get(api::list_instances))
            .route("/api/v1/instances/{id}", get(api::get_instance))
            .route("/api/v1/instances/{id}/ready", post(api::mark_ready))
            .route(
                "/api/v1/instances/{id}/usage",
                get(usage_api::instance_usage),
            )
            .route("/api/v1/usage", post(usage_api::report))
            .route("/api/v1/license-key", get(api::license_key))
            .route("/api/v1/license-codes", get(license_code_api::list))
            .route("/api/v1/license-codes/{code}", get(license_code_api::get))
            .route("/api/v1/kit/{kind}", get(kit_api::list))
            .route("/api/v1/events", get(api::list_events))
            .route("/api/v1/events/{id}/redeliver", post(api::redeliver))
            .route("/api/v1/reconciliation", get(reconcile_api::list))
            .route("/readyz", get(ops::readyz))
            .route("/metrics", get(ops::metrics));
    }
    let limit = guard.limit;
    router
        // A backstop only: the guard has already buffered (and bounded) every body.
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}
