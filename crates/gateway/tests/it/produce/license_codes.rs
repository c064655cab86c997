//! License codes end to end (issue 10 items 1 and 4): refreshLicenseCode,
//! updateLicenseCodeStatus and releaseLicenseCode keep the `license_codes` row in the commit of
//! their answer, a replay changes nothing and answers byte for byte, bad input changes nothing,
//! and the vendor API reads the rows; getLicenseAsync's `000901`, fingerprint limit and the
//! hook's `000900`–`000903` refusals. On SQLite and PostgreSQL.

use chrono::{TimeZone, Utc};
use koogate_gateway::store::LicenseCodeStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::period_order;
use crate::support::{Backend, TestApp, TestOptions, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_codes_are_kept_sqlite() {
    let options = TestOptions::on(Backend::Sqlite, "license_codes_are_kept_sqlite").unwrap();
    license_codes_are_kept(spawn_app(options).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_codes_are_kept_postgres() {
    if let Some(options) = TestOptions::on(Backend::Postgres, "license_codes_are_kept_postgres") {
        license_codes_are_kept(spawn_app(options).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_requests_are_refused_where_the_spec_says_sqlite() {
    let test = "license_requests_are_refused_where_the_spec_says_sqlite";
    let options = TestOptions::on(Backend::Sqlite, test).unwrap();
    license_refusals(spawn_app(options.with_hook()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_requests_are_refused_where_the_spec_says_postgres() {
    let test = "license_requests_are_refused_where_the_spec_says_postgres";
    if let Some(options) = TestOptions::on(Backend::Postgres, test) {
        license_refusals(spawn_app(options.with_hook()).await).await;
    }
}

async fn code_view(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = app.get(path, Some(&app.api_token)).await;
    (status, serde_json::from_slice(&body).unwrap())
}

async fn license_codes_are_kept(app: TestApp) {
    let placed = app.place_order(period_order());
    let line = &placed.order_line_ids[0];
    let instance = app
        .new_instance(&placed.order_id, line, "biz-codes")
        .await
        .instance_id();
    let code = "PLCODE0001";
    let store = &app.gateway.store;

    // A renewal naming the instance's order line: the row links the instance.
    let refresh = json!({
        "activity": "refreshLicenseCode", "license": code, "orderId": placed.order_id,
        "orderLineId": line, "expireTime": "20250501235959", "scene": "RENEWAL", "productId": "OFFI9",
    });
    let first = app.call(refresh.clone()).await;
    first.assert_code("000000");
    let row = store.get_license_code(code).await.unwrap().unwrap();
    assert_eq!(row.status, LicenseCodeStatus::Alive);
    assert_eq!(row.instance_id.as_deref(), Some(instance.as_str()));
    assert_eq!(row.product_id.as_deref(), Some("OFFI9"));
    assert_eq!(
        row.expire_time,
        Some(Utc.with_ymd_and_hms(2025, 5, 1, 23, 59, 59).unwrap())
    );
    // KooGallery's retry: the same bytes, and nothing stored changes.
    let before = app.snapshot().await;
    assert_eq!(app.call(refresh).await.body, first.body);
    assert_eq!(app.snapshot().await, before);

    // Bad input changes nothing: an unknown status, a missing license, an over-long one.
    let bad = [
        json!({"activity": "updateLicenseCodeStatus", "license": code, "status": "PAUSE"}),
        json!({"activity": "updateLicenseCodeStatus", "status": "FREEZE"}),
        json!({"activity": "releaseLicenseCode", "license": "L".repeat(65)}),
        json!({"activity": "refreshLicenseCode", "license": code, "orderId": "CS1",
               "orderLineId": "CS1-1", "expireTime": "not-a-time", "scene": "RENEWAL"}),
    ];
    for body in bad {
        app.call(body.clone()).await.assert_code("000002");
        assert_eq!(app.snapshot().await, before, "{body}");
    }

    // FREEZE: the row follows, in the commit of the answer; a repeat changes nothing.
    let status =
        |s: &str| json!({"activity": "updateLicenseCodeStatus", "license": code, "status": s});
    let frozen = app.call(status("FREEZE")).await;
    frozen.assert_code("000000");
    let row = store.get_license_code(code).await.unwrap().unwrap();
    assert_eq!((row.status, row.version), (LicenseCodeStatus::Frozen, 2));
    let before = app.snapshot().await;
    assert_eq!(app.call(status("FREEZE")).await.body, frozen.body);
    assert_eq!(app.snapshot().await, before);
    app.call(status("UNFREEZE")).await.assert_code("000000");
    let row = store.get_license_code(code).await.unwrap().unwrap();
    assert_eq!((row.status, row.version), (LicenseCodeStatus::Alive, 3));

    // Release, its replay, and a status change after it: acknowledged, nothing changes.
    let release = json!({"activity": "releaseLicenseCode", "license": code, "orderId": "CSU1", "orderLineId": "CSU1-1"});
    let released = app.call(release.clone()).await;
    released.assert_code("000000");
    let before = app.snapshot().await;
    assert_eq!(app.call(release).await.body, released.body);
    app.call(status("FREEZE")).await.assert_code("000000");
    assert_eq!(app.snapshot().await, before);
    let row = store.get_license_code(code).await.unwrap().unwrap();
    assert_eq!(row.status, LicenseCodeStatus::Released);
    assert_eq!(row.order_id.as_deref(), Some("CSU1"));

    // Every change was forwarded once.
    let actions: Vec<String> = app
        .events(&format!("license:{code}"))
        .await
        .iter()
        .map(|e| {
            let data = &serde_json::from_str::<Value>(&e.payload).unwrap()["data"];
            format!(
                "{}{}",
                data["action"].as_str().unwrap(),
                data["status"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        actions,
        ["refresh", "statusFREEZE", "statusUNFREEZE", "release"]
    );

    // A code first heard of in a status change.
    app.call(
        json!({"activity": "updateLicenseCodeStatus", "license": "PLCODE0002", "status": "FREEZE"}),
    )
    .await
    .assert_code("000000");

    // The vendor API.
    let (status_code, list) = code_view(&app, "/api/v1/license-codes").await;
    assert_eq!(status_code, StatusCode::OK);
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [code, "PLCODE0002"]);
    let (_, mine) = code_view(
        &app,
        &format!("/api/v1/license-codes?instance={instance}&limit=5"),
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (status_code, one) = code_view(&app, &format!("/api/v1/license-codes/{code}")).await;
    assert_eq!(status_code, StatusCode::OK);
    assert_eq!(one["status"], "released");
    assert_eq!(one["licenseStatus"], "RELEASED");
    assert_eq!(one["instanceId"], instance.as_str());
    assert_eq!(one["expireTime"], "2025-05-01T23:59:59+00:00");
    let (_, other) = code_view(&app, "/api/v1/license-codes/PLCODE0002").await;
    assert_eq!(
        (other["status"].as_str(), other["licenseStatus"].as_str()),
        (Some("frozen"), Some("EXPIRED"))
    );
    let (status_code, missing) = code_view(&app, "/api/v1/license-codes/NOPE").await;
    assert_eq!(status_code, StatusCode::NOT_FOUND);
    assert_eq!(missing["code"], "license_code_not_found");
    let (status_code, _, _) = app.get("/api/v1/license-codes", None).await;
    assert_eq!(status_code, StatusCode::UNAUTHORIZED);
}

async fn license_refusals(app: TestApp) {
    let placed = app.place_order(period_order());
    let instance = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-lic")
        .await
        .instance_id();
    app.run_outbox().await;
    let request = |event: &str, effective: &str, fingerprint: Value| {
        json!({
            "activity": "getLicenseAsync", "instanceId": instance, "eventId": event,
            "effectiveTime": effective, "expireTime": "2025-04-01 23:59:59 z",
            "deviceFingerprint": fingerprint,
        })
    };

    // 000901: a license starting after the order's expiry (2025-04-01T23:59:59Z); nothing stored.
    let before = app.snapshot().await;
    let late = request("evt-late", "2025-04-02 00:00:00 z", json!("MAC|disk"));
    app.call(late).await.assert_code("000901");
    assert_eq!(app.snapshot().await, before);

    // Fingerprints: 1024 bytes by default (the table), 000002 beyond, nothing stored.
    let long = request("evt-long", "2025-03-01 08:00:00 z", json!("f".repeat(1025)));
    app.call(long).await.assert_code("000002");
    assert_eq!(app.snapshot().await, before);
    let fits = request("evt-fits", "2025-03-01 08:00:00 z", json!("f".repeat(1024)));
    app.call(fits).await.assert_code("000004");

    // The hook refuses with 000903: the refusal replaces the 000004, so KooGallery's retry of
    // the call gets it byte for byte; no upload job is made.
    let hook = app.hook.as_ref().unwrap();
    hook.answer(
        "license.requested",
        json!({"refuse": {"code": "000903", "message": "fingerprint\nneeded"}}),
    );
    let asked = request("evt-refused", "2025-03-01 08:00:00 z", Value::Null);
    app.call(asked.clone()).await.assert_code("000004");
    app.run_outbox().await;
    let retry = app.call(asked.clone()).await;
    retry.assert_code("000903");
    assert_eq!(
        retry.json()["resultMsg"],
        "fingerprintneeded",
        "control characters removed"
    );
    assert_eq!(app.call(asked).await.body, retry.body);
    let jobs = app
        .gateway
        .store
        .list_events(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "koogate.license_upload")
        .count();
    assert_eq!(jobs, 0, "a refused license is not uploaded");

    // A refusal with a code outside 000900-000903 is not forwarded: the event is parked.
    hook.answer("license.requested", json!({"refuse": {"code": "000100"}}));
    let other = request("evt-wrong-code", "2025-03-01 08:00:00 z", Value::Null);
    app.call(other.clone()).await.assert_code("000004");
    app.run_outbox().await;
    app.call(other).await.assert_code("000004");
    let parked = app
        .gateway
        .store
        .list_events(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "license.requested" && e.payload.contains("evt-wrong-code"))
        .unwrap();
    assert!(parked.dead, "{parked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longer_fingerprints_are_a_setting() {
    let options = TestOptions::default().configure(|c| c.max_fingerprint_bytes = 5120);
    let app = spawn_app(options).await;
    let placed = app.place_order(period_order());
    let instance = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-5k")
        .await
        .instance_id();
    let request = |event: &str, fingerprint: String| {
        json!({
            "activity": "getLicenseAsync", "instanceId": instance, "eventId": event,
            "effectiveTime": "2025-03-01 08:00:00 z", "expireTime": "2025-04-01 23:59:59 z",
            "deviceFingerprint": fingerprint,
        })
    };
    app.call(request("evt-5k", "f".repeat(5120)))
        .await
        .assert_code("000004");
    app.call(request("evt-5k1", "f".repeat(5121)))
        .await
        .assert_code("000002");
}
