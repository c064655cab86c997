//! One exchange: tell the attempt hook, fill the template, sign, send, judge, record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::engine::{AttemptInfo, Engine};
use super::judge::{Judgement, judge};
use super::record::{Check, ExchangeRecord, RequestRecord, ResponseRecord, Trigger};
use super::template::{Bindings, Unbound, render};
use crate::faults::FaultKind;
use crate::message_log::Message;
use crate::produce_client::{Auth, Body, Reply, SendError, SignedRequest};

/// Everything one exchange needs besides the engine.
#[derive(Debug, Clone)]
pub(super) struct Call<'a> {
    pub flow: &'a str,
    pub step: usize,
    pub trigger: Trigger,
    pub attempt: u32,
    /// Since the step's first attempt.
    pub offset: Duration,
    pub template: &'a Value,
    pub bindings: &'a Bindings,
    pub accept: &'a [String],
}

/// One request as it went out, and what came of it.
#[derive(Debug)]
pub(super) struct Sent {
    /// Virtual time of the exchange.
    pub at: DateTime<Utc>,
    pub request: SignedRequest,
    pub result: Result<Reply, SendError>,
}

/// The recorded exchange, how it was judged and the reply (for polls that look inside it).
#[derive(Debug)]
pub(super) struct Outcome {
    pub record: ExchangeRecord,
    pub judgement: Judgement,
    pub reply: Option<Reply>,
}

impl Engine {
    /// Makes one exchange at the clock's current time and records it.
    pub(super) async fn exchange(&self, call: Call<'_>) -> Result<Outcome, Unbound> {
        let (activity, at, bytes) = self.prepare(&call)?;
        // Fault injection touches the step calls only, never polls or manual retries (see
        // `crate::faults`); without faults this is the plain path below.
        if call.trigger == Trigger::Scheduled && !self.options().faults.is_empty() {
            return Ok(self.exchange_faulted(&call, &activity, at, bytes).await);
        }
        let request = self.client().sign_bytes(bytes, &Auth::default());
        let result = self.client().send(&request).await;
        Ok(self.keep(
            &call,
            &activity,
            Sent {
                at,
                request,
                result,
            },
            None,
        ))
    }

    /// Fills the template, tells the attempt hook, and returns the activity, the virtual time
    /// and the body bytes to sign.
    pub(super) fn prepare(
        &self,
        call: &Call<'_>,
    ) -> Result<(String, DateTime<Utc>, Vec<u8>), Unbound> {
        let body = render(call.template, call.bindings)?;
        let activity = body
            .get("activity")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let at = self.clock().now();
        self.notify_attempt(&AttemptInfo {
            flow: call.flow.to_owned(),
            step: call.step,
            activity: activity.clone(),
            trigger: call.trigger,
            attempt: call.attempt,
            at,
            since_start: self.clock().elapsed(),
            offset: call.offset,
        });
        Ok((activity.clone(), at, to_body(&activity, &body).to_bytes()))
    }

    /// Judges an answer as KooGallery does (the step's accepted codes, the engine's timeout),
    /// then records it.
    pub(super) fn keep(
        &self,
        call: &Call<'_>,
        activity: &str,
        sent: Sent,
        fault: Option<FaultKind>,
    ) -> Outcome {
        let timeout = self.options().timeout;
        let judgement = judge(activity, sent.result.as_ref(), call.accept, timeout);
        self.keep_judged(call, activity, sent, judgement, fault)
    }

    /// Records an exchange with a judgement made by the caller (fault probes expect refusals).
    pub(super) fn keep_judged(
        &self,
        call: &Call<'_>,
        activity: &str,
        sent: Sent,
        judgement: Judgement,
        fault: Option<FaultKind>,
    ) -> Outcome {
        let Sent {
            at,
            request,
            result,
        } = sent;
        let client = self.client();
        let (response, error, reply) = match result {
            Ok(reply) => (Some(ResponseRecord::from(&reply)), None, Some(reply)),
            Err(err) => (None, Some(err.to_string()), None),
        };
        let mut record = ExchangeRecord {
            id: 0,
            flow: call.flow.to_owned(),
            step: call.step,
            activity: activity.to_owned(),
            trigger: call.trigger,
            attempt: call.attempt,
            at,
            offset_secs: call.offset.as_secs(),
            request: RequestRecord::new(&client.config().url, &request),
            response,
            error,
            ok: judgement.ok,
            verdicts: judgement.checks.clone(),
            fault,
        };
        record.id = self.exchanges().push(record.clone());
        tracing::info!(
            flow = call.flow,
            step = call.step,
            activity = %record.activity,
            attempt = call.attempt,
            trigger = ?call.trigger,
            fault = fault.map(FaultKind::label),
            at = %at,
            ok = record.ok,
            error = judgement.error().unwrap_or_default(),
            "simulated KooGallery call"
        );
        Outcome {
            record,
            judgement,
            reply,
        }
    }

    /// One manual retry of a message's call ("重新启动"), now. Returns the record and, for a
    /// `newInstance`, the instance ID it answered.
    pub(crate) async fn resend(&self, message: &Message) -> (ExchangeRecord, Option<String>) {
        let mut bindings = message.resend.bindings.clone();
        bindings.set("businessId", fresh_business_id());
        let offset = (self.clock().now() - message.first_failure)
            .to_std()
            .unwrap_or_default();
        let manual_so_far = self
            .exchanges()
            .all()
            .iter()
            .filter(|r| message.exchanges.contains(&r.id) && r.trigger == Trigger::Manual)
            .count();
        let call = Call {
            flow: &message.flow,
            step: message.step,
            trigger: Trigger::Manual,
            attempt: u32::try_from(manual_so_far).unwrap_or(u32::MAX - 1) + 1,
            offset,
            template: &message.resend.body,
            bindings: &bindings,
            accept: &message.resend.accept,
        };
        match self.exchange(call).await {
            Ok(outcome) => (outcome.record, outcome.judgement.instance_id),
            Err(unbound) => (self.unsent(message, &unbound), None),
        }
    }

    /// Records a call that could not even be built (a placeholder without a value).
    pub(super) fn unsent_record(
        &self,
        flow: &str,
        step: usize,
        activity: &str,
        unbound: &Unbound,
    ) -> ExchangeRecord {
        let mut record = ExchangeRecord {
            id: 0,
            flow: flow.to_owned(),
            step,
            activity: activity.to_owned(),
            trigger: Trigger::Scheduled,
            attempt: 1,
            at: self.clock().now(),
            offset_secs: 0,
            request: RequestRecord {
                url: self.client().config().url.clone(),
                timestamp: None,
                nonce: None,
                signature: None,
                body: Value::Null,
            },
            response: None,
            error: Some(unbound.to_string()),
            verdicts: vec![Check::fail("request built", unbound.to_string())],
            ok: false,
            fault: None,
        };
        record.id = self.exchanges().push(record.clone());
        record
    }

    fn unsent(&self, message: &Message, unbound: &Unbound) -> ExchangeRecord {
        self.unsent_record(&message.flow, message.step, &message.activity, unbound)
    }
}

/// The produce client's body type, whose bytes have every object's keys sorted.
fn to_body(activity: &str, rendered: &Value) -> Body {
    let mut body = Body::new(activity).without_test_flag();
    if let Value::Object(fields) = rendered {
        for (name, value) in fields {
            body = body.set(name, value.clone());
        }
    }
    body
}

/// The spec wants a different `businessId` on every request, retries included (saas-v2 §3.1).
pub(super) fn fresh_business_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
