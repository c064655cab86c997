//! The simulated API Gateway in front of the open APIs: `SDK-HMAC-SHA256` verification over the
//! exact bytes received, and the gateway's own error answers (spec license-kit §6.7).

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use koogate_protocol::signing::apig;
use serde_json::json;

use super::OpenApiState;
use super::record::{Detail, Verdict};

/// Larger bodies are refused before verification (APIG's own limit is configurable; license files
/// are small).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The access key a verified request was signed with, for handlers that record it.
#[derive(Debug, Clone)]
pub(super) struct Caller(pub String);

/// The AK of a verified request; empty if a handler ever ran without the verification layer.
pub(super) fn caller_key(caller: Option<Extension<Caller>>) -> String {
    caller.map(|Extension(Caller(ak))| ak).unwrap_or_default()
}

/// Verifies the request, then runs the handler with the buffered body put back.
pub(super) async fn verify(
    State(state): State<OpenApiState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return gateway_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "APIGW.0201",
            "Request entity too large",
        );
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    // Only the path and query of this URL are used: the signed `host` comes from the header.
    let url = format!("http://{host}{path_and_query}");
    let signed = apig::Request {
        method: parts.method.as_str(),
        url: &url,
        headers: &headers,
        body: &bytes,
    };
    let lookup = |ak: &str| state.secret_for(ak);
    match apig::verify(&signed, &lookup, state.now.unix_secs()) {
        Ok(access_key) => {
            let mut request = Request::from_parts(parts, Body::from(bytes));
            request.extensions_mut().insert(Caller(access_key.clone()));
            let mut response = next.run(request).await;
            response
                .extensions_mut()
                .insert(Verdict::Accepted { access_key });
            response
        }
        Err(why) => {
            tracing::debug!(reason = %why, "open API request refused by APIG verification");
            let mut response = gateway_error(
                StatusCode::UNAUTHORIZED,
                "APIGW.0301",
                "Incorrect IAM authentication information: verify aksk signature fail",
            );
            response.extensions_mut().insert(Verdict::Rejected {
                reason: why.to_string(),
            });
            response
        }
    }
}

/// No API at this method and path: APIG answers before authentication.
pub(super) async fn not_found() -> Response {
    let mut response = gateway_error(
        StatusCode::NOT_FOUND,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    );
    response
        .extensions_mut()
        .insert(Detail("no such API".to_owned()));
    response
}

/// APIG's error body: `error_code`, `error_msg` and a `request_id`.
fn gateway_error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let body = json!({ "error_code": code, "error_msg": message, "request_id": request_id });
    (status, Json(body)).into_response()
}
