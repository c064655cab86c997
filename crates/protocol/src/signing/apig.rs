//! Huawei API Gateway `SDK-HMAC-SHA256` AK/SK request signing (spec license-kit §6.1).

use super::{AccessKey, VerifyError};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const HEADER_DATE: &str = "X-Sdk-Date";

/// A request to sign. `url` is absolute (`https://host[:port]/path?query`); `headers` are the
/// extra headers to sign besides `host` and `x-sdk-date`, which are always signed.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What a signer adds to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Sdk-Date` header value (the `date` given).
    pub sdk_date: String,
    /// The `Host` header value signed (host[:port] from the URL).
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApigError {
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    #[error("invalid X-Sdk-Date `{0}`, expected yyyyMMddTHHmmssZ")]
    InvalidDate(String),
}

/// `date` is `yyyyMMdd'T'HHmmss'Z'` (UTC).
pub fn sign(ak: &str, sk: &AccessKey, date: &str, request: &Request<'_>) -> Result<Signed, ApigError> {
    let _ = (ak, sk, date, request);
    todo!()
}

/// The canonical request string (for debugging and the `sign` CLI's verbose mode).
pub fn canonical_request(request: &Request<'_>, signed_headers: &[(String, String)]) -> Result<String, ApigError> {
    let _ = (request, signed_headers);
    todo!()
}

/// The parts of a received `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Result<Authorization, VerifyError> {
    let _ = value;
    todo!()
}

/// Server side (the simulator): recompute over the headers named in `Authorization`, which must
/// include `host` and `x-sdk-date`; `lookup_sk` maps the access key id to its secret.
/// `headers` are all received headers; `now` bounds the date skew (15 minutes, as APIG does).
pub fn verify(
    request: &Request<'_>,
    lookup_sk: &dyn Fn(&str) -> Option<AccessKey>,
    now_unix_secs: i64,
) -> Result<String, VerifyError> {
    let _ = (request, lookup_sk, now_unix_secs);
    todo!()
}
