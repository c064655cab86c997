//! Activities that change an existing instance: `refreshInstance`, `updateInstanceStatus`,
//! `releaseInstance` and `upgradeInstance` (spec saas-v2 §3.3–3.6).
//!
//! All four answer with a constant `000000`, so a repeat is byte-identical by construction. What
//! must not repeat is the *effect*: renewals and upgrades carry an idempotency key (instance +
//! order), and status changes and releases are idempotent on the instance's state (a second
//! FREEZE finds it frozen and does nothing).

use koogate_protocol::messages::instance::{
    RefreshInstance, RefreshScene, ReleaseInstance, StatusChange, UpdateInstanceStatus,
    UpgradeInstance,
};
use serde_json::json;

use super::new_instance::order_record;
use super::success;
use crate::config::ReleaseUnknown;
use crate::domain::events::{self, kind};
use crate::domain::lifecycle::{self, Transition};
use crate::domain::replies::{Answer, Failure};
use crate::domain::{FetchedOrder, Gateway};
use crate::store::{
    Commit, CommitOutcome, Instance, InstanceStatus, InstanceWrite, NewEvent, OrderRecord,
};

/// Optimistic updates retry this often when a concurrent call changed the instance first.
const MAX_ATTEMPTS: usize = 8;

/// The new state of an instance and what to tell the vendor about it.
struct Change {
    instance: Instance,
    events: Vec<NewEvent>,
}

pub async fn refresh(gw: &Gateway, req: &RefreshInstance) -> Result<Answer, Failure> {
    let key = format!(
        "refreshInstance:{}:{}",
        req.instance_id.as_str(),
        req.order_id.as_str()
    );
    let (order_id, line_id) = (req.order_id.as_str(), req.order_line_id.as_str());
    // A renewal that changes the specification carries the new one only in its order.
    let order = match req.scene {
        RefreshScene::RenewalChange => {
            match order_for_change(gw, &key, req.instance_id.as_str(), order_id, line_id).await? {
                OrderForChange::Replay(answer) => return Ok(answer),
                OrderForChange::Order(order) => Some(*order),
            }
        }
        _ => None,
    };
    let record = order
        .as_ref()
        .map(|order| order_record(order, order_id, line_id, gw.clock.now()));
    update(
        gw,
        req.instance_id.as_str(),
        Some(key),
        record,
        |instance, now| {
            if !lifecycle::accepts_order_changes(instance.status) {
                return Err(Failure::InstanceNotFound(format!(
                    "{} is released",
                    instance.instance_id
                )));
            }
            let mut next = instance.clone();
            if let Some(order) = &order {
                apply_order_line(&mut next, order, order_id, line_id)?;
            }
            next.expire_time = Some(req.expire_time.at());
            if let Some(product_id) = &req.product_id {
                next.product_id = Some(product_id.as_str().to_owned());
            }
            if req.scene == RefreshScene::TrialToFormal {
                next.trial = false;
            }
            let mut data = json!({
                "scene": req.scene.as_str(), "orderId": order_id, "orderLineId": line_id,
                "expireTime": req.expire_time.at().to_rfc3339(), "productId": next.product_id,
            });
            if let Some(order) = &order {
                data["skuCode"] = json!(next.sku_code);
                data["order"] = events::raw_order(&order.raw);
            }
            let event = events::event(
                kind::RENEWED,
                &next.instance_id,
                Some(&next.instance_id),
                next.test_flag,
                data,
                now,
            );
            Ok(Some(Change {
                instance: next,
                events: vec![event],
            }))
        },
    )
    .await
}

/// The order behind a change (upgrade, renewal with a new specification), or the stored answer
/// when the change was already made.
enum OrderForChange {
    Replay(Answer),
    Order(Box<FetchedOrder>),
}

/// Replays a change already made; otherwise fetches its order, but only for an instance koogate
/// has (an unknown one is `000003` without asking KooGallery).
async fn order_for_change(
    gw: &Gateway,
    key: &str,
    instance_id: &str,
    order_id: &str,
    line_id: &str,
) -> Result<OrderForChange, Failure> {
    if let Some(stored) = gw.store.find_response(key).await? {
        return Ok(OrderForChange::Replay(Answer::replayed(stored.body)));
    }
    if gw.store.get_instance(instance_id).await?.is_none() {
        return Err(Failure::InstanceNotFound(instance_id.to_owned()));
    }
    let order = gw
        .marketplace
        .query_order(order_id, Some(line_id))
        .await
        .map_err(|e| Failure::Internal(format!("order query: {e}")))?;
    Ok(OrderForChange::Order(Box::new(order)))
}

/// Takes the product, SKU and expiry of `line_id` in `order` (each kept when the order omits it).
fn apply_order_line(
    next: &mut Instance,
    order: &FetchedOrder,
    order_id: &str,
    line_id: &str,
) -> Result<(), Failure> {
    let line = order
        .line(line_id)
        .ok_or_else(|| Failure::Internal(format!("order {order_id} has no line {line_id}")))?;
    let product = line.product_info.first();
    next.product_id = product
        .and_then(|p| p.product_id.clone())
        .or(next.product_id.take());
    next.sku_code = product
        .and_then(|p| p.sku_code.clone())
        .or(next.sku_code.take());
    next.expire_time = line.expire_at().or(next.expire_time);
    Ok(())
}

pub async fn status(gw: &Gateway, req: &UpdateInstanceStatus) -> Result<Answer, Failure> {
    let (transition, event_kind) = match req.status {
        StatusChange::Freeze => (Transition::Freeze, kind::FROZEN),
        _ => (Transition::Unfreeze, kind::UNFROZEN),
    };
    update(gw, req.instance_id.as_str(), None, None, |instance, now| {
        Ok(transition_change(
            instance,
            transition,
            event_kind,
            json!({}),
            now,
        ))
    })
    .await
}

pub async fn release(gw: &Gateway, req: &ReleaseInstance) -> Result<Answer, Failure> {
    let data = json!({
        "orderId": req.order_id.as_deref(), "orderLineId": req.order_line_id.as_deref(),
        "reason": if req.order_id.is_some() { "unsubscribe" } else { "expired" },
    });
    let outcome = update(gw, req.instance_id.as_str(), None, None, |instance, now| {
        Ok(transition_change(
            instance,
            Transition::Release,
            kind::RELEASED,
            data.clone(),
            now,
        ))
    })
    .await;
    match outcome {
        Err(Failure::InstanceNotFound(_))
            if gw.settings.release_unknown == ReleaseUnknown::Success =>
        {
            tracing::info!(
                instance_id = req.instance_id.as_str(),
                "release of an unknown instance answered as success (release_unknown = success)"
            );
            Ok(success(gw))
        }
        other => other,
    }
}

/// A call KooGallery should have made but never did (see `domain::reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissedCall {
    /// `updateInstanceStatus` FREEZE at expiry.
    Freeze,
    /// `releaseInstance` at the end of the freeze period.
    Release,
}

/// Applies a missed call as if KooGallery had sent it: the same state change and event type
/// through the same commit, idempotent on the instance's state like the real call, so a late
/// real call afterwards changes nothing and is answered `000000`. The event's `data.source` is
/// `reconciliation`, so the vendor can tell who decided it.
pub async fn apply_missed(
    gw: &Gateway,
    instance_id: &str,
    call: MissedCall,
) -> Result<(), Failure> {
    let (transition, event_kind, data) = match call {
        MissedCall::Freeze => (
            Transition::Freeze,
            kind::FROZEN,
            json!({"source": "reconciliation"}),
        ),
        MissedCall::Release => (
            Transition::Release,
            kind::RELEASED,
            json!({"orderId": null, "orderLineId": null, "reason": "expired", "source": "reconciliation"}),
        ),
    };
    update(gw, instance_id, None, None, |instance, now| {
        Ok(transition_change(
            instance,
            transition,
            event_kind,
            data.clone(),
            now,
        ))
    })
    .await
    .map(|_answer| ())
}

pub async fn upgrade(gw: &Gateway, req: &UpgradeInstance) -> Result<Answer, Failure> {
    let key = format!(
        "upgradeInstance:{}:{}",
        req.instance_id.as_str(),
        req.order_id.as_str()
    );
    let (order_id, line_id) = (req.order_id.as_str(), req.order_line_id.as_str());
    let order =
        match order_for_change(gw, &key, req.instance_id.as_str(), order_id, line_id).await? {
            OrderForChange::Replay(answer) => return Ok(answer),
            OrderForChange::Order(order) => *order,
        };
    let record = order_record(&order, order_id, line_id, gw.clock.now());
    update(gw, req.instance_id.as_str(), Some(key), Some(record), |instance, now| {
        if !lifecycle::accepts_order_changes(instance.status) {
            return Err(Failure::InstanceNotFound(format!("{} is released", instance.instance_id)));
        }
        let mut next = instance.clone();
        apply_order_line(&mut next, &order, order_id, line_id)?;
        let data = json!({
            "orderId": order_id, "orderLineId": line_id, "productId": next.product_id, "skuCode": next.sku_code,
            "order": events::raw_order(&order.raw),
        });
        let event = events::event(kind::UPGRADED, &next.instance_id, Some(&next.instance_id), next.test_flag, data, now);
        Ok(Some(Change { instance: next, events: vec![event] }))
    })
    .await
}

fn transition_change(
    instance: &Instance,
    transition: Transition,
    event_kind: &str,
    data: serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Change> {
    let step = lifecycle::apply(
        instance.status,
        transition,
        instance.app_info_sealed.is_some(),
    );
    if !step.changed {
        return None;
    }
    let mut next = instance.clone();
    next.status = step.next;
    let event = events::event(
        event_kind,
        &next.instance_id,
        Some(&next.instance_id),
        next.test_flag,
        data,
        now,
    );
    Some(Change {
        instance: next,
        events: vec![event],
    })
}

/// Read, decide, commit with the version read; on a concurrent change, read again.
/// `decide` returns `None` when nothing changes (an idempotent repeat).
async fn update<F>(
    gw: &Gateway,
    instance_id: &str,
    response_key: Option<String>,
    order: Option<OrderRecord>,
    decide: F,
) -> Result<Answer, Failure>
where
    F: Fn(&Instance, chrono::DateTime<chrono::Utc>) -> Result<Option<Change>, Failure>,
{
    if let Some(key) = &response_key
        && let Some(stored) = gw.store.find_response(key).await?
    {
        return Ok(Answer::replayed(stored.body));
    }
    let answer = success(gw);
    for _ in 0..MAX_ATTEMPTS {
        let instance = gw
            .store
            .get_instance(instance_id)
            .await?
            .ok_or_else(|| Failure::InstanceNotFound(instance_id.to_owned()))?;
        let now = gw.clock.now();
        let Some(change) = decide(&instance, now)? else {
            return Ok(answer);
        };
        let mut next = change.instance;
        next.updated_at = now;
        if next.status == InstanceStatus::Released && instance.status != InstanceStatus::Released {
            next.released_at = Some(now);
        }
        let commit = Commit {
            response: response_key.clone().map(|k| (k, answer.body.clone())),
            instance: Some(InstanceWrite::Update {
                instance: next,
                expected_version: instance.version,
            }),
            order: order.clone(),
            events: change.events,
            complete_event: None,
            replace_responses: Vec::new(),
            license_code: None,
            now,
        };
        match gw.store.commit(commit).await? {
            CommitOutcome::Committed => {
                gw.wake_outbox();
                return Ok(answer);
            }
            CommitOutcome::Replayed(stored) => return Ok(Answer::replayed(stored.body)),
            CommitOutcome::StaleInstance => continue,
            CommitOutcome::InstanceExists(_) => {
                return Err(Failure::Internal("unexpected insert conflict".into()));
            }
        }
    }
    Err(Failure::Internal(format!(
        "instance {instance_id} kept changing; giving up after {MAX_ATTEMPTS} attempts"
    )))
}
