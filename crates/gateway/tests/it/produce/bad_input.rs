//! Every class of bad input gets the protocol's answer and changes no stored data: malformed or
//! incomplete bodies (000002), failed authentication (000001), unknown instances (000003), an
//! order-query API that is down (000005) and an oversized body (000002 with HTTP 200).

use chrono::Duration;
use koogate_gateway::store::InstanceStatus;
use serde_json::{Value, json};

use super::period_order;
use crate::support::{
    Reply, TestApp, TestOptions, closed_port_url, fresh_nonce, signed_query, spawn_app,
};

/// An app with one active instance, so that "nothing changed" is about real data.
async fn app_with_instance(options: TestOptions) -> (TestApp, String) {
    let app = spawn_app(options).await;
    let placed = app.place_order(period_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-existing")
        .await;
    reply.assert_code("000000");
    (app, reply.instance_id())
}

/// Sends `body` signed with its activity's key and a fresh nonce at `offset_ms` from now.
async fn call_at(app: &TestApp, body: &[u8], offset_ms: i64) -> Reply {
    let key = app.keys.for_body(body);
    let query = signed_query(key, app.now_ms() + offset_ms, &fresh_nonce(), body);
    app.call_raw(&query, body.to_vec()).await
}

/// Asserts `code`, and that the refusal carries no instance data.
#[track_caller]
fn refused(reply: &Reply, code: &str) {
    reply.assert_code(code);
    let json = reply.json();
    assert!(json.get("instanceId").is_none() && json.get("info").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_incomplete_and_unknown_requests_answer_000002() {
    let (app, id) = app_with_instance(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let (order, line) = (placed.order_id.as_str(), placed.order_line_ids[0].as_str());
    let long = "x".repeat(65);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "truncated JSON",
            br#"{"activity":"newInstance","orderId":"#.to_vec(),
        ),
        ("not JSON", b"activity=newInstance".to_vec()),
        ("JSON array", b"[1,2,3]".to_vec()),
        ("empty body", Vec::new()),
        (
            "no activity",
            json_bytes(json!({"orderId": order, "orderLineId": line})),
        ),
        (
            "unknown activity",
            json_bytes(json!({"activity": "deleteEverything", "instanceId": id})),
        ),
        (
            "very long unknown activity",
            json_bytes(json!({"activity": "活动".repeat(400), "instanceId": id})),
        ),
        (
            "activity not a string",
            json_bytes(json!({"activity": 7, "instanceId": id})),
        ),
        (
            "newInstance without orderId",
            json_bytes(json!({"activity": "newInstance", "orderLineId": line, "businessId": "b1"})),
        ),
        (
            "newInstance with empty orderLineId",
            json_bytes(
                json!({"activity": "newInstance", "orderId": order, "orderLineId": "", "businessId": "b2"}),
            ),
        ),
        (
            "newInstance with a 65-char orderId",
            json_bytes(
                json!({"activity": "newInstance", "orderId": long, "orderLineId": line, "businessId": "b3"}),
            ),
        ),
        (
            "newInstance with a 65-char businessId",
            json_bytes(
                json!({"activity": "newInstance", "orderId": order, "orderLineId": line, "businessId": long}),
            ),
        ),
        (
            "refresh without expireTime",
            json_bytes(
                json!({"activity": "refreshInstance", "instanceId": id, "orderId": order, "orderLineId": line, "scene": "RENEWAL"}),
            ),
        ),
        (
            "refresh with a bad expireTime",
            json_bytes(
                json!({"activity": "refreshInstance", "instanceId": id, "orderId": order, "orderLineId": line, "scene": "RENEWAL", "expireTime": "tomorrow"}),
            ),
        ),
        (
            "status without status",
            json_bytes(json!({"activity": "updateInstanceStatus", "instanceId": id})),
        ),
        (
            "status with an unknown status",
            json_bytes(
                json!({"activity": "updateInstanceStatus", "instanceId": id, "status": "DELETE"}),
            ),
        ),
        (
            "status with a 65-char instanceId",
            json_bytes(
                json!({"activity": "updateInstanceStatus", "instanceId": long, "status": "FREEZE"}),
            ),
        ),
        (
            "release without instanceId",
            json_bytes(json!({"activity": "releaseInstance"})),
        ),
        (
            "query without instanceId",
            json_bytes(json!({"activity": "queryInstance", "instanceId": " , "})),
        ),
        (
            "query with 101 ids",
            json_bytes(
                json!({"activity": "queryInstance", "instanceId": vec![id.as_str(); 101].join(",")}),
            ),
        ),
        (
            "query with a 65-char id",
            json_bytes(json!({"activity": "queryInstance", "instanceId": format!("{id},{long}")})),
        ),
        (
            "upgrade without orderLineId",
            json_bytes(json!({"activity": "upgradeInstance", "instanceId": id, "orderId": order})),
        ),
        (
            "change check without productInfo",
            json_bytes(json!({"activity": "changeInstanceCheck", "instanceId": id})),
        ),
        (
            "license without eventId",
            json_bytes(
                json!({"activity": "getLicenseAsync", "instanceId": id, "effectiveTime": "2025-03-01 08:00:00 z"}),
            ),
        ),
        (
            "orderNotify without orderLineId",
            json_bytes(json!({"activity": "orderNotify", "orderId": order})),
        ),
        (
            "license code without license",
            json_bytes(json!({"activity": "releaseLicenseCode"})),
        ),
        (
            "license code status with a 65-char license",
            json_bytes(
                json!({"activity": "updateLicenseCodeStatus", "license": long, "status": "FREEZE"}),
            ),
        ),
    ];
    let before = app.snapshot().await;
    for (what, body) in bodies {
        let reply = call_at(&app, &body, 0).await;
        assert_eq!(reply.code(), "000002", "{what}: {}", reply.text());
        refused(&reply, "000002");
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
}

fn json_bytes(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentication_answers_000001() {
    let (app, id) = app_with_instance(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let create = json_bytes(json!({
        "activity": "newInstance", "businessId": "biz-auth", "orderId": placed.order_id,
        "orderLineId": placed.order_line_ids[0],
    }));
    let freeze = json_bytes(
        json!({"activity": "updateInstanceStatus", "instanceId": id, "status": "FREEZE"}),
    );
    let now = app.now_ms();
    let basic = &app.keys.basic;
    let before = app.snapshot().await;

    // Missing parameters.
    let mut cases: Vec<(&str, String, &Vec<u8>)> = vec![
        ("no query at all", String::new(), &create),
        (
            "no signature",
            format!("timestamp={now}&nonce={}", fresh_nonce()),
            &create,
        ),
        (
            "no timestamp",
            format!("signature=AB&nonce={}", fresh_nonce()),
            &freeze,
        ),
        ("no nonce", format!("signature=AB&timestamp={now}"), &freeze),
        (
            "malformed timestamp",
            signed_query(basic, now, &fresh_nonce(), &freeze)
                .replace(&now.to_string(), "yesterday"),
            &freeze,
        ),
        (
            "not hex",
            format!("signature=zz&timestamp={now}&nonce={}", fresh_nonce()),
            &freeze,
        ),
        (
            "empty nonce",
            signed_query(basic, now, "", &freeze),
            &freeze,
        ),
        (
            "timestamp in seconds",
            signed_query(basic, now / 1000, &fresh_nonce(), &freeze),
            &freeze,
        ),
        (
            "signature of another timestamp",
            signed_query(basic, now, "n-1", &freeze)
                .replace(&now.to_string(), &(now + 1).to_string()),
            &freeze,
        ),
    ];
    // Wrong key: the license key is valid for other activities, not for these.
    let wrong = signed_query(&app.keys.license, now, &fresh_nonce(), &freeze);
    cases.push(("signed with another category's key", wrong, &freeze));
    let other = koogate_protocol::AccessKey::new("some-other-key");
    cases.push((
        "signed with an unknown key",
        signed_query(&other, now, &fresh_nonce(), &create),
        &create,
    ));
    for (what, query, body) in cases {
        let reply = app.call_raw(&query, body.clone()).await;
        assert_eq!(reply.code(), "000001", "{what}: {}", reply.text());
        refused(&reply, "000001");
    }
    // Signed over other content than what is sent (whitespace alone may differ: the gateway
    // also accepts the canonical re-serialisation, which has the same meaning).
    let signed_for_freeze = signed_query(basic, now, &fresh_nonce(), &freeze);
    let unfreeze = String::from_utf8(freeze.clone())
        .unwrap()
        .replace("FREEZE", "UNFREEZE");
    let reply = app
        .call_raw(&signed_for_freeze, unfreeze.into_bytes())
        .await;
    refused(&reply, "000001");

    // The replay window is ±60 s, inclusive.
    for offset in [-60_001, 60_001, -3_600_000, 86_400_000] {
        refused(&call_at(&app, &freeze, offset).await, "000001");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "no refused call changed anything"
    );
    let query = json_bytes(json!({"activity": "queryInstance", "instanceId": id}));
    for offset in [-60_000, 60_000, -59_000, 59_000] {
        call_at(&app, &query, offset).await.assert_code("000000");
    }

    // A replayed nonce: the first call counts, the identical second one is refused.
    let replayed = signed_query(basic, now, &fresh_nonce(), &create);
    let first = app.call_raw(&replayed, create.clone()).await;
    first.assert_code("000000");
    let after_first = app.snapshot().await;
    assert_ne!(after_first, before);
    refused(&app.call_raw(&replayed, create.clone()).await, "000001");
    // Also when only the nonce is reused, with a fresh signature over another body.
    let nonce = replayed.rsplit('=').next().unwrap().to_owned();
    let reuse = signed_query(basic, now + 1, &nonce, &freeze);
    refused(&app.call_raw(&reuse, freeze.clone()).await, "000001");
    assert_eq!(app.snapshot().await, after_first);
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_instances_answer_000003() {
    let (app, _id) = app_with_instance(TestOptions::default()).await;
    let renewal = app.place_order(super::renew_order());
    let change = app.place_order(super::change_order());
    let before = app.snapshot().await;
    let ghost = "no-such-instance";
    refused(&app.query(&[ghost]).await, "000003");
    refused(&app.query(&[ghost, "another-ghost"]).await, "000003");
    refused(
        &app.refresh(ghost, &renewal, "20250501235959").await,
        "000003",
    );
    refused(&app.set_status(ghost, "FREEZE").await, "000003");
    refused(&app.set_status(ghost, "UNFREEZE").await, "000003");
    refused(&app.release(ghost).await, "000003");
    refused(&app.upgrade(ghost, &change).await, "000003");
    refused(&app.change_check(ghost).await, "000003");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_query_api_down_answers_000005_and_recovers() {
    let (mut app, id) = app_with_instance(TestOptions::default()).await;
    let placed = app.place_order(period_order());
    let change = app.place_order(super::change_order());
    let notify = app.place_order(period_order());
    let (order, line) = (&placed.order_id, &placed.order_line_ids[0]);
    let before = app.snapshot().await;

    app.stop_openapi().await;
    refused(&app.new_instance(order, line, "biz-down").await, "000005");
    refused(&app.upgrade(&id, &change).await, "000005");
    refused(&app.order_notify(&notify).await, "000005");
    assert_eq!(app.snapshot().await, before, "a failed call stores nothing");

    // KooGallery retries; once the API is back the same purchase goes through, and nothing
    // remembered the failure.
    app.restart_openapi().await;
    app.advance(Duration::seconds(30));
    let created = app.new_instance(order, line, "biz-down").await;
    created.assert_code("000000");
    assert_eq!(created.instance_id(), "biz-down");
    app.upgrade(&id, &change).await.assert_code("000000");
    app.order_notify(&notify).await.assert_code("000000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_query_api_unreachable_from_the_start_answers_000005() {
    let options = TestOptions::default().configure(|c| c.openapi_url = Some(closed_port_url()));
    let app = spawn_app(options).await;
    let placed = app.place_order(period_order());
    let before = app.snapshot().await;
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-x")
        .await;
    refused(&reply, "000005");
    assert_eq!(app.snapshot().await, before);
    assert!(app.instances().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_order_answers_000005_and_stores_nothing() {
    let (app, _id) = app_with_instance(TestOptions::default()).await;
    let before = app.snapshot().await;
    refused(
        &app.new_instance("CSNOSUCHORDER", "CSNOSUCHORDER-000001", "biz-y")
            .await,
        "000005",
    );
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_answers_000002_with_http_200() {
    let limit = 4096;
    let options = TestOptions::default().configure(move |c| c.body_limit = limit);
    let (app, id) = app_with_instance(options).await;
    let before = app.snapshot().await;
    let padding = "p".repeat(limit);
    let body = json_bytes(json!({
        "activity": "updateInstanceStatus", "instanceId": id, "status": "FREEZE", "padding": padding,
    }));
    assert!(body.len() > limit);
    refused(&call_at(&app, &body, 0).await, "000002");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.status(&id).await, InstanceStatus::Active);

    // Just under the limit is an ordinary call.
    let fits = json_bytes(json!({
        "activity": "updateInstanceStatus", "instanceId": id, "status": "FREEZE",
        "padding": "p".repeat(limit - 200),
    }));
    assert!(fits.len() <= limit);
    call_at(&app, &fits, 0).await.assert_code("000000");
    assert_eq!(app.status(&id).await, InstanceStatus::Frozen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_body_answers_000002_with_http_200() {
    // Without a Content-Length the limit is only hit while reading: the answer must be the same.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limit = 4096;
    let options = TestOptions::default().configure(move |c| c.body_limit = limit);
    let (app, id) = app_with_instance(options).await;
    let before = app.snapshot().await;
    let body = json_bytes(json!({
        "activity": "updateInstanceStatus", "instanceId": id, "status": "FREEZE",
        "padding": "p".repeat(2 * limit),
    }));
    let query = signed_query(&app.keys.basic, app.now_ms(), &fresh_nonce(), &body);
    let authority = app.base_url.trim_start_matches("http://");
    let mut request = format!(
        "POST /produce?{query} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    // The server may answer (and close) before reading everything; a failed write is fine.
    let _ = stream.write_all(&request).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/json"), "{text}");
    assert!(lower.contains("body-sign: "), "{text}");
    assert!(text.contains(r#""resultCode":"000002""#), "{text}");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.status(&id).await, InstanceStatus::Active);
}
