//! 查询订单 (query order) response and the debugger's MOCK orders (saas-v2 §6, §7.1; license-kit §6.3).
//!
//! The response comes from the marketplace and its shape has drifted (`currency` is the string
//! `"100"`, `linearValue` a number), so every scalar is read leniently, unknown fields are kept,
//! and times stay as received text with parsing accessors: an unexpected time format must not
//! make an otherwise valid order unreadable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::result_code::OpenApiCode;
use crate::time;
use crate::wire::{Scalar, open_enum};

open_enum! {
    /// `orderType`.
    pub enum OrderType {
        /// 新购.
        New = "NEW",
        /// 试用.
        Trial = "TRIAL",
        /// 试用转正.
        TrialToFormal = "TRIAL_TO_FORMAL",
        /// 退订.
        Unsubscribe = "UNSUBSCRIBE",
        /// 续费.
        Renew = "RENEW",
        /// 变更 / 升级.
        Change = "CHANGE",
    }
}

open_enum! {
    /// `chargingMode` (V2 strings; V1 used integers 0/1/3/5).
    pub enum ChargingMode {
        /// 按需.
        OnDemand = "ON_DEMAND",
        /// 按次.
        OneTime = "ONE_TIME",
        /// 包周期.
        Period = "PERIOD",
        /// 按需套餐包.
        OnDemandPackage = "ON_DEMAND_PKG",
    }
}

/// A product line item. Shared by the order query, the legacy newInstance body and
/// changeInstanceCheck (whose structure the spec does not show), so every field is optional and
/// unknown fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    /// `productId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// `skuCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_code: Option<String>,
    /// `linearValue` (a number in every example; strings accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_value: Option<Scalar>,
    /// `productName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `extendParams[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendParam {
    /// Parameter name, e.g. `emailDomainName`.
    pub name: String,
    /// Parameter value (may be null).
    #[serde(default)]
    pub value: Option<String>,
}

/// `buyerInfo`. Every field may be null (the MOCK order returns null email/userId/userName).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerInfo {
    /// `mobilePhone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `customerId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// `customerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// `customerRealName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_real_name: Option<String>,
    /// `customerType` (`0` in the MOCK response; string or number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_type: Option<Scalar>,
    /// `userId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `userName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// `orderLine[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// `orderLineId`.
    pub order_line_id: String,
    /// `chargingMode`.
    pub charging_mode: ChargingMode,
    /// `expireTime` as received (`yyyyMMddHHmmss`); see [`OrderLine::expire_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// `periodType`: `year`, `month`, `day` seen; full set unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_type: Option<String>,
    /// `periodNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_number: Option<Scalar>,
    /// `productInfo[]`.
    #[serde(default)]
    pub product_info: Vec<ProductInfo>,
    /// `extendParams[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extend_params: Vec<ExtendParam>,
    /// `currency` (the MOCK response sends the string `"100"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Scalar>,
    /// `currencyAfterDiscount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_after_discount: Option<Scalar>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OrderLine {
    /// `expireTime` parsed (14 or 17 digits, UTC).
    pub fn expire_at(&self) -> Option<DateTime<Utc>> {
        self.expire_time
            .as_deref()
            .and_then(|t| time::parse_compact(t).ok())
    }

    /// Value of a line-level extend param.
    pub fn extend_param(&self, name: &str) -> Option<&str> {
        find_param(&self.extend_params, name)
    }
}

/// `orderInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInfo {
    /// `orderId`.
    pub order_id: String,
    /// `orderType`.
    pub order_type: OrderType,
    /// `createTime` as received: order placement time, not the effective time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// `orderLine[]`.
    #[serde(default)]
    pub order_line: Vec<OrderLine>,
    /// `buyerInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_info: Option<BuyerInfo>,
    /// Order-level `extendParams[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extend_params: Vec<ExtendParam>,
    /// Fields this version does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OrderInfo {
    /// `createTime` parsed (14 or 17 digits, UTC).
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.create_time
            .as_deref()
            .and_then(|t| time::parse_compact(t).ok())
    }

    /// The line with this id.
    pub fn line(&self, order_line_id: &str) -> Option<&OrderLine> {
        self.order_line
            .iter()
            .find(|l| l.order_line_id == order_line_id)
    }

    /// Value of an order-level extend param.
    pub fn extend_param(&self, name: &str) -> Option<&str> {
        find_param(&self.extend_params, name)
    }
}

fn find_param<'a>(params: &'a [ExtendParam], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

/// Response of `GET …/v1/order/query` (camelCase, unlike the other open APIs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryOrderResponse {
    /// `MKT.0000` on success.
    pub result_code: OpenApiCode,
    /// Message (≤1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_msg: Option<String>,
    /// Present on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_info: Option<OrderInfo>,
}

impl QueryOrderResponse {
    /// `resultCode` is a success code.
    pub fn is_success(&self) -> bool {
        self.result_code.is_success()
    }
}
