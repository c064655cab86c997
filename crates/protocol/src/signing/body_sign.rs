//! The `Body-Sign` response header (spec saas-v2 §2.7).

use super::{AccessKey, VerifyError};

/// Header name; the marketplace's checker is case-sensitive about it.
pub const HEADER_NAME: &str = "Body-Sign";

/// `base64(HMAC-SHA256(key, body))`.
pub fn signature(key: &AccessKey, body: &[u8]) -> String {
    let _ = (key, body);
    todo!()
}

/// The exact header value: `sign_type="HMAC-SHA256", signature="<b64>"`.
pub fn header_value(key: &AccessKey, body: &[u8]) -> String {
    let _ = (key, body);
    todo!()
}

/// Parses a header value (tolerating the doc example's space after `signature=`) and checks it.
pub fn verify(key: &AccessKey, header: &str, body: &[u8]) -> Result<(), VerifyError> {
    let _ = (key, header, body);
    todo!()
}
