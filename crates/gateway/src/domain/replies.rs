//! Turning outcomes into answer bytes. Every answer is a `ProduceResponse` serialised with
//! non-ASCII escaped (spec saas-v2 §3.2: `memo` must carry `\uXXXX`), so the bytes are stable and
//! safe to store and replay.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::{ProduceResponse, UsageInfoField};

use crate::store::StoreError;

/// The bytes of an answer, and its code for metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: String,
    pub body: Vec<u8>,
}

/// The fixed answer used if serialisation itself ever failed (it cannot for these types).
const FALLBACK: &[u8] = br#"{"resultCode":"000005","resultMsg":"internal error"}"#;

impl Answer {
    pub fn from_response(response: &ProduceResponse, usage_field: UsageInfoField) -> Self {
        let body = response
            .to_json_bytes_with(usage_field)
            .unwrap_or_else(|_| FALLBACK.to_vec());
        Self {
            code: response.result_code.code().to_owned(),
            body,
        }
    }

    /// A stored answer replayed byte for byte.
    pub fn replayed(body: Vec<u8>) -> Self {
        let code = ProduceResponse::from_json_bytes(&body)
            .map(|r| r.result_code.code().to_owned())
            .unwrap_or_else(|_| "?".to_owned());
        Self { code, body }
    }

    pub fn success() -> Self {
        Self::from_response(&ProduceResponse::success(), UsageInfoField::default())
    }
}

/// Why a call was not carried out. Each maps to one result code; none changes stored state.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("authentication failed")]
    AuthFailed,
    #[error("invalid request: {0}")]
    InvalidParameter(String),
    #[error("instance not found: {0}")]
    InstanceNotFound(String),
    /// A business refusal with its own code (e.g. `000103`), message shown to the buyer.
    #[error("refused with {code:?}: {message}")]
    Refused { code: ResultCode, message: String },
    /// Something on our side failed; KooGallery will retry. The detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Internal(format!("storage: {err}"))
    }
}

impl Failure {
    pub fn result_code(&self) -> ResultCode {
        match self {
            Self::AuthFailed => ResultCode::AuthFailed,
            Self::InvalidParameter(_) => ResultCode::InvalidParameter,
            Self::InstanceNotFound(_) => ResultCode::InstanceNotFound,
            Self::Refused { code, .. } => code.clone(),
            Self::Internal(_) => ResultCode::InternalError,
        }
    }

    /// What the marketplace (and possibly the buyer) sees. Internal details stay in the logs.
    fn public_message(&self) -> String {
        match self {
            Self::AuthFailed => "authentication failed".to_owned(),
            Self::InvalidParameter(detail) => format!("invalid request parameter: {detail}"),
            Self::InstanceNotFound(_) => "instance not found".to_owned(),
            Self::Refused { message, .. } => message.clone(),
            Self::Internal(_) => "internal error, please retry".to_owned(),
        }
    }

    pub fn into_answer(self) -> Answer {
        let mut message = self.public_message();
        if message.encode_utf16().count() > 255 {
            message = koogate_protocol::messages::produce_response::truncate_utf16(&message, 255)
                .to_owned();
        }
        Answer::from_response(
            &ProduceResponse::error(self.result_code(), &message),
            UsageInfoField::default(),
        )
    }
}
