//! Scheme A: the production-interface request signature (spec saas-v2 §2.2, license-kit §2.2.2).
//!
//! `signature`, `timestamp` (epoch ms) and `nonce` travel as URL query parameters; the signature is
//! `hex(HMAC(key, key + nonce + timestamp + lower_hex(HMAC(key, payload))))`.

use super::{AccessKey, VerifyError};

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
        Self { inner: vec![InnerHash::Hmac], try_canonical: true, window_ms: WINDOW_MS }
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
pub fn sign_with(key: &AccessKey, inner: InnerHash, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let _ = (key, inner, timestamp, nonce, body);
    todo!()
}

/// Checks presence, timestamp window, then signature. The nonce's freshness is the caller's job
/// (it needs storage shared between replicas).
pub fn verify(
    key: &AccessKey,
    params: SignatureParams<'_>,
    body: &[u8],
    now_ms: i64,
    policy: &VerifyPolicy,
) -> Result<Matched, VerifyError> {
    let _ = (key, params, body, now_ms, policy);
    todo!()
}
