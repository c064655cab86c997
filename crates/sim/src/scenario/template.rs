//! Step bodies are JSON templates: every string value may hold `${name}` placeholders that the
//! engine fills from what the flow learnt so far (the instance ID from `newInstance`, the IDs of
//! the order placed for the step, a fresh `businessId` per attempt).
//!
//! Templates rather than closures so that a flow stays plain data: it prints, serialises into
//! the JSON record, and a user can read exactly what will be sent.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The placeholder whose absence drops its key instead of failing: real (non-debug) requests
/// omit `testFlag` (spec saas-v2 §3 "Common conventions").
pub const TEST_FLAG: &str = "testFlag";

/// A placeholder that had no value and no default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("placeholder ${{{0}}} has no value yet (an earlier step should have produced it)")]
pub struct Unbound(pub String);

/// Values for placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings(BTreeMap<String, String>);

impl Bindings {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
}

/// Fills a template. Top-level keys come out in ascending order, as in every body the spec
/// prints (spec saas-v2 §2.2: "sort request parameters by name"), so a verifier that hashes the
/// raw bytes and one that re-sorts them agree.
pub fn render(template: &Value, bindings: &Bindings) -> Result<Value, Unbound> {
    let Value::Object(fields) = template else {
        return fill_value(template, bindings).map(|v| v.unwrap_or(Value::Null));
    };
    let mut sorted: Vec<(&String, &Value)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Map::new();
    for (key, value) in sorted {
        if let Some(value) = fill_value(value, bindings)? {
            out.insert(key.clone(), value);
        }
    }
    Ok(Value::Object(out))
}

/// `None` when the value was exactly an unbound `${testFlag}`: the key is dropped.
fn fill_value(value: &Value, bindings: &Bindings) -> Result<Option<Value>, Unbound> {
    Ok(Some(match value {
        Value::String(text) => {
            if text == &format!("${{{TEST_FLAG}}}") && bindings.get(TEST_FLAG).is_none() {
                return Ok(None);
            }
            Value::String(fill_str(text, bindings)?)
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(fill_value(item, bindings)?);
            }
            Value::Array(out)
        }
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                if let Some(value) = fill_value(value, bindings)? {
                    out.insert(key.clone(), value);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }))
}

/// Replaces every `${name}` or `${name:default}` in `text`.
pub fn fill_str(text: &str, bindings: &Bindings) -> Result<String, Unbound> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(':') {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        match bindings.get(name).or(default) {
            Some(value) => out.push_str(value),
            None => return Err(Unbound(name.to_owned())),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bindings(pairs: &[(&str, &str)]) -> Bindings {
        let mut b = Bindings::default();
        for (k, v) in pairs {
            b.set(k, *v);
        }
        b
    }

    #[test]
    fn fills_sorts_and_keeps_non_strings() {
        let template = json!({"orderId": "${orderId}", "activity": "x", "n": 3,
            "productInfo": {"productId": "P-${orderId}"}});
        let body = render(&template, &bindings(&[("orderId", "CS1")])).unwrap();
        assert_eq!(
            body.to_string(),
            r#"{"activity":"x","n":3,"orderId":"CS1","productInfo":{"productId":"P-CS1"}}"#
        );
    }

    #[test]
    fn unbound_test_flag_drops_the_key_and_defaults_apply() {
        let template = json!({"testFlag": "${testFlag}", "a": "${missing:0}"});
        assert_eq!(
            render(&template, &Bindings::default()).unwrap(),
            json!({"a": "0"})
        );
        let debug = bindings(&[("testFlag", "1"), ("missing", "7")]);
        assert_eq!(
            render(&template, &debug).unwrap().to_string(),
            r#"{"a":"7","testFlag":"1"}"#
        );
    }

    #[test]
    fn other_unbound_placeholders_fail() {
        let template = json!({"instanceId": "${instanceId}"});
        assert_eq!(
            render(&template, &Bindings::default()),
            Err(Unbound("instanceId".to_owned()))
        );
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let b = Bindings::default();
        assert_eq!(fill_str("plain $ {x} ${", &b).unwrap(), "plain $ {x} ${");
    }
}
