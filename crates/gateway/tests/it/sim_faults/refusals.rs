//! The vendor refuses purchases, end to end: the simulator buys, the gateway asks the vendor's
//! hook (a real receiver, the outbox worker running), the hook refuses with each of
//! `000100`–`000107`, and KooGallery's retries all see that refusal until it gives up and
//! refunds the order.

use std::time::Duration;

use koogate_gateway::clock::ManualClock;
use koogate_sim::faults::Faults;
use koogate_sim::scenario::{ExchangeRecord, FlowOutcome, OrderStatus, flows};
use serde_json::json;

use super::harness::{Rig, start_time};
use super::hook::Hook;

const CODES: [&str; 8] = [
    "000100", "000101", "000102", "000103", "000104", "000105", "000106", "000107",
];

/// The hook answers `instance.provision` after KooGallery's first call returned (`000004`).
pub async fn every_refusal_code_is_refunded_after_retries(db: String) {
    refused_purchases(db, 0).await;
}

/// With `provision_wait_ms`, the first call already answers the refusal.
pub async fn every_refusal_code_is_answered_at_once_and_refunded(db: String) {
    refused_purchases(db, 2_500).await;
}

async fn refused_purchases(db: String, wait_ms: u64) {
    let clock = ManualClock::new(start_time());
    let hook = Hook::start(clock.clone()).await;
    let url = hook.url();
    let rig = Rig::start_on_clock(db, true, clock, move |config| {
        config.hook_url = Some(url);
        config.provision_wait_ms = wait_ms;
    })
    .await;
    // The outbox worker, as `serve` runs it (woken by each commit, here polled).
    let worker = rig.worker.clone();
    let drain = tokio::spawn(async move {
        loop {
            worker.run_pending().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    for (n, code) in CODES.into_iter().enumerate() {
        let message = format!("sim refusal {code}");
        hook.answer(
            "instance.provision",
            json!({"refuse": {"code": code, "message": message}}),
        );
        let engine = rig.engine(Faults::default());
        let flow = flows::by_name("new-period", start_time()).unwrap();
        let report = engine.run(&flow).await;
        let explain = format!("{code}: {report:#?}\n{:#?}", engine.exchanges().all());
        assert!(
            matches!(
                report.outcome,
                FlowOutcome::Failed {
                    step: 0,
                    refunded: true,
                    ..
                }
            ),
            "{explain}"
        );
        let order_id = report.steps[0].order_id.clone().unwrap();
        assert_eq!(
            engine.orders().get(&order_id).unwrap().status,
            OrderStatus::Refunded,
            "{explain}"
        );

        // Every call KooGallery made for the purchase: with no wait, the first answers 000004
        // and the refusal follows; with the wait, the first is the refusal already. All
        // refusals are the same bytes, and KooGallery retried more than once.
        let calls: Vec<ExchangeRecord> = engine
            .exchanges()
            .all()
            .into_iter()
            .filter(|r| r.activity == "newInstance")
            .collect();
        let refusals = if wait_ms == 0 {
            assert_eq!(result_code(&calls[0]), "000004", "{explain}");
            &calls[1..]
        } else {
            &calls[..]
        };
        assert!(refusals.len() >= 2, "{explain}");
        let first = &refusals[0].response.as_ref().unwrap().body;
        for call in refusals {
            assert_eq!(result_code(call), code, "{explain}");
            assert_eq!(&call.response.as_ref().unwrap().body, first, "{explain}");
        }
        let answer: serde_json::Value = serde_json::from_str(first).unwrap();
        assert_eq!(answer["resultMsg"], message.as_str());

        // The gateway: one more instance, failed, and no event beyond its provision.
        let instances = rig.instances().await;
        assert_eq!(instances.len(), n + 1, "{instances:#?}");
        let failed: Vec<&serde_json::Value> = instances
            .iter()
            .filter(|i| i["status"] == "failed")
            .collect();
        assert_eq!(failed.len(), n + 1, "{instances:#?}");
        for instance in failed {
            let id = instance["instanceId"].as_str().unwrap();
            assert_eq!(rig.event_types(id).await, ["instance.provision"]);
        }
    }
    drain.abort();
    assert!(
        hook.received().iter().all(|d| d.signature_ok),
        "every delivery signed"
    );
}

fn result_code(record: &ExchangeRecord) -> &str {
    record
        .response
        .as_ref()
        .and_then(|r| r.result_code.as_deref())
        .unwrap_or("(no answer)")
}
