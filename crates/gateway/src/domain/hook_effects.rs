//! What a delivered webhook changes: the outbox worker calls [`HookEffects`] with the hook's
//! answer, and the commit it returns is applied together with the event's completion.

use std::sync::Arc;

use async_trait::async_trait;

use super::events::kind;
use super::{Gateway, license_issue, provision};
use crate::outbox::{DeliveryEffects, Failure};
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
    ) -> Result<Option<Commit>, Failure> {
        match event.event_type.as_str() {
            kind::PROVISION => provision::on_provision_answer(&self.gateway, event, response).await,
            kind::LICENSE_REQUESTED => {
                license_issue::on_requested(&self.gateway, event, response).await
            }
            _ => Ok(None),
        }
    }
}
