//! Answers to scheme-A requests (saas-v2 §3.1–3.2) and their length rules.
//!
//! One struct covers every activity: all answers carry `resultCode`/`resultMsg`, newInstance adds
//! `instanceId` (and, per the debugger FAQ, possibly `appInfo`), queryInstance adds `encryptType`
//! and `info[]`. Reading is tolerant (the simulator parses vendors' answers); writing goes
//! through [`ProduceResponse::to_json_bytes`], which escapes non-ASCII as the spec asks for `memo`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ResultCode;
use crate::time::MarketTimeMillis;
use crate::wire::{UsageValue, open_enum, to_ascii_json, utf16_len};

mod check;
pub use check::ResponseError;

open_enum! {
    /// `encryptType`: how `userName`/`password` are encrypted (V1 table).
    pub enum EncryptType {
        /// AES256_CBC_PKCS5Padding (default).
        Aes256 = "1",
        /// AES128_CBC_PKCS5Padding.
        Aes128 = "2",
    }
}

/// Which name the `InstanceInfo` usage list is written under: the current Chinese table says
/// `usageInfo`, the English/older copy `usageInfos`. Reading accepts both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum UsageInfoField {
    /// `usageInfo` (current zh table).
    #[default]
    UsageInfo,
    /// `usageInfos` (EN / older copy).
    UsageInfos,
}

impl UsageInfoField {
    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsageInfo => "usageInfo",
            Self::UsageInfos => "usageInfos",
        }
    }
}

/// Credentials and URLs shown to the buyer.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// User-facing URL (≤512).
    pub front_end_url: String,
    /// Admin console URL (≤512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_url: Option<String>,
    /// Admin account (≤128, measured on the ciphertext incl. IV when encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Initial admin password (≤128, same rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Free text (≤1024); written with non-ASCII escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

impl fmt::Debug for AppInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppInfo")
            .field("front_end_url", &self.front_end_url)
            .field("admin_url", &self.admin_url)
            .field("user_name", &self.user_name.as_ref().map(|_| "[redacted]"))
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("memo", &self.memo)
            .finish()
    }
}

/// Usage of an on-demand instance or package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageInfo {
    /// For packages: the on-demand instance this usage belongs to (≤64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_instance_id: Option<String>,
    /// Cumulative (on-demand) or used (package) amount; a JSON number with ≤4 decimals.
    pub usage_value: UsageValue,
    /// `yyyyMMddHHmmssSSS`, UTC.
    pub statistical_time: MarketTimeMillis,
    /// Usage dashboard (≤512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
}

/// One `info[]` entry of a queryInstance answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceInfo {
    /// Instance id (≤64).
    pub instance_id: String,
    /// May be omitted only when credentials go out by SMS/e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_info: Option<AppInfo>,
    /// Usage; written as `usageInfo` unless [`UsageInfoField::UsageInfos`] is chosen.
    #[serde(
        default,
        rename = "usageInfo",
        alias = "usageInfos",
        skip_serializing_if = "Option::is_none"
    )]
    pub usage_info: Option<Vec<UsageInfo>>,
}

/// Answer to any scheme-A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProduceResponse {
    /// Six-digit code.
    pub result_code: ResultCode,
    /// Description (≤255). Always written by the constructors: the debugger requires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_msg: Option<String>,
    /// newInstance: the instance id (≤64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// queryInstance: how credentials are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_type: Option<EncryptType>,
    /// queryInstance: one entry per instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<InstanceInfo>>,
    /// newInstance: app info, which the debugger FAQ still asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_info: Option<AppInfo>,
}

impl ProduceResponse {
    /// `code` with its default message.
    pub fn new(code: ResultCode) -> Self {
        let message = code.default_message().to_owned();
        Self {
            result_code: code,
            result_msg: Some(message),
            instance_id: None,
            encrypt_type: None,
            info: None,
            app_info: None,
        }
    }

    /// `000000` / `success.`.
    pub fn success() -> Self {
        Self::new(ResultCode::Success)
    }

    /// `code` with a custom message, cut to 255 UTF-16 units.
    pub fn error(code: ResultCode, message: &str) -> Self {
        Self::new(code).with_message(message)
    }

    /// `000002` naming the defect, for a body that failed to parse.
    pub fn from_parse_error(error: &super::ParseError) -> Self {
        Self::error(error.result_code(), &error.to_string())
    }

    /// Replaces the message, cut to 255 UTF-16 units.
    pub fn with_message(mut self, message: &str) -> Self {
        self.result_msg = Some(truncate_utf16(message, check::MAX_RESULT_MSG).to_owned());
        self
    }

    /// Sets `instanceId`.
    pub fn with_instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// Sets `info[]` and, for encrypted credentials, `encryptType`.
    pub fn with_info(mut self, info: Vec<InstanceInfo>, encrypt_type: Option<EncryptType>) -> Self {
        self.info = Some(info);
        self.encrypt_type = encrypt_type;
        self
    }

    /// Sets the top-level `appInfo`.
    pub fn with_app_info(mut self, app_info: AppInfo) -> Self {
        self.app_info = Some(app_info);
        self
    }

    /// Compact, ASCII-only JSON with the usage list under `usageInfo`.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        self.to_json_bytes_with(UsageInfoField::default())
    }

    /// Compact, ASCII-only JSON with the usage list under the chosen name.
    pub fn to_json_bytes_with(&self, field: UsageInfoField) -> Result<Vec<u8>, serde_json::Error> {
        if field == UsageInfoField::UsageInfo {
            return to_ascii_json(self);
        }
        let mut value = serde_json::to_value(self)?;
        if let Some(Value::Array(items)) = value.get_mut("info") {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                // Rebuild rather than remove+insert so the key keeps its position.
                *item = std::mem::take(item)
                    .into_iter()
                    .map(|(k, v)| {
                        if k == "usageInfo" {
                            (field.as_str().to_owned(), v)
                        } else {
                            (k, v)
                        }
                    })
                    .collect();
            }
        }
        to_ascii_json(&value)
    }

    /// Parses a vendor's answer (either usage list name).
    pub fn from_json_bytes(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Every length/presence rule of the tables and the debugger; empty when valid.
    pub fn problems(&self) -> Vec<ResponseError> {
        check::problems(self)
    }

    /// The first problem, if any.
    pub fn validate(&self) -> Result<(), ResponseError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }
}

/// The longest prefix of `text` within `max` UTF-16 units, never splitting a character.
pub fn truncate_utf16(text: &str, max: usize) -> &str {
    if utf16_len(text) <= max {
        return text;
    }
    let mut used = 0;
    for (index, ch) in text.char_indices() {
        used += ch.len_utf16();
        if used > max {
            return &text[..index];
        }
    }
    text
}

#[cfg(test)]
mod tests;
