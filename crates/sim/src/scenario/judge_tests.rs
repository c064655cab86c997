use std::time::Duration;

use koogate_protocol::messages::ProduceResponse;

use super::*;

const T: Duration = Duration::from_secs(5);

fn reply(status: u16, content_type: &str, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".to_owned(), content_type.to_owned())],
        body: body.as_bytes().to_vec(),
        latency: Duration::from_millis(20),
        parsed: ProduceResponse::from_json_bytes(body.as_bytes()).map_err(|e| e.to_string()),
    }
}

fn accept(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn success_with_instance_id() {
    let r = reply(
        200,
        "application/json;charset=UTF-8",
        r#"{"resultCode":"000000","resultMsg":"success.","instanceId":"i-1"}"#,
    );
    let j = judge("newInstance", Ok(&r), &accept(&["000000", "000004"]), T);
    assert!(j.ok, "{:?}", j.error());
    assert_eq!(j.instance_id.as_deref(), Some("i-1"));
    assert!(!j.in_progress && !j.refused);
}

#[test]
fn new_instance_without_instance_id_fails() {
    let r = reply(200, "application/json", r#"{"resultCode":"000000"}"#);
    let j = judge("newInstance", Ok(&r), &accept(&["000000"]), T);
    assert!(!j.ok);
    assert!(j.error().unwrap().contains("instanceId"));
}

#[test]
fn in_progress_is_noted() {
    let r = reply(
        200,
        "application/json",
        r#"{"resultCode":"000004","instanceId":"i-2"}"#,
    );
    let j = judge("newInstance", Ok(&r), &accept(&["000000", "000004"]), T);
    assert!(j.ok && j.in_progress);
}

#[test]
fn transport_failures_and_timeouts() {
    let down = SendError::Connect("refused".into());
    let j = judge("newInstance", Err(&down), &accept(&["000000"]), T);
    assert!(!j.ok && !j.refused);
    assert!(j.error().unwrap().starts_with("reachable"));
    let slow = SendError::Timeout { after: T };
    let j = judge("newInstance", Err(&slow), &accept(&["000000"]), T);
    assert!(j.error().unwrap().starts_with("answered in time"));
    let mut late = reply(200, "application/json", r#"{"resultCode":"000000"}"#);
    late.latency = Duration::from_millis(5001);
    assert!(!judge("releaseInstance", Ok(&late), &accept(&["000000"]), T).ok);
}

#[test]
fn status_content_type_and_body_are_checked_in_order() {
    let r = reply(503, "text/plain", "down");
    let j = judge("releaseInstance", Ok(&r), &accept(&["000000"]), T);
    assert_eq!(j.error().unwrap(), "HTTP 200: 接口响应httpCode=503");
    assert_eq!(j.checks.len(), 3);
    let r = reply(200, "text/html", r#"{"resultCode":"000000"}"#);
    assert!(
        judge("releaseInstance", Ok(&r), &accept(&["000000"]), T)
            .error()
            .unwrap()
            .starts_with("Content-Type")
    );
    let r = reply(200, "application/json", "not json");
    assert!(
        judge("releaseInstance", Ok(&r), &accept(&["000000"]), T)
            .error()
            .unwrap()
            .starts_with("body has resultCode")
    );
}

#[test]
fn other_codes_are_refusals() {
    let r = reply(
        200,
        "application/json",
        r#"{"resultCode":"000005","resultMsg":"boom"}"#,
    );
    let j = judge("refreshInstance", Ok(&r), &accept(&["000000"]), T);
    assert!(!j.ok && j.refused);
    assert_eq!(j.result_code.as_deref(), Some("000005"));
    assert!(j.error().unwrap().contains("000005 boom"));
}

#[test]
fn app_info_is_found_per_instance() {
    let body = concat!(
        r#"{"resultCode":"000000","info":[{"instanceId":"i-1","#,
        r#""appInfo":{"frontEndUrl":"https://x"}}]}"#
    );
    let r = reply(200, "application/json", body);
    assert!(has_app_info(&r, "i-1"));
    assert!(!has_app_info(&r, "i-2"));
    let bare = reply(
        200,
        "application/json",
        r#"{"resultCode":"000000","info":[{"instanceId":"i-1"}]}"#,
    );
    assert!(!has_app_info(&bare, "i-1"));
}
