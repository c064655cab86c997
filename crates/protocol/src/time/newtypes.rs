//! Newtypes that pick a time format for a struct field.

use std::fmt;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    TimeError, format_basic, format_compact, format_compact_millis, format_kit_timestamp,
    parse_basic, parse_compact, parse_kit_timestamp,
};

macro_rules! time_newtype {
    ($(#[$meta:meta])* $name:ident, parse = $parse:path, format = $format:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub DateTime<Utc>);

        impl $name {
            /// Parses the wire text.
            pub fn parse(text: &str) -> Result<Self, TimeError> {
                $parse(text).map(Self)
            }

            /// The wire text.
            pub fn format(&self) -> String {
                let format: fn(DateTime<Utc>) -> String = $format;
                format(self.0)
            }

            /// The instant.
            pub fn at(&self) -> DateTime<Utc> {
                self.0
            }
        }

        impl From<DateTime<Utc>> for $name {
            fn from(at: DateTime<Utc>) -> Self {
                Self(at)
            }
        }

        impl std::str::FromStr for $name {
            type Err = TimeError;
            fn from_str(text: &str) -> Result<Self, TimeError> {
                Self::parse(text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.format())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.format())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.format())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Digits-only times are sometimes sent as JSON numbers.
                let text = crate::wire::deserialize_text(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Lossless compact form: milliseconds are printed only when present, so a 14-digit value
/// round-trips as 14 digits and a 17-digit one as 17.
fn format_compact_lossless(at: DateTime<Utc>) -> String {
    if at.nanosecond() / 1_000_000 == 0 {
        format_compact(at)
    } else {
        format_compact_millis(at)
    }
}

time_newtype! {
    /// A UTC time read from `yyyyMMddHHmmss` or `yyyyMMddHHmmssSSS`; written with 14 digits
    /// unless it has milliseconds (`createTime`, `expireTime`).
    MarketTime, parse = parse_compact, format = format_compact_lossless
}

time_newtype! {
    /// A UTC time read from 14 or 17 digits and always written as `yyyyMMddHHmmssSSS`
    /// (`statisticalTime`).
    MarketTimeMillis, parse = parse_compact, format = format_compact_millis
}

time_newtype! {
    /// A UTC time as `yyyyMMdd'T'HHmmss'Z'` (usage push `record_time`, `begin_time`, `end_time`).
    UsageTime, parse = parse_basic, format = format_basic
}

time_newtype! {
    /// A kit `timeStamp` / `currentSyncTime`: `yyyyMMddHHmmssSSS` in UTC+8 on the wire, UTC inside.
    KitTime, parse = parse_kit_timestamp, format = format_kit_timestamp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_time_round_trips_both_lengths() {
        for text in ["20221124023618", "20221124023618256"] {
            let t: MarketTime = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
        }
        let millis = MarketTimeMillis::parse("20221124023618").unwrap();
        assert_eq!(millis.format(), "20221124023618000");
    }

    #[test]
    fn numbers_are_accepted() {
        let t: MarketTime = serde_json::from_str("20221024194509").unwrap();
        assert_eq!(t.format(), "20221024194509");
    }

    #[test]
    fn kit_time_is_utc_plus_8() {
        let t = KitTime::parse("20220413093539534").unwrap();
        assert_eq!(
            super::super::format_compact_millis(t.at()),
            "20220413013539534"
        );
        assert_eq!(t.format(), "20220413093539534");
    }
}
