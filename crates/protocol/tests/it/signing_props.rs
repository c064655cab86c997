//! Property tests: every scheme round-trips, any one-byte change breaks verification, and no
//! verifier panics on arbitrary input.

use koogate_protocol::signing::scheme_a::{self, InnerHash, SignatureParams, VerifyPolicy};
use koogate_protocol::signing::webhook::{self, WebhookSecret};
use koogate_protocol::signing::{AccessKey, apig, body_sign, kit, usage, v1_auth_token};
use proptest::prelude::*;

const NOW_MS: i64 = 1_700_000_000_000;

fn ts_and_now() -> impl Strategy<Value = (String, i64)> {
    (-scheme_a::WINDOW_MS..=scheme_a::WINDOW_MS)
        .prop_map(|skew| ((NOW_MS - skew).to_string(), NOW_MS))
}

fn nonce() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{1,64}"
}

/// Replaces the byte at `index % len` with a different byte. Inside a multi-byte character the
/// whole character becomes `a`, which keeps the text UTF-8 and still differs from it.
fn tamper_str(text: &str, index: usize, delta: u8) -> String {
    let i = index % text.len();
    let (start, ch) = text
        .char_indices()
        .take_while(|(start, _)| *start <= i)
        .last()
        .expect("text is not empty");
    let replacement = if ch.is_ascii() {
        char::from((ch as u8 + 1 + delta % 126) % 128)
    } else {
        'a'
    };
    format!(
        "{}{replacement}{}",
        &text[..start],
        &text[start + ch.len_utf8()..]
    )
}

fn tamper_bytes(bytes: &[u8], index: usize, delta: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = index % out.len();
    out[i] ^= delta.max(1);
    out
}

/// Mixes the case of hex letters according to `mask`.
fn mix_case(hex: &str, mask: u64) -> String {
    hex.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

fn raw_only() -> VerifyPolicy {
    // Re-serialising would legitimately accept e.g. added whitespace in a JSON body.
    VerifyPolicy {
        inner: vec![InnerHash::Hmac, InnerHash::Sha256],
        try_canonical: false,
        ..VerifyPolicy::default()
    }
}

fn scheme_a_verify(
    key: &AccessKey,
    sig: &str,
    ts: &str,
    nonce: &str,
    body: &[u8],
    now: i64,
    policy: &VerifyPolicy,
) -> bool {
    let params = SignatureParams {
        signature: Some(sig),
        timestamp: Some(ts),
        nonce: Some(nonce),
    };
    scheme_a::verify(key, params, body, now, policy).is_ok()
}

fn json_object() -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<i32>().prop_map(serde_json::Value::from),
        "[a-z张三/ ]{0,8}".prop_map(serde_json::Value::from),
    ];
    prop::collection::vec(("[a-zA-Z_]{1,6}", leaf), 1..8)
        .prop_map(|entries| entries.into_iter().collect())
}

proptest! {
    #[test]
    fn scheme_a_round_trips(key in ".{0,40}", body in prop::collection::vec(any::<u8>(), 0..300),
                            n in nonce(), (ts, now) in ts_and_now(), sha in any::<bool>(), mask in any::<u64>()) {
        let key = AccessKey::new(key);
        let inner = if sha { InnerHash::Sha256 } else { InnerHash::Hmac };
        let sig = scheme_a::sign_with(&key, inner, &ts, &n, &body);
        prop_assert!(sig.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        prop_assert!(scheme_a_verify(&key, &mix_case(&sig, mask), &ts, &n, &body, now, &raw_only()));
    }

    #[test]
    fn scheme_a_rejects_one_byte_changes(body in prop::collection::vec(any::<u8>(), 1..200), n in nonce(),
                                         (ts, now) in ts_and_now(), index in any::<usize>(), delta in any::<u8>()) {
        let key = AccessKey::new("k");
        let sig = scheme_a::sign(&key, &ts, &n, &body);
        let policy = raw_only();
        prop_assert!(!scheme_a_verify(&key, &sig, &ts, &n, &tamper_bytes(&body, index, delta), now, &policy));
        prop_assert!(!scheme_a_verify(&key, &sig, &tamper_str(&ts, index, delta), &n, &body, now, &policy));
        prop_assert!(!scheme_a_verify(&key, &sig, &ts, &tamper_str(&n, index, delta), &body, now, &policy));
    }

    #[test]
    fn scheme_a_accepts_canonical_reserialisation(map in json_object(), n in nonce(), (ts, now) in ts_and_now()) {
        let key = AccessKey::new("k");
        let pretty = serde_json::to_vec_pretty(&map).unwrap();
        let canonical = scheme_a::canonical_body(&pretty).unwrap();
        let sig = scheme_a::sign(&key, &ts, &n, canonical.as_bytes());
        prop_assert!(scheme_a_verify(&key, &sig, &ts, &n, &pretty, now, &VerifyPolicy::default()));
    }

    #[test]
    fn kit_round_trips(map in json_object(), n in nonce(), (ts, now) in ts_and_now(), mask in any::<u64>(), which in 0usize..3) {
        let key = AccessKey::new("kit");
        let variant = [kit::KitVariant::Canonical, kit::KitVariant::Raw, kit::KitVariant::InnerHmac][which];
        let body = serde_json::to_vec(&map).unwrap();
        let sig = mix_case(&kit::sign(&key, variant, &ts, &n, &body).unwrap(), mask);
        let policy = kit::KitPolicy { variants: vec![variant], ..kit::KitPolicy::default() };
        prop_assert_eq!(kit::verify(&key, Some(&sig), Some(&ts), Some(&n), &body, now, &policy), Ok(variant));
    }

    #[test]
    fn kit_rejects_one_byte_changes(body in prop::collection::vec(any::<u8>(), 1..200), n in nonce(),
                                    (ts, now) in ts_and_now(), index in any::<usize>(), delta in any::<u8>()) {
        let key = AccessKey::new("kit");
        let sig = kit::sign(&key, kit::KitVariant::Raw, &ts, &n, &body).unwrap();
        let raw = kit::KitPolicy { variants: vec![kit::KitVariant::Raw], ..kit::KitPolicy::default() };
        let check = |ts: &str, n: &str, body: &[u8]| kit::verify(&key, Some(&sig), Some(ts), Some(n), body, now, &raw).is_ok();
        prop_assert!(check(&ts, &n, &body));
        prop_assert!(!check(&ts, &n, &tamper_bytes(&body, index, delta)));
        prop_assert!(!check(&tamper_str(&ts, index, delta), &n, &body));
        prop_assert!(!check(&ts, &tamper_str(&n, index, delta), &body));
    }

    #[test]
    fn kit_canonical_rejects_changed_values(map in json_object(), n in nonce(), (ts, now) in ts_and_now(), index in any::<usize>()) {
        let key = AccessKey::new("kit");
        let body = serde_json::to_vec(&map).unwrap();
        let sig = kit::sign(&key, kit::KitVariant::Canonical, &ts, &n, &body).unwrap();
        let mut changed = map.clone();
        let name = changed.keys().nth(index % changed.len()).unwrap().clone();
        changed.insert(name, serde_json::Value::from("changed-value-that-no-generator-makes"));
        let changed = serde_json::to_vec(&changed).unwrap();
        prop_assert!(kit::verify(&key, Some(&sig), Some(&ts), Some(&n), &changed, now, &kit::KitPolicy::default()).is_err());
    }

    #[test]
    fn usage_round_trips_and_rejects_changes(key in ".{0,40}", body in ".{1,200}", ts in "[0-9]{1,20}", n in nonce(),
                                             index in any::<usize>(), delta in any::<u8>()) {
        let key = AccessKey::new(key);
        let sig = usage::sign(&key, &ts, &n, &body);
        prop_assert_eq!(usage::verify(&key, &sig, &ts, &n, &body), Ok(()));
        prop_assert!(usage::verify(&key, &sig, &ts, &n, &tamper_str(&body, index, delta)).is_err());
        prop_assert!(usage::verify(&key, &sig, &tamper_str(&ts, index, delta), &n, &body).is_err());
        prop_assert!(usage::verify(&key, &sig, &ts, &tamper_str(&n, index, delta), &body).is_err());
    }

    #[test]
    fn usage_accepts_any_key_order_of_a_sorted_signature(map in json_object(), n in nonce()) {
        let key = AccessKey::new("k");
        let body = serde_json::to_string(&map).unwrap();
        let sig = usage::sign(&key, "1", &n, &usage::sorted_body(&body).unwrap());
        prop_assert_eq!(usage::verify(&key, &sig, "1", &n, &body), Ok(()));
    }

    #[test]
    fn body_sign_round_trips_and_rejects_changes(key in ".{0,40}", body in prop::collection::vec(any::<u8>(), 1..300),
                                                 index in any::<usize>(), delta in any::<u8>(), pad in "[ \t]{0,3}") {
        let key = AccessKey::new(key);
        let header = body_sign::header_value(&key, &body);
        prop_assert_eq!(body_sign::verify(&key, &header, &body), Ok(()));
        let loose = header.replace(", ", &format!("{pad},{pad}")).replace("signature=", &format!("signature={pad}"));
        prop_assert_eq!(body_sign::verify(&key, &format!("{pad}{loose}{pad}"), &body), Ok(()));
        prop_assert!(body_sign::verify(&key, &header, &tamper_bytes(&body, index, delta)).is_err());
        prop_assert!(body_sign::verify(&key, &header.replace("HMAC-SHA256", "HMAC-SHA1"), &body).is_err());
    }

    #[test]
    fn webhook_round_trips_and_rejects_changes(secret in ".{0,40}", id in "[a-z0-9_]{1,30}", body in prop::collection::vec(any::<u8>(), 1..300),
                                               skew in -webhook::TOLERANCE_SECS..=webhook::TOLERANCE_SECS,
                                               index in any::<usize>(), delta in any::<u8>(), other in "v[02-9],[A-Za-z0-9+/=]{4,20}") {
        let secret = WebhookSecret::parse(&secret);
        let now = 1_700_000_000;
        let ts = now - skew;
        let sig = webhook::sign(&secret, &id, ts, &body);
        let ts_text = ts.to_string();
        let list = format!("{other} v1,AAAA {sig}");
        prop_assert_eq!(webhook::verify(&secret, &id, &ts_text, &list, &body, now), Ok(()));
        prop_assert!(webhook::verify(&secret, &id, &ts_text, &sig, &tamper_bytes(&body, index, delta), now).is_err());
        prop_assert!(webhook::verify(&secret, &tamper_str(&id, index, delta), &ts_text, &sig, &body, now).is_err());
        prop_assert!(webhook::verify(&secret, &id, &tamper_str(&ts_text, index, delta), &sig, &body, now).is_err());
    }

    #[test]
    fn v1_round_trips_and_rejects_changes(key in ".{0,40}", values in prop::collection::vec("[a-zA-Z0-9 /+=]{1,20}", 1..6),
                                          ts in "[0-9]{17}", index in any::<usize>(), delta in any::<u8>()) {
        let key = AccessKey::new(key);
        let mut params: Vec<(String, String)> = values.iter().enumerate().map(|(i, v)| (format!("p{i}"), v.clone())).collect();
        params.push(("timeStamp".to_owned(), ts.clone()));
        let token = v1_auth_token::sign(&key, &ts, &params);
        let mut received = params.clone();
        received.insert(0, ("authToken".to_owned(), token.clone()));
        prop_assert_eq!(v1_auth_token::verify(&key, &received), Ok(()));
        let i = 1 + index % params.len();
        received[i].1 = tamper_str(&received[i].1, index, delta);
        prop_assert!(v1_auth_token::verify(&key, &received).is_err());
    }

    #[test]
    fn apig_round_trips(path in "(/[a-zA-Z0-9%._~ -]{0,8}){0,4}", query in prop::collection::vec(("[a-zA-Z0-9]{1,5}", "[a-zA-Z0-9%+ ]{0,5}"), 0..4),
                        extra in prop::collection::vec(("x-[a-z0-9-]{1,8}", " ?[ -~]{0,12}"), 0..4),
                        port in prop::option::of(1u16..), body in prop::collection::vec(any::<u8>(), 0..100), skew in -900i64..=900) {
        let authority = port.map_or("api.example".to_owned(), |p| format!("api.example:{p}"));
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url = format!("https://{authority}{path}?{}", query.join("&"));
        let extra: Vec<(String, String)> = extra;
        let request = apig::Request { method: "POST", url: &url, headers: &extra, body: &body };
        let date = "20231114T221320Z";
        let signed = apig::sign("AK", &AccessKey::new("SK"), date, &request).unwrap();
        let mut received = extra.clone();
        received.extend([("Host".to_owned(), signed.host.clone()), ("X-Sdk-Date".to_owned(), signed.sdk_date.clone()),
                         ("Authorization".to_owned(), signed.authorization.clone())]);
        let lookup = |ak: &str| (ak == "AK").then(|| AccessKey::new("SK"));
        let now = apig::parse_sdk_date(date).unwrap() + skew;
        let ok = apig::Request { headers: &received, ..request.clone() };
        prop_assert_eq!(apig::verify(&ok, &lookup, now), Ok("AK".to_owned()));
        let tampered_body = [body.as_slice(), b"!"].concat();
        let bad = apig::Request { headers: &received, body: &tampered_body, ..request.clone() };
        prop_assert!(apig::verify(&bad, &lookup, now).is_err());
    }

    #[test]
    fn verifiers_never_panic(a in ".{0,80}", b in ".{0,40}", c in ".{0,40}", bytes in prop::collection::vec(any::<u8>(), 0..200),
                             now in any::<i64>(), pairs in prop::collection::vec((".{0,12}", ".{0,40}"), 0..6)) {
        let key = AccessKey::new(c.clone());
        let params = SignatureParams { signature: Some(&a), timestamp: Some(&b), nonce: Some(&c) };
        let _ = scheme_a::verify(&key, params, &bytes, now, &VerifyPolicy::default());
        let _ = kit::verify(&key, Some(&a), Some(&b), Some(&c), &bytes, now, &kit::KitPolicy::default());
        let _ = kit::canonical_payload(&bytes);
        let _ = usage::verify(&key, &a, &b, &c, &String::from_utf8_lossy(&bytes));
        let _ = body_sign::verify(&key, &a, &bytes);
        let _ = webhook::verify(&WebhookSecret::parse(&c), &a, &b, &c, &bytes, now);
        let _ = v1_auth_token::verify(&key, &pairs);
        let _ = apig::parse_authorization(&a);
        let _ = apig::parse_sdk_date(&b);
        let request = apig::Request { method: &b, url: &a, headers: &pairs, body: &bytes };
        let _ = apig::sign(&b, &key, &c, &request);
        let _ = apig::verify(&request, &|_| Some(AccessKey::new("SK")), now);
    }

    #[test]
    fn apig_verify_survives_hostile_authorization(auth in "SDK-HMAC-SHA256 [A-Za-z=,; ]{0,60}", url in "https?://[a-z:\\[\\]@0-9]{0,20}/[ -~]{0,30}",
                                                  date in "[0-9T Z]{14,18}", now in any::<i64>()) {
        let headers = vec![("Authorization".to_owned(), auth), ("X-Sdk-Date".to_owned(), date)];
        let request = apig::Request { method: "GET", url: &url, headers: &headers, body: b"" };
        let _ = apig::verify(&request, &|_| Some(AccessKey::new("SK")), now);
    }
}
