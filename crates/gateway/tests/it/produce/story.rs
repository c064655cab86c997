//! The core story, on both backends, with the built-in provisioner and with a vendor hook:
//! newInstance → query → refresh → freeze → unfreeze → upgrade → release, every answer, stored
//! state and event checked, then what a released instance still answers. The license and order
//! activities ride along so that every activity runs on both backends.

use chrono::{TimeZone, Utc};
use koogate_gateway::store::InstanceStatus;
use koogate_protocol::crypto::credential::{self, EncryptType};
use koogate_sim::openapi::UploadContent;
use serde_json::json;

use super::{change_order, period_order, renew_order, vendor_app_info};
use crate::support::{Backend, TestApp, TestOptions, spawn_app};

async fn story_app(backend: Backend, hook: bool, test: &str) -> Option<TestApp> {
    let options = TestOptions::on(backend, test)?;
    let options = if hook { options.with_hook() } else { options };
    Some(spawn_app(options).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_story_sqlite() {
    let app = story_app(Backend::Sqlite, false, "core_story_sqlite").await;
    core_story(app.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_story_sqlite_with_hook() {
    let app = story_app(Backend::Sqlite, true, "core_story_sqlite_with_hook").await;
    core_story(app.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_story_postgres() {
    if let Some(app) = story_app(Backend::Postgres, false, "core_story_postgres").await {
        core_story(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_story_postgres_with_hook() {
    if let Some(app) = story_app(Backend::Postgres, true, "core_story_postgres_with_hook").await {
        core_story(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_and_order_activities_sqlite() {
    let app = story_app(
        Backend::Sqlite,
        false,
        "license_and_order_activities_sqlite",
    )
    .await;
    license_and_order_activities(app.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_and_order_activities_postgres() {
    let test = "license_and_order_activities_postgres";
    if let Some(app) = story_app(Backend::Postgres, false, test).await {
        license_and_order_activities(app).await;
    }
}

/// The credentials of `queryInstance`'s first `info[]` entry, decrypted with the access key.
async fn query_credentials(app: &TestApp, id: &str) -> (String, String, String) {
    let reply = app.query(&[id]).await;
    reply.assert_code("000000");
    let json = reply.json();
    assert_eq!(json["encryptType"], "1", "{json}");
    let info = &json["info"][0];
    assert_eq!(info["instanceId"], id);
    let app_info = &info["appInfo"];
    let open = |field: &str| {
        let text = app_info[field].as_str().unwrap();
        credential::decrypt(&app.keys.basic, EncryptType::Aes256, text).unwrap()
    };
    let url = app_info["frontEndUrl"].as_str().unwrap().to_owned();
    (url, open("userName"), open("password"))
}

async fn core_story(app: TestApp) {
    let hooked = app.hook.is_some();
    if hooked {
        app.hook().provide_app_info(vendor_app_info());
    }
    let placed = app.place_order(period_order());
    let (order_id, line_id) = (&placed.order_id, &placed.order_line_ids[0]);

    // newInstance: the built-in provisioner answers at once; a hook makes it 000004 until the
    // vendor answers the provision event.
    let created = app.new_instance(order_id, line_id, "biz-story-1").await;
    created.assert_code(if hooked { "000004" } else { "000000" });
    let id = created.instance_id();
    assert_eq!(
        id, "biz-story-1",
        "the first businessId becomes the instance id"
    );
    let instance = app.instance(&id).await;
    assert_eq!(instance.order_id, *order_id);
    assert_eq!(instance.order_line_id, *line_id);
    assert_eq!(instance.charging_mode.as_str(), "PERIOD");
    assert_eq!(instance.sku_code.as_deref(), Some("sku-basic"));
    assert_eq!(
        instance.expire_time,
        Some(Utc.with_ymd_and_hms(2025, 4, 1, 23, 59, 59).unwrap())
    );
    assert!(!instance.trial && !instance.test_flag);
    let stored_order = app.store.get_order(order_id, line_id).await.unwrap();
    assert_eq!(stored_order.unwrap().order_type, "NEW");

    if hooked {
        assert_eq!(instance.status, InstanceStatus::Provisioning);
        let pending = app.query(&[&id]).await;
        pending.assert_code("000000");
        assert!(pending.json()["info"][0].get("appInfo").is_none());
        app.run_outbox().await;
        assert_eq!(app.status(&id).await, InstanceStatus::Active);
        let (url, user, password) = query_credentials(&app, &id).await;
        assert_eq!(url, "https://vendor.example.com/tenant/42");
        assert_eq!(
            (user.as_str(), password.as_str()),
            ("tenant-admin", "S3cret!pass-42")
        );
    } else {
        assert_eq!(instance.status, InstanceStatus::Active);
        let (url, user, password) = query_credentials(&app, &id).await;
        assert_eq!(url, format!("https://app.example.com/i/{id}"));
        assert_eq!(user, "admin");
        assert_eq!(password.len(), 16);
    }

    // refreshInstance: a renewal moves the expiry; the same renewal again changes nothing more.
    let renewal = app.place_order(renew_order());
    app.refresh(&id, &renewal, "20250501235959")
        .await
        .assert_code("000000");
    let renewed_at = Some(Utc.with_ymd_and_hms(2025, 5, 1, 23, 59, 59).unwrap());
    assert_eq!(app.instance(&id).await.expire_time, renewed_at);
    let before_repeat = app.snapshot().await;
    app.refresh(&id, &renewal, "20250501235959")
        .await
        .assert_code("000000");
    assert_eq!(
        app.snapshot().await,
        before_repeat,
        "a repeated renewal is a no-op"
    );

    // updateInstanceStatus: freeze, freeze again (no-op), unfreeze.
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Frozen);
    let frozen = app.snapshot().await;
    app.set_status(&id, "FREEZE").await.assert_code("000000");
    assert_eq!(app.snapshot().await, frozen, "a repeated freeze is a no-op");
    app.set_status(&id, "UNFREEZE").await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Active);

    // changeInstanceCheck: allowed by default, changes nothing.
    let before_check = app.snapshot().await;
    app.change_check(&id).await.assert_code("000000");
    assert_eq!(app.snapshot().await, before_check);

    // upgradeInstance: the new specification comes from the CHANGE order.
    let change = app.place_order(change_order());
    app.upgrade(&id, &change).await.assert_code("000000");
    let upgraded = app.instance(&id).await;
    assert_eq!(upgraded.sku_code.as_deref(), Some("sku-pro"));
    assert_eq!(upgraded.status, InstanceStatus::Active);
    let change_line = &change.order_line_ids[0];
    let change_record = app.store.get_order(&change.order_id, change_line).await;
    assert_eq!(change_record.unwrap().unwrap().order_type, "CHANGE");
    let before_repeat = app.snapshot().await;
    app.upgrade(&id, &change).await.assert_code("000000");
    assert_eq!(
        app.snapshot().await,
        before_repeat,
        "a repeated upgrade is a no-op"
    );

    // releaseInstance, twice.
    app.release(&id).await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Released);
    let released = app.snapshot().await;
    app.release(&id).await.assert_code("000000");
    assert_eq!(
        app.snapshot().await,
        released,
        "a repeated release is a no-op"
    );

    // A released instance is gone for renewals and upgrades, and hands out no credentials.
    let late_renewal = app.place_order(renew_order());
    app.refresh(&id, &late_renewal, "20250601235959")
        .await
        .assert_code("000003");
    let late_change = app.place_order(change_order());
    app.upgrade(&id, &late_change).await.assert_code("000003");
    app.change_check(&id).await.assert_code("000003");
    app.call(json!({
        "activity": "getLicenseAsync", "instanceId": id, "eventId": "evt-after-release",
        "effectiveTime": "2025-03-01 08:00:00 z", "expireTime": "2025-04-01 23:59:59 z",
    }))
    .await
    .assert_code("000003");
    let query = app.query(&[&id]).await;
    query.assert_code("000000");
    assert!(query.json()["info"][0].get("appInfo").is_none());
    assert_eq!(app.snapshot().await, released);

    // The instance's events, in order; with a hook, each delivered exactly once, in order.
    let mut expected = vec!["instance.provision", "instance.ready", "instance.renewed"];
    expected.extend(["instance.frozen", "instance.unfrozen"]);
    expected.extend(["instance.upgraded", "instance.released"]);
    assert_eq!(app.event_types(&id).await, expected);
    assert_eq!(app.instances().await.len(), 1);
    if hooked {
        app.run_outbox().await;
        let events = app.events(&id).await;
        assert!(events.iter().all(|e| e.delivered_at.is_some() && !e.dead));
        // changeInstanceCheck was a synchronous question to the hook, not an outbox event.
        let (questions, accepted): (Vec<_>, Vec<_>) = app
            .hook()
            .accepted()
            .into_iter()
            .partition(|d| d.event_type() == "instance.change_check");
        assert_eq!(questions.len(), 1);
        let ids: Vec<&str> = accepted.iter().map(|d| d.webhook_id.as_str()).collect();
        let stored: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, stored, "every event once, in order");
        for (delivery, event) in accepted.iter().zip(&events) {
            assert_eq!(delivery.raw, event.payload.as_bytes());
            assert_eq!(delivery.body["instanceId"], id.as_str());
        }
    }
}

async fn license_and_order_activities(app: TestApp) {
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-lic-1")
        .await
        .instance_id();

    // orderNotify: signed with the notify key; the order is fetched, kept and forwarded once.
    let notify = app.place_order(period_order());
    app.order_notify(&notify).await.assert_code("000000");
    let key = format!("order:{}", notify.order_id);
    assert_eq!(app.event_types(&key).await, ["order.notified"]);
    let record = app
        .store
        .get_order(&notify.order_id, &notify.order_line_ids[0])
        .await
        .unwrap();
    assert_eq!(record.unwrap().order_type, "NEW");
    let first = app.order_notify(&notify).await;
    first.assert_code("000000");
    assert_eq!(
        app.events(&key).await.len(),
        1,
        "a repeated notify is a no-op"
    );

    // getLicenseAsync: 000004, one license.requested event; a repeat replays the same bytes.
    let license_request = json!({
        "activity": "getLicenseAsync", "instanceId": id, "eventId": "evt-lic-0001",
        "deviceFingerprint": "fp-0001", "effectiveTime": "2025-03-01 08:00:00 z",
        "expireTime": "2025-04-01 23:59:59 z",
    });
    let asked = app.call(license_request.clone()).await;
    asked.assert_code("000004");
    assert_eq!(app.call(license_request).await.body, asked.body);
    let requested = app.events(&id).await;
    let requested: Vec<_> = requested
        .iter()
        .filter(|e| e.event_type == "license.requested")
        .collect();
    assert_eq!(requested.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&requested[0].payload).unwrap();
    assert_eq!(payload["data"]["deviceFingerprint"], "fp-0001");
    // Without a hook the built-in generator issues the license once the event is processed,
    // and uploads it to the market-event API under the request's eventId.
    assert!(app.uploads().is_empty());
    app.run_outbox().await;
    let uploads = app.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].event_id, "evt-lic-0001");
    assert_eq!(uploads[0].metadata["type"], "CHARACTERS");
    let UploadContent::Characters(license) = &uploads[0].content else {
        panic!("expected a license string, got {:?}", uploads[0].content);
    };
    assert_builtin_license(
        &app,
        license,
        &id,
        "evt-lic-0001",
        "2025-03-01T08:00:00+00:00",
    )
    .await;
    assert_eq!(
        app.event_types(&id)
            .await
            .iter()
            .filter(|t| t.as_str() == "license.uploaded")
            .count(),
        1
    );
    // KooGallery's retry of the same request: same answer, no second license.
    app.call(json!({
        "activity": "getLicenseAsync", "instanceId": id, "eventId": "evt-lic-0001",
        "deviceFingerprint": "fp-0001", "effectiveTime": "2025-03-01 08:00:00 z",
        "expireTime": "2025-04-01 23:59:59 z",
    }))
    .await
    .assert_code("000004");
    app.run_outbox().await;
    assert_eq!(app.uploads().len(), 1);
    // A periodic instance needs an expiry; an unknown instance is 000003.
    app.call(json!({
        "activity": "getLicenseAsync", "instanceId": id, "eventId": "evt-lic-0002",
        "effectiveTime": "2025-03-01 08:00:00 z",
    }))
    .await
    .assert_code("000902");
    app.call(json!({
        "activity": "getLicenseAsync", "instanceId": "no-such-instance", "eventId": "evt-lic-0003",
        "effectiveTime": "2025-03-01 08:00:00 z", "expireTime": "2025-04-01 23:59:59 z",
    }))
    .await
    .assert_code("000003");

    // The license-code activities: signed with the license key, each change forwarded once.
    let code = "LIC-CODE-0001";
    let refresh = json!({
        "activity": "refreshLicenseCode", "license": code, "orderId": placed.order_id,
        "orderLineId": placed.order_line_ids[0], "expireTime": "20250501235959", "scene": "RENEWAL",
    });
    app.call(refresh.clone()).await.assert_code("000000");
    app.call(refresh).await.assert_code("000000");
    let status = |status: &str| json!({"activity": "updateLicenseCodeStatus", "license": code, "status": status});
    app.call(status("FREEZE")).await.assert_code("000000");
    app.call(status("FREEZE")).await.assert_code("000000");
    app.call(status("UNFREEZE")).await.assert_code("000000");
    app.call(status("FREEZE")).await.assert_code("000000");
    let release = json!({"activity": "releaseLicenseCode", "license": code});
    app.call(release.clone()).await.assert_code("000000");
    app.call(release).await.assert_code("000000");

    let changes: Vec<serde_json::Value> = app
        .events(&format!("license:{code}"))
        .await
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.payload).unwrap()["data"].clone())
        .collect();
    let actions: Vec<String> = changes
        .iter()
        .map(|d| match d["action"].as_str().unwrap() {
            "status" => format!("status:{}", d["status"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        actions,
        [
            "refresh",
            "status:FREEZE",
            "status:UNFREEZE",
            "status:FREEZE",
            "release"
        ],
        "each change once, and the vendor's last word on the code matches KooGallery's"
    );
    assert!(changes.iter().all(|d| d["license"] == code));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trial_becomes_formal_on_refresh() {
    use koogate_sim::orders::{LineSpec, OrderSpec, OrderType};
    let app = spawn_app(TestOptions::default()).await;
    let trial = app.place_order(OrderSpec::new(OrderType::Trial).line(LineSpec::period(
        "day",
        7,
        "20250308235959",
    )));
    let id = app
        .new_instance(&trial.order_id, &trial.order_line_ids[0], "biz-trial")
        .await
        .instance_id();
    assert!(app.instance(&id).await.trial);
    let formal = app.place_order(
        OrderSpec::new(OrderType::TrialToFormal).line(LineSpec::period(
            "month",
            1,
            "20250401235959",
        )),
    );
    app.call(json!({
        "activity": "refreshInstance", "instanceId": id, "orderId": formal.order_id,
        "orderLineId": formal.order_line_ids[0], "expireTime": "20250401235959",
        "scene": "TRIAL_TO_FORMAL", "productId": "OFFI000000000000000002",
    }))
    .await
    .assert_code("000000");
    let instance = app.instance(&id).await;
    assert!(!instance.trial);
    assert_eq!(
        instance.product_id.as_deref(),
        Some("OFFI000000000000000002")
    );
    assert_eq!(
        instance.expire_time,
        Some(Utc.with_ymd_and_hms(2025, 4, 1, 23, 59, 59).unwrap())
    );
}

/// Checks a built-in license the way vendor software would, following the format documented in
/// the gateway README (not through the gateway's own verifier): fetch the public key from the
/// vendor API, split on the last `.`, check the Ed25519 signature over `kg1.<payload>`, decode the
/// payload.
async fn assert_builtin_license(
    app: &TestApp,
    license: &str,
    instance_id: &str,
    event_id: &str,
    effective: &str,
) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let (status, _, body) = app.get("/api/v1/license-key", Some(&app.api_token)).await;
    assert_eq!(status, 200);
    let key: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(key["algorithm"], "Ed25519");
    let public_key = STANDARD.decode(key["publicKey"].as_str().unwrap()).unwrap();
    let (signed, signature) = license.rsplit_once('.').unwrap();
    let payload = signed.strip_prefix("kg1.").unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public_key)
        .verify(
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(body["instanceId"], instance_id);
    assert_eq!(body["eventId"], event_id);
    assert_eq!(body["effectiveTime"], effective);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_change_takes_the_new_specification_from_the_order_sqlite() {
    renewal_change_takes_the_new_specification_from_the_order(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_change_takes_the_new_specification_from_the_order_postgres() {
    renewal_change_takes_the_new_specification_from_the_order(Backend::Postgres).await;
}

/// `RENEWAL_CHANGE` (saas-v2 §3.3): a renewal whose order carries another SKU. The request
/// names only the expiry; the new specification is read from the renewal order.
async fn renewal_change_takes_the_new_specification_from_the_order(backend: Backend) {
    use koogate_sim::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};
    let test = "renewal_change_takes_the_new_specification_from_the_order";
    let Some(app) = story_app(backend, true, test).await else {
        return;
    };
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(
            &placed.order_id,
            &placed.order_line_ids[0],
            "biz-renew-change",
        )
        .await
        .instance_id();
    app.run_outbox().await;
    assert_eq!(
        app.instance(&id).await.sku_code.as_deref(),
        Some("sku-basic")
    );
    let renewal = app.place_order(OrderSpec::new(OrderType::Renew).line(
        LineSpec::period("month", 1, "20250501235959").products(vec![ProductSpec::new(
            "OFFI000000000000000001",
            "sku-pro",
            "SIM测试商品,专业版",
        )]),
    ));
    let body = json!({
        "activity": "refreshInstance", "instanceId": id, "orderId": renewal.order_id,
        "orderLineId": renewal.order_line_ids[0], "expireTime": "20250501235959",
        "scene": "RENEWAL_CHANGE",
    });
    app.call(body.clone()).await.assert_code("000000");
    let renewed = app.instance(&id).await;
    assert_eq!(renewed.sku_code.as_deref(), Some("sku-pro"));
    assert_eq!(
        renewed.expire_time,
        Some(Utc.with_ymd_and_hms(2025, 5, 1, 23, 59, 59).unwrap())
    );
    let stored = app
        .store
        .get_order(&renewal.order_id, &renewal.order_line_ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.order_type, "RENEW");
    // The vendor hears of it once, with the new SKU and the order.
    app.run_outbox().await;
    let renewed_events: Vec<_> = app
        .hook()
        .accepted()
        .into_iter()
        .filter(|d| d.event_type() == "instance.renewed")
        .collect();
    assert_eq!(renewed_events.len(), 1, "{renewed_events:?}");
    let data = &renewed_events[0].body["data"];
    assert_eq!(data["scene"], "RENEWAL_CHANGE");
    assert_eq!(data["skuCode"], "sku-pro");
    assert!(data["order"].is_object(), "{data}");
    // KooGallery's retry changes nothing more.
    let before = app.snapshot().await;
    app.call(body).await.assert_code("000000");
    assert_eq!(app.snapshot().await, before);
}
