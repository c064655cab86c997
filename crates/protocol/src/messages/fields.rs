//! Field-by-field reading of flat request bodies, so every rejection names its field.
//!
//! serde's derived errors say "invalid length" without saying which field; the seller-center
//! debugger and the operator log both need the field name. Scheme-A and kit bodies are flat maps
//! of scalars, so reading them field by field is short, and nested values (buyerInfo, userList)
//! fall back to serde with the top-level field named.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ResultCode;
use crate::time::TimeError;
use crate::wire::{self, Bounded, InvalidEnumValue, TestFlag};

/// Why an inbound body was refused. Every variant answers `000002` ([`ParseError::result_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all.
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not an object.
    #[error("body is not a JSON object")]
    NotAnObject,
    /// No `activity` field (or not a string).
    #[error("missing field `activity`")]
    MissingActivity,
    /// `activity` appears more than once: which one counts would depend on the parser.
    #[error("field `activity` appears more than once")]
    DuplicateActivity,
    /// An `activity` this gateway does not implement.
    #[error("unknown activity `{0}`")]
    UnknownActivity(String),
    /// A mandatory field is absent, null or blank.
    #[error("missing required field `{field}`")]
    MissingField {
        /// JSON field name.
        field: String,
    },
    /// Longer than the spec table's maximum (UTF-16 units).
    #[error("field `{field}` is {len} characters long, over the maximum of {max}")]
    TooLong {
        /// JSON field name.
        field: String,
        /// Received length.
        len: usize,
        /// Documented maximum.
        max: usize,
    },
    /// More list entries than allowed (queryInstance ids).
    #[error("field `{field}` has {count} entries, over the maximum of {max}")]
    TooMany {
        /// JSON field name.
        field: String,
        /// Received count.
        count: usize,
        /// Documented maximum.
        max: usize,
    },
    /// A value outside the documented set or format (enum, time, flag).
    #[error("field `{field}` has invalid value `{value}` (expected {expected})")]
    InvalidValue {
        /// JSON field name.
        field: String,
        /// Received text.
        value: String,
        /// Accepted values or format.
        expected: &'static str,
    },
    /// A JSON type that cannot be read as the field (an object where a string belongs).
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// JSON field name.
        field: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A nested value that failed to decode.
    #[error("field `{field}` is invalid: {reason}")]
    Invalid {
        /// JSON field name.
        field: String,
        /// Decoder message.
        reason: String,
    },
}

impl ParseError {
    /// Always `000002` (请求参数不合法), whatever the cause.
    pub fn result_code(&self) -> ResultCode {
        ResultCode::InvalidParameter
    }

    /// The offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::MalformedJson(_) | Self::NotAnObject => None,
            Self::MissingActivity | Self::DuplicateActivity | Self::UnknownActivity(_) => {
                Some("activity")
            }
            Self::MissingField { field }
            | Self::TooLong { field, .. }
            | Self::TooMany { field, .. }
            | Self::InvalidValue { field, .. }
            | Self::WrongType { field, .. }
            | Self::Invalid { field, .. } => Some(field),
        }
    }
}

/// Errors that know what they expected, so they become [`ParseError::InvalidValue`].
pub(crate) trait Expected {
    fn expected(&self) -> &'static str;
}

impl Expected for InvalidEnumValue {
    fn expected(&self) -> &'static str {
        self.expected
    }
}

impl Expected for TimeError {
    fn expected(&self) -> &'static str {
        self.expected
    }
}

/// Parses a body into a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ParseError::NotAnObject),
        Err(e) => Err(ParseError::MalformedJson(e.to_string())),
    }
}

/// Read access to one body's fields. Absent and `null` are the same thing.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Self { map }
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A string field; numbers are accepted and keep their JSON spelling.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, ParseError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ParseError::WrongType {
                field: name.to_owned(),
                expected: "a string",
            }),
        }
    }

    fn bounded<const N: usize>(name: &str, text: String) -> Result<Bounded<N>, ParseError> {
        Bounded::new(text).map_err(|e| ParseError::TooLong {
            field: name.to_owned(),
            len: e.len,
            max: e.max,
        })
    }

    /// Mandatory; an empty string is accepted (kit `instanceId` is empty in the 应用凭证 case).
    pub(crate) fn required<const N: usize>(&self, name: &str) -> Result<Bounded<N>, ParseError> {
        let text = self.text(name)?.ok_or_else(|| missing(name))?;
        Self::bounded(name, text)
    }

    /// Mandatory and not blank.
    pub(crate) fn required_nonempty<const N: usize>(
        &self,
        name: &str,
    ) -> Result<Bounded<N>, ParseError> {
        let value = self.required(name)?;
        if value.trim().is_empty() {
            return Err(missing(name));
        }
        Ok(value)
    }

    /// Optional; blank counts as absent.
    pub(crate) fn optional<const N: usize>(
        &self,
        name: &str,
    ) -> Result<Option<Bounded<N>>, ParseError> {
        match self.text(name)? {
            Some(text) if !text.trim().is_empty() => Self::bounded(name, text).map(Some),
            _ => Ok(None),
        }
    }

    /// Optional without a documented maximum; blank counts as absent.
    pub(crate) fn optional_text(&self, name: &str) -> Result<Option<String>, ParseError> {
        Ok(self.text(name)?.filter(|t| !t.trim().is_empty()))
    }

    /// Mandatory, parsed from its text (closed enums, times, integer flags).
    pub(crate) fn required_parsed<T>(&self, name: &str) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: Expected,
    {
        self.optional_parsed(name)?.ok_or_else(|| missing(name))
    }

    /// Optional, parsed from its text; blank counts as absent.
    pub(crate) fn optional_parsed<T>(&self, name: &str) -> Result<Option<T>, ParseError>
    where
        T: FromStr,
        T::Err: Expected,
    {
        let Some(text) = self.optional_text(name)? else {
            return Ok(None);
        };
        text.trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ParseError::InvalidValue {
                field: name.to_owned(),
                value: text.clone(),
                expected: e.expected(),
            })
    }

    /// `testFlag` in any of its shapes; absent is `None`.
    pub(crate) fn test_flag(&self) -> Result<Option<TestFlag>, ParseError> {
        let text = match self.present("testFlag") {
            None => return Ok(None),
            Some(Value::Bool(b)) => b.to_string(),
            Some(_) => self.text("testFlag")?.unwrap_or_default(),
        };
        text.parse()
            .map(Some)
            .map_err(|e: InvalidEnumValue| ParseError::InvalidValue {
                field: "testFlag".to_owned(),
                value: text.clone(),
                expected: e.expected,
            })
    }

    /// A nested value decoded with serde.
    pub(crate) fn nested<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ParseError> {
        self.present(name)
            .map(|v| serde_json::from_value(v.clone()).map_err(|e| invalid(name, e.to_string())))
            .transpose()
    }

    /// A list sent as a JSON array or as a string containing one.
    pub(crate) fn list_or_string<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<Vec<T>>, ParseError> {
        self.present(name)
            .map(|v| {
                wire::decode_array_or_string(v.clone()).map_err(|reason| invalid(name, reason))
            })
            .transpose()
    }
}

pub(crate) fn missing(name: &str) -> ParseError {
    ParseError::MissingField {
        field: name.to_owned(),
    }
}

pub(crate) fn invalid(name: &str, reason: String) -> ParseError {
    ParseError::Invalid {
        field: name.to_owned(),
        reason,
    }
}

/// Types read field by field; [`deserialize_via_fields!`] gives them a matching `Deserialize`.
pub(crate) trait FromFields: Sized {
    fn from_fields(fields: &Fields<'_>) -> Result<Self, ParseError>;
}

/// Implements `Deserialize` through [`FromFields`], so serde users and the body parsers share
/// one set of rules.
macro_rules! deserialize_via_fields {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let map = ::serde_json::Map::<String, ::serde_json::Value>::deserialize(d)?;
                let fields = $crate::messages::fields::Fields::new(&map);
                <$ty as $crate::messages::fields::FromFields>::from_fields(&fields)
                    .map_err(::serde::de::Error::custom)
            }
        }
    )+};
}
pub(crate) use deserialize_via_fields;
