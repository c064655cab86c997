//! What the two usage pushes share: the accepted records, the `metering_sn` ledger, the on-demand
//! instances records are checked against, and the asynchronous check that turns bad records into
//! the seller center's 话单 anomalies (spec saas-v2 §7.2: "Records are validated asynchronously;
//! anomalies in 卖家中心 > 交易管理 > 话单管理").
//!
//! A push answers as soon as its records are stored; a tokio task then checks them against the
//! instance registry and appends anomalies. [`OpenApiState::settle_usage`] waits for every such
//! task, so tests never sleep.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use chrono::{DateTime, Utc};
use koogate_protocol::messages::usage::MAX_USAGE_RECORDS;
use koogate_protocol::result_code::UsageRecordCode;
use koogate_protocol::wire::UsageValue;
use serde::Serialize;
use tokio::sync::watch;

use super::{OpenApiState, lock};
use crate::orders::ChargingMode;

/// Which of the two push APIs a record came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageApi {
    /// `…/global/v1/isv/usage-data` (saas-v2 §7.2), with `metering_sn` and a body signature.
    New,
    /// `…/rest/marketplace/v1/isv/usage-data` (saas-v2 §7.3), with `product_id`.
    Old,
}

/// One usage record a push accepted, whichever API it came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRecord {
    pub api: UsageApi,
    /// The AK the push was signed with: the merchant, as far as the simulator can tell.
    pub access_key: String,
    pub instance_id: String,
    /// Old API only.
    pub product_id: Option<String>,
    /// New API only.
    pub metering_sn: Option<String>,
    pub record_time: DateTime<Utc>,
    pub begin_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub usage_value: UsageValue,
    pub relate_pkg_instance: Option<String>,
}

impl UsageRecord {
    /// The new API's key is `metering_sn`, the merchant's idempotency key (saas-v2 §7.2). The old
    /// API has none, so a record for the same instance, product and window is the duplicate
    /// (`010` "duplicate record", license-kit §6.4) [INFERRED].
    fn dedup_key(&self) -> String {
        match &self.metering_sn {
            Some(sn) => format!("sn:{sn}"),
            None => format!(
                "window:{}|{}|{}|{}",
                self.instance_id,
                self.product_id.as_deref().unwrap_or_default(),
                self.begin_time.timestamp(),
                self.end_time.timestamp()
            ),
        }
    }
}

/// A record the asynchronous check rejected: one line of the seller center's 话单 anomalies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageAnomaly {
    pub record: UsageRecord,
    pub code: UsageRecordCode,
    pub reason: String,
}

/// Whether an instance may still be billed (saas-v2 §3.4: instances are frozen and released).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    Active,
    Frozen,
    Released,
}

/// An instance the usage check knows: the vendor created it with newInstance (saas-v2 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageInstance {
    pub instance_id: String,
    /// The AK of the merchant owning it; `None` accepts any caller.
    pub owner: Option<String>,
    pub charging_mode: ChargingMode,
    pub status: InstanceStatus,
}

impl UsageInstance {
    /// An active on-demand instance any caller may bill.
    pub fn on_demand(instance_id: &str) -> Self {
        Self {
            instance_id: instance_id.to_owned(),
            owner: None,
            charging_mode: ChargingMode::OnDemand,
            status: InstanceStatus::Active,
        }
    }

    pub fn owner(mut self, access_key: &str) -> Self {
        self.owner = Some(access_key.to_owned());
        self
    }

    pub fn charging_mode(mut self, mode: ChargingMode) -> Self {
        self.charging_mode = mode;
        self
    }

    pub fn status(mut self, status: InstanceStatus) -> Self {
        self.status = status;
        self
    }
}

/// Records and the keys already taken, under one lock so that two concurrent pushes of the same
/// `metering_sn` cannot both be accepted.
#[derive(Debug, Default)]
struct Ledger {
    records: Vec<UsageRecord>,
    taken: HashSet<(String, String)>,
}

#[derive(Debug)]
pub(super) struct UsageStore {
    ledger: Mutex<Ledger>,
    anomalies: Mutex<Vec<UsageAnomaly>>,
    instances: RwLock<HashMap<String, UsageInstance>>,
    /// Checks spawned and not finished yet.
    pending: watch::Sender<usize>,
    /// Records per push; more answers `MKT.9003` (see [`OpenApiState::set_max_usage_records`]).
    max_records: AtomicUsize,
}

impl Default for UsageStore {
    fn default() -> Self {
        Self {
            ledger: Mutex::default(),
            anomalies: Mutex::default(),
            instances: RwLock::default(),
            pending: watch::channel(0).0,
            max_records: AtomicUsize::new(MAX_USAGE_RECORDS),
        }
    }
}

impl UsageStore {
    pub(super) fn max_records(&self) -> usize {
        self.max_records.load(Ordering::Relaxed)
    }

    /// Stores every record whose [`UsageRecord::dedup_key`] is new for its AK (the merchant:
    /// `metering_sn` is "merchant-unique", saas-v2 §7.2) and returns, per record, whether it was
    /// stored.
    pub(super) fn accept(&self, records: Vec<UsageRecord>) -> Vec<bool> {
        let mut ledger = lock(&self.ledger);
        let mut stored = Vec::with_capacity(records.len());
        for record in records {
            let key = (record.access_key.clone(), record.dedup_key());
            let fresh = ledger.taken.insert(key);
            if fresh {
                ledger.records.push(record);
            }
            stored.push(fresh);
        }
        stored
    }

    /// The business rules of the asynchronous check, in the order they are tried; the first that
    /// fails names the anomaly. Each uses a per-record code of license-kit §6.4: `011` invalid
    /// range (a window that has not ended yet [INFERRED]), `001` instance missing, `009`
    /// instance/ISV mismatch, `012` not on-demand, `013` instance status. `006` (product delisted),
    /// `007` (expired time) and `relate_pkg_instance` for packages are not checked: the spec gives
    /// no rule for them that the simulator could apply.
    fn check(&self, record: &UsageRecord, now: DateTime<Utc>) -> Option<(UsageRecordCode, String)> {
        if record.end_time > now {
            let why = "end_time is in the future: usage is reported for windows that are over";
            return Some((UsageRecordCode::InvalidTimeRange, why.into()));
        }
        let instances = self.instances.read().unwrap_or_else(|p| p.into_inner());
        let Some(instance) = instances.get(&record.instance_id) else {
            return Some((UsageRecordCode::InstanceNotFound, "no such instance".into()));
        };
        if instance
            .owner
            .as_ref()
            .is_some_and(|owner| *owner != record.access_key)
        {
            let why = "the instance belongs to another merchant";
            return Some((UsageRecordCode::InstanceMerchantMismatch, why.into()));
        }
        if !matches!(
            instance.charging_mode,
            ChargingMode::OnDemand | ChargingMode::OnDemandPkg
        ) {
            let why = format!(
                "the instance is {}, not on-demand",
                instance.charging_mode.as_str()
            );
            return Some((UsageRecordCode::NotOnDemand, why));
        }
        if instance.status != InstanceStatus::Active {
            let why = format!("the instance is {:?}", instance.status);
            return Some((UsageRecordCode::InvalidInstanceStatus, why));
        }
        None
    }
}

/// Counts a running check; dropping it (even on a panic) uncounts it, so
/// [`OpenApiState::settle_usage`] cannot hang.
struct PendingGuard(OpenApiState);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0
            .usage
            .pending
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl OpenApiState {
    /// Checks `records` on a tokio task, measuring "now" at the time of the push.
    pub(super) fn check_usage_later(&self, records: Vec<UsageRecord>, now: DateTime<Utc>) {
        if records.is_empty() {
            return;
        }
        self.usage.pending.send_modify(|n| *n += 1);
        let guard = PendingGuard(self.clone());
        tokio::spawn(async move {
            let store = &guard.0.usage;
            let found: Vec<UsageAnomaly> = records
                .into_iter()
                .filter_map(|record| {
                    let (code, reason) = store.check(&record, now)?;
                    Some(UsageAnomaly {
                        record,
                        code,
                        reason,
                    })
                })
                .collect();
            lock(&store.anomalies).extend(found);
        });
    }

    /// Every record a usage push accepted (new and old API), oldest first, including those the
    /// asynchronous check later rejected. A duplicate is stored once.
    pub fn usage_records(&self) -> Vec<UsageRecord> {
        lock(&self.usage.ledger).records.clone()
    }

    /// The records the asynchronous check rejected so far (call [`Self::settle_usage`] first to
    /// see all of them).
    pub fn usage_anomalies(&self) -> Vec<UsageAnomaly> {
        lock(&self.usage.anomalies).clone()
    }

    /// Waits until every asynchronous usage check spawned so far has finished.
    pub async fn settle_usage(&self) {
        let mut pending = self.usage.pending.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    /// The most records one push may carry: 1000 by default, as the current page says; one
    /// revision of the error table says 100 (spec saas-v2 §5), which this switches to.
    pub fn set_max_usage_records(&self, max: usize) {
        self.usage.max_records.store(max, Ordering::Relaxed);
    }

    /// Makes `instance` known to the usage check (replacing one with the same ID).
    pub fn register_instance(&self, instance: UsageInstance) {
        let mut instances = self
            .usage
            .instances
            .write()
            .unwrap_or_else(|p| p.into_inner());
        instances.insert(instance.instance_id.clone(), instance);
    }

    /// Freezes, releases or reactivates a registered instance; `false` if it is unknown.
    pub fn set_instance_status(&self, instance_id: &str, status: InstanceStatus) -> bool {
        let mut instances = self
            .usage
            .instances
            .write()
            .unwrap_or_else(|p| p.into_inner());
        instances
            .get_mut(instance_id)
            .map(|instance| instance.status = status)
            .is_some()
    }

    /// The registered instance with this ID.
    pub fn instance(&self, instance_id: &str) -> Option<UsageInstance> {
        let instances = self
            .usage
            .instances
            .read()
            .unwrap_or_else(|p| p.into_inner());
        instances.get(instance_id).cloned()
    }

    /// Every registered instance, in no particular order.
    pub fn instances(&self) -> Vec<UsageInstance> {
        let instances = self
            .usage
            .instances
            .read()
            .unwrap_or_else(|p| p.into_inner());
        instances.values().cloned().collect()
    }
}
