//! Delivering an online license after `getLicenseAsync` (spec saas-v2 §3.8, license-kit §3.2 and
//! §3.3). Two steps, each retried on its own:
//!
//! 1. **Issue.** The call answers `000004` and enqueues `license.requested`. Once that event is
//!    delivered, the license is taken from the vendor hook's answer, or made by the built-in
//!    generator when no hook is configured. It is sealed with the master key and committed, in
//!    one transaction with the event's completion, as an internal upload job (an outbox row of
//!    type [`UPLOAD_JOB`] with its own ordering key). A retry of the upload never asks the hook
//!    again, so the license cannot change between attempts. The hook is asked again only if
//!    that commit itself fails (at-least-once delivery); the idempotency key
//!    `licenseIssued:{eventId}:{fingerprint}` makes the first committed answer the one that
//!    counts, however many workers race.
//! 2. **Upload.** The job is "delivered" by [`upload_job`]: it opens the sealed license and uploads
//!    it to the market-event API under the request's `eventId`; passing failures (network, 5xx)
//!    retry with the outbox's backoff, refusals park the job for an operator. The upload's
//!    ordering key is `license-upload:{eventId}`, so a marketplace outage never holds back the
//!    instance's other events. When it lands, `license.uploaded` goes to the hook.
//!
//! KooGallery requires that the same request (same `eventId` and fingerprint) yields the same
//! license: the call is deduplicated on that pair, the license is fixed at step 1, and the
//! built-in license is a deterministic function of the request and the signing key.
//!
//! # The built-in license
//!
//! `kg1.<payload>.<signature>`, both parts unpadded base64url. `payload` is a JSON object (`v`,
//! `instanceId`, `eventId`, `fingerprintSha256`, `effectiveTime`, `expireTime`); `signature` is
//! Ed25519 (RFC 8032) over the ASCII text `kg1.<payload>` with `KOOGATE_LICENSE_SIGNING_KEY`.
//! Vendor software checks it with the public key only (`GET /api/v1/license-key`), so shipping
//! the verifier never lets anyone mint licenses. It fits the 1024-character string upload for
//! any request the protocol allows.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::events::{self, kind};
use super::{Gateway, provision};
use crate::openapi::UploadLicense;
use crate::outbox::{DeliveryFailure, MAX_RESPONSE_BYTES};
use crate::store::{Commit, OutboxEvent};

/// Longest license string and file name the upload API takes (license-kit §3.3), in characters.
const MAX_UPLOAD_CHARS: usize = 1024;
const BUILTIN_PREFIX: &str = "kg1";
/// The internal outbox event that uploads an issued license; never sent to the hook.
pub const UPLOAD_JOB: &str = "koogate.license_upload";

/// What the `license.requested` event carried (koogate's own payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRequest {
    pub instance_id: String,
    pub event_id: String,
    pub device_fingerprint: Option<String>,
    /// RFC 3339.
    pub effective_time: String,
    pub expire_time: Option<String>,
    pub test_flag: bool,
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
            test_flag: body["testFlag"].as_bool().unwrap_or(false),
        })
    }
}

/// The Ed25519 key that signs built-in licenses. `Debug` shows only the public key.
pub struct LicenseSigner {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for LicenseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LicenseSigner(public {})", self.public_key_base64())
    }
}

impl LicenseSigner {
    /// From the 32-byte seed as 64 hexadecimal characters.
    pub fn from_hex_seed(text: &str) -> Result<Self, String> {
        let seed = hex::decode(text.trim())
            .ok()
            .filter(|seed| seed.len() == 32)
            .ok_or("the license signing key must be 64 hexadecimal characters (a 32-byte seed)")?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| "the license signing key is not a valid Ed25519 seed".to_owned())?;
        Ok(Self { pair })
    }

    /// A key derived one-way from another secret (the master key), for configurations that set
    /// no signing key: stable for as long as that secret is, and revealing nothing about it.
    pub fn derived_from(secret: &str) -> Self {
        let seed = Sha256::new()
            .chain_update(b"koogate license signing key v1\0")
            .chain_update(secret.as_bytes())
            .finalize();
        // Any 32 bytes are a valid Ed25519 seed.
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed);
        match pair {
            Ok(pair) => Self { pair },
            Err(_) => unreachable!("every 32-byte seed is a valid Ed25519 seed"),
        }
    }

    /// A fresh seed as 64 hexadecimal characters (first start without configuration).
    pub fn generate_hex_seed() -> String {
        use rand::Rng;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        hex::encode(seed)
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The public key, standard base64 (what vendor software embeds).
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.public_key())
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// The built-in license for `request` (see the module docs for the format).
pub fn builtin_license(signer: &LicenseSigner, request: &LicenseRequest) -> String {
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
    let signed = format!("{BUILTIN_PREFIX}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature = URL_SAFE_NO_PAD.encode(signer.sign(signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// Checks a built-in license against a public key and returns its payload: the recipe vendor
/// software follows, kept here for `koogate` itself and for tests.
pub fn verify_builtin(public_key: &[u8], license: &str) -> Result<Value, String> {
    let (signed, signature) = license
        .rsplit_once('.')
        .ok_or("not a kg1 license: no signature")?;
    let payload = signed
        .strip_prefix("kg1.")
        .ok_or("not a kg1 license: wrong prefix")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "signature is not base64url")?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "bad signature")?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "payload is not base64url")?;
    serde_json::from_slice(&payload).map_err(|e| format!("payload is not JSON: {e}"))
}

/// The license in a hook's 2xx answer. `Ok(None)`: the answer does not try to carry one (the
/// vendor uploads it itself). `Err` names what is wrong with an answer that tried, or one too
/// large to have been read whole.
pub fn license_from_answer(answer: &[u8]) -> Result<Option<UploadLicense>, String> {
    if answer.len() >= MAX_RESPONSE_BYTES {
        return Err(format!(
            "the answer is {MAX_RESPONSE_BYTES} bytes or more and was not read whole; a license file must stay under about 48 KiB"
        ));
    }
    let answer = match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Object(answer)) => answer,
        // Something that set out to be an object and broke is a hook bug, not "no license".
        Err(e) if answer.trim_ascii_start().starts_with(b"{") => {
            return Err(format!("the answer is not valid JSON: {e}"));
        }
        _ => return Ok(None),
    };
    match (answer.get("license"), answer.get("licenseFile")) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err("answer has both `license` and `licenseFile`".into()),
        (Some(text), None) => {
            let text = text.as_str().ok_or("`license` is not a string")?;
            if text.is_empty() {
                return Err("`license` is empty".into());
            }
            if text.encode_utf16().count() > MAX_UPLOAD_CHARS {
                return Err(format!(
                    "`license` is longer than {MAX_UPLOAD_CHARS} characters; answer with `licenseFile`"
                ));
            }
            Ok(Some(UploadLicense::Characters(text.to_owned())))
        }
        (None, Some(file)) => {
            let field = |name: &str| file.get(name).and_then(Value::as_str);
            let name = field("fileName").ok_or("`licenseFile.fileName` is missing")?;
            if name.is_empty() || name.encode_utf16().count() > MAX_UPLOAD_CHARS {
                return Err(format!(
                    "`licenseFile.fileName` must have 1 to {MAX_UPLOAD_CHARS} characters"
                ));
            }
            let content = field("contentBase64").ok_or("`licenseFile.contentBase64` is missing")?;
            // MIME-style base64 wraps lines; the line breaks are not data.
            let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = STANDARD
                .decode(compact)
                .map_err(|_| "`licenseFile.contentBase64` is not base64".to_owned())?;
            if bytes.is_empty() {
                return Err("`licenseFile.contentBase64` is empty".into());
            }
            Ok(Some(UploadLicense::File {
                name: name.to_owned(),
                bytes,
            }))
        }
    }
}

/// Step 1, after `license.requested` was delivered: fix the license and queue its upload.
pub async fn on_requested(
    gw: &Gateway,
    event: &OutboxEvent,
    answer: &[u8],
) -> Result<Option<Commit>, DeliveryFailure> {
    let request = LicenseRequest::from_payload(&event.payload)
        .ok_or_else(|| DeliveryFailure::permanent("license.requested payload is unreadable"))?;
    if gw.hook.is_some()
        && let Some(refusal) = refusal_from_answer(answer)
    {
        let refusal = refusal.map_err(|problem| {
            DeliveryFailure::permanent(format!(
                "the hook's refusal of license.requested is invalid: {problem}"
            ))
        })?;
        return Ok(Some(refusal_commit(gw, &request, &refusal)));
    }
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
                return Err(DeliveryFailure::permanent(format!(
                    "the hook's answer to license.requested is invalid: {problem}"
                )));
            }
        }
    } else {
        (
            UploadLicense::Characters(builtin_license(&gw.license_signer, &request)),
            "builtin",
        )
    };
    let now = gw.clock.now();
    let sealed = gw.secret_box.seal(&seal_license(&license));
    let job = events::event(
        UPLOAD_JOB,
        &format!("license-upload:{}", request.event_id),
        Some(&request.instance_id),
        request.test_flag,
        json!({
            "licenseEventId": request.event_id,
            "source": source,
            "type": upload_type(&license),
            "sealed": STANDARD.encode(sealed),
        }),
        now,
    );
    let fingerprint = request.device_fingerprint.as_deref().unwrap_or_default();
    let key = format!("licenseIssued:{}:{fingerprint}", request.event_id);
    Ok(Some(Commit {
        response: Some((key, b"{}".to_vec())),
        events: vec![job],
        now,
        ..Commit::default()
    }))
}

/// The hook's `{"refuse":{"code","message"}}`, when its answer has one: `Err` when it is not a
/// valid online-License refusal (`000900`–`000903`).
fn refusal_from_answer(answer: &[u8]) -> Option<Result<provision::Refusal, String>> {
    let answer: Value = serde_json::from_slice(answer).ok()?;
    let refuse = answer.get("refuse")?;
    Some(provision::Refusal::parse_among(
        refuse,
        &provision::LICENSE_REFUSAL_CODES,
        "000900-000903",
    ))
}

/// The vendor refused the license: its answer replaces the `000004` stored for the
/// getLicenseAsync call, so KooGallery's retries of it get the refusal byte for byte, and the
/// event is concluded (the `licenseIssued` key, as for an issued license, so a redelivery of the
/// event changes nothing).
fn refusal_commit(gw: &Gateway, request: &LicenseRequest, refusal: &provision::Refusal) -> Commit {
    let fingerprint = request.device_fingerprint.as_deref().unwrap_or_default();
    let call_key = format!("getLicenseAsync:{}:{fingerprint}", request.event_id);
    tracing::info!(
        event_id = request.event_id,
        code = refusal.code.code(),
        "the vendor refused the license"
    );
    Commit {
        response: Some((
            format!("licenseIssued:{}:{fingerprint}", request.event_id),
            b"{}".to_vec(),
        )),
        replace_responses: vec![(call_key, refusal.answer(gw).body)],
        now: gw.clock.now(),
        ..Commit::default()
    }
}

/// Step 2: the "delivery" of an [`UPLOAD_JOB`] event.
pub async fn upload_job(gw: &Gateway, event: &OutboxEvent) -> Result<(), DeliveryFailure> {
    let payload: Value = serde_json::from_str(&event.payload)
        .map_err(|_| DeliveryFailure::permanent("license upload job payload is unreadable"))?;
    let data = &payload["data"];
    let event_id = data["licenseEventId"]
        .as_str()
        .ok_or_else(|| DeliveryFailure::permanent("license upload job has no licenseEventId"))?;
    let sealed = data["sealed"]
        .as_str()
        .and_then(|text| STANDARD.decode(text).ok())
        .ok_or_else(|| DeliveryFailure::permanent("license upload job has no sealed license"))?;
    let license = gw
        .secret_box
        .open(&sealed)
        .ok()
        .and_then(|bytes| open_license(&bytes))
        .ok_or_else(|| {
            DeliveryFailure::permanent(
                "the sealed license cannot be opened (was the master key removed?)",
            )
        })?;
    gw.marketplace
        .upload_license(event_id, &license)
        .await
        .map_err(|err| DeliveryFailure {
            retryable: err.retryable,
            status: None,
            retry_after_secs: None,
            message: format!("license upload: {}", err.message),
        })?;
    tracing::info!(event_id, "license uploaded to KooGallery");
    Ok(())
}

/// After an upload job succeeded: tell the hook, once.
pub fn on_uploaded(gw: &Gateway, event: &OutboxEvent) -> Result<Option<Commit>, DeliveryFailure> {
    let payload: Value = serde_json::from_str(&event.payload)
        .map_err(|_| DeliveryFailure::permanent("license upload job payload is unreadable"))?;
    let data = &payload["data"];
    let event_id = data["licenseEventId"].as_str().unwrap_or_default();
    let instance_id = payload["instanceId"].as_str().unwrap_or_default();
    let now = gw.clock.now();
    let uploaded = events::event(
        kind::LICENSE_UPLOADED,
        instance_id,
        Some(instance_id),
        payload["testFlag"].as_bool().unwrap_or(false),
        json!({"eventId": event_id, "type": data["type"], "source": data["source"]}),
        now,
    );
    Ok(Some(Commit {
        response: Some((
            format!("licenseUploaded:{}", event.event_id),
            b"{}".to_vec(),
        )),
        events: vec![uploaded],
        now,
        ..Commit::default()
    }))
}

/// `type` of the upload metadata (license-kit §3.3).
fn upload_type(license: &UploadLicense) -> &'static str {
    match license {
        UploadLicense::Characters(_) => "CHARACTERS",
        UploadLicense::File { .. } => "FILE",
    }
}

/// The license as sealed bytes: `{"characters":…}` or `{"fileName":…,"contentBase64":…}`.
fn seal_license(license: &UploadLicense) -> Vec<u8> {
    let value = match license {
        UploadLicense::Characters(text) => json!({ "characters": text }),
        UploadLicense::File { name, bytes } => {
            json!({ "fileName": name, "contentBase64": STANDARD.encode(bytes) })
        }
    };
    value.to_string().into_bytes()
}

fn open_license(bytes: &[u8]) -> Option<UploadLicense> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    if let Some(text) = value["characters"].as_str() {
        return Some(UploadLicense::Characters(text.to_owned()));
    }
    Some(UploadLicense::File {
        name: value["fileName"].as_str()?.to_owned(),
        bytes: STANDARD.decode(value["contentBase64"].as_str()?).ok()?,
    })
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
            test_flag: false,
        }
    }

    /// RFC 8032 §7.1, TEST 1: proves the seed is used as Ed25519 specifies, so any standard
    /// verifier accepts what the signer makes.
    #[test]
    fn signer_matches_rfc_8032_test_1() {
        let signer = LicenseSigner::from_hex_seed(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        assert_eq!(
            hex::encode(signer.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(signer.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(!format!("{signer:?}").contains("9d61b19d"));
        assert!(LicenseSigner::from_hex_seed("abcd").is_err());
    }

    #[test]
    fn builtin_license_is_deterministic_and_verifies_with_the_public_key_only() {
        let signer = LicenseSigner::from_hex_seed(&LicenseSigner::generate_hex_seed()).unwrap();
        let license = builtin_license(&signer, &request());
        assert_eq!(license, builtin_license(&signer, &request()));
        let payload = verify_builtin(signer.public_key(), &license).unwrap();
        assert_eq!(payload["instanceId"], "inst-1");
        assert_eq!(payload["eventId"], "evt-1");
        assert_eq!(payload["fingerprintSha256"].as_str().unwrap().len(), 64);
        let other = LicenseSigner::from_hex_seed(&LicenseSigner::generate_hex_seed()).unwrap();
        assert_eq!(
            verify_builtin(other.public_key(), &license).unwrap_err(),
            "bad signature"
        );
        // A payload edited to another instance no longer verifies.
        let (_, rest) = license.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"instanceId":"inst-2"}"#);
        let forged = format!("kg1.{forged_payload}.{signature}");
        assert!(verify_builtin(signer.public_key(), &forged).is_err());
    }

    #[test]
    fn builtin_license_fits_the_string_upload_at_the_protocol_limits() {
        let signer = LicenseSigner::from_hex_seed(&LicenseSigner::generate_hex_seed()).unwrap();
        let long = LicenseRequest {
            instance_id: "i".repeat(64),
            event_id: "e".repeat(64),
            device_fingerprint: Some("f".repeat(5 * 1024)),
            effective_time: "2025-03-01T08:00:00.000+00:00".into(),
            expire_time: Some("2099-12-31T23:59:59.000+00:00".into()),
            test_flag: true,
        };
        let license = builtin_license(&signer, &long);
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
        assert_eq!(license_from_answer(br#"{"ok":true}"#).unwrap(), None);
        assert_eq!(
            license_from_answer(br#"{"license":"ABC-123"}"#).unwrap(),
            Some(UploadLicense::Characters("ABC-123".into()))
        );
        assert_eq!(
            license_from_answer(
                br#"{"licenseFile":{"fileName":"a.lic","contentBase64":"aGVs\r\nbG8="}}"#
            )
            .unwrap(),
            Some(UploadLicense::File {
                name: "a.lic".into(),
                bytes: b"hello".to_vec()
            })
        );
        let refused = |body: &[u8], needle: &str| {
            let err = license_from_answer(body).unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        refused(
            format!(r#"{{"license":"{}"}}"#, "x".repeat(1025)).as_bytes(),
            "licenseFile",
        );
        refused(br#"{"license":""}"#, "empty");
        refused(br#"{"license":123}"#, "not a string");
        refused(br#"{"licenseFile":{"fileName":"a.lic"}}"#, "contentBase64");
        refused(
            br#"{"licenseFile":{"fileName":"a","contentBase64":"%%"}}"#,
            "base64",
        );
        refused(
            br#"{"licenseFile":{"fileName":"a","contentBase64":""}}"#,
            "empty",
        );
        refused(br#"{"licenseFile":{"contentBase64":"aGk="}}"#, "fileName");
        refused(
            br#"{"license":"a","licenseFile":{"fileName":"a","contentBase64":"aGk="}}"#,
            "both",
        );
        refused(&vec![b' '; MAX_RESPONSE_BYTES], "not read whole");
        refused(br#"{"license":"LIC-1"#, "not valid JSON");
    }

    #[test]
    fn sealed_licenses_round_trip() {
        for license in [
            UploadLicense::Characters("LIC-1".into()),
            UploadLicense::File {
                name: "a.lic".into(),
                bytes: vec![0, 1, 2, 255],
            },
        ] {
            assert_eq!(open_license(&seal_license(&license)), Some(license));
        }
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
        assert!(request.test_flag);
        assert_eq!(LicenseRequest::from_payload("{}"), None);
    }
}
