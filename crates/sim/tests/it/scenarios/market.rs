//! The engine next to the simulator's open API: instances a flow sells are registered for the
//! usage check and follow the flow's calls, `getLicenseAsync` waits for the license upload, and
//! the inspection API shows uploads, instances, usage and license codes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use koogate_protocol::result_code::UsageRecordCode;
use koogate_sim::openapi::{InstanceStatus, LicenseGrant, UploadContent};
use koogate_sim::orders::ChargingMode;
use koogate_sim::scenario::{EngineOptions, Flow, FlowOutcome, flows};
use serde_json::Value;

use super::harness::{Rig, start_time};
use super::{explain, fake};

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

/// Plays `name` to fulfilment and returns the instance it ended with.
async fn fulfil(rig: &Rig, name: &str) -> String {
    let report = rig
        .sim
        .run_flow(&flows::by_name(name, start_time()).unwrap())
        .await;
    assert!(
        report.fulfilled(),
        "{}",
        explain(&report, &rig.sim.exchanges())
    );
    report.instance_id.unwrap()
}

/// An on-demand purchase, then frozen (no flow of the spec freezes an on-demand instance, but
/// KooGallery does when the buyer's account is in arrears, saas-v2 §3.4).
async fn frozen_on_demand(rig: &Rig) -> String {
    let purchase = flows::by_name("new-on-demand", start_time()).unwrap();
    let expiry = flows::by_name("expiry", start_time()).unwrap();
    let steps = vec![purchase.steps[0].clone(), expiry.steps[1].clone()];
    let flow = Flow::new("on-demand-frozen", "on-demand purchase, then frozen", steps);
    let report = rig.sim.run_flow(&flow).await;
    assert!(
        report.fulfilled(),
        "{}",
        explain(&report, &rig.sim.exchanges())
    );
    report.instance_id.unwrap()
}

async fn settle(rig: &Rig) {
    tokio::time::timeout(Duration::from_secs(10), rig.sim.openapi().settle_usage())
        .await
        .expect("the asynchronous usage checks finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_online_license_is_uploaded_under_the_requests_event_id() {
    let rig = Rig::up(EngineOptions::default()).await;
    let flow = flows::by_name("online-license", start_time()).unwrap();
    let report = rig.sim.run_flow(&flow).await;
    assert!(
        report.fulfilled(),
        "{}",
        explain(&report, &rig.sim.exchanges())
    );
    let application = rig
        .sim
        .exchanges()
        .into_iter()
        .find(|e| e.activity == "getLicenseAsync")
        .unwrap();
    let event_id = application.request.body["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let check = report.steps[1].license_upload.clone().unwrap();
    assert!(check.arrived, "{check:?}");
    assert_eq!(check.event_id, event_id);
    assert_eq!(check.upload_type.as_deref(), Some("CHARACTERS"));

    let uploads = rig.sim.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].event_id, event_id);
    assert_eq!(uploads[0].access_key, rig.sim.ak());
    // No vendor hook is configured: the gateway's built-in generator made the license.
    assert!(
        matches!(&uploads[0].content, UploadContent::Characters(text) if text.starts_with("kg1.")),
        "{:?}",
        uploads[0].content
    );

    let base = rig.sim.openapi_url();
    let shown = get_json(&format!("{base}/__sim/uploads")).await;
    assert_eq!(shown[0]["event_id"], event_id.as_str());
    assert_eq!(shown[0]["content"]["type"], "CHARACTERS");
    let flows = get_json(&format!("{base}/__sim/flows")).await;
    assert_eq!(flows[0]["steps"][1]["license_upload"]["arrived"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_that_never_uploads_the_license_fails_the_flow() {
    let target = fake::Target::start(fake::Behaviour::NeverUploads).await;
    let flow = flows::by_name("online-license", start_time()).unwrap();
    // A short wait keeps the test quick; the default is 10 s.
    let options = EngineOptions {
        license_upload_wait: Duration::from_millis(300),
        ..EngineOptions::default()
    };
    let sim = fake::sim(&target, options).await;
    let report = sim.run_flow(&flow).await;
    assert_eq!(
        report.outcome,
        FlowOutcome::Failed {
            step: 1,
            activity: "getLicenseAsync".to_owned(),
            refunded: false
        }
    );
    let step = &report.steps[1];
    let check = step.license_upload.as_ref().unwrap();
    assert!(!check.arrived);
    assert!(check.waited_ms >= 300, "{check:?}");
    let error = step.error.as_deref().unwrap();
    assert!(error.contains("no license upload"), "{error}");
    assert!(error.contains(&check.event_id), "{error}");
    // The call itself was answered well: nothing for the seller center's message list.
    assert!(sim.exchanges().iter().all(|e| e.ok));
    assert!(sim.message_log().is_empty());

    // Switched off, the same vendor fulfils the flow without any wait.
    let options = EngineOptions {
        expect_license_upload: false,
        ..EngineOptions::default()
    };
    let sim = fake::sim(&target, options).await;
    let report = sim.run_flow(&flow).await;
    assert!(report.fulfilled(), "{}", explain(&report, &sim.exchanges()));
    assert!(report.steps[1].license_upload.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_a_flow_sells_are_billable_and_follow_its_calls() {
    let rig = Rig::up(EngineOptions::default()).await;
    // Frozen between the expiry flow's freeze and its unfreeze (seen just before the renewal).
    let frozen = Arc::new(Mutex::new(Vec::new()));
    let (seen, state) = (frozen.clone(), rig.sim.openapi().clone());
    rig.sim.on_attempt(move |attempt| {
        if attempt.flow == "expiry" && attempt.activity == "refreshInstance" {
            let statuses = state.instances().into_iter().map(|i| i.status);
            seen.lock().unwrap().extend(statuses);
        }
    });
    let on_demand = fulfil(&rig, "new-on-demand").await;
    let expiry = fulfil(&rig, "expiry").await;
    let released = fulfil(&rig, "release").await;
    let instance = |id: &str| rig.sim.openapi().instance(id).unwrap();
    let sold = instance(&on_demand);
    assert_eq!(sold.charging_mode, ChargingMode::OnDemand);
    assert_eq!(sold.status, InstanceStatus::Active);
    assert_eq!(sold.owner.as_deref(), Some(rig.sim.ak()));
    assert!(frozen.lock().unwrap().contains(&InstanceStatus::Frozen));
    assert_eq!(instance(&expiry).charging_mode, ChargingMode::Period);
    assert_eq!(instance(&expiry).status, InstanceStatus::Active);
    assert_eq!(instance(&released).status, InstanceStatus::Released);

    let answer = rig.push_usage(&on_demand, "sn-on-demand").await;
    assert_eq!(answer["error_code"], "MKT.0000", "{answer}");
    settle(&rig).await;
    assert!(
        rig.sim.usage_anomalies().is_empty(),
        "{:#?}",
        rig.sim.usage_anomalies()
    );
    // For contrast: what KooGallery flags. The released instance is known (not `001`), but it
    // was sold by the month, which the check looks at before its status.
    let frozen_on_demand = frozen_on_demand(&rig).await;
    rig.push_usage(&frozen_on_demand, "sn-frozen").await;
    rig.push_usage(&released, "sn-released").await;
    rig.push_usage("i-never-sold", "sn-unknown").await;
    settle(&rig).await;
    let mut flagged: Vec<(String, UsageRecordCode)> = rig
        .sim
        .usage_anomalies()
        .into_iter()
        .map(|a| (a.record.instance_id, a.code))
        .collect();
    flagged.sort_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
    assert_eq!(
        flagged,
        [
            ("i-never-sold".to_owned(), UsageRecordCode::InstanceNotFound),
            (released.clone(), UsageRecordCode::NotOnDemand),
            (frozen_on_demand, UsageRecordCode::InvalidInstanceStatus),
        ]
    );

    rig.sim
        .openapi()
        .issue_license(LicenseGrant::new("PLSCENARIOTEST0001"))
        .unwrap();
    let base = rig.sim.openapi_url();
    let usage = get_json(&format!("{base}/__sim/usage")).await;
    assert_eq!(usage.as_array().unwrap().len(), 4);
    assert_eq!(usage[0]["instance_id"], on_demand.as_str());
    assert_eq!(usage[0]["metering_sn"], "sn-on-demand");
    assert_eq!(usage[0]["api"], "new");
    assert_eq!(usage[0]["usage_value"], 2.5);
    let anomalies = get_json(&format!("{base}/__sim/usage/anomalies")).await;
    let codes: Vec<&str> = anomalies
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert_eq!(codes.len(), 3, "{anomalies}");
    for code in ["001", "012", "013"] {
        assert!(codes.contains(&code), "{anomalies}");
    }
    let instances = get_json(&format!("{base}/__sim/instances")).await;
    let shown = instances
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == on_demand.as_str())
        .unwrap();
    assert_eq!(shown["charging_mode"], "ON_DEMAND");
    assert_eq!(shown["status"], "active");
    let licenses = get_json(&format!("{base}/__sim/licenses")).await;
    assert_eq!(licenses[0]["grant"]["code"], "PLSCENARIOTEST0001");
    assert_eq!(licenses[0]["activation"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_purchase_releases_its_instance() {
    // newInstance answers 000004 and the app info never appears: every attempt fails.
    let target = fake::Target::start(fake::Behaviour::AsyncReadyAfter(u32::MAX)).await;
    let options = EngineOptions {
        max_polls: 1,
        ..EngineOptions::default()
    };
    let sim = fake::sim(&target, options).await;
    let report = sim
        .run_flow(&flows::by_name("new-period", start_time()).unwrap())
        .await;
    assert!(matches!(
        report.outcome,
        FlowOutcome::Failed { refunded: true, .. }
    ));
    let instance = sim.openapi().instance(fake::INSTANCE_ID).unwrap();
    assert_eq!(instance.charging_mode, ChargingMode::Period);
    assert_eq!(instance.status, InstanceStatus::Released);
}
