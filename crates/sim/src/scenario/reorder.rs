//! The reorder fault: the step after an asynchronous `newInstance` overtakes KooGallery's poll
//! for the app info (see [`crate::faults`] for why this is the one reordering tested).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Flow;
use super::engine::Engine;
use super::exchange::{Call, Sent};
use super::faulted::{lock, with_check};
use super::judge::{has_app_info, judge};
use super::ledger::StepReport;
use super::record::{Check, Trigger};
use super::template::Bindings;
use crate::faults::FaultKind;
use crate::produce_client::Auth;

#[derive(Debug)]
pub(super) struct Ahead {
    flow: String,
    report: StepReport,
    bindings: Bindings,
}

impl Engine {
    /// `reorder`: after `newInstance` answered `000004` on its first attempt, plays the next
    /// step before the poll. Returns whether that step released the instance.
    pub(super) async fn overtake(
        &self,
        flow: &Flow,
        index: usize,
        first_attempt: bool,
        bindings: &Bindings,
    ) -> bool {
        let Some(next) = flow.steps.get(index + 1) else {
            return false;
        };
        // Never two purchases in a row: only a lifecycle call can overtake provisioning.
        if !self.options().faults.reorder || !first_attempt || next.activity() == "newInstance" {
            return false;
        }
        // The step runs on its own copy of the bindings, so this step's retries (if the poll
        // fails) still send this step's order, not the one the next step placed.
        let mut ahead = bindings.clone();
        let order_id = next
            .place
            .clone()
            .map(|spec| self.place(flow, next.activity(), spec, &mut ahead));
        let report = Box::pin(self.run_step(flow, index + 1, next, order_id, &mut ahead)).await;
        self.flush_late(&flow.name, index + 1);
        let released = report.ok && next.activity() == "releaseInstance";
        lock(&self.fault_state().ahead).push(Ahead {
            flow: flow.name.clone(),
            report,
            bindings: ahead,
        });
        released
    }

    /// The report (and bindings) of step `index` if it was played ahead of an earlier poll.
    pub(super) fn take_ahead(&self, flow: &str, index: usize) -> Option<(StepReport, Bindings)> {
        let mut stash = lock(&self.fault_state().ahead);
        let at = stash
            .iter()
            .position(|a| a.flow == flow && a.report.index == index)?;
        let ahead = stash.remove(at);
        Some((ahead.report, ahead.bindings))
    }

    /// The deferred poll after a release overtook it: one `queryInstance`, which must not show
    /// `appInfo` (released stays released). `None` when it held, else why not.
    pub(super) async fn poll_released(
        &self,
        flow: &Flow,
        index: usize,
        step_start: DateTime<Utc>,
        bindings: &Bindings,
        report: &mut StepReport,
    ) -> Option<String> {
        let instance_id = bindings.get("instanceId").unwrap_or_default().to_owned();
        let template = json!({
            "activity": "queryInstance",
            "instanceId": "${instanceId}",
            "testFlag": "${testFlag}",
        });
        // A vendor may also forget a released instance (000003).
        let accept = ["000000".to_owned(), "000003".to_owned()];
        self.clock().advance(self.options().poll_interval);
        let call = Call {
            flow: &flow.name,
            step: index,
            trigger: Trigger::Poll,
            attempt: 1,
            offset: (self.clock().now() - step_start)
                .to_std()
                .unwrap_or_default(),
            template: &template,
            bindings,
            accept: &accept,
        };
        let (activity, at, bytes) = match self.prepare(&call) {
            Ok(prepared) => prepared,
            Err(unbound) => return Some(unbound.to_string()),
        };
        let request = self.client().sign_bytes(bytes, &Auth::default());
        let result = self.client().send(&request).await;
        let timeout = self.options().timeout;
        let judgement = judge(&activity, result.as_ref(), &accept, timeout);
        let name = "released instance shows no appInfo";
        let shown = result
            .as_ref()
            .is_ok_and(|reply| has_app_info(reply, &instance_id));
        let check = if shown {
            Check::fail(name, "queryInstance still hands out the app info")
        } else {
            Check::pass(name)
        };
        let judgement = with_check(judgement, Some(check));
        let error = judgement.error();
        let sent = Sent {
            at,
            request,
            result,
        };
        let outcome = self.keep_judged(&call, &activity, sent, judgement, Some(FaultKind::Reorder));
        report.exchanges.push(outcome.record.id);
        error
    }
}
