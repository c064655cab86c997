//! The inspection API: the same record the handle exposes, over HTTP, for a person or a script
//! watching `koogate sim` from outside the process.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{error_json, lock};
use crate::openapi::{OpenApiState, UsageInstance};
use crate::scenario::{Engine, FlowReport};

#[derive(Debug, Clone)]
pub(super) struct State {
    pub engine: Engine,
    pub openapi: OpenApiState,
    pub reports: Arc<Mutex<Vec<FlowReport>>>,
}

pub(super) fn router(state: State) -> Router {
    Router::new()
        .route("/__sim/exchanges", get(exchanges))
        .route("/__sim/messages", get(messages))
        .route("/__sim/messages/{id}/retrigger", post(retrigger))
        .route("/__sim/orders", get(orders))
        .route("/__sim/flows", get(flows))
        .route("/__sim/uploads", get(uploads))
        .route("/__sim/instances", get(instances))
        .route("/__sim/usage", get(usage))
        .route("/__sim/usage/anomalies", get(anomalies))
        .route("/__sim/licenses", get(licenses))
        .with_state(state)
}

/// The whole record as one JSON document. Usage anomalies are those found so far: the export is
/// synchronous and cannot wait for checks still running.
pub(super) fn record(
    engine: &Engine,
    openapi: &OpenApiState,
    reports: &Mutex<Vec<FlowReport>>,
) -> Value {
    json!({
        "flows": to_json(&*lock(reports)),
        "exchanges": to_json(&engine.exchanges().all()),
        "messages": to_json(&engine.messages().all()),
        "orders": to_json(&engine.orders().all()),
        "uploads": to_json(&openapi.uploads()),
        "instances": to_json(&sorted_instances(openapi)),
        "usage_records": to_json(&openapi.usage_records()),
        "usage_anomalies": to_json(&openapi.usage_anomalies()),
        "licenses": to_json(&openapi.licenses()),
    })
}

/// By ID: the registry is a map, and a stable order makes two exports comparable.
fn sorted_instances(openapi: &OpenApiState) -> Vec<UsageInstance> {
    let mut instances = openapi.instances();
    instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    instances
}

fn to_json(value: &impl serde::Serialize) -> Value {
    // These types hold strings, numbers and times only; serialising them cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn exchanges(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.engine.exchanges().all()))
}

async fn messages(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.engine.messages().all()))
}

async fn orders(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.engine.orders().all()))
}

async fn flows(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&*lock(&state.reports)))
}

async fn uploads(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.openapi.uploads()))
}

async fn instances(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&sorted_instances(&state.openapi)))
}

async fn usage(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.openapi.usage_records()))
}

/// Waits for the asynchronous checks of every push so far (in-process tasks that finish in
/// moments), so a script reading right after a push sees its anomalies.
async fn anomalies(AxumState(state): AxumState<State>) -> Json<Value> {
    state.openapi.settle_usage().await;
    Json(to_json(&state.openapi.usage_anomalies()))
}

async fn licenses(AxumState(state): AxumState<State>) -> Json<Value> {
    Json(to_json(&state.openapi.licenses()))
}

async fn retrigger(AxumState(state): AxumState<State>, Path(id): Path<u64>) -> Response {
    match state.engine.messages().retrigger(&state.engine, id).await {
        Ok(record) => Json(to_json(&record)).into_response(),
        Err(err) => (StatusCode::NOT_FOUND, Json(error_json(&err.to_string()))).into_response(),
    }
}
