//! The vendor's side: webhook delivery through an outage, provisioning through the hook's answer
//! or the vendor API, and calls that arrive before provisioning has finished.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use koogate_gateway::store::InstanceStatus;
use serde_json::json;

use super::{period_order, renew_order, vendor_app_info};
use crate::support::{TestApp, TestOptions, spawn_app};

async fn hooked_app() -> TestApp {
    spawn_app(TestOptions::default().with_hook()).await
}

/// Creates an instance for a fresh periodic order; returns its id.
async fn create(app: &TestApp, business_id: &str) -> String {
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], business_id)
        .await;
    reply.assert_code("000004");
    reply.instance_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_down_for_a_while_then_up_gets_every_event_once_in_order() {
    let app = hooked_app().await;
    app.hook().provide_app_info(vendor_app_info());
    app.hook().go_offline().await;
    let a = create(&app, "biz-outage-a").await;
    let b = create(&app, "biz-outage-b").await;
    app.set_status(&a, "FREEZE").await.assert_code("000000");
    app.set_status(&a, "UNFREEZE").await.assert_code("000000");
    let renewal = app.place_order(renew_order());
    app.refresh(&b, &renewal, "20250501235959")
        .await
        .assert_code("000000");
    app.release(&b).await.assert_code("000000");

    // Down (not listening, then failing with 503, then 500): only the head of each instance's
    // queue is tried; nothing is lost or skipped.
    for round in 0..5 {
        match round {
            2 => {
                app.hook().come_back().await;
                app.hook().go_down(503);
            }
            4 => app.hook().go_down(500),
            _ => {}
        }
        let attempts = app.run_outbox().await;
        assert_eq!(attempts, 2, "round {round}: one attempt per instance");
        // Past the next retry (5 s, 30 s, 2 min, 10 min, ±10 %).
        app.advance(Duration::minutes(15));
    }
    assert!(app.hook().accepted().is_empty());
    assert_eq!(
        app.hook().received().len(),
        6,
        "three rounds reached the receiver"
    );
    assert!(
        app.all_events()
            .await
            .iter()
            .all(|e| e.delivered_at.is_none() && !e.dead)
    );

    // Up again: once the retries are due (the fifth failure asked for ~30 min) everything
    // arrives, including the instance.ready events the provision answers cause along the way.
    app.hook().come_up();
    assert_eq!(app.run_outbox().await, 0, "retries wait for their time");
    app.advance(Duration::minutes(40));
    app.run_outbox().await;
    assert_eq!(app.run_outbox().await, 0, "nothing left");
    assert_eq!(app.status(&a).await, InstanceStatus::Active);
    assert_eq!(app.status(&b).await, InstanceStatus::Released);

    let events = app.all_events().await;
    assert!(events.iter().all(|e| e.delivered_at.is_some() && !e.dead));
    let received = app.hook().received();
    assert!(
        received.iter().all(|d| d.signature_ok),
        "every delivery is signed"
    );
    // At-least-once allows a re-send with the same webhook-id and payload; nothing else.
    let mut by_id: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for delivery in received.iter().filter(|d| d.accepted()) {
        let earlier = by_id.insert(&delivery.webhook_id, &delivery.raw);
        assert!(earlier.is_none_or(|raw| raw == delivery.raw.as_slice()));
    }
    let stored: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let delivered: BTreeSet<&str> = by_id.keys().copied().collect();
    assert_eq!(delivered, stored, "every event delivered, none invented");
    for event in &events {
        assert_eq!(by_id[event.event_id.as_str()], event.payload.as_bytes());
    }
    // Per instance, first acceptances come in the order the events were stored.
    for instance in [&a, &b] {
        let stored: Vec<String> = app
            .events(instance)
            .await
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        let mut seen = BTreeSet::new();
        let arrived: Vec<String> = received
            .iter()
            .filter(|d| d.accepted() && d.body["instanceId"] == instance.as_str())
            .filter(|d| seen.insert(d.webhook_id.clone()))
            .map(|d| d.webhook_id.clone())
            .collect();
        assert_eq!(arrived, stored, "in order for {instance}");
    }
    let types_a = app.event_types(&a).await;
    assert_eq!(
        types_a,
        [
            "instance.provision",
            "instance.frozen",
            "instance.unfrozen",
            "instance.ready"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hooks_app_info_makes_the_instance_active() {
    let app = hooked_app().await;
    app.hook().provide_app_info(vendor_app_info());
    let id = create(&app, "biz-hook-ready").await;
    assert_eq!(app.status(&id).await, InstanceStatus::Provisioning);
    app.run_outbox().await;
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
    let provision = &app.hook().accepted()[0];
    assert_eq!(provision.event_type(), "instance.provision");
    assert_eq!(provision.body["instanceId"], id.as_str());
    assert_eq!(provision.body["data"]["provisionedBy"], "hook");
    assert_eq!(
        provision.body["data"]["order"]["orderInfo"]["orderLine"][0]["chargingMode"],
        "PERIOD"
    );
    // The instance.ready event follows, and the call KooGallery repeats is answered the same.
    assert_eq!(app.hook().accepted()[1].event_type(), "instance.ready");
    let (status, view) = app.api_instance(&id).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "active");
    assert_eq!(view["hasAppInfo"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_app_info_in_the_hooks_answer_is_ignored() {
    let app = hooked_app().await;
    app.hook()
        .provide_app_info(json!({"frontEndUrl": "", "userName": "x"}));
    let id = create(&app, "biz-hook-invalid").await;
    app.run_outbox().await;
    assert_eq!(app.status(&id).await, InstanceStatus::Provisioning);
    assert!(app.events(&id).await[0].delivered_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_before_provisioning_stays_released() {
    let app = hooked_app().await;
    app.hook().provide_app_info(vendor_app_info());
    let id = create(&app, "biz-early-release").await;
    app.release(&id).await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Released);

    // The hook answers the provision event with app info afterwards: it does not revive it.
    app.run_outbox().await;
    let instance = app.instance(&id).await;
    assert_eq!(instance.status, InstanceStatus::Released);
    assert!(instance.app_info_sealed.is_none());
    assert_eq!(
        app.event_types(&id).await,
        ["instance.provision", "instance.released"]
    );
    let delivered: Vec<String> = app
        .hook()
        .accepted()
        .iter()
        .map(|d| d.event_type().to_owned())
        .collect();
    assert_eq!(delivered, ["instance.provision", "instance.released"]);
    // Nor does the vendor API.
    let (status, view) = app.mark_ready(&id, &vendor_app_info()).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "released");
    assert_eq!(app.status(&id).await, InstanceStatus::Released);
    let query = app.query(&[&id]).await;
    query.assert_code("000000");
    assert!(query.json()["info"][0].get("appInfo").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freeze_while_provisioning_stays_frozen() {
    let app = hooked_app().await;
    app.hook().provide_app_info(vendor_app_info());
    let id = create(&app, "biz-early-freeze").await;
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Frozen);

    // The late app info is kept, but the instance stays frozen until KooGallery unfreezes it.
    app.run_outbox().await;
    let instance = app.instance(&id).await;
    assert_eq!(instance.status, InstanceStatus::Frozen);
    assert!(instance.app_info_sealed.is_some());
    app.set_status(&id, "UNFREEZE").await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfreeze_before_any_app_info_goes_back_to_provisioning() {
    let app = hooked_app().await;
    let id = create(&app, "biz-freeze-no-info").await;
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    app.run_outbox().await;
    assert_eq!(app.status(&id).await, InstanceStatus::Frozen);
    app.set_status(&id, "UNFREEZE").await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Provisioning);
    let (status, _) = app.mark_ready(&id, &vendor_app_info()).await;
    assert_eq!(status, 200);
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_api_marks_ready_with_the_bearer_token() {
    let app = hooked_app().await;
    let id = create(&app, "biz-vendor-api").await;
    app.run_outbox().await;
    assert_eq!(app.status(&id).await, InstanceStatus::Provisioning);
    let pending = app.query(&[&id]).await;
    assert!(pending.json()["info"][0].get("appInfo").is_none());

    let path = format!("/api/v1/instances/{id}/ready");
    let before = app.snapshot().await;
    for token in [None, Some("wrong-token"), Some("")] {
        let (status, body) = app.post(&path, token, &vendor_app_info()).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(body["code"], "unauthorized");
        let (status, _, _) = app.get(&format!("/api/v1/instances/{id}"), token).await;
        assert_eq!(status, 401);
    }
    let (status, body) = app.mark_ready(&id, &json!({"frontEndUrl": ""})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_app_info");
    let (status, body) = app.mark_ready("no-such-instance", &vendor_app_info()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        app.snapshot().await,
        before,
        "refused vendor calls change nothing"
    );

    let (status, view) = app.mark_ready(&id, &vendor_app_info()).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "active");
    assert_eq!(view["instanceId"], id.as_str());
    assert!(view.get("password").is_none() && !view.to_string().contains("S3cret"));
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
    // Ready twice with the same info: nothing new.
    let ready = app.snapshot().await;
    app.mark_ready(&id, &vendor_app_info()).await;
    assert_eq!(app.snapshot().await, ready);

    let (status, view) = app.api_instance(&id).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "active");
    assert_eq!(view["hasAppInfo"], true);
    assert_eq!(view["chargingMode"], "PERIOD");
    let (status, _, list) = app
        .get("/api/v1/instances?limit=10", Some(&app.api_token))
        .await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["instanceId"], id.as_str());
    let (status, body) = app.api_instance("no-such-instance").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "instance_not_found");

    let query = app.query(&[&id]).await;
    query.assert_code("000000");
    assert_eq!(
        query.json()["info"][0]["appInfo"]["frontEndUrl"],
        "https://vendor.example.com/tenant/42"
    );
    app.run_outbox().await;
    let types: Vec<String> = app
        .hook()
        .accepted()
        .iter()
        .map(|d| d.event_type().to_owned())
        .collect();
    assert_eq!(types, ["instance.provision", "instance.ready"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_is_parked_and_redelivered_on_request() {
    let app = hooked_app().await;
    let id = create(&app, "biz-dead").await;
    // 400 is not retryable: the provision event is parked as dead at once...
    app.hook().go_down(400);
    assert_eq!(app.run_outbox().await, 1);
    let provision = app.events(&id).await.remove(0);
    assert!(provision.dead && provision.delivered_at.is_none());
    // ...and does not hold back the instance's later events.
    app.hook().come_up();
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    app.run_outbox().await;
    let accepted: Vec<String> = app
        .hook()
        .accepted()
        .iter()
        .map(|d| d.event_type().to_owned())
        .collect();
    assert_eq!(accepted, ["instance.frozen"]);

    // The operator re-delivers it through the vendor API: it arrives once, with its own id.
    let path = format!("/api/v1/events/{}/redeliver", provision.id);
    let (status, _) = app.post(&path, Some("wrong-token"), &json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = app.post(&path, Some(&app.api_token), &json!({})).await;
    assert_eq!(status, 202);
    let (status, body) = app.post(&path, Some(&app.api_token), &json!({})).await;
    assert_eq!(status, 404, "only dead events can be re-delivered: {body}");
    app.run_outbox().await;
    let provisions: Vec<_> = app
        .hook()
        .accepted()
        .into_iter()
        .filter(|d| d.webhook_id == provision.event_id)
        .collect();
    assert_eq!(provisions.len(), 1);
    assert_eq!(provisions[0].raw, provision.payload.as_bytes());
    let (status, _, body) = app
        .get(
            &format!("/api/v1/events?instance={id}"),
            Some(&app.api_token),
        )
        .await;
    assert_eq!(status, 200);
    let events: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e["deliveredAt"].is_string() && e["dead"] == false)
    );
}
