//! The retired V1 `authToken` scheme (spec saas-v2 §2.6), kept for old products and for contrast.

use super::{AccessKey, VerifyError};

/// `base64(HMAC-SHA256(key + timeStamp, k1=v1&k2=v2…))` over the parameters sorted by name,
/// excluding `authToken`. `params` are URL-decoded name/value pairs in any order.
pub fn sign(key: &AccessKey, timestamp: &str, params: &[(String, String)]) -> String {
    let _ = (key, timestamp, params);
    todo!()
}

/// The sorted `k=v&…` string that is signed.
pub fn canonical_params(params: &[(String, String)]) -> String {
    let _ = params;
    todo!()
}

/// Verifies `authToken` found among `params` (the `timeStamp` parameter is the HMAC key suffix).
pub fn verify(key: &AccessKey, params: &[(String, String)]) -> Result<(), VerifyError> {
    let _ = (key, params);
    todo!()
}
