//! The metering ledger end to end: usage reported through the vendor API, summed per window,
//! pushed once to the simulated usage-data API (APIG and body signature both verified there),
//! shown in `queryInstance`, and kept through an open-API outage.

use chrono::Duration;
use koogate_sim::openapi::{UsageApi, UsageInstance};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, TestOptions, spawn_app};
use koogate_sim::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};

fn on_demand_order() -> OrderSpec {
    OrderSpec::new(OrderType::New).line(LineSpec::on_demand(vec![ProductSpec::new(
        "OFFI000000000000000777",
        "sku-metered",
        "SIM按需商品",
    )]))
}

/// An on-demand instance the simulated marketplace also knows, so its asynchronous checks pass.
pub(crate) async fn metered_instance(app: &TestApp) -> String {
    let placed = app.place_order(on_demand_order());
    let reply = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-metered")
        .await;
    reply.assert_code("000000");
    let id = reply.instance_id();
    app.sim()
        .state()
        .register_instance(UsageInstance::on_demand(&id));
    id
}

pub(crate) async fn report(app: &TestApp, body: Value) -> (u16, Value) {
    let (status, answer) = app.post("/api/v1/usage", Some(&app.api_token), &body).await;
    (status.as_u16(), answer)
}

pub(crate) fn usage(id: &str, event: &str, value: Value, at: &str) -> Value {
    json!({"eventId": event, "instanceId": id, "value": value, "occurredAt": at})
}

pub(crate) async fn usage_view(app: &TestApp, id: &str) -> Value {
    let (status, _, body) = app
        .get(
            &format!("/api/v1/instances/{id}/usage"),
            Some(&app.api_token),
        )
        .await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

async fn usage_is_pushed_once_per_window(app: TestApp) {
    let id = metered_instance(&app).await;
    // The clock starts at 2025-03-01T08:00:00Z; at 08:58, three reports in the 08:00 window
    // (the last one a minute ahead of the clock, inside the allowed drift).
    app.advance(Duration::minutes(58));
    let first = usage(&id, "u-1", json!("1.5"), "2025-03-01T08:10:00Z");
    assert_eq!(report(&app, first.clone()).await.0, 201);
    assert_eq!(
        report(&app, usage(&id, "u-2", json!(2), "2025-03-01T08:20:00Z"))
            .await
            .0,
        201
    );
    let (status, body) = report(
        &app,
        usage(&id, "u-3", json!("0.0001"), "2025-03-01T08:59:59+00:00"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["windowStart"], "2025-03-01T08:00:00+00:00");
    assert_eq!(body["windowEnd"], "2025-03-01T09:00:00+00:00");
    app.advance(Duration::minutes(12));
    assert_eq!(
        report(&app, usage(&id, "u-4", json!("4"), "2025-03-01T09:05:00Z"))
            .await
            .0,
        201
    );
    // A retried report is acknowledged once; the same eventId with other data is a conflict.
    let (status, body) = report(&app, first).await;
    assert_eq!((status, &body["status"]), (200, &json!("duplicate")));
    let (status, body) = report(&app, usage(&id, "u-1", json!("9"), "2025-03-01T08:10:00Z")).await;
    assert_eq!((status, &body["code"]), (409, &json!("event_id_reused")));

    // queryInstance reports the cumulative usage of the on-demand instance (saas-v2 §3.2).
    let query = app.query(&[&id]).await;
    query.assert_code("000000");
    let info = &query.json()["info"][0]["usageInfo"][0];
    assert_eq!(info["usageValue"], json!(7.5001), "{}", query.text());
    assert_eq!(info["statisticalTime"], "20250301091000000");

    // 09:10: the 08:00 window ended and its 5-minute grace passed; the 09:00 window is open.
    let pass = app.metering.run_once().await;
    assert_eq!((pass.closed, pass.pushed), (1, 1), "{pass:?}");
    let records = app.sim().usage_records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.api, UsageApi::New);
    assert_eq!(record.instance_id, id);
    assert_eq!(record.usage_value.to_string(), "3.5001");
    assert_eq!(record.begin_time.to_rfc3339(), "2025-03-01T08:00:00+00:00");
    assert_eq!(record.end_time.to_rfc3339(), "2025-03-01T09:00:00+00:00");
    let metering_sn = record.metering_sn.clone().unwrap();
    assert!(metering_sn.starts_with("kg") && metering_sn.len() <= 64);

    // A late report for the closed window is refused and changes nothing.
    let before = usage_view(&app, &id).await;
    let (status, body) = report(&app, usage(&id, "u-late", json!(1), "2025-03-01T08:30:00Z")).await;
    assert_eq!((status, &body["code"]), (409, &json!("window_closed")));
    assert_eq!(usage_view(&app, &id).await, before);

    // Nothing is pushed twice; the marketplace found nothing wrong with the record.
    assert_eq!(app.metering.run_once().await.pushed, 0);
    assert_eq!(app.sim().usage_records().len(), 1);
    app.sim().settle_usage().await;
    assert!(app.sim().usage_anomalies().is_empty());

    let view = usage_view(&app, &id).await;
    assert_eq!(view["total"], "7.5001");
    let windows = view["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["status"], "pushed");
    assert_eq!(windows[0]["meteringSn"], metering_sn.as_str());
    assert_eq!(windows[0]["value"], "3.5001");

    // The 09:00 window goes out after 10:05, as its own record.
    app.advance(Duration::hours(1));
    assert_eq!(app.metering.run_once().await.pushed, 1);
    let records = app.sim().usage_records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].usage_value.to_string(), "4");
    assert_ne!(records[1].metering_sn, records[0].metering_sn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_pushed_once_per_window_sqlite() {
    usage_is_pushed_once_per_window(spawn_app(TestOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_pushed_once_per_window_postgres() {
    let Some(options) = TestOptions::on(Backend::Postgres, "usage_is_pushed_once_per_window")
    else {
        return;
    };
    usage_is_pushed_once_per_window(spawn_app(options).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_survives_an_open_api_outage() {
    let mut app = spawn_app(TestOptions::default()).await;
    let id = metered_instance(&app).await;
    app.advance(Duration::minutes(20));
    assert_eq!(
        report(
            &app,
            usage(&id, "o-1", json!("12.25"), "2025-03-01T08:15:00Z")
        )
        .await
        .0,
        201
    );
    app.stop_openapi().await;
    app.advance(Duration::minutes(70));
    let pass = app.metering.run_once().await;
    assert_eq!((pass.closed, pass.retried), (1, 1), "{pass:?}");
    let window = &usage_view(&app, &id).await["windows"][0];
    assert_eq!(window["status"], "pending");
    assert_eq!(window["attempts"], 1);
    assert!(
        window["lastError"].as_str().unwrap().contains("usage push"),
        "{window}"
    );
    // Not due yet: the retry waits a minute.
    app.restart_openapi().await;
    assert_eq!(app.metering.run_once().await, Default::default());
    app.advance(Duration::minutes(2));
    assert_eq!(app.metering.run_once().await.pushed, 1);
    let records = app.sim().usage_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].usage_value.to_string(), "12.25");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_pushed_too_late_is_rejected_with_the_marketplace_code() {
    let mut app = spawn_app(TestOptions::default()).await;
    let id = metered_instance(&app).await;
    app.advance(Duration::minutes(20));
    assert_eq!(
        report(&app, usage(&id, "l-1", json!(3), "2025-03-01T08:15:00Z"))
            .await
            .0,
        201
    );
    // The open API stays unreachable for 22 days: KooGallery no longer takes the window.
    app.stop_openapi().await;
    app.advance(Duration::minutes(70));
    app.metering.run_once().await;
    app.restart_openapi().await;
    app.advance(Duration::days(22));
    let pass = app.metering.run_once().await;
    assert_eq!(pass.rejected, 1, "{pass:?}");
    let window = &usage_view(&app, &id).await["windows"][0];
    assert_eq!(window["status"], "rejected");
    assert_eq!(window["resultCode"], "MKT.9004");
    assert!(app.sim().usage_records().is_empty());
    // Rejected windows are not pushed again.
    app.advance(Duration::hours(2));
    assert_eq!(app.metering.run_once().await, Default::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usage_reports_are_refused_and_change_nothing() {
    let app = spawn_app(TestOptions::default()).await;
    let id = metered_instance(&app).await;
    let placed = app.place_order(super::period_order());
    let periodic = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-periodic")
        .await
        .instance_id();
    app.advance(Duration::minutes(10));
    let before = app.snapshot().await;
    let at = "2025-03-01T08:10:00Z";
    let cases = [
        (
            usage("no-such-instance", "b-1", json!(1), at),
            404,
            "instance_not_found",
        ),
        (usage(&periodic, "b-2", json!(1), at), 422, "not_metered"),
        (usage(&id, "b-3", json!(0), at), 422, "invalid_usage"),
        (
            usage(&id, "b-4", json!("1.00001"), at),
            422,
            "invalid_usage",
        ),
        (usage(&id, "b-5", json!("-1"), at), 422, "invalid_usage"),
        (usage(&id, "b-6", json!("abc"), at), 422, "invalid_usage"),
        (usage(&id, "b-7", json!(true), at), 422, "invalid_usage"),
        (
            usage(&id, "b-7a", json!("100000000"), at),
            422,
            "invalid_usage",
        ),
        (
            usage(&id, "b-7b", json!("99999999.99999"), at),
            422,
            "invalid_usage",
        ),
        (
            json!({"eventId": "b-7c", "instanceId": id, "value": 1, "occurredAt": at,
                   "relatePkgInstance": "no-such-package"}),
            422,
            "invalid_usage",
        ),
        (
            json!({"eventId": "b-7d", "instanceId": id, "value": 1, "occurredAt": at,
                   "relatePkgInstance": periodic}),
            422,
            "invalid_usage",
        ),
        (
            usage(&id, "b-8", json!(1), "yesterday"),
            422,
            "invalid_usage",
        ),
        (
            usage(&id, "b-9", json!(1), "2025-02-07T08:00:00Z"),
            422,
            "invalid_usage",
        ),
        (
            usage(&id, "b-10", json!(1), "2025-03-01T08:16:00Z"),
            422,
            "invalid_usage",
        ),
        (usage(&id, "", json!(1), at), 422, "invalid_usage"),
        (
            usage(&id, &"e".repeat(65), json!(1), at),
            422,
            "invalid_usage",
        ),
        (
            json!({"instanceId": id, "value": 1, "occurredAt": at}),
            400,
            "invalid_usage",
        ),
        (
            json!({"eventId": "b-11", "instanceId": id, "value": 1, "occurredAt": at, "extra": 1}),
            400,
            "invalid_usage",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = report(&app, body.clone()).await;
        assert_eq!((got, &answer["code"]), (status, &json!(code)), "{body}");
    }
    let (status, _) = app
        .post(
            "/api/v1/usage",
            Some("wrong-token"),
            &usage(&id, "b-12", json!(1), at),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(usage_view(&app, &id).await["total"], "0");
    // queryInstance still reports the on-demand instance's usage, as zero.
    let query = app.query(&[&id, &periodic]).await;
    let info = query.json()["info"].clone();
    assert_eq!(info[0]["usageInfo"][0]["usageValue"], json!(0));
    assert!(
        info[1].get("usageInfo").is_none(),
        "periodic instances are not metered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_past_its_closing_time_takes_no_report_even_if_it_never_had_one() {
    let app = spawn_app(TestOptions::default()).await;
    let id = metered_instance(&app).await;
    // 09:06: the 08:00 window ended at 09:00 and its grace at 09:05; no report was ever made
    // for it, so no pass has closed it, yet KooGallery would take it only late.
    app.advance(Duration::minutes(66));
    let before = usage_view(&app, &id).await;
    let (status, body) = report(&app, usage(&id, "c-1", json!(1), "2025-03-01T08:30:00Z")).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("window_closed")),
        "{body}"
    );
    assert_eq!(usage_view(&app, &id).await, before);
    // The current window still takes reports.
    let (status, _) = report(&app, usage(&id, "c-2", json!(1), "2025-03-01T09:01:00Z")).await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_deducted_from_a_package_names_it_in_the_record() {
    let app = spawn_app(TestOptions::default()).await;
    let id = metered_instance(&app).await;
    let package_order = app.place_order(
        OrderSpec::new(OrderType::New).line(LineSpec::on_demand_pkg("month", 1, "20250401235959")),
    );
    let reply = app
        .new_instance(
            &package_order.order_id,
            &package_order.order_line_ids[0],
            "biz-package",
        )
        .await;
    reply.assert_code("000000");
    let package = reply.instance_id();
    app.advance(Duration::minutes(20));
    // The package itself is not metered: usage is reported for the on-demand instance.
    let (status, body) = report(
        &app,
        usage(&package, "p-0", json!(1), "2025-03-01T08:10:00Z"),
    )
    .await;
    assert_eq!((status, &body["code"]), (422, &json!("not_metered")));
    let (status, body) = report(
        &app,
        json!({"eventId": "p-1", "instanceId": id, "value": "2.5",
               "occurredAt": "2025-03-01T08:10:00Z", "relatePkgInstance": package}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    app.advance(Duration::hours(1));
    assert_eq!(app.metering.run_once().await.pushed, 1);
    let records = app.sim().usage_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].instance_id, id);
    assert_eq!(
        records[0].relate_pkg_instance.as_deref(),
        Some(package.as_str())
    );
    assert_eq!(records[0].usage_value.to_string(), "2.5");
    // queryInstance: the package reports what was deducted from it, the instance what it used.
    let query = app.query(&[&package, &id]).await;
    let info = query.json()["info"].clone();
    assert_eq!(info[0]["usageInfo"][0]["usageValue"], json!(2.5), "{info}");
    assert_eq!(info[1]["usageInfo"][0]["usageValue"], json!(2.5), "{info}");
    assert_eq!(info[1]["usageInfo"].as_array().unwrap().len(), 1, "{info}");
    assert!(
        info[1]["usageInfo"][0].get("relatedInstanceId").is_none(),
        "{info}"
    );

    // A second on-demand instance drawing on the same package: the package answers one entry
    // per instance, each naming it (saas-v2 §3.2 `relatedInstanceId`).
    let other = {
        let placed = app.place_order(on_demand_order());
        let reply = app
            .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-metered-2")
            .await;
        reply.assert_code("000000");
        reply.instance_id()
    };
    let (status, body) = report(
        &app,
        json!({"eventId": "p-2", "instanceId": other, "value": "1.25",
               "occurredAt": "2025-03-01T09:20:00Z", "relatePkgInstance": package}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let query = app.query(&[&package]).await;
    let entries = query.json()["info"][0]["usageInfo"].clone();
    let mut seen: Vec<(String, f64)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["relatedInstanceId"].as_str().unwrap().to_owned(),
                e["usageValue"].as_f64().unwrap(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![(id.clone(), 2.5), (other.clone(), 1.25)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen, expected, "{entries}");
}
