//! Building blocks shared by the schemes: HMAC-SHA256 that cannot fail, tag decoding and the
//! replay-window check. Verifiers go through [`hmac_verify`] so every comparison is constant-time.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::VerifyError;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
pub(crate) const TAG_LEN: usize = 32;

/// SHA-256's block size, which is also the HMAC key block.
const BLOCK_LEN: usize = 64;

/// A keyed MAC ready for input.
///
/// `new_from_slice` is fallible only in its type: HMAC accepts any key length. Deriving the block
/// key ourselves (RFC 2104 §2: zero-pad short keys, hash long ones) lets us use the infallible
/// `new` instead of an `expect`.
fn keyed(key: &[u8]) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    if key.len() > BLOCK_LEN {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    HmacSha256::new(&block)
}

/// HMAC-SHA256 over the concatenation of `parts` (so callers need not build the message).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut mac = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time check of `tag` against HMAC-SHA256 over `parts`. A tag of the wrong length is
/// simply a mismatch.
pub(crate) fn hmac_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut mac = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(tag).is_ok()
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

pub(crate) fn base64_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a received hex signature in either case; the marketplace has sent both over the years.
pub(crate) fn decode_hex_tag(text: &str) -> Result<Vec<u8>, VerifyError> {
    hex::decode(text.trim()).map_err(|_| VerifyError::MalformedSignature("signature is not hex"))
}

pub(crate) fn decode_base64_tag(text: &str) -> Result<Vec<u8>, VerifyError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| VerifyError::MalformedSignature("signature is not base64"))
}

/// A required parameter: absent and empty are the same failure, as the marketplace's checker treats them.
pub(crate) fn required<'a>(
    value: Option<&'a str>,
    name: &'static str,
) -> Result<&'a str, VerifyError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(VerifyError::MissingParameter(name)),
    }
}

/// Parses an unsigned decimal timestamp. Signs, spaces and `+` are refused so that a signature
/// cannot be replayed under a textually different but numerically equal timestamp.
pub(crate) fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp(text.to_owned()));
    }
    text.parse()
        .map_err(|_| VerifyError::MalformedTimestamp(text.to_owned()))
}

/// Checks `|now − ts| ≤ window` (inclusive), everything in `unit_ms` milliseconds per unit. The
/// error carries the full skew in milliseconds, which is what an operator needs to spot clock drift.
pub(crate) fn check_window(
    ts: i64,
    now: i64,
    window: i64,
    unit_ms: i64,
) -> Result<(), VerifyError> {
    // i128 keeps arbitrary inputs from overflowing.
    let skew = i128::from(now) - i128::from(ts);
    let window = i128::from(window);
    let to_ms =
        |units: i128| i64::try_from(units.saturating_mul(i128::from(unit_ms))).unwrap_or(i64::MAX);
    if skew > window {
        Err(VerifyError::TimestampTooOld {
            skew_ms: to_ms(skew),
        })
    } else if -skew > window {
        Err(VerifyError::TimestampInFuture {
            skew_ms: to_ms(-skew),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_key_matches_the_crates_own_key_schedule() {
        for len in [0, 1, 31, 32, 63, 64, 65, 100, 200] {
            let key = vec![0xA5u8; len];
            let Ok(mut reference) = HmacSha256::new_from_slice(&key) else {
                panic!("HMAC accepts any key length");
            };
            reference.update(b"message");
            let expected: [u8; TAG_LEN] = reference.finalize().into_bytes().into();
            assert_eq!(
                hmac_sha256(&key, &[b"mes", b"sage"]),
                expected,
                "key length {len}"
            );
        }
    }

    #[test]
    fn window_is_inclusive_and_overflow_free() {
        assert!(check_window(0, 60_000, 60_000, 1).is_ok());
        assert!(check_window(60_000, 0, 60_000, 1).is_ok());
        assert_eq!(
            check_window(0, 60_001, 60_000, 1),
            Err(VerifyError::TimestampTooOld { skew_ms: 60_001 })
        );
        assert_eq!(
            check_window(60_001, 0, 60_000, 1),
            Err(VerifyError::TimestampInFuture { skew_ms: 60_001 })
        );
        assert!(check_window(i64::MAX, i64::MIN, 60_000, 1000).is_err());
    }

    #[test]
    fn timestamps_are_plain_digits() {
        assert_eq!(parse_timestamp("1680508066618"), Ok(1_680_508_066_618));
        for bad in ["", "+1", "-1", " 1", "1.0", "99999999999999999999"] {
            assert!(
                matches!(
                    parse_timestamp(bad),
                    Err(VerifyError::MalformedTimestamp(_))
                ),
                "{bad}"
            );
        }
    }
}
