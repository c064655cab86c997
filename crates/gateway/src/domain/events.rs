//! Webhook events koogate sends to the vendor's system. The body is one JSON object:
//!
//! ```json
//! {"type":"instance.provision","eventId":"evt_…","occurredAt":"2026-11-25T01:00:00Z",
//!  "instanceId":"…","testFlag":false,"data":{…}}
//! ```
//!
//! `eventId` is also the `webhook-id` header; receivers deduplicate on it because delivery is
//! at-least-once. Events of one instance arrive one at a time, in order.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::store::NewEvent;

/// Event type names: part of koogate's public interface.
pub mod kind {
    /// A new instance must be provisioned; answer with app info or call `/ready` later.
    pub const PROVISION: &str = "instance.provision";
    pub const RENEWED: &str = "instance.renewed";
    pub const FROZEN: &str = "instance.frozen";
    pub const UNFROZEN: &str = "instance.unfrozen";
    pub const RELEASED: &str = "instance.released";
    pub const UPGRADED: &str = "instance.upgraded";
    /// The instance became usable (app info stored).
    pub const READY: &str = "instance.ready";
    pub const ORDER_NOTIFIED: &str = "order.notified";
    /// A `getLicenseAsync` call: answer with the license, or let the built-in generator issue it.
    pub const LICENSE_REQUESTED: &str = "license.requested";
    /// The license for a `license.requested` event reached KooGallery.
    pub const LICENSE_UPLOADED: &str = "license.uploaded";
    /// Not an outbox event: the synchronous question behind `changeInstanceCheck`.
    pub const CHANGE_CHECK: &str = "instance.change_check";
    pub const LICENSE_CODE_CHANGED: &str = "license_code.changed";
}

/// Builds one event; `ordering_key` is the instance id (or the order id for order events).
pub fn event(
    kind: &str,
    ordering_key: &str,
    instance_id: Option<&str>,
    test_flag: bool,
    data: Value,
    now: DateTime<Utc>,
) -> NewEvent {
    let event_id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    let body = json!({
        "type": kind,
        "eventId": event_id,
        "occurredAt": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "instanceId": instance_id,
        "testFlag": test_flag,
        "data": data,
    });
    NewEvent {
        event_id,
        event_type: kind.to_owned(),
        ordering_key: ordering_key.to_owned(),
        payload: body.to_string(),
    }
}

/// The raw order-query body as JSON, so vendors get every field KooGallery sent.
pub fn raw_order(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}
