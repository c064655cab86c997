//! Scheme-A license activities: License 2.0 code lifecycle (license-kit §2.2.3–2.2.5) and the
//! online-license `getLicenseAsync` (§3.2). Fields whose table gives no maximum are plain strings.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::fields::{Fields, FromFields, ParseError, deserialize_via_fields};
use super::instance::{RefreshScene, StatusChange};
use crate::time::{self, MarketTime, TimeError};
use crate::wire::{Bounded, TestFlag};

/// `refreshLicenseCode`: new expiry after renewal, trial→paid or refunded renewal. The spec lists
/// only `RENEWAL` and `UNSUBSCRIBE_RENEWAL_PERIOD`; the instance scenes are accepted too, since
/// refusing a renewal the marketplace considers valid would cost the buyer their license.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshLicenseCode {
    /// New expiry (`yyyyMMddHHmmss`, UTC assumed).
    pub expire_time: MarketTime,
    /// The license code.
    pub license: Bounded<64>,
    /// The new (renewal) order.
    pub order_id: Bounded<64>,
    /// Its line.
    pub order_line_id: Bounded<64>,
    /// Product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Why.
    pub scene: RefreshScene,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for RefreshLicenseCode {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            expire_time: f.required_parsed("expireTime")?,
            license: f.required_nonempty("license")?,
            order_id: f.required_nonempty("orderId")?,
            order_line_id: f.required_nonempty("orderLineId")?,
            product_id: f.optional_text("productId")?,
            scene: f.required_parsed("scene")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `updateLicenseCodeStatus`: freeze after the grace period, unfreeze after renewal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateLicenseCodeStatus {
    /// The license code.
    pub license: Bounded<64>,
    /// New status.
    pub status: StatusChange,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for UpdateLicenseCodeStatus {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            license: f.required_nonempty("license")?,
            status: f.required_parsed("status")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `releaseLicenseCode`: past the retention period, or unsubscribed (then with order ids).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseLicenseCode {
    /// The license code.
    pub license: Bounded<64>,
    /// Unsubscribe order, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Bounded<64>>,
    /// Its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_line_id: Option<Bounded<64>>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for ReleaseLicenseCode {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            license: f.required_nonempty("license")?,
            order_id: f.optional("orderId")?,
            order_line_id: f.optional("orderLineId")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// The FAQ's 5K: the longest getLicenseAsync `deviceFingerprint` that parses (UTF-16 units).
pub const MAX_DEVICE_FINGERPRINT: usize = 5120;

/// `getLicenseAsync`: generate a license for a device. Times are kept as received (their format
/// is known only from one example) and checked while parsing; read them with the accessors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLicenseAsync {
    /// Device fingerprint / hardware id (`MAC|disk|board|CPU`). The table says 1024; an FAQ
    /// says up to 5K, which is what is enforced here. The gateway applies its own, configurable
    /// limit on top (`max_fingerprint_bytes`, 1024 by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_fingerprint: Option<Bounded<MAX_DEVICE_FINGERPRINT>>,
    /// License start, e.g. `2023-10-27 10:30:15 z`.
    pub effective_time: Bounded<32>,
    /// Application serial; with the fingerprint it identifies retries.
    pub event_id: Bounded<64>,
    /// License end; mandatory for periodic products (else answer `000902`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<Bounded<32>>,
    /// Instance from newInstance.
    pub instance_id: Bounded<64>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl GetLicenseAsync {
    /// `effectiveTime` parsed leniently ([`time::parse_license_time`]).
    pub fn effective_at(&self) -> Result<DateTime<Utc>, TimeError> {
        time::parse_license_time(&self.effective_time)
    }

    /// `expireTime` parsed leniently.
    pub fn expire_at(&self) -> Option<Result<DateTime<Utc>, TimeError>> {
        self.expire_time.as_deref().map(time::parse_license_time)
    }
}

fn check_license_time(name: &str, value: &str) -> Result<(), ParseError> {
    time::parse_license_time(value)
        .map(drop)
        .map_err(|e| ParseError::InvalidValue {
            field: name.to_owned(),
            value: value.to_owned(),
            expected: e.expected,
        })
}

impl FromFields for GetLicenseAsync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let request = Self {
            device_fingerprint: f.optional("deviceFingerprint")?,
            effective_time: f.required_nonempty("effectiveTime")?,
            event_id: f.required_nonempty("eventId")?,
            expire_time: f.optional("expireTime")?,
            instance_id: f.required_nonempty("instanceId")?,
            test_flag: f.test_flag()?,
        };
        check_license_time("effectiveTime", &request.effective_time)?;
        if let Some(expire) = &request.expire_time {
            check_license_time("expireTime", expire)?;
        }
        Ok(request)
    }
}

deserialize_via_fields!(
    RefreshLicenseCode,
    UpdateLicenseCodeStatus,
    ReleaseLicenseCode,
    GetLicenseAsync
);
