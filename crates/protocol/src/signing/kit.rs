//! Scheme B: the joint-operation kit `x-sign` header (spec license-kit §4.3).

use super::{AccessKey, VerifyError};

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
            variants: vec![KitVariant::Canonical, KitVariant::Raw, KitVariant::InnerHmac],
            window_ms: super::scheme_a::WINDOW_MS,
        }
    }
}

/// The demo canonical form of a JSON object body. Errors when the body is not a JSON object.
pub fn canonical_payload(body: &[u8]) -> Result<String, serde_json::Error> {
    let _ = body;
    todo!()
}

/// Uppercase hex `x-sign` over an explicit payload string (no canonicalisation).
pub fn sign_payload(key: &AccessKey, timestamp: &str, nonce: &str, payload: &str) -> String {
    let _ = (key, timestamp, nonce, payload);
    todo!()
}

/// Uppercase hex `x-sign` for `variant` of `body`.
pub fn sign(
    key: &AccessKey,
    variant: KitVariant,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Result<String, serde_json::Error> {
    let _ = (key, variant, timestamp, nonce, body);
    todo!()
}

/// Checks presence, window, then each accepted variant; returns the one that matched.
pub fn verify(
    key: &AccessKey,
    x_sign: Option<&str>,
    x_timestamp: Option<&str>,
    x_nonce: Option<&str>,
    body: &[u8],
    now_ms: i64,
    policy: &KitPolicy,
) -> Result<KitVariant, VerifyError> {
    let _ = (key, x_sign, x_timestamp, x_nonce, body, now_ms, policy);
    todo!()
}
