//! The license-code open APIs (license-kit §2.3): `v1/license/activate`, `v1/license/heartbeat`
//! and `v2/license/software-usage-info`, answering from the [`License`] registry.
//!
//! | situation | answer | spec |
//! |---|---|---|
//! | `Content-Type` not JSON | HTTP 415 `95000003` | §2.3.4 |
//! | body not JSON | HTTP 400 `95000004` | §2.3.4 |
//! | JSON not of the request's shape (mandatory field missing, too long, …) | HTTP 400 `95000001` | §2.3.4 |
//! | a value of the right type that cannot be used | `92020002` | §2.3.4 |
//! | unknown code | `92020005` | §2.3.4 |
//! | activate before the buyer received the code | `92020004` | §2.1, §2.3.4 |
//! | activate an activated code | `92020003` | §2.3.1 ("do not activate twice") |
//! | activate an expired or released code | `92020003` [INFERRED] | §2.3.4 "invalid code state" |
//! | heartbeat or usage for a code not activated | `92020011` | §2.3.2 |
//! | usage-info naming bad codes | `92020020`, bad codes in `data.check_fail_list`, the good ones kept [INFERRED] | §2.3.3, §2.3.4 |
//!
//! v1 activate carries no device or machine field, so an activation "on another machine" cannot
//! be told from a repeat: any second activate is `92020003`. The v2 batch activate and heartbeat are
//! not served (their request shapes are unknown, §2.3.1–2.3.2) and answer APIG's 404.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use koogate_protocol::messages::license_api::{
    ActivateRequest, HeartbeatRequest, LicenseStatus, SoftwareUsageInfoRequest,
};
use koogate_protocol::result_code::{LicenseApiCode, OpenApiCode};
use koogate_protocol::time::{format_compact, parse_compact};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::OpenApiState;
use super::answer::Answer;
use super::apig_auth::{Caller, caller_key};
use super::licenses::{Activation, Heartbeat, License, Refusal, SoftwareUsageReport};

pub(super) async fn activate(
    State(state): State<OpenApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: ActivateRequest = match read(&headers, &body) {
        Ok(request) => request,
        Err(answer) => return answer.into_response(),
    };
    let now = state.now_utc();
    let effective = match request
        .real_effect_time
        .as_ref()
        .map(|t| parse_compact(t.as_str()))
    {
        None => None,
        Some(Ok(at)) => Some(at),
        Some(Err(why)) => {
            let answer = Answer::new(LicenseApiCode::InvalidParam);
            return answer
                .detail(format!("real_effect_time: {why}"))
                .into_response();
        }
    };
    let access_key = caller_key(caller);
    let activated = state.licenses.update(request.license.as_str(), |license| {
        activate_license(license, &access_key, now, effective)
    });
    match activated {
        Ok(license) => {
            let info = Value::String(Value::Object(code_info(&license, now)).to_string());
            let data = json!({ "license_code_info": info });
            Answer::new(LicenseApiCode::Success)
                .field("data", data)
                .into_response()
        }
        Err(refusal) => refused(refusal),
    }
}

fn activate_license(
    license: &mut License,
    access_key: &str,
    now: DateTime<Utc>,
    effective: Option<DateTime<Utc>>,
) -> Result<License, Refusal> {
    if !license.grant.received {
        let why = "the buyer has not received the code yet";
        return Err((LicenseApiCode::NotReceivedByBuyer, why.into()));
    }
    if let Some(earlier) = &license.activation {
        let why = format!(
            "already activated at {} by {}",
            earlier.at, earlier.access_key
        );
        return Err((LicenseApiCode::IllegalState, why));
    }
    let status = license.status(now);
    if status != LicenseStatus::Alive {
        return Err((
            LicenseApiCode::IllegalState,
            format!("the code is {status}"),
        ));
    }
    if let (Some(effective), Some(ordered)) = (effective, license.grant.order_time)
        && effective < ordered
    {
        let why = format!("real_effect_time {effective} is before the order time {ordered}");
        return Err((LicenseApiCode::InvalidParam, why));
    }
    license.activation = Some(Activation {
        access_key: access_key.to_owned(),
        at: now,
        effective: effective.unwrap_or(now),
    });
    Ok(license.clone())
}

pub(super) async fn heartbeat(
    State(state): State<OpenApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: HeartbeatRequest = match read(&headers, &body) {
        Ok(request) => request,
        Err(answer) => return answer.into_response(),
    };
    let now = state.now_utc();
    let access_key = caller_key(caller);
    let checked = state.licenses.update(request.license.as_str(), |license| {
        let activation = license.activation.clone().ok_or_else(not_activated)?;
        license.heartbeats.push(Heartbeat {
            access_key,
            at: now,
            info: request.heartbeat_info.clone(),
        });
        Ok((license.clone(), activation))
    });
    match checked {
        Ok((license, activation)) => {
            let mut data = Map::new();
            data.insert("license_code".into(), json!(license.grant.code));
            data.insert("status".into(), json!(license.status(now).as_str()));
            data.insert(
                "activate_time".into(),
                json!(format_compact(activation.effective)),
            );
            data.extend(
                code_info(&license, now)
                    .into_iter()
                    .filter(|(k, _)| k != "status"),
            );
            let answer = Answer::new(LicenseApiCode::Success);
            answer.field("data", Value::Object(data)).into_response()
        }
        Err(refusal) => refused(refusal),
    }
}

pub(super) async fn software_usage_info(
    State(state): State<OpenApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: SoftwareUsageInfoRequest = match read(&headers, &body) {
        Ok(request) => request,
        Err(answer) => return answer.into_response(),
    };
    if !request.is_within_limits() {
        let why = "usage_info and each software_usage_Info must hold 1 to 100 entries";
        return Answer::new(LicenseApiCode::InvalidParam)
            .detail(why)
            .into_response();
    }
    let now = state.now_utc();
    let access_key = caller_key(caller);
    let mut failed = Vec::new();
    for usage in request.usage_info {
        let code = usage.license.as_str();
        let recorded = state.licenses.update(code, |license| {
            license.activation.as_ref().ok_or_else(not_activated)?;
            license.usage_reports.push(SoftwareUsageReport {
                access_key: access_key.clone(),
                at: now,
                entries: usage.software_usage_info.clone(),
            });
            Ok(())
        });
        if let Err((error, why)) = recorded {
            tracing::debug!(license = code, reason = %why, "software usage refused");
            failed.push(check_failure(code, error));
        }
    }
    let data = json!({ "check_fail_list": failed });
    if failed.is_empty() {
        return Answer::new(LicenseApiCode::Success)
            .field("data", data)
            .into_response();
    }
    let why = format!("{} license code(s) refused", failed.len());
    let answer = Answer::new(LicenseApiCode::InvalidCodeInBatch).field("data", data);
    answer.detail(why).into_response()
}

/// The request body, or the framework-level answer (`9500000x`) refusing it.
fn read<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Answer> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        let why = format!("Content-Type `{content_type}` is not application/json");
        return Err(Answer::new(LicenseApiCode::ContentTypeNotSupported).detail(why));
    }
    let value: Value = serde_json::from_slice(body).map_err(|why| {
        Answer::new(LicenseApiCode::MessageNotReadable).detail(format!("body is not JSON: {why}"))
    })?;
    let invalid = |why: String| Answer::new(LicenseApiCode::RequestParamInvalid).detail(why);
    let license = value.get("license").and_then(Value::as_str);
    if license.is_some_and(|code| code.trim().is_empty()) {
        return Err(invalid("license is empty".into()));
    }
    serde_json::from_value(value).map_err(|why| invalid(why.to_string()))
}

/// `status`, `expire_time`, `product_id`, `order_id`, `amount`: the fields of
/// `license_code_info` (license-kit §2.3.1), times as `yyyyMMddHHmmss` [INFERRED], absent ones
/// left out.
fn code_info(license: &License, now: DateTime<Utc>) -> Map<String, Value> {
    let grant = &license.grant;
    let mut info = Map::new();
    info.insert("status".into(), json!(license.status(now).as_str()));
    let optional = [
        (
            "expire_time",
            grant.expire_time.map(|at| json!(format_compact(at))),
        ),
        ("product_id", grant.product_id.as_ref().map(|id| json!(id))),
        ("order_id", grant.order_id.as_ref().map(|id| json!(id))),
        ("amount", grant.amount.map(|amount| json!(amount))),
    ];
    info.extend(
        optional
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?))),
    );
    info
}

/// One `check_fail_list` entry; the list's real name and shape are cut off in every copy of the
/// page (license-kit §2.3.3 `data.check_fail_…`) [UNKNOWN].
fn check_failure(license: &str, code: LicenseApiCode) -> Value {
    let message = OpenApiCode::from(code.clone()).default_message();
    json!({ "license": license, "error_code": code.as_str(), "error_msg": message })
}

fn not_activated() -> Refusal {
    let why = "the code has not been activated".to_owned();
    (LicenseApiCode::NotActivated, why)
}

fn refused((code, why): Refusal) -> Response {
    Answer::new(code).detail(why).into_response()
}
