//! Strings with a documented maximum length.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length as Java's `String.length()` counts it (UTF-16 code units), which is what the
/// marketplace's Java validators compare against the documented maxima.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A string longer than its documented maximum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} UTF-16 units exceed the maximum of {max}")]
pub struct TooLong {
    /// Length in UTF-16 units.
    pub len: usize,
    /// The documented maximum.
    pub max: usize,
}

/// A `String` of at most `MAX` UTF-16 units. Deserializing a longer value fails, so a struct
/// field typed `Bounded<64>` enforces the spec table's "Max 64" by construction.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bounded<const MAX: usize>(String);

impl<const MAX: usize> Bounded<MAX> {
    /// The documented maximum.
    pub const MAX: usize = MAX;

    /// Checks the length and wraps the string.
    pub fn new(text: impl Into<String>) -> Result<Self, TooLong> {
        let text = text.into();
        let len = utf16_len(&text);
        if len > MAX {
            return Err(TooLong { len, max: MAX });
        }
        Ok(Self(text))
    }

    /// The wrapped string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unwraps into the owned string.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize> Deref for Bounded<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> AsRef<str> for Bounded<MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for Bounded<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MAX: usize> fmt::Display for Bounded<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> PartialEq<str> for Bounded<MAX> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl<const MAX: usize> PartialEq<&str> for Bounded<MAX> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<const MAX: usize> TryFrom<String> for Bounded<MAX> {
    type Error = TooLong;
    fn try_from(text: String) -> Result<Self, TooLong> {
        Self::new(text)
    }
}

impl<const MAX: usize> TryFrom<&str> for Bounded<MAX> {
    type Error = TooLong;
    fn try_from(text: &str) -> Result<Self, TooLong> {
        Self::new(text)
    }
}

impl<const MAX: usize> From<Bounded<MAX>> for String {
    fn from(value: Bounded<MAX>) -> String {
        value.0
    }
}

impl<const MAX: usize> Serialize for Bounded<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Bounded<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = super::deserialize_text(d)?;
        Self::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units_like_java() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("中文"), 2);
        // An astral character is one `char` but two Java chars.
        assert_eq!(utf16_len("😀"), 2);
        assert!(Bounded::<1>::new("😀").is_err());
        assert!(Bounded::<2>::new("😀").is_ok());
    }

    #[test]
    fn deserialize_enforces_max() {
        let ok: Bounded<3> = serde_json::from_str(r#""abc""#).unwrap();
        assert_eq!(ok, "abc");
        let err = serde_json::from_str::<Bounded<3>>(r#""abcd""#).unwrap_err();
        assert!(err.to_string().contains("maximum of 3"), "{err}");
    }
}
