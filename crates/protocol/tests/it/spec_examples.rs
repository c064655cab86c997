//! Every example body printed in the spec, copied exactly, parsed with the production parsers.
//! Where a body is in the documented (sorted, compact) shape, re-serializing must give it back
//! byte for byte, which is what the simulator relies on.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::instance::{RefreshScene, StatusChange};
use koogate_protocol::messages::kit::KitRequest;
use koogate_protocol::messages::order::{ChargingMode, OrderType, QueryOrderResponse};
use koogate_protocol::messages::{
    KitOperation, KitResponse, MOCK_ORDERS, ProduceRequest, ProduceResponse, parse_kit_request,
    parse_produce_request,
};
use koogate_protocol::wire::{AuthSyncFlag, SyncFlag, TestFlag};

fn round_trip(body: &str) -> ProduceRequest {
    let parsed = parse_produce_request(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(
        String::from_utf8(parsed.to_json_bytes().expect("serializes")).expect("UTF-8"),
        body
    );
    parsed
}

// saas-v2 §2.3 (the table of worked examples), row by row.

#[test]
fn saas_2_3_new_instance() {
    let ProduceRequest::NewInstance(r) = round_trip(
        r#"{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#,
    ) else {
        panic!("wrong activity")
    };
    assert_eq!(r.order_line_id(), Some("CS2211181819B4LVS-000001"));
}

#[test]
fn saas_2_3_query_instance() {
    let ProduceRequest::QueryInstance(q) = round_trip(
        r#"{"activity":"queryInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","testFlag":"1"}"#,
    ) else {
        panic!("wrong activity")
    };
    assert_eq!(
        q.ids().collect::<Vec<_>>(),
        ["10e758d0-31ad-4c4b-8f1b-81d03469a10e"]
    );
}

#[test]
fn saas_2_3_refresh_instance() {
    let ProduceRequest::RefreshInstance(r) = round_trip(
        r#"{"activity":"refreshInstance","expireTime":"20221124023618256","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","productId":"OFFI461867333479178240","scene":"RENEWAL","testFlag":"1"}"#,
    ) else {
        panic!("wrong activity")
    };
    assert_eq!(r.scene, RefreshScene::Renewal);
    assert_eq!(r.expire_time.at().timestamp_subsec_millis(), 256);
}

#[test]
fn saas_2_3_update_instance_status() {
    let ProduceRequest::UpdateInstanceStatus(r) = round_trip(
        r#"{"activity":"updateInstanceStatus","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","status":"FREEZE","testFlag":"1"}"#,
    ) else {
        panic!("wrong activity")
    };
    assert_eq!(r.status, StatusChange::Freeze);
}

#[test]
fn saas_2_3_release_instance() {
    round_trip(
        r#"{"activity":"releaseInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#,
    );
}

#[test]
fn saas_2_3_upgrade_instance_also_printed_on_the_change_check_page() {
    round_trip(
        r#"{"activity":"upgradeInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#,
    );
}

#[test]
fn saas_2_3_and_license_kit_7_order_notify() {
    let parsed = round_trip(
        r#"{"activity":"orderNotify","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#,
    );
    assert!(parsed.is_debug());
}

#[test]
fn saas_2_3_legacy_rich_new_instance() {
    let body = r#"{"activity":"newInstance","buyerInfo":{"customerId":"688055390f3049f283fe9f1aa90f1858","customerName":"CBC_marketplace_mwx616072_01","userId":"1e86066c22754361933f607df834e4fe","userName":"CBC_marketplace_mwx616072_01","mobilePhone":"18652996659","email":"mapengfei8@huawei.com"},"orderInfo":[{"businessId":"8a2c4e6f-405a-4f8d-8e24-f41090522646","orderId":"CS2210101920BWXLK","trialFlag":"0","orderAmount":12.78,"chargingMode":"PERIOD","periodType":"month","periodNumber":5,"provisionType":1,"productInfo":[{"skuCode":"a63ee5c9-4f86-11ed-9f95-fa163e8cb3b2","productId":"OFFI788963615933718528","linearValue":20}],"createTime":"20221024194509","expireTime":"20221224194509","extendParams":[{"name":"emailDomainName","value":"test.xxxx.com"},{"name":"extendParamName","value":"extendParamValue"}]}],"testFlag":"1"}"#;
    let parsed = parse_produce_request(body.as_bytes()).unwrap();
    // Keys are not sorted in this example, so compare as JSON values.
    let again: serde_json::Value =
        serde_json::from_slice(&parsed.to_json_bytes().unwrap()).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(body).unwrap()
    );
    let ProduceRequest::NewInstance(r) = parsed else {
        panic!("wrong activity")
    };
    assert!(r.is_legacy());
    assert_eq!(r.order_id(), Some("CS2210101920BWXLK"));
    assert_eq!(
        r.business_id(),
        Some("8a2c4e6f-405a-4f8d-8e24-f41090522646")
    );
    assert_eq!(r.order_line_id(), None);
    let order = &r.order_info.as_ref().unwrap()[0];
    assert!(!order.is_trial());
    assert_eq!(order.charging_mode, Some(ChargingMode::Period));
    assert_eq!(
        order.product_info[0]
            .linear_value
            .as_ref()
            .and_then(|v| v.as_i64()),
        Some(20)
    );
    assert_eq!(
        r.buyer_info.as_ref().unwrap().email.as_deref(),
        Some("mapengfei8@huawei.com")
    );
}

// license-kit §2.2.2: the computed refreshLicenseCode vector body.
#[test]
fn license_kit_2_2_2_refresh_license_code() {
    let ProduceRequest::RefreshLicenseCode(r) = round_trip(
        r#"{"activity":"refreshLicenseCode","expireTime":"20230523201932","license":"TESTLICENSE0001","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","scene":"RENEWAL","testFlag":"1"}"#,
    ) else {
        panic!("wrong activity")
    };
    assert_eq!(r.license, "TESTLICENSE0001");
}

// license-kit §4.3: kit example bodies (received form and canonical form).

const TENANT_RECEIVED: &str = r#"{"instanceId":"huaiweitest123456","orderId":"CS1906666666ABCDE","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","tenantCode":"huawei","name":"huaiweitest","domainName":"https://example.tenantaccount.com","flag":1,"testFlag":0,"timeStamp":"20220413093539534"}"#;
const TENANT_CANONICAL: &str = r#"{"domainName":"https://example.tenantaccount.com","flag":1,"instanceId":"huaiweitest123456","name":"huaiweitest","orderId":"CS1906666666ABCDE","tenantCode":"huawei","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","testFlag":0,"timeStamp":"20220413093539534"}"#;
const AUTH_RECEIVED: &str = r#"{"instanceId":"huaiweitest123456","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","appId":"KSIDJF1234456","userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}],"currentSyncTime":"20220413093539534","flag":1,"testFlag":1,"timeStamp":"20220413093539534"}"#;
const AUTH_CANONICAL: &str = r#"{"appId":"KSIDJF1234456","currentSyncTime":"20220413093539534","flag":1,"instanceId":"huaiweitest123456","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","testFlag":1,"timeStamp":"20220413093539534","userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}]}"#;

#[test]
fn license_kit_4_3_tenant_sync() {
    for body in [TENANT_RECEIVED, TENANT_CANONICAL] {
        let parsed = parse_kit_request(KitOperation::TenantSync, body.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(parsed.to_json_bytes().expect("serializes")).expect("UTF-8"),
            TENANT_RECEIVED
        );
        let KitRequest::TenantSync(t) = parsed else {
            panic!("wrong operation")
        };
        assert_eq!(t.flag, SyncFlag::Add);
        assert_eq!(t.test_flag, TestFlag::Production);
        assert_eq!(t.domain_name, "https://example.tenantaccount.com");
    }
}

#[test]
fn license_kit_4_3_auth_sync() {
    for body in [AUTH_RECEIVED, AUTH_CANONICAL] {
        let parsed = parse_kit_request(KitOperation::AuthSync, body.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(parsed.to_json_bytes().expect("serializes")).expect("UTF-8"),
            AUTH_RECEIVED
        );
        let KitRequest::AuthSync(a) = parsed else {
            panic!("wrong operation")
        };
        assert_eq!(a.flag, AuthSyncFlag::Add);
        assert!(a.test_flag.is_debug());
        let user = &a.user_list[0];
        assert!(user.is_admin() && user.enable);
        assert_eq!(user.name, "张三");
        assert_eq!(
            user.employee_type.as_ref().and_then(|t| t.as_i64()),
            Some(1)
        );
    }
}

// Responses printed in the spec.

#[test]
fn saas_responses_parse() {
    for (body, code) in [
        // saas-v2 §3.1 (online-License copy), spacing as printed.
        (
            r#"{ "resultCode":"000000", "resultMsg":"success." , "instanceId":"03pf80c2bae96vc49*********" }"#,
            ResultCode::Success,
        ),
        // saas-v2 §2.7 Body-Sign vector body and license-kit §7 orderNotify answer.
        (
            r#"{"resultCode":"000000","resultMsg":"success"}"#,
            ResultCode::Success,
        ),
        // saas-v2 §6: the debugger's reference format.
        (
            r#"{"resultCode":"000000","resultMsg":"success."}"#,
            ResultCode::Success,
        ),
        // license-kit §2.2.3.
        (
            r#"{"resultCode":"000000","resultMsg":"success."}"#,
            ResultCode::Success,
        ),
    ] {
        let r = ProduceResponse::from_json_bytes(body.as_bytes()).unwrap();
        assert_eq!(r.result_code, code);
        assert!(r.validate().is_ok(), "{body}");
    }
}

#[test]
fn license_kit_4_2_kit_response() {
    let r: KitResponse =
        serde_json::from_str(r#"{"resultCode":"000000","resultMsg":"Success"}"#).unwrap();
    assert!(r.result_code.is_success());
}

// saas-v2 §7.1: the captured MOCK response, reassembled from the fields the spec lists.
#[test]
fn saas_7_1_mock_order_response() {
    let body = r#"{"resultCode":"MKT.0000","resultMsg":"success","orderInfo":{"orderId":"MOCKPERIODYEARNEW","orderType":"NEW","createTime":"20241121090846","orderLine":[{"orderLineId":"MOCKPERIODYEARNEW-000001","chargingMode":"PERIOD","expireTime":"20251121235959","periodType":"year","periodNumber":1,"productInfo":[{"productId":"OFFI846204237451911168","skuCode":"0a4d1578-5295-46a7-92d4-7c803dccc51d","linearValue":50,"productName":"MOCK测试商品,测试规格,基础版,包周期"}],"extendParams":[{"name":"emailDomainName","value":"test.xxxx.com"},{"name":"ip","value":"127.0.0.1"}],"currency":"100"}],"buyerInfo":{"customerName":"mock_user_01","customerType":0,"email":null,"userId":null,"userName":null}}}"#;
    let r: QueryOrderResponse = serde_json::from_str(body).unwrap();
    assert!(r.is_success());
    let order = r.order_info.unwrap();
    assert_eq!(order.order_type, OrderType::New);
    let line = order.line("MOCKPERIODYEARNEW-000001").unwrap();
    assert_eq!(line.charging_mode, ChargingMode::Period);
    assert_eq!(line.currency.as_ref().and_then(|c| c.as_i64()), Some(100));
    assert_eq!(line.extend_param("ip"), Some("127.0.0.1"));
    assert_eq!(
        koogate_protocol::time::format_compact(line.expire_at().unwrap()),
        "20251121235959"
    );
    assert_eq!(order.buyer_info.unwrap().email, None);
    let mock = &MOCK_ORDERS[0];
    assert_eq!(
        (mock.order_id, mock.period_type),
        ("MOCKPERIODYEARNEW", Some("year"))
    );
}

#[test]
fn unknown_order_type_and_charging_mode_are_kept() {
    let body = r#"{"resultCode":"MKT.0000","orderInfo":{"orderId":"X","orderType":"TRANSFER","orderLine":[{"orderLineId":"X-1","chargingMode":"SPOT"}]}}"#;
    let r: QueryOrderResponse = serde_json::from_str(body).unwrap();
    let order = r.order_info.unwrap();
    assert_eq!(order.order_type, OrderType::Other("TRANSFER".into()));
    assert_eq!(order.order_line[0].charging_mode.as_str(), "SPOT");
}
