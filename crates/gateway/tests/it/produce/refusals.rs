//! The vendor refuses a purchase: the hook answers `instance.provision` with
//! `{"refuse":{"code":"0001xx","message":…}}`, the instance fails, and newInstance answers the
//! refusal (at once within `provision_wait_ms`, else on KooGallery's next retry), byte for byte
//! on every retry. A refusal that is not valid is a failed delivery: retried, never forwarded.

use std::sync::Arc;

use chrono::Duration;
use koogate_gateway::store::InstanceStatus;
use serde_json::{Value, json};

use super::period_order;
use crate::support::{Backend, TestApp, TestOptions, spawn_app};

/// newInstance's own codes, and the message each refusal in these tests carries.
const CODES: [&str; 8] = [
    "000100", "000101", "000102", "000103", "000104", "000105", "000106", "000107",
];

fn refusal(code: &str) -> Value {
    json!({"refuse": {"code": code, "message": format!("refused with {code}")}})
}

/// A purchase answered `000004`; returns the order, its line and the instance id.
async fn purchase(app: &TestApp, business_id: &str) -> (String, String, String) {
    let placed = app.place_order(period_order());
    let line = placed.order_line_ids[0].clone();
    let reply = app.new_instance(&placed.order_id, &line, business_id).await;
    reply.assert_code("000004");
    (placed.order_id, line, reply.instance_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_refuses_a_purchase_later_and_retries_see_it_sqlite() {
    every_code_refuses_a_purchase_later(spawn_app(TestOptions::default().with_hook()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_refuses_a_purchase_later_and_retries_see_it_postgres() {
    let test = "every_code_refuses_a_purchase_later_and_retries_see_it_postgres";
    if let Some(options) = TestOptions::on(Backend::Postgres, test) {
        every_code_refuses_a_purchase_later(spawn_app(options.with_hook()).await).await;
    }
}

async fn every_code_refuses_a_purchase_later(app: TestApp) {
    for code in CODES {
        let (order_id, line, instance_id) = purchase(&app, &format!("biz-{code}")).await;
        app.hook().answer("instance.provision", refusal(code));
        let before = app.snapshot().await;
        assert_eq!(app.run_outbox().await, 1);
        let after = app.snapshot().await;
        assert_eq!(app.status(&instance_id).await, InstanceStatus::Failed);

        // KooGallery retries: the refusal, with the vendor's message and no instance id, the
        // same bytes every time (and a fresh businessId changes nothing).
        let first = app.new_instance(&order_id, &line, "biz-retry-1").await;
        let body = first.json();
        assert_eq!(body["resultCode"], code, "{}", first.text());
        assert_eq!(body["resultMsg"], format!("refused with {code}"));
        assert!(body.get("instanceId").is_none(), "{}", first.text());
        let second = app.new_instance(&order_id, &line, "biz-retry-2").await;
        assert_eq!(first.body, second.body);

        // One commit changed exactly this: the instance failed (one version on), the provision
        // event was delivered, the call's stored answer became the refusal and the refusal was
        // kept for the instance. No event for the vendor, no order changes.
        assert_eq!(after.events.len(), before.events.len());
        assert_eq!(after.orders, before.orders);
        assert_eq!(after.usage, before.usage);
        for (b, a) in before.instances.iter().zip(&after.instances) {
            if a.instance_id == instance_id {
                assert_eq!(a.version, b.version + 1);
                assert_eq!(b.status, InstanceStatus::Provisioning);
            } else {
                assert_eq!(a, b);
            }
        }
        let call_key = format!("newInstance:{order_id}:{line}");
        let refusal_key = format!("newInstance-refusal:{instance_id}");
        for (key, stored, _) in &after.responses {
            let earlier = before.responses.iter().find(|(k, _, _)| k == key);
            if *key == call_key || *key == refusal_key {
                assert_eq!(stored, &first.body, "{key}");
            } else {
                assert_eq!(earlier.map(|(_, b, _)| b), Some(stored), "{key}");
            }
        }
        assert_eq!(after.responses.len(), before.responses.len() + 1);

        // KooGallery refunds the order: the vendor's system cannot make it ready afterwards.
        let (status, error) = app
            .mark_ready(&instance_id, &super::vendor_app_info())
            .await;
        assert_eq!(status.as_u16(), 409, "{error}");
        assert_eq!(error["code"], "refused");
        assert_eq!(app.status(&instance_id).await, InstanceStatus::Failed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_refusal_is_retried_and_never_forwarded() {
    let app = spawn_app(TestOptions::default().with_hook()).await;
    let (order_id, line, instance_id) = purchase(&app, "biz-invalid").await;
    let answered = app.new_instance(&order_id, &line, "biz-invalid-2").await;
    for bad in [
        json!({"refuse": {"code": "000005", "message": "not a refusal code"}}),
        json!({"refuse": {"code": "000108"}}),
        json!({"refuse": {"code": "000900"}}),
        json!({"refuse": {"message": "no code"}}),
        json!({"refuse": {"code": 100}}),
        json!({"refuse": {"code": "000101", "message": 42}}),
        json!({"refuse": "000101"}),
    ] {
        app.hook().answer("instance.provision", bad.clone());
        let before = app.snapshot().await;
        assert_eq!(app.run_outbox().await, 1, "{bad}");
        let after = app.snapshot().await;
        // Only the event's retry bookkeeping moved: the instance still provisions, and the
        // call's answer is still 000004.
        assert_eq!(after.instances, before.instances, "{bad}");
        assert_eq!(after.responses, before.responses, "{bad}");
        let event = &after.events[0];
        assert!(
            event.delivered_at.is_none() && !event.dead,
            "{bad}: {event:?}"
        );
        assert!(
            event
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("invalid refusal")),
            "{bad}: {event:?}"
        );
        let retry = app.new_instance(&order_id, &line, "biz-invalid-3").await;
        assert_eq!(retry.body, answered.body, "{bad}");
        app.advance(Duration::hours(3));
    }
    // Fixed by the vendor: the next delivery refuses for good.
    app.hook().answer("instance.provision", refusal("000106"));
    assert_eq!(app.run_outbox().await, 1);
    assert_eq!(app.status(&instance_id).await, InstanceStatus::Failed);
    app.new_instance(&order_id, &line, "biz-invalid-4")
        .await
        .assert_code("000106");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_message_is_cleaned_and_bounded() {
    let app = spawn_app(TestOptions::default().with_hook()).await;
    let cases = [
        (json!("line\nbreak\u{7}bell\t"), "linebreakbell".to_owned()),
        (json!("x".repeat(300)), "x".repeat(255)),
        (json!("   "), "Product resources sold out.".to_owned()),
        (Value::Null, "Product resources sold out.".to_owned()),
        (json!("该商品资源已售罄"), "该商品资源已售罄".to_owned()),
    ];
    for (n, (message, expected)) in cases.into_iter().enumerate() {
        let (order_id, line, _) = purchase(&app, &format!("biz-msg-{n}")).await;
        app.hook().answer(
            "instance.provision",
            json!({"refuse": {"code": "000106", "message": message}}),
        );
        assert_eq!(app.run_outbox().await, 1);
        let reply = app.new_instance(&order_id, &line, "biz-msg-retry").await;
        reply.assert_code("000106");
        assert_eq!(reply.json()["resultMsg"], expected.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_after_the_instance_is_ready_changes_nothing() {
    let app = spawn_app(TestOptions::default().with_hook()).await;
    let (order_id, line, instance_id) = purchase(&app, "biz-late").await;
    // The first delivery fails; meanwhile the vendor's system makes the instance ready
    // through the API; the retried delivery then answers a refusal.
    app.hook().go_down(503);
    app.run_outbox().await;
    let (status, _) = app
        .mark_ready(&instance_id, &super::vendor_app_info())
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(app.status(&instance_id).await, InstanceStatus::Active);
    app.hook().come_up();
    app.hook().answer("instance.provision", refusal("000100"));
    app.advance(Duration::minutes(1));
    let before = app.snapshot().await;
    app.run_outbox().await;
    let after = app.snapshot().await;
    assert_eq!(after.instances, before.instances);
    assert_eq!(after.responses, before.responses);
    assert_eq!(app.status(&instance_id).await, InstanceStatus::Active);
    app.new_instance(&order_id, &line, "biz-late-2")
        .await
        .assert_code("000004");
}

/// With `provision_wait_ms`, a hook that refuses at once has its refusal answered in the same
/// call; the retry gets the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_refusal_is_answered_in_the_same_call_sqlite() {
    let options = TestOptions::default().with_hook();
    a_quick_refusal_is_answered_in_the_same_call(options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_refusal_is_answered_in_the_same_call_postgres() {
    let test = "a_quick_refusal_is_answered_in_the_same_call_postgres";
    if let Some(options) = TestOptions::on(Backend::Postgres, test) {
        a_quick_refusal_is_answered_in_the_same_call(options.with_hook()).await;
    }
}

async fn a_quick_refusal_is_answered_in_the_same_call(options: TestOptions) {
    let app = Arc::new(spawn_app(options.configure(|c| c.provision_wait_ms = 2_500)).await);
    // The outbox worker, as `serve` runs it (woken by the commit, here polled).
    let worker = app.clone();
    let drain = tokio::spawn(async move {
        loop {
            worker.run_outbox().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    for code in CODES {
        app.hook().answer("instance.provision", refusal(code));
        let placed = app.place_order(period_order());
        let line = &placed.order_line_ids[0];
        let first = app.new_instance(&placed.order_id, line, "biz-quick").await;
        first.assert_code(code);
        assert_eq!(first.json()["resultMsg"], format!("refused with {code}"));
        let retry = app
            .new_instance(&placed.order_id, line, "biz-quick-2")
            .await;
        assert_eq!(retry.body, first.body);
    }
    // A hook that answers "later" ends the wait at once: 000004, well inside the budget.
    app.hook().answer("instance.provision", json!({"ok": true}));
    let placed = app.place_order(period_order());
    let started = std::time::Instant::now();
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-later")
        .await;
    reply.assert_code("000004");
    assert!(started.elapsed() < std::time::Duration::from_millis(2_000));
    drain.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_end_url_in_the_new_instance_answer_follows_the_setting() {
    // Built-in provisioner, default `when-known`: the URL is known, so it is there.
    let app = spawn_app(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-url")
        .await;
    reply.assert_code("000000");
    let id = reply.instance_id();
    assert_eq!(
        reply.json()["appInfo"],
        json!({"frontEndUrl": format!("https://app.example.com/i/{id}")})
    );

    // `never`: instanceId only.
    let app = spawn_app(TestOptions::default().configure(|c| {
        c.frontend_url_in_new_instance = koogate_gateway::config::FrontEndUrlInNewInstance::Never;
    }))
    .await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-url")
        .await;
    assert!(reply.json().get("appInfo").is_none(), "{}", reply.text());

    // With a hook, `when-known`: not known while the vendor provisions.
    let app = spawn_app(TestOptions::default().with_hook()).await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-url-hook")
        .await;
    reply.assert_code("000004");
    assert!(reply.json().get("appInfo").is_none(), "{}", reply.text());

    // With a hook, `always`: from the template while provisioning.
    let app = spawn_app(TestOptions::default().with_hook().configure(|c| {
        c.frontend_url_in_new_instance = koogate_gateway::config::FrontEndUrlInNewInstance::Always;
    }))
    .await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(
            &placed.order_id,
            &placed.order_line_ids[0],
            "biz-url-always",
        )
        .await;
    reply.assert_code("000004");
    let id = reply.instance_id();
    assert_eq!(
        reply.json()["appInfo"],
        json!({"frontEndUrl": format!("https://app.example.com/i/{id}")})
    );
}
