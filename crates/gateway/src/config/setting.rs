//! How a setting's value is read: one way, whether it comes from the file or the environment.
//!
//! An environment variable is text, so it enters the configuration as a TOML string, and every
//! setting's type accepts that string: the file may write a value the same way (`"8080"`,
//! `"yes"`, `"a,b"`) or natively (`8080`, `true`, `["a", "b"]`). A type that is not text
//! implements [`Setting`], whose `from_text` is its only parser; `Config` uses it through
//! `#[serde(deserialize_with = "setting")]` for types it does not own, and through their
//! `Deserialize` (made by [`deserialize_as_setting!`]) for those it does.
//!
//! Error messages say what was expected and never repeat the value: it may be a secret.

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::Secret;

/// A setting's type, parsed from text.
pub(super) trait Setting: Sized {
    /// What a valid value looks like, completing "expected ...".
    const EXPECTED: &'static str;
    /// Whether the file may also write the value as a TOML integer or boolean, read as its text
    /// (`false` for text settings: a number where a secret belongs is a mistake).
    const NATIVE: bool = true;
    /// The value `text` spells; `None` when it spells none.
    fn from_text(text: &str) -> Option<Self>;
}

/// `deserialize_with` for a [`Setting`].
pub(super) fn setting<'de, D: Deserializer<'de>, T: Setting>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(SettingVisitor(PhantomData))
}

/// `deserialize_with` for an optional [`Setting`] (a missing key is `None` by `Config`'s default).
pub(super) fn optional_setting<'de, D: Deserializer<'de>, T: Setting>(
    d: D,
) -> Result<Option<T>, D::Error> {
    setting(d).map(Some)
}

fn expected<E: de::Error, T: Setting>() -> E {
    E::custom(format_args!("expected {}", T::EXPECTED))
}

struct SettingVisitor<T>(PhantomData<T>);

impl<T: Setting> SettingVisitor<T> {
    fn native<E: de::Error>(self, text: &str) -> Result<T, E> {
        if T::NATIVE {
            self.visit_str(text)
        } else {
            Err(expected::<E, T>())
        }
    }
}

impl<'de, T: Setting> Visitor<'de> for SettingVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        T::from_text(text).ok_or_else(expected::<E, T>)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.native(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.native(&v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        self.native(if v { "true" } else { "false" })
    }

    // The default would print the number.
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Err(expected::<E, T>())
    }
}

/// `deserialize_with` for a list of secrets: a TOML array of strings, or one string of
/// comma-separated items (as the environment gives it). Either way items are trimmed and empty
/// ones dropped.
pub(super) fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    const EXPECTED: &str = "a list of strings, or one string of comma-separated items";

    fn item(text: &str) -> Option<Secret> {
        let text = text.trim();
        (!text.is_empty()).then(|| Secret::new(text))
    }

    fn refuse<E: de::Error>() -> Result<Vec<Secret>, E> {
        Err(E::custom(format_args!("expected {EXPECTED}")))
    }

    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Secret>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTED)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(text.split(',').filter_map(item).collect())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(secret) = seq.next_element::<Secret>()? {
                items.extend(item(secret.expose()));
            }
            Ok(items)
        }

        // The defaults would print the value.
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            refuse()
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            refuse()
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            refuse()
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            refuse()
        }
    }

    d.deserialize_any(ListVisitor)
}

/// `Deserialize` through [`Setting::from_text`], for the setting types `config` owns.
macro_rules! deserialize_as_setting {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::config::setting::setting(d)
            }
        }
    )*};
}
pub(super) use deserialize_as_setting;

impl Setting for u64 {
    const EXPECTED: &'static str = "a whole number";
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Setting for usize {
    const EXPECTED: &'static str = "a whole number";
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Setting for bool {
    const EXPECTED: &'static str = "true or false (also yes/no, on/off, 1/0)";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        }
    }
}

impl Setting for SocketAddr {
    const EXPECTED: &'static str = "an IP address and port, such as 127.0.0.1:8080";
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Setting for Secret {
    const EXPECTED: &'static str = "a string";
    const NATIVE: bool = false;
    fn from_text(text: &str) -> Option<Self> {
        Some(Secret::new(text))
    }
}

/// The names of `Config`'s fields, as its `Deserialize` knows them: the keys of the file, and
/// (upper-cased, after `KOOGATE_`) the environment variables.
pub(super) fn field_names<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    struct FieldNames<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for FieldNames<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // Always an error: the point is the list `deserialize_struct` was given.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}
