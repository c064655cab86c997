//! One instance per purchase, however KooGallery asks: 50 concurrent identical calls, repeats,
//! retries with another businessId, and on-demand orders whose lines share a product.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use koogate_gateway::store::InstanceStatus;
use koogate_sim::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};
use serde_json::json;

use super::period_order;
use crate::support::{Backend, TestApp, TestOptions, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_new_instance_calls_sqlite() {
    let app = spawn_app(TestOptions::default()).await;
    fifty_concurrent_new_instance_calls(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_new_instance_calls_postgres() {
    let test = "fifty_concurrent_new_instance_calls_postgres";
    if let Some(options) = TestOptions::on(Backend::Postgres, test) {
        fifty_concurrent_new_instance_calls(spawn_app(options).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_new_instance_calls_with_hook() {
    let app = spawn_app(TestOptions::default().with_hook()).await;
    fifty_concurrent_new_instance_calls(app).await;
}

/// Each call freshly signed with its own nonce, all for the same order line.
async fn fifty_concurrent_new_instance_calls(app: TestApp) {
    let placed = app.place_order(period_order());
    let body = json!({
        "activity": "newInstance", "businessId": "biz-concurrent", "orderId": placed.order_id,
        "orderLineId": placed.order_line_ids[0], "testFlag": "0",
    });
    let app = Arc::new(app);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move { app.call(body).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for call in calls {
        bodies.push(call.await.unwrap().body);
    }
    let distinct: BTreeSet<&Vec<u8>> = bodies.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "50 answers, not byte-identical: {distinct:?}"
    );
    let first = app.call(body.clone()).await;
    assert_eq!(
        first.body, bodies[0],
        "a later repeat is byte-identical too"
    );
    let expected = if app.hook.is_some() {
        "000004"
    } else {
        "000000"
    };
    first.assert_code(expected);

    let instances = app.instances().await;
    assert_eq!(instances.len(), 1, "exactly one instance");
    assert_eq!(instances[0].instance_id, first.instance_id());
    let provisions = app
        .all_events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "instance.provision")
        .count();
    assert_eq!(provisions, 1, "the vendor is asked to provision once");
    let responses = app.response_keys().await;
    assert_eq!(responses.len(), 1, "{responses:?}");

    // Still the same bytes once a hook has provisioned the instance in the meantime.
    if let Some(hook) = &app.hook {
        hook.provide_app_info(super::vendor_app_info());
        app.run_outbox().await;
        let instance = app.instance(&first.instance_id()).await;
        assert_eq!(instance.status, InstanceStatus::Active);
        assert_eq!(app.call(body).await.body, bodies[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_of_one_instance_sqlite() {
    concurrent_changes_of_one_instance(spawn_app(TestOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_of_one_instance_postgres() {
    let test = "concurrent_changes_of_one_instance_postgres";
    if let Some(options) = TestOptions::on(Backend::Postgres, test) {
        concurrent_changes_of_one_instance(spawn_app(options).await).await;
    }
}

/// Sends `body` `n` times at once, each freshly signed; returns the distinct answers.
async fn concurrently(app: &Arc<TestApp>, body: serde_json::Value, n: usize) -> BTreeSet<Vec<u8>> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move { app.call(body).await })
        })
        .collect();
    let mut answers = BTreeSet::new();
    for call in calls {
        answers.insert(call.await.unwrap().body);
    }
    answers
}

/// Resends of one status change, renewal or release racing each other: one effect each, and
/// the optimistic-concurrency retries never surface as errors.
async fn concurrent_changes_of_one_instance(app: TestApp) {
    let app = Arc::new(app);
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-race")
        .await
        .instance_id();
    let success = br#"{"resultCode":"000000","resultMsg":"success."}"#.to_vec();
    let freeze = json!({"activity": "updateInstanceStatus", "instanceId": id, "status": "FREEZE"});
    assert_eq!(
        concurrently(&app, freeze, 20).await,
        BTreeSet::from([success.clone()])
    );
    let renewal = app.place_order(super::renew_order());
    let refresh = json!({
        "activity": "refreshInstance", "instanceId": id, "orderId": renewal.order_id,
        "orderLineId": renewal.order_line_ids[0], "expireTime": "20250501235959", "scene": "RENEWAL",
    });
    assert_eq!(
        concurrently(&app, refresh, 20).await,
        BTreeSet::from([success.clone()])
    );
    let release = json!({"activity": "releaseInstance", "instanceId": id});
    assert_eq!(
        concurrently(&app, release, 20).await,
        BTreeSet::from([success])
    );
    assert_eq!(
        app.event_types(&id).await,
        [
            "instance.provision",
            "instance.ready",
            "instance.frozen",
            "instance.renewed",
            "instance.released"
        ]
    );
    assert_eq!(app.status(&id).await, InstanceStatus::Released);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_and_retries_return_the_same_instance() {
    let app = spawn_app(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let (order, line) = (&placed.order_id, &placed.order_line_ids[0]);
    let first = app.new_instance(order, line, "biz-first").await;
    first.assert_code("000000");
    assert_eq!(first.instance_id(), "biz-first");
    let after_first = app.snapshot().await;

    // The same call later, and a retry carrying another businessId: same bytes, same instance.
    app.advance(Duration::minutes(5));
    assert_eq!(
        app.new_instance(order, line, "biz-first").await.body,
        first.body
    );
    let retry = app.new_instance(order, line, "biz-second").await;
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.instance_id(), "biz-first");
    assert_eq!(
        app.snapshot().await,
        after_first,
        "repeats store nothing new"
    );

    // Another purchase whose businessId collides with the existing instance id gets its own.
    let other = app.place_order(period_order());
    let fresh = app
        .new_instance(&other.order_id, &other.order_line_ids[0], "biz-first")
        .await;
    fresh.assert_code("000000");
    assert_ne!(fresh.instance_id(), "biz-first");
    assert_eq!(app.instances().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_id_unusable_as_an_id_gets_a_generated_one() {
    let app = spawn_app(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(
            &placed.order_id,
            &placed.order_line_ids[0],
            "biz/with space",
        )
        .await;
    reply.assert_code("000000");
    let id = reply.instance_id();
    assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    assert_eq!(app.instances().await[0].instance_id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_lines_of_one_product_share_one_instance() {
    let app = Arc::new(spawn_app(TestOptions::default()).await);
    let product = || ProductSpec::new("OFFI000000000000000777", "sku-od", "SIM按需商品");
    let placed = app.place_order(
        OrderSpec::new(OrderType::New)
            .line(LineSpec::on_demand(vec![product()]))
            .line(LineSpec::on_demand(vec![product()])),
    );
    let (order, lines) = (&placed.order_id, &placed.order_line_ids);
    let first = app.new_instance(order, &lines[0], "biz-od-1").await;
    first.assert_code("000000");
    let second = app.new_instance(order, &lines[1], "biz-od-2").await;
    second.assert_code("000000");
    assert_eq!(second.instance_id(), first.instance_id());
    let instances = app.instances().await;
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].charging_mode.as_str(), "ON_DEMAND");
    assert_eq!(
        instances[0].product_id.as_deref(),
        Some("OFFI000000000000000777")
    );
    // Each line's call replays its own answer.
    assert_eq!(
        app.new_instance(order, &lines[1], "biz-od-3").await.body,
        second.body
    );
    assert_eq!(app.event_types(&first.instance_id()).await.len(), 2);

    // Both lines of another such order at once: still one instance.
    let concurrent = app.place_order(
        OrderSpec::new(OrderType::New)
            .line(LineSpec::on_demand(vec![product()]))
            .line(LineSpec::on_demand(vec![product()])),
    );
    let calls: Vec<_> = concurrent
        .order_line_ids
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let body = json!({
                "activity": "newInstance", "businessId": format!("biz-odc-{n}"),
                "orderId": concurrent.order_id, "orderLineId": line,
            });
            let app = app.clone();
            tokio::spawn(async move { app.call(body).await })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for call in calls {
        let reply = call.await.unwrap();
        reply.assert_code("000000");
        ids.insert(reply.instance_id());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.instances().await.len(), 2);

    // A different product is a different on-demand instance.
    let other = app.place_order(
        OrderSpec::new(OrderType::New).line(LineSpec::on_demand(vec![ProductSpec::new(
            "OFFI000000000000000888",
            "sku-od2",
            "SIM按需商品2",
        )])),
    );
    let third = app
        .new_instance(&other.order_id, &other.order_line_ids[0], "biz-od-4")
        .await;
    assert_ne!(third.instance_id(), first.instance_id());
    assert_eq!(app.instances().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_rich_new_instance_body_creates_one_instance() {
    // The older body (spec saas-v2 §3.1, signature example): the order inside `orderInfo[]`, no
    // top-level orderId/orderLineId/businessId.
    let app = spawn_app(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let body = json!({
        "activity": "newInstance",
        "buyerInfo": {"customerId": "688055390f3049f283fe9f1aa90f1858", "customerName": "buyer"},
        "orderInfo": [{
            "businessId": "8a2c4e6f-405a-4f8d-8e24-f41090522646", "orderId": placed.order_id,
            "trialFlag": "0", "chargingMode": "PERIOD", "periodType": "month", "periodNumber": 1,
            "productInfo": [{"skuCode": "sku-basic", "productId": "OFFI000000000000000001"}],
            "createTime": "20250101080000", "expireTime": "20250401235959",
        }],
        "testFlag": "0",
    });
    let reply = app.call(body.clone()).await;
    reply.assert_code("000000");
    assert_eq!(reply.instance_id(), "8a2c4e6f-405a-4f8d-8e24-f41090522646");
    assert_eq!(app.call(body).await.body, reply.body);
    let instances = app.instances().await;
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].order_id, placed.order_id);
    assert_eq!(instances[0].sku_code.as_deref(), Some("sku-basic"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_calls_are_marked_as_tests() {
    let app = spawn_app(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let reply = app
        .call(json!({
            "activity": "newInstance", "businessId": "biz-debug", "orderId": placed.order_id,
            "orderLineId": placed.order_line_ids[0], "testFlag": "1",
        }))
        .await;
    reply.assert_code("000000");
    let id = reply.instance_id();
    assert!(app.instance(&id).await.test_flag);
    for event in app.events(&id).await {
        let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(payload["testFlag"], true, "{payload}");
    }
}
