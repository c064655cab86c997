//! The simulator's license codes (授权码): what the activate, heartbeat and software-usage-info
//! APIs (license-kit §2.3) answer from.
//!
//! KooGallery generates one code per purchased License resource and shows it to the buyer, who
//! must "receive" it (领取授权码) before it can be activated (license-kit §2.1). Tests and
//! scenarios issue codes with [`OpenApiState::issue_license`] or, from an order in the book,
//! [`OpenApiState::issue_license_for_order`]; the marketplace-side lifecycle (receipt, release)
//! is driven through the state too, while expiry follows the injected clock.
//!
//! Uploads (`market-event/{event_id}/file`) are not codes: they deliver the vendor's own license
//! content for online-license products (license-kit §3.3), which no activate call refers to.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use koogate_protocol::messages::license_api::{HeartbeatInfo, LicenseStatus, SoftwareUsageInfo};
use koogate_protocol::result_code::LicenseApiCode;
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use serde_json::Value;

use super::{OpenApiState, lock};

/// A code as KooGallery issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseGrant {
    pub code: String,
    pub order_id: Option<String>,
    pub order_line_id: Option<String>,
    pub product_id: Option<String>,
    /// When the order was placed: `real_effect_time` may not be earlier (license-kit §2.3.1).
    pub order_time: Option<DateTime<Utc>>,
    /// `None` never expires (one-time purchases).
    pub expire_time: Option<DateTime<Utc>>,
    pub amount: Option<i64>,
    /// The buyer has received the code; until then activation answers `92020004`.
    pub received: bool,
}

impl LicenseGrant {
    /// A received code with nothing else known.
    pub fn new(code: &str) -> Self {
        Self {
            code: code.to_owned(),
            order_id: None,
            order_line_id: None,
            product_id: None,
            order_time: None,
            expire_time: None,
            amount: None,
            received: true,
        }
    }

    pub fn order(mut self, order_id: &str, order_line_id: &str) -> Self {
        self.order_id = Some(order_id.to_owned());
        self.order_line_id = Some(order_line_id.to_owned());
        self
    }

    pub fn product(mut self, product_id: &str) -> Self {
        self.product_id = Some(product_id.to_owned());
        self
    }

    pub fn order_time(mut self, at: DateTime<Utc>) -> Self {
        self.order_time = Some(at);
        self
    }

    pub fn expires(mut self, at: DateTime<Utc>) -> Self {
        self.expire_time = Some(at);
        self
    }

    /// Not yet received by the buyer.
    pub fn unreceived(mut self) -> Self {
        self.received = false;
        self
    }
}

/// A successful activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activation {
    pub access_key: String,
    /// When the call arrived.
    pub at: DateTime<Utc>,
    /// `real_effect_time` if given, otherwise [`Self::at`]: reported as `activate_time`.
    pub effective: DateTime<Utc>,
}

/// One accepted heartbeat (查询授权码) call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    pub access_key: String,
    pub at: DateTime<Utc>,
    /// The sunset `heartbeatInfo`, when sent.
    pub info: Option<HeartbeatInfo>,
}

/// One license's entries of an accepted software-usage-info call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftwareUsageReport {
    pub access_key: String,
    pub at: DateTime<Utc>,
    pub entries: Vec<SoftwareUsageInfo>,
}

/// A code and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct License {
    pub grant: LicenseGrant,
    /// Released by KooGallery (expired past retention, or unsubscribed, license-kit §2.1).
    pub released: bool,
    pub activation: Option<Activation>,
    pub heartbeats: Vec<Heartbeat>,
    pub usage_reports: Vec<SoftwareUsageReport>,
}

impl License {
    /// `RELEASED` once released, `EXPIRED` from the expiry on, `ALIVE` otherwise.
    pub fn status(&self, now: DateTime<Utc>) -> LicenseStatus {
        if self.released {
            LicenseStatus::Released
        } else if self.grant.expire_time.is_some_and(|at| at <= now) {
            LicenseStatus::Expired
        } else {
            LicenseStatus::Alive
        }
    }
}

/// Why a code could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("license code `{0}` already exists")]
    Duplicate(String),
    #[error("no order `{0}` in the order book")]
    UnknownOrder(String),
    #[error("order `{0}` has no such line")]
    UnknownLine(String),
}

/// A refusal of a license API: the code and, for the exchange log, why.
pub(super) type Refusal = (LicenseApiCode, String);

#[derive(Debug, Default)]
pub(super) struct LicenseRegistry(Mutex<BTreeMap<String, License>>);

impl LicenseRegistry {
    /// Runs `change` on the code's license, or refuses with `92020005` if there is none.
    pub(super) fn update<T>(
        &self,
        code: &str,
        change: impl FnOnce(&mut License) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let mut licenses = lock(&self.0);
        let license = licenses.get_mut(code).ok_or_else(|| {
            let why = format!("no license code `{code}`");
            (LicenseApiCode::LicenseCodeNotFound, why)
        })?;
        change(license)
    }
}

impl OpenApiState {
    /// Issues a code; refused if the code exists.
    pub fn issue_license(&self, grant: LicenseGrant) -> Result<(), IssueError> {
        let mut licenses = lock(&self.licenses.0);
        if licenses.contains_key(&grant.code) {
            return Err(IssueError::Duplicate(grant.code));
        }
        let license = License {
            grant: grant.clone(),
            released: false,
            activation: None,
            heartbeats: Vec::new(),
            usage_reports: Vec::new(),
        };
        licenses.insert(grant.code, license);
        Ok(())
    }

    /// Issues a fresh, received code for a line of an order in the book (the first line when
    /// `order_line_id` is `None`), taking product, expiry, amount and order time from it, and
    /// returns the code. The code format is not published; docs show `PLXXXXXX`, so codes are `PL`
    /// and 16 random letters and digits [INFERRED].
    pub fn issue_license_for_order(
        &self,
        order_id: &str,
        order_line_id: Option<&str>,
    ) -> Result<String, IssueError> {
        let order = self
            .orders
            .get(order_id)
            .ok_or_else(|| IssueError::UnknownOrder(order_id.to_owned()))?;
        let lines = order.get("orderLine").and_then(Value::as_array);
        let line = lines
            .and_then(|lines| {
                lines.iter().find(|line| {
                    order_line_id.is_none_or(|id| line["orderLineId"].as_str() == Some(id))
                })
            })
            .ok_or_else(|| IssueError::UnknownLine(order_id.to_owned()))?;
        let code = format!("PL{}", Alphanumeric.sample_string(&mut rand::rng(), 16)).to_uppercase();
        let time = |value: &Value| koogate_protocol::time::parse_compact(value.as_str()?).ok();
        let grant = LicenseGrant {
            code: code.clone(),
            order_id: Some(order_id.to_owned()),
            order_line_id: line["orderLineId"].as_str().map(str::to_owned),
            product_id: line["productInfo"][0]["productId"]
                .as_str()
                .map(str::to_owned),
            order_time: time(&order["createTime"]),
            expire_time: time(&line["expireTime"]),
            amount: line["productInfo"][0]["linearValue"].as_i64(),
            received: true,
        };
        self.issue_license(grant)?;
        Ok(code)
    }

    /// The buyer receives (or, for a test, un-receives) a code; `false` if it is unknown.
    pub fn set_license_received(&self, code: &str, received: bool) -> bool {
        self.licenses
            .update(code, |license| {
                license.grant.received = received;
                Ok(())
            })
            .is_ok()
    }

    /// KooGallery releases a code; `false` if it is unknown.
    pub fn release_license(&self, code: &str) -> bool {
        self.licenses
            .update(code, |license| {
                license.released = true;
                Ok(())
            })
            .is_ok()
    }

    /// Every code, sorted.
    pub fn licenses(&self) -> Vec<License> {
        lock(&self.licenses.0).values().cloned().collect()
    }

    pub fn license(&self, code: &str) -> Option<License> {
        lock(&self.licenses.0).get(code).cloned()
    }
}
