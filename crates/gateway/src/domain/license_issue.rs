//! Delivering an online license after `getLicenseAsync` (spec saas-v2 §3.8, license-kit §3.2 and
//! §3.3): the call itself answers `000004` and enqueues `license.requested`; once that event is
//! delivered, the license comes from the vendor's hook answer, or from the built-in generator
//! when no hook is configured, and is uploaded to KooGallery's market-event API under the
//! request's `eventId`. The upload and a `license.uploaded` event are the delivery's effect, so
//! an upload that fails is retried with the event (same `webhook-id`, same license).
//!
//! KooGallery requires that the same request (same `eventId` and fingerprint) yields the same
//! license: the call is deduplicated on that pair, hooks are asked to answer deterministically
//! per `webhook-id`, and the built-in license is a pure function of the request and the key.
//!
//! # The built-in license
//!
//! `kg1.<payload>.<signature>`: `payload` is unpadded base64url of a JSON object
//! (`v`, `instanceId`, `eventId`, `fingerprintSha256`, `effectiveTime`, `expireTime`); the
//! signature is a Standard Webhooks `v1` signature (without the `v1,` prefix) made with
//! `KOOGATE_HOOK_SECRET` over message id = `eventId`, timestamp = `effectiveTime` in Unix seconds
//! and body = the payload's JSON bytes. Vendor software can check it with any Standard Webhooks
//! library. It fits the 1024-character string upload for any request the protocol allows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use koogate_protocol::signing::webhook::{self, WebhookSecret};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Gateway;
use super::events::{self, kind};
use crate::openapi::UploadLicense;
use crate::outbox::Failure;
use crate::store::{Commit, OutboxEvent};

/// Longest license string and file name the upload API takes (license-kit §3.3), in characters.
const MAX_UPLOAD_CHARS: usize = 1024;
const BUILTIN_PREFIX: &str = "kg1";

/// What the `license.requested` event carried (koogate's own payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRequest {
    pub instance_id: String,
    pub event_id: String,
    pub device_fingerprint: Option<String>,
    /// RFC 3339.
    pub effective_time: String,
    pub expire_time: Option<String>,
}

impl LicenseRequest {
    /// Reads the event's payload; `None` if it is not a `license.requested` body.
    pub fn from_payload(payload: &str) -> Option<Self> {
        let body: Value = serde_json::from_str(payload).ok()?;
        let data = &body["data"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        Some(Self {
            instance_id: text(&body["instanceId"])?,
            event_id: text(&data["eventId"])?,
            device_fingerprint: text(&data["deviceFingerprint"]),
            effective_time: text(&data["effectiveTime"])?,
            expire_time: text(&data["expireTime"]),
        })
    }
}

/// A hook's answer to `license.requested`: a string, or a file as base64.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicenseAnswer {
    license: Option<String>,
    license_file: Option<LicenseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicenseFile {
    file_name: String,
    content_base64: String,
}

/// The license in a hook's 2xx answer. `Ok(None)`: the answer holds no license (the vendor
/// uploads it some other way). `Err` names what is wrong with an answer that tried.
pub fn license_from_answer(answer: &[u8]) -> Result<Option<UploadLicense>, String> {
    let Ok(answer) = serde_json::from_slice::<LicenseAnswer>(answer) else {
        return Ok(None);
    };
    match (answer.license, answer.license_file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err("answer has both `license` and `licenseFile`".into()),
        (Some(text), None) => {
            if text.is_empty() {
                return Err("`license` is empty".into());
            }
            if text.chars().count() > MAX_UPLOAD_CHARS {
                return Err(format!(
                    "`license` is longer than {MAX_UPLOAD_CHARS} characters; answer with `licenseFile`"
                ));
            }
            Ok(Some(UploadLicense::Characters(text)))
        }
        (None, Some(file)) => {
            if file.file_name.is_empty() || file.file_name.chars().count() > MAX_UPLOAD_CHARS {
                return Err(format!(
                    "`licenseFile.fileName` must have 1 to {MAX_UPLOAD_CHARS} characters"
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(file.content_base64.trim())
                .map_err(|_| "`licenseFile.contentBase64` is not base64".to_owned())?;
            Ok(Some(UploadLicense::File {
                name: file.file_name,
                bytes,
            }))
        }
    }
}

/// The built-in license for `request` (see the module docs for the format).
pub fn builtin_license(secret: &WebhookSecret, request: &LicenseRequest) -> Result<String, String> {
    let effective = DateTime::parse_from_rfc3339(&request.effective_time)
        .map_err(|e| format!("effectiveTime {:?}: {e}", request.effective_time))?;
    let payload = json!({
        "v": 1,
        "instanceId": request.instance_id,
        "eventId": request.event_id,
        "fingerprintSha256": request
            .device_fingerprint
            .as_deref()
            .map(|fp| hex::encode(Sha256::digest(fp.as_bytes()))),
        "effectiveTime": request.effective_time,
        "expireTime": request.expire_time,
    })
    .to_string();
    let signature = webhook::sign(
        secret,
        &request.event_id,
        effective.timestamp(),
        payload.as_bytes(),
    );
    let signature = signature.strip_prefix("v1,").unwrap_or(&signature);
    Ok(format!(
        "{BUILTIN_PREFIX}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// After `license.requested` was delivered: find the license, upload it, record the upload.
pub async fn on_requested(
    gw: &Gateway,
    event: &OutboxEvent,
    answer: &[u8],
) -> Result<Option<Commit>, Failure> {
    let request = LicenseRequest::from_payload(&event.payload)
        .ok_or_else(|| Failure::permanent("license.requested payload is unreadable"))?;
    let (license, source) = if gw.hook.is_some() {
        match license_from_answer(answer) {
            Ok(Some(license)) => (license, "hook"),
            Ok(None) => {
                tracing::info!(
                    event_id = request.event_id,
                    "the hook answered license.requested without a license; it uploads the license itself"
                );
                return Ok(None);
            }
            Err(problem) => {
                return Err(Failure::permanent(format!(
                    "the hook's answer to license.requested is invalid: {problem}"
                )));
            }
        }
    } else {
        let secret = gw.license_secret.as_ref().ok_or_else(|| {
            Failure::permanent("KOOGATE_HOOK_SECRET is not set; it signs built-in licenses")
        })?;
        let text = builtin_license(secret, &request).map_err(Failure::permanent)?;
        (UploadLicense::Characters(text), "builtin")
    };
    gw.marketplace
        .upload_license(&request.event_id, &license)
        .await
        .map_err(|err| Failure {
            retryable: err.retryable,
            status: None,
            retry_after_secs: None,
            message: format!("license upload: {}", err.message),
        })?;
    tracing::info!(
        event_id = request.event_id,
        source,
        "license uploaded to KooGallery"
    );
    let now = gw.clock.now();
    let kind_name = match license {
        UploadLicense::Characters(_) => "CHARACTERS",
        UploadLicense::File { .. } => "FILE",
    };
    let uploaded = events::event(
        kind::LICENSE_UPLOADED,
        &event.ordering_key,
        Some(&request.instance_id),
        event_test_flag(&event.payload),
        json!({"eventId": request.event_id, "type": kind_name, "source": source}),
        now,
    );
    Ok(Some(Commit {
        events: vec![uploaded],
        now,
        ..Commit::default()
    }))
}

fn event_test_flag(payload: &str) -> bool {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|body| body["testFlag"].as_bool())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> LicenseRequest {
        LicenseRequest {
            instance_id: "inst-1".into(),
            event_id: "evt-1".into(),
            device_fingerprint: Some("MAC|disk".into()),
            effective_time: "2025-03-01T08:00:00+00:00".into(),
            expire_time: Some("2025-04-01T23:59:59+00:00".into()),
        }
    }

    #[test]
    fn builtin_license_is_deterministic_and_verifies_as_a_standard_webhook() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let license = builtin_license(&secret, &request()).unwrap();
        assert_eq!(license, builtin_license(&secret, &request()).unwrap());
        let mut parts = license.split('.');
        assert_eq!(parts.next(), Some("kg1"));
        let payload = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        let signature = parts.next().unwrap();
        assert_eq!(parts.next(), None);
        let body: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(body["instanceId"], "inst-1");
        assert_eq!(body["fingerprintSha256"].as_str().unwrap().len(), 64);
        // Checked by the generic webhook verifier, as vendor software would.
        let effective = 1_740_816_000; // 2025-03-01T08:00:00Z
        webhook::verify(
            &secret,
            "evt-1",
            &effective.to_string(),
            &format!("v1,{signature}"),
            &payload,
            effective,
        )
        .unwrap();
        let other = WebhookSecret::parse("whsec_b3RoZXI=");
        assert!(
            webhook::verify(
                &other,
                "evt-1",
                &effective.to_string(),
                &format!("v1,{signature}"),
                &payload,
                effective
            )
            .is_err()
        );
    }

    #[test]
    fn builtin_license_fits_the_string_upload_at_the_protocol_limits() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let long = LicenseRequest {
            instance_id: "i".repeat(64),
            event_id: "e".repeat(64),
            device_fingerprint: Some("f".repeat(5 * 1024)),
            effective_time: "2025-03-01T08:00:00.000+00:00".into(),
            expire_time: Some("2099-12-31T23:59:59.000+00:00".into()),
        };
        let license = builtin_license(&secret, &long).unwrap();
        assert!(
            license.chars().count() <= MAX_UPLOAD_CHARS,
            "{}",
            license.len()
        );
    }

    #[test]
    fn hook_answers() {
        assert_eq!(license_from_answer(b"").unwrap(), None);
        assert_eq!(license_from_answer(b"{}").unwrap(), None);
        assert_eq!(license_from_answer(b"ok").unwrap(), None);
        assert_eq!(
            license_from_answer(br#"{"license":"ABC-123"}"#).unwrap(),
            Some(UploadLicense::Characters("ABC-123".into()))
        );
        assert_eq!(
            license_from_answer(br#"{"licenseFile":{"fileName":"a.lic","contentBase64":"aGk="}}"#)
                .unwrap(),
            Some(UploadLicense::File {
                name: "a.lic".into(),
                bytes: b"hi".to_vec()
            })
        );
        let too_long = format!(r#"{{"license":"{}"}}"#, "x".repeat(1025));
        assert!(
            license_from_answer(too_long.as_bytes())
                .unwrap_err()
                .contains("licenseFile")
        );
        assert!(license_from_answer(br#"{"license":""}"#).is_err());
        assert!(
            license_from_answer(br#"{"licenseFile":{"fileName":"a","contentBase64":"%%"}}"#)
                .is_err()
        );
        assert!(
            license_from_answer(
                br#"{"license":"a","licenseFile":{"fileName":"a","contentBase64":""}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn reads_its_own_event_payload() {
        let event = events::event(
            kind::LICENSE_REQUESTED,
            "inst-1",
            Some("inst-1"),
            true,
            json!({"eventId": "evt-1", "deviceFingerprint": "MAC|disk",
                   "effectiveTime": "2025-03-01T08:00:00+00:00", "expireTime": null}),
            chrono::DateTime::UNIX_EPOCH,
        );
        let request = LicenseRequest::from_payload(&event.payload).unwrap();
        assert_eq!(request.event_id, "evt-1");
        assert_eq!(request.expire_time, None);
        assert!(event_test_flag(&event.payload));
        assert_eq!(LicenseRequest::from_payload("{}"), None);
    }
}
