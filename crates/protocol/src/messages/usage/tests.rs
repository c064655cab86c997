use serde_json::json;

use super::*;

const BODY: &str = r#"{"usage_records":[{"begin_time":"20220809T080000Z","end_time":"20220809T090000Z","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","metering_sn":"a1b2c3","record_time":"20220809T091000Z","usage_value":"99"}]}"#;

#[test]
fn spec_body_round_trips_sorted() {
    // saas-v2 §7.2 computed vector body.
    let req: UsagePushRequest = serde_json::from_str(BODY).unwrap();
    assert!(req.validate().is_ok());
    assert_eq!(
        String::from_utf8(req.to_json_bytes().unwrap()).unwrap(),
        BODY
    );
}

#[test]
fn limits() {
    let mut req: UsagePushRequest = serde_json::from_str(BODY).unwrap();
    let record = req.usage_records[0].clone();
    req.usage_records = vec![record.clone(); 1001];
    assert_eq!(req.validate(), Err(UsagePushError::TooManyRecords(1001)));
    req.usage_records.clear();
    assert_eq!(req.validate(), Err(UsagePushError::Empty));
    let mut zero = record.clone();
    zero.usage_value = UsageValue::ZERO;
    req.usage_records = vec![zero];
    assert_eq!(req.validate(), Err(UsagePushError::ZeroUsage { index: 0 }));
    let mut inverted = record;
    std::mem::swap(&mut inverted.begin_time, &mut inverted.end_time);
    req.usage_records = vec![inverted];
    assert_eq!(
        req.validate(),
        Err(UsagePushError::InvertedWindow { index: 0 })
    );
}

#[test]
fn response_and_extra_info_shapes() {
    let ok: UsagePushResponse =
        serde_json::from_str(r#"{"error_code":"MKT.0000","error_msg":"success"}"#).unwrap();
    assert!(ok.is_success());
    assert!(ok.record_results().is_empty());

    let shapes = [
        json!([{"metering_sn": "a1", "code": "005", "msg": "dup"}]),
        json!({"a1": "005"}),
        json!({"a1": {"error_code": "005", "error_msg": "dup"}}),
        json!("[{\"meteringSn\":\"a1\",\"resultCode\":\"005\"}]"),
        json!({"metering_sn": "a1", "code": 5}),
    ];
    for extra in shapes {
        let r = UsagePushResponse {
            error_code: OpenApiCode::parse("MKT.9002"),
            error_msg: None,
            extra_info: Some(extra.clone()),
        };
        let results = r.record_results();
        assert_eq!(results.len(), 1, "{extra}");
        assert_eq!(results[0].metering_sn.as_deref(), Some("a1"), "{extra}");
    }
    let r = UsagePushResponse {
        error_code: OpenApiCode::parse("MKT.9002"),
        error_msg: None,
        extra_info: Some(json!({"a1": "005"})),
    };
    assert_eq!(
        r.record_results()[0].code,
        UsageRecordCode::DuplicateMeteringSn
    );
}

#[test]
fn old_push_has_product_id_and_numeric_value() {
    let body = r#"{"usage_records":[{"begin_time":"20220809T080000Z","end_time":"20220809T090000Z","instance_id":"i","product_id":"OFFI1","record_time":"20220809T091000Z","usage_value":1.5}]}"#;
    let req: OldUsagePushRequest = serde_json::from_str(body).unwrap();
    assert_eq!(serde_json::to_string(&req).unwrap(), body);
}
