//! The usage pushes, new (saas-v2 §7.2) and old (§7.3).

use std::time::Duration;

use koogate_protocol::AccessKey;
use koogate_protocol::messages::usage::{UsagePushRequest, UsagePushResponse};
use koogate_protocol::result_code::UsageRecordCode;
use koogate_protocol::signing::usage as body_sign;
use koogate_protocol::wire::UsageValue;
use koogate_sim::openapi::{
    InstanceStatus, OLD_USAGE_DATA_PATH, OpenApiConfig, OpenApiHandle, USAGE_DATA_PATH, UsageApi,
    UsageInstance, Verdict,
};
use koogate_sim::orders::ChargingMode;
use serde_json::{Value, json};

use super::{AK, NOW, SK, sdk_date, send_with_headers, start_with};

/// The key of the spec's computed vector (saas-v2 §7.2), used as the basic-interface key.
const BASIC_KEY: &str = "test-access-key-0001";
const TS: &str = "1660036200000";
const NONCE: &str = "0123456789abcdef";
const INSTANCE: &str = "7f141bf1-aec8-4859-8323-fb3a8ad50721";

async fn start_at(now: i64) -> OpenApiHandle {
    let config = OpenApiConfig::default()
        .now(koogate_sim::openapi::Now::fixed(now))
        .basic_key(AccessKey::new(BASIC_KEY));
    let sim = start_with(config).await;
    sim.state()
        .register_instance(UsageInstance::on_demand(INSTANCE));
    sim
}

async fn start() -> OpenApiHandle {
    start_at(NOW).await
}

/// A well-formed new-API record for [`INSTANCE`] inside NOW's day, an hour before NOW.
fn record(sn: &str) -> Value {
    json!({
        "begin_time": "20241121T070000Z",
        "end_time": "20241121T080000Z",
        "instance_id": INSTANCE,
        "metering_sn": sn,
        "record_time": "20241121T081000Z",
        "usage_value": "1.5",
    })
}

fn body(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "usage_records": records })).unwrap()
}

/// Pushes `body` to the new API with a body signature made with `key`.
async fn push_signed(sim: &OpenApiHandle, body: Vec<u8>, key: &str) -> (u16, Value) {
    let text = String::from_utf8(body.clone()).unwrap();
    let signature = body_sign::sign(&AccessKey::new(key), TS, NONCE, &text);
    push_with(
        sim,
        body,
        &[("signature", &signature), ("ts", TS), ("nonce", NONCE)],
    )
    .await
}

async fn push_with(sim: &OpenApiHandle, body: Vec<u8>, extra: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}{USAGE_DATA_PATH}", sim.base_url);
    let date = sdk_date(NOW);
    send_with_headers("POST", &url, "application/json", extra, body, SK, &date).await
}

async fn push(sim: &OpenApiHandle, records: &[Value]) -> (u16, Value) {
    push_signed(sim, body(records), BASIC_KEY).await
}

async fn push_old(sim: &OpenApiHandle, body: Vec<u8>) -> (u16, Value) {
    let url = format!("{}{OLD_USAGE_DATA_PATH}", sim.base_url);
    send_with_headers(
        "POST",
        &url,
        "application/json",
        &[],
        body,
        SK,
        &sdk_date(NOW),
    )
    .await
}

async fn settle(sim: &OpenApiHandle) {
    tokio::time::timeout(Duration::from_secs(10), sim.settle_usage())
        .await
        .expect("the asynchronous usage checks finish");
}

fn codes(answer: &Value) -> Vec<UsageRecordCode> {
    let response: UsagePushResponse = serde_json::from_value(answer.clone()).unwrap();
    response
        .record_results()
        .into_iter()
        .map(|r| r.code)
        .collect()
}

#[tokio::test]
async fn spec_example_push_is_accepted() {
    // saas-v2 §7.2's computed vector, byte for byte, with the printed signature; "now" is the
    // hour after its window so that begin_time is within 21 days.
    let sim = start_at(1_660_039_200).await;
    let body = r#"{"usage_records":[{"begin_time":"20220809T080000Z","end_time":"20220809T090000Z","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","metering_sn":"a1b2c3","record_time":"20220809T091000Z","usage_value":"99"}]}"#;
    let signature = "jSPtsXenmPFYapD/X8qO6DjpQSxPL+Jn5SGpNfqXx0s=";
    let url = format!("{}{USAGE_DATA_PATH}", sim.base_url);
    let headers = [("signature", signature), ("ts", TS), ("nonce", NONCE)];
    let date = sdk_date(1_660_039_200);
    let (status, answer) = send_with_headers(
        "POST",
        &url,
        "application/json",
        &headers,
        body.as_bytes().to_vec(),
        SK,
        &date,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"error_code": "MKT.0000", "error_msg": "success"})
    );
    let response: UsagePushResponse = serde_json::from_value(answer).unwrap();
    assert!(response.is_success());

    let records = sim.usage_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].api, UsageApi::New);
    assert_eq!(records[0].access_key, AK);
    assert_eq!(records[0].metering_sn.as_deref(), Some("a1b2c3"));
    assert_eq!(records[0].usage_value, UsageValue::from_units(99).unwrap());
    settle(&sim).await;
    assert!(sim.usage_anomalies().is_empty());
}

#[tokio::test]
async fn body_signed_in_sorted_form_is_accepted() {
    let sim = start().await;
    // Keys sent out of order, signed over the naturally sorted form.
    let sent = r#"{"usage_records":[{"usage_value":"2","metering_sn":"s-1","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","begin_time":"20241121T070000Z","end_time":"20241121T080000Z","record_time":"20241121T081000Z"}]}"#;
    let sorted = body_sign::sorted_body(sent).unwrap();
    let signature = body_sign::sign(&AccessKey::new(BASIC_KEY), TS, NONCE, &sorted);
    let headers = [
        ("signature", signature.as_str()),
        ("ts", TS),
        ("nonce", NONCE),
    ];
    let (_, answer) = push_with(&sim, sent.as_bytes().to_vec(), &headers).await;
    assert_eq!(answer["error_code"], "MKT.0000");
    assert_eq!(sim.usage_records().len(), 1);
}

#[tokio::test]
async fn bad_apig_signature_is_refused_before_anything_else() {
    let sim = start().await;
    let url = format!("{}{USAGE_DATA_PATH}", sim.base_url);
    let wrong_sk = "WRONG-SECRET-KEY-00000000000000000000000";
    let text = String::from_utf8(body(&[record("sn-1")])).unwrap();
    let signature = body_sign::sign(&AccessKey::new(BASIC_KEY), TS, NONCE, &text);
    let headers = [
        ("signature", signature.as_str()),
        ("ts", TS),
        ("nonce", NONCE),
    ];
    let (status, answer) = send_with_headers(
        "POST",
        &url,
        "application/json",
        &headers,
        text.into_bytes(),
        wrong_sk,
        &sdk_date(NOW),
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );

    let (status, answer) = push_old(&sim, b"{}".to_vec()).await;
    assert_eq!(status, 200, "the old API with the right SK answers");
    assert_eq!(answer["error_code"], "MKT.0100");
    let url = format!("{}{OLD_USAGE_DATA_PATH}", sim.base_url);
    let old = body(&[old_record("20241121T070000Z")]);
    let (status, answer) = send_with_headers(
        "POST",
        &url,
        "application/json",
        &[],
        old,
        wrong_sk,
        &sdk_date(NOW),
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );

    assert!(sim.usage_records().is_empty());
    let verdicts: Vec<_> = sim.exchanges().into_iter().map(|e| e.verdict).collect();
    assert!(matches!(verdicts[0], Verdict::Rejected { .. }));
    assert!(matches!(verdicts[2], Verdict::Rejected { .. }));
}

#[tokio::test]
async fn bad_body_signature_is_mkt_0102() {
    let sim = start().await;
    // Signed with the APIG SK instead of the basic-interface key: the mistake the spec warns of.
    let (status, answer) = push_signed(&sim, body(&[record("sn-1")]), SK).await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_code"], "MKT.0102");
    assert_eq!(answer["error_msg"], "Invalid body sign");

    // Signed correctly, then the body changed.
    let text = String::from_utf8(body(&[record("sn-1")])).unwrap();
    let signature = body_sign::sign(&AccessKey::new(BASIC_KEY), TS, NONCE, &text);
    let tampered = text.replace("1.5", "9.5").into_bytes();
    let headers = [
        ("signature", signature.as_str()),
        ("ts", TS),
        ("nonce", NONCE),
    ];
    let (_, answer) = push_with(&sim, tampered, &headers).await;
    assert_eq!(answer["error_code"], "MKT.0102");

    // No signature headers at all.
    let (_, answer) = push_with(&sim, body(&[record("sn-1")]), &[]).await;
    assert_eq!(answer["error_code"], "MKT.0102");

    assert!(sim.usage_records().is_empty());
    let detail = sim.exchanges().pop().unwrap().detail.unwrap();
    assert!(detail.contains("body signature"), "{detail}");
}

#[tokio::test]
async fn malformed_bodies_are_input_check_failures() {
    let sim = start().await;
    let bodies: [&[u8]; 6] = [
        b"not json",
        b"{}",
        br#"{"usage_records":{}}"#,
        br#"{"usage_records":[]}"#,
        br#"{"usage_records":[1]}"#,
        b"\xff\xfe",
    ];
    for sent in bodies {
        let text = String::from_utf8_lossy(sent).into_owned();
        let signature = body_sign::sign(&AccessKey::new(BASIC_KEY), TS, NONCE, &text);
        let headers = [
            ("signature", signature.as_str()),
            ("ts", TS),
            ("nonce", NONCE),
        ];
        let (status, answer) = push_with(&sim, sent.to_vec(), &headers).await;
        let expected = if sent == b"\xff\xfe" {
            "MKT.0102"
        } else {
            "MKT.0100"
        };
        assert_eq!(
            (status, answer["error_code"].as_str()),
            (200, Some(expected)),
            "{text}"
        );
    }
    let (_, answer) = push_old(&sim, b"[]".to_vec()).await;
    assert_eq!(answer["error_code"], "MKT.0100");
    let mut no_product = old_record("20241121T070000Z");
    no_product.as_object_mut().unwrap().remove("product_id");
    let (_, answer) = push_old(&sim, body(&[no_product])).await;
    assert_eq!(answer["error_code"], "MKT.0100");
    assert!(sim.usage_records().is_empty());
}

#[tokio::test]
async fn more_than_1000_records_is_mkt_9003() {
    let sim = start().await;
    let records: Vec<Value> = (0..1001).map(|i| record(&format!("sn-{i}"))).collect();
    let (status, answer) = push(&sim, &records).await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (200, Some("MKT.9003"))
    );
    assert!(sim.usage_records().is_empty());

    // Exactly 1000, built and serialized with the protocol type, is accepted.
    let request: UsagePushRequest =
        serde_json::from_value(json!({ "usage_records": &records[..1000] })).unwrap();
    assert!(request.validate().is_ok());
    let (_, answer) = push_signed(&sim, request.to_json_bytes().unwrap(), BASIC_KEY).await;
    assert_eq!(answer["error_code"], "MKT.0000");
    assert_eq!(sim.usage_records().len(), 1000);

    // The revision that says 100.
    sim.state().set_max_usage_records(100);
    let (_, answer) = push(&sim, &records[..101]).await;
    assert_eq!(answer["error_code"], "MKT.9003");
    let (status, answer) = push_old(&sim, body(&vec![old_record("20241121T070000Z"); 101])).await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (200, Some("MKT.9003"))
    );
    assert_eq!(sim.usage_records().len(), 1000);
}

#[tokio::test]
async fn ill_formed_records_are_listed_with_their_codes() {
    let sim = start().await;
    let with = |sn: &str, field: &str, value: Value| {
        let mut r = record(sn);
        r[field] = value;
        r
    };
    let mut no_sn = record("unused");
    no_sn.as_object_mut().unwrap().remove("metering_sn");
    let records = [
        record("fine"),
        with("bad-time", "begin_time", json!("2024-11-21 07:00:00")),
        with("zero", "usage_value", json!("0")),
        with("negative", "usage_value", json!("-3")),
        with("five-decimals", "usage_value", json!("1.23456")),
        no_sn,
        with("inverted", "begin_time", json!("20241121T090000Z")),
        with("no-instance", "instance_id", json!("")),
    ];
    let (status, answer) = push(&sim, &records).await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_code"], "MKT.9002");
    assert_eq!(answer["error_msg"], "Invalid usage entities");
    use UsageRecordCode as C;
    assert_eq!(
        codes(&answer),
        [
            C::InvalidTimeFormat,
            C::InvalidUsageValue,
            C::InvalidUsageValue,
            C::InvalidUsageValue,
            C::MissingMeteringSn,
            C::InvalidTimeRange,
            C::InstanceNotFound,
        ]
    );
    assert_eq!(answer["extra_info"][0]["metering_sn"], "bad-time");
    assert_eq!(answer["extra_info"][0]["index"], 1);
    assert!(
        sim.usage_records().is_empty(),
        "a refused push stores nothing"
    );
}

#[tokio::test]
async fn begin_time_older_than_21_days_is_mkt_9004() {
    let sim = start().await;
    let mut old = record("old");
    old["begin_time"] = json!("20241030T070000Z");
    let (_, answer) = push(&sim, &[record("fresh"), old]).await;
    assert_eq!(answer["error_code"], "MKT.9004");
    assert!(sim.usage_records().is_empty());

    let mut edge = record("edge");
    edge["begin_time"] = json!("20241031T092206Z"); // exactly 21 days before NOW
    let (_, answer) = push(&sim, &[edge]).await;
    assert_eq!(answer["error_code"], "MKT.0000");
}

#[tokio::test]
async fn duplicate_metering_sn_is_counted_once() {
    let sim = start().await;
    let (_, first) = push(&sim, &[record("sn-1"), record("sn-2")]).await;
    assert_eq!(
        first,
        json!({"error_code": "MKT.0000", "error_msg": "success"})
    );

    // A resend after a lost answer succeeds, and says what was not counted again.
    let (status, again) = push(&sim, &[record("sn-2"), record("sn-3"), record("sn-3")]).await;
    assert_eq!(
        (status, again["error_code"].as_str()),
        (200, Some("MKT.0000"))
    );
    let response: UsagePushResponse = serde_json::from_value(again).unwrap();
    let results = response.record_results();
    let duplicates: Vec<_> = results.iter().map(|r| r.metering_sn.as_deref()).collect();
    assert_eq!(duplicates, [Some("sn-2"), Some("sn-3")]);
    assert!(
        results
            .iter()
            .all(|r| r.code == UsageRecordCode::DuplicateMeteringSn)
    );
    assert!(results.iter().all(|r| r.code.is_duplicate()));

    let sns: Vec<_> = sim
        .usage_records()
        .into_iter()
        .map(|r| r.metering_sn.unwrap())
        .collect();
    assert_eq!(sns, ["sn-1", "sn-2", "sn-3"]);
    settle(&sim).await;
    assert!(
        sim.usage_anomalies().is_empty(),
        "a duplicate is not an anomaly"
    );
}

#[tokio::test]
async fn records_failing_the_asynchronous_check_become_anomalies() {
    let sim = start().await;
    let state = sim.state();
    state.register_instance(
        UsageInstance::on_demand("inst-period").charging_mode(ChargingMode::Period),
    );
    state.register_instance(
        UsageInstance::on_demand("inst-pkg").charging_mode(ChargingMode::OnDemandPkg),
    );
    state.register_instance(UsageInstance::on_demand("inst-released"));
    assert!(state.set_instance_status("inst-released", InstanceStatus::Released));
    state.register_instance(UsageInstance::on_demand("inst-foreign").owner("ANOTHERAK0000000000"));
    state.register_instance(UsageInstance::on_demand("inst-mine").owner(AK));
    let on = |sn: &str, instance: &str| {
        let mut r = record(sn);
        r["instance_id"] = json!(instance);
        r
    };
    let mut future = record("future");
    future["end_time"] = json!("20241121T100000Z");
    let records = [
        record("ok"),
        on("pkg", "inst-pkg"),
        on("mine", "inst-mine"),
        on("ghost", "inst-ghost"),
        on("period", "inst-period"),
        on("released", "inst-released"),
        on("foreign", "inst-foreign"),
        future,
    ];
    let (_, answer) = push(&sim, &records).await;
    // The push itself is accepted: the checks run afterwards.
    assert_eq!(
        answer,
        json!({"error_code": "MKT.0000", "error_msg": "success"})
    );
    assert_eq!(sim.usage_records().len(), 8);

    settle(&sim).await;
    let anomalies: Vec<_> = sim
        .usage_anomalies()
        .into_iter()
        .map(|a| (a.record.metering_sn.unwrap(), a.code))
        .collect();
    use UsageRecordCode as C;
    assert_eq!(
        anomalies,
        [
            ("ghost".to_owned(), C::InstanceNotFound),
            ("period".to_owned(), C::NotOnDemand),
            ("released".to_owned(), C::InvalidInstanceStatus),
            ("foreign".to_owned(), C::InstanceMerchantMismatch),
            ("future".to_owned(), C::InvalidTimeRange),
        ]
    );
    assert!(sim.usage_anomalies()[0].reason.contains("no such instance"));
}

fn old_record(begin: &str) -> Value {
    json!({
        "instance_id": INSTANCE,
        "product_id": "OFFI846204237451911168",
        "record_time": "20241121T081000Z",
        "begin_time": begin,
        "end_time": "20241121T080000Z",
        "usage_value": 2.25,
    })
}

#[tokio::test]
async fn old_push_shares_the_store_and_deduplicates_by_window() {
    let sim = start().await;
    let mut ghost = old_record("20241121T060000Z");
    ghost["instance_id"] = json!("inst-ghost");
    let (status, answer) = push_old(&sim, body(&[old_record("20241121T070000Z"), ghost])).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({"error_code": "MKT.0000", "error_msg": "success"})
    );

    // Same instance, product and window again: a duplicate record (010), counted once.
    let (_, again) = push_old(&sim, body(&[old_record("20241121T070000Z")])).await;
    assert_eq!(again["error_code"], "MKT.0000");
    assert_eq!(codes(&again), [UsageRecordCode::DuplicateRecord]);

    // The new API writes into the same store.
    let (_, new) = push(&sim, &[record("sn-1")]).await;
    assert_eq!(new["error_code"], "MKT.0000");

    let records = sim.usage_records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].api, UsageApi::Old);
    assert_eq!(
        records[0].product_id.as_deref(),
        Some("OFFI846204237451911168")
    );
    assert_eq!(records[0].metering_sn, None);
    assert_eq!(
        records[0].usage_value,
        UsageValue::from_ten_thousandths(22_500)
    );
    assert_eq!(records[2].api, UsageApi::New);

    settle(&sim).await;
    let anomalies = sim.usage_anomalies();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].record.instance_id, "inst-ghost");
    assert_eq!(anomalies[0].code, UsageRecordCode::InstanceNotFound);
}

#[tokio::test]
async fn old_push_lists_ill_formed_records() {
    let sim = start().await;
    let mut bad = old_record("20241121T070000Z");
    bad["usage_value"] = json!(-1);
    let (_, answer) = push_old(&sim, body(&[old_record("20241121T070000Z"), bad])).await;
    assert_eq!(answer["error_code"], "MKT.9002");
    assert_eq!(codes(&answer), [UsageRecordCode::InvalidUsageValue]);
    assert_eq!(answer["extra_info"][0]["index"], 1);
    assert!(sim.usage_records().is_empty());
}
