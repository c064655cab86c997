use std::collections::HashSet;
use std::time::Duration;

use koogate_protocol::AccessKey;
use koogate_protocol::messages::ProduceResponse;
use koogate_protocol::signing::body_sign;

use super::cases::{self, NEW_INSTANCE, QUERY_INSTANCE, UPGRADE_INSTANCE};
use super::checks::{Check, Expect, Shape};
use super::*;
use crate::produce_client::{Reply, SendError};

fn reply(status: u16, content_type: Option<&str>, body: &str, key: &AccessKey) -> Reply {
    let mut headers = vec![(
        "body-sign".to_owned(),
        body_sign::header_value(key, body.as_bytes()),
    )];
    if let Some(ct) = content_type {
        headers.push(("content-type".to_owned(), ct.to_owned()));
    }
    Reply {
        status,
        headers,
        body: body.as_bytes().to_vec(),
        latency: Duration::from_millis(5),
        parsed: ProduceResponse::from_json_bytes(body.as_bytes()).map_err(|e| e.to_string()),
    }
}

fn eval(
    check: Check,
    exchange: &Result<Reply, SendError>,
    shape: Shape,
) -> Option<Result<String, String>> {
    let key = AccessKey::new("k");
    let expect = Expect {
        key: &key,
        budget: Duration::from_secs(1),
        codes: &["000000"],
        shape,
    };
    check.evaluate(exchange, &expect)
}

const OK: &str = r#"{"resultCode":"000000","resultMsg":"success."}"#;

#[test]
fn catalogue_ids_are_unique_and_complete() {
    let all = catalogue();
    let ids: HashSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), all.len());
    assert_eq!(all.len(), 8 * 8 + 11 + 2 * cases::PROBES.len());
    assert_eq!(all[0].id, "newInstance.reachable");
    assert_eq!(
        all.last().map(|c| c.id.as_str()),
        Some("idempotency.releaseInstance")
    );
    for (id, ..) in cases::PROBES {
        assert!(
            ids.contains(format!("{id}.refused").as_str())
                && ids.contains(format!("{id}.no-effect").as_str())
        );
    }
    let optional = |id: &str| all.iter().find(|c| c.id == id).map(|c| !c.required);
    assert_eq!(optional(&Check::BodySign.id(UPGRADE_INSTANCE)), Some(true));
    assert_eq!(optional(&Check::BodySign.id(NEW_INSTANCE)), Some(false));
    assert_eq!(optional("malformed-json"), Some(true));
    assert!(all.iter().all(|c| c.rule.starts_with("saas-v2 §")));
}

#[test]
fn content_type_accepts_parameters_and_case_only() {
    let key = AccessKey::new("k");
    for (ct, ok) in [
        (Some("application/json"), true),
        (Some("application/json;charset=UTF-8"), true),
        (Some("Application/JSON ; charset=utf8"), true),
        (Some("text/plain"), false),
        (Some("application/jsonp"), false),
        (None, false),
    ] {
        let exchange = Ok(reply(200, ct, OK, &key));
        assert_eq!(
            eval(Check::ContentType, &exchange, Shape::Plain).map(|r| r.is_ok()),
            Some(ok),
            "{ct:?}"
        );
    }
}

#[test]
fn fields_follow_the_activity() {
    let key = AccessKey::new("k");
    let check =
        |body: &str, shape: Shape| eval(Check::Fields, &Ok(reply(200, None, body, &key)), shape);
    assert!(
        check(OK, Shape::NewInstance)
            .unwrap()
            .unwrap_err()
            .contains("instanceId")
    );
    let long = format!(
        r#"{{"resultCode":"000000","resultMsg":"ok","instanceId":"{}"}}"#,
        "x".repeat(65)
    );
    assert!(
        check(&long, Shape::NewInstance)
            .unwrap()
            .unwrap_err()
            .contains("65")
    );
    // frontEndUrl only when asked for.
    let with_id = r#"{"resultCode":"000004","resultMsg":"ok","instanceId":"a"}"#;
    assert!(check(with_id, Shape::NewInstance).unwrap().is_ok());
    assert!(
        check(with_id, Shape::NewInstanceWithFrontEndUrl)
            .unwrap()
            .unwrap_err()
            .contains("frontEndUrl")
    );
    let with_url = r#"{"resultCode":"000000","resultMsg":"ok","instanceId":"a","appInfo":{"frontEndUrl":"https://a.example/"}}"#;
    assert!(
        check(with_url, Shape::NewInstanceWithFrontEndUrl)
            .unwrap()
            .is_ok()
    );
    let query = r#"{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"a"}]}"#;
    assert!(
        check(query, Shape::QueryInstance("a".into()))
            .unwrap()
            .is_ok()
    );
    assert!(
        check(query, Shape::QueryInstance("b".into()))
            .unwrap()
            .is_err()
    );
    let usage = r#"{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"a","usageInfo":[{"usageValue":1}]}]}"#;
    assert!(
        check(usage, Shape::QueryInstance("a".into()))
            .unwrap()
            .is_err()
    );
    let url = format!(
        r#"{{"resultCode":"000000","resultMsg":"ok","info":[{{"instanceId":"a","appInfo":{{"frontEndUrl":"{}"}}}}]}}"#,
        "u".repeat(513)
    );
    assert!(
        check(&url, Shape::QueryInstance("a".into()))
            .unwrap()
            .unwrap_err()
            .contains("frontEndUrl")
    );
    let _ = QUERY_INSTANCE;
}

#[test]
fn body_needs_both_result_fields() {
    let key = AccessKey::new("k");
    let check =
        |body: &str| eval(Check::Body, &Ok(reply(200, None, body, &key)), Shape::Plain).unwrap();
    assert!(check(OK).is_ok());
    assert!(
        check(r#"{"resultCode":"000000"}"#)
            .unwrap_err()
            .contains("resultMsg")
    );
    assert!(check(r#"{"resultCode":0,"resultMsg":"x"}"#).is_err());
    assert!(check("success").unwrap_err().contains("not JSON"));
}

#[test]
fn no_answer_is_judged_only_by_the_checks_it_concerns() {
    let timeout: Result<Reply, SendError> = Err(SendError::Timeout {
        after: Duration::from_secs(1),
    });
    assert_eq!(eval(Check::Reachable, &timeout, Shape::Plain), None);
    assert!(
        eval(Check::Budget, &timeout, Shape::Plain)
            .unwrap()
            .unwrap_err()
            .contains("1000 ms")
    );
    assert_eq!(eval(Check::HttpStatus, &timeout, Shape::Plain), None);
    let refused: Result<Reply, SendError> = Err(SendError::Connect("refused".into()));
    assert!(
        eval(Check::Reachable, &refused, Shape::Plain)
            .unwrap()
            .unwrap_err()
            .contains("不可达")
    );
    assert_eq!(eval(Check::Budget, &refused, Shape::Plain), None);
    let mut slow = reply(200, None, OK, &AccessKey::new("k"));
    slow.latency = Duration::from_millis(1500);
    assert!(
        eval(Check::Budget, &Ok(slow), Shape::Plain)
            .unwrap()
            .is_err()
    );
}

#[test]
fn body_sign_uses_the_access_key_and_the_exact_body() {
    let key = AccessKey::new("k");
    assert!(
        eval(
            Check::BodySign,
            &Ok(reply(200, None, OK, &key)),
            Shape::Plain
        )
        .unwrap()
        .is_ok()
    );
    let other = reply(200, None, OK, &AccessKey::new("other"));
    assert!(
        eval(Check::BodySign, &Ok(other), Shape::Plain)
            .unwrap()
            .unwrap_err()
            .contains("does not match")
    );
}

#[test]
fn reports_count_warnings_apart_from_failures() {
    let all = catalogue();
    let outcome = |i: usize, result: Result<String, String>| cases::outcome(&all[i], result, 10);
    let optional = all.iter().position(|c| !c.required).unwrap();
    let mut report = Report {
        target: "http://t/<p>&".into(),
        budget_ms: 1000,
        started_at: "2026-01-01T00:00:00+00:00".into(),
        sandbox_url: None,
        sandbox_ak: None,
        outcomes: vec![
            outcome(0, Ok("fine".into())),
            outcome(optional, Err("meh".into())),
        ],
    };
    assert!(report.passed());
    assert_eq!(report.outcomes[1].verdict, Verdict::Warn);
    let xml = report.junit_xml();
    assert!(
        xml.contains("tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("http://t/&lt;p&gt;&amp;"));
    report.outcomes.push(outcome(1, Err("slow".into())));
    assert!(!report.passed());
    assert!(
        report
            .summary()
            .contains("FAIL: 1 passed, 1 failed, 1 warnings")
    );
    assert!(
        report
            .junit_xml()
            .contains("<failure message=\"saas-v2 §6: answer within")
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["counts"]["warn"], 1);
    assert_eq!(json["outcomes"][1]["verdict"], "warn");
}
