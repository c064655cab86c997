//! What became of each flow and each order the simulator placed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::retry::{CallKind, Exhausted};

/// The end of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub index: usize,
    pub note: String,
    pub activity: String,
    pub kind: Option<CallKind>,
    pub order_id: Option<String>,
    /// Scheduled attempts made (polls not counted).
    pub attempts: u32,
    pub ok: bool,
    /// The exchanges of this step, polls included.
    pub exchanges: Vec<u64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Set when the schedule ran out.
    pub exhausted: Option<Exhausted>,
    /// The seller-center message opened for this step, if any attempt failed.
    pub message: Option<u64>,
    /// The step was deliberately not sent (the `never=ACTIVITY` fault).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub never_sent: bool,
    /// `getLicenseAsync` only, when the engine looks for uploads: whether the license arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_upload: Option<LicenseUploadCheck>,
}

/// Whether the vendor uploaded the license after `getLicenseAsync` (license-kit §3.2: the
/// license "is delivered by the merchant calling the upload API with the `eventId`").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseUploadCheck {
    pub event_id: String,
    pub arrived: bool,
    /// `CHARACTERS` or `FILE`, when it arrived.
    pub upload_type: Option<String>,
    /// Real time spent waiting, in milliseconds.
    pub waited_ms: u64,
}

/// How a flow ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum FlowOutcome {
    /// Every step succeeded (possibly after retries).
    Fulfilled,
    /// A step gave up; the later steps were not played.
    Failed {
        step: usize,
        activity: String,
        /// The order was judged failed and refunded (new purchase, upgrade).
        refunded: bool,
    },
}

/// The end of one flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    pub flow: String,
    pub outcome: FlowOutcome,
    pub instance_id: Option<String>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub steps: Vec<StepReport>,
}

impl FlowReport {
    pub fn fulfilled(&self) -> bool {
        self.outcome == FlowOutcome::Fulfilled
    }
}

/// Where an order stands from KooGallery's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderStatus {
    /// Placed; its call has not succeeded yet.
    Pending,
    /// The vendor accepted the order's call.
    Fulfilled,
    /// The call failed for good and the order was refunded (自动进行订单退订).
    Refunded,
    /// The call failed for good; only a manual retry can finish it.
    Failed,
}

/// One order the simulator placed.
#[derive(Debug, Clone, Serialize)]
pub struct OrderState {
    pub order_id: String,
    pub order_line_id: String,
    pub order_type: String,
    pub flow: String,
    pub activity: String,
    pub status: OrderStatus,
    pub instance_id: Option<String>,
}

/// Every order placed by a flow, by ID. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct OrderLedger(Arc<Mutex<BTreeMap<String, OrderState>>>);

impl OrderLedger {
    pub fn insert(&self, state: OrderState) {
        self.lock().insert(state.order_id.clone(), state);
    }

    /// Sets an order's status (and its instance, when known).
    pub fn settle(&self, order_id: &str, status: OrderStatus, instance_id: Option<&str>) {
        if let Some(state) = self.lock().get_mut(order_id) {
            state.status = status;
            if let Some(id) = instance_id {
                state.instance_id = Some(id.to_owned());
            }
        }
    }

    pub fn get(&self, order_id: &str) -> Option<OrderState> {
        self.lock().get(order_id).cloned()
    }

    pub fn all(&self) -> Vec<OrderState> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, OrderState>> {
        // Single inserts and field writes only: a poisoned lock holds consistent data.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
