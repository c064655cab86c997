//! `newInstance` (thin and legacy rich bodies) and `queryInstance` (saas-v2 §3.1–3.2).

use serde::Serialize;

use crate::messages::fields::{Fields, FromFields, ParseError, deserialize_via_fields, missing};
use crate::messages::legacy::LegacyOrderInfo;
use crate::messages::order::BuyerInfo;
use crate::wire::{Bounded, TestFlag, utf16_len};

/// `newInstance`. The current body is thin (`orderId`, `orderLineId`, `businessId`); the legacy
/// rich body carries `buyerInfo` and `orderInfo[]` instead, so top-level ids are mandatory only
/// when `orderInfo` is absent. Use the accessors, which fall back to `orderInfo[0]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewInstance {
    /// Different on every request, retries included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_id: Option<Bounded<64>>,
    /// Legacy rich body only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_info: Option<BuyerInfo>,
    /// Marketplace order id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Bounded<64>>,
    /// Legacy rich body only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_info: Option<Vec<LegacyOrderInfo>>,
    /// Order line id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_line_id: Option<Bounded<64>>,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl NewInstance {
    /// A current (thin) body.
    pub fn new(
        order_id: Bounded<64>,
        order_line_id: Bounded<64>,
        business_id: Bounded<64>,
    ) -> Self {
        Self {
            business_id: Some(business_id),
            order_id: Some(order_id),
            order_line_id: Some(order_line_id),
            ..Self::default()
        }
    }

    fn first_order(&self) -> Option<&LegacyOrderInfo> {
        self.order_info.as_ref().and_then(|o| o.first())
    }

    /// True for the legacy rich body.
    pub fn is_legacy(&self) -> bool {
        self.first_order().is_some()
    }

    /// `orderId`, from the top level or `orderInfo[0]`. Always present after parsing.
    pub fn order_id(&self) -> Option<&str> {
        self.order_id
            .as_deref()
            .or_else(|| self.first_order().map(|o| o.order_id.as_str()))
    }

    /// `orderLineId`; the legacy body has none.
    pub fn order_line_id(&self) -> Option<&str> {
        self.order_line_id.as_deref()
    }

    /// `businessId`, from the top level or `orderInfo[0]`.
    pub fn business_id(&self) -> Option<&str> {
        self.business_id
            .as_deref()
            .or_else(|| self.first_order().and_then(|o| o.business_id.as_deref()))
    }
}

impl FromFields for NewInstance {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let order_info: Option<Vec<LegacyOrderInfo>> = f.nested("orderInfo")?;
        let legacy = order_info.as_ref().is_some_and(|o| !o.is_empty());
        let id = |name| {
            if legacy {
                f.optional(name)
            } else {
                f.required_nonempty(name).map(Some)
            }
        };
        Ok(Self {
            business_id: id("businessId")?,
            buyer_info: f.nested("buyerInfo")?,
            order_id: id("orderId")?,
            order_info,
            order_line_id: id("orderLineId")?,
            test_flag: f.test_flag()?,
        })
    }
}

/// `queryInstance`: one or more comma-separated instance ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryInstance {
    /// Comma-separated ids as received; see [`QueryInstance::ids`].
    pub instance_id: String,
    /// Debug flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_flag: Option<TestFlag>,
}

impl QueryInstance {
    /// At most this many ids per call.
    pub const MAX_IDS: usize = 100;
    /// Each id is an instanceId (`String(64)` everywhere else).
    pub const MAX_ID_LEN: usize = 64;

    /// A query for these ids.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> Self {
        let ids: Vec<String> = ids.into_iter().map(|s| s.as_ref().to_owned()).collect();
        Self {
            instance_id: ids.join(","),
            test_flag: None,
        }
    }

    /// The ids, trimmed, blanks skipped, in request order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.instance_id
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

impl FromFields for QueryInstance {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let field = "instanceId";
        let query = Self {
            instance_id: f.text(field)?.unwrap_or_default(),
            test_flag: f.test_flag()?,
        };
        let count = query.ids().count();
        if count == 0 {
            return Err(missing(field));
        }
        if count > Self::MAX_IDS {
            return Err(ParseError::TooMany {
                field: field.into(),
                count,
                max: Self::MAX_IDS,
            });
        }
        if let Some(len) = query
            .ids()
            .map(utf16_len)
            .find(|len| *len > Self::MAX_ID_LEN)
        {
            return Err(ParseError::TooLong {
                field: field.into(),
                len,
                max: Self::MAX_ID_LEN,
            });
        }
        Ok(query)
    }
}

deserialize_via_fields!(NewInstance, QueryInstance);
