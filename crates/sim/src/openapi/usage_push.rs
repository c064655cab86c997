//! 按需使用量推送, new (`POST …/global/v1/isv/usage-data`, spec saas-v2 §7.2) and old
//! (`POST /rest/marketplace/v1/isv/usage-data`, §7.3), into one store.
//!
//! Both answer `{"error_code","error_msg"}` with HTTP 200 (license-kit §6.7), checked in this
//! order:
//!
//! | check | answer | spec |
//! |---|---|---|
//! | new only: body signature with the basic-interface access key | `MKT.0102` | saas-v2 §7.2 |
//! | body is JSON with a non-empty `usage_records` array of objects | `MKT.0100` | license-kit §6.4 |
//! | at most 1000 records (switchable to 100) | `MKT.9003` | saas-v2 §5 |
//! | every record well-formed: ids, times, value > 0, begin ≤ end | `MKT.9002` + `extra_info` (`001`–`004`, `011`) | license-kit §6.4 |
//! | every `begin_time` within 21 days | `MKT.9004` | saas-v2 §7.2 |
//! | otherwise | `MKT.0000` "success"; duplicates listed in `extra_info` (`005`/`010`) and not stored again | saas-v2 §7.2 |
//!
//! A refused push stores nothing [INFERRED: the codes are whole-request codes]. Accepted records are
//! then checked asynchronously (see `usage_store`).

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use koogate_protocol::result_code::{MktCode, UsageRecordCode};
use koogate_protocol::signing::usage;
use serde_json::{Value, json};

use super::OpenApiState;
use super::answer::Answer;
use super::apig_auth::{Caller, caller_key};
use super::usage_parse::{self, RecordFault};
use super::usage_store::{UsageApi, UsageRecord};

/// `begin_time` may lie at most this far back (saas-v2 §7.2: "begin_time must be within 21 days").
const MAX_BEGIN_AGE_DAYS: i64 = 21;

pub(super) async fn handle_new(
    State(state): State<OpenApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = verify_body_signature(&state, &headers, &body) {
        return Answer::new(MktCode::InvalidBodySign)
            .detail(why)
            .into_response();
    }
    push(&state, &caller_key(caller), &body, UsageApi::New).into_response()
}

pub(super) async fn handle_old(
    State(state): State<OpenApiState>,
    caller: Option<Extension<Caller>>,
    body: Bytes,
) -> Response {
    push(&state, &caller_key(caller), &body, UsageApi::Old).into_response()
}

/// The `signature`/`ts`/`nonce` headers over the exact body received (or its sorted form, which
/// `usage::verify` also accepts because "按自然排序" is ambiguous, saas-v2 §10 question 9). The
/// key is the merchant's access key bound to the basic interfaces, not the APIG SK (saas-v2 §7.2:
/// "商家密钥-已绑定基础接口的密钥值"). No window on `ts` and no nonce cache: the spec names none.
fn verify_body_signature(
    state: &OpenApiState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let key = state
        .basic_key()
        .ok_or("no basic-interface access key is configured to verify body signatures with")?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    let body = std::str::from_utf8(body).map_err(|_| "body is not UTF-8")?;
    usage::verify(
        &key,
        header(usage::HEADER_SIGNATURE),
        header(usage::HEADER_TS),
        header(usage::HEADER_NONCE),
        body,
    )
    .map_err(|why| format!("body signature: {why}"))
}

fn push(state: &OpenApiState, access_key: &str, body: &[u8], api: UsageApi) -> Answer {
    let values = match usage_parse::records(body) {
        Ok(values) if values.is_empty() => {
            return Answer::new(MktCode::InputCheckFailed).detail("usage_records is empty");
        }
        Ok(values) => values,
        Err(why) => return Answer::new(MktCode::InputCheckFailed).detail(why),
    };
    let max = state.usage.max_records();
    if values.len() > max {
        let why = format!("{} usage records, over the maximum of {max}", values.len());
        return Answer::new(MktCode::TooManyRecords).detail(why);
    }
    let records = match read_records(access_key, &values, api) {
        Ok(records) => records,
        Err(answer) => return answer,
    };
    let now = state.now_utc();
    if let Some(index) = too_old(&records, now) {
        let why = format!("record {index}: begin_time is more than {MAX_BEGIN_AGE_DAYS} days ago");
        return Answer::new(MktCode::BeginTimeTooOld).detail(why);
    }
    accept(state, records, now)
}

/// Every record as a [`UsageRecord`], or the answer refusing the push.
fn read_records(
    access_key: &str,
    values: &[Value],
    api: UsageApi,
) -> Result<Vec<UsageRecord>, Answer> {
    let mut records = Vec::with_capacity(values.len());
    let mut faults = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let read = match api {
            UsageApi::New => {
                usage_parse::new_record(value).map(|d| UsageRecord::from_new(access_key, d))
            }
            UsageApi::Old => {
                usage_parse::old_record(value).map(|r| UsageRecord::from_old(access_key, r))
            }
        };
        match read {
            Ok(record) => records.push(record),
            Err(RecordFault::Input(why)) => {
                let why = format!("record {index}: {why}");
                return Err(Answer::new(MktCode::InputCheckFailed).detail(why));
            }
            Err(RecordFault::Entity {
                metering_sn,
                code,
                reason,
            }) => {
                faults.push(entry(index, metering_sn.as_deref(), &code, &reason));
            }
        }
    }
    if faults.is_empty() {
        return Ok(records);
    }
    let why = format!("{} invalid record(s)", faults.len());
    let answer =
        Answer::new(MktCode::InvalidUsageEntities).field("extra_info", Value::Array(faults));
    Err(answer.detail(why))
}

fn too_old(records: &[UsageRecord], now: DateTime<Utc>) -> Option<usize> {
    let oldest = now - Duration::days(MAX_BEGIN_AGE_DAYS);
    records.iter().position(|record| record.begin_time < oldest)
}

/// Stores the new records, queues their asynchronous check, and lists the duplicates: a resend
/// after a lost answer must succeed, so duplicates do not fail the push [INFERRED from
/// `metering_sn` being the idempotency key], but the vendor is told they were not counted.
fn accept(state: &OpenApiState, records: Vec<UsageRecord>, now: DateTime<Utc>) -> Answer {
    let stored = state.usage.accept(records.clone());
    let mut fresh = Vec::new();
    let mut duplicates = Vec::new();
    for (index, (record, stored)) in records.into_iter().zip(stored).enumerate() {
        if stored {
            fresh.push(record);
        } else {
            let code = match record.api {
                UsageApi::New => UsageRecordCode::DuplicateMeteringSn,
                UsageApi::Old => UsageRecordCode::DuplicateRecord,
            };
            let reason = "already accepted; not counted again";
            duplicates.push(entry(index, record.metering_sn.as_deref(), &code, reason));
        }
    }
    state.check_usage_later(fresh, now);
    // The printed response of saas-v2 §7.2 spells it in lower case.
    let answer = Answer::new(MktCode::Success).message("success");
    if duplicates.is_empty() {
        return answer;
    }
    let why = format!("{} duplicate record(s) not counted again", duplicates.len());
    answer
        .field("extra_info", Value::Array(duplicates))
        .detail(why)
}

/// One `extra_info` entry. Its real shape is not documented (license-kit §6.4); this one is a
/// shape the protocol crate's `UsagePushResponse::record_results` reads.
fn entry(index: usize, metering_sn: Option<&str>, code: &UsageRecordCode, reason: &str) -> Value {
    json!({ "index": index, "metering_sn": metering_sn, "code": code.as_str(), "msg": reason })
}
