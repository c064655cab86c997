//! `UsageValue`: the spec's `Double(12,4)` usage amounts, held exactly.
//!
//! Floats would turn `0.1 + 0.2` into a fifth decimal that the marketplace rejects, so amounts are
//! stored as an integer count of ten-thousandths and only become `f64` at the serializer.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const SCALE: u64 = 10_000;

/// Why a usage amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not a plain decimal (`12`, `12.5`); signs and exponents are refused.
    #[error("`{0}` is not a plain non-negative decimal")]
    NotADecimal(String),
    /// Negative amounts are meaningless for usage.
    #[error("usage value must not be negative")]
    Negative,
    /// More than four digits after the point.
    #[error("`{0}` has more than 4 decimal places")]
    TooManyDecimals(String),
    /// Does not fit.
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// A non-negative decimal with at most four fraction digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageValue {
    ten_thousandths: u64,
}

impl UsageValue {
    /// Zero.
    pub const ZERO: UsageValue = UsageValue { ten_thousandths: 0 };

    /// From a count of 0.0001 units.
    pub const fn from_ten_thousandths(ten_thousandths: u64) -> Self {
        Self { ten_thousandths }
    }

    /// From whole units; `None` on overflow.
    pub const fn from_units(units: u64) -> Option<Self> {
        match units.checked_mul(SCALE) {
            Some(ten_thousandths) => Some(Self { ten_thousandths }),
            None => None,
        }
    }

    /// The amount in 0.0001 units.
    pub const fn ten_thousandths(self) -> u64 {
        self.ten_thousandths
    }

    /// True for zero (the usage push requires `> 0`).
    pub const fn is_zero(self) -> bool {
        self.ten_thousandths == 0
    }

    /// Nearest `f64`; exact for every value the marketplace accepts (≤ 12 significant digits).
    pub fn to_f64(self) -> f64 {
        self.ten_thousandths as f64 / SCALE as f64
    }

    /// From a float, refusing a fifth decimal rather than rounding it away silently.
    pub fn from_f64(value: f64) -> Result<Self, DecimalError> {
        if !value.is_finite() {
            return Err(DecimalError::NotADecimal(value.to_string()));
        }
        if value < 0.0 {
            return Err(DecimalError::Negative);
        }
        let scaled = value * SCALE as f64;
        if scaled >= u64::MAX as f64 {
            return Err(DecimalError::Overflow(value.to_string()));
        }
        let rounded = scaled.round();
        // Binary floats carry noise in the last bits (12.3456 × 10⁴ = 123455.99999999999).
        if (scaled - rounded).abs() > 1e-6 * rounded.max(1.0) {
            return Err(DecimalError::TooManyDecimals(value.to_string()));
        }
        Ok(Self {
            ten_thousandths: rounded as u64,
        })
    }
}

impl FromStr for UsageValue {
    type Err = DecimalError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let not_decimal = || DecimalError::NotADecimal(text.to_owned());
        if text.starts_with('-') {
            return Err(DecimalError::Negative);
        }
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !digits(int)
            || !digits(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(not_decimal());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 4 {
            return Err(DecimalError::TooManyDecimals(text.to_owned()));
        }
        let overflow = || DecimalError::Overflow(text.to_owned());
        let int: u64 = int.parse().map_err(|_| overflow())?;
        let frac_value: u64 = format!("{frac:0<4}").parse().map_err(|_| not_decimal())?;
        int.checked_mul(SCALE)
            .and_then(|v| v.checked_add(frac_value))
            .map(Self::from_ten_thousandths)
            .ok_or_else(overflow)
    }
}

impl fmt::Display for UsageValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.ten_thousandths / SCALE;
        let frac = self.ten_thousandths % SCALE;
        if frac == 0 {
            return write!(f, "{int}");
        }
        let frac = format!("{frac:04}");
        write!(f, "{int}.{}", frac.trim_end_matches('0'))
    }
}

/// A JSON number: an integer when whole (`100`, not `100.0`), otherwise the shortest float text.
impl Serialize for UsageValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.ten_thousandths.is_multiple_of(SCALE) {
            s.serialize_u64(self.ten_thousandths / SCALE)
        } else {
            s.serialize_f64(self.to_f64())
        }
    }
}

impl<'de> Deserialize<'de> for UsageValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UsageValueVisitor)
    }
}

struct UsageValueVisitor;

impl Visitor<'_> for UsageValueVisitor {
    type Value = UsageValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative decimal number or string with at most 4 decimals")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<UsageValue, E> {
        UsageValue::from_units(v).ok_or_else(|| E::custom(DecimalError::Overflow(v.to_string())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<UsageValue, E> {
        let v = u64::try_from(v).map_err(|_| E::custom(DecimalError::Negative))?;
        self.visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<UsageValue, E> {
        UsageValue::from_f64(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<UsageValue, E> {
        v.trim().parse().map_err(E::custom)
    }
}

/// Serde for fields that carry the amount as a JSON string (usage push `usage_value`, `String(20)`).
pub mod usage_value_string {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::UsageValue;

    /// Writes the canonical decimal text.
    pub fn serialize<S: Serializer>(value: &UsageValue, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UsageValue, D::Error> {
        UsageValue::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        for (text, shown) in [
            ("99", "99"),
            ("12.5000", "12.5"),
            ("0.0001", "0.0001"),
            ("7.25", "7.25"),
        ] {
            assert_eq!(text.parse::<UsageValue>().unwrap().to_string(), shown);
        }
        assert!(matches!(
            "1.23456".parse::<UsageValue>(),
            Err(DecimalError::TooManyDecimals(_))
        ));
        assert!(matches!(
            "-1".parse::<UsageValue>(),
            Err(DecimalError::Negative)
        ));
        for bad in ["", "1.", ".5", "1e3", "+1", "1,5"] {
            assert!(bad.parse::<UsageValue>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_number_round_trip() {
        let v: UsageValue = serde_json::from_str("12.3456").unwrap();
        assert_eq!(v.ten_thousandths(), 123_456);
        assert_eq!(serde_json::to_string(&v).unwrap(), "12.3456");
        assert_eq!(
            serde_json::to_string(&UsageValue::from_units(100).unwrap()).unwrap(),
            "100"
        );
        assert!(serde_json::from_str::<UsageValue>("0.12345").is_err());
        assert_eq!(
            serde_json::from_str::<UsageValue>(r#""3.5""#)
                .unwrap()
                .to_string(),
            "3.5"
        );
    }
}
