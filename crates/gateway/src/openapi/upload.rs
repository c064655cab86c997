//! 字符串/文件流上传: `POST …/global/v1/market-event/{event_id}/file` (spec license-kit §3.3),
//! delivering an online license for a `getLicenseAsync` event.

use std::fmt;

use koogate_protocol::messages::upload::{IsvUpdateFileReq, UploadResponse};
use koogate_protocol::wire::Bounded;
use reqwest::Method;
use sha2::{Digest, Sha256};

use super::OpenApiClient;
use super::client::{Answer, Call, encode_component, http_error};
use super::error::{OpenApiError, clean_message};
use super::multipart::{self, Part};
use super::order::count;

const UPLOAD_PATH_PREFIX: &str = "/api/mkp-openapi-public/global/v1/market-event/";

/// What to upload. `Debug` never prints the license itself.
#[derive(Clone, PartialEq, Eq)]
pub enum UploadLicense {
    /// A license string (`type = CHARACTERS`, at most 1024 characters).
    Characters(String),
    /// A license file (`type = FILE`); its SHA-256 is computed here.
    File { name: String, bytes: Vec<u8> },
}

impl fmt::Debug for UploadLicense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Characters(text) => write!(f, "Characters([{} chars])", text.chars().count()),
            Self::File { name, bytes } => write!(f, "File({name:?}, {} bytes)", bytes.len()),
        }
    }
}

/// A successful upload.
#[derive(Debug, Clone)]
pub struct UploadReceipt {
    /// The response body exactly as received, for the exchange log.
    pub raw_body: String,
    /// `host[:port]` that answered.
    pub served_by: String,
}

impl OpenApiClient {
    /// Uploads a license for `event_id`. Succeeds on a success `error_code` (`CBC.0000`).
    ///
    /// Like every call, this moves to the fallback host after a timeout; the marketplace may then
    /// see the same license twice for one event, which replaces it with itself.
    #[tracing::instrument(skip_all, fields(event_id = %event_id))]
    pub async fn upload_license(
        &self,
        event_id: &str,
        license: UploadLicense,
    ) -> Result<UploadReceipt, OpenApiError> {
        let result = self.upload_license_once(event_id, &license).await;
        count("license_upload", &result);
        result
    }

    async fn upload_license_once(
        &self,
        event_id: &str,
        license: &UploadLicense,
    ) -> Result<UploadReceipt, OpenApiError> {
        if event_id.trim().is_empty() {
            return Err(OpenApiError::Invalid("event_id is empty".into()));
        }
        let body = multipart_body(license)?;
        let path = format!("{UPLOAD_PATH_PREFIX}{}/file", encode_component(event_id));
        let answer = self
            .send(Call {
                method: Method::POST,
                path_and_query: &path,
                content_type: &body.content_type,
                extra_headers: &[],
                body: body.body,
            })
            .await?;
        read_receipt(answer)
    }
}

fn multipart_body(license: &UploadLicense) -> Result<multipart::Multipart, OpenApiError> {
    let too_long =
        |what: &str| OpenApiError::Invalid(format!("{what} longer than 1024 characters"));
    let metadata = match license {
        UploadLicense::Characters(text) => IsvUpdateFileReq::characters(
            Bounded::new(text.clone()).map_err(|_| too_long("license string"))?,
        ),
        UploadLicense::File { name, bytes } => IsvUpdateFileReq::file(
            Bounded::new(name.clone()).map_err(|_| too_long("file name"))?,
            hex::encode(Sha256::digest(bytes)),
        ),
    };
    metadata
        .validate()
        .map_err(|e| OpenApiError::Invalid(e.to_string()))?;
    let json = serde_json::to_vec(&metadata)
        .map_err(|e| OpenApiError::Invalid(format!("metadata: {e}")))?;
    let mut parts = vec![Part {
        name: "isvUpdateFileReq",
        filename: None,
        content_type: "application/json",
        data: &json,
    }];
    if let UploadLicense::File { name, bytes } = license {
        parts.push(Part {
            name: "file",
            filename: Some(name),
            content_type: "application/octet-stream",
            data: bytes,
        });
    }
    Ok(multipart::build(&parts))
}

fn read_receipt(answer: Answer) -> Result<UploadReceipt, OpenApiError> {
    if !(200..300).contains(&answer.status) {
        return Err(http_error(&answer));
    }
    let response: UploadResponse = serde_json::from_str(&answer.body)
        .map_err(|e| OpenApiError::Decode(format!("upload answer: {e}")))?;
    if !response.error_code.is_success() {
        return Err(OpenApiError::Business {
            code: response.error_code,
            message: clean_message(&response.error_msg),
        });
    }
    Ok(UploadReceipt {
        raw_body: answer.body,
        served_by: answer.host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_license() {
        let text = format!("{:?}", UploadLicense::Characters("SECRET-LICENSE".into()));
        assert!(!text.contains("SECRET"), "{text}");
        let file = UploadLicense::File {
            name: "a.lic".into(),
            bytes: b"SECRET".to_vec(),
        };
        assert_eq!(format!("{file:?}"), "File(\"a.lic\", 6 bytes)");
    }

    #[test]
    fn over_long_license_is_refused_before_sending() {
        let long = UploadLicense::Characters("x".repeat(1025));
        assert!(matches!(
            multipart_body(&long),
            Err(OpenApiError::Invalid(_))
        ));
        assert!(multipart_body(&UploadLicense::Characters(String::new())).is_err());
    }

    #[test]
    fn business_and_http_errors() {
        let answer = |status: u16, body: &str| Answer {
            host: "h".into(),
            status,
            body: body.into(),
        };
        let ok = read_receipt(answer(
            200,
            r#"{"error_code":"CBC.0000","error_msg":"Success"}"#,
        ));
        assert!(ok.is_ok());
        let business = read_receipt(answer(
            200,
            r#"{"error_code":"91381037","error_msg":"Invalid license format."}"#,
        ));
        assert!(matches!(business, Err(OpenApiError::Business { .. })));
        let bad = read_receipt(answer(
            400,
            r#"{"error_code":"CBC.0101","error_msg":"Invalid parameter"}"#,
        ));
        assert!(matches!(bad, Err(OpenApiError::Http { status: 400, .. })));
    }
}
