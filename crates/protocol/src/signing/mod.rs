//! Signature schemes, each with `sign` and `verify` side by side.
//!
//! Every verifier compares in constant time and returns a [`VerifyError`] that names the failed
//! check, so callers can log why a request was refused without ever logging the key.

pub mod apig;
mod apig_url;
pub mod body_sign;
mod canonical_json;
mod key;
pub mod kit;
mod primitives;
pub mod scheme_a;
pub mod usage;
pub mod v1_auth_token;
pub mod webhook;

pub use key::AccessKey;

/// Why a signed message was refused. One variant per check, in the order checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required signature parameter or header is absent or empty.
    #[error("missing signature parameter `{0}`")]
    MissingParameter(&'static str),
    /// The timestamp is not a decimal number of the expected unit.
    #[error("timestamp `{0}` is not a valid number")]
    MalformedTimestamp(String),
    /// The timestamp is older than the allowed window.
    #[error("timestamp is {skew_ms} ms older than allowed")]
    TimestampTooOld {
        /// The whole difference `now − timestamp`, not just the excess over the window.
        skew_ms: i64,
    },
    /// The timestamp lies further in the future than the allowed window.
    #[error("timestamp is {skew_ms} ms in the future")]
    TimestampInFuture {
        /// The whole difference `timestamp − now`.
        skew_ms: i64,
    },
    /// A signature header exists but does not follow the scheme's format.
    #[error("malformed signature: {0}")]
    MalformedSignature(&'static str),
    /// The signature does not match any accepted variant of the payload.
    #[error("signature does not match")]
    BadSignature,
}
