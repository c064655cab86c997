//! One story per fault of issue 4. Each takes the URL of a fresh database.

use std::collections::HashSet;
use std::time::Duration;

use koogate_sim::faults::{self, FaultKind, Faults, Tamper};
use koogate_sim::scenario::{Engine, ExchangeRecord, Flow, FlowReport, Step, flows};
use serde_json::json;

use super::harness::{Rig, start_time};

fn flow(name: &str) -> Flow {
    flows::by_name(name, start_time()).unwrap()
}

/// The report and every exchange of the engine, for assertion messages.
fn explain(report: &FlowReport, engine: &Engine) -> String {
    let mut text = format!("{report:#?}\n");
    for e in engine.exchanges().all() {
        text.push_str(&format!(
            "#{} {} step {} {} attempt {} fault={:?} ok={} error={:?} verdicts={:?} response={:?}\n",
            e.id, e.flow, e.step, e.activity, e.attempt, e.fault, e.ok, e.error, e.verdicts, e.response
        ));
    }
    text
}

fn code(record: &ExchangeRecord) -> &str {
    record
        .response
        .as_ref()
        .and_then(|r| r.result_code.as_deref())
        .unwrap_or("(no answer)")
}

fn body(record: &ExchangeRecord) -> &str {
    &record.response.as_ref().unwrap().body
}

async fn run_fulfilled(engine: &Engine, flow: &Flow) -> FlowReport {
    let report = engine.run(flow).await;
    assert!(report.fulfilled(), "{}", explain(&report, engine));
    report
}

/// Runs `expiry` (purchase, freeze, renewal, unfreeze) with `faults`; every exchange the fault
/// added must be a `kind` refusal, one per step, and the instance must end as a clean run's.
async fn refused_on_every_step(rig: &Rig, faults: Faults, kind: FaultKind) {
    let engine = rig.engine(faults);
    let report = run_fulfilled(&engine, &flow("expiry")).await;
    let records = engine.exchanges().all();
    let probes: Vec<&ExchangeRecord> = records.iter().filter(|r| r.fault.is_some()).collect();
    assert_eq!(probes.len(), 4, "{}", explain(&report, &engine));
    for probe in probes {
        assert_eq!(probe.fault, Some(kind));
        assert!(probe.ok, "{probe:#?}");
        assert_eq!(probe.response.as_ref().unwrap().status, 200);
        assert_eq!(code(probe), faults::AUTH_FAILED);
    }
    let clean = run_fulfilled(&rig.engine(Faults::default()), &flow("expiry")).await;
    let (faulted, clean) = (report.instance_id.unwrap(), clean.instance_id.unwrap());
    assert_eq!(
        rig.event_types(&faulted).await,
        rig.event_types(&clean).await
    );
    let instance = rig.api(&format!("instances/{faulted}")).await;
    assert_eq!(instance["status"], "active");
}

/// Every refusal the watch saw left the store as it was.
fn assert_refusals_changed_nothing(rig: &Rig, expected: usize) {
    let refusals = rig.refusals();
    assert_eq!(refusals.count, expected);
    assert!(
        refusals.changed.is_empty(),
        "{}",
        refusals.changed.join("\n---\n")
    );
}

pub async fn twenty_concurrent_resends_make_one_instance(db: String) {
    let rig = Rig::start(db, false).await;
    let engine = rig.engine(Faults::parse(["concurrent=20"]).unwrap());
    let report = run_fulfilled(&engine, &flow("new-period")).await;
    let records = engine.exchanges().all();
    let purchase: Vec<&ExchangeRecord> = records.iter().filter(|r| r.step == 0).collect();
    assert_eq!(purchase.len(), 20);
    let copies = purchase
        .iter()
        .filter(|r| r.fault == Some(FaultKind::Concurrent));
    assert_eq!(copies.count(), 19);
    for record in &purchase {
        assert!(record.ok, "{record:#?}");
        assert_eq!(code(record), "000000");
    }
    // Twenty identical answers, byte for byte.
    let bodies: HashSet<&str> = purchase.iter().map(|r| body(r)).collect();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert!(faults::violations(&records).is_empty());
    // One instance, the one every answer named.
    let instances = rig.instances().await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(
        instances[0]["instanceId"].as_str(),
        report.instance_id.as_deref()
    );
}

pub async fn a_timeout_straddling_the_commit_gets_the_same_answer_on_retry(db: String) {
    let rig = Rig::start(db, false).await;
    // newInstance queries the order inside the call: 900 ms there outlasts a 300 ms client
    // timeout, and stays inside the gateway's own 2 s open-API budget.
    rig.sim.openapi().set_latency(Duration::from_millis(900));
    let engine = rig.engine(Faults::parse(["timeout=300"]).unwrap());
    let report = run_fulfilled(&engine, &flow("new-period")).await;
    assert_eq!(report.steps[0].attempts, 2, "{}", explain(&report, &engine));
    let records = engine.exchanges().all();
    let step: Vec<&ExchangeRecord> = records.iter().filter(|r| r.step == 0).collect();
    let abandoned = step
        .iter()
        .find(|r| r.attempt == 1 && r.fault.is_none())
        .unwrap();
    assert!(abandoned.response.is_none());
    assert_eq!(abandoned.verdicts[0].name, "answered in time");
    let retry = step.iter().find(|r| r.attempt == 2).unwrap();
    assert!(retry.ok, "{retry:#?}");
    assert_eq!(retry.offset_secs, 3600);
    let late = step
        .iter()
        .find(|r| r.fault == Some(FaultKind::ClientTimeout))
        .unwrap();
    assert!(late.ok, "{late:#?}");
    // The answer KooGallery never read and the one its retry got: the same bytes.
    assert_eq!(body(late), body(retry));
    // One instance, created by the abandoned call (at the first attempt's virtual time), and
    // the retry was answered from the stored answer without querying the order again.
    let instances = rig.instances().await;
    assert_eq!(instances.len(), 1, "{instances:#?}");
    assert_eq!(instances[0]["createdAt"], start_time().to_rfc3339());
    let order_queries = rig
        .sim
        .openapi_exchanges()
        .iter()
        .filter(|e| e.path.contains("/order/query"))
        .count();
    assert_eq!(order_queries, 1);
    assert!(faults::violations(&records).is_empty());
}

pub async fn duplicate_delivery_of_every_step_ends_where_a_clean_run_does(db: String) {
    let rig = Rig::start(db, false).await;
    let clean = rig.engine(Faults::default());
    let twice = rig.engine(Faults::parse(["duplicate"]).unwrap());
    for name in flows::NAMES {
        let before = rig.store.list_events(None, 500).await.unwrap().len();
        let a = run_fulfilled(&clean, &flow(name)).await;
        let middle = rig.store.list_events(None, 500).await.unwrap().len();
        let b = run_fulfilled(&twice, &flow(name)).await;
        let after = rig.store.list_events(None, 500).await.unwrap().len();
        // The same number of events (no effect applied twice) and the same end state.
        assert_eq!(middle - before, after - middle, "{name}");
        if let (Some(a), Some(b)) = (&a.instance_id, &b.instance_id) {
            assert_eq!(rig.event_types(a).await, rig.event_types(b).await, "{name}");
            let (a, b) = (
                rig.api(&format!("instances/{a}")).await,
                rig.api(&format!("instances/{b}")).await,
            );
            assert_eq!(a["status"], b["status"], "{name}");
            assert_eq!(a["expireTime"], b["expireTime"], "{name}");
        }
    }
    let records = twice.exchanges().all();
    let calls = records.iter().filter(|r| r.fault.is_none()).count();
    let duplicates = records
        .iter()
        .filter(|r| r.fault == Some(FaultKind::Duplicate))
        .count();
    assert_eq!(calls, duplicates);
    let violations = faults::violations(&records);
    assert!(violations.is_empty(), "{violations:#?}");
}

pub async fn a_release_overtaking_provisioning_stays_released(db: String) {
    // With a vendor hook, newInstance answers 000004 and the instance waits for the vendor.
    let rig = Rig::start(db, true).await;
    let engine = rig.engine(Faults::parse(["reorder"]).unwrap());
    let report = run_fulfilled(&engine, &flow("unsubscribe")).await;
    let records = engine.exchanges().all();
    let order: Vec<(&str, Option<FaultKind>)> = records
        .iter()
        .map(|r| (r.activity.as_str(), r.fault))
        .collect();
    assert_eq!(
        order,
        [
            ("newInstance", None),
            ("releaseInstance", None),
            ("queryInstance", Some(FaultKind::Reorder)),
        ],
        "{}",
        explain(&report, &engine)
    );
    assert_eq!(code(&records[0]), "000004");
    assert!(records.iter().all(|r| r.ok));
    let id = report.instance_id.unwrap();
    // The vendor's system finishes provisioning after the release: nothing comes back to life.
    let ready = json!({"frontEndUrl": "https://app.example.com/late"});
    let (status, view) = rig.api_post(&format!("instances/{id}/ready"), &ready).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "released");
    assert_eq!(
        rig.api(&format!("instances/{id}")).await["status"],
        "released"
    );
    let look = Flow::new(
        "look-again",
        "the buyer looks at the released instance",
        vec![Step::new(
            "look",
            json!({"activity": "queryInstance", "instanceId": id}),
        )],
    );
    engine.run(&look).await;
    let last = engine.exchanges().all().pop().unwrap();
    assert!(!body(&last).contains("appInfo"), "{last:#?}");
    assert_eq!(
        rig.event_types(&id).await,
        ["instance.provision", "instance.released"]
    );
}

pub async fn clock_skew_beyond_the_window_is_refused_and_changes_nothing(db: String) {
    let rig = Rig::start(db, false).await;
    for skew in ["skew=61", "skew=-61"] {
        let faults = Faults::parse([skew]).unwrap();
        refused_on_every_step(&rig, faults, FaultKind::ClockSkew).await;
    }
    assert_refusals_changed_nothing(&rig, 8);
    // Inside the window the skewed calls themselves are accepted.
    let engine = rig.engine(Faults::parse(["skew=59"]).unwrap());
    run_fulfilled(&engine, &flow("expiry")).await;
    let records = engine.exchanges().all();
    assert!(records.iter().all(|r| r.fault.is_none() && r.ok));
    let now = rig.sim.clock().now_ms();
    let signed: i64 = records[0]
        .request
        .timestamp
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(signed - now, 59_000);
}

pub async fn replayed_nonces_are_refused_and_change_nothing(db: String) {
    let rig = Rig::start(db, false).await;
    let faults = Faults::parse(["replay"]).unwrap();
    refused_on_every_step(&rig, faults, FaultKind::ReplayNonce).await;
    assert_refusals_changed_nothing(&rig, 4);
}

pub async fn tampered_bodies_and_signatures_are_refused_and_change_nothing(db: String) {
    let rig = Rig::start(db, false).await;
    for (tamper, kind) in [
        (Tamper::Body, FaultKind::TamperBody),
        (Tamper::Signature, FaultKind::TamperSignature),
    ] {
        let faults = Faults {
            tamper: Some(tamper),
            ..Faults::default()
        };
        refused_on_every_step(&rig, faults, kind).await;
    }
    assert_refusals_changed_nothing(&rig, 8);
}
