//! Scheme-A request bodies (everything POSTed to the single production address), dispatched on
//! `activity`.
//!
//! Parsing rules: unknown extra fields are ignored (the docs add fields over time); `testFlag` is
//! read as `"1"`, `1`, `"0"`, `0`, `""` or absent; every other defect (malformed JSON, missing or
//! unknown activity, missing required field, over-long field, invalid enum or time) is a distinct
//! [`ParseError`] naming the field, and all of them answer `000002`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::{Fields, FromFields, ParseError, deserialize_via_fields, parse_object};
use super::instance::{
    ChangeInstanceCheck, NewInstance, QueryInstance, RefreshInstance, ReleaseInstance,
    UpdateInstanceStatus, UpgradeInstance,
};
use super::license_code::{
    GetLicenseAsync, RefreshLicenseCode, ReleaseLicenseCode, UpdateLicenseCodeStatus,
};
use crate::wire::{Bounded, TestFlag, closed_enum};

closed_enum! {
    /// Every `activity` the production address receives.
    pub enum Activity {
        /// 创建实例.
        NewInstance = "newInstance",
        /// 查询实例信息.
        QueryInstance = "queryInstance",
        /// 更新实例.
        RefreshInstance = "refreshInstance",
        /// 更新实例状态.
        UpdateInstanceStatus = "updateInstanceStatus",
        /// 释放实例.
        ReleaseInstance = "releaseInstance",
        /// 实例升级.
        UpgradeInstance = "upgradeInstance",
        /// 续费变更校验.
        ChangeInstanceCheck = "changeInstanceCheck",
        /// 异步申请License (online license).
        GetLicenseAsync = "getLicenseAsync",
        /// 订单通知 (any product type).
        OrderNotify = "orderNotify",
        /// 更新授权码有效期 (License 2.0).
        RefreshLicenseCode = "refreshLicenseCode",
        /// 变更授权码状态 (License 2.0).
        UpdateLicenseCodeStatus = "updateLicenseCodeStatus",
        /// 释放授权码 (License 2.0).
        ReleaseLicenseCode = "releaseLicenseCode",
    }
}

/// Which seller-center key category an activity belongs to (one access key per category,
/// never shared between categories). KooGallery signs a call, and the vendor signs its answer,
/// with the key of the call's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCategory {
    /// 基础接口: the instance activities and `getLicenseAsync`.
    Basic,
    /// License授权码交付接口: the license-code activities.
    LicenseCode,
    /// 通用接口: `orderNotify`.
    Notify,
}

impl Activity {
    /// The key category of this activity.
    pub fn key_category(self) -> KeyCategory {
        match self {
            Self::RefreshLicenseCode | Self::UpdateLicenseCodeStatus | Self::ReleaseLicenseCode => {
                KeyCategory::LicenseCode
            }
            Self::OrderNotify => KeyCategory::Notify,
            _ => KeyCategory::Basic,
        }
    }
}

impl KeyCategory {
    /// The category of a body's activity, if it names one; bodies without one clear activity
    /// fall under the basic interfaces, so a refusal of them is still signed.
    pub fn of_activity(activity: Option<Activity>) -> Self {
        activity.map_or(Self::Basic, Activity::key_category)
    }
}

/// `orderNotify`: an order was paid; details come from the order query. `testFlag` is marked
/// mandatory in its table but read leniently like everywhere else.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNotify {
    /// Order id.
    pub order_id: Bounded<64>,
    /// Order line id.
    pub order_line_id: Bounded<64>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl FromFields for OrderNotify {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            order_id: f.required_nonempty("orderId")?,
            order_line_id: f.required_nonempty("orderLineId")?,
            test_flag: f.test_flag()?,
        })
    }
}

deserialize_via_fields!(OrderNotify);

/// One parsed scheme-A request. Serializes back to the documented body shape (`activity` first,
/// then the fields in alphabetical order), which is what the simulator signs and sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "activity", rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum ProduceRequest {
    NewInstance(NewInstance),
    QueryInstance(QueryInstance),
    RefreshInstance(RefreshInstance),
    UpdateInstanceStatus(UpdateInstanceStatus),
    ReleaseInstance(ReleaseInstance),
    UpgradeInstance(UpgradeInstance),
    ChangeInstanceCheck(ChangeInstanceCheck),
    GetLicenseAsync(GetLicenseAsync),
    OrderNotify(OrderNotify),
    RefreshLicenseCode(RefreshLicenseCode),
    UpdateLicenseCodeStatus(UpdateLicenseCodeStatus),
    ReleaseLicenseCode(ReleaseLicenseCode),
}

impl ProduceRequest {
    /// Parses a raw body; see the module docs for the rules.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        parse_produce_request(body)
    }

    /// Which activity this is.
    pub fn activity(&self) -> Activity {
        match self {
            Self::NewInstance(_) => Activity::NewInstance,
            Self::QueryInstance(_) => Activity::QueryInstance,
            Self::RefreshInstance(_) => Activity::RefreshInstance,
            Self::UpdateInstanceStatus(_) => Activity::UpdateInstanceStatus,
            Self::ReleaseInstance(_) => Activity::ReleaseInstance,
            Self::UpgradeInstance(_) => Activity::UpgradeInstance,
            Self::ChangeInstanceCheck(_) => Activity::ChangeInstanceCheck,
            Self::GetLicenseAsync(_) => Activity::GetLicenseAsync,
            Self::OrderNotify(_) => Activity::OrderNotify,
            Self::RefreshLicenseCode(_) => Activity::RefreshLicenseCode,
            Self::UpdateLicenseCodeStatus(_) => Activity::UpdateLicenseCodeStatus,
            Self::ReleaseLicenseCode(_) => Activity::ReleaseLicenseCode,
        }
    }

    /// `testFlag`, absent read as production.
    pub fn test_flag(&self) -> TestFlag {
        let flag = match self {
            Self::NewInstance(r) => r.test_flag,
            Self::QueryInstance(r) => r.test_flag,
            Self::RefreshInstance(r) => r.test_flag,
            Self::UpdateInstanceStatus(r) => r.test_flag,
            Self::ReleaseInstance(r) => r.test_flag,
            Self::UpgradeInstance(r) => r.test_flag,
            Self::ChangeInstanceCheck(r) => r.test_flag,
            Self::GetLicenseAsync(r) => r.test_flag,
            Self::OrderNotify(r) => r.test_flag,
            Self::RefreshLicenseCode(r) => r.test_flag,
            Self::UpdateLicenseCodeStatus(r) => r.test_flag,
            Self::ReleaseLicenseCode(r) => r.test_flag,
        };
        flag.unwrap_or_default()
    }

    /// True for seller-center debug and dial-test requests.
    pub fn is_debug(&self) -> bool {
        self.test_flag().is_debug()
    }

    /// Compact UTF-8 JSON, the form the marketplace sends and signs.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Parses a scheme-A body. Call only after the signature over the same bytes has verified,
/// with the key of [`activity_of`] the same bytes: both read `activity` the same strict way, so
/// the activity that chose the key is the one executed.
pub fn parse_produce_request(body: &[u8]) -> Result<ProduceRequest, ParseError> {
    let activity = activity_of(body)?;
    from_map(activity, &parse_object(body)?)
}

/// The activity a body names, read before its signature is checked because the activity
/// chooses the key (one key per category, spec saas-v2 §2.1). Strict where a lenient reading
/// would let one category's key pass a call of another: `activity` must appear once, as a
/// string spelling an activity exactly (no padding, no case folding). Everything else in the
/// body is skipped unparsed.
pub fn activity_of(body: &[u8]) -> Result<Activity, ParseError> {
    let name = match serde_json::from_slice::<ActivityField>(body) {
        Ok(ActivityField(Ok(Some(name)))) => name,
        Ok(ActivityField(Ok(None))) => return Err(ParseError::MissingActivity),
        Ok(ActivityField(Err(err))) => return Err(err),
        Err(e) if e.is_data() => return Err(ParseError::NotAnObject),
        Err(e) => return Err(ParseError::MalformedJson(e.to_string())),
    };
    name.parse()
        .map_err(|_| ParseError::UnknownActivity(name.clone()))
}

/// The top-level `activity` of an object, or why there is no single one.
struct ActivityField(Result<Option<String>, ParseError>);

impl<'de> serde::Deserialize<'de> for ActivityField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ActivityVisitor)
    }
}

struct ActivityVisitor;

impl<'de> serde::de::Visitor<'de> for ActivityVisitor {
    type Value = ActivityField;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::IgnoredAny;
        let mut seen = 0_u32;
        let mut name = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "activity" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            seen += 1;
            if let Value::String(value) = map.next_value::<Value>()? {
                name = name.or(Some(value));
            }
        }
        let found = match (seen, name) {
            (0, _) => Ok(None),
            (1, Some(name)) if !name.is_empty() => Ok(Some(name)),
            (1, _) => Err(ParseError::MissingActivity),
            _ => Err(ParseError::DuplicateActivity),
        };
        Ok(ActivityField(found))
    }
}

fn from_map(activity: Activity, map: &Map<String, Value>) -> Result<ProduceRequest, ParseError> {
    let f = Fields::new(map);
    Ok(match activity {
        Activity::NewInstance => ProduceRequest::NewInstance(FromFields::from_fields(&f)?),
        Activity::QueryInstance => ProduceRequest::QueryInstance(FromFields::from_fields(&f)?),
        Activity::RefreshInstance => ProduceRequest::RefreshInstance(FromFields::from_fields(&f)?),
        Activity::UpdateInstanceStatus => {
            ProduceRequest::UpdateInstanceStatus(FromFields::from_fields(&f)?)
        }
        Activity::ReleaseInstance => ProduceRequest::ReleaseInstance(FromFields::from_fields(&f)?),
        Activity::UpgradeInstance => ProduceRequest::UpgradeInstance(FromFields::from_fields(&f)?),
        Activity::ChangeInstanceCheck => {
            ProduceRequest::ChangeInstanceCheck(FromFields::from_fields(&f)?)
        }
        Activity::GetLicenseAsync => ProduceRequest::GetLicenseAsync(FromFields::from_fields(&f)?),
        Activity::OrderNotify => ProduceRequest::OrderNotify(FromFields::from_fields(&f)?),
        Activity::RefreshLicenseCode => {
            ProduceRequest::RefreshLicenseCode(FromFields::from_fields(&f)?)
        }
        Activity::UpdateLicenseCodeStatus => {
            ProduceRequest::UpdateLicenseCodeStatus(FromFields::from_fields(&f)?)
        }
        Activity::ReleaseLicenseCode => {
            ProduceRequest::ReleaseLicenseCode(FromFields::from_fields(&f)?)
        }
    })
}

impl<'de> serde::Deserialize<'de> for ProduceRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::deserialize(d)?;
        let activity = match map.get("activity") {
            Some(Value::String(name)) => name
                .parse()
                .map_err(|_| ParseError::UnknownActivity(name.clone())),
            _ => Err(ParseError::MissingActivity),
        };
        activity
            .and_then(|activity| from_map(activity, &map))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
