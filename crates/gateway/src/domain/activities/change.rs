//! `changeInstanceCheck` (spec saas-v2 §3.7): may this instance move to another specification?
//!
//! KooGallery asks while the buyer is choosing, so the answer must come inside the call: when a
//! hook is configured koogate asks it synchronously (`instance.change_check`, at most
//! [`CHANGE_CHECK_TIMEOUT`]) and answers with the hook's word; without a hook, or when the hook's
//! 2xx answer does not say, `KOOGATE_CHANGE_CHECK_DEFAULT` decides. A hook that fails (non-2xx,
//! timeout, unreachable) refuses: a change the vendor cannot carry out is worse than a buyer
//! trying again later.
//!
//! The spec does not say which code refuses; koogate answers `000000` to allow and `000005`
//! with a readable message to refuse (any non-`000000` refuses).

use std::time::Duration;

use koogate_protocol::ResultCode;
use koogate_protocol::messages::instance::ChangeInstanceCheck;
use serde::Deserialize;
use serde_json::json;

use super::success;
use crate::domain::events::{self, kind};
use crate::domain::replies::{Answer, Failure};
use crate::domain::{Gateway, lifecycle};

/// KooGallery gives a production call 5 s; this leaves room for verification, the instance read
/// and the network on both sides.
pub const CHANGE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

const REFUSED: &str = "this instance cannot be changed to the requested specification";

/// The hook's answer to `instance.change_check`. `reason` is shown in KooGallery's `resultMsg`.
#[derive(Debug, Deserialize)]
struct CheckAnswer {
    allowed: Option<bool>,
    reason: Option<String>,
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
                .post(&question.event_id, &question.payload, CHANGE_CHECK_TIMEOUT)
                .await
            {
                Ok(body) => {
                    let answer = serde_json::from_slice::<CheckAnswer>(&body).ok();
                    let allowed = answer.as_ref().and_then(|a| a.allowed);
                    if allowed.is_none() {
                        tracing::info!(
                            instance_id,
                            "the hook did not answer `allowed`; using KOOGATE_CHANGE_CHECK_DEFAULT"
                        );
                    }
                    (
                        allowed.unwrap_or(gw.settings.change_check_default),
                        answer.and_then(|a| a.reason),
                    )
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
