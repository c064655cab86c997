use koogate_protocol::signing::{VerifyError, body_sign};
use serde_json::json;

use super::*;

const DOC_BODY: &str = r#"{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#;
const DOC_NONCE: &str = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA";

fn client_at(epoch_ms: i64) -> ProduceClient {
    let mut config = ClientConfig::new(
        "http://127.0.0.1:9/produce",
        AccessKey::new("test-access-key-0001"),
    );
    config.clock = Clock::fixed(epoch_ms);
    ProduceClient::new(config).unwrap()
}

#[test]
fn bodies_match_the_documented_layout() {
    let body = Body::new_instance(
        "CS2211181819B4LVS",
        "CS2211181819B4LVS-000001",
        "87b94795-0603-4e24-8ae5-69420d60e3c8",
    );
    assert_eq!(String::from_utf8(body.to_bytes()).unwrap(), DOC_BODY);
    assert_eq!(body.activity(), Some("newInstance"));
    let status = Body::update_instance_status("10e758d0-31ad-4c4b-8f1b-81d03469a10e", "FREEZE");
    assert_eq!(
        String::from_utf8(status.to_bytes()).unwrap(),
        r#"{"activity":"updateInstanceStatus","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","status":"FREEZE","testFlag":"1"}"#
    );
    let plain = Body::query_instance("i").without_test_flag();
    assert_eq!(
        plain.to_bytes(),
        br#"{"activity":"queryInstance","instanceId":"i"}"#
    );
}

#[test]
fn nested_objects_are_sorted_too() {
    let body = Body::change_instance_check(
        "i",
        json!({"skuCode": "s", "productId": "p", "b": [{"z": 1, "a": 2}]}),
    );
    assert_eq!(
        String::from_utf8(body.to_bytes()).unwrap(),
        r#"{"activity":"changeInstanceCheck","instanceId":"i","productInfo":{"b":[{"a":2,"z":1}],"productId":"p","skuCode":"s"},"testFlag":"1"}"#
    );
}

#[test]
fn signature_matches_the_self_computed_spec_vector() {
    // spec saas-v2 §2.4: the doc's newInstance example signed with `test-access-key-0001`.
    let client = client_at(1_680_508_066_618);
    let body = Body::new_instance(
        "CS2211181819B4LVS",
        "CS2211181819B4LVS-000001",
        "87b94795-0603-4e24-8ae5-69420d60e3c8",
    );
    let signed = client.sign(&body, &Auth::with_nonce(DOC_NONCE));
    assert_eq!(signed.body, DOC_BODY.as_bytes());
    assert_eq!(signed.timestamp.as_deref(), Some("1680508066618"));
    assert_eq!(signed.nonce.as_deref(), Some(DOC_NONCE));
    assert_eq!(
        signed.signature.as_deref(),
        Some("C506F4221EC15F98C40B8A5D5065D8B815A2C5596CF4421382088B5652565458")
    );
}

#[test]
fn tampering_breaks_exactly_what_it_says() {
    let now = 1_700_000_000_000;
    let client = client_at(now);
    let body = Body::query_instance("i");
    let verify = |signed: &SignedRequest, at: i64| {
        scheme_a::verify(
            client.key(),
            scheme_a::SignatureParams {
                signature: signed.signature.as_deref(),
                timestamp: signed.timestamp.as_deref(),
                nonce: signed.nonce.as_deref(),
            },
            &signed.body,
            at,
            &scheme_a::VerifyPolicy::default(),
        )
    };
    let good = client.sign(&body, &Auth::default());
    assert!(verify(&good, now).is_ok());
    assert_ne!(good.nonce, client.sign(&body, &Auth::default()).nonce);
    assert_eq!(
        verify(&client.sign(&body, &Auth::tampered(Tamper::WrongKey)), now),
        Err(VerifyError::BadSignature)
    );
    let stale = client.sign(&body, &Auth::skewed(-61_000));
    assert!(matches!(
        verify(&stale, now),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    // Correctly signed for its own time: only the window refuses it.
    assert!(verify(&stale, now - 61_000).is_ok());
    let omitted = client.sign(&body, &Auth::tampered(Tamper::OmitAll));
    assert_eq!(
        (omitted.signature, omitted.timestamp, omitted.nonce),
        (None, None, None)
    );
    let no_sig = client.sign(&body, &Auth::tampered(Tamper::OmitSignature));
    assert!(no_sig.signature.is_none() && no_sig.timestamp.is_some() && no_sig.nonce.is_some());
}

#[test]
fn reply_helpers_read_headers_case_insensitively() {
    let key = AccessKey::new("k");
    let body = br#"{"resultCode":"000000","resultMsg":"success."}"#.to_vec();
    let reply = Reply {
        status: 200,
        headers: vec![
            (
                "content-type".into(),
                "Application/JSON; charset=UTF-8".into(),
            ),
            ("body-sign".into(), body_sign::header_value(&key, &body)),
        ],
        parsed: ProduceResponse::from_json_bytes(&body).map_err(|e| e.to_string()),
        body,
        latency: Duration::from_millis(3),
    };
    assert_eq!(reply.media_type().as_deref(), Some("application/json"));
    assert_eq!(reply.result_code(), Some("000000"));
    assert!(reply.verify_body_sign(&key).is_ok());
    assert_eq!(
        reply.verify_body_sign(&AccessKey::new("other")),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(reply.body_excerpt(5), "{\"res…");
}

#[tokio::test]
async fn an_unreachable_target_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = ClientConfig::new(
        format!("http://127.0.0.1:{port}/produce"),
        AccessKey::new("k"),
    );
    config.timeout = Duration::from_secs(2);
    let client = ProduceClient::new(config).unwrap();
    let err = client.call(&Body::query_instance("i")).await.unwrap_err();
    assert!(matches!(err, SendError::Connect(_)), "{err:?}");
}

#[test]
fn each_activity_is_signed_with_its_category_key() {
    let basic = AccessKey::new("basic");
    let keys = CategoryKeys {
        license: Some(AccessKey::new("license")),
        notify: Some(AccessKey::new("notify")),
    };
    let key = |activity: Option<&str>| keys.for_activity(&basic, activity).expose().to_owned();
    for activity in [
        "refreshLicenseCode",
        "updateLicenseCodeStatus",
        "releaseLicenseCode",
    ] {
        assert_eq!(key(Some(activity)), "license", "{activity}");
    }
    assert_eq!(key(Some("orderNotify")), "notify");
    for activity in [
        Some("newInstance"),
        Some("getLicenseAsync"),
        Some("nope"),
        None,
    ] {
        assert_eq!(key(activity), "basic", "{activity:?}");
    }
    // Unset categories fall back to the basic key.
    let unset = CategoryKeys::default();
    assert_eq!(
        unset.for_activity(&basic, Some("orderNotify")).expose(),
        "basic"
    );
    // The client reads the activity from the bytes it signs.
    let mut config = ClientConfig::new("http://127.0.0.1:1/produce", basic.clone());
    config.category_keys = keys.clone();
    let client = ProduceClient::new(config).unwrap();
    assert_eq!(
        client
            .key_for_body(br#"{"activity":"orderNotify","orderId":"x"}"#)
            .expose(),
        "notify"
    );
    assert_eq!(client.key_for_body(b"not json").expose(), "basic");
}
