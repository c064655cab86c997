use super::*;
use crate::messages::instance::{RefreshScene, StatusChange};

const NEW_INSTANCE: &str = r#"{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#;

#[test]
fn thin_bodies_round_trip_byte_for_byte() {
    let refresh = r#"{"activity":"refreshInstance","expireTime":"20221124023618256","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","productId":"OFFI461867333479178240","scene":"RENEWAL","testFlag":"1"}"#;
    for body in [NEW_INSTANCE, refresh] {
        let parsed = parse_produce_request(body.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(parsed.to_json_bytes().unwrap()).unwrap(),
            body
        );
    }
}

#[test]
fn accessors_and_flags() {
    let ProduceRequest::NewInstance(req) = parse_produce_request(NEW_INSTANCE.as_bytes()).unwrap()
    else {
        panic!("wrong activity");
    };
    assert!(!req.is_legacy());
    assert_eq!(req.order_id(), Some("CS2211181819B4LVS"));
    assert_eq!(
        req.business_id(),
        Some("87b94795-0603-4e24-8ae5-69420d60e3c8")
    );
    let parsed = ProduceRequest::NewInstance(req);
    assert_eq!(parsed.activity(), Activity::NewInstance);
    assert!(parsed.is_debug());
}

#[test]
fn query_instance_splits_ids() {
    let body = r#"{"activity":"queryInstance","instanceId":"a, b,,c"}"#;
    let ProduceRequest::QueryInstance(q) = parse_produce_request(body.as_bytes()).unwrap() else {
        panic!("wrong activity");
    };
    assert_eq!(q.ids().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        crate::messages::instance::QueryInstance::new(["x", "y"]).instance_id,
        "x,y"
    );

    let ids: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let body =
        serde_json::json!({"activity": "queryInstance", "instanceId": ids.join(",")}).to_string();
    let err = parse_produce_request(body.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        ParseError::TooMany {
            field: "instanceId".into(),
            count: 101,
            max: 100
        }
    );

    let long = "x".repeat(65);
    let body = serde_json::json!({"activity": "queryInstance", "instanceId": format!("a,{long}")})
        .to_string();
    assert!(matches!(
        parse_produce_request(body.as_bytes()),
        Err(ParseError::TooLong { max: 64, .. })
    ));
}

#[test]
fn enums_and_times_are_typed() {
    let body = r#"{"activity":"refreshInstance","expireTime":"20230523201932","instanceId":"i","orderId":"o","orderLineId":"l","scene":"UNSUBSCRIBE_RENEWAL_PERIOD"}"#;
    let ProduceRequest::RefreshInstance(r) = parse_produce_request(body.as_bytes()).unwrap() else {
        panic!("wrong activity");
    };
    assert_eq!(r.scene, RefreshScene::UnsubscribeRenewalPeriod);
    assert_eq!(r.expire_time.format(), "20230523201932");
    assert_eq!(r.test_flag, None);

    let body = r#"{"activity":"updateLicenseCodeStatus","license":"L","status":"UNFREEZE"}"#;
    let ProduceRequest::UpdateLicenseCodeStatus(s) =
        parse_produce_request(body.as_bytes()).unwrap()
    else {
        panic!("wrong activity");
    };
    assert_eq!(s.status, StatusChange::Unfreeze);
}

#[test]
fn get_license_async_times() {
    let body = r#"{"activity":"getLicenseAsync","instanceId":"i","effectiveTime":"2023-10-27 10:30:15 z","eventId":"e","deviceFingerprint":"MAC|disk|board|CPU"}"#;
    let ProduceRequest::GetLicenseAsync(g) = parse_produce_request(body.as_bytes()).unwrap() else {
        panic!("wrong activity");
    };
    assert_eq!(
        crate::time::format_compact(g.effective_at().unwrap()),
        "20231027103015"
    );
    assert!(g.expire_at().is_none());
    let bad = r#"{"activity":"getLicenseAsync","instanceId":"i","effectiveTime":"yesterday","eventId":"e"}"#;
    let err = parse_produce_request(bad.as_bytes()).unwrap_err();
    assert_eq!(err.field(), Some("effectiveTime"));
}

#[test]
fn serde_deserialize_shares_the_rules() {
    let parsed: ProduceRequest = serde_json::from_str(NEW_INSTANCE).unwrap();
    assert_eq!(parsed.activity(), Activity::NewInstance);
    let err = serde_json::from_str::<ProduceRequest>(r#"{"activity":"newInstance"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing required field `businessId`"),
        "{err}"
    );
}

#[test]
fn every_error_maps_to_000002() {
    for body in [
        &b"nope"[..],
        b"[]",
        b"{}",
        br#"{"activity":"x"}"#,
        br#"{"activity":"releaseInstance"}"#,
    ] {
        let err = parse_produce_request(body).unwrap_err();
        assert_eq!(err.result_code(), crate::ResultCode::InvalidParameter);
    }
}

#[test]
fn activity_is_read_strictly_because_it_chooses_the_key() {
    use super::activity_of;
    let ok = br#"{"instanceId":"i","activity":"orderNotify","x":{"activity":"newInstance"}}"#;
    assert_eq!(activity_of(ok).unwrap(), Activity::OrderNotify);
    // A nested `activity` is not the request's.
    let cases: [(&[u8], ParseError); 8] = [
        (
            br#"{"activity":" orderNotify"}"#,
            ParseError::UnknownActivity(" orderNotify".into()),
        ),
        (
            br#"{"activity":"orderNotify\n"}"#,
            ParseError::UnknownActivity("orderNotify\n".into()),
        ),
        (
            br#"{"activity":"ordernotify"}"#,
            ParseError::UnknownActivity("ordernotify".into()),
        ),
        (
            br#"{"activity":"queryInstance","activity":"orderNotify"}"#,
            ParseError::DuplicateActivity,
        ),
        (
            br#"{"activity":"queryInstance","activ\u0069ty":"orderNotify"}"#,
            ParseError::DuplicateActivity,
        ),
        (
            br#"{"activity":7,"activity":"orderNotify"}"#,
            ParseError::DuplicateActivity,
        ),
        (br#"{"activity":""}"#, ParseError::MissingActivity),
        (br#"[{"activity":"orderNotify"}]"#, ParseError::NotAnObject),
    ];
    for (body, expected) in cases {
        assert_eq!(
            activity_of(body).unwrap_err(),
            expected,
            "{}",
            String::from_utf8_lossy(body)
        );
        // The full parse refuses exactly the same bodies.
        assert!(parse_produce_request(body).is_err());
    }
    assert!(matches!(
        activity_of(b"{\"activity\":"),
        Err(ParseError::MalformedJson(_))
    ));
}
