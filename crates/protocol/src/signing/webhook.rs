//! Standard Webhooks signing for koogate's own outbound hooks:
//! headers `webhook-id`, `webhook-timestamp` (epoch seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.

use base64::Engine as _;

use super::VerifyError;
use super::primitives::{
    base64_std, check_window, hmac_sha256, hmac_verify, parse_timestamp, required,
};

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Default tolerance for receivers, as the Standard Webhooks reference libraries use.
pub const TOLERANCE_SECS: i64 = 300;

const SECRET_PREFIX: &str = "whsec_";
const VERSION_PREFIX: &str = "v1,";

/// A webhook signing secret. Accepts `whsec_<base64>` (decoded) or any other string (its UTF-8
/// bytes). `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A `whsec_` value whose remainder is not valid base64 is taken as raw text, whole, so that
    /// configuration typos still yield a secret both sides derive identically.
    pub fn parse(text: &str) -> Self {
        let decoded = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
        Self(decoded.unwrap_or_else(|| text.as_bytes().to_vec()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

fn message_parts<'a>(msg_id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// `v1,<base64>`.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let timestamp = timestamp_secs.to_string();
    let tag = hmac_sha256(&secret.0, &message_parts(msg_id, &timestamp, body));
    format!("{VERSION_PREFIX}{}", base64_std(&tag))
}

/// Accepts a space-separated list of signatures (key rotation); any `v1` match passes.
///
/// The timestamp is checked in both directions, as the reference libraries do. The message signed is
/// the timestamp text as received, so a sender's formatting cannot make a valid signature fail.
pub fn verify(
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), VerifyError> {
    let msg_id = required(Some(msg_id), HEADER_ID)?;
    let timestamp = required(Some(timestamp), HEADER_TIMESTAMP)?;
    let signature_header = required(Some(signature_header.trim()), HEADER_SIGNATURE)?;
    check_window(parse_timestamp(timestamp)?, now_secs, TOLERANCE_SECS, 1000)?;

    let parts = message_parts(msg_id, timestamp, body);
    let mut saw_v1 = false;
    for entry in signature_header.split_ascii_whitespace() {
        let Some(b64) = entry.strip_prefix(VERSION_PREFIX) else {
            continue;
        };
        saw_v1 = true;
        let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        if hmac_verify(&secret.0, &parts, &tag) {
            return Ok(());
        }
    }
    Err(if saw_v1 {
        VerifyError::BadSignature
    } else {
        VerifyError::MalformedSignature("no v1 signature")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_decode_only_valid_whsec_base64() {
        assert_eq!(
            WebhookSecret::parse("whsec_aGVsbG8="),
            WebhookSecret(b"hello".to_vec())
        );
        assert_eq!(
            WebhookSecret::parse("whsec_!!"),
            WebhookSecret(b"whsec_!!".to_vec())
        );
        assert_eq!(
            WebhookSecret::parse("plain"),
            WebhookSecret(b"plain".to_vec())
        );
        assert_eq!(
            format!("{:?}", WebhookSecret::parse("plain")),
            "WebhookSecret([redacted])"
        );
    }

    #[test]
    fn tolerance_both_ways_and_version_handling() {
        let secret = WebhookSecret::parse("s");
        let sig = sign(&secret, "id", 1000, b"b");
        assert_eq!(
            verify(&secret, "id", "1000", &sig, b"b", 1000 + TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            verify(&secret, "id", "1000", &sig, b"b", 1000 - TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            verify(&secret, "id", "1000", &sig, b"b", 1301),
            Err(VerifyError::TimestampTooOld { skew_ms: 301_000 })
        );
        assert_eq!(
            verify(&secret, "id", "1000", &sig, b"b", 699),
            Err(VerifyError::TimestampInFuture { skew_ms: 301_000 })
        );
        assert!(matches!(
            verify(&secret, "id", "1000", "v2,abc", b"b", 1000),
            Err(VerifyError::MalformedSignature(_))
        ));
        assert_eq!(
            verify(&secret, "id", "1000", "v1,abc", b"b", 1000),
            Err(VerifyError::BadSignature)
        );
    }
}
