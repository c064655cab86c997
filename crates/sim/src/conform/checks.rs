//! The seller-center debugger's checks (spec saas-v2 §6) applied to one exchange. Pure: no I/O.

use std::time::Duration;

use koogate_protocol::AccessKey;
use koogate_protocol::signing::VerifyError;
use serde_json::Value;

use super::cases::{Call, Case, NEW_INSTANCE, rule};
use crate::produce_client::{Reply, SendError};

/// The debugger's checks on one answer, in the order the debugger reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Reachable,
    Budget,
    HttpStatus,
    ContentType,
    Body,
    ResultCode,
    Fields,
    BodySign,
}

impl Check {
    pub const ALL: [Check; 8] = [
        Check::Reachable,
        Check::Budget,
        Check::HttpStatus,
        Check::ContentType,
        Check::Body,
        Check::ResultCode,
        Check::Fields,
        Check::BodySign,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            Check::Reachable => "reachable",
            Check::Budget => "budget",
            Check::HttpStatus => "http-status",
            Check::ContentType => "content-type",
            Check::Body => "body",
            Check::ResultCode => "result-code",
            Check::Fields => "fields",
            Check::BodySign => "body-sign",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Check::Reachable => "the address answers",
            Check::Budget => "answers within the budget",
            Check::HttpStatus => "HTTP 200",
            Check::ContentType => "Content-Type application/json",
            Check::Body => "body has resultCode and resultMsg",
            Check::ResultCode => "resultCode is success",
            Check::Fields => "required fields and lengths",
            Check::BodySign => "Body-Sign present and valid",
        }
    }

    fn rule(self, call: Call) -> &'static str {
        match self {
            Check::Reachable => rule::REACHABLE,
            Check::Budget => rule::BUDGET,
            Check::HttpStatus => rule::HTTP_200,
            Check::ContentType => rule::CONTENT_TYPE,
            Check::Body => rule::BODY,
            Check::ResultCode if call.id == NEW_INSTANCE.id => rule::NEW_RESULT_CODE,
            Check::ResultCode => rule::RESULT_CODE,
            Check::Fields => rule::FIELDS,
            Check::BodySign => rule::BODY_SIGN,
        }
    }

    /// `newInstance.http-status`, …
    pub fn id(self, call: Call) -> String {
        format!("{}.{}", call.id, self.suffix())
    }

    pub(super) fn case(self, call: Call) -> Case {
        Case::new(
            self.id(call),
            format!("{}: {}", call.id, self.title()),
            self.rule(call),
            call.required,
        )
    }
}

/// What an answer is expected to contain besides the common fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `resultCode`/`resultMsg` only.
    Plain,
    /// `instanceId` (≤64).
    NewInstance,
    /// `instanceId` and `appInfo.frontEndUrl`, which the V2 debugger FAQ says newInstance must
    /// return (saas-v2 §3.1; opt-in: the V2 tables list `instanceId` only).
    NewInstanceWithFrontEndUrl,
    /// `info[]` holding this instance.
    QueryInstance(String),
}

/// Everything a check needs besides the exchange.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    pub key: &'a AccessKey,
    pub budget: Duration,
    /// Acceptable `resultCode`s.
    pub codes: &'a [&'a str],
    pub shape: Shape,
}

/// The result of one check: `Ok(detail)` passes, `Err(detail)` fails, `None` could not be checked.
pub type Eval = Option<Result<String, String>>;

const EXCERPT: usize = 160;

impl Check {
    pub fn evaluate(self, exchange: &Result<Reply, SendError>, expect: &Expect<'_>) -> Eval {
        let reply = match (self, exchange) {
            (_, Ok(reply)) => reply,
            (Check::Reachable, Err(SendError::Timeout { .. })) => return None,
            (Check::Reachable, Err(e)) => return Some(Err(format!("生产地址不可达: {e}"))),
            (Check::Budget, Err(e @ SendError::Timeout { .. })) => {
                return Some(Err(format!("调用接口超时: {e}")));
            }
            (_, Err(_)) => return None,
        };
        Some(match self {
            Check::Reachable => Ok(format!("HTTP {} answered", reply.status)),
            Check::Budget => budget(reply, expect.budget),
            Check::HttpStatus => http_status(reply),
            Check::ContentType => content_type(reply),
            Check::Body => body(reply).map(|_| "resultCode and resultMsg present".to_owned()),
            Check::ResultCode => result_code(reply, expect.codes),
            Check::Fields => fields(reply, &expect.shape),
            Check::BodySign => body_sign(reply, expect.key),
        })
    }
}

fn budget(reply: &Reply, budget: Duration) -> Result<String, String> {
    let took = reply.latency.as_millis();
    if reply.latency <= budget {
        Ok(format!("{took} ms"))
    } else {
        Err(format!(
            "answered after {took} ms, over the {} ms budget",
            budget.as_millis()
        ))
    }
}

fn http_status(reply: &Reply) -> Result<String, String> {
    if reply.status == 200 {
        Ok("200".to_owned())
    } else {
        Err(format!(
            "接口响应httpCode={}; body: {}",
            reply.status,
            reply.body_excerpt(EXCERPT)
        ))
    }
}

fn content_type(reply: &Reply) -> Result<String, String> {
    match (reply.media_type(), reply.content_type()) {
        (Some(media), Some(full)) if media == "application/json" => Ok(full.to_owned()),
        (_, Some(full)) => Err(format!(
            "Content-Type is `{full}`; KooGallery requires application/json"
        )),
        _ => Err("no Content-Type header; KooGallery requires application/json".to_owned()),
    }
}

/// The body as a JSON object with a string `resultCode` and a `resultMsg`.
pub fn body(reply: &Reply) -> Result<serde_json::Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(&reply.body).map_err(|e| {
        format!(
            "解析响应体失败: not JSON ({e}); body: {}",
            reply.body_excerpt(EXCERPT)
        )
    })?;
    let Value::Object(map) = value else {
        return Err(format!(
            "body is JSON but not an object: {}",
            reply.body_excerpt(EXCERPT)
        ));
    };
    if !map.get("resultCode").is_some_and(Value::is_string) {
        return Err(format!(
            "resultCode missing or not a string: {}",
            reply.body_excerpt(EXCERPT)
        ));
    }
    if !map.get("resultMsg").is_some_and(Value::is_string) {
        return Err(format!(
            "resultMsg missing or not a string: {}",
            reply.body_excerpt(EXCERPT)
        ));
    }
    Ok(map)
}

/// `resultCode` from the raw JSON, whatever else the body holds.
pub fn code_of(reply: &Reply) -> Option<String> {
    let value: Value = serde_json::from_slice(&reply.body).ok()?;
    value.get("resultCode")?.as_str().map(str::to_owned)
}

fn result_code(reply: &Reply, codes: &[&str]) -> Result<String, String> {
    let map = body(reply)?;
    let code = map.get("resultCode").and_then(Value::as_str).unwrap_or("");
    if codes.contains(&code) {
        return Ok(code.to_owned());
    }
    let message = map.get("resultMsg").and_then(Value::as_str).unwrap_or("");
    Err(format!(
        "生产接口resultCode返回错误: {code} ({message}); expected {}",
        codes.join(" or ")
    ))
}

fn fields(reply: &Reply, shape: &Shape) -> Result<String, String> {
    let response = reply
        .parsed
        .as_ref()
        .map_err(|e| format!("not a production-interface answer: {e}"))?;
    let mut problems: Vec<String> = response
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    match shape {
        Shape::Plain => {}
        Shape::NewInstance if response.instance_id.is_none() => {
            problems.push("接口响应缺少instanceId".to_owned());
        }
        Shape::NewInstance => {}
        Shape::NewInstanceWithFrontEndUrl => {
            if response.instance_id.is_none() {
                problems.push("接口响应缺少instanceId".to_owned());
            }
            let url = response.app_info.as_ref().map(|a| a.front_end_url.trim());
            if url.is_none_or(str::is_empty) {
                problems.push("接口响应缺少frontEndUrl".to_owned());
            }
        }
        Shape::QueryInstance(id) => {
            let listed = response.info.iter().flatten().any(|i| &i.instance_id == id);
            if !listed {
                problems.push(format!("info[] does not list instance `{id}`"));
            }
        }
    }
    if problems.is_empty() {
        Ok("all present and within limits".to_owned())
    } else {
        Err(problems.join("; "))
    }
}

fn body_sign(reply: &Reply, key: &AccessKey) -> Result<String, String> {
    match reply.verify_body_sign(key) {
        Ok(()) => Ok("HMAC-SHA256 of the body matches".to_owned()),
        Err(VerifyError::MissingParameter(_)) => {
            Err("生产接口响应头缺少Body-Sign: no Body-Sign header".to_owned())
        }
        Err(VerifyError::BadSignature) => Err(
            "Body-Sign does not match base64(HMAC-SHA256(access key, response body))".to_owned(),
        ),
        Err(e) => Err(format!(
            "Body-Sign格式错误: {e} (got `{}`)",
            reply.body_sign().unwrap_or("")
        )),
    }
}
