//! `changeInstanceCheck` (spec saas-v2 §3.7): may this instance move to another specification?
//!
//! KooGallery asks while the buyer is choosing, so the answer must come inside the call: when a
//! hook is configured koogate asks it synchronously (`instance.change_check`, at most
//! [`CHANGE_CHECK_TIMEOUT`]) and answers with the hook's word; without a hook, or when the hook
//! does not answer the question, `KOOGATE_CHANGE_CHECK_DEFAULT` decides. Not answering is a 2xx
//! without `allowed`, or 400, 404, 405, 422 or 501: what a hook written before this event
//! existed says to a type it does not know, so upgrading koogate does not turn its answer into a
//! refusal. A hook that fails (timeout, unreachable, 5xx, another error) refuses, and so does an
//! `allowed` that is not a boolean: a change the vendor cannot carry out is worse than a buyer
//! trying again later.
//!
//! The spec does not say which code refuses; koogate answers `000000` to allow and `000005`
//! with a readable message to refuse (any non-`000000` refuses).

use std::time::Duration;

use koogate_protocol::ResultCode;
use koogate_protocol::messages::instance::ChangeInstanceCheck;
use serde_json::{Value, json};

use super::success;
use crate::domain::events::{self, kind};
use crate::domain::replies::{Answer, Failure};
use crate::domain::{Gateway, lifecycle};

/// KooGallery gives a production call 5 s; this leaves room for verification, the instance read
/// and the network on both sides.
pub const CHANGE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

const REFUSED: &str = "this instance cannot be changed to the requested specification";

/// Statuses with which a hook says "I do not handle this event".
const NO_OPINION: [u16; 5] = [400, 404, 405, 422, 501];

/// The hook's word: `Some(allowed, reason)`, or `None` when it did not answer the question.
fn read_answer(body: &[u8]) -> Result<Option<(bool, Option<String>)>, String> {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let reason = answer
        .get("reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match answer.get("allowed") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(allowed)) => Ok(Some((*allowed, reason))),
        Some(other) => Err(format!("`allowed` is {other}, not true or false")),
    }
}

pub async fn run(gw: &Gateway, req: &ChangeInstanceCheck, test: bool) -> Result<Answer, Failure> {
    let instance_id = req.instance_id.as_str();
    // A released instance is gone for KooGallery, as for renewals and upgrades.
    let live = gw
        .store
        .get_instance(instance_id)
        .await?
        .filter(|i| lifecycle::accepts_order_changes(i.status));
    if live.is_none() {
        return Err(Failure::InstanceNotFound(instance_id.to_owned()));
    }
    let (allowed, reason) = match &gw.hook {
        None => (gw.settings.change_check_default, None),
        Some(hook) => {
            let data = json!({ "productInfo": &req.product_info });
            let question = events::event(
                kind::CHANGE_CHECK,
                instance_id,
                Some(instance_id),
                test,
                data,
                gw.clock.now(),
            );
            match hook
                .ask(&question.event_id, &question.payload, CHANGE_CHECK_TIMEOUT)
                .await
            {
                Ok(body) => match read_answer(&body) {
                    Ok(Some(word)) => word,
                    Ok(None) => {
                        tracing::info!(
                            instance_id,
                            "the hook did not answer `allowed`; using KOOGATE_CHANGE_CHECK_DEFAULT"
                        );
                        (gw.settings.change_check_default, None)
                    }
                    Err(problem) => {
                        tracing::warn!(
                            instance_id,
                            problem,
                            "unreadable change check answer; refusing the change"
                        );
                        (false, None)
                    }
                },
                Err(failure) if failure.status.is_some_and(|s| NO_OPINION.contains(&s)) => {
                    tracing::info!(
                        instance_id,
                        status = failure.status,
                        "the hook does not handle instance.change_check; using KOOGATE_CHANGE_CHECK_DEFAULT"
                    );
                    (gw.settings.change_check_default, None)
                }
                Err(failure) => {
                    tracing::warn!(
                        instance_id,
                        error = %failure,
                        "change check hook failed; refusing the change"
                    );
                    (false, None)
                }
            }
        }
    };
    if allowed {
        return Ok(success(gw));
    }
    Err(Failure::Refused {
        code: ResultCode::InternalError,
        message: reason
            .map(|r| printable(&r))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| REFUSED.to_owned()),
    })
}

/// A hook's reason as a `resultMsg`: printable, on one line, not longer than KooGallery shows.
fn printable(reason: &str) -> String {
    const MAX_CHARS: usize = 200;
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}
