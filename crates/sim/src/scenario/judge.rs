//! Whether KooGallery counts an answer as success: pure, so every rule is unit-tested.
//!
//! The rules are the spec's success criterion (saas-v2 §1, row "Success criterion"): an answer
//! within the timeout, HTTP 200, `Content-Type: application/json`, a body with `resultCode`, and
//! a code the step accepts. Checks stop at the first failure: once the status is wrong, whether
//! the body parses says nothing more about why KooGallery retried.

use std::time::Duration;

use koogate_protocol::messages::ProduceResponse;

use super::record::Check;
use crate::produce_client::{Reply, SendError};

/// The engine's reading of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub checks: Vec<Check>,
    pub ok: bool,
    /// `resultCode`, when the body parsed.
    pub result_code: Option<String>,
    /// `instanceId` of a `newInstance` answer.
    pub instance_id: Option<String>,
    /// `000004`: accepted, finishing asynchronously.
    pub in_progress: bool,
    /// A well-formed answer with a code the step does not accept (a business refusal rather than
    /// a transport failure; see `EngineOptions::business_errors`).
    pub refused: bool,
}

impl Judgement {
    /// The first failed check, as `name: detail`.
    pub fn error(&self) -> Option<String> {
        self.checks.iter().find(|c| !c.ok).map(|c| match &c.detail {
            Some(detail) => format!("{}: {detail}", c.name),
            None => c.name.clone(),
        })
    }

    fn failed(checks: Vec<Check>) -> Self {
        Self {
            checks,
            ok: false,
            result_code: None,
            instance_id: None,
            in_progress: false,
            refused: false,
        }
    }
}

pub const IN_PROGRESS: &str = "000004";

/// Judges the outcome of one exchange of `activity` against the step's acceptable codes.
pub fn judge(
    activity: &str,
    outcome: Result<&Reply, &SendError>,
    accept: &[String],
    timeout: Duration,
) -> Judgement {
    let reply = match outcome {
        Ok(reply) => reply,
        Err(SendError::Timeout { after }) => {
            return Judgement::failed(vec![Check::fail(
                "answered in time",
                format!("调用接口超时: no answer within {} ms", after.as_millis()),
            )]);
        }
        Err(err) => {
            return Judgement::failed(vec![Check::fail(
                "reachable",
                format!("生产地址不可达: {err}"),
            )]);
        }
    };
    let mut checks = vec![Check::pass("reachable")];
    let mut step = |check: Check| {
        let ok = check.ok;
        checks.push(check);
        ok
    };
    let in_time = reply.latency <= timeout;
    let passed = step(if in_time {
        Check::pass("answered in time")
    } else {
        Check::fail(
            "answered in time",
            format!(
                "{} ms > {} ms",
                reply.latency.as_millis(),
                timeout.as_millis()
            ),
        )
    }) && step(http_200(reply))
        && step(json_content_type(reply));
    let parsed = match (&reply.parsed, passed) {
        (Ok(parsed), true) => {
            step(Check::pass("body has resultCode"));
            parsed
        }
        (Err(err), true) => {
            step(Check::fail(
                "body has resultCode",
                format!("解析响应体失败: {err}"),
            ));
            return Judgement::failed(checks);
        }
        (_, false) => return Judgement::failed(checks),
    };
    code_checks(activity, parsed, accept, checks)
}

fn code_checks(
    activity: &str,
    parsed: &ProduceResponse,
    accept: &[String],
    mut checks: Vec<Check>,
) -> Judgement {
    let code = parsed.result_code.code().to_owned();
    let accepted = accept.iter().any(|a| a == &code);
    checks.push(if accepted {
        Check::pass("resultCode accepted")
    } else {
        let msg = parsed.result_msg.as_deref().unwrap_or_default();
        Check::fail(
            "resultCode accepted",
            format!(
                "生产接口resultCode返回错误: {code} {msg} (accepted: {})",
                accept.join(", ")
            ),
        )
    });
    let instance_id = parsed.instance_id.clone().filter(|id| !id.is_empty());
    if accepted && activity == "newInstance" {
        checks.push(match &instance_id {
            Some(_) => Check::pass("instanceId present"),
            None => Check::fail("instanceId present", "接口响应缺少instanceId"),
        });
    }
    let ok = checks.iter().all(|c| c.ok);
    Judgement {
        ok,
        refused: !accepted,
        in_progress: code == IN_PROGRESS,
        result_code: Some(code),
        instance_id,
        checks,
    }
}

fn http_200(reply: &Reply) -> Check {
    if reply.status == 200 {
        Check::pass("HTTP 200")
    } else {
        Check::fail("HTTP 200", format!("接口响应httpCode={}", reply.status))
    }
}

fn json_content_type(reply: &Reply) -> Check {
    match reply.media_type().as_deref() {
        Some("application/json") => Check::pass("Content-Type application/json"),
        other => Check::fail(
            "Content-Type application/json",
            format!("响应content-type格式错误: {}", other.unwrap_or("(none)")),
        ),
    }
}

/// Whether a `queryInstance` answer carries `appInfo` for `instance_id` (what KooGallery polls
/// for after `000004`, spec saas-v2 §3.1).
pub fn has_app_info(reply: &Reply, instance_id: &str) -> bool {
    let Ok(parsed) = &reply.parsed else {
        return false;
    };
    reply.status == 200
        && parsed.result_code.is_success()
        && parsed.info.iter().flatten().any(|info| {
            info.instance_id == instance_id
                && info
                    .app_info
                    .as_ref()
                    .is_some_and(|app| !app.front_end_url.is_empty())
        })
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
