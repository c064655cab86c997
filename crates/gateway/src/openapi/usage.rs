//! 按需使用量推送 (new): `POST …/global/v1/isv/usage-data` (spec saas-v2 §7.2, license-kit §6.4).
//!
//! Besides the APIG signature, the body carries its own: headers `signature`, `ts` (Unix ms) and
//! `nonce`, with `signature = base64(HMAC-SHA256(key, "ts={ts}&nonce={nonce}&body={body}"))`
//! keyed with the access key bound to the basic interfaces. The body is serialised with its keys
//! already in natural order ([`UsagePushRequest::to_json_bytes`]), so the bytes signed and the
//! bytes sent are the same whichever reading of "按自然排序" the marketplace applies.

use koogate_protocol::AccessKey;
use koogate_protocol::messages::usage::{UsagePushRequest, UsagePushResponse};
use koogate_protocol::signing::usage;
use reqwest::Method;

use super::OpenApiClient;
use super::client::{Call, http_error};
use super::error::OpenApiError;
use super::order::count;

pub(super) const USAGE_PATH: &str = "/api/mkp-openapi-public/global/v1/isv/usage-data";

impl OpenApiClient {
    /// Pushes `request`, signing its body with `body_key`. Any answer that reads as the
    /// documented body is `Ok`, whatever its HTTP status, refusals included (`MKT.9002` and the
    /// like carry per-record codes the caller needs); transport failures and other answers are
    /// `Err`. A 5xx is retried on the next host first, like every call.
    #[tracing::instrument(skip_all, fields(records = request.usage_records.len()))]
    pub async fn push_usage(
        &self,
        body_key: &AccessKey,
        request: &UsagePushRequest,
    ) -> Result<UsagePushResponse, OpenApiError> {
        let result = self.push_usage_once(body_key, request).await;
        count("usage_push", &result);
        result
    }

    async fn push_usage_once(
        &self,
        body_key: &AccessKey,
        request: &UsagePushRequest,
    ) -> Result<UsagePushResponse, OpenApiError> {
        request
            .validate()
            .map_err(|e| OpenApiError::Invalid(e.to_string()))?;
        let body = request
            .to_json_bytes()
            .map_err(|e| OpenApiError::Invalid(format!("usage records: {e}")))?;
        let text = String::from_utf8(body.clone())
            .map_err(|_| OpenApiError::Invalid("usage records are not UTF-8".into()))?;
        let ts = self.now_millis().to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let signature = usage::sign(body_key, &ts, &nonce, &text);
        let headers = [
            (usage::HEADER_SIGNATURE, signature),
            (usage::HEADER_TS, ts),
            (usage::HEADER_NONCE, nonce),
        ];
        let answer = self
            .send(Call {
                method: Method::POST,
                path_and_query: USAGE_PATH,
                content_type: "application/json",
                extra_headers: &headers,
                body,
            })
            .await?;
        let parsed = serde_json::from_str::<UsagePushResponse>(&answer.body);
        match parsed {
            Ok(response) => Ok(response),
            // A 4xx in the documented shape (say `MKT.9002` with per-record codes) is still
            // KooGallery's answer about the records.
            Err(_) if !(200..300).contains(&answer.status) => Err(http_error(&answer)),
            Err(e) => Err(OpenApiError::Decode(format!("usage push answer: {e}"))),
        }
    }
}
