//! The usage-push (new) body signature (spec saas-v2 §7.2):
//! `base64(HMAC-SHA256(key, "ts={ts}&nonce={nonce}&body={body}"))`.

use super::{AccessKey, VerifyError};

pub const HEADER_SIGNATURE: &str = "signature";
pub const HEADER_TS: &str = "ts";
pub const HEADER_NONCE: &str = "nonce";

/// Signs `body` exactly as given (the caller sends the same bytes).
pub fn sign(key: &AccessKey, ts: &str, nonce: &str, body: &str) -> String {
    let _ = (key, ts, nonce, body);
    todo!()
}

/// Checks the signature over the received body, then over its key-sorted re-serialisation.
pub fn verify(key: &AccessKey, signature: &str, ts: &str, nonce: &str, body: &str) -> Result<(), VerifyError> {
    let _ = (key, signature, ts, nonce, body);
    todo!()
}

/// The body with object keys sorted at every depth, compact (the "natural order" of the spec).
pub fn sorted_body(body: &str) -> Result<String, serde_json::Error> {
    let _ = body;
    todo!()
}
