//! `testFlag`, the kit `flag` fields and string booleans.
//!
//! Scheme-A bodies send `testFlag` as the string `"1"` (or omit it; 2023 pages also sent `"0"`),
//! kit bodies send JSON integers, and V1 kit bodies sent strings; every reader here accepts all
//! of them, and each writer emits the one shape its own interface documents.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{InvalidEnumValue, deserialize_scalar_text};

/// Whether a request comes from the seller-center debugger (`testFlag` `1`) or real trade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TestFlag {
    /// `0`, empty or absent: a real order.
    #[default]
    Production,
    /// `1`: a debug or dial-test request.
    Debug,
}

impl TestFlag {
    /// True for a debug request.
    pub fn is_debug(self) -> bool {
        self == Self::Debug
    }

    /// The scheme-A wire text (`"0"` / `"1"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "0",
            Self::Debug => "1",
        }
    }

    /// The kit wire integer.
    pub fn as_int(self) -> u8 {
        match self {
            Self::Production => 0,
            Self::Debug => 1,
        }
    }

    /// `serialize_with` helper for kit bodies, where the flag is a JSON integer.
    pub fn serialize_int<S: Serializer>(flag: &TestFlag, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(flag.as_int())
    }
}

impl std::str::FromStr for TestFlag {
    type Err = InvalidEnumValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "" | "0" | "false" => Ok(Self::Production),
            "1" | "true" => Ok(Self::Debug),
            other => Err(InvalidEnumValue {
                value: other.to_owned(),
                expected: "\"0\" \"1\" 0 1",
            }),
        }
    }
}

impl Serialize for TestFlag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TestFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_scalar_text(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Builds an integer-coded flag enum: serialized as a JSON integer, read from integer or string.
macro_rules! int_flag {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The wire integer.
            pub fn as_int(self) -> u8 {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidEnumValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text.trim() {
                    $(stringify!($value) => Ok(Self::$variant),)+
                    other => Err(InvalidEnumValue {
                        value: other.to_owned(),
                        expected: concat!($(stringify!($value), " "),+),
                    }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.as_int())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_scalar_text(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}

int_flag! {
    /// `flag` of tenantSync, applicationSync, singleOrgSync.
    SyncFlag {
        /// `0`: delete.
        Delete = 0,
        /// `1`: add.
        Add = 1,
        /// `2`: modify (tenantSync: only `name` and `domainName`).
        Modify = 2,
    }
}

int_flag! {
    /// `flag` of authSync, which adds `3` (cancel authorization) to [`SyncFlag`]'s values.
    AuthSyncFlag {
        /// `0`: delete.
        Delete = 0,
        /// `1`: add.
        Add = 1,
        /// `2`: modify.
        Modify = 2,
        /// `3`: cancel authorization (取消授权).
        CancelAuthorization = 3,
    }
}

/// Serde for booleans sent as the strings `"true"` / `"false"` (authSync `enable`); JSON booleans
/// and `"1"`/`"0"` are accepted too.
pub mod string_bool {
    use serde::{Deserializer, Serializer};

    /// Writes `"true"` or `"false"`.
    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *value { "true" } else { "false" })
    }

    /// Reads a boolean, a boolean string or `"1"`/`"0"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let text = super::deserialize_scalar_text(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a boolean (expected \"true\"/\"false\")"
            ))
        })
    }

    /// The lenient boolean reading, shared with the body parsers.
    pub fn parse(text: &str) -> Option<bool> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_flag_reads_every_shape() {
        for (json, want) in [
            (r#""1""#, TestFlag::Debug),
            ("1", TestFlag::Debug),
            ("true", TestFlag::Debug),
            (r#""0""#, TestFlag::Production),
            ("0", TestFlag::Production),
            (r#""""#, TestFlag::Production),
        ] {
            assert_eq!(
                serde_json::from_str::<TestFlag>(json).unwrap(),
                want,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<TestFlag>(r#""2""#).is_err());
    }

    #[test]
    fn flags_serialize_as_integers() {
        assert_eq!(serde_json::to_string(&SyncFlag::Modify).unwrap(), "2");
        assert_eq!(
            serde_json::from_str::<AuthSyncFlag>(r#""3""#).unwrap(),
            AuthSyncFlag::CancelAuthorization
        );
        assert!(serde_json::from_str::<SyncFlag>("3").is_err());
    }

    #[test]
    fn string_bool_accepts_bool_and_text() {
        assert_eq!(string_bool::parse("TRUE"), Some(true));
        assert_eq!(string_bool::parse("0"), Some(false));
        assert_eq!(string_bool::parse("yes"), None);
    }
}
