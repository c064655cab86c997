//! Where outbox events go and what their delivery changes.
//!
//! [`GatewaySink`] sends webhook events to the vendor's hook (or nowhere, without one) and runs
//! koogate's internal jobs itself (the license upload). [`HookEffects`] turns a delivery's
//! answer into a commit applied together with the event's completion.

use std::sync::Arc;

use async_trait::async_trait;

use super::events::kind;
use super::{Gateway, license_issue, provision};
use crate::outbox::{DeliveryEffects, DeliveryFailure, Sink};
use crate::store::{Commit, OutboxEvent};

#[derive(Debug, Clone)]
pub struct HookEffects {
    pub gateway: Arc<Gateway>,
}

#[async_trait]
impl DeliveryEffects for HookEffects {
    async fn on_delivered(
        &self,
        event: &OutboxEvent,
        response: &[u8],
    ) -> Result<Option<Commit>, DeliveryFailure> {
        match event.event_type.as_str() {
            kind::PROVISION => provision::on_provision_answer(&self.gateway, event, response).await,
            kind::LICENSE_REQUESTED => {
                license_issue::on_requested(&self.gateway, event, response).await
            }
            license_issue::UPLOAD_JOB => license_issue::on_uploaded(&self.gateway, event),
            _ => Ok(None),
        }
    }
}

/// The outbox's sink: internal jobs run here, everything else goes to `hook`.
#[derive(Debug)]
pub struct GatewaySink {
    pub gateway: Arc<Gateway>,
    /// The vendor's hook, or a sink that accepts everything when there is none.
    pub hook: Arc<dyn Sink>,
}

#[async_trait]
impl Sink for GatewaySink {
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        if event.event_type == license_issue::UPLOAD_JOB {
            return license_issue::upload_job(&self.gateway, event)
                .await
                .map(|()| Vec::new());
        }
        self.hook.deliver(event).await
    }
}
