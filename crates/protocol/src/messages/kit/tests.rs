use super::*;
use crate::wire::AuthSyncFlag;

#[test]
fn operation_paths() {
    assert_eq!(KitOperation::TenantSync.path(), "/produceAPI/v2/tenantSync");
    assert_eq!(
        KitOperation::from_path("/isv/produce/produceAPI/v2/allOrgSync"),
        Some(KitOperation::AllOrgSync)
    );
    assert_eq!(
        KitOperation::from_path("/produceAPI/v2/authSync/"),
        Some(KitOperation::AuthSync)
    );
    assert_eq!(KitOperation::from_path("/produceAPI/tenantSync"), None);
    assert_eq!(KitOperation::from_path("/produceAPI/v2/other"), None);
}

#[test]
fn delete_may_omit_descriptive_fields() {
    let body = r#"{"instanceId":"i","orderId":"o","tenantId":"t","flag":0,"testFlag":1,"timeStamp":"20220413093539534"}"#;
    let KitRequest::TenantSync(t) =
        parse_kit_request(KitOperation::TenantSync, body.as_bytes()).unwrap()
    else {
        panic!("wrong operation");
    };
    assert_eq!(t.flag, SyncFlag::Delete);
    assert!(t.name.is_empty());
    let add = body.replace("\"flag\":0", "\"flag\":1");
    let err = parse_kit_request(KitOperation::TenantSync, add.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        ParseError::MissingField {
            field: "tenantCode".into()
        }
    );
}

#[test]
fn auth_sync_cancel_flag_and_string_user_list() {
    let body = r#"{"instanceId":"","tenantId":"t","appId":"a","userList":"[{\"userName\":\"u\",\"name\":\"n\",\"orgCode\":\"1\",\"role\":\"user\",\"enable\":\"false\"}]","currentSyncTime":"20220413093539534","flag":"3","testFlag":"0","timeStamp":"20220413093539534"}"#;
    let KitRequest::AuthSync(a) =
        parse_kit_request(KitOperation::AuthSync, body.as_bytes()).unwrap()
    else {
        panic!("wrong operation");
    };
    assert_eq!(a.flag, AuthSyncFlag::CancelAuthorization);
    assert!(!a.user_list[0].enable);
    assert!(!a.user_list[0].is_admin());
    let tenant_with_3 = r#"{"instanceId":"","orderId":"","tenantId":"t","tenantCode":"c","name":"n","domainName":"d","flag":3,"testFlag":0,"timeStamp":"20220413093539534"}"#;
    let err = parse_kit_request(KitOperation::TenantSync, tenant_with_3.as_bytes()).unwrap_err();
    assert_eq!(err.field(), Some("flag"));
}

#[test]
fn application_sync_keeps_ciphertext() {
    let body = r#"{"instanceId":"i","tenantId":"t","appId":"KSIDJF1234456","clientId":"cid","clientSecret":"QUJD","flag":1,"testFlag":0,"timeStamp":"20220413093539534"}"#;
    let KitRequest::ApplicationSync(a) =
        parse_kit_request(KitOperation::ApplicationSync, body.as_bytes()).unwrap()
    else {
        panic!("wrong operation");
    };
    assert_eq!(a.client_secret, "QUJD");
    assert_eq!(
        String::from_utf8(KitRequest::ApplicationSync(a).to_json_bytes().unwrap()).unwrap(),
        body
    );
}

#[test]
fn single_org_sync() {
    let body = r#"{"instanceId":"i","tenantId":"t","orgCode":"10000","orgName":"开发部","parentCode":"","flag":1,"testFlag":0,"timeStamp":"20220413093539534"}"#;
    let KitRequest::SingleOrgSync(s) =
        parse_kit_request(KitOperation::SingleOrgSync, body.as_bytes()).unwrap()
    else {
        panic!("wrong operation");
    };
    assert_eq!(s.org_name, "开发部");
    assert_eq!(s.parent_code, None);
}

#[test]
fn responses() {
    assert_eq!(
        KitResponse::success().to_json_bytes().unwrap(),
        br#"{"resultCode":"000000","resultMsg":"Success"}"#
    );
    let decrypt = KitResponse::new(crate::ResultCode::CLIENT_SECRET_DECRYPTION_FAILED);
    assert_eq!(
        decrypt.to_json_bytes().unwrap(),
        br#"{"resultCode":"000101","resultMsg":"something wrong with appSecret"}"#
    );
    let typo: KitResponse =
        serde_json::from_str(r#"{" resultCode":"000000"," resultMsg":"Success"}"#).unwrap();
    assert!(typo.result_code.is_success());
}
