//! What the open API remembers for tests and the operator: every exchange and every upload.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::OpenApiState;

/// The APIG verification outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed correctly with this access key (the key ID only; never the secret).
    Accepted { access_key: String },
    /// Refused with HTTP 401 `APIGW.0301`; `reason` names the failed check.
    Rejected { reason: String },
    /// Not verified: no API at that method and path.
    NotChecked,
}

/// One request the open API received and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    /// Path and query as received.
    pub path: String,
    pub verdict: Verdict,
    pub status: u16,
    /// Why a request was refused past authentication (e.g. which upload field was invalid), or
    /// what part of an accepted one was not taken (duplicate usage records).
    pub detail: Option<String>,
}

/// A license string or file accepted by the market-event upload API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upload {
    pub event_id: String,
    /// The AK the request was signed with.
    pub access_key: String,
    /// The `isvUpdateFileReq` part, as parsed JSON.
    pub metadata: Value,
    pub content: UploadContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadContent {
    /// `type = CHARACTERS`: the license string.
    Characters(String),
    /// `type = FILE`: the `file` part (its SHA-256 already checked against the metadata).
    File { file_name: String, bytes: Vec<u8> },
}

/// As the inspection API shows it: a string verbatim, a file by name, size and SHA-256 (its
/// bytes may be binary and large, and the digest is what a reader compares).
impl Serialize for UploadContent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            Self::Characters(text) => json!({"type": "CHARACTERS", "characters": text}),
            Self::File { file_name, bytes } => json!({
                "type": "FILE",
                "file_name": file_name,
                "size": bytes.len(),
                "sha256": hex::encode(Sha256::digest(bytes)),
            }),
        };
        value.serialize(s)
    }
}

/// A response extension: the reason a handler refused a request, for [`Exchange::detail`].
#[derive(Debug, Clone)]
pub(super) struct Detail(pub String);

/// Attaches a [`Detail`] to a response.
pub(super) fn with_detail(response: impl IntoResponse, detail: impl Into<String>) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(Detail(detail.into()));
    response
}

/// Outermost layer: runs the request and logs the exchange.
pub(super) async fn log_exchange(
    State(state): State<OpenApiState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let verdict = response
        .extensions()
        .get::<Verdict>()
        .cloned()
        .unwrap_or(Verdict::NotChecked);
    let detail = response.extensions().get::<Detail>().map(|d| d.0.clone());
    tracing::debug!(%method, %path, status = response.status().as_u16(), ?verdict, "open API exchange");
    state.record_exchange(Exchange {
        method,
        path,
        verdict,
        status: response.status().as_u16(),
        detail,
    });
    response
}
