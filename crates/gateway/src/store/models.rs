//! Plain records as stored. Domain rules live in `domain/`; these types only carry data.

use chrono::{DateTime, Utc};
use koogate_protocol::messages::instance::StatusChange;
use koogate_protocol::messages::license_api::LicenseStatus;
use koogate_protocol::messages::order::ChargingMode;
use serde::{Deserialize, Serialize};

/// Lifecycle state of an instance. Transitions are decided in `domain::lifecycle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Created; the vendor system has not reported it ready yet.
    Provisioning,
    Active,
    /// Expired, in arrears or suspended: data kept, use blocked.
    Frozen,
    /// Released by KooGallery: terminal.
    Released,
    /// The vendor system gave up provisioning: terminal until an operator intervenes.
    Failed,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Frozen => "frozen",
            Self::Released => "released",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "frozen" => Self::Frozen,
            "released" => Self::Released,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One purchased instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub instance_id: String,
    /// Unique per purchase: `line:{orderId}:{orderLineId}`, or `od:{orderId}:{productId}` for
    /// on-demand orders, whose lines share one instance per metered product (spec saas-v2 §3.1).
    pub idem_key: String,
    pub order_id: String,
    pub order_line_id: String,
    pub product_id: Option<String>,
    pub sku_code: Option<String>,
    /// As KooGallery reports it; a mode this version does not name is kept verbatim.
    pub charging_mode: ChargingMode,
    pub status: InstanceStatus,
    pub trial: bool,
    pub expire_time: Option<DateTime<Utc>>,
    /// The app info (JSON) sealed with the master key (`secret_box`); `None` until ready.
    pub app_info_sealed: Option<Vec<u8>>,
    pub test_flag: bool,
    /// Optimistic-concurrency counter: every update must name the version it read.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the instance was released; `None` until then. Set once by the write that releases
    /// it: later writes of the row keep the first value (see [`InstanceWrite::Update`]).
    pub released_at: Option<DateTime<Utc>>,
}

/// An order as fetched from KooGallery's order-query API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: String,
    pub order_line_id: String,
    /// `NEW`, `RENEW`, `CHANGE`, ...
    pub order_type: String,
    /// The order-query response body, verbatim.
    pub raw: String,
    pub fetched_at: DateTime<Utc>,
}

/// A response stored under an idempotency key, replayed byte for byte on repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub key: String,
    pub body: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// An instance change inside a [`Commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceWrite {
    /// Insert; fails with [`CommitOutcome::InstanceExists`] when `idem_key` is taken.
    Insert(Instance),
    /// Replace every mutable column, only if the stored version is `expected_version`; the stored
    /// version becomes `expected_version + 1`. Fails with [`CommitOutcome::StaleInstance`].
    /// `released_at` is the exception: once stored it never changes, so no later write can move
    /// the moment after which usage is refused.
    Update {
        instance: Instance,
        expected_version: i64,
    },
}

/// An event to enqueue for the vendor's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Stable id sent as `webhook-id` (receivers deduplicate on it).
    pub event_id: String,
    /// `instance.provision`, `instance.renewed`, ...
    pub event_type: String,
    /// Events with the same key are delivered one at a time, in insertion order (the instance id).
    pub ordering_key: String,
    /// The JSON body to deliver.
    pub payload: String,
}

/// One atomic unit of work. Applied in this order inside one transaction: claim `response_key`,
/// write the instance, upsert the order, write the license code, enqueue events, complete
/// `complete_event`, replace `replace_responses`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// Idempotency key and the response to store under it. When the key already exists nothing
    /// is applied and the earlier response comes back as [`CommitOutcome::Replayed`].
    pub response: Option<(String, Vec<u8>)>,
    pub instance: Option<InstanceWrite>,
    pub order: Option<OrderRecord>,
    pub events: Vec<NewEvent>,
    /// A claimed outbox event whose delivery this commit concludes (e.g. a provision hook that
    /// answered with app info), so the event and its effect cannot be separated by a crash.
    pub complete_event: Option<i64>,
    /// Responses stored over whatever is under their keys (inserted when absent), applied only
    /// when the rest of the commit is: a vendor's late refusal replaces the `000004` a
    /// newInstance call was answered, so KooGallery's retries see the refusal.
    pub replace_responses: Vec<(String, Vec<u8>)>,
    /// A license-code change (refreshLicenseCode, updateLicenseCodeStatus, releaseLicenseCode),
    /// applied after the instance and order writes, so the code's row and the stored answer
    /// commit together.
    pub license_code: Option<LicenseCodeWrite>,
    pub now: DateTime<Utc>,
}

/// What [`super::Store::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// The response key existed: nothing applied; here is the earlier response.
    Replayed(StoredResponse),
    /// An `Insert` hit an existing `idem_key`: nothing applied; here is the existing instance.
    InstanceExists(Instance),
    /// An `Update` named a version that is no longer current: nothing applied; re-read and retry.
    StaleInstance,
}

/// A queued webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub ordering_key: String,
    pub payload: String,
    /// Attempts made before this claim (0 on the first delivery).
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Parked after exhausting retries; only a manual re-delivery revives it.
    pub dead: bool,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Undelivered, live events.
    pub depth: i64,
    /// Age in seconds of the oldest undelivered live event (0 when empty).
    pub oldest_age_secs: i64,
    pub dead: i64,
}

/// One usage report from the vendor's application (`POST /api/v1/usage`), already assigned to
/// its metering window by the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsageEvent {
    /// The vendor's idempotency key for this report.
    pub event_id: String,
    pub instance_id: String,
    /// Usage in ten-thousandths: the protocol allows four decimals, and integers sum exactly.
    pub value_e4: i64,
    pub occurred_at: DateTime<Utc>,
    /// The metering window `[window_start, window_end)` that contains `occurred_at`.
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// When the window stops taking reports (its end plus the grace period), whether or not
    /// it has been closed yet: KooGallery takes usage at most so late (license-kit §6.4).
    pub closes_at: DateTime<Utc>,
    /// The 用完即停 package instance the usage is deducted from (saas-v2 §7.2).
    pub relate_pkg_instance: Option<String>,
}

/// What [`super::Store::record_usage`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordUsageOutcome {
    Recorded,
    /// The `event_id` was recorded before. `same` tells whether the earlier report had the same
    /// instance, value, time and package (a harmless retry) or not (a conflicting reuse).
    Duplicate {
        same: bool,
    },
    /// The event's window was already closed (its total computed for pushing), or its closing
    /// time has passed; nothing stored.
    WindowClosed,
}

/// Usage events of one instance, window and package that no closed window holds yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageGroup {
    pub instance_id: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub relate_pkg_instance: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageWindowStatus {
    /// Closed, waiting to be pushed (or to be pushed again).
    Pending,
    /// KooGallery accepted it (or already had its `metering_sn`).
    Pushed,
    /// KooGallery refused it for good; `result_code` says why.
    Rejected,
}

impl UsageWindowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Pushed => "pushed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "pushed" => Self::Pushed,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

/// A closed metering window: the total usage of one instance (and package) over
/// `[window_start, window_end)`, pushed to KooGallery as one usage record under `metering_sn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageWindow {
    pub id: i64,
    pub instance_id: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub relate_pkg_instance: Option<String>,
    pub value_e4: i64,
    /// Random, chosen when the window closed and kept across retries: KooGallery deduplicates
    /// on it, so a push repeated after a lost answer is not billed twice.
    pub metering_sn: String,
    pub status: UsageWindowStatus,
    /// Push attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The per-record or request code KooGallery answered with (e.g. `005`, `MKT.9001`).
    pub result_code: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    pub pushed_at: Option<DateTime<Utc>>,
    /// Refused once inside a batch without KooGallery naming the culprit: from then on it is
    /// pushed on its own, so a bad record cannot hold back the others.
    pub push_alone: bool,
}

/// How one push attempt ended for one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageSettlement {
    /// Accepted; `result_code` is set when KooGallery named it a duplicate (`005`).
    Pushed {
        id: i64,
        result_code: Option<String>,
    },
    Rejected {
        id: i64,
        result_code: String,
        message: String,
    },
    /// Try again at `next_attempt_at`; counts an attempt. `push_alone` marks the window to be
    /// pushed on its own from now on (a mark once set stays).
    Retry {
        id: i64,
        error: String,
        next_attempt_at: DateTime<Utc>,
        push_alone: bool,
    },
}

/// Cumulative usage of an instance, for `queryInstance`'s `usageInfo` (saas-v2 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTotal {
    pub instance_id: String,
    /// Sum of every recorded event, closed window or not.
    pub value_e4: i64,
    /// The newest `occurred_at` among them.
    pub last_occurred_at: DateTime<Utc>,
}

/// Usage deducted from an on-demand package by one on-demand instance (reports naming the
/// package in `relatePkgInstance`), for `queryInstance`'s per-instance package entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageUsage {
    pub package_id: String,
    /// The on-demand instance the usage was reported for (`relatedInstanceId`).
    pub related_instance_id: String,
    pub value_e4: i64,
}

/// What a 联营 Kit record describes (license-kit §4.4–4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KitKind {
    Tenant,
    App,
    User,
    Org,
}

impl KitKind {
    /// The kind a plural path segment names (`tenants`, `apps`, `users`, `orgs`).
    pub fn from_plural(text: &str) -> Option<Self> {
        match text {
            "tenants" => Some(Self::Tenant),
            "apps" => Some(Self::App),
            "users" => Some(Self::User),
            "orgs" => Some(Self::Org),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::App => "app",
            Self::User => "user",
            Self::Org => "org",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "tenant" => Self::Tenant,
            "app" => Self::App,
            "user" => Self::User,
            "org" => Self::Org,
            _ => return None,
        })
    }
}

/// Where a Kit record sits. Unused parts are empty strings: a tenant has no `app_id` or
/// `item`, an app no `item`, a department no `app_id`; `instance_id` is empty for records the
/// seller's 应用凭证 set-up synced without an order (license-kit §4.4).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KitKey {
    pub kind: KitKind,
    pub instance_id: String,
    pub tenant_id: String,
    pub app_id: String,
    /// `userName` for users, `orgCode` for departments.
    pub item: String,
}

/// One change a Kit call asks for. Applying the same change twice changes nothing the second
/// time (license-kit §4.9: repeated adds create nothing, repeated deletes succeed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KitChange {
    /// Insert, or replace `data` (JSON) when it differs or the record was deleted.
    Upsert { key: KitKey, data: String },
    /// Mark deleted; a missing or already deleted record is no change.
    Delete { key: KitKey },
    /// Mark deleted every live record of `scope`'s kind, instance, tenant and app whose `item`
    /// is not in `keep` (allOrgSync replaces the whole tree). `scope.item` is ignored.
    DeleteOthers { scope: KitKey, keep: Vec<String> },
}

/// A Kit call's changes and the webhook event to send when any of them changed something; all
/// in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitWrite {
    pub changes: Vec<KitChange>,
    pub event: NewEvent,
}

/// A stored Kit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitRecord {
    pub key: KitKey,
    pub data: String,
    pub deleted: bool,
    pub updated_at: DateTime<Utc>,
}

/// One reconciliation finding to record for an instance (see `domain::reconcile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    /// `missed_expiry`, `missed_release`, ...
    pub kind: String,
    /// The finding's data, JSON.
    pub detail: String,
}

/// A stored reconciliation finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileFinding {
    pub instance_id: String,
    pub kind: String,
    pub detail: String,
    /// When it was first seen (or seen again after it had been resolved).
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When koogate applied the missed call itself (`reconcile_mode = heal`).
    pub healed_at: Option<DateTime<Utc>>,
    /// When it stopped being true (healed, or the two sides agree again).
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What koogate last heard from KooGallery about a license code (license-kit §2.2.4–2.2.5).
/// Transitions are decided in `domain::activities::license`; the store keeps the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseCodeStatus {
    /// In use: never frozen, or unfrozen since (`UNFREEZE`).
    Alive,
    /// `FREEZE`: expired past the grace period; data kept, use blocked.
    Frozen,
    /// `releaseLicenseCode`: terminal; no later status change applies.
    Released,
}

impl LicenseCodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alive => "alive",
            Self::Frozen => "frozen",
            Self::Released => "released",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "alive" => Self::Alive,
            "frozen" => Self::Frozen,
            "released" => Self::Released,
            _ => return None,
        })
    }

    /// The status updateLicenseCodeStatus asks for.
    pub fn from_change(change: StatusChange) -> Self {
        match change {
            StatusChange::Freeze => Self::Frozen,
            StatusChange::Unfreeze => Self::Alive,
        }
    }

    /// What the license query API (license-kit §2.3.2) would call it: a frozen code is one
    /// KooGallery reports `EXPIRED`.
    pub fn as_license_status(self) -> LicenseStatus {
        match self {
            Self::Alive => LicenseStatus::Alive,
            Self::Frozen => LicenseStatus::Expired,
            Self::Released => LicenseStatus::Released,
        }
    }
}

/// A license code's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseCode {
    pub code: String,
    /// The instance of the code's order line, when koogate has one (online-License and SaaS
    /// purchases; pure license-code products have none).
    pub instance_id: Option<String>,
    /// The last order KooGallery named for the code (a renewal's, or the unsubscription's).
    pub order_id: Option<String>,
    pub order_line_id: Option<String>,
    pub product_id: Option<String>,
    pub status: LicenseCodeStatus,
    pub expire_time: Option<DateTime<Utc>>,
    /// When the vendor's software activated it through koogate (the license service).
    pub activated_at: Option<DateTime<Utc>>,
    /// When KooGallery was last asked about it (activate or query).
    pub last_checked_at: Option<DateTime<Utc>>,
    /// KooGallery's last activate or query answer, JSON as received.
    pub last_answer: Option<String>,
    /// Counts the writes; status changes are keyed by it.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A license-code change inside a [`Commit`]. Each writes only its own columns (a concurrent
/// refresh and freeze both land) and creates the row when the code is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseCodeWrite {
    /// refreshLicenseCode: the new order and expiry; a new row is `alive`. `instance_id` and
    /// `product_id` keep their stored values when `None`.
    Refresh {
        code: String,
        instance_id: Option<String>,
        order_id: String,
        order_line_id: String,
        product_id: Option<String>,
        expire_time: DateTime<Utc>,
    },
    /// updateLicenseCodeStatus: `alive` or `frozen`. Never applied to a released code.
    Status {
        code: String,
        status: LicenseCodeStatus,
    },
    /// releaseLicenseCode: `released`, with the unsubscription's order when named.
    Release {
        code: String,
        order_id: Option<String>,
        order_line_id: Option<String>,
    },
}
