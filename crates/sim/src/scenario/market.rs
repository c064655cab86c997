//! What the engine tells the simulator's open API, and reads back from it, when the two run
//! together: KooGallery knows every instance it sold and where it stands (the asynchronous usage
//! check refuses records for anything else, saas-v2 §7.2), and after `getLicenseAsync` it waits
//! for the vendor to upload the license under the request's `eventId` (license-kit §3.2–3.3).

use std::time::Duration;

use serde_json::Value;

use super::engine::Engine;
use super::ledger::{LicenseUploadCheck, StepReport};
use crate::openapi::{InstanceStatus, OpenApiState, UploadContent, UsageInstance};
use crate::orders::ChargingMode;

/// How long the engine waits for a license upload by default. The spec names no deadline; a
/// vendor uploading from a queue worker needs well under a second, so this only has to outlast
/// a slow machine.
pub const DEFAULT_LICENSE_UPLOAD_WAIT: Duration = Duration::from_secs(10);

/// The open API an engine plays next to ([`super::EngineOptions::openapi`]).
#[derive(Debug, Clone)]
pub struct OpenApiLink {
    pub state: OpenApiState,
    /// The AK the target signs its open-API calls with. Instances the engine registers belong
    /// to it, so a usage push signed with another AK is flagged `009`; `None` lets any AK bill.
    pub owner: Option<String>,
}

impl Engine {
    fn link(&self) -> Option<&OpenApiLink> {
        self.options().openapi.as_ref()
    }

    /// `newInstance` (body `sent`) answered `instance_id`: KooGallery now knows the instance,
    /// with its order line's charging mode. One already known keeps its status: a retried
    /// purchase answering the same instance must not revive one that a release overtook.
    pub(super) fn instance_created(&self, instance_id: &str, sent: &Value) {
        let Some(link) = self.link() else { return };
        if link.state.instance(instance_id).is_some() {
            return;
        }
        let field = |name: &str| sent.get(name).and_then(Value::as_str);
        let mode =
            field("orderId").and_then(|order| self.charging_mode(order, field("orderLineId")));
        let Some(mode) = mode else {
            // Every order the engine sends is in its book; a hand-made flow may not be.
            tracing::warn!(
                instance_id,
                "newInstance for an order the book does not hold: not registered"
            );
            return;
        };
        let mut instance = UsageInstance::on_demand(instance_id).charging_mode(mode);
        if let Some(owner) = &link.owner {
            instance = instance.owner(owner);
        }
        link.state.register_instance(instance);
    }

    /// A call (body `sent`) that succeeded: freezes, unfreezes or releases the instance it
    /// names, as KooGallery's own records follow the calls it made.
    pub(super) fn instance_call_succeeded(&self, activity: &str, sent: &Value) {
        let status = match (activity, sent.get("status").and_then(Value::as_str)) {
            ("updateInstanceStatus", Some("FREEZE")) => InstanceStatus::Frozen,
            ("updateInstanceStatus", Some("UNFREEZE")) => InstanceStatus::Active,
            ("releaseInstance", _) => InstanceStatus::Released,
            _ => return,
        };
        if let Some(id) = sent.get("instanceId").and_then(Value::as_str) {
            self.set_instance_status(id, status);
        }
    }

    /// The purchase that created `instance_id` failed for good and was refunded: nothing is
    /// left to bill.
    pub(super) fn purchase_refunded(&self, instance_id: &str) {
        self.set_instance_status(instance_id, InstanceStatus::Released);
    }

    /// A manual retry ("重新启动") of a call succeeded. A purchase may follow a refund that
    /// released its instance, so it is active again.
    pub(crate) fn manual_call_succeeded(
        &self,
        activity: &str,
        sent: &Value,
        instance: Option<&str>,
    ) {
        match (activity, instance) {
            ("newInstance", Some(id)) => {
                self.instance_created(id, sent);
                self.set_instance_status(id, InstanceStatus::Active);
            }
            _ => self.instance_call_succeeded(activity, sent),
        }
    }

    fn set_instance_status(&self, instance_id: &str, status: InstanceStatus) {
        if let Some(link) = self.link() {
            link.state.set_instance_status(instance_id, status);
        }
    }

    /// `orderLine[].chargingMode` of the line (or, without a line ID, the first line).
    fn charging_mode(&self, order_id: &str, line_id: Option<&str>) -> Option<ChargingMode> {
        let order = self.book().get(order_id)?;
        let lines = order.get("orderLine")?.as_array()?;
        let line_of = |line: &&Value| line.get("orderLineId").and_then(Value::as_str) == line_id;
        let line = lines.iter().find(line_of).or_else(|| lines.first())?;
        ChargingMode::parse(line.get("chargingMode")?.as_str()?)
    }

    /// After `getLicenseAsync` (body `sent`) was accepted: waits for the license upload under
    /// its `eventId`, records whether it came, and fails the step when it did not. Does nothing
    /// without an open API or with [`super::EngineOptions::expect_license_upload`] off.
    pub(super) async fn check_license_upload(&self, sent: &Value, report: &mut StepReport) {
        let Some(link) = self.link() else { return };
        if !self.options().expect_license_upload {
            return;
        }
        let event_id = sent
            .get("eventId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let wait = self.options().license_upload_wait;
        // Real time, not the `SimClock`: the vendor uploads from its own worker, which runs
        // in real time whatever virtual time the flow has reached.
        let started = tokio::time::Instant::now();
        let upload = link.state.wait_for_upload(&event_id, wait).await;
        let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let upload_type = upload.as_ref().map(|u| match u.content {
            UploadContent::Characters(_) => "CHARACTERS".to_owned(),
            UploadContent::File { .. } => "FILE".to_owned(),
        });
        if upload.is_none() {
            report.ok = false;
            report.error = Some(format!(
                "no license upload for eventId {event_id} within {} ms: after getLicenseAsync the \
                 vendor must upload the license to POST /api/mkp-openapi-public/global/v1/\
                 market-event/{event_id}/file (license-kit §3.3)",
                wait.as_millis()
            ));
        }
        report.license_upload = Some(LicenseUploadCheck {
            event_id,
            arrived: upload.is_some(),
            upload_type,
            waited_ms,
        });
    }
}
