//! One test per lenient-parsing rule and per strictness rule of the inbound bodies.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::kit::KitRequest;
use koogate_protocol::messages::{
    KitOperation, ParseError, ProduceRequest, ProduceResponse, parse_kit_request,
    parse_produce_request,
};
use koogate_protocol::wire::{SyncFlag, TestFlag};

fn release(extra: &str) -> String {
    format!(
        r#"{{"activity":"releaseInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e"{extra}}}"#
    )
}

fn produce(body: &str) -> Result<ProduceRequest, ParseError> {
    parse_produce_request(body.as_bytes())
}

fn tenant(flag: &str, test_flag: &str) -> String {
    format!(
        r#"{{"instanceId":"i","orderId":"o","tenantId":"t","tenantCode":"huawei","name":"n","domainName":"https://d","flag":{flag},"testFlag":{test_flag},"timeStamp":"20220413093539534"}}"#
    )
}

fn kit(operation: KitOperation, body: &str) -> Result<KitRequest, ParseError> {
    parse_kit_request(operation, body.as_bytes())
}

// ---- lenient rules ----

#[test]
fn test_flag_string_one_is_debug() {
    assert_eq!(
        produce(&release(r#","testFlag":"1""#)).unwrap().test_flag(),
        TestFlag::Debug
    );
}

#[test]
fn test_flag_integer_one_is_debug() {
    assert_eq!(
        produce(&release(r#","testFlag":1"#)).unwrap().test_flag(),
        TestFlag::Debug
    );
}

#[test]
fn test_flag_absent_is_production() {
    assert_eq!(
        produce(&release("")).unwrap().test_flag(),
        TestFlag::Production
    );
}

#[test]
fn test_flag_zero_string_and_empty_are_production() {
    assert_eq!(
        produce(&release(r#","testFlag":"0""#)).unwrap().test_flag(),
        TestFlag::Production
    );
    assert_eq!(
        produce(&release(r#","testFlag":"""#)).unwrap().test_flag(),
        TestFlag::Production
    );
}

#[test]
fn kit_flag_integer_and_string_are_the_same() {
    for (flag, test_flag) in [("1", "1"), (r#""1""#, r#""1""#)] {
        let KitRequest::TenantSync(t) =
            kit(KitOperation::TenantSync, &tenant(flag, test_flag)).unwrap()
        else {
            panic!("wrong operation");
        };
        assert_eq!(t.flag, SyncFlag::Add);
        assert_eq!(t.test_flag, TestFlag::Debug);
    }
}

#[test]
fn org_info_list_as_array() {
    let body = r#"{"instanceId":"i","tenantId":"t","orgInfoList":[{"orgCode":"10000","orgName":"开发部"},{"orgCode":"10001","orgName":"测试部","parentCode":"10000"}],"testFlag":0,"timeStamp":"20220413093539534"}"#;
    let KitRequest::AllOrgSync(a) = kit(KitOperation::AllOrgSync, body).unwrap() else {
        panic!("wrong operation")
    };
    assert_eq!(a.org_info_list.len(), 2);
    assert_eq!(a.org_info_list[1].parent(), Some("10000"));
}

#[test]
fn org_info_list_as_json_string_and_extra_flag_ignored() {
    let body = r#"{"instanceId":"i","tenantId":"t","orgInfoList":"[{\"orgCode\":\"10000\",\"orgName\":\"开发部\",\"parentCode\":\"\"}]","flag":1,"testFlag":0,"timeStamp":"20220413093539534"}"#;
    let KitRequest::AllOrgSync(a) = kit(KitOperation::AllOrgSync, body).unwrap() else {
        panic!("wrong operation")
    };
    assert_eq!(a.org_info_list[0].org_code, "10000");
    assert_eq!(a.org_info_list[0].parent(), None);
}

#[test]
fn usage_info_and_usage_infos_both_read() {
    let one = r#"{"resultCode":"000000","resultMsg":"success.","info":[{"instanceId":"i","usageInfo":[{"usageValue":3,"statisticalTime":"20230403074746618"}]}]}"#;
    let two = one.replace("usageInfo", "usageInfos");
    let a = ProduceResponse::from_json_bytes(one.as_bytes()).unwrap();
    let b = ProduceResponse::from_json_bytes(two.as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.info.unwrap()[0].usage_info.as_ref().unwrap()[0]
            .usage_value
            .to_string(),
        "3"
    );
}

#[test]
fn times_with_14_and_17_digits() {
    let body = |t: &str| {
        format!(
            r#"{{"activity":"refreshInstance","expireTime":"{t}","instanceId":"i","orderId":"o","orderLineId":"l","scene":"RENEWAL"}}"#
        )
    };
    for text in ["20221124023618", "20221124023618256"] {
        let ProduceRequest::RefreshInstance(r) = produce(&body(text)).unwrap() else {
            panic!("wrong activity")
        };
        assert_eq!(r.expire_time.format(), text);
    }
}

#[test]
fn unknown_fields_are_ignored() {
    assert!(produce(&release(r#","brandNewField":{"a":[1,2]},"another":"x""#)).is_ok());
    let body = tenant("1", "0").replace(r#""flag""#, r#""futureField":"x","flag""#);
    assert!(kit(KitOperation::TenantSync, &body).is_ok());
}

#[test]
fn numbers_are_read_as_strings() {
    let ProduceRequest::ReleaseInstance(r) =
        produce(r#"{"activity":"releaseInstance","instanceId":12345}"#).unwrap()
    else {
        panic!("wrong activity")
    };
    assert_eq!(r.instance_id, "12345");
}

// ---- strictness rules ----

#[test]
fn missing_required_field_names_the_field() {
    let err =
        produce(r#"{"activity":"upgradeInstance","instanceId":"i","orderId":"o"}"#).unwrap_err();
    assert_eq!(
        err,
        ParseError::MissingField {
            field: "orderLineId".into()
        }
    );
    let blank = produce(
        r#"{"activity":"upgradeInstance","instanceId":" ","orderId":"o","orderLineId":"l"}"#,
    )
    .unwrap_err();
    assert_eq!(
        blank,
        ParseError::MissingField {
            field: "instanceId".into()
        }
    );
    assert_eq!(err.result_code(), ResultCode::InvalidParameter);
}

#[test]
fn over_long_field_is_refused() {
    let id = "x".repeat(65);
    let err = produce(&format!(
        r#"{{"activity":"releaseInstance","instanceId":"{id}"}}"#
    ))
    .unwrap_err();
    assert_eq!(
        err,
        ParseError::TooLong {
            field: "instanceId".into(),
            len: 65,
            max: 64
        }
    );
    let at_max = "x".repeat(64);
    assert!(
        produce(&format!(
            r#"{{"activity":"releaseInstance","instanceId":"{at_max}"}}"#
        ))
        .is_ok()
    );
    // Counted in UTF-16 units: 32 astral characters are 64 units.
    let astral = "😀".repeat(33);
    let err = produce(&format!(
        r#"{{"activity":"releaseInstance","instanceId":"{astral}"}}"#
    ))
    .unwrap_err();
    assert_eq!(
        err,
        ParseError::TooLong {
            field: "instanceId".into(),
            len: 66,
            max: 64
        }
    );
}

#[test]
fn unknown_activity_is_refused() {
    let err = produce(r#"{"activity":"upgrade","instanceId":"i"}"#).unwrap_err();
    assert_eq!(err, ParseError::UnknownActivity("upgrade".into()));
    assert_eq!(err.result_code(), ResultCode::InvalidParameter);
}

#[test]
fn missing_activity_is_refused() {
    assert_eq!(
        produce(r#"{"instanceId":"i"}"#).unwrap_err(),
        ParseError::MissingActivity
    );
    assert_eq!(
        produce(r#"{"activity":7}"#).unwrap_err(),
        ParseError::MissingActivity
    );
}

#[test]
fn malformed_json_is_refused() {
    assert!(matches!(
        produce(r#"{"activity":"newInstance","#),
        Err(ParseError::MalformedJson(_))
    ));
    assert!(matches!(produce(""), Err(ParseError::MalformedJson(_))));
    assert_eq!(
        produce(r#"["newInstance"]"#).unwrap_err(),
        ParseError::NotAnObject
    );
    assert!(matches!(
        kit(KitOperation::AuthSync, "{"),
        Err(ParseError::MalformedJson(_))
    ));
}

#[test]
fn wrong_enum_value_is_refused() {
    let err = produce(r#"{"activity":"updateInstanceStatus","instanceId":"i","status":"PAUSE"}"#)
        .unwrap_err();
    assert!(
        matches!(&err, ParseError::InvalidValue { field, value, .. } if field == "status" && value == "PAUSE"),
        "{err}"
    );
    let err = produce(&release(r#","testFlag":"yes""#)).unwrap_err();
    assert_eq!(err.field(), Some("testFlag"));
    let err = kit(KitOperation::SingleOrgSync, r#"{"instanceId":"i","tenantId":"t","orgCode":"1","orgName":"n","flag":9,"testFlag":0,"timeStamp":"20220413093539534"}"#).unwrap_err();
    assert_eq!(err.field(), Some("flag"));
}

#[test]
fn invalid_time_is_refused() {
    let err = produce(r#"{"activity":"refreshInstance","expireTime":"2022-11-24","instanceId":"i","orderId":"o","orderLineId":"l","scene":"RENEWAL"}"#).unwrap_err();
    assert_eq!(err.field(), Some("expireTime"));
}

#[test]
fn wrong_json_type_is_refused() {
    let err = produce(r#"{"activity":"releaseInstance","instanceId":{"id":"i"}}"#).unwrap_err();
    assert_eq!(
        err,
        ParseError::WrongType {
            field: "instanceId".into(),
            expected: "a string"
        }
    );
}

#[test]
fn org_info_list_string_without_json_is_refused() {
    let body = r#"{"instanceId":"i","tenantId":"t","orgInfoList":"开发部,测试部","testFlag":0,"timeStamp":"20220413093539534"}"#;
    assert_eq!(
        kit(KitOperation::AllOrgSync, body).unwrap_err().field(),
        Some("orgInfoList")
    );
}
