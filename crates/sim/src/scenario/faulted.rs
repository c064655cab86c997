//! The engine's side of fault injection: sends one step call with the configured faults and
//! records every extra exchange, tagged with its fault and judged by the fault's expectation.
//! What each fault means, and why, is in [`crate::faults`]; the client timeout's late answers
//! are in `late`, the reordering in `reorder`.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::engine::Engine;
use super::exchange::{Call, Outcome, Sent};
use super::judge::{Judgement, judge};
use super::late::Late;
use super::record::Check;
use super::reorder::Ahead;
use crate::faults::{
    FaultKind, Tamper, alike_check, refusal_checks, tamper_body, tamper_signature,
};
use crate::produce_client::{Auth, Reply, SendError, SignedRequest};

/// What fault injection remembers between exchanges. Part of the engine, shared by its clones.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    /// Answers to abandoned attempts, compared with the step's next attempt.
    pub late: Mutex<Vec<Late>>,
    /// Steps played ahead of an earlier step's poll (`reorder`), with the bindings they left.
    pub ahead: Mutex<Vec<Ahead>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Pushes and removals only: a poisoned lock still holds consistent data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `judgement` with one more check, `ok` recomputed.
pub(super) fn with_check(mut judgement: Judgement, check: Option<Check>) -> Judgement {
    judgement.checks.extend(check);
    judgement.ok = judgement.checks.iter().all(|c| c.ok);
    judgement
}

fn judged(checks: Vec<Check>) -> Judgement {
    Judgement {
        ok: checks.iter().all(|c| c.ok),
        checks,
        result_code: None,
        instance_id: None,
        in_progress: false,
        refused: false,
    }
}

pub(super) async fn joined(task: JoinHandle<Result<Reply, SendError>>) -> Result<Reply, SendError> {
    task.await
        .unwrap_or_else(|err| Err(SendError::Other(format!("send task failed: {err}"))))
}

impl Engine {
    /// One step call with faults: refusal probes first, then the call (N copies at once, or
    /// abandoned early), then the duplicate and the replay. Returns the call's own outcome,
    /// judged as without faults.
    pub(super) async fn exchange_faulted(
        &self,
        call: &Call<'_>,
        activity: &str,
        at: DateTime<Utc>,
        bytes: Vec<u8>,
    ) -> Outcome {
        let faults = &self.options().faults;
        let client = self.client();
        if let Some(tamper) = faults.tamper {
            let mut request = client.sign_bytes(bytes.clone(), &Auth::default());
            let kind = match tamper {
                Tamper::Body => {
                    request.body = tamper_body(&request.body);
                    FaultKind::TamperBody
                }
                Tamper::Signature => {
                    request.signature = request.signature.as_deref().map(tamper_signature);
                    FaultKind::TamperSignature
                }
            };
            self.probe(call, activity, at, request, kind).await;
        }
        if let Some(skew) = faults.refused_skew() {
            let request = client.sign_bytes(bytes.clone(), &Auth::skewed(skew.num_milliseconds()));
            self.probe(call, activity, at, request, FaultKind::ClockSkew)
                .await;
        }
        let auth = Auth::skewed(faults.signing_offset_ms());
        let (first, outcome) = self.send_copies(call, activity, at, &bytes, &auth).await;
        let reference = outcome.reply.as_ref();
        if faults.duplicate {
            let request = client.sign_bytes(bytes, &auth);
            let result = client.send(&request).await;
            let sent = Sent {
                at,
                request,
                result,
            };
            let name = "answered like the first delivery";
            self.keep_copy(call, activity, sent, reference, name, FaultKind::Duplicate);
        }
        if faults.replay_nonce {
            self.probe(call, activity, at, first, FaultKind::ReplayNonce)
                .await;
        }
        outcome
    }

    /// The call itself: `concurrent=N` copies at once (else one), the first abandoned early
    /// under `timeout=MS` on the step's first attempt. Returns the first request and its
    /// outcome; the other copies are recorded as fault exchanges compared with it.
    async fn send_copies(
        &self,
        call: &Call<'_>,
        activity: &str,
        at: DateTime<Utc>,
        bytes: &[u8],
        auth: &Auth,
    ) -> (SignedRequest, Outcome) {
        let faults = &self.options().faults;
        let copies = faults.concurrent.unwrap_or(1);
        let client = self.client();
        let mut requests: Vec<SignedRequest> = (0..copies)
            .map(|_| client.sign_bytes(bytes.to_vec(), auth))
            .collect();
        // Every copy is in flight before the first is awaited: they reach the target together.
        let mut tasks: Vec<_> = requests
            .iter()
            .map(|request| {
                let (client, request) = (client.clone(), request.clone());
                tokio::spawn(async move { client.send(&request).await })
            })
            .collect();
        let (first, first_task) = (requests.remove(0), tasks.remove(0));
        let result = match faults.client_timeout.filter(|_| call.attempt == 1) {
            Some(short) => {
                self.abandon_after(call, activity, at, &first, first_task, short)
                    .await
            }
            None => joined(first_task).await,
        };
        let sent = Sent {
            at,
            request: first.clone(),
            result,
        };
        let outcome = self.keep(call, activity, sent, None);
        let reference = outcome.reply.as_ref();
        self.compare_late(call, reference);
        let name = format!("answered like the first of {copies} concurrent copies");
        for (request, task) in requests.into_iter().zip(tasks) {
            let result = joined(task).await;
            let sent = Sent {
                at,
                request,
                result,
            };
            self.keep_copy(
                call,
                activity,
                sent,
                reference,
                &name,
                FaultKind::Concurrent,
            );
        }
        (first, outcome)
    }

    /// Sends a request that must be refused with `000001`, and records it.
    async fn probe(
        &self,
        call: &Call<'_>,
        activity: &str,
        at: DateTime<Utc>,
        request: SignedRequest,
        kind: FaultKind,
    ) {
        let result = self.client().send(&request).await;
        let judgement = judged(refusal_checks(result.as_ref(), self.options().timeout));
        let sent = Sent {
            at,
            request,
            result,
        };
        self.keep_judged(call, activity, sent, judgement, Some(kind));
    }

    /// Records a second delivery of a call, judged as KooGallery would judge it and compared
    /// with the first answer.
    fn keep_copy(
        &self,
        call: &Call<'_>,
        activity: &str,
        sent: Sent,
        reference: Option<&Reply>,
        name: &str,
        kind: FaultKind,
    ) {
        let timeout = self.options().timeout;
        let judgement = judge(activity, sent.result.as_ref(), call.accept, timeout);
        let alike = reference.map(|r| alike_check(name, r, sent.result.as_ref()));
        self.keep_judged(
            call,
            activity,
            sent,
            with_check(judgement, alike),
            Some(kind),
        );
    }
}
