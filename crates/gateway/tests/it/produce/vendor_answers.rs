//! Questions the vendor's hook answers: the license for `getLicenseAsync` (uploaded to the
//! simulated market-event API) and `changeInstanceCheck`, asked synchronously inside the call.

use std::time::{Duration, Instant};

use base64::Engine as _;
use koogate_gateway::store::OutboxEvent;
use koogate_sim::openapi::UploadContent;
use serde_json::{Value, json};

use super::period_order;
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

/// The instance's `license.requested` event.
async fn license_requested(app: &TestApp, instance_id: &str) -> OutboxEvent {
    app.events(instance_id)
        .await
        .into_iter()
        .find(|e| e.event_type == "license.requested")
        .unwrap()
}

/// How many `license.requested` deliveries the hook received.
fn times_asked_for_a_license(app: &TestApp) -> usize {
    app.hook()
        .received()
        .iter()
        .filter(|d| d.event_type() == "license.requested")
        .count()
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
    let requested = license_requested(&app, &id).await;
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
    let requested = license_requested(&app, &id).await;
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
    // KooGallery's open API is unreachable: the license is issued, and its upload job waits
    // with the reason, on its own ordering key (the instance's events are not held back).
    app.stop_openapi().await;
    app.run_outbox().await;
    let job = app.events("license-upload:evt-retry-1").await.remove(0);
    assert_eq!(job.event_type, "koogate.license_upload");
    assert!(job.delivered_at.is_none() && !job.dead);
    let error = job.last_error.clone().unwrap_or_default();
    assert!(error.contains("license upload"), "{error}");
    // The sealed license is not readable in the stored job.
    assert!(!job.payload.contains("kg1."), "{}", job.payload);
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    app.run_outbox().await;
    let frozen = app
        .events(&id)
        .await
        .into_iter()
        .find(|e| e.event_type == "instance.frozen")
        .unwrap();
    assert!(frozen.delivered_at.is_some());
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

    // An `allowed` that is not a boolean refuses rather than falling back to "allow".
    app.hook().answer(
        "instance.change_check",
        json!({"allowed": "false", "reason": 42}),
    );
    let refused = app.change_check(&id).await;
    refused.assert_code("000005");
    assert!(
        refused.json()["resultMsg"]
            .as_str()
            .unwrap()
            .contains("cannot be changed")
    );

    // A hook that does not know the event (404) leaves it to the default, as before upgrading.
    app.hook().refuse("instance.change_check", 404);
    app.change_check(&id).await.assert_code("000000");
    app.hook().refuse("instance.change_check", 500);
    app.change_check(&id).await.assert_code("000005");
    app.hook().refuse("instance.change_check", 200);

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
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_is_asked_once_however_often_the_upload_is_retried() {
    let mut app = hooked_app().await;
    app.hook()
        .answer("license.requested", json!({"license": "LIC-ONCE-1"}));
    let id = create(&app, "biz-lic-once").await;
    app.call(license_request(&id, "evt-once-1"))
        .await
        .assert_code("000004");
    app.stop_openapi().await;
    app.run_outbox().await;
    // Later attempts fail too; then KooGallery is back.
    for _ in 0..3 {
        app.advance(chrono::Duration::minutes(15));
        app.run_outbox().await;
    }
    app.restart_openapi().await;
    app.advance(chrono::Duration::minutes(15));
    app.run_outbox().await;
    let asked = times_asked_for_a_license(&app);
    assert_eq!(asked, 1, "the hook is asked for the license once");
    let uploads = app.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(
        uploads[0].content,
        UploadContent::Characters("LIC-ONCE-1".into())
    );
    let job = app.events("license-upload:evt-once-1").await.remove(0);
    assert!(job.attempts >= 4, "{job:?}");
    assert!(job.delivered_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_is_parked_and_redelivered_without_asking_the_hook_again() {
    let app = hooked_app().await;
    app.hook()
        .answer("license.requested", json!({"license": "LIC-PARK-1"}));
    let id = create(&app, "biz-lic-park").await;
    app.call(license_request(&id, "evt-park-1"))
        .await
        .assert_code("000004");
    // KooGallery refuses koogate's AK/SK (401 APIGW.0301): retrying cannot help.
    let ak = app.sim().ak.clone();
    let sk = app.sim().sk.clone();
    assert!(app.sim().state().remove_key(&ak));
    app.run_outbox().await;
    let job = app.events("license-upload:evt-park-1").await.remove(0);
    assert!(job.dead, "{job:?}");
    assert!(app.uploads().is_empty());
    // The operator fixes the credentials and re-delivers the job.
    app.sim().state().add_key(&ak, sk);
    let (status, _) = app
        .post(
            &format!("/api/v1/events/{}/redeliver", job.id),
            Some(&app.api_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 202);
    app.run_outbox().await;
    assert_eq!(app.uploads().len(), 1);
    let asked = times_asked_for_a_license(&app);
    assert_eq!(asked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_license_answers_park_the_request_instead_of_passing_silently() {
    let app = hooked_app().await;
    for (n, answer) in [
        json!({"license": 123}),
        json!({"licenseFile": {"fileName": "a.lic"}}),
        json!({"licenseFile": {"fileName": "a.lic", "contentBase64": ""}}),
    ]
    .into_iter()
    .enumerate()
    {
        app.hook().answer("license.requested", answer.clone());
        let id = create(&app, &format!("biz-lic-bad-{n}")).await;
        app.call(license_request(&id, &format!("evt-bad-{n}")))
            .await
            .assert_code("000004");
        app.run_outbox().await;
        let requested = license_requested(&app, &id).await;
        assert!(requested.dead, "{answer}: {requested:?}");
    }
    assert!(app.uploads().is_empty());
}
