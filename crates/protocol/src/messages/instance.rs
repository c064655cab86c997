//! Scheme-A instance activities (saas-v2 §3.1–3.7). Maximum lengths are the spec tables'.
//! Field order is alphabetical so serialized bodies match the documented examples byte for byte.

use serde::Serialize;

use super::fields::{Fields, FromFields, ParseError, deserialize_via_fields, missing};
use super::order::ProductInfo;
use crate::time::MarketTime;
use crate::wire::{Bounded, TestFlag, closed_enum};

mod new_instance;
pub use new_instance::{NewInstance, QueryInstance};

closed_enum! {
    /// refreshInstance / refreshLicenseCode `scene`.
    pub enum RefreshScene {
        /// Trial converted to a paid order.
        TrialToFormal = "TRIAL_TO_FORMAL",
        /// Renewal (license codes: renewal or trial→formal).
        Renewal = "RENEWAL",
        /// A renewal period was refunded (退续费).
        UnsubscribeRenewalPeriod = "UNSUBSCRIBE_RENEWAL_PERIOD",
        /// Renewal with a specification change (newer revision only).
        RenewalChange = "RENEWAL_CHANGE",
    }
}

closed_enum! {
    /// updateInstanceStatus / updateLicenseCodeStatus `status`.
    pub enum StatusChange {
        /// 冻结: expiry, violation or arrears.
        Freeze = "FREEZE",
        /// 解冻: renewed or violation lifted.
        Unfreeze = "UNFREEZE",
    }
}

/// `refreshInstance`: renewal, trial→paid, refunded renewal period, renewal with change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshInstance {
    /// New expiry (UTC; 14 or 17 digits accepted).
    pub expire_time: MarketTime,
    /// Instance to refresh.
    pub instance_id: Bounded<64>,
    /// The renewal / conversion / refund order.
    pub order_id: Bounded<64>,
    /// Its line.
    pub order_line_id: Bounded<64>,
    /// New productId when the period type changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<Bounded<64>>,
    /// Why.
    pub scene: RefreshScene,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for RefreshInstance {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            expire_time: f.required_parsed("expireTime")?,
            instance_id: f.required_nonempty("instanceId")?,
            order_id: f.required_nonempty("orderId")?,
            order_line_id: f.required_nonempty("orderLineId")?,
            product_id: f.optional("productId")?,
            scene: f.required_parsed("scene")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `updateInstanceStatus`: freeze or unfreeze.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInstanceStatus {
    /// Instance.
    pub instance_id: Bounded<64>,
    /// New status.
    pub status: StatusChange,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for UpdateInstanceStatus {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required_nonempty("instanceId")?,
            status: f.required_parsed("status")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `releaseInstance`. The order ids are present when an unsubscribe triggered the release.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInstance {
    /// Instance.
    pub instance_id: Bounded<64>,
    /// Refund order, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Bounded<64>>,
    /// Its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_line_id: Option<Bounded<64>>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for ReleaseInstance {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required_nonempty("instanceId")?,
            order_id: f.optional("orderId")?,
            order_line_id: f.optional("orderLineId")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `upgradeInstance`: the instance keeps its id; the new spec comes from the order query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeInstance {
    /// Instance.
    pub instance_id: Bounded<64>,
    /// The upgrade order.
    pub order_id: Bounded<64>,
    /// Its line.
    pub order_line_id: Bounded<64>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for UpgradeInstance {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required_nonempty("instanceId")?,
            order_id: f.required_nonempty("orderId")?,
            order_line_id: f.required_nonempty("orderLineId")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `changeInstanceCheck`: may this instance move to `productInfo`? (structure unknown: see
/// [`ProductInfo`], which keeps unknown fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInstanceCheck {
    /// Instance.
    pub instance_id: Bounded<64>,
    /// Target product.
    pub product_info: ProductInfo,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for ChangeInstanceCheck {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required_nonempty("instanceId")?,
            product_info: f
                .nested("productInfo")?
                .ok_or_else(|| missing("productInfo"))?,
            test_flag: f.test_flag()?,
        })
    }
}

deserialize_via_fields!(
    RefreshInstance,
    UpdateInstanceStatus,
    ReleaseInstance,
    UpgradeInstance,
    ChangeInstanceCheck,
);
