//! The business answer of the snake_case open APIs (usage push, license APIs):
//! `{"error_code": …, "error_msg": …}` plus optional fields such as `data` or `extra_info`.
//!
//! The HTTP status comes from the code (`OpenApiCode::http_status`): business errors are HTTP 200
//! unless the spec's table gives another status (license-kit §2.3.4, §6.7). Bodies are built with
//! `serde_json` here rather than with the protocol crate's response types, so the tests that decode
//! them with those types check the types instead of agreeing with them by construction.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use koogate_protocol::result_code::OpenApiCode;
use serde_json::{Map, Value};

use super::record::Detail;

/// One answer under construction.
#[derive(Debug)]
pub(super) struct Answer {
    code: OpenApiCode,
    message: String,
    /// A `Vec` rather than a `Map` keeps `Answer` small enough to return in a `Result`.
    fields: Vec<(String, Value)>,
    detail: Option<String>,
}

impl Answer {
    /// `code` with its documented message.
    pub(super) fn new(code: impl Into<OpenApiCode>) -> Self {
        let code = code.into();
        Self {
            message: code.default_message().to_owned(),
            code,
            fields: Vec::new(),
            detail: None,
        }
    }

    /// Replaces the message (where the spec prints a different text for one API).
    pub(super) fn message(mut self, message: &str) -> Self {
        message.clone_into(&mut self.message);
        self
    }

    /// Adds a top-level field after `error_code` and `error_msg`.
    pub(super) fn field(mut self, name: &str, value: Value) -> Self {
        self.fields.push((name.to_owned(), value));
        self
    }

    /// Why the request was (partly) refused, for the exchange log only; never sent.
    pub(super) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::OK);
        let mut body = Map::new();
        body.insert(
            "error_code".into(),
            Value::String(self.code.code().to_owned()),
        );
        body.insert("error_msg".into(), Value::String(self.message));
        body.extend(self.fields);
        let mut response = (status, Json(Value::Object(body))).into_response();
        if let Some(detail) = self.detail {
            response.extensions_mut().insert(Detail(detail));
        }
        response
    }
}
