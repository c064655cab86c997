//! The open-API client against the simulator's open API, in-process over real HTTP.

// Helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use koogate_gateway::clock::{ManualClock, SharedClock};
use koogate_gateway::openapi::{OpenApiClient, OpenApiConfig, OpenApiError, UploadLicense};
use koogate_protocol::AccessKey;
use koogate_protocol::messages::order::{ChargingMode, OrderType};
use koogate_protocol::result_code::{GatewayCode, MktCode, OpenApiCode};
use koogate_sim::openapi::{self, Now, OpenApiHandle, UploadContent};
use serde_json::json;
use sha2::{Digest, Sha256};

/// 2024-11-21T09:22:06Z on both sides unless a test moves one.
const NOW: i64 = 1_732_180_926;
const SK: &str = "sim-secret-key-0000000000000000000000000";

fn at(unix_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_secs, 0).unwrap()
}

async fn sim() -> OpenApiHandle {
    let config = openapi::OpenApiConfig::default()
        .keys("SIMAK000000000000001", AccessKey::new(SK))
        .now(Now::fixed(NOW));
    openapi::start(config).await.unwrap()
}

fn client_with(base_urls: Vec<String>, sk: &str, clock_secs: i64) -> OpenApiClient {
    let config = OpenApiConfig {
        base_urls,
        ak: "SIMAK000000000000001".into(),
        sk: AccessKey::new(sk),
        timeout: Duration::from_secs(5),
    };
    let clock: SharedClock = Arc::new(ManualClock::new(at(clock_secs)));
    OpenApiClient::new(config, clock).unwrap()
}

fn client(sim: &OpenApiHandle) -> OpenApiClient {
    client_with(vec![sim.base_url.clone()], SK, NOW)
}

/// A loopback URL on which nothing listens: bind port 0, note the port, close it.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A host that answers every request with HTTP 503.
async fn failing_host() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error_code": "APIGW.0201", "error_msg": "Backend unavailable"})),
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn fetches_and_parses_the_mock_order() {
    let sim = sim().await;
    let fetched = client(&sim)
        .query_order("MOCKPERIODYEARNEW", Some("MOCKPERIODYEARNEW-000001"))
        .await
        .unwrap();
    let order = &fetched.order;
    assert_eq!(order.order_id, "MOCKPERIODYEARNEW");
    assert_eq!(order.order_type, OrderType::New);
    assert_eq!(order.created_at(), Some(at(1_732_180_126)));
    let line = order.line("MOCKPERIODYEARNEW-000001").unwrap();
    assert_eq!(line.charging_mode, ChargingMode::Period);
    assert_eq!(line.period_type.as_deref(), Some("year"));
    assert_eq!(
        line.product_info[0].product_id.as_deref(),
        Some("OFFI846204237451911168")
    );
    assert_eq!(line.extend_param("emailDomainName"), Some("test.xxxx.com"));
    let buyer = order.buyer_info.as_ref().unwrap();
    assert_eq!(buyer.customer_name.as_deref(), Some("mock_user_01"));
    assert_eq!(buyer.user_id, None);
    assert!(
        fetched
            .raw_body
            .contains("\"skuCode\":\"0a4d1578-5295-46a7-92d4-7c803dccc51d\"")
    );
    assert_eq!(fetched.served_by, sim.addr.to_string());
}

#[tokio::test]
async fn every_mock_order_parses() {
    let sim = sim().await;
    let client = client(&sim);
    for id in sim.orders.order_ids() {
        let fetched = client.query_order(&id, None).await.unwrap();
        assert_eq!(
            fetched.order.order_line[0].order_line_id,
            format!("{id}-000001")
        );
    }
}

#[tokio::test]
async fn falls_back_when_the_primary_is_unreachable() {
    let sim = sim().await;
    let client = client_with(vec![closed_port_url(), sim.base_url.clone()], SK, NOW);
    let fetched = client.query_order("MOCKONDEMAND", None).await.unwrap();
    assert_eq!(
        fetched.order.order_line[0].charging_mode,
        ChargingMode::OnDemand
    );
    assert_eq!(fetched.served_by, sim.addr.to_string());
    assert_eq!(sim.exchanges().len(), 1);
}

#[tokio::test]
async fn falls_back_on_a_server_error() {
    let sim = sim().await;
    let client = client_with(vec![failing_host().await, sim.base_url.clone()], SK, NOW);
    let fetched = client.query_order("MOCKMONTYRENEW", None).await.unwrap();
    assert_eq!(fetched.order.order_type, OrderType::Renew);
}

#[tokio::test]
async fn reports_the_last_host_when_all_fail() {
    let closed = closed_port_url();
    let client = client_with(vec![failing_host().await, closed.clone()], SK, NOW);
    match client.query_order("MOCKONDEMAND", None).await {
        Err(OpenApiError::Transport { url_host, .. }) => {
            assert_eq!(format!("http://{url_host}"), closed);
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    let client = client_with(vec![closed_port_url(), failing_host().await], SK, NOW);
    let err = client.query_order("MOCKONDEMAND", None).await.unwrap_err();
    assert!(
        matches!(err, OpenApiError::Http { status: 503, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn business_errors_are_not_retried_on_the_fallback() {
    let (primary, fallback) = (sim().await, sim().await);
    let client = client_with(
        vec![primary.base_url.clone(), fallback.base_url.clone()],
        SK,
        NOW,
    );
    let err = client.query_order("NO-SUCH-ORDER", None).await.unwrap_err();
    assert_eq!(
        err,
        OpenApiError::Business {
            code: OpenApiCode::Mkt(MktCode::InvalidParameter),
            message: "Invalid parameter".into(),
        }
    );
    assert_eq!(primary.exchanges().len(), 1);
    assert!(fallback.exchanges().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_is_an_apigw_0301_without_secrets_in_the_message() {
    let (primary, fallback) = (sim().await, sim().await);
    let wrong_sk = "WRONG-secret-0000000000000000000000000000";
    let client = client_with(
        vec![primary.base_url.clone(), fallback.base_url.clone()],
        wrong_sk,
        NOW,
    );
    let err = client
        .query_order("MOCKPERIODYEARNEW", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            OpenApiError::Http {
                status: 401,
                code: Some(OpenApiCode::Gateway(GatewayCode::IamAuthFailed)),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("APIGW.0301"), "{err}");
    for text in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
        for secret in [wrong_sk, SK, "SIMAK000000000000001", "Signature="] {
            assert!(!text.contains(secret), "{text} leaks {secret}");
        }
    }
    // A 4xx is the marketplace's answer, not a host failure.
    assert!(fallback.exchanges().is_empty());
}

#[tokio::test]
async fn a_skewed_clock_is_refused() {
    let sim = sim().await;
    let client = client_with(vec![sim.base_url.clone()], SK, NOW - 20 * 60);
    let err = client
        .query_order("MOCKPERIODYEARNEW", None)
        .await
        .unwrap_err();
    assert_eq!(err.code().map(OpenApiCode::code), Some("APIGW.0301"));
}

#[tokio::test]
async fn uploads_a_license_string() {
    let sim = sim().await;
    let receipt = client(&sim)
        .upload_license("evt-0001", UploadLicense::Characters("LIC-ABC-123".into()))
        .await
        .unwrap();
    assert!(receipt.raw_body.contains("CBC.0000"));
    let uploads = sim.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].event_id, "evt-0001");
    assert_eq!(
        uploads[0].metadata,
        json!({"type": "CHARACTERS", "characters": "LIC-ABC-123"})
    );
    assert_eq!(
        uploads[0].content,
        UploadContent::Characters("LIC-ABC-123".into())
    );
}

#[tokio::test]
async fn uploads_a_license_file_with_its_sha256() {
    let sim = sim().await;
    let bytes = b"\x00license\r\n--not-a-boundary\xff".to_vec();
    client(&sim)
        .upload_license(
            "evt/0002",
            UploadLicense::File {
                name: "site \"A\".lic".into(),
                bytes: bytes.clone(),
            },
        )
        .await
        .unwrap();
    let upload = &sim.uploads()[0];
    assert_eq!(upload.event_id, "evt/0002");
    assert_eq!(upload.metadata["type"], "FILE");
    assert_eq!(upload.metadata["file_name"], "site \"A\".lic");
    assert_eq!(
        upload.metadata["sha256"],
        hex::encode(Sha256::digest(&bytes))
    );
    assert_eq!(
        upload.content,
        UploadContent::File {
            file_name: "site \"A\".lic".into(),
            bytes
        }
    );
}

#[test]
fn plain_http_is_refused_for_real_hosts() {
    let config = OpenApiConfig {
        base_urls: vec!["http://mkt.myhuaweicloud.com".into()],
        ak: "AK".into(),
        sk: AccessKey::new("SK"),
        timeout: Duration::from_secs(5),
    };
    let clock: SharedClock = Arc::new(ManualClock::new(at(NOW)));
    let err = OpenApiClient::new(config.clone(), clock.clone()).unwrap_err();
    assert!(matches!(err, OpenApiError::Invalid(_)), "{err:?}");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("\"AK\"") && !debug.contains("\"SK\""),
        "{debug}"
    );
}
