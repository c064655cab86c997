//! The 联营 Kit interfaces (license-kit §4): KooGallery appends
//! `/produceAPI/v2/{tenantSync|applicationSync|authSync|singleOrgSync|allOrgSync}` to the
//! production address and signs with headers `x-sign`, `x-timestamp`, `x-nonce` (scheme B, §4.3)
//! using the key bound to the 联营SaaS同步接口 category.
//!
//! Every answer is HTTP 200 `application/json` `{"resultCode","resultMsg"}` (§4.2; V2 answers
//! carry no `Body-Sign`). The signature, the 60 s window and the nonce (shared with the basic
//! interfaces' nonce store, under a `kit:` prefix) are checked over the raw bytes before the body
//! is parsed, and a refused call stores nothing but its nonce.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use koogate_protocol::ResultCode;
use koogate_protocol::messages::kit::{KitOperation, KitResponse, parse_kit_request};
use koogate_protocol::signing::kit::{self, KitPolicy};

use super::AppState;
use crate::domain::kit::apply;

/// `{produce_path}/produceAPI/v2/{operation}`, without a doubled slash when the production path
/// is `/` or ends with one.
pub fn route_pattern(produce_path: &str) -> String {
    format!(
        "{}/produceAPI/v2/{{operation}}",
        produce_path.trim_end_matches('/')
    )
}

fn answer(response: &KitResponse) -> Response {
    let body = response
        .to_json_bytes()
        .unwrap_or_else(|_| br#"{"resultCode":"000005","resultMsg":"internal error"}"#.to_vec());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn refuse(code: ResultCode, message: &str) -> Response {
    answer(&KitResponse {
        result_code: code,
        result_msg: Some(message.to_owned()),
    })
}

pub async fn handle(
    State(state): State<AppState>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gw = &state.gateway;
    let Some(op) = operation.parse::<KitOperation>().ok() else {
        tracing::warn!(operation, "refused Kit call: unknown operation");
        count("unknown", "000002");
        return refuse(ResultCode::InvalidParameter, "unknown Kit operation");
    };
    let op_name = op.as_str();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = kit::verify(
        &gw.settings.kit_key,
        header(kit::HEADER_SIGN),
        header(kit::HEADER_TIMESTAMP),
        header(kit::HEADER_NONCE),
        &body,
        gw.clock.now_ms(),
        &KitPolicy::default(),
    );
    if let Err(err) = verified {
        tracing::warn!(operation = op_name, reason = %err, "refused Kit call: authentication failed");
        count(op_name, "000001");
        return refuse(ResultCode::AuthFailed, "authentication failed");
    }
    let nonce = format!("kit:{}", header(kit::HEADER_NONCE).unwrap_or_default());
    match gw.store.remember_nonce(&nonce, gw.clock.now()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(operation = op_name, "refused Kit call: replayed nonce");
            count(op_name, "000001");
            return refuse(ResultCode::AuthFailed, "authentication failed");
        }
        Err(err) => {
            tracing::error!(operation = op_name, error = %err, "cannot record a Kit nonce");
            count(op_name, "000005");
            return refuse(ResultCode::InternalError, "internal error, please retry");
        }
    }
    let request = match parse_kit_request(op, &body) {
        Ok(request) => request,
        Err(err) => {
            tracing::warn!(operation = op_name, error = %err, "refused Kit call: invalid request");
            count(op_name, "000002");
            return answer(&KitResponse::from_parse_error(&err));
        }
    };
    match apply(gw, &request).await {
        Ok(changed) => {
            tracing::info!(operation = op_name, changed, "Kit call applied");
            count(op_name, "000000");
            answer(&KitResponse::success())
        }
        Err(failure) => {
            let code = failure.result_code();
            tracing::warn!(operation = op_name, error = %failure, "Kit call failed");
            count(op_name, code.as_str());
            let message = if code == ResultCode::InternalError {
                "internal error, please retry".to_owned()
            } else {
                code.kit_message().to_owned()
            };
            refuse(code, &message)
        }
    }
}

fn count(operation: &str, code: &str) {
    metrics::counter!(
        "koogate_kit_calls_total",
        "operation" => operation.to_owned(),
        "result_code" => code.to_owned()
    )
    .increment(1);
}
