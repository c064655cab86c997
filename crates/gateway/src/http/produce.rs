//! The production-interface endpoint: verify (in the extractor), dispatch, sign the answer.

use std::time::Instant;

use axum::extract::State;

use super::AppState;
use super::extract::SignedProduce;
use super::reply::ProduceReply;
use crate::domain;

#[tracing::instrument(name = "produce", skip_all, fields(activity = signed.activity.map_or("?", |a| a.as_str()), sandbox = state.gateway.settings.sandbox))]
pub async fn handle(State(state): State<AppState>, signed: SignedProduce) -> ProduceReply {
    let started = Instant::now();
    let (activity, answer) = domain::dispatch(&state.gateway, &signed.body).await;
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("koogate_produce_calls_total", "activity" => activity.clone(), "result_code" => answer.code.clone()).increment(1);
    metrics::histogram!("koogate_produce_seconds", "activity" => activity.clone()).record(elapsed);
    tracing::info!(
        activity,
        result_code = answer.code,
        elapsed_ms = elapsed * 1000.0,
        "answered"
    );
    ProduceReply::new(answer, signed.key)
}
