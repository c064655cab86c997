//! License-code open APIs: activate, query/heartbeat and software-usage-info (license-kit §2.3).
//! Field names are exactly as printed, including `heartbeatInfo`'s camelCase and the capital
//! `I` of `software_usage_Info`.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::result_code::OpenApiCode;
use crate::wire::{Bounded, Scalar, open_enum};

open_enum! {
    /// License code status.
    pub enum LicenseStatus {
        /// Normal: allow use.
        Alive = "ALIVE",
        /// Expired: block use, keep data.
        Expired = "EXPIRED",
        /// Released: block use, delete resources.
        Released = "RELEASED",
    }
}

/// `POST …/v1/license/activate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateRequest {
    /// License code.
    pub license: Bounded<64>,
    /// Actual effective time, UTC `yyyyMMddHHmmss`, not before the order time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_effect_time: Option<Bounded<16>>,
}

/// The object encoded inside `data.license_code_info`. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseCodeInfo {
    /// e.g. `ALIVE`.
    pub status: LicenseStatus,
    /// An estimate; the query API is authoritative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Product id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Order id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Amount (type undocumented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Scalar>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data` of the activate response. `license_code_info` is a JSON *string* holding an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivateData {
    /// The encoded info, as received (an object is tolerated too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_code_info: Option<Value>,
}

impl ActivateData {
    /// Encodes `info` as the string the marketplace sends.
    pub fn with_info(info: &LicenseCodeInfo) -> Result<Self, serde_json::Error> {
        Ok(Self {
            license_code_info: Some(Value::String(serde_json::to_string(info)?)),
        })
    }

    /// Decodes `license_code_info`, whether a string holding JSON or (leniently) an object.
    pub fn decode_info(&self) -> Result<Option<LicenseCodeInfo>, serde_json::Error> {
        match &self.license_code_info {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => serde_json::from_str(text).map(Some),
            Some(other) => serde_json::from_value(other.clone()).map(Some),
        }
    }
}

/// Response of activate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateResponse {
    /// `92020000` on success.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default)]
    pub error_msg: String,
    /// Present on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ActivateData>,
}

impl ActivateResponse {
    /// Decoded `data.license_code_info`.
    pub fn license_code_info(&self) -> Result<Option<LicenseCodeInfo>, serde_json::Error> {
        self.data
            .as_ref()
            .map_or(Ok(None), ActivateData::decode_info)
    }
}

/// `heartbeatInfo` (sunset; use software-usage-info instead, still accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatInfo {
    /// End-user identifier inside the vendor software.
    pub third_party_account: Bounded<256>,
    /// Client login IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Bounded<32>>,
}

/// `POST …/v1/license/heartbeat` (查询授权码).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatRequest {
    /// License code (legacy online-license products: the instanceId).
    pub license: Bounded<64>,
    /// Optional, sunset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_info: Option<HeartbeatInfo>,
}

/// `data` of the heartbeat response; extensible, unknown fields kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseInfo {
    /// License code.
    pub license_code: String,
    /// Status; controls the software.
    pub status: LicenseStatus,
    /// Activation time (format undocumented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activate_time: Option<String>,
    /// Expiry (inferred field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Product id (inferred field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Order id (inferred field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Amount (inferred field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Scalar>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of heartbeat. `data` is mandatory on success, absent on errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// `92020000` on success.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default)]
    pub error_msg: String,
    /// License state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<LicenseInfo>,
}

/// One `software_usage_Info[]` entry: exactly one of `id` / `active_num`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoftwareUsageInfo {
    /// `id`: one active client's login identifier (≤256).
    ClientId(Bounded<256>),
    /// `active_num`: total active clients that day (≤ 9 digits).
    ActiveCount(u32),
}

impl Serialize for SoftwareUsageInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Self::ClientId(id) => map.serialize_entry("id", id)?,
            Self::ActiveCount(n) => map.serialize_entry("active_num", n)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SoftwareUsageInfo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id: Option<Bounded<256>>,
            active_num: Option<u32>,
        }
        let raw = Raw::deserialize(d)?;
        match (raw.id, raw.active_num) {
            (Some(id), None) => Ok(Self::ClientId(id)),
            (None, Some(n)) if n <= 999_999_999 => Ok(Self::ActiveCount(n)),
            (None, Some(n)) => Err(de::Error::custom(format!(
                "active_num {n} exceeds 9 digits"
            ))),
            _ => Err(de::Error::custom(
                "exactly one of `id` and `active_num` is required",
            )),
        }
    }
}

/// One `usage_info[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseUsage {
    /// License code.
    pub license: Bounded<64>,
    /// ≤100 entries; the capital `I` is as printed.
    #[serde(rename = "software_usage_Info")]
    pub software_usage_info: Vec<SoftwareUsageInfo>,
}

/// `POST …/v2/license/software-usage-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwareUsageInfoRequest {
    /// ≤100 entries.
    pub usage_info: Vec<LicenseUsage>,
}

impl SoftwareUsageInfoRequest {
    /// Maximum entries per list, at both levels.
    pub const MAX_ITEMS: usize = 100;

    /// True when both list levels are within [`Self::MAX_ITEMS`] and non-empty.
    pub fn is_within_limits(&self) -> bool {
        let ok = |n: usize| (1..=Self::MAX_ITEMS).contains(&n);
        ok(self.usage_info.len())
            && self
                .usage_info
                .iter()
                .all(|u| ok(u.software_usage_info.len()))
    }
}

/// Response of software-usage-info. `data` lists failed checks under an undocumented name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftwareUsageInfoResponse {
    /// `92020000` on success.
    pub error_code: OpenApiCode,
    /// Message.
    #[serde(default)]
    pub error_msg: String,
    /// Failed checks, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[cfg(test)]
mod tests;
