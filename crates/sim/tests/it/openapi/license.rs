//! The license-code open APIs (license-kit §2.3): activate, heartbeat, software-usage-info.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::DateTime;
use koogate_protocol::messages::license_api::{
    ActivateResponse, HeartbeatResponse, LicenseStatus, SoftwareUsageInfo,
    SoftwareUsageInfoResponse,
};
use koogate_protocol::wire::Bounded;
use koogate_sim::openapi::{
    LICENSE_ACTIVATE_PATH, LICENSE_HEARTBEAT_PATH, LicenseGrant, Now, OpenApiConfig, OpenApiHandle,
    SOFTWARE_USAGE_INFO_PATH, Verdict,
};
use serde_json::{Value, json};

use super::{AK, NOW, SK, sdk_date, send, start};

/// The placeholder code of the spec's examples.
const CODE: &str = "PLXXXXXX";

fn at(unix_secs: i64) -> chrono::DateTime<chrono::Utc> {
    DateTime::from_timestamp(unix_secs, 0).unwrap()
}

async fn call(sim: &OpenApiHandle, path: &str, body: &Value) -> (u16, Value) {
    call_raw(sim, path, "application/json", body.to_string().into_bytes()).await
}

async fn call_raw(
    sim: &OpenApiHandle,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let url = format!("{}{path}", sim.base_url);
    send("POST", &url, content_type, body, SK, &sdk_date(NOW)).await
}

async fn activate(sim: &OpenApiHandle, code: &str) -> (u16, Value) {
    call(sim, LICENSE_ACTIVATE_PATH, &json!({ "license": code })).await
}

async fn heartbeat(sim: &OpenApiHandle, code: &str) -> (u16, Value) {
    call(sim, LICENSE_HEARTBEAT_PATH, &json!({ "license": code })).await
}

fn assert_code(answer: &(u16, Value), code: &str, message: &str) {
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(answer.1["error_code"], code, "{answer:?}");
    assert_eq!(answer.1["error_msg"], message, "{answer:?}");
}

#[tokio::test]
async fn activate_then_heartbeat_for_an_ordered_code() {
    let sim = start().await;
    let code = sim
        .state()
        .issue_license_for_order("MOCKPERIODYEARNEW", None)
        .unwrap();
    assert!(code.starts_with("PL"));

    let (status, answer) = activate(&sim, &code).await;
    assert_eq!(status, 200);
    let response: ActivateResponse = serde_json::from_value(answer.clone()).unwrap();
    assert!(response.error_code.is_success());
    assert_eq!(response.error_msg, "Success");
    assert!(
        answer["data"]["license_code_info"].is_string(),
        "a JSON string, as documented"
    );
    let info = response.license_code_info().unwrap().unwrap();
    assert_eq!(info.status, LicenseStatus::Alive);
    assert_eq!(info.expire_time.as_deref(), Some("20251121235959"));
    assert_eq!(info.product_id.as_deref(), Some("OFFI846204237451911168"));
    assert_eq!(info.order_id.as_deref(), Some("MOCKPERIODYEARNEW"));
    assert_eq!(info.amount.unwrap().as_text(), "50");

    let (status, answer) = heartbeat(&sim, &code).await;
    assert_eq!(status, 200);
    let response: HeartbeatResponse = serde_json::from_value(answer).unwrap();
    assert!(response.error_code.is_success());
    let data = response.data.unwrap();
    assert_eq!(data.license_code, code);
    assert_eq!(data.status, LicenseStatus::Alive);
    assert_eq!(data.activate_time.as_deref(), Some("20241121092206"));
    assert_eq!(data.expire_time.as_deref(), Some("20251121235959"));

    let license = sim.state().license(&code).unwrap();
    let activation = license.activation.unwrap();
    assert_eq!(
        (activation.access_key.as_str(), activation.at),
        (AK, at(NOW))
    );
    assert_eq!(license.heartbeats.len(), 1);
    assert_eq!(license.heartbeats[0].info, None);
    assert_eq!(
        sim.exchanges()[0].verdict,
        Verdict::Accepted {
            access_key: AK.to_owned()
        }
    );
}

#[tokio::test]
async fn spec_example_heartbeat_is_recorded_with_its_info() {
    let sim = start().await;
    sim.state().issue_license(LicenseGrant::new(CODE)).unwrap();
    let effect = json!({ "license": CODE, "real_effect_time": "20241121000000" });
    let (_, answer) = call(&sim, LICENSE_ACTIVATE_PATH, &effect).await;
    assert_eq!(answer["error_code"], "92020000");

    // license-kit §2.3.2's request example, verbatim.
    let body = br#"{"license":"PLXXXXXX","heartbeatInfo":{"thirdPartyAccount":"myaccount1","ip":"192.168.1.51"}}"#;
    let (status, answer) = call_raw(
        &sim,
        LICENSE_HEARTBEAT_PATH,
        "application/json",
        body.to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["data"]["activate_time"], "20241121000000",
        "real_effect_time wins"
    );
    assert_eq!(answer["data"]["status"], "ALIVE");
    assert!(
        answer["data"].get("expire_time").is_none(),
        "no expiry, none reported"
    );

    let license = sim.state().license(CODE).unwrap();
    let info = license.heartbeats[0].info.clone().unwrap();
    assert_eq!(info.third_party_account.as_str(), "myaccount1");
    assert_eq!(info.ip.unwrap().as_str(), "192.168.1.51");
}

#[tokio::test]
async fn activate_refusals() {
    let sim = start().await;
    let state = sim.state();
    state
        .issue_license(LicenseGrant::new("PL-UNRECEIVED").unreceived())
        .unwrap();
    state
        .issue_license(LicenseGrant::new("PL-EXPIRED").expires(at(NOW - 1)))
        .unwrap();
    state
        .issue_license(LicenseGrant::new("PL-RELEASED"))
        .unwrap();
    assert!(state.release_license("PL-RELEASED"));
    state
        .issue_license(LicenseGrant::new("PL-ORDERED").order_time(at(NOW - 3600)))
        .unwrap();
    state.issue_license(LicenseGrant::new(CODE)).unwrap();

    assert_code(
        &activate(&sim, "PL-NOPE").await,
        "92020005",
        "license code notexist",
    );
    assert_code(
        &activate(&sim, "PL-UNRECEIVED").await,
        "92020004",
        "can not active before user received.",
    );
    assert_code(
        &activate(&sim, "PL-EXPIRED").await,
        "92020003",
        "illegal state",
    );
    assert_code(
        &activate(&sim, "PL-RELEASED").await,
        "92020003",
        "illegal state",
    );
    let before_order = json!({ "license": "PL-ORDERED", "real_effect_time": "20241121072206" });
    let answer = call(&sim, LICENSE_ACTIVATE_PATH, &before_order).await;
    assert_code(&answer, "92020002", "invalid param");
    let not_a_time = json!({ "license": "PL-ORDERED", "real_effect_time": "2024-11-21" });
    let answer = call(&sim, LICENSE_ACTIVATE_PATH, &not_a_time).await;
    assert_code(&answer, "92020002", "invalid param");

    // Activating twice, from this or any other machine, is an illegal state.
    assert_code(&activate(&sim, CODE).await, "92020000", "Success");
    let answer = activate(&sim, CODE).await;
    assert_code(&answer, "92020003", "illegal state");
    assert!(answer.1.get("data").is_none());

    // Receiving the code later makes it activatable.
    assert!(state.set_license_received("PL-UNRECEIVED", true));
    assert_code(
        &activate(&sim, "PL-UNRECEIVED").await,
        "92020000",
        "Success",
    );

    let activated: Vec<_> = state
        .licenses()
        .into_iter()
        .filter(|l| l.activation.is_some())
        .map(|l| l.grant.code)
        .collect();
    assert_eq!(activated, ["PL-UNRECEIVED", CODE], "sorted by code");
    let details: Vec<_> = sim
        .exchanges()
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(
        details.iter().any(|d| d.contains("already activated")),
        "{details:?}"
    );
}

#[tokio::test]
async fn heartbeat_refusals_and_lifecycle() {
    // A clock the test moves: expiry follows the simulator's "now".
    let clock = Arc::new(AtomicI64::new(NOW));
    let now = Now::from_fn({
        let clock = clock.clone();
        move || clock.load(Ordering::Relaxed)
    });
    let sim = super::start_with(OpenApiConfig::default().now(now)).await;
    let state = sim.state();
    state.issue_license(LicenseGrant::new(CODE)).unwrap();
    state
        .issue_license(LicenseGrant::new("PL-SHORT").expires(at(NOW + 1)))
        .unwrap();

    assert_code(
        &heartbeat(&sim, "PL-NOPE").await,
        "92020005",
        "license code notexist",
    );
    let answer = heartbeat(&sim, CODE).await;
    assert_code(&answer, "92020011", "license code has been not activated.");
    assert!(answer.1.get("data").is_none());
    assert!(state.license(CODE).unwrap().heartbeats.is_empty());

    assert_eq!(activate(&sim, CODE).await.1["error_code"], "92020000");
    assert!(state.release_license(CODE));
    let (_, answer) = heartbeat(&sim, CODE).await;
    let response: HeartbeatResponse = serde_json::from_value(answer).unwrap();
    assert!(
        response.error_code.is_success(),
        "a released code still answers, with its status"
    );
    assert_eq!(response.data.unwrap().status, LicenseStatus::Released);

    // This code expires one second after NOW.
    assert_eq!(activate(&sim, "PL-SHORT").await.1["error_code"], "92020000");
    assert_eq!(
        heartbeat(&sim, "PL-SHORT").await.1["data"]["status"],
        "ALIVE"
    );
    clock.store(NOW + 2, Ordering::Relaxed);
    let (_, answer) = heartbeat(&sim, "PL-SHORT").await;
    assert_eq!(answer["error_code"], "92020000");
    assert_eq!(answer["data"]["status"], "EXPIRED");
    assert_eq!(state.license("PL-SHORT").unwrap().heartbeats.len(), 2);
}

#[tokio::test]
async fn software_usage_info_is_recorded() {
    let sim = start().await;
    sim.state().issue_license(LicenseGrant::new("PL1")).unwrap();
    assert_eq!(activate(&sim, "PL1").await.1["error_code"], "92020000");

    let body = br#"{"usage_info":[{"license":"PL1","software_usage_Info":[{"id":"user-1"},{"active_num":12}]}]}"#;
    let (status, answer) = call_raw(
        &sim,
        SOFTWARE_USAGE_INFO_PATH,
        "application/json",
        body.to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let response: SoftwareUsageInfoResponse = serde_json::from_value(answer.clone()).unwrap();
    assert!(response.error_code.is_success());
    assert_eq!(answer["data"]["check_fail_list"], json!([]));

    let reports = sim.state().license("PL1").unwrap().usage_reports;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].access_key, AK);
    assert_eq!(reports[0].at, at(NOW));
    assert_eq!(
        reports[0].entries,
        [
            SoftwareUsageInfo::ClientId(Bounded::new("user-1").unwrap()),
            SoftwareUsageInfo::ActiveCount(12),
        ]
    );
}

#[tokio::test]
async fn software_usage_info_refusals() {
    let sim = start().await;
    let state = sim.state();
    state.issue_license(LicenseGrant::new("PL-GOOD")).unwrap();
    state.issue_license(LicenseGrant::new("PL-IDLE")).unwrap();
    assert_eq!(activate(&sim, "PL-GOOD").await.1["error_code"], "92020000");
    let entry =
        |code: &str| json!({ "license": code, "software_usage_Info": [{ "active_num": 3 }] });

    let mixed = json!({ "usage_info": [entry("PL-GOOD"), entry("PL-NOPE"), entry("PL-IDLE")] });
    let (status, answer) = call(&sim, SOFTWARE_USAGE_INFO_PATH, &mixed).await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_code"], "92020020");
    assert_eq!(answer["error_msg"], "Invalid license code exists.");
    assert_eq!(
        answer["data"]["check_fail_list"],
        json!([
            { "license": "PL-NOPE", "error_code": "92020005", "error_msg": "license code notexist" },
            { "license": "PL-IDLE", "error_code": "92020011",
              "error_msg": "license code has been not activated." },
        ])
    );
    assert_eq!(
        state.license("PL-GOOD").unwrap().usage_reports.len(),
        1,
        "the good one is kept"
    );
    assert!(state.license("PL-IDLE").unwrap().usage_reports.is_empty());

    let too_many = json!({ "usage_info": vec![entry("PL-GOOD"); 101] });
    let answer = call(&sim, SOFTWARE_USAGE_INFO_PATH, &too_many).await;
    assert_code(&answer, "92020002", "invalid param");
    let empty = json!({ "usage_info": [] });
    assert_code(
        &call(&sim, SOFTWARE_USAGE_INFO_PATH, &empty).await,
        "92020002",
        "invalid param",
    );
    let both = json!({ "usage_info": [{ "license": "PL-GOOD",
        "software_usage_Info": [{ "id": "u", "active_num": 1 }] }] });
    let (status, answer) = call(&sim, SOFTWARE_USAGE_INFO_PATH, &both).await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (400, Some("95000001"))
    );
    assert_eq!(state.license("PL-GOOD").unwrap().usage_reports.len(), 1);
}

#[tokio::test]
async fn malformed_license_requests_are_refused_like_the_framework() {
    let sim = start().await;
    sim.state().issue_license(LicenseGrant::new(CODE)).unwrap();
    for path in [
        LICENSE_ACTIVATE_PATH,
        LICENSE_HEARTBEAT_PATH,
        SOFTWARE_USAGE_INFO_PATH,
    ] {
        let (status, answer) = call_raw(&sim, path, "text/plain", b"{}".to_vec()).await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (415, Some("95000003")),
            "{path}"
        );
        assert_eq!(answer["error_msg"], "Content type not supported");
        let (status, answer) = call_raw(&sim, path, "application/json", b"not json".to_vec()).await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (400, Some("95000004")),
            "{path}"
        );
        assert_eq!(answer["error_msg"], "req message is not readable");
        let (status, answer) = call(&sim, path, &json!({})).await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (400, Some("95000001")),
            "{path}"
        );
        assert_eq!(answer["error_msg"], "req param is invalid");
    }
    for body in [
        json!({ "license": "" }),
        json!({ "license": "P".repeat(65) }),
    ] {
        let (status, answer) = call(&sim, LICENSE_ACTIVATE_PATH, &body).await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (400, Some("95000001"))
        );
    }
    assert!(sim.state().license(CODE).unwrap().activation.is_none());
}

#[tokio::test]
async fn bad_apig_signature_is_refused_on_every_license_api() {
    let sim = start().await;
    sim.state().issue_license(LicenseGrant::new(CODE)).unwrap();
    let wrong_sk = "WRONG-SECRET-KEY-00000000000000000000000";
    for path in [
        LICENSE_ACTIVATE_PATH,
        LICENSE_HEARTBEAT_PATH,
        SOFTWARE_USAGE_INFO_PATH,
    ] {
        let url = format!("{}{path}", sim.base_url);
        let body = json!({ "license": CODE }).to_string().into_bytes();
        let (status, answer) = send(
            "POST",
            &url,
            "application/json",
            body,
            wrong_sk,
            &sdk_date(NOW),
        )
        .await;
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (401, Some("APIGW.0301")),
            "{path}"
        );
    }
    assert!(sim.state().license(CODE).unwrap().activation.is_none());
    assert!(
        sim.exchanges()
            .iter()
            .all(|e| matches!(e.verdict, Verdict::Rejected { .. }))
    );
}
