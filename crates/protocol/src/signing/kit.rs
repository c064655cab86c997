//! Scheme B: the joint-operation kit `x-sign` header (spec license-kit §4.3).
//!
//! `x-sign = hex(HMAC(key, key + x-nonce + x-timestamp + payload))` with no inner digest. The demo
//! verifier only refuses timestamps more than 60 s old; we also refuse ones more than the window in
//! the future, since a far-future timestamp would otherwise stay replayable past the nonce cache.

use super::primitives::{
    check_window, decode_hex_tag, hmac_sha256, hmac_verify, parse_timestamp, required, upper_hex,
};
use super::{AccessKey, VerifyError, canonical_json, scheme_a};

pub const HEADER_SIGN: &str = "x-sign";
pub const HEADER_TIMESTAMP: &str = "x-timestamp";
pub const HEADER_NONCE: &str = "x-nonce";

/// The payload forms a verifier may accept, in the order tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KitVariant {
    /// The demo's form: top-level keys sorted, top-level nulls dropped, compact, non-ASCII raw.
    Canonical,
    /// The raw received body bytes.
    Raw,
    /// Scheme A's inner-HMAC rule applied to the canonical payload.
    InnerHmac,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitPolicy {
    pub variants: Vec<KitVariant>,
    pub window_ms: i64,
}

impl Default for KitPolicy {
    fn default() -> Self {
        Self {
            variants: vec![
                KitVariant::Canonical,
                KitVariant::Raw,
                KitVariant::InnerHmac,
            ],
            window_ms: super::scheme_a::WINDOW_MS,
        }
    }
}

/// The demo canonical form of a JSON object body. Errors when the body is not a JSON object.
pub fn canonical_payload(body: &[u8]) -> Result<String, serde_json::Error> {
    canonical_json::top_level_sorted(body)
}

/// Uppercase hex `x-sign` over an explicit payload string (no canonicalisation).
pub fn sign_payload(key: &AccessKey, timestamp: &str, nonce: &str, payload: &str) -> String {
    sign_bytes(key, timestamp, nonce, payload.as_bytes())
}

fn sign_bytes(key: &AccessKey, timestamp: &str, nonce: &str, payload: &[u8]) -> String {
    let key = key.expose().as_bytes();
    upper_hex(&hmac_sha256(
        key,
        &[key, nonce.as_bytes(), timestamp.as_bytes(), payload],
    ))
}

/// Uppercase hex `x-sign` for `variant` of `body`.
pub fn sign(
    key: &AccessKey,
    variant: KitVariant,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Result<String, serde_json::Error> {
    Ok(match variant {
        KitVariant::Canonical => sign_payload(key, timestamp, nonce, &canonical_payload(body)?),
        KitVariant::Raw => sign_bytes(key, timestamp, nonce, body),
        KitVariant::InnerHmac => {
            scheme_a::sign(key, timestamp, nonce, canonical_payload(body)?.as_bytes())
        }
    })
}

/// Checks presence, window, then each accepted variant; returns the one that matched.
///
/// A body that is not a JSON object can only match [`KitVariant::Raw`].
pub fn verify(
    key: &AccessKey,
    x_sign: Option<&str>,
    x_timestamp: Option<&str>,
    x_nonce: Option<&str>,
    body: &[u8],
    now_ms: i64,
    policy: &KitPolicy,
) -> Result<KitVariant, VerifyError> {
    let x_sign = required(x_sign, HEADER_SIGN)?;
    let timestamp = required(x_timestamp, HEADER_TIMESTAMP)?;
    let nonce = required(x_nonce, HEADER_NONCE)?;
    check_window(parse_timestamp(timestamp)?, now_ms, policy.window_ms, 1)?;
    let tag = decode_hex_tag(x_sign)?;

    let canonical = canonical_payload(body).ok();
    let key_bytes = key.expose().as_bytes();
    let direct = |payload: &[u8]| {
        hmac_verify(
            key_bytes,
            &[key_bytes, nonce.as_bytes(), timestamp.as_bytes(), payload],
            &tag,
        )
    };
    let matches = |variant: KitVariant| match (variant, canonical.as_deref()) {
        (KitVariant::Raw, _) => direct(body),
        (KitVariant::Canonical, Some(payload)) => direct(payload.as_bytes()),
        (KitVariant::InnerHmac, Some(payload)) => {
            let inner = hex::encode(hmac_sha256(key_bytes, &[payload.as_bytes()]));
            direct(inner.as_bytes())
        }
        (_, None) => false,
    };
    policy
        .variants
        .iter()
        .copied()
        .find(|&variant| matches(variant))
        .ok_or(VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn headers_checked_before_window_and_window_both_ways() {
        let key = AccessKey::new("k");
        let policy = KitPolicy::default();
        let run = |sign: Option<&str>, ts: Option<&str>, nonce: Option<&str>| {
            verify(&key, sign, ts, nonce, b"{}", NOW, &policy)
        };
        assert_eq!(
            run(None, Some("1"), Some("n")),
            Err(VerifyError::MissingParameter(HEADER_SIGN))
        );
        assert_eq!(
            run(Some("AA"), None, Some("n")),
            Err(VerifyError::MissingParameter(HEADER_TIMESTAMP))
        );
        assert_eq!(
            run(Some("AA"), Some("1"), Some("")),
            Err(VerifyError::MissingParameter(HEADER_NONCE))
        );
        let future = (NOW + 60_001).to_string();
        assert_eq!(
            run(Some("AA"), Some(&future), Some("n")),
            Err(VerifyError::TimestampInFuture { skew_ms: 60_001 })
        );
    }

    #[test]
    fn non_object_bodies_only_match_raw() {
        let key = AccessKey::new("k");
        let ts = NOW.to_string();
        assert!(sign(&key, KitVariant::Canonical, &ts, "n", b"[1]").is_err());
        let Ok(sig) = sign(&key, KitVariant::Raw, &ts, "n", b"[1]") else {
            panic!("raw signing cannot fail")
        };
        let got = verify(
            &key,
            Some(&sig),
            Some(&ts),
            Some("n"),
            b"[1]",
            NOW,
            &KitPolicy::default(),
        );
        assert_eq!(got, Ok(KitVariant::Raw));
    }
}
