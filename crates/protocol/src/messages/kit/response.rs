//! The kit answer body.

use serde::{Deserialize, Serialize};

use crate::ResultCode;
use crate::messages::fields::ParseError;
use crate::messages::produce_response::truncate_utf16;
use crate::wire::to_ascii_json;

/// Kit answer: `{"resultCode":"000000","resultMsg":"Success"}`. Reading also accepts the doc
/// example's stray-space keys (`" resultCode"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KitResponse {
    /// Six-digit code; `000101` means clientSecret decryption failed here.
    #[serde(alias = " resultCode")]
    pub result_code: ResultCode,
    /// Message (≤255).
    #[serde(default, alias = " resultMsg", skip_serializing_if = "Option::is_none")]
    pub result_msg: Option<String>,
}

impl KitResponse {
    /// `code` with its kit message.
    pub fn new(code: ResultCode) -> Self {
        let message = code.kit_message().to_owned();
        Self {
            result_code: code,
            result_msg: Some(message),
        }
    }

    /// `000000` / `Success`, as the doc example.
    pub fn success() -> Self {
        Self {
            result_code: ResultCode::Success,
            result_msg: Some("Success".to_owned()),
        }
    }

    /// `000002` naming the defect.
    pub fn from_parse_error(error: &ParseError) -> Self {
        let message = truncate_utf16(&error.to_string(), 255).to_owned();
        Self {
            result_code: error.result_code(),
            result_msg: Some(message),
        }
    }

    /// Compact, ASCII-only JSON.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        to_ascii_json(self)
    }
}
