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
use crate::scenario::{Engine, FlowReport};

#[derive(Debug, Clone)]
pub(super) struct State {
    pub engine: Engine,
    pub reports: Arc<Mutex<Vec<FlowReport>>>,
}

pub(super) fn router(state: State) -> Router {
    Router::new()
        .route("/__sim/exchanges", get(exchanges))
        .route("/__sim/messages", get(messages))
        .route("/__sim/messages/{id}/retrigger", post(retrigger))
        .route("/__sim/orders", get(orders))
        .route("/__sim/flows", get(flows))
        .with_state(state)
}

/// The whole record as one JSON document.
pub(super) fn record(engine: &Engine, reports: &Mutex<Vec<FlowReport>>) -> Value {
    json!({
        "flows": to_json(&*lock(reports)),
        "exchanges": to_json(&engine.exchanges().all()),
        "messages": to_json(&engine.messages().all()),
        "orders": to_json(&engine.orders().all()),
    })
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

async fn retrigger(AxumState(state): AxumState<State>, Path(id): Path<u64>) -> Response {
    match state.engine.messages().retrigger(&state.engine, id).await {
        Ok(record) => Json(to_json(&record)).into_response(),
        Err(err) => (StatusCode::NOT_FOUND, Json(error_json(&err.to_string()))).into_response(),
    }
}
