//! The simulated open API over real HTTP, signed with the protocol crate's APIG signer.

// Helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod license;
mod usage;

use koogate_protocol::AccessKey;
use koogate_protocol::signing::apig;
use koogate_sim::openapi::{
    self, MARKET_EVENT_FILE_PATH, Now, ORDER_QUERY_PATH, OpenApiConfig, OpenApiHandle,
    UploadContent, Verdict,
};
use koogate_sim::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// 2024-11-21T09:22:06Z, the simulator's frozen "now".
const NOW: i64 = 1_732_180_926;
const AK: &str = "TESTAK0000000000";
const SK: &str = "TESTSK0000000000000000000000000000000000";

fn sdk_date(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

async fn start() -> OpenApiHandle {
    start_at(NOW).await
}

/// A simulator whose frozen "now" is `unix_secs`, with the test AK/SK.
async fn start_at(unix_secs: i64) -> OpenApiHandle {
    start_with(OpenApiConfig::default().now(Now::fixed(unix_secs))).await
}

/// A simulator from `config`, with the test AK/SK.
async fn start_with(config: OpenApiConfig) -> OpenApiHandle {
    openapi::start(config.keys(AK, AccessKey::new(SK)))
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Sends a request signed with `sk` at `date`, returning status and JSON body.
async fn send(
    method: &str,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    sk: &str,
    date: &str,
) -> (u16, Value) {
    send_with_headers(method, url, content_type, &[], body, sk, date).await
}

/// [`send`] with extra headers, sent but not covered by the APIG signature (as the usage push's
/// `signature`/`ts`/`nonce`, which the SDK does not list in `SignedHeaders`).
async fn send_with_headers(
    method: &str,
    url: &str,
    content_type: &str,
    extra: &[(&str, &str)],
    body: Vec<u8>,
    sk: &str,
    date: &str,
) -> (u16, Value) {
    let headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    let request = apig::Request {
        method,
        url,
        headers: &headers,
        body: &body,
    };
    let signed = apig::sign(AK, &AccessKey::new(sk), date, &request).unwrap();
    let mut builder = client().request(method.parse().unwrap(), url);
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let response = builder
        .header("Content-Type", content_type)
        .header(apig::HEADER_DATE, &signed.sdk_date)
        .header(apig::HEADER_AUTHORIZATION, &signed.authorization)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    (status, response.json().await.unwrap())
}

async fn query(sim: &OpenApiHandle, params: &str) -> (u16, Value) {
    let url = format!("{}{ORDER_QUERY_PATH}?{params}", sim.base_url);
    send(
        "GET",
        &url,
        "application/json",
        Vec::new(),
        SK,
        &sdk_date(NOW),
    )
    .await
}

#[tokio::test]
async fn signed_query_returns_the_mock_order() {
    let sim = start().await;
    let (status, body) = query(
        &sim,
        "orderLineId=MOCKPERIODYEARNEW-000001&orderId=MOCKPERIODYEARNEW",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["resultCode"], "MKT.0000");
    let info = &body["orderInfo"];
    assert_eq!(info["orderType"], "NEW");
    assert_eq!(info["createTime"], "20241121090846");
    let line = &info["orderLine"][0];
    assert_eq!(line["chargingMode"], "PERIOD");
    assert_eq!(line["periodType"], "year");
    assert_eq!(line["expireTime"], "20251121235959");
    assert_eq!(
        line["productInfo"][0]["productId"],
        "OFFI846204237451911168"
    );
    assert_eq!(line["productInfo"][0]["linearValue"], 50);
    assert_eq!(info["buyerInfo"]["customerName"], "mock_user_01");
    assert_eq!(info["buyerInfo"]["userId"], Value::Null);

    let exchanges = sim.exchanges();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].method, "GET");
    assert!(exchanges[0].path.starts_with(ORDER_QUERY_PATH));
    assert_eq!(exchanges[0].status, 200);
    assert_eq!(
        exchanges[0].verdict,
        Verdict::Accepted {
            access_key: AK.to_owned()
        }
    );
}

#[tokio::test]
async fn every_mock_order_answers() {
    let sim = start().await;
    let expected = [
        ("MOCKPERIODYEARNEW", "NEW", "PERIOD"),
        ("MOCKONETIMENEW", "NEW", "ONE_TIME"),
        ("MOCKONDEMAND", "NEW", "ON_DEMAND"),
        ("MOCKONDEMANDPKG", "NEW", "ON_DEMAND_PKG"),
        ("MOCKPERIODDAYTRIAL", "TRIAL", "PERIOD"),
        ("MOCKMONTYTRIALTOFORMAL", "TRIAL_TO_FORMAL", "PERIOD"),
        ("MOCKMONTYUNSUBSCRIBE", "UNSUBSCRIBE", "PERIOD"),
        ("MOCKMONTYRENEW", "RENEW", "PERIOD"),
        ("MOCKMONTYCHANGE", "CHANGE", "PERIOD"),
    ];
    for (id, order_type, mode) in expected {
        let (status, body) = query(&sim, &format!("orderId={id}")).await;
        assert_eq!(
            (status, body["resultCode"].as_str()),
            (200, Some("MKT.0000")),
            "{id}"
        );
        assert_eq!(body["orderInfo"]["orderType"], order_type, "{id}");
        let line = &body["orderInfo"]["orderLine"][0];
        assert_eq!(line["chargingMode"], mode, "{id}");
        assert_eq!(line["orderLineId"], format!("{id}-000001"));
    }
}

#[tokio::test]
async fn placed_orders_are_queryable() {
    let sim = start().await;
    let placed =
        sim.orders.place_order(
            OrderSpec::new(OrderType::New).line(LineSpec::on_demand(vec![
                ProductSpec::new("OFFI9", "sku-calls", "calls"),
                ProductSpec::new("OFFI9", "sku-gb", "storage").linear(10),
            ])),
        );
    let (_, body) = query(&sim, &format!("orderId={}", placed.order_id)).await;
    assert_eq!(body["resultCode"], "MKT.0000");
    let products = &body["orderInfo"]["orderLine"][0]["productInfo"];
    assert_eq!(products.as_array().unwrap().len(), 2);
    assert_eq!(products[1]["linearValue"], 10);
}

#[tokio::test]
async fn bad_signature_is_refused_like_api_gateway() {
    let sim = start().await;
    let url = format!("{}{ORDER_QUERY_PATH}?orderId=MOCKONDEMAND", sim.base_url);
    let wrong_sk = "WRONG-SECRET-KEY-00000000000000000000000";
    let (status, body) = send(
        "GET",
        &url,
        "application/json",
        Vec::new(),
        wrong_sk,
        &sdk_date(NOW),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error_code"], "APIGW.0301");
    assert_eq!(
        body["error_msg"],
        "Incorrect IAM authentication information: verify aksk signature fail"
    );
    assert!(body["request_id"].is_string());
    let exchanges = sim.exchanges();
    assert!(matches!(exchanges[0].verdict, Verdict::Rejected { .. }));
    assert_eq!(exchanges[0].status, 401);
}

#[tokio::test]
async fn unsigned_request_is_refused() {
    let sim = start().await;
    let url = format!("{}{ORDER_QUERY_PATH}?orderId=MOCKONDEMAND", sim.base_url);
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0301");
}

#[tokio::test]
async fn stale_or_future_sdk_date_is_refused() {
    let sim = start().await;
    let url = format!("{}{ORDER_QUERY_PATH}?orderId=MOCKONDEMAND", sim.base_url);
    for date in [sdk_date(NOW - 16 * 60), sdk_date(NOW + 16 * 60)] {
        let (status, body) = send("GET", &url, "application/json", Vec::new(), SK, &date).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (401, Some("APIGW.0301")),
            "{date}"
        );
    }
    // Just inside the 15-minute window still passes.
    let (status, _) = send(
        "GET",
        &url,
        "application/json",
        Vec::new(),
        SK,
        &sdk_date(NOW - 14 * 60),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_and_missing_orders_get_business_errors() {
    let sim = start().await;
    let (status, body) = query(&sim, "orderId=NO-SUCH-ORDER").await;
    assert_eq!(status, 200);
    assert_eq!(body["resultCode"], "MKT.0101");
    assert!(body.get("orderInfo").is_none());

    let (status, body) = query(&sim, "orderLineId=MOCKONDEMAND-000001").await;
    assert_eq!(
        (status, body["resultCode"].as_str()),
        (200, Some("MKT.0100"))
    );

    let (_, body) = query(&sim, "orderId=MOCKONDEMAND&orderLineId=MOCKONDEMAND-000002").await;
    assert_eq!(body["resultCode"], "MKT.0101");
}

#[tokio::test]
async fn unknown_path_and_wrong_method_answer_404_before_auth() {
    let sim = start().await;
    let url = format!("{}/api/mkp-openapi-public/global/v1/nothing", sim.base_url);
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0101");

    let url = format!("{}{ORDER_QUERY_PATH}?orderId=MOCKONDEMAND", sim.base_url);
    let response = client().post(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(
        sim.exchanges()
            .iter()
            .all(|e| e.verdict == Verdict::NotChecked)
    );
}

fn multipart(boundary: &str, metadata: &Value, file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"isvUpdateFileReq\"\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n"
    )
    .into_bytes();
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

async fn upload(sim: &OpenApiHandle, event_id: &str, body: Vec<u8>) -> (u16, Value) {
    let path = MARKET_EVENT_FILE_PATH.replace("{event_id}", event_id);
    let url = format!("{}{path}", sim.base_url);
    let content_type = "multipart/form-data; boundary=sim-test-boundary";
    send("POST", &url, content_type, body, SK, &sdk_date(NOW)).await
}

#[tokio::test]
async fn license_string_upload_is_recorded() {
    let sim = start().await;
    let metadata = json!({"type": "CHARACTERS", "characters": "LICENSE-ABC-123"});
    let (status, body) = upload(
        &sim,
        "evt-001",
        multipart("sim-test-boundary", &metadata, None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"error_code": "CBC.0000", "error_msg": "Success"})
    );
    let uploads = sim.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].event_id, "evt-001");
    assert_eq!(uploads[0].access_key, AK);
    assert_eq!(uploads[0].metadata, metadata);
    assert_eq!(
        uploads[0].content,
        UploadContent::Characters("LICENSE-ABC-123".to_owned())
    );
}

#[tokio::test]
async fn license_file_upload_is_recorded_and_checked() {
    let sim = start().await;
    let file: &[u8] = b"\x00binary\r\n--license\xff";
    let sha = hex::encode(Sha256::digest(file));
    let metadata = json!({"type": "FILE", "file_name": "a.lic", "sha256": sha});
    let body = multipart("sim-test-boundary", &metadata, Some(("a.lic", file)));
    let (status, _) = upload(&sim, "evt-002", body).await;
    assert_eq!(status, 200);
    assert_eq!(
        sim.uploads()[0].content,
        UploadContent::File {
            file_name: "a.lic".to_owned(),
            bytes: file.to_vec()
        }
    );

    let wrong = json!({"type": "FILE", "file_name": "a.lic", "sha256": "00"});
    let body = multipart("sim-test-boundary", &wrong, Some(("a.lic", file)));
    let (status, answer) = upload(&sim, "evt-003", body).await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (400, Some("CBC.0101"))
    );
    assert_eq!(sim.uploads().len(), 1);
    let last = sim.exchanges().pop().unwrap();
    assert!(last.detail.unwrap().contains("sha256"));
}

#[tokio::test]
async fn bad_upload_metadata_is_invalid_parameter() {
    let sim = start().await;
    let cases = [
        multipart("sim-test-boundary", &json!({"type": "CHARACTERS"}), None),
        multipart(
            "sim-test-boundary",
            &json!({"type": "STRING", "characters": "x"}),
            None,
        ),
        multipart(
            "sim-test-boundary",
            &json!({"type": "FILE", "file_name": "a", "sha256": "00"}),
            None,
        ),
        b"not multipart at all".to_vec(),
    ];
    for body in cases {
        let (status, answer) = upload(&sim, "evt-004", body).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error_code"], "CBC.0101");
        assert_eq!(answer["error_msg"], "Invalid parameter");
    }
    assert!(sim.uploads().is_empty());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = start().await;
    let url = format!("{}{ORDER_QUERY_PATH}", sim.base_url);
    sim.shutdown().await.unwrap();
    assert!(client().get(url).send().await.is_err());
}
