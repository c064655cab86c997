use koogate_protocol::messages::ProduceResponse;

use super::*;

fn reply(body: &str) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.as_bytes().to_vec(),
        latency: Duration::from_millis(5),
        parsed: ProduceResponse::from_json_bytes(body.as_bytes()).map_err(|e| e.to_string()),
    }
}

#[test]
fn every_spelling_parses() {
    let faults = Faults::parse([
        "duplicate",
        "concurrent=20",
        "reorder",
        "timeout=250",
        "skew=-61",
        "replay",
        "tamper-body",
    ])
    .unwrap();
    assert!(faults.duplicate && faults.reorder && faults.replay_nonce);
    assert_eq!(faults.concurrent, Some(20));
    assert_eq!(faults.client_timeout, Some(Duration::from_millis(250)));
    assert_eq!(faults.clock_skew, Some(chrono::Duration::seconds(-61)));
    assert_eq!(faults.tamper, Some(Tamper::Body));
    assert_eq!(faults.describe().len(), 7);
    assert!(Faults::parse(["tamper-signature"]).unwrap().tamper == Some(Tamper::Signature));
    assert!(Faults::default().is_empty());
}

#[test]
fn bad_spellings_say_why() {
    for bad in [
        "dup",
        "concurrent",
        "concurrent=1",
        "concurrent=x",
        "timeout=0",
        "skew=0",
        "duplicate=2",
        "never",
        "never=",
        "never=release Instance",
    ] {
        let err = Faults::parse([bad]).unwrap_err();
        assert_eq!(err.spec, bad);
    }
    let both = Faults::parse(["tamper-body", "tamper-signature"]).unwrap_err();
    assert!(both.problem.contains("exclude"), "{both}");
}

#[test]
fn never_names_the_activities_left_unsent() {
    let faults = Faults::parse([
        "never=releaseInstance",
        "never=updateInstanceStatus",
        "never=releaseInstance",
    ])
    .unwrap();
    assert_eq!(
        faults.never_send,
        ["releaseInstance", "updateInstanceStatus"]
    );
    assert!(faults.never_sends("releaseInstance") && !faults.never_sends("newInstance"));
    assert_eq!(faults.describe().len(), 2);
    assert!(!faults.is_empty());
}

#[test]
fn skew_inside_the_window_signs_calls_outside_it_probes() {
    let inside = Faults::parse(["skew=60"]).unwrap();
    assert_eq!(inside.signing_offset_ms(), 60_000);
    assert_eq!(inside.refused_skew(), None);
    let outside = Faults::parse(["skew=61"]).unwrap();
    assert_eq!(outside.signing_offset_ms(), 0);
    assert_eq!(outside.refused_skew(), Some(chrono::Duration::seconds(61)));
}

#[test]
fn tampering_keeps_json_valid_and_signatures_well_formed() {
    let body = br#"{"activity":"newInstance","orderLineId":"CS1-000001"}"#;
    let tampered = tamper_body(body);
    assert_ne!(tampered, body);
    assert_eq!(tampered.len(), body.len());
    assert!(serde_json::from_slice::<serde_json::Value>(&tampered).is_ok());
    assert!(String::from_utf8(tampered).unwrap().contains("CS1-000000"));
    assert_eq!(tamper_signature("AB10"), "AB11");
    assert_eq!(tamper_signature("AB1F"), "AB10");
}

#[test]
fn a_refusal_passes_only_with_000001() {
    let refused = reply(r#"{"resultCode":"000001","resultMsg":"authentication failed"}"#);
    let checks = refusal_checks(Ok(&refused), Duration::from_secs(5));
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(checks.last().unwrap().name, "refused with 000001");
    let accepted = reply(r#"{"resultCode":"000000","resultMsg":"success."}"#);
    let checks = refusal_checks(Ok(&accepted), Duration::from_secs(5));
    assert!(!checks.last().unwrap().ok);
}

#[test]
fn alike_means_same_code_and_instance() {
    let a = reply(r#"{"instanceId":"i-1","resultCode":"000000","resultMsg":"ok"}"#);
    let same = reply(r#"{"instanceId":"i-1","resultCode":"000000","resultMsg":"ok"}"#);
    let reworded = reply(r#"{"instanceId":"i-1","resultCode":"000000","resultMsg":"again"}"#);
    let other = reply(r#"{"instanceId":"i-2","resultCode":"000000","resultMsg":"ok"}"#);
    let identical = alike_check("x", &a, Ok(&same));
    assert!(identical.ok && identical.detail.is_none());
    let check = alike_check("x", &a, Ok(&reworded));
    assert!(check.ok && check.detail.is_some());
    let check = alike_check("x", &a, Ok(&other));
    assert!(!check.ok);
    assert!(check.detail.unwrap().contains("i-2"));
    let timeout = SendError::Timeout {
        after: Duration::from_millis(1),
    };
    assert!(!alike_check("x", &a, Err(&timeout)).ok);
}
