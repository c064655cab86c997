//! Compact JSON with every non-ASCII character written as a `\uXXXX` escape.
//!
//! The spec requires `memo` to carry non-ASCII as escapes; escaping the whole body is the same
//! JSON value, keeps the body pure ASCII (so `Body-Sign` cannot be upset by a charset mismatch),
//! and needs no per-field serializer.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// A [`Formatter`] that escapes non-ASCII as lowercase `\uXXXX`, with surrogate pairs for
/// characters outside the Basic Multilingual Plane (as Java and JavaScript do). The trait's
/// default methods are already compact, so only string fragments need overriding.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsciiFormatter;

impl Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            if ch.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..index])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = index + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serializes `value` as compact, ASCII-only JSON.
pub fn to_ascii_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = Serializer::with_formatter(&mut out, AsciiFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_bmp_and_astral_characters() {
        let out = to_ascii_json(&serde_json::json!({"memo": "中文 ok 😀\"\n"})).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"memo":"\u4e2d\u6587 ok \ud83d\ude00\"\n"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["memo"], "中文 ok 😀\"\n");
    }

    #[test]
    fn escapes_keys_too() {
        let out = to_ascii_json(&serde_json::json!({"é": 1})).unwrap();
        assert_eq!(out, br#"{"\u00e9":1}"#);
    }
}
