#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! - [`result_code`]: every `resultCode` of the production interface and the open-API error families.
//! - [`time`]: the marketplace's compact time formats (`yyyyMMddHHmmss[SSS]`, `yyyyMMdd'T'HHmmss'Z'`).
//! - [`wire`]: lenient serde helpers for fields whose wire shape varies between revisions.
//! - [`messages`]: request and response bodies, one module per message family.
//! - [`signing`]: every signature scheme, sign and verify side by side.
//! - [`crypto`]: the credential cipher (AES-CBC with a SHA1PRNG-derived key) and RSA-OAEP.

pub mod crypto;
pub mod messages;
pub mod result_code;
pub mod signing;
pub mod time;
pub mod wire;

#[cfg(test)]
mod citations;

pub use result_code::ResultCode;
pub use signing::AccessKey;
