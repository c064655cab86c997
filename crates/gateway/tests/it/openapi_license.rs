//! The license-code open-API client (activate, query, software usage; license-kit §2.3)
//! against the simulator's license APIs, in-process over real HTTP: every outcome the simulator
//! can produce, the `.com` → `.cn` fallback, and which failures are retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use koogate_gateway::clock::{ManualClock, SharedClock};
use koogate_gateway::openapi::{LicenseOutcome, OpenApiClient, OpenApiConfig, OpenApiError};
use koogate_protocol::AccessKey;
use koogate_protocol::messages::license_api::{
    ActivateRequest, HeartbeatRequest, LicenseUsage, SoftwareUsageInfo, SoftwareUsageInfoRequest,
};
use koogate_protocol::wire::Bounded;
use koogate_sim::openapi::{self, LicenseGrant, Now, OpenApiHandle};
use serde_json::json;

/// 2024-11-21T09:22:06Z on both sides.
const NOW: i64 = 1_732_180_926;
const AK: &str = "SIMAK000000000000001";
const SK: &str = "sim-secret-key-0000000000000000000000000";

fn at(unix_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_secs, 0).unwrap()
}

async fn sim() -> OpenApiHandle {
    let config = openapi::OpenApiConfig::default()
        .keys(AK, AccessKey::new(SK))
        .now(Now::fixed(NOW));
    let sim = openapi::start(config).await.unwrap();
    let state = sim.state();
    let order = |code: &str| {
        LicenseGrant::new(code)
            .order("CS1", "CS1-000001")
            .product("OFFI1")
    };
    state
        .issue_license(order("PLALIVE").expires(at(NOW + 86_400)))
        .unwrap();
    state
        .issue_license(order("PLSOONEXPIRED").expires(at(NOW - 60)))
        .unwrap();
    state.issue_license(order("PLRELEASED")).unwrap();
    state
        .issue_license(order("PLUNRECEIVED").unreceived())
        .unwrap();
    sim
}

fn client(base_urls: Vec<String>) -> OpenApiClient {
    let config = OpenApiConfig {
        base_urls,
        ak: AK.into(),
        sk: AccessKey::new(SK),
        timeout: Duration::from_secs(5),
    };
    let clock: SharedClock = Arc::new(ManualClock::new(at(NOW)));
    OpenApiClient::new(config, clock)
        .unwrap()
        .with_retry_delays(vec![Duration::from_millis(10), Duration::from_millis(10)])
}

fn activate(code: &str) -> ActivateRequest {
    ActivateRequest {
        license: Bounded::new(code).unwrap(),
        real_effect_time: None,
    }
}

fn query(code: &str) -> HeartbeatRequest {
    HeartbeatRequest {
        license: Bounded::new(code).unwrap(),
        heartbeat_info: None,
    }
}

fn usage(codes: &[&str]) -> SoftwareUsageInfoRequest {
    SoftwareUsageInfoRequest {
        usage_info: codes
            .iter()
            .map(|code| LicenseUsage {
                license: Bounded::new(*code).unwrap(),
                software_usage_info: vec![SoftwareUsageInfo::ActiveCount(3)],
            })
            .collect(),
    }
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A host answering `status` to its first `failures` requests, then `92020005`; counts calls.
async fn flaky_host(status: u16, failures: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let code = axum::http::StatusCode::from_u16(status).unwrap();
            if n < failures {
                (
                    code,
                    axum::Json(json!({"error_code": "APIGW.0308", "error_msg": "throttled"})),
                )
            } else {
                let body = json!({"error_code": "92020005", "error_msg": "license code notexist"});
                (axum::http::StatusCode::OK, axum::Json(body))
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test]
async fn every_license_outcome_over_http() {
    let sim = sim().await;
    // The primary (".com") cannot be reached: every call lands on the fallback.
    let client = client(vec![closed_port_url(), sim.base_url.clone()]);

    let LicenseOutcome::Active(state) =
        client.activate_license(&activate("PLALIVE")).await.unwrap()
    else {
        panic!("not active");
    };
    assert_eq!(state.order_id.as_deref(), Some("CS1"));
    assert_eq!(state.expire_time.as_deref(), Some("20241122092206"));
    assert!(state.raw.contains("92020000"));
    assert!(matches!(
        client.activate_license(&activate("PLALIVE")).await.unwrap(),
        LicenseOutcome::IllegalState { .. }
    ));
    assert_eq!(
        client.activate_license(&activate("PLNONE")).await.unwrap(),
        LicenseOutcome::UnknownCode
    );
    assert_eq!(
        client
            .activate_license(&activate("PLUNRECEIVED"))
            .await
            .unwrap(),
        LicenseOutcome::NotReceived
    );
    assert!(matches!(
        client
            .activate_license(&activate("PLSOONEXPIRED"))
            .await
            .unwrap(),
        LicenseOutcome::IllegalState { .. }
    ));
    let bad_time = ActivateRequest {
        real_effect_time: Some(Bounded::new("yesterday").unwrap()),
        ..activate("PLRELEASED")
    };
    assert!(matches!(
        client.activate_license(&bad_time).await.unwrap(),
        LicenseOutcome::InvalidRequest { code, .. } if code.code() == "92020002"
    ));

    // Query: before activation, alive, expired, released.
    assert_eq!(
        client.query_license(&query("PLRELEASED")).await.unwrap(),
        LicenseOutcome::NotActivated
    );
    let LicenseOutcome::Active(state) = client.query_license(&query("PLALIVE")).await.unwrap()
    else {
        panic!("not active");
    };
    assert_eq!(state.activate_time.as_deref(), Some("20241121092206"));
    client
        .activate_license(&activate("PLRELEASED"))
        .await
        .unwrap();
    assert!(sim.state().release_license("PLRELEASED"));
    assert!(matches!(
        client.query_license(&query("PLRELEASED")).await.unwrap(),
        LicenseOutcome::Released(_)
    ));
    // Software usage: accepted; an unknown and an unactivated code are named in `data`.
    assert_eq!(
        client
            .report_software_usage(&usage(&["PLALIVE"]))
            .await
            .unwrap(),
        LicenseOutcome::Accepted
    );
    let LicenseOutcome::InvalidCodes { failed } = client
        .report_software_usage(&usage(&["PLALIVE", "PLNONE", "PLUNRECEIVED"]))
        .await
        .unwrap()
    else {
        panic!("not refused");
    };
    let named: Vec<&str> = failed["check_fail_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["license"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["PLNONE", "PLUNRECEIVED"]);
    let empty = client.report_software_usage(&usage(&[])).await;
    assert!(matches!(empty, Err(OpenApiError::Invalid(_))));
    assert_eq!(
        sim.state().license("PLALIVE").unwrap().usage_reports.len(),
        2
    );
}

#[tokio::test]
async fn an_expired_code_queries_expired() {
    let sim_now = Arc::new(AtomicI64::new(NOW));
    let read = sim_now.clone();
    let config = openapi::OpenApiConfig::default()
        .keys(AK, AccessKey::new(SK))
        .now(Now::from_fn(move || read.load(Ordering::SeqCst)));
    let sim = openapi::start(config).await.unwrap();
    sim.state()
        .issue_license(LicenseGrant::new("PLEXP").expires(at(NOW + 300)))
        .unwrap();
    let client = client(vec![sim.base_url.clone()]);
    let activated = client.activate_license(&activate("PLEXP")).await.unwrap();
    assert!(
        matches!(activated, LicenseOutcome::Active(_)),
        "{activated:?}"
    );
    // Ten minutes on at KooGallery (inside APIG's 15-minute date window): past the expiry.
    sim_now.store(NOW + 600, Ordering::SeqCst);
    let LicenseOutcome::Expired(state) = client.query_license(&query("PLEXP")).await.unwrap()
    else {
        panic!("not expired");
    };
    assert_eq!(state.expire_time.as_deref(), Some("20241121092706"));
}

#[tokio::test]
async fn passing_failures_are_retried_and_refusals_are_not() {
    // Throttled twice, then an answer: three calls, the answer's outcome.
    let (url, calls) = flaky_host(429, 2).await;
    let outcome = client(vec![url]).query_license(&query("PL1")).await;
    assert_eq!(outcome, Ok(LicenseOutcome::UnknownCode));
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // A 5xx from every host, three times: an error after three rounds.
    let (url, calls) = flaky_host(503, 10).await;
    let outcome = client(vec![url]).query_license(&query("PL1")).await;
    assert!(
        matches!(outcome, Err(OpenApiError::Http { status: 503, .. })),
        "{outcome:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // No answer at all: retried, then the transport error.
    let outcome = client(vec![closed_port_url()])
        .query_license(&query("PL1"))
        .await;
    assert!(
        matches!(outcome, Err(OpenApiError::Transport { .. })),
        "{outcome:?}"
    );

    // A business answer is final: one call.
    let (url, calls) = flaky_host(200, 0).await;
    let outcome = client(vec![url]).activate_license(&activate("PL1")).await;
    assert_eq!(outcome, Ok(LicenseOutcome::UnknownCode));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A gateway refusal (a bad signature) is an error, and not repeated.
    let sim = sim().await;
    let config = OpenApiConfig {
        base_urls: vec![sim.base_url.clone()],
        ak: AK.into(),
        sk: AccessKey::new("wrong-secret"),
        timeout: Duration::from_secs(5),
    };
    let clock: SharedClock = Arc::new(ManualClock::new(at(NOW)));
    let wrong = OpenApiClient::new(config, clock).unwrap();
    let outcome = wrong.query_license(&query("PLALIVE")).await;
    assert!(
        matches!(outcome, Err(OpenApiError::Http { status: 401, .. })),
        "{outcome:?}"
    );
    let attempts = sim.state().exchanges().len();
    assert_eq!(attempts, 1, "a refusal is not retried");
}
