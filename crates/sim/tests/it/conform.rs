//! `koogate conform` against the real gateway (everything required passes) and against small
//! production interfaces that each break exactly one rule (the run fails and names that rule).

// Helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod harness;
mod reference;

use std::time::Duration;

use harness::{assert_well_nested, config, koogate, koogate_with, sandbox, serve};
use koogate_sim::conform::{self, Report, Verdict, rule};
use reference::Flaw;

fn failed(report: &Report) -> Vec<String> {
    report.failures().map(|o| o.case.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn koogate_passes_every_required_case() {
    let sandbox = sandbox().await;
    let (url, _db) = koogate(&sandbox).await;
    let report = conform::run(&config(&url, Duration::from_secs(20)), Some(&sandbox))
        .await
        .unwrap();
    assert!(report.passed(), "{}", report.summary());
    // Every catalogued case really ran: nothing skipped, nothing outside the catalogue.
    assert_eq!(
        report.outcomes.len(),
        conform::catalogue().len(),
        "{}",
        report.summary()
    );
    let skipped: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Skip)
        .collect();
    assert!(skipped.is_empty(), "{}", report.summary());
    // koogate fetches the order from the sandbox with the sandbox's credentials.
    assert_eq!(
        report.outcome("newInstance.order-query").unwrap().verdict,
        Verdict::Pass
    );
    // The seller center re-runs saved debug cases twice a day against the same MOCK order:
    // a second run, on an instance released by the first, must pass too.
    let again = conform::run(&config(&url, Duration::from_secs(20)), Some(&sandbox))
        .await
        .unwrap();
    assert!(again.passed(), "{}", again.summary());
}

/// `--require-front-end-url`: koogate's default (`when-known`, built-in provisioner) passes;
/// `frontend_url_in_new_instance = "never"` fails exactly the newInstance fields check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_end_url_is_checked_when_asked() {
    let sandbox = sandbox().await;
    let mut strict = config("", Duration::from_secs(20));
    strict.require_front_end_url = true;

    let (url, _db) = koogate(&sandbox).await;
    strict.url = url;
    let report = conform::run(&strict, Some(&sandbox)).await.unwrap();
    assert!(report.passed(), "{}", report.summary());

    let (url, _db) = koogate_with(&sandbox, |c| {
        c.frontend_url_in_new_instance = koogate_gateway::config::FrontEndUrlInNewInstance::Never;
    })
    .await;
    strict.url = url.clone();
    let report = conform::run(&strict, Some(&sandbox)).await.unwrap();
    assert!(!report.passed());
    assert_eq!(
        failed(&report),
        ["newInstance.fields"],
        "{}",
        report.summary()
    );
    let detail = &report.outcome("newInstance.fields").unwrap().detail;
    assert!(detail.contains("frontEndUrl"), "{detail}");
    // Not asked for, the same answer passes.
    let report = conform::run(&config(&url, Duration::from_secs(20)), Some(&sandbox))
        .await
        .unwrap();
    assert!(report.passed(), "{}", report.summary());
}

#[tokio::test]
async fn the_reference_target_passes_and_reports_are_written() {
    let url = serve(reference::router(Flaw::None)).await;
    let report = conform::run(&config(&url, Duration::from_secs(5)), None)
        .await
        .unwrap();
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(
        report.outcome("newInstance.order-query").unwrap().verdict,
        Verdict::Skip
    );

    let dir = std::env::temp_dir().join(format!("conform-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (junit, json) = (dir.join("conform.xml"), dir.join("conform.json"));
    std::fs::write(&junit, report.junit_xml()).unwrap();
    std::fs::write(&json, report.to_json()).unwrap();

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert!(xml.trim_end().ends_with("</testsuites>"));
    let cases = report.outcomes.len();
    assert_eq!(xml.matches("<testcase ").count(), cases);
    assert_eq!(xml.matches("</testcase>").count(), cases);
    assert_eq!(xml.matches("<failure ").count(), 0);
    assert!(xml.contains(&format!("tests=\"{cases}\" failures=\"0\"")));
    assert_well_nested(&xml);

    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(value["passed"], true);
    assert_eq!(value["outcomes"].as_array().unwrap().len(), cases);
    assert_eq!(value["outcomes"][0]["id"], "newInstance.reachable");
    assert_eq!(value["outcomes"][0]["rule"], rule::REACHABLE);
    assert_eq!(value["outcomes"][0]["verdict"], "pass");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs conform against a reference target with one flaw; asserts the run fails, that `case`
/// is among the failures with `rule`, and returns the report.
async fn broken(flaw: Flaw, case: &str, rule: &str) -> Report {
    let url = serve(reference::router(flaw)).await;
    let report = conform::run(&config(&url, Duration::from_secs(1)), None)
        .await
        .unwrap();
    assert!(!report.passed(), "{flaw:?} passed:\n{}", report.summary());
    let outcome = report.outcome(case).unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::Fail,
        "{flaw:?}:\n{}",
        report.summary()
    );
    assert_eq!(outcome.case.rule, rule);
    assert!(report.summary().contains(rule));
    assert!(report.junit_xml().contains(&format!("name=\"{case}\"")));
    report
}

#[tokio::test]
async fn a_new_instance_id_on_a_repeat_fails_idempotency() {
    let report = broken(
        Flaw::NewIdEachTime,
        "idempotency.newInstance",
        rule::SAME_INSTANCE,
    )
    .await;
    assert_eq!(failed(&report), ["idempotency.newInstance"]);
}

#[tokio::test]
async fn a_missing_body_sign_fails_every_body_sign_case() {
    let report = broken(Flaw::NoBodySign, "newInstance.body-sign", rule::BODY_SIGN).await;
    assert!(
        failed(&report).iter().all(|id| id.ends_with(".body-sign")),
        "{}",
        report.summary()
    );
    assert!(
        report
            .outcome("releaseInstance.body-sign")
            .unwrap()
            .detail
            .contains("缺少Body-Sign")
    );
}

#[tokio::test]
async fn a_miscomputed_body_sign_is_caught() {
    let report = broken(
        Flaw::WrongBodySign,
        "queryInstance.body-sign",
        rule::BODY_SIGN,
    )
    .await;
    assert!(
        failed(&report).iter().all(|id| id.ends_with(".body-sign")),
        "{}",
        report.summary()
    );
    assert!(
        report
            .outcome("queryInstance.body-sign")
            .unwrap()
            .detail
            .contains("does not match")
    );
}

#[tokio::test]
async fn accepting_a_bad_signature_is_caught_and_its_effect_seen() {
    let report = broken(
        Flaw::AcceptsBadSignature,
        "security.bad-signature.refused",
        rule::BAD_SIGNATURE,
    )
    .await;
    let effect = report.outcome("security.bad-signature.no-effect").unwrap();
    assert_eq!(effect.verdict, Verdict::Fail, "{}", report.summary());
    assert_eq!(effect.case.rule, rule::NO_EFFECT);
}

#[tokio::test]
async fn accepting_a_stale_timestamp_is_caught() {
    let report = broken(
        Flaw::AcceptsStaleTimestamp,
        "security.stale-timestamp.refused",
        rule::STALE,
    )
    .await;
    assert_eq!(
        report
            .outcome("security.future-timestamp.refused")
            .unwrap()
            .verdict,
        Verdict::Fail
    );
    assert_eq!(
        report
            .outcome("security.bad-signature.refused")
            .unwrap()
            .verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn accepting_a_replayed_nonce_is_caught() {
    let report = broken(
        Flaw::AcceptsReplayedNonce,
        "security.replayed-nonce.refused",
        rule::REPLAY,
    )
    .await;
    assert_eq!(
        report
            .outcome("security.stale-timestamp.refused")
            .unwrap()
            .verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn http_500_fails_the_status_rule() {
    let report = broken(Flaw::Http500, "newInstance.http-status", rule::HTTP_200).await;
    assert!(
        report
            .outcome("newInstance.http-status")
            .unwrap()
            .detail
            .contains("httpCode=500")
    );
    assert_eq!(
        report.outcome("newInstance.content-type").unwrap().verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn text_plain_fails_the_content_type_rule() {
    let report = broken(
        Flaw::TextPlain,
        "releaseInstance.content-type",
        rule::CONTENT_TYPE,
    )
    .await;
    assert!(
        failed(&report)
            .iter()
            .all(|id| id.ends_with(".content-type")),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn answering_after_the_budget_fails_the_budget_rule() {
    let report = broken(
        Flaw::Slow(Duration::from_millis(1500)),
        "newInstance.budget",
        rule::BUDGET,
    )
    .await;
    let outcome = report.outcome("newInstance.budget").unwrap();
    assert!(outcome.detail.contains("1000 ms"), "{}", outcome.detail);
    // With no answer nothing else can be judged: skipped, not failed for a wrong reason.
    assert_eq!(
        report.outcome("newInstance.http-status").unwrap().verdict,
        Verdict::Skip
    );
}

#[tokio::test]
async fn an_unreachable_target_fails_reachability() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/produce");
    let report = conform::run(&config(&url, Duration::from_secs(1)), None)
        .await
        .unwrap();
    let outcome = report.outcome("newInstance.reachable").unwrap();
    assert_eq!(outcome.verdict, Verdict::Fail);
    assert!(outcome.detail.contains("不可达"), "{}", outcome.detail);
}
