//! Reading a usage push body record by record, with the protocol crate's field types, so that a bad
//! record can be named with its per-record code (license-kit §6.4: `001`…`013` in `extra_info`)
//! instead of failing the whole body at the first serde error.

use koogate_protocol::messages::usage::{OldUsageRecord, UsagePushData};
use koogate_protocol::result_code::UsageRecordCode;
use koogate_protocol::time::UsageTime;
use koogate_protocol::wire::{Bounded, UsageValue};
use serde_json::{Map, Value};

use super::usage_store::{UsageApi, UsageRecord};

/// Why one record cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RecordFault {
    /// A per-record code: the push answers `MKT.9002` and lists it in `extra_info`.
    Entity {
        metering_sn: Option<String>,
        code: UsageRecordCode,
        reason: String,
    },
    /// No per-record code fits (a record that is not an object, a missing `product_id`): the push
    /// answers `MKT.0100` "input check failed".
    Input(String),
}

/// The `usage_records` array of a body, or why the body is not a push at all.
pub(super) fn records(body: &[u8]) -> Result<Vec<Value>, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    match body.get("usage_records") {
        Some(Value::Array(records)) => Ok(records.clone()),
        Some(_) => Err("usage_records is not an array".into()),
        None => Err("usage_records missing".into()),
    }
}

/// A record of the new API (saas-v2 §7.2), as the protocol type.
pub(super) fn new_record(value: &Value) -> Result<UsagePushData, RecordFault> {
    let object = value
        .as_object()
        .ok_or_else(|| RecordFault::Input("a usage record is not a JSON object".into()))?;
    let fields = Fields(object);
    let metering_sn = fields.text("metering_sn");
    let entity = |code: UsageRecordCode, reason: String| RecordFault::Entity {
        metering_sn: metering_sn.map(str::to_owned),
        code,
        reason,
    };
    let data = UsagePushData {
        instance_id: fields
            .id("instance_id")
            .map_err(|r| entity(UsageRecordCode::InstanceNotFound, r))?,
        metering_sn: fields
            .id("metering_sn")
            .map_err(|r| entity(UsageRecordCode::MissingMeteringSn, r))?,
        record_time: fields
            .time("record_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        begin_time: fields
            .time("begin_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        end_time: fields
            .time("end_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        usage_value: fields
            .usage_value()
            .map_err(|r| entity(UsageRecordCode::InvalidUsageValue, r))?,
        relate_pkg_instance: fields
            .optional_id("relate_pkg_instance")
            .map_err(|r| entity(UsageRecordCode::InstanceNotFound, r))?,
    };
    window(data.begin_time, data.end_time)
        .map_err(|r| entity(UsageRecordCode::InvalidTimeRange, r))?;
    Ok(data)
}

/// A record of the old API (saas-v2 §7.3), as the protocol type.
pub(super) fn old_record(value: &Value) -> Result<OldUsageRecord, RecordFault> {
    let object = value
        .as_object()
        .ok_or_else(|| RecordFault::Input("a usage record is not a JSON object".into()))?;
    let fields = Fields(object);
    let entity = |code: UsageRecordCode, reason: String| RecordFault::Entity {
        metering_sn: None,
        code,
        reason,
    };
    let product_id = fields
        .id("product_id")
        .map_err(|r| RecordFault::Input(format!("record without a usable product_id: {r}")))?;
    let record = OldUsageRecord {
        instance_id: fields
            .id("instance_id")
            .map_err(|r| entity(UsageRecordCode::InstanceNotFound, r))?
            .into_inner(),
        product_id: product_id.into_inner(),
        record_time: fields
            .time("record_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        begin_time: fields
            .time("begin_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        end_time: fields
            .time("end_time")
            .map_err(|r| entity(UsageRecordCode::InvalidTimeFormat, r))?,
        usage_value: fields
            .usage_value()
            .map_err(|r| entity(UsageRecordCode::InvalidUsageValue, r))?,
        relate_pkg_instance: fields
            .optional_id("relate_pkg_instance")
            .map_err(|r| entity(UsageRecordCode::InstanceNotFound, r))?
            .map(Bounded::into_inner),
    };
    window(record.begin_time, record.end_time)
        .map_err(|r| entity(UsageRecordCode::InvalidTimeRange, r))?;
    Ok(record)
}

/// `begin_time` after `end_time` is refused at once, as the protocol crate's
/// `UsagePushRequest::validate` (the vendor's own pre-check) expects the marketplace to do.
fn window(begin: UsageTime, end: UsageTime) -> Result<(), String> {
    if begin > end {
        return Err(format!("begin_time {begin} is after end_time {end}"));
    }
    Ok(())
}

impl UsageRecord {
    pub(super) fn from_new(access_key: &str, data: UsagePushData) -> Self {
        Self {
            api: UsageApi::New,
            access_key: access_key.to_owned(),
            instance_id: data.instance_id.into_inner(),
            product_id: None,
            metering_sn: Some(data.metering_sn.into_inner()),
            record_time: data.record_time.at(),
            begin_time: data.begin_time.at(),
            end_time: data.end_time.at(),
            usage_value: data.usage_value,
            relate_pkg_instance: data.relate_pkg_instance.map(Bounded::into_inner),
        }
    }

    pub(super) fn from_old(access_key: &str, record: OldUsageRecord) -> Self {
        Self {
            api: UsageApi::Old,
            access_key: access_key.to_owned(),
            instance_id: record.instance_id,
            product_id: Some(record.product_id),
            metering_sn: None,
            record_time: record.record_time.at(),
            begin_time: record.begin_time.at(),
            end_time: record.end_time.at(),
            usage_value: record.usage_value,
            relate_pkg_instance: record.relate_pkg_instance,
        }
    }
}

/// Field readers over one record object; each error names the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A mandatory, non-empty string of at most 64 characters (the `64` of every id in §7.2).
    fn id(&self, name: &str) -> Result<Bounded<64>, String> {
        let text = self
            .text(name)
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| format!("{name} missing"))?;
        Bounded::new(text).map_err(|_| format!("{name} longer than 64"))
    }

    fn optional_id(&self, name: &str) -> Result<Option<Bounded<64>>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.id(name).map(Some),
        }
    }

    fn time(&self, name: &str) -> Result<UsageTime, String> {
        let text = self.text(name).ok_or_else(|| format!("{name} missing"))?;
        UsageTime::parse(text).map_err(|e| format!("{name}: {e}"))
    }

    /// A string (the new API's `String(20)`) or a number (the intl page's `Double(12,4)`),
    /// positive, at most 4 decimals (saas-v2 §7.2: "> 0, ≤ 4 decimals").
    fn usage_value(&self) -> Result<UsageValue, String> {
        let value = self.0.get("usage_value").ok_or("usage_value missing")?;
        let amount: UsageValue =
            serde_json::from_value(value.clone()).map_err(|e| format!("usage_value: {e}"))?;
        if amount.is_zero() {
            return Err("usage_value must be greater than 0".into());
        }
        Ok(amount)
    }
}
