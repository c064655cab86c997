//! The place of the 联营 Kit interfaces (license-kit §4.2): KooGallery appends
//! `/produceAPI/v2/{tenantSync|applicationSync|authSync|singleOrgSync|allOrgSync}` to the
//! production address. koogate does not implement them yet; the routes exist so that a vendor
//! who enables Kit in the seller center gets a protocol-shaped refusal (HTTP 200,
//! `application/json`, `resultCode 000005`) and a log line naming the operation, instead of a
//! bare 404 that reads like a misconfigured production address.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use koogate_protocol::ResultCode;
use serde_json::json;

/// The five operations of Kit V2.
pub const OPERATIONS: [&str; 5] = [
    "tenantSync",
    "applicationSync",
    "authSync",
    "singleOrgSync",
    "allOrgSync",
];

/// `{produce_path}/produceAPI/v2/{operation}`, without a doubled slash when the production path
/// is `/` or ends with one.
pub fn route_pattern(produce_path: &str) -> String {
    format!(
        "{}/produceAPI/v2/{{operation}}",
        produce_path.trim_end_matches('/')
    )
}

pub async fn not_implemented(Path(operation): Path<String>) -> Response {
    let known = OPERATIONS.contains(&operation.as_str());
    tracing::warn!(
        operation,
        known,
        "refused a Kit call: the Kit interfaces are not implemented by this koogate"
    );
    metrics::counter!("koogate_kit_calls_total", "operation" => if known { operation.clone() } else { "unknown".to_owned() })
        .increment(1);
    Json(json!({
        "resultCode": ResultCode::InternalError.as_str(),
        "resultMsg": "the Kit interfaces are not implemented by this koogate version",
    }))
    .into_response()
}
