//! One step on its retry schedule: attempt at each offset until one succeeds or the schedule
//! runs out; after a `000004` from `newInstance`, poll `queryInstance` for the app info.

use std::time::Duration;

use chrono::{DateTime, Utc};

use serde_json::json;

use super::engine::{BusinessErrors, Engine};
use super::exchange::{Call, fresh_business_id};
use super::judge::has_app_info;
use super::ledger::StepReport;
use super::record::Trigger;
use super::template::Bindings;
use super::{Flow, Step};
use crate::message_log::{MessageStatus, NewMessage, Resend, failure};
use crate::retry::Exhausted;

impl Engine {
    pub(super) async fn run_step(
        &self,
        flow: &Flow,
        index: usize,
        step: &Step,
        order_id: Option<String>,
        bindings: &mut Bindings,
    ) -> StepReport {
        let offsets = match step.kind {
            Some(kind) => self.policy(kind).offsets(),
            None => vec![Duration::ZERO],
        };
        let mut report = StepReport {
            index,
            note: step.note.clone(),
            activity: step.activity().to_owned(),
            kind: step.kind,
            order_id,
            attempts: 0,
            ok: false,
            exchanges: Vec::new(),
            error: None,
            exhausted: None,
            message: None,
            never_sent: false,
            license_upload: None,
        };
        if self.options().faults.never_sends(step.activity()) {
            // Counted as done, as KooGallery counts a call it gave up on: the flow goes on.
            report.ok = true;
            report.never_sent = true;
            return report;
        }
        let first = self.clock().now();
        // The instance this step's purchase created, to release again if the order is refunded.
        let mut created: Option<String> = None;
        for (n, offset) in offsets.iter().enumerate() {
            self.clock()
                .jump_to(first + chrono::Duration::from_std(*offset).unwrap_or_default());
            bindings.set("businessId", fresh_business_id());
            report.attempts += 1;
            let call = Call {
                flow: &flow.name,
                step: index,
                trigger: Trigger::Scheduled,
                attempt: u32::try_from(n + 1).unwrap_or(u32::MAX),
                offset: *offset,
                template: &step.body,
                bindings,
                accept: &step.accept,
            };
            let (record, judgement) = match self.exchange(call).await {
                Ok(outcome) => (outcome.record, outcome.judgement),
                Err(unbound) => {
                    // Retrying cannot supply a value an earlier step never produced.
                    let record = self.unsent_record(&flow.name, index, step.activity(), &unbound);
                    report.exchanges.push(record.id);
                    report.error = Some(unbound.to_string());
                    return report;
                }
            };
            report.exchanges.push(record.id);
            let mut error = failure(&record);
            if judgement.ok && report.activity == "newInstance" {
                if let Some(id) = &judgement.instance_id {
                    bindings.set("instanceId", id.clone());
                    // Known from the answer on, before any poll: a release may overtake it.
                    self.instance_created(id, &record.request.body);
                    created = Some(id.clone());
                }
                if judgement.in_progress {
                    // The `reorder` fault plays the next step first; after a release, the
                    // poll checks that the instance stays released instead.
                    error = if self.overtake(flow, index, n == 0, bindings).await {
                        self.poll_released(flow, index, first, bindings, &mut report)
                            .await
                    } else {
                        self.poll(flow, index, first, bindings, &mut report).await
                    };
                }
            }
            let message_id = match (&error, report.message) {
                (None, None) => None,
                (_, Some(id)) => Some(id),
                (Some(_), None) => Some(self.messages().open(NewMessage {
                    flow: flow.name.clone(),
                    step: index,
                    activity: report.activity.clone(),
                    kind: step.kind,
                    order_id: report.order_id.clone(),
                    at: record.at,
                    resend: Resend {
                        body: step.body.clone(),
                        bindings: bindings.clone(),
                        accept: step.accept.clone(),
                    },
                })),
            };
            report.message = message_id;
            if let Some(id) = message_id {
                self.messages()
                    .attempted(id, record.id, record.at, error.clone());
            }
            let Some(error) = error else {
                report.ok = true;
                report.error = None;
                if let Some(id) = message_id {
                    self.messages().set_status(id, MessageStatus::Recovered);
                }
                self.instance_call_succeeded(&report.activity, &record.request.body);
                if report.activity == "getLicenseAsync" {
                    self.check_license_upload(&record.request.body, &mut report)
                        .await;
                }
                return report;
            };
            report.error = Some(error);
            if judgement.refused && self.options().business_errors == BusinessErrors::Stop {
                break;
            }
        }
        let exhausted = step
            .kind
            .map_or(Exhausted::ManualRetryOnly, |k| k.on_exhausted());
        report.exhausted = Some(exhausted);
        if let (Exhausted::OrderFailedRefunded, Some(id)) = (exhausted, &created) {
            self.purchase_refunded(id);
        }
        if let Some(id) = report.message {
            self.messages().set_status(
                id,
                match exhausted {
                    Exhausted::OrderFailedRefunded => MessageStatus::Refunded,
                    Exhausted::ManualRetryOnly => MessageStatus::Failed,
                },
            );
        }
        report
    }

    /// Polls `queryInstance` until it shows app info; `None` on success, else why not.
    async fn poll(
        &self,
        flow: &Flow,
        index: usize,
        step_start: DateTime<Utc>,
        bindings: &Bindings,
        report: &mut StepReport,
    ) -> Option<String> {
        let Some(instance_id) = bindings.get("instanceId").map(str::to_owned) else {
            return Some("000004 without an instanceId to poll".to_owned());
        };
        let template = json!({
            "activity": "queryInstance",
            "instanceId": "${instanceId}",
            "testFlag": "${testFlag}",
        });
        let accept = vec!["000000".to_owned()];
        for n in 1..=self.options().max_polls {
            self.clock().advance(self.options().poll_interval);
            let offset = (self.clock().now() - step_start)
                .to_std()
                .unwrap_or_default();
            let call = Call {
                flow: &flow.name,
                step: index,
                trigger: Trigger::Poll,
                attempt: n,
                offset,
                template: &template,
                bindings,
                accept: &accept,
            };
            let Ok(outcome) = self.exchange(call).await else {
                break;
            };
            report.exchanges.push(outcome.record.id);
            if outcome
                .reply
                .as_ref()
                .is_some_and(|reply| has_app_info(reply, &instance_id))
            {
                return None;
            }
        }
        Some(format!(
            "000004: no appInfo for {instance_id} after {} queryInstance polls",
            self.options().max_polls
        ))
    }
}
