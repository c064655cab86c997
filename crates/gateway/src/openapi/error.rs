//! What can go wrong talking to the open API. Messages are safe to log and to show in the
//! operator view: they name the host, the HTTP status and the marketplace's code and message,
//! never a credential or a signature.

use koogate_protocol::result_code::OpenApiCode;

/// Longest marketplace message kept in an error; the rest is cut.
const MAX_MESSAGE_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// No HTTP answer from the last host tried: connection refused, DNS, TLS, timeout.
    #[error("open API host {url_host} unreachable: {message}")]
    Transport { url_host: String, message: String },
    /// A non-2xx answer: API Gateway errors such as `APIGW.0301` (401, bad AK/SK signature),
    /// `CBC.0101` (400), or a 5xx from the last host.
    #[error("open API answered HTTP {status}{}", describe(.code.as_ref(), .message))]
    Http {
        status: u16,
        code: Option<OpenApiCode>,
        message: String,
    },
    /// HTTP 2xx with a non-success code (e.g. `MKT.0101` for an unknown order).
    #[error("open API refused the request: {code}: {message}")]
    Business { code: OpenApiCode, message: String },
    /// The answer could not be read as the documented body.
    #[error("unreadable open API answer: {0}")]
    Decode(String),
    /// The request was refused before sending (bad base URL, ID or license too long, …).
    #[error("invalid open API request: {0}")]
    Invalid(String),
}

impl OpenApiError {
    /// The marketplace's (or API Gateway's) code, when it sent one.
    pub fn code(&self) -> Option<&OpenApiCode> {
        match self {
            Self::Http { code, .. } => code.as_ref(),
            Self::Business { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The `outcome` label of `koogate_openapi_requests_total`.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Self::Transport { .. } => "transport_error",
            Self::Http { .. } => "http_error",
            Self::Business { .. } => "business_error",
            Self::Decode(_) => "decode_error",
            Self::Invalid(_) => "invalid_request",
        }
    }
}

fn describe(code: Option<&OpenApiCode>, message: &str) -> String {
    match (code, message.is_empty()) {
        (Some(code), false) => format!(" ({code}: {message})"),
        (Some(code), true) => format!(" ({code})"),
        (None, false) => format!(" ({message})"),
        (None, true) => String::new(),
    }
}

/// Printable characters only, at most [`MAX_MESSAGE_CHARS`].
pub(super) fn clean_message(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    cleaned.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_status_code_and_message() {
        let err = OpenApiError::Http {
            status: 401,
            code: Some(OpenApiCode::parse("APIGW.0301")),
            message: "verify aksk signature fail".into(),
        };
        assert_eq!(
            err.to_string(),
            "open API answered HTTP 401 (APIGW.0301: verify aksk signature fail)"
        );
        let bare = OpenApiError::Http {
            status: 502,
            code: None,
            message: String::new(),
        };
        assert_eq!(bare.to_string(), "open API answered HTTP 502");
    }

    #[test]
    fn messages_are_cleaned_and_capped() {
        assert_eq!(clean_message(" a\r\nb "), "a  b");
        assert_eq!(clean_message(&"x".repeat(1000)).len(), MAX_MESSAGE_CHARS);
    }
}
