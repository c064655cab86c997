//! Nested records of the kit bodies: authSync users and allOrgSync departments.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::{Bounded, Scalar, open_enum, string_bool};

open_enum! {
    /// authSync `role`.
    pub enum UserRole {
        /// Ordinary user.
        User = "user",
        /// Grant admin rights in the vendor's app.
        Admin = "admin",
    }
}

/// One authSync `userList[]` entry. Field order follows the spec's example so a re-serialized
/// body keeps the received nested order (the kit signature does not sort nested keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KitUser {
    /// Login name, unique per tenant.
    pub user_name: Bounded<64>,
    /// Person's name.
    pub name: Bounded<64>,
    /// Department code.
    pub org_code: Bounded<64>,
    /// `user` or `admin`.
    pub role: UserRole,
    /// Sent as the string `"true"`/`"false"`.
    #[serde(with = "string_bool")]
    pub enable: bool,
    /// `1` full-time, `2` intern, `3` dispatched, `4` outsourced (integer; strings accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<Scalar>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_code: Option<String>,
    /// Only with the buyer's consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Bounded<32>>,
    /// Only with the buyer's consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Bounded<128>>,
    /// Work location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_place: Option<Bounded<256>>,
    /// Entry date (V1 example `2022-11-9`; format not fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_date: Option<Bounded<20>>,
    /// Anything else, including V1's `extension` object.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KitUser {
    /// True for `role` `admin`.
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

/// One allOrgSync `orgInfoList[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgInfo {
    /// Department code.
    pub org_code: Bounded<64>,
    /// Department name.
    pub org_name: Bounded<128>,
    /// Parent department; empty or absent for a top-level one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_code: Option<Bounded<64>>,
}

impl OrgInfo {
    /// The parent code, blank read as none.
    pub fn parent(&self) -> Option<&str> {
        self.parent_code.as_deref().filter(|p| !p.trim().is_empty())
    }
}
