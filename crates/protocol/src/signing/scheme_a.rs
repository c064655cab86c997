//! Scheme A: the production-interface request signature (spec saas-v2 §2.2, license-kit §2.2.2).
//!
//! `signature`, `timestamp` (epoch ms) and `nonce` travel as URL query parameters; the signature is
//! `hex(HMAC(key, key + nonce + timestamp + lower_hex(HMAC(key, payload))))`.

use super::primitives::{
    check_window, decode_hex_tag, hmac_sha256, hmac_verify, parse_timestamp, required, sha256,
    upper_hex,
};
use super::{AccessKey, VerifyError, canonical_json};

/// The replay window the spec requires: |now − timestamp| ≤ 60 s.
pub const WINDOW_MS: i64 = 60_000;

/// How the inner digest of the payload is computed. The License page names HMAC keyed with the
/// access key (the default); one third-party implementation uses a plain SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InnerHash {
    #[default]
    Hmac,
    Sha256,
}

/// Which payload forms and inner digests the verifier accepts, in the order it tries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Inner digests to try, in order.
    pub inner: Vec<InnerHash>,
    /// Also try the top-level-sorted, null-free, compact re-serialisation of the body after the raw bytes.
    pub try_canonical: bool,
    /// Allowed clock difference in milliseconds (both directions).
    pub window_ms: i64,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            inner: vec![InnerHash::Hmac],
            try_canonical: true,
            window_ms: WINDOW_MS,
        }
    }
}

/// Which variant of the payload matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    pub inner: InnerHash,
    /// `true` when the canonical re-serialisation matched rather than the raw bytes.
    pub canonical: bool,
}

/// The signature parameters as received (already URL-decoded).
#[derive(Debug, Clone, Copy)]
pub struct SignatureParams<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
}

/// Uppercase hex signature of `body` with the default (HMAC) inner digest.
pub fn sign(key: &AccessKey, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    sign_with(key, InnerHash::Hmac, timestamp, nonce, body)
}

/// Uppercase hex signature with an explicit inner digest.
pub fn sign_with(
    key: &AccessKey,
    inner: InnerHash,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let key = key.expose().as_bytes();
    let payload_hex = payload_hex(key, inner, body);
    upper_hex(&hmac_sha256(
        key,
        &canonical_parts(key, nonce, timestamp, &payload_hex),
    ))
}

/// The string the outer HMAC signs (for debugging and the `sign` CLI's verbose mode):
/// `accessKey + nonce + timestamp + lower_hex(inner(body))`.
pub fn canonical_request(
    key: &AccessKey,
    inner: InnerHash,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let payload_hex = payload_hex(key.expose().as_bytes(), inner, body);
    format!("{}{nonce}{timestamp}{payload_hex}", key.expose())
}

/// The top-level-sorted, null-free, compact form tried after the raw body (shared with the kit).
pub fn canonical_body(body: &[u8]) -> Result<String, serde_json::Error> {
    canonical_json::top_level_sorted(body)
}

fn payload_hex(key: &[u8], inner: InnerHash, body: &[u8]) -> String {
    // The spec says lowercase for the inner digest; the case matters because it is hashed again.
    match inner {
        InnerHash::Hmac => hex::encode(hmac_sha256(key, &[body])),
        InnerHash::Sha256 => hex::encode(sha256(body)),
    }
}

fn canonical_parts<'a>(
    key: &'a [u8],
    nonce: &'a str,
    timestamp: &'a str,
    payload_hex: &'a str,
) -> [&'a [u8]; 4] {
    [
        key,
        nonce.as_bytes(),
        timestamp.as_bytes(),
        payload_hex.as_bytes(),
    ]
}

/// Checks presence, timestamp window, then signature. The nonce's freshness is the caller's job
/// (it needs storage shared between replicas).
///
/// The raw body is tried with every inner digest before the canonical form, because re-serialising
/// is only a guess at what the marketplace signed and the raw bytes are what the docs show.
pub fn verify(
    key: &AccessKey,
    params: SignatureParams<'_>,
    body: &[u8],
    now_ms: i64,
    policy: &VerifyPolicy,
) -> Result<Matched, VerifyError> {
    let signature = required(params.signature, "signature")?;
    let timestamp = required(params.timestamp, "timestamp")?;
    let nonce = required(params.nonce, "nonce")?;
    check_window(parse_timestamp(timestamp)?, now_ms, policy.window_ms, 1)?;
    let tag = decode_hex_tag(signature)?;

    let key = key.expose().as_bytes();
    let matches = |inner: InnerHash, payload: &[u8]| {
        let payload_hex = payload_hex(key, inner, payload);
        hmac_verify(
            key,
            &canonical_parts(key, nonce, timestamp, &payload_hex),
            &tag,
        )
    };
    if let Some(&inner) = policy.inner.iter().find(|&&inner| matches(inner, body)) {
        return Ok(Matched {
            inner,
            canonical: false,
        });
    }
    if policy.try_canonical
        && let Ok(canonical) = canonical_body(body)
        && let Some(&inner) = policy
            .inner
            .iter()
            .find(|&&inner| matches(inner, canonical.as_bytes()))
    {
        return Ok(Matched {
            inner,
            canonical: true,
        });
    }
    Err(VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn check(
        signature: Option<&str>,
        timestamp: Option<&str>,
        nonce: Option<&str>,
        body: &[u8],
    ) -> Result<Matched, VerifyError> {
        verify(
            &AccessKey::new("k"),
            SignatureParams {
                signature,
                timestamp,
                nonce,
            },
            body,
            NOW,
            &VerifyPolicy::default(),
        )
    }

    #[test]
    fn checks_run_in_documented_order() {
        assert_eq!(
            check(None, Some("1"), Some("n"), b""),
            Err(VerifyError::MissingParameter("signature"))
        );
        assert_eq!(
            check(Some("AA"), Some(""), Some("n"), b""),
            Err(VerifyError::MissingParameter("timestamp"))
        );
        assert_eq!(
            check(Some("AA"), Some("1"), None, b""),
            Err(VerifyError::MissingParameter("nonce"))
        );
        assert_eq!(
            check(Some("AA"), Some("1e3"), Some("n"), b""),
            Err(VerifyError::MalformedTimestamp("1e3".into()))
        );
        let ts = NOW.to_string();
        for bad in ["ABC", "zz", "not hex at all"] {
            assert!(matches!(
                check(Some(bad), Some(&ts), Some("n"), b""),
                Err(VerifyError::MalformedSignature(_))
            ));
        }
        assert_eq!(
            check(Some("ABCD"), Some(&ts), Some("n"), b""),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn window_bound_is_inclusive_both_ways() {
        let key = AccessKey::new("k");
        for (offset, expected_ok) in [
            (60_000, true),
            (-60_000, true),
            (60_001, false),
            (-60_001, false),
        ] {
            let ts = (NOW - offset).to_string();
            let sig = sign(&key, &ts, "n", b"{}");
            assert_eq!(
                check(Some(&sig), Some(&ts), Some("n"), b"{}").is_ok(),
                expected_ok,
                "offset {offset}"
            );
        }
        let old = (NOW - 60_001).to_string();
        assert_eq!(
            check(Some("AA"), Some(&old), Some("n"), b""),
            Err(VerifyError::TimestampTooOld { skew_ms: 60_001 })
        );
        let future = (NOW + 60_001).to_string();
        assert_eq!(
            check(Some("AA"), Some(&future), Some("n"), b""),
            Err(VerifyError::TimestampInFuture { skew_ms: 60_001 })
        );
    }

    #[test]
    fn canonical_form_is_tried_after_raw_and_only_when_allowed() {
        let key = AccessKey::new("k");
        let ts = NOW.to_string();
        let received = br#"{"b":1,"a":null,"c":"\u5f20/"}"#;
        let sig = sign(&key, &ts, "n", "{\"b\":1,\"c\":\"\u{5f20}/\"}".as_bytes());
        assert_eq!(
            check(Some(&sig), Some(&ts), Some("n"), received),
            Ok(Matched {
                inner: InnerHash::Hmac,
                canonical: true
            })
        );
        let strict = VerifyPolicy {
            try_canonical: false,
            ..VerifyPolicy::default()
        };
        let params = SignatureParams {
            signature: Some(&sig),
            timestamp: Some(&ts),
            nonce: Some("n"),
        };
        assert_eq!(
            verify(&key, params, received, NOW, &strict),
            Err(VerifyError::BadSignature)
        );
    }
}
