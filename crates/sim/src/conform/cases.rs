//! The catalogue: every case `koogate conform` reports, with the spec rule it checks, and the
//! seller-center debugger's per-answer checks (spec saas-v2 §6) as pure functions of one exchange.
//!
//! The flows that produce the exchanges live in [`super::steps`]; one call there feeds all eight
//! debugger checks of its activity, so a case here is "one rule on one exchange".

use serde::Serialize;

use super::Outcome;
use super::checks::Check;

/// The spec rules, quoted in every report line so a failure says what to read.
pub mod rule {
    pub const REACHABLE: &str = "saas-v2 §6: production address reachable";
    pub const BUDGET: &str = "saas-v2 §6: answer within the debugger's 20 s timeout";
    pub const HTTP_200: &str = "saas-v2 §1/§6: HTTP status 200";
    pub const CONTENT_TYPE: &str = "saas-v2 §1/§6: Content-Type application/json";
    pub const BODY: &str = "saas-v2 §1/§6: body is JSON with resultCode and resultMsg";
    pub const RESULT_CODE: &str = "saas-v2 §1/§6: resultCode 000000";
    pub const NEW_RESULT_CODE: &str = "saas-v2 §3.1: newInstance answers 000000 or 000004";
    pub const FIELDS: &str =
        "saas-v2 §3/§6: required response fields present, lengths within limits";
    pub const BODY_SIGN: &str = "saas-v2 §2.7/§6: Body-Sign present and valid";
    pub const PROVISIONED: &str = "saas-v2 §3.1: after 000004, queryInstance soon shows appInfo";
    pub const ORDER_QUERY: &str = "saas-v2 §3.1: newInstance fetches the order through 查询订单";
    pub const APP_INFO: &str = "saas-v2 §3.2: queryInstance returns appInfo with frontEndUrl";
    pub const SAME_INSTANCE: &str =
        "saas-v2 §3.1: same order, different businessId → same instanceId and resultCode";
    pub const REPEAT_FREEZE: &str = "saas-v2 §6: debug interfaces are idempotent (FREEZE twice)";
    pub const REPEAT_RELEASE: &str = "saas-v2 §3.5: a repeated releaseInstance succeeds";
    pub const UNKNOWN: &str = "saas-v2 §5: unknown instance → 000003";
    pub const UNKNOWN_RELEASE: &str =
        "saas-v2 §3.5/§5: release of an unknown instance → 000000 or 000003";
    pub const BAD_SIGNATURE: &str = "saas-v2 §2.2: wrong signature → HTTP 200, 000001";
    pub const STALE: &str = "saas-v2 §2.2: timestamp more than 60 s old → HTTP 200, 000001";
    pub const FUTURE: &str = "saas-v2 §2.2: timestamp more than 60 s ahead → HTTP 200, 000001";
    pub const REPLAY: &str = "saas-v2 §2.2: replayed request (same nonce) → HTTP 200, 000001";
    pub const REUSED_NONCE: &str =
        "saas-v2 §2.2: nonce already used, new signature → HTTP 200, 000001";
    pub const MISSING_PARAMS: &str =
        "saas-v2 §2.2: signature/timestamp/nonce missing → HTTP 200, 000001";
    pub const NO_EFFECT: &str = "saas-v2 §2.2: a refused request changes nothing";
    pub const MALFORMED: &str = "saas-v2 §5: malformed JSON (validly signed) → 000002";
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// A required case failed: the run fails.
    Fail,
    /// An optional case failed: reported, the run still passes.
    Warn,
    /// Could not be checked (no answer, no instance to work on).
    Skip,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub rule: &'static str,
    pub required: bool,
}

impl Case {
    pub(super) fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        rule: &'static str,
        required: bool,
    ) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            rule,
            required,
        }
    }
}

/// An activity call whose answer gets the debugger's checks: id prefix, what is sent, whether
/// the spec requires vendors to implement it (saas-v2 §3 scenario matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub id: &'static str,
    pub required: bool,
}

const fn call(id: &'static str, required: bool) -> Call {
    Call { id, required }
}

pub const NEW_INSTANCE: Call = call("newInstance", true);
pub const QUERY_INSTANCE: Call = call("queryInstance", true);
pub const REFRESH_INSTANCE: Call = call("refreshInstance", true);
pub const FREEZE: Call = call("updateInstanceStatus.FREEZE", true);
pub const UNFREEZE: Call = call("updateInstanceStatus.UNFREEZE", true);
pub const UPGRADE_INSTANCE: Call = call("upgradeInstance", false);
pub const CHANGE_INSTANCE_CHECK: Call = call("changeInstanceCheck", false);
pub const RELEASE_INSTANCE: Call = call("releaseInstance", true);

/// Security probes: id prefix, title, rule, required. Each has `.refused` and `.no-effect`.
pub const PROBES: [(&str, &str, &str, bool); 6] = [
    (
        "security.bad-signature",
        "releaseInstance signed with another key",
        rule::BAD_SIGNATURE,
        true,
    ),
    (
        "security.stale-timestamp",
        "releaseInstance signed 61 s ago",
        rule::STALE,
        true,
    ),
    (
        "security.future-timestamp",
        "releaseInstance signed 61 s ahead",
        rule::FUTURE,
        true,
    ),
    (
        "security.replayed-nonce",
        "the exact same signed request sent twice",
        rule::REPLAY,
        true,
    ),
    (
        "security.reused-nonce",
        "releaseInstance re-signed with a used nonce",
        rule::REUSED_NONCE,
        false,
    ),
    (
        "security.missing-params",
        "releaseInstance without signature parameters",
        rule::MISSING_PARAMS,
        true,
    ),
];

/// Every case, in the order they run.
pub fn catalogue() -> Vec<Case> {
    let mut cases = Vec::new();
    let debugger = |cases: &mut Vec<Case>, call: Call| {
        cases.extend(Check::ALL.iter().map(|check| check.case(call)));
    };
    debugger(&mut cases, NEW_INSTANCE);
    cases.push(Case::new(
        "newInstance.provisioned",
        "the new instance becomes ready",
        rule::PROVISIONED,
        true,
    ));
    cases.push(Case::new(
        "newInstance.order-query",
        "the target queried the sandbox's order API",
        rule::ORDER_QUERY,
        false,
    ));
    cases.push(Case::new(
        "idempotency.newInstance",
        "newInstance again with another businessId",
        rule::SAME_INSTANCE,
        true,
    ));
    debugger(&mut cases, QUERY_INSTANCE);
    cases.push(Case::new(
        "queryInstance.app-info",
        "queryInstance shows appInfo",
        rule::APP_INFO,
        false,
    ));
    debugger(&mut cases, REFRESH_INSTANCE);
    debugger(&mut cases, FREEZE);
    cases.push(Case::new(
        "idempotency.updateInstanceStatus.FREEZE",
        "FREEZE again → 000000",
        rule::REPEAT_FREEZE,
        true,
    ));
    debugger(&mut cases, UNFREEZE);
    debugger(&mut cases, UPGRADE_INSTANCE);
    debugger(&mut cases, CHANGE_INSTANCE_CHECK);
    for (id, title, rule, required) in PROBES {
        cases.push(Case::new(
            format!("{id}.refused"),
            format!("{title} → 000001"),
            rule,
            required,
        ));
        cases.push(Case::new(
            format!("{id}.no-effect"),
            format!("{title}: queryInstance unchanged"),
            rule::NO_EFFECT,
            required,
        ));
    }
    cases.push(Case::new(
        "malformed-json",
        "validly signed malformed JSON → 000002",
        rule::MALFORMED,
        false,
    ));
    cases.push(Case::new(
        "unknown.refreshInstance",
        "refreshInstance of an unknown instance",
        rule::UNKNOWN,
        true,
    ));
    cases.push(Case::new(
        "unknown.updateInstanceStatus",
        "FREEZE of an unknown instance",
        rule::UNKNOWN,
        true,
    ));
    cases.push(Case::new(
        "unknown.upgradeInstance",
        "upgradeInstance of an unknown instance",
        rule::UNKNOWN,
        false,
    ));
    cases.push(Case::new(
        "unknown.releaseInstance",
        "releaseInstance of an unknown instance",
        rule::UNKNOWN_RELEASE,
        true,
    ));
    debugger(&mut cases, RELEASE_INSTANCE);
    cases.push(Case::new(
        "idempotency.releaseInstance",
        "releaseInstance again → 000000",
        rule::REPEAT_RELEASE,
        true,
    ));
    cases
}

/// A finished case with its verdict (`Warn` instead of `Fail` for optional cases).
pub fn outcome(case: &Case, result: Result<String, String>, millis: u64) -> Outcome {
    let (verdict, detail) = match result {
        Ok(detail) => (Verdict::Pass, detail),
        Err(detail) if case.required => (Verdict::Fail, detail),
        Err(detail) => (Verdict::Warn, detail),
    };
    Outcome {
        case: case.clone(),
        verdict,
        detail,
        millis,
    }
}
