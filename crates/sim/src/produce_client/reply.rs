//! What came back from a production interface, or why nothing did.

use std::time::Duration;

use koogate_protocol::AccessKey;
use koogate_protocol::messages::ProduceResponse;
use koogate_protocol::signing::{VerifyError, body_sign};

/// An answer, whatever its shape.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Header names as `http` spells them (lowercase: HTTP/1.1 names are case-insensitive on the
    /// wire and the client library normalises them, so the case of `Body-Sign` cannot be seen).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// From sending the request to the last byte of the body.
    pub latency: Duration,
    /// The body as a production-interface answer, or why it is not one.
    pub parsed: Result<ProduceResponse, String>,
}

impl Reply {
    /// The first header with this name (case-insensitive), if it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The media type without parameters, lowercased: `application/json` for
    /// `application/json;charset=UTF-8`.
    pub fn media_type(&self) -> Option<String> {
        self.content_type()
            .and_then(|ct| ct.split(';').next())
            .map(|mt| mt.trim().to_ascii_lowercase())
    }

    pub fn body_sign(&self) -> Option<&str> {
        self.header(body_sign::HEADER_NAME)
    }

    /// Checks `Body-Sign` against the exact body bytes (spec saas-v2 §2.7).
    pub fn verify_body_sign(&self, key: &AccessKey) -> Result<(), VerifyError> {
        let header = self
            .body_sign()
            .ok_or(VerifyError::MissingParameter(body_sign::HEADER_NAME))?;
        body_sign::verify(key, header, &self.body)
    }

    /// `resultCode` as sent, if the body parsed.
    pub fn result_code(&self) -> Option<&str> {
        self.parsed.as_ref().ok().map(|r| r.result_code.code())
    }

    /// The body as text, cut to `max` characters (for reports).
    pub fn body_excerpt(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut excerpt: String = text.chars().take(max).collect();
        if text.chars().count() > max {
            excerpt.push('…');
        }
        excerpt
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Nothing (or not all of the body) arrived within the configured timeout.
    #[error("no complete answer within {} ms", .after.as_millis())]
    Timeout { after: Duration },
    /// DNS, TCP or TLS failed: the debugger's "生产地址不可达".
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Other(String),
}

pub(super) fn send_error(error: &reqwest::Error, timeout: Duration) -> SendError {
    // reqwest's own message repeats the URL with the signature parameters; the causes below it
    // say what went wrong.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let detail = if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    };
    if error.is_timeout() {
        SendError::Timeout { after: timeout }
    } else if error.is_connect() {
        SendError::Connect(detail)
    } else {
        SendError::Other(detail)
    }
}
