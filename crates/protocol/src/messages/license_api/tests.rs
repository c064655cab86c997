use super::*;

#[test]
fn activate_decodes_string_encoded_info() {
    let body = r#"{"error_code":"92020000","error_msg":"Success","data":{"license_code_info":"{\"status\":\"ALIVE\",\"expire_time\":\"20240101000000\",\"product_id\":\"OFFI1\",\"order_id\":\"CS1\",\"amount\":1,\"new_field\":true}"}}"#;
    let r: ActivateResponse = serde_json::from_str(body).unwrap();
    assert!(r.error_code.is_success());
    let info = r.license_code_info().unwrap().unwrap();
    assert_eq!(info.status, LicenseStatus::Alive);
    assert_eq!(info.extra["new_field"], true);
    let data = ActivateData::with_info(&info).unwrap();
    assert_eq!(data.decode_info().unwrap().unwrap(), info);
    assert!(matches!(data.license_code_info, Some(Value::String(_))));
}

#[test]
fn activate_errors_have_no_data() {
    let r: ActivateResponse =
        serde_json::from_str(r#"{"error_code":"92020003","error_msg":"illegal state"}"#).unwrap();
    assert_eq!(r.license_code_info().unwrap(), None);
    let req = ActivateRequest {
        license: Bounded::new("TESTLICENSE0001").unwrap(),
        real_effect_time: None,
    };
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"license":"TESTLICENSE0001"}"#
    );
}

#[test]
fn heartbeat_spec_example() {
    // license-kit §2.3.2 request example.
    let body = r#"{"license":"PLXXXXXX","heartbeatInfo":{"thirdPartyAccount":"myaccount1","ip":"192.168.1.51"}}"#;
    let req: HeartbeatRequest = serde_json::from_str(body).unwrap();
    assert_eq!(serde_json::to_string(&req).unwrap(), body);
    let resp: HeartbeatResponse = serde_json::from_str(
        r#"{"error_code":"92020000","error_msg":"Success","data":{"license_code":"PLXXXXXX","status":"EXPIRED","activate_time":"20230601000000","seats":3}}"#,
    )
    .unwrap();
    let data = resp.data.unwrap();
    assert_eq!(data.status, LicenseStatus::Expired);
    assert_eq!(data.extra["seats"], 3);
}

#[test]
fn software_usage_exactly_one_of_id_and_active_num() {
    let body = r#"{"usage_info":[{"license":"PL1","software_usage_Info":[{"id":"user-1"},{"active_num":12}]}]}"#;
    let req: SoftwareUsageInfoRequest = serde_json::from_str(body).unwrap();
    assert!(req.is_within_limits());
    assert_eq!(serde_json::to_string(&req).unwrap(), body);
    for bad in [
        r#"{}"#,
        r#"{"id":"a","active_num":1}"#,
        r#"{"active_num":1000000000}"#,
    ] {
        assert!(
            serde_json::from_str::<SoftwareUsageInfo>(bad).is_err(),
            "{bad}"
        );
    }
    let wrong_case = r#"{"usage_info":[{"license":"PL1","software_usage_info":[{"id":"u"}]}]}"#;
    assert!(serde_json::from_str::<SoftwareUsageInfoRequest>(wrong_case).is_err());
}
