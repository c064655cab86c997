//! Finishing a provision: the vendor's system reports app info, either in its answer to the
//! `instance.provision` hook or later through `POST /api/v1/instances/{id}/ready`. Both paths
//! build the same [`Commit`], so the app info, the new status and the `instance.ready` event are
//! stored together (and, for a hook answer, together with the event's completion).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::events::{self, kind};
use super::lifecycle::{self, Transition};
use super::{AppInfo, Gateway, app_info};
use crate::outbox::DeliveryEffects;
use crate::store::{Commit, Instance, InstanceWrite, OutboxEvent, StoreResult};

/// What a vendor's hook may answer to `instance.provision`. An empty or other body means "I
/// will call `/ready` later".
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionAnswer {
    app_info: Option<AppInfo>,
}

/// The commit that makes `instance` ready with `info`, or `None` when nothing changes (already
/// ready with the same info, or released in the meantime).
pub fn ready_commit(gw: &Gateway, instance: &Instance, info: &AppInfo) -> Option<Commit> {
    let step = lifecycle::apply(instance.status, Transition::Ready, true);
    let unchanged_info = instance
        .app_info_sealed
        .as_deref()
        .and_then(|sealed| app_info::open(sealed, &gw.secret_box).ok())
        .is_some_and(|stored| &stored == info);
    if instance.status == crate::store::InstanceStatus::Released
        || (!step.changed && unchanged_info)
    {
        return None;
    }
    let now = gw.clock.now();
    let mut next = instance.clone();
    next.status = step.next;
    next.app_info_sealed = Some(app_info::seal(info, &gw.secret_box));
    next.updated_at = now;
    let data = json!({"frontEndUrl": info.front_end_url, "status": next.status.as_str()});
    let event = events::event(
        kind::READY,
        &next.instance_id,
        Some(&next.instance_id),
        next.test_flag,
        data,
        now,
    );
    Some(Commit {
        instance: Some(InstanceWrite::Update {
            instance: next,
            expected_version: instance.version,
        }),
        events: vec![event],
        now,
        ..Commit::default()
    })
}

/// Turns hook answers into state changes for the outbox worker.
#[derive(Debug, Clone)]
pub struct ProvisionEffects {
    pub gateway: std::sync::Arc<Gateway>,
}

#[async_trait]
impl DeliveryEffects for ProvisionEffects {
    async fn on_delivered(
        &self,
        event: &OutboxEvent,
        response: &[u8],
    ) -> StoreResult<Option<Commit>> {
        if event.event_type != kind::PROVISION || response.is_empty() {
            return Ok(None);
        }
        let Some(info) = serde_json::from_slice::<ProvisionAnswer>(response)
            .ok()
            .and_then(|a| a.app_info)
        else {
            return Ok(None);
        };
        if let Err(problem) = app_info::validate(&info, self.gateway.settings.encryption) {
            tracing::warn!(
                event_id = event.event_id,
                problem,
                "ignoring invalid app info in the hook's answer; call /ready with valid app info"
            );
            return Ok(None);
        }
        let Some(instance) = self.gateway.store.get_instance(&event.ordering_key).await? else {
            return Ok(None);
        };
        Ok(ready_commit(&self.gateway, &instance, &info))
    }
}
