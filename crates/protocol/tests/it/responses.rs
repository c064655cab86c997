//! Response round trips and the ASCII-escaping rule for `memo`.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::produce_response::EncryptType;
use koogate_protocol::messages::{
    AppInfo, InstanceInfo, ProduceResponse, UsageInfo, UsageInfoField,
};
use koogate_protocol::time::MarketTimeMillis;

fn full_response() -> ProduceResponse {
    let app = AppInfo {
        front_end_url: "https://app.example.com/login".into(),
        admin_url: Some("https://app.example.com/admin".into()),
        user_name: Some("Ab3dE5gH7jK9mN1p9dWjFx3tSwe15wjO75iDJg==".into()),
        password: Some("Ab3dE5gH7jK9mN1pu6z7gQ93YTwrUkbmPUVDPA==".into()),
        memo: Some("中文说明 😀".into()),
    };
    let usage = UsageInfo {
        related_instance_id: Some("pkg-1".into()),
        usage_value: "1234.5678".parse().expect("decimal"),
        statistical_time: MarketTimeMillis::parse("20230403074746618").expect("time"),
        dashboard_url: Some("https://app.example.com/usage".into()),
    };
    let info = InstanceInfo {
        instance_id: "i-1".into(),
        app_info: Some(app),
        usage_info: Some(vec![usage]),
    };
    ProduceResponse::success().with_info(vec![info], Some(EncryptType::Aes256))
}

#[test]
fn full_query_answer_round_trips_under_both_usage_names() {
    let response = full_response();
    assert!(response.validate().is_ok());
    for field in [UsageInfoField::UsageInfo, UsageInfoField::UsageInfos] {
        let bytes = response.to_json_bytes_with(field).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains(&format!("\"{}\":", field.as_str())), "{text}");
        assert_eq!(ProduceResponse::from_json_bytes(&bytes).unwrap(), response);
    }
}

#[test]
fn non_ascii_memo_is_escaped_and_reads_back() {
    let bytes = full_response().to_json_bytes().unwrap();
    assert!(bytes.is_ascii());
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(r#""memo":"\u4e2d\u6587\u8bf4\u660e \ud83d\ude00""#),
        "{text}"
    );
    let back = ProduceResponse::from_json_bytes(&bytes).unwrap();
    let memo = back.info.unwrap()[0]
        .app_info
        .as_ref()
        .unwrap()
        .memo
        .clone();
    assert_eq!(memo.as_deref(), Some("中文说明 😀"));
}

#[test]
fn usage_value_is_a_json_number() {
    let text = String::from_utf8(full_response().to_json_bytes().unwrap()).unwrap();
    assert!(
        text.contains(r#""usageValue":1234.5678,"statisticalTime":"20230403074746618""#),
        "{text}"
    );
    assert!(
        text.starts_with(
            r#"{"resultCode":"000000","resultMsg":"success.","encryptType":"1","info":["#
        ),
        "{text}"
    );
}

#[test]
fn every_result_code_round_trips_as_a_response() {
    for code in ResultCode::KNOWN {
        let response = ProduceResponse::new(code.clone());
        let bytes = response.to_json_bytes().unwrap();
        assert_eq!(ProduceResponse::from_json_bytes(&bytes).unwrap(), response);
        assert!(response.validate().is_ok());
    }
}

#[test]
fn error_answer_names_the_parse_failure() {
    let err = koogate_protocol::messages::parse_produce_request(br#"{"activity":"newInstance"}"#)
        .unwrap_err();
    let response = ProduceResponse::from_parse_error(&err);
    assert_eq!(
        response.to_json_bytes().unwrap(),
        br#"{"resultCode":"000002","resultMsg":"missing required field `businessId`"}"#
    );
}

#[test]
fn vendor_answer_with_fifth_decimal_is_rejected() {
    let body = r#"{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"i","usageInfo":[{"usageValue":1.23456,"statisticalTime":"20230403074746618"}]}]}"#;
    assert!(ProduceResponse::from_json_bytes(body.as_bytes()).is_err());
}
