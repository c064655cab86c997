//! 按需使用量推送 (usage push), new and old (saas-v2 §7.2–7.3, license-kit §6.4).
//!
//! The new API's body is signed after "natural sorting"; [`UsagePushData`]'s fields are declared
//! in alphabetical order, so plain serialization is already the sorted form.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::result_code::{OpenApiCode, UsageRecordCode};
use crate::time::UsageTime;
use crate::wire::{Bounded, UsageValue, usage_value_string};

/// At most this many records per push (one revision says 100; the current page says 1000).
pub const MAX_USAGE_RECORDS: usize = 1000;

/// One record of the new usage push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePushData {
    /// Window start.
    pub begin_time: UsageTime,
    /// Window end.
    pub end_time: UsageTime,
    /// On-demand instance id from newInstance.
    pub instance_id: Bounded<64>,
    /// Merchant-unique record id: the marketplace's idempotency key.
    pub metering_sn: Bounded<64>,
    /// When the record was made.
    pub record_time: UsageTime,
    /// For 用完即停 packages: the package instance the usage is deducted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relate_pkg_instance: Option<Bounded<64>>,
    /// Amount, sent as a string (`String(20)`, > 0, ≤ 4 decimals).
    #[serde(with = "usage_value_string")]
    pub usage_value: UsageValue,
}

/// Body of `POST …/global/v1/isv/usage-data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePushRequest {
    /// 1..=1000 records.
    pub usage_records: Vec<UsagePushData>,
}

/// A usage push the marketplace would refuse outright.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsagePushError {
    /// No records.
    #[error("usage push has no records")]
    Empty,
    /// Over [`MAX_USAGE_RECORDS`] (the marketplace answers `MKT.9003`).
    #[error("{0} usage records, over the maximum of 1000")]
    TooManyRecords(usize),
    /// A zero amount (the marketplace requires > 0).
    #[error("record {index} has usage_value 0")]
    ZeroUsage {
        /// Index in `usage_records`.
        index: usize,
    },
    /// `begin_time` after `end_time`.
    #[error("record {index} ends before it begins")]
    InvertedWindow {
        /// Index in `usage_records`.
        index: usize,
    },
}

impl UsagePushRequest {
    /// Checks the limits the marketplace enforces synchronously.
    pub fn validate(&self) -> Result<(), UsagePushError> {
        match self.usage_records.len() {
            0 => return Err(UsagePushError::Empty),
            n if n > MAX_USAGE_RECORDS => return Err(UsagePushError::TooManyRecords(n)),
            _ => {}
        }
        for (index, record) in self.usage_records.iter().enumerate() {
            if record.usage_value.is_zero() {
                return Err(UsagePushError::ZeroUsage { index });
            }
            if record.begin_time > record.end_time {
                return Err(UsagePushError::InvertedWindow { index });
            }
        }
        Ok(())
    }

    /// Compact JSON, keys already in natural order: the exact bytes to sign and send.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// One per-record outcome read from `extra_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecordResult {
    /// The record's `metering_sn`, when the marketplace names it.
    pub metering_sn: Option<String>,
    /// The per-record code.
    pub code: UsageRecordCode,
    /// Its message, if any.
    pub message: Option<String>,
}

/// Response of the new usage push. `extra_info`'s structure is undocumented, so it is kept raw
/// and [`UsagePushResponse::record_results`] reads it best-effort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePushResponse {
    /// `MKT.0000` on success.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// Per-record codes, shape unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<Value>,
}

impl UsagePushResponse {
    /// True for `MKT.0000`.
    pub fn is_success(&self) -> bool {
        self.error_code.is_success()
    }

    /// Per-record outcomes from the shapes `extra_info` plausibly takes: a list of objects
    /// (`{"metering_sn":…,"code":…,"msg":…}` or similar key names), a map from `metering_sn` to
    /// a code or such an object, or either of those inside a JSON string.
    pub fn record_results(&self) -> Vec<UsageRecordResult> {
        self.extra_info
            .as_ref()
            .map(read_results)
            .unwrap_or_default()
    }
}

const SN_KEYS: [&str; 4] = ["metering_sn", "meteringSn", "sn", "id"];
const CODE_KEYS: [&str; 5] = [
    "code",
    "error_code",
    "errorCode",
    "result_code",
    "resultCode",
];
const MSG_KEYS: [&str; 6] = [
    "msg",
    "message",
    "error_msg",
    "errorMsg",
    "result_msg",
    "resultMsg",
];

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_text(object: &serde_json::Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| object.get(*k).and_then(text_of))
}

fn read_entry(sn: Option<String>, value: &Value) -> Option<UsageRecordResult> {
    match value {
        Value::Object(object) => Some(UsageRecordResult {
            metering_sn: first_text(object, &SN_KEYS).or(sn),
            code: UsageRecordCode::parse(&first_text(object, &CODE_KEYS)?),
            message: first_text(object, &MSG_KEYS),
        }),
        other => Some(UsageRecordResult {
            metering_sn: sn,
            code: UsageRecordCode::parse(&text_of(other)?),
            message: None,
        }),
    }
}

fn read_results(value: &Value) -> Vec<UsageRecordResult> {
    match value {
        Value::String(text) => serde_json::from_str::<Value>(text)
            .map(|v| read_results(&v))
            .unwrap_or_default(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| read_entry(None, item))
            .collect(),
        Value::Object(map) if first_text(map, &CODE_KEYS).is_some() => {
            read_entry(None, value).into_iter().collect()
        }
        Value::Object(map) => map
            .iter()
            .filter_map(|(sn, v)| read_entry(Some(sn.clone()), v))
            .collect(),
        _ => Vec::new(),
    }
}

/// One record of the old usage push (`…/rest/marketplace/v1/isv/usage-data`): adds
/// `product_id`, has no `metering_sn` and no body signature. `usage_value`'s JSON type is not
/// documented for this API; it is written as a number, as the intl page's `Double(12,4)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldUsageRecord {
    /// Window start.
    pub begin_time: UsageTime,
    /// Window end.
    pub end_time: UsageTime,
    /// On-demand instance id.
    pub instance_id: String,
    /// Product id.
    pub product_id: String,
    /// When the record was made.
    pub record_time: UsageTime,
    /// Package instance, for packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relate_pkg_instance: Option<String>,
    /// Amount.
    pub usage_value: UsageValue,
}

/// Body of the old usage push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldUsagePushRequest {
    /// Records.
    pub usage_records: Vec<OldUsageRecord>,
}

#[cfg(test)]
mod tests;
