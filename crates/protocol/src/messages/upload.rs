//! 字符串/文件流上传: `POST …/v1/market-event/{event_id}/file`, multipart with a `file` part and
//! an `isvUpdateFileReq` JSON part (license-kit §3.3). Only the JSON part lives here.

use serde::{Deserialize, Serialize};

use crate::result_code::OpenApiCode;
use crate::wire::{Bounded, closed_enum};

closed_enum! {
    /// `type` of the upload.
    pub enum UploadType {
        /// A license string in `characters`.
        Characters = "CHARACTERS",
        /// A license file in the `file` part.
        File = "FILE",
    }
}

/// The `isvUpdateFileReq` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsvUpdateFileReq {
    /// What is uploaded.
    #[serde(rename = "type")]
    pub upload_type: UploadType,
    /// Mandatory for `FILE` (≤1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<Bounded<1024>>,
    /// Mandatory for `FILE`: SHA-256 of the file, lowercase hex (encoding inferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Mandatory for `CHARACTERS` (≤1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characters: Option<Bounded<1024>>,
}

/// A metadata part that does not fit its `type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` is required for type {upload_type}")]
pub struct UploadFieldMissing {
    /// The missing field.
    pub field: &'static str,
    /// The declared type.
    pub upload_type: UploadType,
}

impl IsvUpdateFileReq {
    /// Metadata for a license string.
    pub fn characters(license: Bounded<1024>) -> Self {
        Self {
            upload_type: UploadType::Characters,
            file_name: None,
            sha256: None,
            characters: Some(license),
        }
    }

    /// Metadata for a license file.
    pub fn file(file_name: Bounded<1024>, sha256_hex: impl Into<String>) -> Self {
        Self {
            upload_type: UploadType::File,
            file_name: Some(file_name),
            sha256: Some(sha256_hex.into()),
            characters: None,
        }
    }

    /// Checks the fields its `type` requires.
    pub fn validate(&self) -> Result<(), UploadFieldMissing> {
        let missing = |field| {
            Err(UploadFieldMissing {
                field,
                upload_type: self.upload_type,
            })
        };
        match self.upload_type {
            UploadType::Characters if self.characters.as_deref().is_none_or(str::is_empty) => {
                missing("characters")
            }
            UploadType::File if self.file_name.as_deref().is_none_or(str::is_empty) => {
                missing("file_name")
            }
            UploadType::File if self.sha256.as_deref().is_none_or(str::is_empty) => {
                missing("sha256")
            }
            _ => Ok(()),
        }
    }
}

/// Response of the upload: `CBC.0000` on success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// Code.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default)]
    pub error_msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_shapes() {
        let req = IsvUpdateFileReq::characters(Bounded::new("LICENSE-1").unwrap());
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"type":"CHARACTERS","characters":"LICENSE-1"}"#
        );
        assert!(req.validate().is_ok());
        let file = IsvUpdateFileReq::file(Bounded::new("a.lic").unwrap(), "ab12");
        assert_eq!(
            serde_json::to_string(&file).unwrap(),
            r#"{"type":"FILE","file_name":"a.lic","sha256":"ab12"}"#
        );
        let bad: IsvUpdateFileReq =
            serde_json::from_str(r#"{"type":"FILE","file_name":"a.lic"}"#).unwrap();
        assert_eq!(bad.validate().unwrap_err().field, "sha256");
        assert!(serde_json::from_str::<IsvUpdateFileReq>(r#"{"type":"PDF"}"#).is_err());
    }

    #[test]
    fn response_parses() {
        let r: UploadResponse =
            serde_json::from_str(r#"{"error_code":"CBC.0150","error_msg":"Illegal operation"}"#)
                .unwrap();
        assert!(!r.error_code.is_success());
        assert_eq!(r.error_code.http_status(), 403);
    }
}
