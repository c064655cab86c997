//! The generic open-API error body `{error_code, error_msg}`, shared by every snake_case API.

use serde::{Deserialize, Serialize};

use crate::result_code::OpenApiCode;

/// `{"error_code":"…","error_msg":"…"}`: what any open API (or the API gateway) answers on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error_code}: {error_msg}")]
pub struct OpenApiError {
    /// Code, sorted into its family.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default)]
    pub error_msg: String,
}

impl OpenApiError {
    /// `code` with its documented message.
    pub fn new(code: impl Into<OpenApiCode>) -> Self {
        let error_code = code.into();
        let error_msg = error_code.default_message().to_owned();
        Self {
            error_code,
            error_msg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result_code::{GatewayCode, LicenseApiCode};

    #[test]
    fn round_trip() {
        let e = OpenApiError::new(LicenseApiCode::IllegalState);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"error_code":"92020003","error_msg":"illegal state"}"#
        );
        assert_eq!(serde_json::from_str::<OpenApiError>(&json).unwrap(), e);
        let gw: OpenApiError =
            serde_json::from_str(r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail"}"#).unwrap();
        assert_eq!(
            gw.error_code,
            OpenApiCode::Gateway(GatewayCode::IamAuthFailed)
        );
        assert_eq!(gw.error_code.http_status(), 401);
    }
}
