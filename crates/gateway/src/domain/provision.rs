//! Finishing a provision: the vendor's system reports app info, either in its answer to the
//! `instance.provision` hook or later through `POST /api/v1/instances/{id}/ready`. Both paths
//! build the same [`Commit`], so the app info, the new status and the `instance.ready` event are
//! stored together (and, for a hook answer, together with the event's completion).

use serde::Deserialize;
use serde_json::json;

use super::events::{self, kind};
use super::lifecycle::{self, Transition};
use super::{AppInfo, Gateway, app_info};
use crate::outbox::Failure;
use crate::store::{Commit, Instance, InstanceWrite, OutboxEvent};

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

/// After `instance.provision` was delivered: app info in the hook's answer makes the instance
/// ready (an empty or other answer means "I will call `/ready` later").
pub async fn on_provision_answer(
    gw: &Gateway,
    event: &OutboxEvent,
    response: &[u8],
) -> Result<Option<Commit>, Failure> {
    if response.is_empty() {
        return Ok(None);
    }
    let Some(info) = serde_json::from_slice::<ProvisionAnswer>(response)
        .ok()
        .and_then(|a| a.app_info)
    else {
        return Ok(None);
    };
    if let Err(problem) = app_info::validate(&info, gw.settings.encryption) {
        tracing::warn!(
            event_id = event.event_id,
            problem,
            "ignoring invalid app info in the hook's answer; call /ready with valid app info"
        );
        return Ok(None);
    }
    let Some(instance) = gw.store.get_instance(&event.ordering_key).await? else {
        return Ok(None);
    };
    Ok(ready_commit(gw, &instance, &info))
}
