//! The legacy "rich" newInstance body (2022–2024 signature examples, saas-v2 §2.3 / §3.1): the
//! order details inline instead of fetched through the order query. No current table documents
//! it, so every field but `orderId` is optional and unknown fields are kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::order::{ChargingMode, ExtendParam, ProductInfo};
use crate::wire::{Bounded, Scalar};

/// One `orderInfo[]` entry of the rich body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyOrderInfo {
    /// `businessId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<Bounded<64>>,
    /// `orderId`.
    pub order_id: Bounded<64>,
    /// `trialFlag` (`"0"`/`"1"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_flag: Option<Scalar>,
    /// `orderAmount` (a number, e.g. `12.78`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_amount: Option<Scalar>,
    /// `chargingMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_mode: Option<ChargingMode>,
    /// `periodType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_type: Option<String>,
    /// `periodNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_number: Option<Scalar>,
    /// `provisionType` (meaning undocumented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision_type: Option<Scalar>,
    /// `productInfo[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_info: Vec<ProductInfo>,
    /// `createTime` as received (`yyyyMMddHHmmss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// `expireTime` as received (`yyyyMMddHHmmss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// `extendParams[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extend_params: Vec<ExtendParam>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LegacyOrderInfo {
    /// True when `trialFlag` is `1`.
    pub fn is_trial(&self) -> bool {
        self.trial_flag.as_ref().and_then(Scalar::as_i64) == Some(1)
    }
}
