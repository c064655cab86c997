//! 联营 kit V2 bodies (license-kit §4.4–4.8), POSTed to `{base}/produceAPI/v2/{operation}`.
//!
//! The path names the operation (there is no `activity`). `flag`/`testFlag` are JSON integers
//! here and read leniently from strings; `userList`/`orgInfoList` may be arrays or strings holding
//! one; an extra `flag` on allOrgSync is ignored. `instanceId`/`orderId` are mandatory but may be
//! empty (the 应用凭证 case). On delete (`flag` 0) the descriptive fields may be absent.
//! Field order follows the spec's examples, so re-serialized bodies match them.

use serde::Serialize;

use super::fields::{
    Fields, FromFields, ParseError, deserialize_via_fields, missing, parse_object,
};
use super::kit_user::{KitUser, OrgInfo};
use crate::time::KitTime;
use crate::wire::{AuthSyncFlag, Bounded, SyncFlag, TestFlag, closed_enum};

closed_enum! {
    /// The five kit operations, by their path segment.
    pub enum KitOperation {
        /// 企业同步.
        TenantSync = "tenantSync",
        /// 应用同步.
        ApplicationSync = "applicationSync",
        /// 用户授权同步.
        AuthSync = "authSync",
        /// 部门增量同步.
        SingleOrgSync = "singleOrgSync",
        /// 部门全量同步.
        AllOrgSync = "allOrgSync",
    }
}

impl KitOperation {
    /// The fixed sub-path the marketplace appends to the production address.
    pub fn path(self) -> String {
        format!("/produceAPI/v2/{}", self.as_str())
    }

    /// The operation a request path ends with (`…/produceAPI/v2/tenantSync`).
    pub fn from_path(path: &str) -> Option<Self> {
        let rest = path.trim_end_matches('/').rsplit_once("/produceAPI/v2/")?.1;
        rest.parse().ok()
    }
}

fn descriptive<const N: usize>(
    f: &Fields<'_>,
    name: &str,
    deleting: bool,
) -> Result<Bounded<N>, ParseError> {
    if deleting {
        f.optional(name).map(Option::unwrap_or_default)
    } else {
        f.required(name)
    }
}

fn test_flag(f: &Fields<'_>) -> Result<TestFlag, ParseError> {
    Ok(f.test_flag()?.unwrap_or_default())
}

/// tenantSync: a buyer enterprise bound (or edited/removed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TenantSync {
    pub instance_id: Bounded<64>,
    pub order_id: Bounded<64>,
    pub tenant_id: Bounded<64>,
    /// Routes end users to the buyer's domain.
    pub tenant_code: Bounded<64>,
    pub name: Bounded<255>,
    /// IDaaS base URL for this tenant, with `https://`.
    pub domain_name: Bounded<255>,
    pub flag: SyncFlag,
    #[serde(serialize_with = "TestFlag::serialize_int")]
    pub test_flag: TestFlag,
    pub time_stamp: KitTime,
}

impl FromFields for TenantSync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let flag: SyncFlag = f.required_parsed("flag")?;
        let deleting = flag == SyncFlag::Delete;
        Ok(Self {
            instance_id: f.required("instanceId")?,
            order_id: f.required("orderId")?,
            tenant_id: f.required_nonempty("tenantId")?,
            tenant_code: descriptive(f, "tenantCode", deleting)?,
            name: descriptive(f, "name", deleting)?,
            domain_name: descriptive(f, "domainName", deleting)?,
            flag,
            test_flag: test_flag(f)?,
            time_stamp: f.required_parsed("timeStamp")?,
        })
    }
}

/// applicationSync: OAuth client credentials for (tenant, app). `clientSecret` is RSA-OAEP
/// ciphertext; decrypt it with [`crate::crypto::client_secret`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ApplicationSync {
    pub instance_id: Bounded<64>,
    pub tenant_id: Bounded<64>,
    pub app_id: Bounded<64>,
    pub client_id: Bounded<64>,
    pub client_secret: String,
    pub flag: SyncFlag,
    #[serde(serialize_with = "TestFlag::serialize_int")]
    pub test_flag: TestFlag,
    pub time_stamp: KitTime,
}

impl FromFields for ApplicationSync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let flag: SyncFlag = f.required_parsed("flag")?;
        let deleting = flag == SyncFlag::Delete;
        let client_secret = match f.text("clientSecret")? {
            Some(secret) => secret,
            None if deleting => String::new(),
            None => return Err(missing("clientSecret")),
        };
        Ok(Self {
            instance_id: f.required("instanceId")?,
            tenant_id: f.required_nonempty("tenantId")?,
            app_id: f.required_nonempty("appId")?,
            client_id: descriptive(f, "clientId", deleting)?,
            client_secret,
            flag,
            test_flag: test_flag(f)?,
            time_stamp: f.required_parsed("timeStamp")?,
        })
    }
}

/// authSync: users authorized, changed, removed or de-authorized.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AuthSync {
    pub instance_id: Bounded<64>,
    pub tenant_id: Bounded<64>,
    pub app_id: Bounded<64>,
    /// A JSON array in V2 (V1 sent a JSON string; both read).
    pub user_list: Vec<KitUser>,
    pub current_sync_time: KitTime,
    pub flag: AuthSyncFlag,
    #[serde(serialize_with = "TestFlag::serialize_int")]
    pub test_flag: TestFlag,
    pub time_stamp: KitTime,
}

impl FromFields for AuthSync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required("instanceId")?,
            tenant_id: f.required_nonempty("tenantId")?,
            app_id: f.required_nonempty("appId")?,
            user_list: f
                .list_or_string("userList")?
                .ok_or_else(|| missing("userList"))?,
            current_sync_time: f.required_parsed("currentSyncTime")?,
            flag: f.required_parsed("flag")?,
            test_flag: test_flag(f)?,
            time_stamp: f.required_parsed("timeStamp")?,
        })
    }
}

/// singleOrgSync: one department added, changed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct SingleOrgSync {
    pub instance_id: Bounded<64>,
    pub tenant_id: Bounded<64>,
    pub org_code: Bounded<64>,
    pub org_name: Bounded<128>,
    /// Empty or absent for a top-level department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_code: Option<Bounded<64>>,
    pub flag: SyncFlag,
    #[serde(serialize_with = "TestFlag::serialize_int")]
    pub test_flag: TestFlag,
    pub time_stamp: KitTime,
}

impl FromFields for SingleOrgSync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        let flag: SyncFlag = f.required_parsed("flag")?;
        Ok(Self {
            instance_id: f.required("instanceId")?,
            tenant_id: f.required_nonempty("tenantId")?,
            org_code: f.required_nonempty("orgCode")?,
            org_name: descriptive(f, "orgName", flag == SyncFlag::Delete)?,
            parent_code: f.optional("parentCode")?,
            flag,
            test_flag: test_flag(f)?,
            time_stamp: f.required_parsed("timeStamp")?,
        })
    }
}

/// allOrgSync: the whole department tree, replacing the stored one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AllOrgSync {
    pub instance_id: Bounded<64>,
    pub tenant_id: Bounded<64>,
    /// A JSON array, or a string holding one (the doc example).
    pub org_info_list: Vec<OrgInfo>,
    #[serde(serialize_with = "TestFlag::serialize_int")]
    pub test_flag: TestFlag,
    pub time_stamp: KitTime,
}

impl FromFields for AllOrgSync {
    fn from_fields(f: &Fields<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            instance_id: f.required("instanceId")?,
            tenant_id: f.required_nonempty("tenantId")?,
            org_info_list: f
                .list_or_string("orgInfoList")?
                .ok_or_else(|| missing("orgInfoList"))?,
            test_flag: test_flag(f)?,
            time_stamp: f.required_parsed("timeStamp")?,
        })
    }
}

deserialize_via_fields!(
    TenantSync,
    ApplicationSync,
    AuthSync,
    SingleOrgSync,
    AllOrgSync
);

/// One parsed kit body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum KitRequest {
    TenantSync(TenantSync),
    ApplicationSync(ApplicationSync),
    AuthSync(AuthSync),
    SingleOrgSync(SingleOrgSync),
    AllOrgSync(AllOrgSync),
}

impl KitRequest {
    /// The operation.
    pub fn operation(&self) -> KitOperation {
        match self {
            Self::TenantSync(_) => KitOperation::TenantSync,
            Self::ApplicationSync(_) => KitOperation::ApplicationSync,
            Self::AuthSync(_) => KitOperation::AuthSync,
            Self::SingleOrgSync(_) => KitOperation::SingleOrgSync,
            Self::AllOrgSync(_) => KitOperation::AllOrgSync,
        }
    }

    /// `testFlag`.
    pub fn test_flag(&self) -> TestFlag {
        match self {
            Self::TenantSync(r) => r.test_flag,
            Self::ApplicationSync(r) => r.test_flag,
            Self::AuthSync(r) => r.test_flag,
            Self::SingleOrgSync(r) => r.test_flag,
            Self::AllOrgSync(r) => r.test_flag,
        }
    }

    /// Compact UTF-8 JSON in the documented field order.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Parses a kit body for the operation its path names. Unknown fields are ignored.
pub fn parse_kit_request(operation: KitOperation, body: &[u8]) -> Result<KitRequest, ParseError> {
    let map = parse_object(body)?;
    let f = Fields::new(&map);
    Ok(match operation {
        KitOperation::TenantSync => KitRequest::TenantSync(FromFields::from_fields(&f)?),
        KitOperation::ApplicationSync => KitRequest::ApplicationSync(FromFields::from_fields(&f)?),
        KitOperation::AuthSync => KitRequest::AuthSync(FromFields::from_fields(&f)?),
        KitOperation::SingleOrgSync => KitRequest::SingleOrgSync(FromFields::from_fields(&f)?),
        KitOperation::AllOrgSync => KitRequest::AllOrgSync(FromFields::from_fields(&f)?),
    })
}

mod response;
pub use response::KitResponse;

#[cfg(test)]
mod tests;
