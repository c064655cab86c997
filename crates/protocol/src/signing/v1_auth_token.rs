//! The retired V1 `authToken` scheme (spec saas-v2 §2.6), kept for old products and for contrast.

use super::primitives::{base64_std, decode_base64_tag, hmac_sha256, hmac_verify, required};
use super::{AccessKey, VerifyError, canonical_json};

pub const PARAM_AUTH_TOKEN: &str = "authToken";
pub const PARAM_TIMESTAMP: &str = "timeStamp";

/// `base64(HMAC-SHA256(key + timeStamp, k1=v1&k2=v2…))` over the parameters sorted by name,
/// excluding `authToken`. `params` are URL-decoded name/value pairs in any order and include the
/// `timeStamp` parameter itself, which is signed like any other besides keying the HMAC.
pub fn sign(key: &AccessKey, timestamp: &str, params: &[(String, String)]) -> String {
    let hmac_key = format!("{}{timestamp}", key.expose());
    base64_std(&hmac_sha256(
        hmac_key.as_bytes(),
        &[canonical_params(params).as_bytes()],
    ))
}

/// The sorted `k=v&…` string that is signed.
///
/// Mirrors the Java demo's `TreeMap` over `getParameterMap()`: names compare by UTF-16 code units,
/// and a repeated name contributes only its first value.
pub fn canonical_params(params: &[(String, String)]) -> String {
    let mut kept: Vec<&(String, String)> = Vec::with_capacity(params.len());
    for pair in params.iter().filter(|(name, _)| name != PARAM_AUTH_TOKEN) {
        if !kept.iter().any(|(name, _)| *name == pair.0) {
            kept.push(pair);
        }
    }
    kept.sort_by(|(a, _), (b, _)| canonical_json::cmp_utf16(a, b));
    let pairs: Vec<String> = kept
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.join("&")
}

/// Verifies `authToken` found among `params` (the `timeStamp` parameter is the HMAC key suffix).
/// The timestamp's age is not checked here: V1 gave no window and its format is a calendar time.
pub fn verify(key: &AccessKey, params: &[(String, String)]) -> Result<(), VerifyError> {
    let first = |wanted: &str| {
        params
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.as_str())
    };
    let token = required(first(PARAM_AUTH_TOKEN), PARAM_AUTH_TOKEN)?;
    let timestamp = required(first(PARAM_TIMESTAMP), PARAM_TIMESTAMP)?;
    let tag = decode_base64_tag(token)?;
    let hmac_key = format!("{}{timestamp}", key.expose());
    if hmac_verify(
        hmac_key.as_bytes(),
        &[canonical_params(params).as_bytes()],
        &tag,
    ) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}
