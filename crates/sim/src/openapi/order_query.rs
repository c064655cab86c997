//! `GET …/global/v1/order/query?orderId=&orderLineId=` (spec saas-v2 §7.1).

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::OpenApiState;
use super::record::with_detail;

/// Always HTTP 200 with a `resultCode`, as the marketplace answers business errors. A query
/// string that does not decode counts as a missing `orderId` (`MKT.0100`).
pub(super) async fn handle(
    State(state): State<OpenApiState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let body = state.orders.query(
        params.get("orderId").map(String::as_str),
        params.get("orderLineId").map(String::as_str),
    );
    match body.get("resultCode").and_then(|code| code.as_str()) {
        Some(crate::orders::CODE_SUCCESS) => Json(body).into_response(),
        code => {
            let detail = format!("order query answered {}", code.unwrap_or("?"));
            with_detail(Json(body), detail)
        }
    }
}
