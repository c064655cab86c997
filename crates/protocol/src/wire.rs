//! Lenient serde helpers for fields whose wire shape varies between revisions.
//!
//! The marketplace's documents disagree with themselves (`testFlag` `"1"` vs `1`, `orgInfoList`
//! as an array vs a JSON string, `linearValue` as a number vs `currency` as a string), and the
//! docs say new fields appear without notice. Readers here accept every documented shape;
//! writers emit the shape the current page documents. Length limits are enforced by
//! [`Bounded`], counted in UTF-16 units as the marketplace's Java code counts them.

mod ascii_json;
mod bounded;
mod decimal;
pub(crate) mod enums;
mod flags;

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use ascii_json::{AsciiFormatter, to_ascii_json};
pub use bounded::{Bounded, TooLong, utf16_len};
pub use decimal::{DecimalError, UsageValue, usage_value_string};
pub(crate) use enums::{closed_enum, open_enum};
pub use flags::{AuthSyncFlag, SyncFlag, TestFlag, string_bool};

/// A value outside a closed enum's documented set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of: {expected}")]
pub struct InvalidEnumValue {
    /// The received text.
    pub value: String,
    /// The accepted values, space separated.
    pub expected: &'static str,
}

/// Reads a JSON string or number as text (numbers keep their JSON spelling: `20`, `12.78`).
pub fn deserialize_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(TextVisitor { allow_bool: false })
}

/// Like [`deserialize_text`], also accepting JSON booleans (as `"true"`/`"false"`).
pub fn deserialize_scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(TextVisitor { allow_bool: true })
}

struct TextVisitor {
    allow_bool: bool,
}

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        if self.allow_bool {
            Ok(v.to_string())
        } else {
            Err(E::invalid_type(de::Unexpected::Bool(v), &self))
        }
    }
}

/// A scalar the marketplace sends as a string in one place and a number in another
/// (`linearValue` `20`, `currency` `"100"`, `customerType` `0`). The received shape is kept, so
/// a simulator re-emits exactly what the spec shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// Sent as a JSON string.
    Text(String),
    /// Sent as a JSON number.
    Number(serde_json::Number),
}

impl Scalar {
    /// The value as text, whatever its JSON shape.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Number(number) => Cow::Owned(number.to_string()),
        }
    }

    /// The value as an integer, parsing text if needed.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Text(text) => text.trim().parse().ok(),
            Self::Number(number) => number.as_i64(),
        }
    }

    /// The value as a float, parsing text if needed.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Text(text) => text.trim().parse().ok(),
            Self::Number(number) => number.as_f64(),
        }
    }
}

impl From<i64> for Scalar {
    fn from(value: i64) -> Self {
        Self::Number(value.into())
    }
}

impl From<&str> for Scalar {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Scalar {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

/// Decodes a list that arrives either as a JSON array or as a string holding a JSON array
/// (V1 `userList`, the allOrgSync doc example's `orgInfoList`). A blank string is an empty list.
pub fn decode_array_or_string<T: DeserializeOwned>(value: Value) -> Result<Vec<T>, String> {
    match value {
        Value::Array(_) => serde_json::from_value(value).map_err(|e| e.to_string()),
        Value::String(text) if text.trim().is_empty() => Ok(Vec::new()),
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| format!("string does not contain a valid JSON array: {e}")),
        other => Err(format!(
            "expected an array or a string containing one, got {other}"
        )),
    }
}

/// `deserialize_with` form of [`decode_array_or_string`].
pub fn array_or_json_string<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    decode_array_or_string(Value::deserialize(d)?).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_keeps_shape() {
        let text: Scalar = serde_json::from_str(r#""100""#).unwrap();
        let number: Scalar = serde_json::from_str("20").unwrap();
        assert_eq!(text.as_i64(), Some(100));
        assert_eq!(number.as_text(), "20");
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""100""#);
        assert_eq!(serde_json::to_string(&number).unwrap(), "20");
    }

    #[test]
    fn array_or_string() {
        let from_array: Vec<u8> = decode_array_or_string(serde_json::json!([1, 2])).unwrap();
        let from_text: Vec<u8> = decode_array_or_string(serde_json::json!("[1,2]")).unwrap();
        let blank: Vec<u8> = decode_array_or_string(serde_json::json!("")).unwrap();
        assert_eq!(from_array, from_text);
        assert!(blank.is_empty());
        assert!(decode_array_or_string::<u8>(serde_json::json!("not json")).is_err());
    }

    #[test]
    fn text_reads_numbers() {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(deserialize_with = "deserialize_text")]
            v: String,
        }
        let p: Probe = serde_json::from_str(r#"{"v":12.78}"#).unwrap();
        assert_eq!(p.v, "12.78");
        assert!(serde_json::from_str::<Probe>(r#"{"v":true}"#).is_err());
    }
}
