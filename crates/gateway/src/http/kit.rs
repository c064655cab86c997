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
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use koogate_protocol::ResultCode;
use koogate_protocol::messages::kit::{KitOperation, KitResponse, parse_kit_request};
use koogate_protocol::signing::kit::{self, KitPolicy};

use super::AppState;
use crate::domain::Gateway;
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

/// A Kit call that passed the signature, window and nonce checks; its body is not parsed yet.
#[derive(Debug)]
pub struct SignedKit {
    pub operation: KitOperation,
    pub body: Bytes,
}

impl FromRequest<AppState> for SignedKit {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let name = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map(|Path(name)| name)
            .unwrap_or_default();
        let Ok(operation) = name.parse::<KitOperation>() else {
            tracing::warn!(operation = name, "refused Kit call: unknown operation");
            count("unknown", "000002");
            return Err(refuse(
                ResultCode::InvalidParameter,
                "unknown Kit operation",
            ));
        };
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| refuse(ResultCode::InvalidParameter, "unreadable body"))?;
        verify(&state.gateway, &parts.headers, &body, operation.as_str()).await?;
        Ok(Self { operation, body })
    }
}

/// Scheme B (`x-sign`) over the raw bytes with the Kit key, the window, then the nonce.
async fn verify(gw: &Gateway, headers: &HeaderMap, body: &[u8], op: &str) -> Result<(), Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = kit::verify(
        &gw.settings.kit_key,
        header(kit::HEADER_SIGN),
        header(kit::HEADER_TIMESTAMP),
        header(kit::HEADER_NONCE),
        body,
        gw.clock.now_ms(),
        &KitPolicy::default(),
    );
    if let Err(err) = verified {
        tracing::warn!(operation = op, reason = %err, "refused Kit call: authentication failed");
        count(op, "000001");
        return Err(refuse(ResultCode::AuthFailed, "authentication failed"));
    }
    // The basic interfaces' nonce store, under a prefix of the Kit's own.
    let nonce = format!("kit:{}", header(kit::HEADER_NONCE).unwrap_or_default());
    match gw.store.remember_nonce(&nonce, gw.clock.now()).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::warn!(operation = op, "refused Kit call: replayed nonce");
            count(op, "000001");
            Err(refuse(ResultCode::AuthFailed, "authentication failed"))
        }
        Err(err) => {
            tracing::error!(operation = op, error = %err, "cannot record a Kit nonce");
            count(op, "000005");
            Err(refuse(
                ResultCode::InternalError,
                "internal error, please retry",
            ))
        }
    }
}

pub async fn handle(State(state): State<AppState>, call: SignedKit) -> Response {
    let op = call.operation.as_str();
    let request = match parse_kit_request(call.operation, &call.body) {
        Ok(request) => request,
        Err(err) => {
            tracing::warn!(operation = op, error = %err, "refused Kit call: invalid request");
            count(op, "000002");
            return answer(&KitResponse::from_parse_error(&err));
        }
    };
    match apply(&state.gateway, &request).await {
        Ok(changed) => {
            tracing::info!(operation = op, changed, "Kit call applied");
            count(op, "000000");
            answer(&KitResponse::success())
        }
        Err(failure) => {
            let code = failure.result_code();
            tracing::warn!(operation = op, error = %failure, "Kit call failed");
            count(op, code.as_str());
            refuse(code, failure.kit_message())
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
