//! Fault injection against small fake targets that get things wrong on purpose: a fault's
//! failed expectation is a recorded violation, not a failed flow. (The real gateway under every
//! fault is `crates/gateway/tests/it/sim_faults.rs`.)

#![allow(clippy::unwrap_used)]

// The fake targets and the rig are the scenario tests'.
use crate::scenarios::{fake, harness};

use harness::start_time;
use koogate_sim::faults::{self, FaultKind, Faults};
use koogate_sim::scenario::{EngineOptions, flows};

fn options(specs: &[&str]) -> EngineOptions {
    EngineOptions {
        faults: Faults::parse(specs).unwrap(),
        ..EngineOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_accepts_tampered_and_replayed_requests_is_caught() {
    // Answers 000000 to everything, signatures unchecked.
    let target = fake::Target::start(fake::Behaviour::Slow(std::time::Duration::ZERO)).await;
    let sim = fake::sim(&target, options(&["tamper-body", "replay", "duplicate"])).await;
    let report = sim
        .run_flow(&flows::by_name("order-notify", start_time()).unwrap())
        .await;
    // KooGallery's own call was answered: the flow is fulfilled either way.
    assert!(report.fulfilled());
    let exchanges = sim.exchanges();
    let kinds: Vec<Option<FaultKind>> = exchanges.iter().map(|e| e.fault).collect();
    assert_eq!(
        kinds,
        [
            Some(FaultKind::TamperBody),
            None,
            Some(FaultKind::Duplicate),
            Some(FaultKind::ReplayNonce),
        ]
    );
    let violations: Vec<FaultKind> = faults::violations(&exchanges)
        .iter()
        .filter_map(|e| e.fault)
        .collect();
    assert_eq!(violations, [FaultKind::TamperBody, FaultKind::ReplayNonce]);
    let tampered = &exchanges[0];
    let verdict = tampered.verdicts.last().unwrap();
    assert_eq!(verdict.name, "refused with 000001");
    assert!(!verdict.ok);
    // The tampered body is still JSON, one character off the genuine one.
    assert_ne!(tampered.request.body, exchanges[1].request.body);
    assert!(tampered.request.body.is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_overtakes_the_poll_must_hide_the_app_info() {
    // The fake shows app info from the first poll on, released or not.
    let target = fake::Target::start(fake::Behaviour::AsyncReadyAfter(1)).await;
    let sim = fake::sim(&target, options(&["reorder"])).await;
    let report = sim
        .run_flow(&flows::by_name("unsubscribe", start_time()).unwrap())
        .await;
    let exchanges = sim.exchanges();
    let order: Vec<(&str, Option<FaultKind>)> = exchanges
        .iter()
        .map(|e| (e.activity.as_str(), e.fault))
        .collect();
    assert_eq!(
        order[..3],
        [
            ("newInstance", None),
            ("releaseInstance", None),
            ("queryInstance", Some(FaultKind::Reorder)),
        ]
    );
    let violations = faults::violations(&exchanges);
    assert_eq!(violations.len(), 1);
    let why = violations[0].verdicts.iter().find(|v| !v.ok).unwrap();
    assert_eq!(why.name, "released instance shows no appInfo");
    // The purchase is retried on KooGallery's schedule and ends with app info, as without the
    // fault; the violation stays on record.
    assert!(report.fulfilled(), "{report:#?}");
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.steps[0].attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_is_abandoned_then_answers_the_retry_alike() {
    let target =
        fake::Target::start(fake::Behaviour::Slow(std::time::Duration::from_millis(300))).await;
    let sim = fake::sim(&target, options(&["timeout=50"])).await;
    let report = sim
        .run_flow(&flows::by_name("order-notify", start_time()).unwrap())
        .await;
    assert!(report.fulfilled(), "{report:#?}");
    let exchanges = sim.exchanges();
    let late = exchanges
        .iter()
        .find(|e| e.fault == Some(FaultKind::ClientTimeout))
        .unwrap();
    assert!(late.ok, "{late:#?}");
    assert_eq!(late.attempt, 1);
    assert!(
        late.verdicts
            .iter()
            .any(|v| v.name == "the retry (attempt 2) got the same answer")
    );
    assert!(exchanges[0].error.as_deref().unwrap().contains("50 ms"));
    assert!(faults::violations(&exchanges).is_empty());
}
