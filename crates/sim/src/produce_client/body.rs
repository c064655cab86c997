//! Doc-shaped request bodies (spec saas-v2 §3): every field a JSON string unless the spec says
//! otherwise, keys in ascending order at every level, no whitespace.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A production-interface request body. Keys are kept sorted, so the bytes match the layout of
/// every documented example and the signature is over exactly what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    fields: BTreeMap<String, Value>,
}

impl Body {
    /// `{"activity": activity, "testFlag": "1"}`: the seller-center debugger marks its calls.
    pub fn new(activity: &str) -> Self {
        Self {
            fields: BTreeMap::new(),
        }
        .set("activity", activity)
        .set("testFlag", "1")
    }

    /// `newInstance` (§3.1). `businessId` must differ on every call, retries included.
    pub fn new_instance(order_id: &str, order_line_id: &str, business_id: &str) -> Self {
        Self::new("newInstance")
            .set("orderId", order_id)
            .set("orderLineId", order_line_id)
            .set("businessId", business_id)
    }

    /// `queryInstance` (§3.2); several ids are joined with commas.
    pub fn query_instance(instance_id: &str) -> Self {
        Self::new("queryInstance").set("instanceId", instance_id)
    }

    /// `refreshInstance` (§3.3); `expire_time` is `yyyyMMddHHmmss[SSS]` UTC.
    pub fn refresh_instance(
        instance_id: &str,
        order_id: &str,
        order_line_id: &str,
        scene: &str,
        expire_time: &str,
    ) -> Self {
        Self::new("refreshInstance")
            .set("instanceId", instance_id)
            .set("orderId", order_id)
            .set("orderLineId", order_line_id)
            .set("scene", scene)
            .set("expireTime", expire_time)
    }

    /// `updateInstanceStatus` (§3.4) with `FREEZE` or `UNFREEZE`.
    pub fn update_instance_status(instance_id: &str, status: &str) -> Self {
        Self::new("updateInstanceStatus")
            .set("instanceId", instance_id)
            .set("status", status)
    }

    /// `releaseInstance` (§3.5) without order ids (an expiry, not an unsubscribe).
    pub fn release_instance(instance_id: &str) -> Self {
        Self::new("releaseInstance").set("instanceId", instance_id)
    }

    /// `upgradeInstance` (§3.6).
    pub fn upgrade_instance(instance_id: &str, order_id: &str, order_line_id: &str) -> Self {
        Self::new("upgradeInstance")
            .set("instanceId", instance_id)
            .set("orderId", order_id)
            .set("orderLineId", order_line_id)
    }

    /// `changeInstanceCheck` (§3.7); the structure of `productInfo` is not published.
    pub fn change_instance_check(instance_id: &str, product_info: Value) -> Self {
        Self::new("changeInstanceCheck")
            .set("instanceId", instance_id)
            .set("productInfo", product_info)
    }

    /// Sets (or replaces) a top-level field.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a top-level field.
    pub fn remove(mut self, name: &str) -> Self {
        self.fields.remove(name);
        self
    }

    /// Production calls carry no `testFlag` (current pages: "omitted for non-debug requests").
    pub fn without_test_flag(self) -> Self {
        self.remove("testFlag")
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    pub fn activity(&self) -> Option<&str> {
        self.get("activity").and_then(Value::as_str)
    }

    /// Compact JSON with every object's keys in ascending order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let object: Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect();
        // `Display` of a `Value` is compact JSON and cannot fail.
        Value::Object(object).to_string().into_bytes()
    }
}

/// A copy of `value` whose objects list their keys in ascending order (serde_json keeps
/// insertion order in this workspace, so sorting is explicit).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
