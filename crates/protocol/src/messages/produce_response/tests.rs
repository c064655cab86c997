use super::*;
use crate::time::MarketTimeMillis;

fn usage(value: &str) -> UsageInfo {
    UsageInfo {
        related_instance_id: None,
        usage_value: value.parse().unwrap(),
        statistical_time: MarketTimeMillis::parse("20230403074746618").unwrap(),
        dashboard_url: None,
    }
}

#[test]
fn new_instance_answer() {
    let r = ProduceResponse::success().with_instance_id("03pf80c2bae96vc49b80b917bea776d7");
    assert_eq!(
        r.to_json_bytes().unwrap(),
        br#"{"resultCode":"000000","resultMsg":"success.","instanceId":"03pf80c2bae96vc49b80b917bea776d7"}"#
    );
    assert!(r.validate().is_ok());
}

#[test]
fn usage_field_name_is_a_setting() {
    let info = InstanceInfo {
        instance_id: "i".into(),
        app_info: None,
        usage_info: Some(vec![usage("12.5")]),
    };
    let r = ProduceResponse::success().with_info(vec![info], None);
    let default = String::from_utf8(r.to_json_bytes().unwrap()).unwrap();
    assert!(
        default
            .contains(r#""usageInfo":[{"usageValue":12.5,"statisticalTime":"20230403074746618"}]"#),
        "{default}"
    );
    let alt = String::from_utf8(r.to_json_bytes_with(UsageInfoField::UsageInfos).unwrap()).unwrap();
    assert_eq!(alt, default.replace("usageInfo", "usageInfos"));
    for body in [default, alt] {
        assert_eq!(
            ProduceResponse::from_json_bytes(body.as_bytes()).unwrap(),
            r
        );
    }
}

#[test]
fn length_rules() {
    let app = AppInfo {
        front_end_url: "u".repeat(513),
        admin_url: None,
        user_name: Some("n".repeat(129)),
        password: Some("p".into()),
        memo: Some("中".repeat(1025)),
    };
    let info = InstanceInfo {
        instance_id: String::new(),
        app_info: Some(app),
        usage_info: None,
    };
    let mut r = ProduceResponse::success().with_info(vec![info], Some(EncryptType::Aes256));
    r.result_msg = Some("m".repeat(256));
    let fields: Vec<String> = r
        .problems()
        .into_iter()
        .map(|p| match p {
            ResponseError::TooLong { field, .. } | ResponseError::Missing { field } => field,
            ResponseError::MalformedResultCode(code) => code,
        })
        .collect();
    assert_eq!(
        fields,
        [
            "resultMsg",
            "info[0].instanceId",
            "info[0].appInfo.frontEndUrl",
            "info[0].appInfo.userName",
            "info[0].appInfo.memo"
        ]
    );
    let typo = ProduceResponse::new(ResultCode::parse("0000004"));
    assert_eq!(
        typo.validate(),
        Err(ResponseError::MalformedResultCode("0000004".into()))
    );
    let no_msg = ProduceResponse {
        result_msg: None,
        ..ProduceResponse::success()
    };
    assert_eq!(
        no_msg.validate(),
        Err(ResponseError::Missing {
            field: "resultMsg".into()
        })
    );
}

#[test]
fn messages_are_cut_to_255_units() {
    let r = ProduceResponse::error(ResultCode::InternalError, &"错".repeat(300));
    assert_eq!(r.result_msg.as_deref().map(utf16_len), Some(255));
    assert_eq!(truncate_utf16("a😀b", 2), "a");
    assert_eq!(truncate_utf16("a😀b", 3), "a😀");
}

#[test]
fn password_is_redacted_in_debug() {
    let app = AppInfo {
        front_end_url: "https://x".into(),
        password: Some("hunter2".into()),
        ..AppInfo::default()
    };
    assert!(!format!("{app:?}").contains("hunter2"));
}
