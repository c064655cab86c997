//! The client-timeout fault: KooGallery gives up on a step's first attempt early, the vendor
//! finishes anyway, and the step's retry must get the answer the vendor committed then.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::engine::Engine;
use super::exchange::{Call, Sent};
use super::faulted::{joined, lock, with_check};
use super::judge::judge;
use super::record::{Check, Trigger};
use super::template::Bindings;
use crate::faults::{FaultKind, alike_check};
use crate::produce_client::{Reply, SendError, SignedRequest};

/// The answer KooGallery did not wait for.
#[derive(Debug)]
pub(super) struct Late {
    flow: String,
    step: usize,
    attempt: u32,
    offset: Duration,
    activity: String,
    accept: Vec<String>,
    sent: Sent,
}

impl Engine {
    /// Waits `short` for the answer; past that, KooGallery's verdict is a timeout. The
    /// simulator still reads the late answer (so the vendor finishes undisturbed, as it would
    /// in the hour before the real retry) and keeps it for the step's next attempt.
    pub(super) async fn abandon_after(
        &self,
        call: &Call<'_>,
        activity: &str,
        at: DateTime<Utc>,
        request: &SignedRequest,
        mut task: JoinHandle<Result<Reply, SendError>>,
        short: Duration,
    ) -> Result<Reply, SendError> {
        if let Ok(result) = tokio::time::timeout(short, &mut task).await {
            return result
                .unwrap_or_else(|err| Err(SendError::Other(format!("send task failed: {err}"))));
        }
        let result = joined(task).await;
        lock(&self.fault_state().late).push(Late {
            flow: call.flow.to_owned(),
            step: call.step,
            attempt: call.attempt,
            offset: call.offset,
            activity: activity.to_owned(),
            accept: call.accept.to_vec(),
            sent: Sent {
                at,
                request: request.clone(),
                result,
            },
        });
        Err(SendError::Timeout { after: short })
    }

    /// Records the late answers of this step's earlier attempts, compared with `answer`.
    pub(super) fn compare_late(&self, call: &Call<'_>, answer: Option<&Reply>) {
        let late: Vec<Late> = {
            let mut stash = lock(&self.fault_state().late);
            let (mine, rest) = stash.drain(..).partition(|l: &Late| {
                l.flow == call.flow && l.step == call.step && l.attempt < call.attempt
            });
            *stash = rest;
            mine
        };
        for late in late {
            self.keep_late(late, answer, call.attempt);
        }
    }

    /// At the end of a step: records late answers no later attempt was compared with.
    pub(super) fn flush_late(&self, flow: &str, step: usize) {
        let late: Vec<Late> = {
            let mut stash = lock(&self.fault_state().late);
            let (mine, rest) = stash
                .drain(..)
                .partition(|l: &Late| l.flow == flow && l.step == step);
            *stash = rest;
            mine
        };
        for late in late {
            self.keep_late(late, None, 0);
        }
    }

    fn keep_late(&self, late: Late, answer: Option<&Reply>, retry: u32) {
        let call = Call {
            flow: &late.flow,
            step: late.step,
            trigger: Trigger::Scheduled,
            attempt: late.attempt,
            offset: late.offset,
            template: &serde_json::Value::Null,
            bindings: &Bindings::default(),
            accept: &late.accept,
        };
        let timeout = self.options().timeout;
        let judgement = judge(
            &late.activity,
            late.sent.result.as_ref(),
            &late.accept,
            timeout,
        );
        let name = format!("the retry (attempt {retry}) got the same answer");
        let same = match answer {
            Some(answer) => Some(alike_check(&name, answer, late.sent.result.as_ref())),
            None if retry > 0 => Some(Check::fail(&name, "the retry got no answer")),
            None => None,
        };
        let judgement = with_check(judgement, same);
        self.keep_judged(
            &call,
            &late.activity,
            late.sent,
            judgement,
            Some(FaultKind::ClientTimeout),
        );
    }
}
