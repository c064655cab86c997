//! The scenario engine end to end: KooGallery's retry schedule on a simulated clock against the
//! real koogate gateway (in-process, sharing the virtual clock), and against small fake targets
//! for the behaviours the gateway never shows (`000004` polling, business refusals).

// Helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

pub mod fake;
pub mod harness;
mod market;

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::{Rig, start_time};
use koogate_sim::message_log::MessageStatus;
use koogate_sim::retry::{CallKind, schedule};
use koogate_sim::scenario::{
    EngineOptions, ExchangeRecord, FlowOutcome, FlowReport, OrderStatus, Trigger, flows,
};

const HOUR: u64 = 3600;

fn explain(report: &FlowReport, exchanges: &[ExchangeRecord]) -> String {
    let mut text = format!("{report:#?}\n");
    for e in exchanges.iter().filter(|e| e.flow == report.flow) {
        text.push_str(&format!(
            "#{} step {} {} attempt {} ok={} error={:?} verdicts={:?} response={:?}\n",
            e.id, e.step, e.activity, e.attempt, e.ok, e.error, e.verdicts, e.response
        ));
    }
    text
}

#[test]
fn retry_schedule_is_the_spec_numbers() {
    let hours =
        |h: &[u64]| -> Vec<Duration> { h.iter().map(|h| Duration::from_secs(h * HOUR)).collect() };
    assert_eq!(schedule(CallKind::NewPurchase), hours(&[0, 1, 2, 3]));
    assert_eq!(schedule(CallKind::Upgrade), hours(&[0, 1, 2, 3]));
    assert_eq!(schedule(CallKind::OrderNotify), hours(&[0, 1, 2, 3]));
    for kind in [CallKind::Renewal, CallKind::Expiry, CallKind::Release] {
        assert_eq!(schedule(kind), hours(&[0, 1]));
    }
    let two_minutes: Vec<Duration> = (0..=60).map(|n| Duration::from_secs(n * 120)).collect();
    assert_eq!(schedule(CallKind::LicenseCode), two_minutes);
    assert_eq!(schedule(CallKind::OnlineLicense), two_minutes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_for_two_hours_still_fulfils_the_order() {
    let rig = Rig::up(EngineOptions::default()).await;
    let down = rig.down.clone();
    // Down for the attempts at 0 h and 1 h, back for the one at 2 h.
    rig.sim.on_attempt(move |attempt| {
        down.store(
            attempt.since_start < Duration::from_secs(2 * HOUR),
            Ordering::SeqCst,
        );
    });
    let flow = flows::by_name("new-period", start_time()).unwrap();
    let report = rig.sim.run_flow(&flow).await;
    let exchanges = rig.sim.exchanges();
    assert!(report.fulfilled(), "{}", explain(&report, &exchanges));
    assert_eq!(report.steps[0].attempts, 3);

    let purchase: Vec<&ExchangeRecord> = exchanges.iter().filter(|e| e.step == 0).collect();
    let offsets: Vec<u64> = purchase.iter().map(|e| e.offset_secs).collect();
    assert_eq!(offsets, [0, HOUR, 2 * HOUR]);
    for failed in &purchase[..2] {
        assert!(!failed.ok);
        assert_eq!(failed.response.as_ref().unwrap().status, 503);
        let verdict = failed.verdicts.iter().find(|v| !v.ok).unwrap();
        assert_eq!(verdict.name, "HTTP 200");
    }
    assert!(purchase[2].ok);
    // businessId differs on every attempt, retries included (spec saas-v2 §3.1).
    let ids: std::collections::HashSet<&str> = purchase
        .iter()
        .map(|e| e.request.body["businessId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);

    let messages = rig.sim.message_log();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status, MessageStatus::Recovered);
    assert_eq!(messages[0].attempts, 3);
    let order = &rig.sim.orders()[0];
    assert_eq!(order.status, OrderStatus::Fulfilled);
    assert_eq!(order.instance_id, report.instance_id);
    assert_eq!(rig.sim.clock().elapsed(), Duration::from_secs(2 * HOUR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_past_three_hours_is_refunded_then_retriggered() {
    let mut rig = Rig::unreachable(EngineOptions::default()).await;
    let flow = flows::by_name("new-one-time", start_time()).unwrap();
    let report = rig.sim.run_flow(&flow).await;
    assert_eq!(
        report.outcome,
        FlowOutcome::Failed {
            step: 0,
            activity: "newInstance".to_owned(),
            refunded: true
        }
    );
    assert_eq!(report.steps[0].attempts, 4);
    let offsets: Vec<u64> = rig.sim.exchanges().iter().map(|e| e.offset_secs).collect();
    assert_eq!(offsets, [0, HOUR, 2 * HOUR, 3 * HOUR]);
    assert!(rig.sim.exchanges()[0].verdicts[0].name == "reachable");

    let messages = rig.sim.message_log();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.status, MessageStatus::Refunded);
    assert_eq!(message.attempts, 4);
    assert!(message.last_error.as_deref().unwrap().contains("reachable"));
    assert_eq!(rig.sim.orders()[0].status, OrderStatus::Refunded);

    // The vendor fixes its server and presses 重新启动 in the seller center.
    rig.come_up().await;
    rig.sim.clock().advance(Duration::from_secs(HOUR));
    let record = rig.sim.retrigger(message.id).await.unwrap();
    assert!(record.ok, "{record:#?}");
    assert_eq!(record.trigger, Trigger::Manual);
    assert_eq!(record.offset_secs, 4 * HOUR);
    let message = &rig.sim.message_log()[0];
    assert_eq!(message.status, MessageStatus::Resolved);
    assert_eq!(message.attempts, 5);
    let order = &rig.sim.orders()[0];
    assert_eq!(order.status, OrderStatus::Fulfilled);
    assert!(order.instance_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_passes_against_the_real_gateway() {
    let rig = Rig::up(EngineOptions::default()).await;
    for flow in flows::all(start_time()) {
        let report = rig.sim.run_flow(&flow).await;
        assert!(
            report.fulfilled(),
            "{}",
            explain(&report, &rig.sim.exchanges())
        );
        assert_eq!(report.steps.len(), flow.steps.len());
    }
    assert!(rig.sim.message_log().is_empty());
    assert!(rig.sim.exchanges().iter().all(|e| e.ok && e.attempt == 1));
    assert!(
        rig.sim
            .orders()
            .iter()
            .all(|o| o.status == OrderStatus::Fulfilled)
    );
    // The gateway fetched every order it was told about from the simulator's open API.
    assert!(!rig.sim.openapi_exchanges().is_empty());
    // Nothing moved the clock: no retries, no polls.
    assert_eq!(rig.sim.clock().elapsed(), Duration::ZERO);

    let path = std::env::temp_dir().join(format!("sim-{}.json", uuid::Uuid::new_v4().simple()));
    rig.sim.export_json(&path).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        record["flows"].as_array().unwrap().len(),
        flows::NAMES.len()
    );
    assert_eq!(
        record["exchanges"].as_array().unwrap().len(),
        rig.sim.exchanges().len()
    );
    assert!(!record.to_string().contains(harness::KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_progress_purchases_are_polled_until_app_info() {
    let target = fake::Target::start(fake::Behaviour::AsyncReadyAfter(3)).await;
    let sim = fake::sim(&target, EngineOptions::default()).await;
    let flow = flows::by_name("new-period", start_time()).unwrap();
    let report = sim.run_flow(&flow).await;
    assert!(report.fulfilled(), "{}", explain(&report, &sim.exchanges()));
    let polls: Vec<ExchangeRecord> = sim
        .exchanges()
        .into_iter()
        .filter(|e| e.trigger == Trigger::Poll)
        .collect();
    assert_eq!(polls.len(), 3);
    assert_eq!(polls[2].offset_secs, 180);
    assert_eq!(report.instance_id.as_deref(), Some(fake::INSTANCE_ID));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_refusals_retry_by_default_and_can_stop_at_once() {
    let target = fake::Target::start(fake::Behaviour::Refuse("000100")).await;
    let flow = flows::by_name("new-period", start_time()).unwrap();
    let sim = fake::sim(&target, EngineOptions::default()).await;
    let report = sim.run_flow(&flow).await;
    assert_eq!(report.steps[0].attempts, 4);
    assert!(
        sim.message_log()[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("000100")
    );

    let options = EngineOptions {
        business_errors: koogate_sim::scenario::BusinessErrors::Stop,
        ..EngineOptions::default()
    };
    let sim = fake::sim(&target, options).await;
    let report = sim.run_flow(&flow).await;
    assert_eq!(report.steps[0].attempts, 1);
    assert!(!report.fulfilled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_slower_than_the_timeout_are_failures() {
    // The production timeout is 5 s; a shorter one keeps the test fast and exercises the same path.
    let target = fake::Target::start(fake::Behaviour::Slow(Duration::from_millis(400))).await;
    let options = EngineOptions {
        timeout: Duration::from_millis(100),
        ..EngineOptions::default()
    };
    let sim = fake::sim(&target, options).await;
    let flow = flows::by_name("order-notify", start_time()).unwrap();
    let report = sim.run_flow(&flow).await;
    assert!(!report.fulfilled());
    assert_eq!(report.steps[0].attempts, 4);
    let first = &sim.exchanges()[0];
    assert_eq!(first.verdicts[0].name, "answered in time");
    assert!(first.response.is_none());
    assert_eq!(sim.message_log()[0].status, MessageStatus::Failed);
    assert_eq!(sim.orders()[0].status, OrderStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspection_api_lists_and_retriggers_messages() {
    let target = fake::Target::start(fake::Behaviour::Refuse("000005")).await;
    let sim = fake::sim(&target, EngineOptions::default()).await;
    let flow = flows::by_name("release", start_time()).unwrap();
    sim.run_flow(&flow).await;
    let http = reqwest::Client::new();
    let base = sim.openapi_url();
    let messages: serde_json::Value = http
        .get(format!("{base}/__sim/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages[0]["status"], "refunded");
    let retried = http
        .post(format!("{base}/__sim/messages/1/retrigger"))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let record: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(record["trigger"], "manual");
    let missing = http
        .post(format!("{base}/__sim/messages/99/retrigger"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let exchanges: serde_json::Value = http
        .get(format!("{base}/__sim/exchanges"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exchanges.as_array().unwrap().len(), 5);
}
