//! The one way a production-interface answer leaves koogate: HTTP 200, `application/json`, the
//! exact body bytes, and a `Body-Sign` header computed over those bytes (spec saas-v2 §1, §2.7).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use koogate_protocol::AccessKey;
use koogate_protocol::signing::body_sign;

use crate::domain::replies::Answer;

/// A signed production-interface answer.
#[derive(Debug)]
pub struct ProduceReply {
    pub body: Vec<u8>,
    pub key: AccessKey,
}

impl ProduceReply {
    pub fn new(answer: Answer, key: AccessKey) -> Self {
        Self {
            body: answer.body,
            key,
        }
    }
}

impl IntoResponse for ProduceReply {
    fn into_response(self) -> Response {
        let sign = body_sign::header_value(&self.key, &self.body);
        let mut response = (StatusCode::OK, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // The value is ASCII by construction (quoted base64); a failure would be a bug in body_sign.
        if let Ok(value) = HeaderValue::from_str(&sign) {
            headers.insert(body_sign::HEADER_NAME, value);
        }
        response
    }
}
