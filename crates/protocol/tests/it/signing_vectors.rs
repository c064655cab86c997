//! Known-answer tests: every vector printed in the specs for the signature schemes. The expected
//! strings are copied from the spec files, never from this crate's output.

use koogate_protocol::signing::scheme_a::{
    self, InnerHash, Matched, SignatureParams, VerifyPolicy,
};
use koogate_protocol::signing::{
    AccessKey, VerifyError, apig, body_sign, kit, usage, v1_auth_token,
};
use sha2::{Digest, Sha256};

const KEY: &str = "test-access-key-0001";

fn key() -> AccessKey {
    AccessKey::new(KEY)
}

fn params<'a>(signature: &'a str, timestamp: &'a str, nonce: &'a str) -> SignatureParams<'a> {
    SignatureParams {
        signature: Some(signature),
        timestamp: Some(timestamp),
        nonce: Some(nonce),
    }
}

// saas-v2 §2.4: the doc's newInstance body, timestamp and nonce under an invented key.
mod saas_v2_2_4 {
    use super::*;

    const TS: &str = "1680508066618";
    const NONCE: &str = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA";
    const BODY: &str = r#"{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#;

    #[test]
    fn hmac_inner_canonical_string_and_signature() {
        let canonical =
            scheme_a::canonical_request(&key(), InnerHash::Hmac, TS, NONCE, BODY.as_bytes());
        assert_eq!(
            canonical,
            "test-access-key-000150D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA16805080666187c3423c08d12337dd359ce871f975ad942cfea7f9216e66e32389c76d6c0ebd3"
        );
        assert!(
            canonical.ends_with("7c3423c08d12337dd359ce871f975ad942cfea7f9216e66e32389c76d6c0ebd3")
        );
        assert_eq!(
            scheme_a::sign(&key(), TS, NONCE, BODY.as_bytes()),
            "C506F4221EC15F98C40B8A5D5065D8B815A2C5596CF4421382088B5652565458"
        );
    }

    #[test]
    fn plain_sha256_inner_variant() {
        assert_eq!(
            scheme_a::sign_with(&key(), InnerHash::Sha256, TS, NONCE, BODY.as_bytes()),
            "4485628226C98D3B98671B10F0639E6EB4C0D17B2685B98FD8B57FA9BD75D8AF"
        );
    }

    #[test]
    fn verifies_in_either_case_and_only_with_the_right_inner_policy() {
        let now = 1_680_508_066_618;
        let ok = Matched {
            inner: InnerHash::Hmac,
            canonical: false,
        };
        for sig in [
            "C506F4221EC15F98C40B8A5D5065D8B815A2C5596CF4421382088B5652565458",
            "c506f4221ec15f98c40b8a5d5065d8b815a2c5596cf4421382088b5652565458",
        ] {
            let got = scheme_a::verify(
                &key(),
                params(sig, TS, NONCE),
                BODY.as_bytes(),
                now,
                &VerifyPolicy::default(),
            );
            assert_eq!(got, Ok(ok));
        }
        let sha = "4485628226C98D3B98671B10F0639E6EB4C0D17B2685B98FD8B57FA9BD75D8AF";
        let default = scheme_a::verify(
            &key(),
            params(sha, TS, NONCE),
            BODY.as_bytes(),
            now,
            &VerifyPolicy::default(),
        );
        assert_eq!(default, Err(VerifyError::BadSignature));
        let both = VerifyPolicy {
            inner: vec![InnerHash::Hmac, InnerHash::Sha256],
            ..VerifyPolicy::default()
        };
        let got = scheme_a::verify(&key(), params(sha, TS, NONCE), BODY.as_bytes(), now, &both);
        assert_eq!(
            got,
            Ok(Matched {
                inner: InnerHash::Sha256,
                canonical: false
            })
        );
    }
}

// license-kit §2.2.2: the License page's scheme A with its doc timestamp/nonce.
#[test]
fn license_kit_2_2_2_scheme_a() {
    let (ts, nonce) = ("1666677988730", "RLLUammMSInlrNWb");
    let body = r#"{"activity":"refreshLicenseCode","expireTime":"20230523201932","license":"TESTLICENSE0001","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","scene":"RENEWAL","testFlag":"1"}"#;
    assert_eq!(
        scheme_a::canonical_request(&key(), InnerHash::Hmac, ts, nonce, body.as_bytes()),
        "test-access-key-0001RLLUammMSInlrNWb16666779887307c5d8c90fc58650512ff901cebc39fcdec41e3747648ea9230889661d8f3e8c4"
    );
    let expected = "357B0A709073BD57E04B9DCF99A7A028F6D5AD9D2A818DBDFB64CBEC6CE38224";
    assert_eq!(scheme_a::sign(&key(), ts, nonce, body.as_bytes()), expected);
    let now = 1_666_677_988_730 + 60_000;
    for sig in [expected.to_owned(), expected.to_ascii_lowercase()] {
        let got = scheme_a::verify(
            &key(),
            params(&sig, ts, nonce),
            body.as_bytes(),
            now,
            &VerifyPolicy::default(),
        );
        assert_eq!(
            got,
            Ok(Matched {
                inner: InnerHash::Hmac,
                canonical: false
            })
        );
    }
}

// saas-v2 §2.6: V1 authToken, HMAC keyed with Key + timeStamp over the sorted parameters.
#[test]
fn saas_v2_2_6_v1_auth_token() {
    let params: Vec<(String, String)> = [
        ("testFlag", "1"),
        ("timeStamp", "20220413093539534"),
        ("orderId", "CS1906666666ABCDE"),
        ("activity", "newInstance"),
        ("customerId", "68cbc86abc"),
        ("businessId", "87b94795-0603-4e24-8ae5-69420d60e3c8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        v1_auth_token::canonical_params(&params),
        "activity=newInstance&businessId=87b94795-0603-4e24-8ae5-69420d60e3c8&customerId=68cbc86abc&orderId=CS1906666666ABCDE&testFlag=1&timeStamp=20220413093539534"
    );
    let token = "e7hpJ7jBUK/Q8tb+GVEskzV59EVGqBh0GG6jEc++s8U=";
    assert_eq!(
        v1_auth_token::sign(&key(), "20220413093539534", &params),
        token
    );
    let mut received = params.clone();
    received.push(("authToken".to_owned(), token.to_owned()));
    assert_eq!(v1_auth_token::verify(&key(), &received), Ok(()));
}

// saas-v2 §2.7: Body-Sign over the exact response bytes.
#[test]
fn saas_v2_2_7_body_sign() {
    let body = br#"{"resultCode":"000000","resultMsg":"success"}"#;
    let header =
        r#"sign_type="HMAC-SHA256", signature="NWjSlxQiRCQZdKCr0RCDj7iXKh2uQqUOo5GbL0/7gpM=""#;
    assert_eq!(
        body_sign::signature(&key(), body),
        "NWjSlxQiRCQZdKCr0RCDj7iXKh2uQqUOo5GbL0/7gpM="
    );
    assert_eq!(body_sign::header_value(&key(), body), header);
    assert_eq!(body_sign::verify(&key(), header, body), Ok(()));
    // The doc example's space after `signature=`.
    let doc_form =
        r#"sign_type="HMAC-SHA256", signature= "NWjSlxQiRCQZdKCr0RCDj7iXKh2uQqUOo5GbL0/7gpM=""#;
    assert_eq!(body_sign::verify(&key(), doc_form, body), Ok(()));
}

// saas-v2 §7.2: usage push body signature over an already sorted, compact body.
#[test]
fn saas_v2_7_2_usage_push() {
    let (ts, nonce) = ("1660036200000", "0123456789abcdef");
    let body = r#"{"usage_records":[{"begin_time":"20220809T080000Z","end_time":"20220809T090000Z","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","metering_sn":"a1b2c3","record_time":"20220809T091000Z","usage_value":"99"}]}"#;
    let expected = "jSPtsXenmPFYapD/X8qO6DjpQSxPL+Jn5SGpNfqXx0s=";
    assert_eq!(usage::sign(&key(), ts, nonce, body), expected);
    assert_eq!(usage::sorted_body(body).ok().as_deref(), Some(body));
    assert_eq!(usage::verify(&key(), expected, ts, nonce, body), Ok(()));
    // The same records sent unsorted still verify through the sorted form.
    let unsorted = r#"{"usage_records":[{"usage_value":"99","record_time":"20220809T091000Z","metering_sn":"a1b2c3","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","end_time":"20220809T090000Z","begin_time":"20220809T080000Z"}]}"#;
    assert_eq!(usage::verify(&key(), expected, ts, nonce, unsorted), Ok(()));
}

// license-kit §4.3: kit x-sign, tenantSync body (doc example, tenantId unmasked).
mod license_kit_4_3 {
    use super::*;

    const KIT_KEY: &str = "test-kit-key-0001";
    const TS: &str = "1680508066618";
    const NOW: i64 = 1_680_508_066_618;
    const NONCE: &str = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA";
    const RECEIVED: &str = r#"{"instanceId":"huaiweitest123456","orderId":"CS1906666666ABCDE","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","tenantCode":"huawei","name":"huaiweitest","domainName":"https://example.tenantaccount.com","flag":1,"testFlag":0,"timeStamp":"20220413093539534"}"#;
    const CANONICAL: &str = r#"{"domainName":"https://example.tenantaccount.com","flag":1,"instanceId":"huaiweitest123456","name":"huaiweitest","orderId":"CS1906666666ABCDE","tenantCode":"huawei","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","testFlag":0,"timeStamp":"20220413093539534"}"#;
    const DEMO_SIGN: &str = "255A537169F1896AD4A4CD2A5630DE8A847E41D5BEFECB13B9247346D0277D93";
    const INNER_SIGN: &str = "28EF1EBF42AB8D29CF8012D89CF5AAD75948CC9D3A8332CEC389DCC318052739";

    fn kit_key() -> AccessKey {
        AccessKey::new(KIT_KEY)
    }

    fn verify(sign: &str, nonce: &str, body: &str) -> Result<kit::KitVariant, VerifyError> {
        kit::verify(
            &kit_key(),
            Some(sign),
            Some(TS),
            Some(nonce),
            body.as_bytes(),
            NOW,
            &kit::KitPolicy::default(),
        )
    }

    #[test]
    fn tenant_sync_canonical_payload_and_demo_sign() {
        assert_eq!(
            kit::canonical_payload(RECEIVED.as_bytes()).ok().as_deref(),
            Some(CANONICAL)
        );
        assert_eq!(
            kit::sign_payload(&kit_key(), TS, NONCE, CANONICAL),
            DEMO_SIGN
        );
        let signed = kit::sign(
            &kit_key(),
            kit::KitVariant::Canonical,
            TS,
            NONCE,
            RECEIVED.as_bytes(),
        );
        assert_eq!(signed.ok().as_deref(), Some(DEMO_SIGN));
        assert_eq!(
            verify(DEMO_SIGN, NONCE, RECEIVED),
            Ok(kit::KitVariant::Canonical)
        );
        assert_eq!(
            verify(&DEMO_SIGN.to_ascii_lowercase(), NONCE, RECEIVED),
            Ok(kit::KitVariant::Canonical)
        );
    }

    #[test]
    fn tenant_sync_inner_hmac_variant() {
        let signed = kit::sign(
            &kit_key(),
            kit::KitVariant::InnerHmac,
            TS,
            NONCE,
            RECEIVED.as_bytes(),
        );
        assert_eq!(signed.ok().as_deref(), Some(INNER_SIGN));
        assert_eq!(
            verify(INNER_SIGN, NONCE, RECEIVED),
            Ok(kit::KitVariant::InnerHmac)
        );
        let only_demo = kit::KitPolicy {
            variants: vec![kit::KitVariant::Canonical],
            ..kit::KitPolicy::default()
        };
        let got = kit::verify(
            &kit_key(),
            Some(INNER_SIGN),
            Some(TS),
            Some(NONCE),
            RECEIVED.as_bytes(),
            NOW,
            &only_demo,
        );
        assert_eq!(got, Err(VerifyError::BadSignature));
    }

    #[test]
    fn auth_sync_nested_order_kept() {
        let nonce = "0123456789ABCDEF0123456789ABCDEF";
        let received = r#"{"instanceId":"huaiweitest123456","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","appId":"KSIDJF1234456","userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}],"currentSyncTime":"20220413093539534","flag":1,"testFlag":1,"timeStamp":"20220413093539534"}"#;
        let canonical = r#"{"appId":"KSIDJF1234456","currentSyncTime":"20220413093539534","flag":1,"instanceId":"huaiweitest123456","tenantId":"68cbc86abcdef0123456880d92f36422fa0e","testFlag":1,"timeStamp":"20220413093539534","userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}]}"#;
        let expected = "8FF54895CC39D683A491EC92146738050E223BA6FBC2AF514C03A542F40FED27";
        assert_eq!(
            kit::canonical_payload(received.as_bytes()).ok().as_deref(),
            Some(canonical)
        );
        let signed = kit::sign(
            &kit_key(),
            kit::KitVariant::Canonical,
            TS,
            nonce,
            received.as_bytes(),
        );
        assert_eq!(signed.ok().as_deref(), Some(expected));
        assert_eq!(
            verify(expected, nonce, received),
            Ok(kit::KitVariant::Canonical)
        );
    }
}

// license-kit §6.1: APIG SDK-HMAC-SHA256.
mod license_kit_6_1 {
    use super::*;

    const DATE: &str = "20240317T144237Z";
    const HOST: &str = "https://mkt.myhuaweicloud.com";

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sha256_hex(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// Signs and returns (canonical request, Authorization) using the signer's own header set.
    fn sign(
        ak: &str,
        sk: &str,
        method: &str,
        url: &str,
        extra: &[(String, String)],
        body: &[u8],
    ) -> (String, String) {
        let request = apig::Request {
            method,
            url,
            headers: extra,
            body,
        };
        let signed = apig::sign(ak, &AccessKey::new(sk), DATE, &request)
            .expect("the vector request is valid");
        let mut all = extra.to_vec();
        all.push(("Host".to_owned(), signed.host.clone()));
        all.push(("X-Sdk-Date".to_owned(), signed.sdk_date.clone()));
        (
            apig::canonical_request(&request, &all).expect("the vector request is valid"),
            signed.authorization,
        )
    }

    // The vector reproduced from the Ruby gem's spec.
    #[test]
    fn reproduced_gem_vector() {
        let url = format!("{HOST}/api/mkp-openapi-public/global/v1/license/activate");
        let extra = headers(&[("x-stage", "RELEASE"), ("Content-Type", "application/json")]);
        let (canonical, authorization) = sign("test", "123", "POST", &url, &extra, b"");
        let expected_canonical = "POST\n/api/mkp-openapi-public/global/v1/license/activate/\n\ncontent-type:application/json\nhost:mkt.myhuaweicloud.com\nx-sdk-date:20240317T144237Z\nx-stage:RELEASE\n\ncontent-type;host;x-sdk-date;x-stage\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(canonical, expected_canonical);
        assert_eq!(
            sha256_hex(&canonical),
            "9a33b07351104f6c775075faa7dc0db58ec18bc532feaa8fd0b8fcf7990b1a9e"
        );
        assert_eq!(
            apig::string_to_sign(DATE, &canonical),
            "SDK-HMAC-SHA256\n20240317T144237Z\n9a33b07351104f6c775075faa7dc0db58ec18bc532feaa8fd0b8fcf7990b1a9e"
        );
        assert_eq!(
            authorization,
            "SDK-HMAC-SHA256 Access=test, SignedHeaders=content-type;host;x-sdk-date;x-stage, Signature=77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d"
        );

        // The simulator side accepts the same request as received, at the signing time.
        let mut received = extra.clone();
        received.push(("Host".to_owned(), "mkt.myhuaweicloud.com".to_owned()));
        received.push(("X-Sdk-Date".to_owned(), DATE.to_owned()));
        received.push(("Authorization".to_owned(), authorization));
        let request = apig::Request {
            method: "POST",
            url: &url,
            headers: &received,
            body: b"",
        };
        let lookup = |ak: &str| (ak == "test").then(|| AccessKey::new("123"));
        let now = apig::parse_sdk_date(DATE).unwrap();
        assert_eq!(apig::verify(&request, &lookup, now), Ok("test".to_owned()));
    }

    // Computed vector 1: GET with a query; "…" in the spec is the same host and API prefix.
    #[test]
    fn computed_order_query() {
        let url = format!(
            "{HOST}/api/mkp-openapi-public/global/v1/order/query?orderLineId=MOCKPERIODYEARNEW-000001&orderId=MOCKPERIODYEARNEW"
        );
        let extra = headers(&[("Content-Type", "application/json")]);
        let (canonical, authorization) = sign(
            "TESTAK0000000000",
            "TESTSK0000000000000000000000000000000000",
            "GET",
            &url,
            &extra,
            b"",
        );
        assert_eq!(
            canonical.lines().nth(2),
            Some("orderId=MOCKPERIODYEARNEW&orderLineId=MOCKPERIODYEARNEW-000001")
        );
        assert!(authorization.contains(" SignedHeaders=content-type;host;x-sdk-date, "));
        assert!(authorization.ends_with(
            "Signature=709239d12ed219f74f057eb5dedf0084d5a04e0e85346c3bba55b13ca3e7efe1"
        ));
    }

    // Computed vector 2: POST with a JSON body.
    #[test]
    fn computed_license_activate() {
        let url = format!("{HOST}/api/mkp-openapi-public/global/v1/license/activate");
        let extra = headers(&[("Content-Type", "application/json")]);
        let body = br#"{"license":"TESTLICENSE0001"}"#;
        let (canonical, authorization) = sign(
            "TESTAK0000000000",
            "TESTSK0000000000000000000000000000000000",
            "POST",
            &url,
            &extra,
            body,
        );
        assert!(
            canonical
                .ends_with("\n419e71453de16a2c5eb88f268add3d340586364a16e87a1e20ece23f1abade80")
        );
        assert!(authorization.ends_with(
            "Signature=e802bdee6c67a962d12286bb1ecf03952c67dd52ead7f4dfc1fb0682b92bb2af"
        ));
    }
}

// Not a marketplace vector: the Standard Webhooks specification's published example, which our
// outbound hooks (koogate's own, no spec section in saas-v2/license-kit) must reproduce so that
// receivers can use that specification's libraries.
#[test]
fn standard_webhooks_reference_vector() {
    use koogate_protocol::signing::webhook::{self, WebhookSecret};
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let (id, ts, body) = (
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        br#"{"test": 2432232314}"#,
    );
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_eq!(webhook::sign(&secret, id, ts, body), expected);
    assert_eq!(
        webhook::verify(&secret, id, "1614265330", expected, body, ts),
        Ok(())
    );
}
