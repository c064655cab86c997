//! The usage-push (new) body signature (spec saas-v2 §7.2):
//! `base64(HMAC-SHA256(key, "ts={ts}&nonce={nonce}&body={body}"))`.

use super::primitives::{base64_std, decode_base64_tag, hmac_sha256, hmac_verify, required};
use super::{AccessKey, VerifyError, canonical_json};

pub const HEADER_SIGNATURE: &str = "signature";
pub const HEADER_TS: &str = "ts";
pub const HEADER_NONCE: &str = "nonce";

fn message_parts<'a>(ts: &'a str, nonce: &'a str, body: &'a str) -> [&'a [u8]; 6] {
    [
        b"ts=",
        ts.as_bytes(),
        b"&nonce=",
        nonce.as_bytes(),
        b"&body=",
        body.as_bytes(),
    ]
}

/// Signs `body` exactly as given (the caller sends the same bytes).
pub fn sign(key: &AccessKey, ts: &str, nonce: &str, body: &str) -> String {
    base64_std(&hmac_sha256(
        key.expose().as_bytes(),
        &message_parts(ts, nonce, body),
    ))
}

/// Checks the signature over the received body, then over its key-sorted re-serialisation.
///
/// The spec's "sorted naturally" is ambiguous about depth and the demo is truncated, so a sender
/// that signed either the bytes it sent or the fully sorted form is accepted. No time window: the
/// marketplace, not us, receives these in production; the simulator applies its own.
pub fn verify(
    key: &AccessKey,
    signature: &str,
    ts: &str,
    nonce: &str,
    body: &str,
) -> Result<(), VerifyError> {
    let signature = required(Some(signature), HEADER_SIGNATURE)?;
    let ts = required(Some(ts), HEADER_TS)?;
    let nonce = required(Some(nonce), HEADER_NONCE)?;
    let tag = decode_base64_tag(signature)?;
    let key = key.expose().as_bytes();
    let matches = |body: &str| hmac_verify(key, &message_parts(ts, nonce, body), &tag);
    if matches(body) || sorted_body(body).is_ok_and(|sorted| matches(&sorted)) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// The body with object keys sorted at every depth, compact (the "natural order" of the spec).
/// Keys compare by UTF-16 code units, as the Java demo's `TreeMap` does.
pub fn sorted_body(body: &str) -> Result<String, serde_json::Error> {
    canonical_json::deep_sorted(body)
}
