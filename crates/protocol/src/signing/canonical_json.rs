//! The JSON re-serialisations the marketplace's reference code signs.
//!
//! Its Java demos sort keys with `TreeMap<String, _>`, i.e. by UTF-16 code units, and serialise with
//! Jackson, which writes compact JSON without escaping non-ASCII or `/`. `serde_json` (built with
//! `preserve_order`, so untouched objects keep their received order) writes the same bytes.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Java's `String.compareTo`: UTF-16 code units, which differs from byte order only for keys
/// holding characters above U+FFFF next to ones in U+E000..U+FFFF.
pub(crate) fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn sorted_map(
    map: Map<String, Value>,
    keep: impl Fn(&Value) -> bool,
    inner: impl Fn(Value) -> Value,
) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().filter(|(_, v)| keep(v)).collect();
    entries.sort_by(|(a, _), (b, _)| cmp_utf16(a, b));
    entries.into_iter().map(|(k, v)| (k, inner(v))).collect()
}

/// The demo's form: a JSON object with top-level keys sorted, top-level `null`s dropped, nested
/// values untouched, compact. Errors when `body` is not a JSON object.
pub(crate) fn top_level_sorted(body: &[u8]) -> Result<String, serde_json::Error> {
    let map: Map<String, Value> = serde_json::from_slice(body)?;
    serde_json::to_string(&sorted_map(map, |v| !v.is_null(), |v| v))
}

/// Any JSON value with object keys sorted at every depth, nulls kept, compact.
pub(crate) fn deep_sorted(body: &str) -> Result<String, serde_json::Error> {
    let value: Value = serde_json::from_str(body)?;
    serde_json::to_string(&sort_deep(value))
}

fn sort_deep(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(sorted_map(map, |_| true, sort_deep)),
        Value::Array(items) => Value::Array(items.into_iter().map(sort_deep).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_order_differs_from_byte_order_above_the_bmp() {
        // U+FF61 is one code unit 0xFF61; U+1F600 is the surrogate pair 0xD83D 0xDE00.
        assert_eq!(cmp_utf16("\u{1F600}", "\u{FF61}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF61}"), Ordering::Greater);
        let out =
            top_level_sorted("{\"\u{FF61}\":1,\"\u{1F600}\":2}".as_bytes()).unwrap_or_default();
        assert_eq!(out, "{\"\u{1F600}\":2,\"\u{FF61}\":1}");
    }

    #[test]
    fn top_level_only_and_nulls_dropped_only_at_top() {
        let out =
            top_level_sorted(br#"{"b":{"z":1,"a":null},"c":null,"a":[{"y":2,"x":"\u00e9/"}]}"#);
        assert_eq!(
            out.ok().as_deref(),
            Some("{\"a\":[{\"y\":2,\"x\":\"\u{e9}/\"}],\"b\":{\"z\":1,\"a\":null}}")
        );
        assert!(top_level_sorted(b"[1,2]").is_err());
    }

    #[test]
    fn deep_sort_sorts_every_object() {
        let out = deep_sorted(r#"{"b":{"z":1,"a":null},"a":[{"y":2,"x":1}]}"#);
        assert_eq!(
            out.ok().as_deref(),
            Some(r#"{"a":[{"x":1,"y":2}],"b":{"a":null,"z":1}}"#)
        );
    }
}
