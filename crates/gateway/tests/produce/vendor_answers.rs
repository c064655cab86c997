//! Questions the vendor's hook answers: the license for `getLicenseAsync` (uploaded to the
//! simulated market-event API) and `changeInstanceCheck`, asked synchronously inside the call.

use std::time::{Duration, Instant};

use base64::Engine as _;
use koogate_sim::openapi::UploadContent;
use serde_json::{Value, json};

use crate::period_order;
use crate::support::{TestApp, TestOptions, spawn_app};

async fn hooked_app() -> TestApp {
    spawn_app(TestOptions::default().with_hook()).await
}

async fn create(app: &TestApp, business_id: &str) -> String {
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], business_id)
        .await;
    // 000004 while a hook provisions; 000000 when the built-in provisioner finished at once.
    assert!(
        ["000000", "000004"].contains(&reply.code().as_str()),
        "{}",
        reply.text()
    );
    reply.instance_id()
}

fn license_request(instance_id: &str, event_id: &str) -> Value {
    json!({
        "activity": "getLicenseAsync", "instanceId": instance_id, "eventId": event_id,
        "deviceFingerprint": "MAC|DISK|BOARD|CPU", "effectiveTime": "2025-03-01 08:00:00 z",
        "expireTime": "2026-03-01 08:00:00 z",
    })
}

fn event_count(types: &[String], wanted: &str) -> usize {
    types.iter().filter(|t| t.as_str() == wanted).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hooks_license_string_is_uploaded_once() {
    let app = hooked_app().await;
    app.hook()
        .answer("license.requested", json!({"license": "LIC-ABC-123"}));
    let id = create(&app, "biz-lic-hook").await;
    app.call(license_request(&id, "evt-hook-1"))
        .await
        .assert_code("000004");
    app.run_outbox().await;

    let uploads = app.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].event_id, "evt-hook-1");
    assert_eq!(
        uploads[0].content,
        UploadContent::Characters("LIC-ABC-123".into())
    );
    // The hook saw the request, then learns the upload succeeded.
    let asked = app
        .hook()
        .accepted()
        .into_iter()
        .find(|d| d.event_type() == "license.requested")
        .unwrap();
    assert_eq!(asked.body["data"]["eventId"], "evt-hook-1");
    assert_eq!(
        asked.body["data"]["deviceFingerprint"],
        "MAC|DISK|BOARD|CPU"
    );
    let uploaded = app
        .hook()
        .accepted()
        .into_iter()
        .find(|d| d.event_type() == "license.uploaded")
        .unwrap();
    assert_eq!(uploaded.body["data"]["source"], "hook");
    assert_eq!(uploaded.body["data"]["type"], "CHARACTERS");

    // A retry of the same request changes nothing.
    app.call(license_request(&id, "evt-hook-1"))
        .await
        .assert_code("000004");
    app.run_outbox().await;
    assert_eq!(app.uploads().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hooks_license_file_is_uploaded_as_a_file() {
    let app = hooked_app().await;
    let file = b"-----BEGIN LICENSE-----\n\x00\x01binary\n-----END LICENSE-----\n".to_vec();
    app.hook().answer(
        "license.requested",
        json!({"licenseFile": {
            "fileName": "product.lic",
            "contentBase64": base64::engine::general_purpose::STANDARD.encode(&file),
        }}),
    );
    let id = create(&app, "biz-lic-file").await;
    app.call(license_request(&id, "evt-file-1"))
        .await
        .assert_code("000004");
    app.run_outbox().await;
    let uploads = app.uploads();
    assert_eq!(uploads.len(), 1);
    // The simulator checked the metadata's sha256 against the file part before accepting it.
    assert_eq!(
        uploads[0].content,
        UploadContent::File {
            file_name: "product.lic".into(),
            bytes: file
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_without_a_license_uploads_it_itself() {
    let app = hooked_app().await;
    let id = create(&app, "biz-lic-self").await;
    app.call(license_request(&id, "evt-self-1"))
        .await
        .assert_code("000004");
    app.run_outbox().await;
    assert!(app.uploads().is_empty());
    let events = app.events(&id).await;
    let requested = events
        .iter()
        .find(|e| e.event_type == "license.requested")
        .unwrap();
    assert!(requested.delivered_at.is_some() && !requested.dead);
    let types = app.event_types(&id).await;
    assert_eq!(event_count(&types, "license.uploaded"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_license_answer_parks_the_event() {
    let app = hooked_app().await;
    app.hook()
        .answer("license.requested", json!({"license": "x".repeat(1025)}));
    let id = create(&app, "biz-lic-long").await;
    app.call(license_request(&id, "evt-long-1"))
        .await
        .assert_code("000004");
    app.run_outbox().await;
    assert!(app.uploads().is_empty());
    let events = app.events(&id).await;
    let requested = events
        .iter()
        .find(|e| e.event_type == "license.requested")
        .unwrap();
    assert!(requested.dead, "{requested:?}");
    let error = requested.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("licenseFile"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_fails_is_retried_until_it_lands() {
    let mut app = spawn_app(TestOptions::default()).await;
    let id = create(&app, "biz-lic-retry").await;
    app.call(license_request(&id, "evt-retry-1"))
        .await
        .assert_code("000004");
    // KooGallery's open API is unreachable: the event stays pending with the reason.
    app.stop_openapi().await;
    app.run_outbox().await;
    let requested = app
        .events(&id)
        .await
        .into_iter()
        .find(|e| e.event_type == "license.requested")
        .unwrap();
    assert!(requested.delivered_at.is_none() && !requested.dead);
    let error = requested.last_error.clone().unwrap_or_default();
    assert!(error.contains("license upload"), "{error}");
    // Back up: the next attempt, after the backoff, uploads it once.
    app.restart_openapi().await;
    app.advance(chrono::Duration::minutes(5));
    app.run_outbox().await;
    let uploads = app.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].event_id, "evt-retry-1");
    let types = app.event_types(&id).await;
    assert_eq!(event_count(&types, "license.uploaded"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_check_asks_the_hook() {
    let app = hooked_app().await;
    let id = create(&app, "biz-change").await;
    app.run_outbox().await;
    let before = app.snapshot().await;

    // A hook that acknowledges without saying leaves it to the default (allow).
    app.change_check(&id).await.assert_code("000000");
    let asked = app
        .hook()
        .accepted()
        .into_iter()
        .find(|d| d.event_type() == "instance.change_check")
        .unwrap();
    assert_eq!(asked.body["instanceId"], id.as_str());
    assert_eq!(asked.body["data"]["productInfo"]["skuCode"], "sku-pro");

    app.hook()
        .answer("instance.change_check", json!({"allowed": true}));
    app.change_check(&id).await.assert_code("000000");

    app.hook().answer(
        "instance.change_check",
        json!({"allowed": false, "reason": "downgrades are not supported\n"}),
    );
    let refused = app.change_check(&id).await;
    refused.assert_code("000005");
    assert_eq!(refused.json()["resultMsg"], "downgrades are not supported");

    app.hook()
        .answer("instance.change_check", json!({"allowed": false}));
    let refused = app.change_check(&id).await;
    refused.assert_code("000005");
    assert!(
        refused.json()["resultMsg"]
            .as_str()
            .unwrap()
            .contains("cannot be changed")
    );

    // The hook is down: refuse rather than allow a change the vendor may not support.
    app.hook()
        .answer("instance.change_check", json!({"allowed": true}));
    app.hook().go_down(503);
    app.change_check(&id).await.assert_code("000005");
    app.hook().come_up();

    // A question, not an event: nothing is stored.
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_change_check_hook_is_refused_inside_the_budget() {
    let app = hooked_app().await;
    let id = create(&app, "biz-change-slow").await;
    app.hook()
        .answer("instance.change_check", json!({"allowed": true}));
    app.hook()
        .delay("instance.change_check", Duration::from_secs(8));
    let started = Instant::now();
    let reply = app.change_check(&id).await;
    let took = started.elapsed();
    reply.assert_code("000005");
    // Structural, not a timing benchmark: the 3 s hook timeout must have cut the 8 s answer
    // short, well inside KooGallery's 5 s budget.
    assert!(took < Duration::from_secs(6), "took {took:?}");
}
