//! Fault injection: KooGallery and the network misbehaving the ways they do in production, each
//! switchable per run (`EngineOptions::faults`, `koogate sim --fault ...`).
//!
//! Faults touch the step calls of a flow (scheduled attempts), never the `queryInstance` polls
//! nor a manual "重新启动". Every extra request a fault makes is an exchange of its own, tagged
//! with its [`FaultKind`] and carrying the fault's expectation as verdicts, so KooGallery's own
//! judgement of the call (and the flow's outcome) stays what it would be without the fault:
//!
//! | fault | what the simulator does | expected verdict |
//! |---|---|---|
//! | `duplicate` | after each call, delivers it again: same body, fresh nonce and timestamp | accepted, same `resultCode` and `instanceId` |
//! | `concurrent=N` | sends N copies at once: same body, each signed separately | all accepted, same `resultCode` and `instanceId` |
//! | `reorder` | see below | the released instance shows no `appInfo` |
//! | `timeout=MS` | first attempt of each step gives up after MS; the schedule retries | the late answer equals the retry's |
//! | `skew=SECS`, \|SECS\| > 60 | before each call, sends it signed SECS off | refused: HTTP 200, `000001` |
//! | `skew=SECS`, \|SECS\| ≤ 60 | signs every call SECS off | none: the calls themselves must succeed |
//! | `replay` | after each call, re-sends the exact signed request | refused: HTTP 200, `000001` |
//! | `tamper-body`, `tamper-signature` | before each call, sends it with one byte flipped after signing | refused: HTTP 200, `000001` |
//! | `never=ACTIVITY` | never sends that activity's steps (KooGallery gave up on them unseen); the step's order is still placed | none: the vendor must notice by reconciling |
//!
//! **Reorder**, precisely: when `newInstance` answers `000004` (provisioning asynchronously) on
//! its first attempt, the flow's next step is played *before* KooGallery polls `queryInstance`
//! for the app info, i.e. the next lifecycle call overtakes the end of provisioning. This is the
//! one reordering KooGallery really produces: it does not wait for the vendor's provisioning to
//! send a refund's or an expiry's `releaseInstance`. Every other pair of calls for one instance
//! is sent only after the previous call was answered, so swapping them would test a sequence the
//! marketplace never produces. When the overtaking step was a `releaseInstance`, the deferred
//! poll is a single `queryInstance` that must show the instance without `appInfo` (or not at
//! all): released stays released, even when the vendor finishes provisioning later.
//!
//! **Client timeout**: KooGallery gives up on the first attempt after the short timeout; the
//! simulator keeps reading that connection (KooGallery's verdict is still a timeout), so that the
//! vendor is not interrupted and commits while nobody waits for it. The retry waits for that late
//! answer, as the real retry an hour later would, and must get the same answer.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::produce_client::{Reply, SendError};
use crate::scenario::{Check, ExchangeRecord, judge};

/// The scheme-A replay window (spec saas-v2 §2.2): a timestamp further off than this is refused.
pub const SKEW_WINDOW_SECS: i64 = 60;

/// The `resultCode` a vendor answers to a request that fails authentication (saas-v2 §2.2, §5).
pub const AUTH_FAILED: &str = "000001";

/// The most copies `concurrent=N` sends at once (more says nothing new and exhausts sockets).
pub const MAX_CONCURRENT: usize = 200;

/// Which byte `tamper` flips after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tamper {
    /// A character inside the body's last string value.
    Body,
    /// A hex digit of the `signature` query parameter.
    Signature,
}

/// The faults of one run. [`Faults::default`] injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Deliver each call twice, one after the other.
    pub duplicate: bool,
    /// Send this many copies of each call at once (at least 2).
    pub concurrent: Option<usize>,
    /// Play the next step before polling an asynchronous `newInstance` (see the module docs).
    pub reorder: bool,
    /// Give up on each step's first attempt after this long.
    pub client_timeout: Option<Duration>,
    /// Sign with a timestamp this far off (positive: in the future).
    pub clock_skew: Option<chrono::Duration>,
    /// Re-send each signed request verbatim after its answer.
    pub replay_nonce: bool,
    /// Flip a byte of each call after signing, and send that first.
    pub tamper: Option<Tamper>,
    /// Activities whose steps are never sent, while the order book moves on as if they had
    /// been: a FREEZE at expiry or a release KooGallery stopped retrying before it arrived.
    pub never_send: Vec<String>,
}

/// Tags the exchanges a fault added (`ExchangeRecord::fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The second delivery of a call.
    Duplicate,
    /// A copy (the second and later) of a call sent N times at once.
    Concurrent,
    /// The poll of a released instance after a step overtook it.
    Reorder,
    /// The late answer to an attempt KooGallery had abandoned.
    ClientTimeout,
    /// A request signed with a timestamp outside the window.
    ClockSkew,
    /// A verbatim re-send of an answered request.
    ReplayNonce,
    TamperBody,
    TamperSignature,
}

impl FaultKind {
    /// How the timeline names it.
    pub fn label(self) -> &'static str {
        match self {
            FaultKind::Duplicate => "duplicate",
            FaultKind::Concurrent => "concurrent",
            FaultKind::Reorder => "reorder",
            FaultKind::ClientTimeout => "late answer",
            FaultKind::ClockSkew => "skewed",
            FaultKind::ReplayNonce => "replayed",
            FaultKind::TamperBody => "tampered body",
            FaultKind::TamperSignature => "tampered signature",
        }
    }
}

/// A `--fault` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault `{spec}`: {problem}")]
pub struct FaultError {
    pub spec: String,
    pub problem: String,
}

/// The spellings [`Faults::add`] understands, for usage messages.
pub const SPELLINGS: &str = "duplicate, concurrent=N, reorder, timeout=MS, skew=SECS, replay, tamper-body, tamper-signature, never=ACTIVITY";

impl Faults {
    /// Parses every spec (see [`Faults::add`]).
    pub fn parse<S: AsRef<str>>(specs: impl IntoIterator<Item = S>) -> Result<Self, FaultError> {
        let mut faults = Self::default();
        for spec in specs {
            faults.add(spec.as_ref())?;
        }
        Ok(faults)
    }

    /// Switches on one fault: `duplicate`, `concurrent=N`, `reorder`, `timeout=MS`, `skew=SECS`
    /// (may be negative), `replay`, `tamper-body`, `tamper-signature` or `never=ACTIVITY`.
    pub fn add(&mut self, spec: &str) -> Result<(), FaultError> {
        let fail = |problem: &str| FaultError {
            spec: spec.to_owned(),
            problem: problem.to_owned(),
        };
        let (name, value) = match spec.trim().split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (spec.trim(), None),
        };
        let number = |what: &str| -> Result<i64, FaultError> {
            value
                .and_then(|v| i64::from_str(v).ok())
                .ok_or_else(|| fail(&format!("needs {what}, as in `{name}=...`")))
        };
        match (name, value) {
            ("duplicate", None) => self.duplicate = true,
            ("reorder", None) => self.reorder = true,
            ("replay", None) => self.replay_nonce = true,
            ("tamper-body" | "tamper-signature", None) => {
                let tamper = if name == "tamper-body" {
                    Tamper::Body
                } else {
                    Tamper::Signature
                };
                if self.tamper.is_some_and(|t| t != tamper) {
                    return Err(fail("tamper-body and tamper-signature exclude each other"));
                }
                self.tamper = Some(tamper);
            }
            ("concurrent", Some(_)) => {
                let n = usize::try_from(number("a number of copies")?)
                    .ok()
                    .filter(|n| (2..=MAX_CONCURRENT).contains(n))
                    .ok_or_else(|| fail(&format!("copies must be 2 to {MAX_CONCURRENT}")))?;
                self.concurrent = Some(n);
            }
            ("timeout", Some(_)) => {
                let ms = u64::try_from(number("milliseconds")?)
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| fail("the timeout must be a positive number of ms"))?;
                self.client_timeout = Some(Duration::from_millis(ms));
            }
            ("skew", Some(_)) => {
                let secs = number("seconds")?;
                let skew = chrono::Duration::try_seconds(secs)
                    .filter(|s| !s.is_zero())
                    .ok_or_else(|| fail("the skew must be a non-zero number of seconds"))?;
                self.clock_skew = Some(skew);
            }
            ("never", Some(activity)) => {
                if activity.is_empty() || !activity.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(fail(
                        "needs an activity name, as in `never=releaseInstance`",
                    ));
                }
                if !self.never_send.iter().any(|a| a == activity) {
                    self.never_send.push(activity.to_owned());
                }
            }
            _ => return Err(fail(&format!("unknown; one of: {SPELLINGS}"))),
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether steps of `activity` are never sent.
    pub fn never_sends(&self, activity: &str) -> bool {
        self.never_send.iter().any(|a| a == activity)
    }

    /// The skew to sign genuine calls with: only one inside the window (further off, the
    /// skewed request is a separate probe that must be refused).
    pub fn signing_offset_ms(&self) -> i64 {
        match self.clock_skew {
            Some(skew) if skew.num_seconds().abs() <= SKEW_WINDOW_SECS => skew.num_milliseconds(),
            _ => 0,
        }
    }

    /// The skew of the probe that must be refused, when the skew is outside the window.
    pub fn refused_skew(&self) -> Option<chrono::Duration> {
        self.clock_skew
            .filter(|skew| skew.num_seconds().abs() > SKEW_WINDOW_SECS)
    }

    /// One line per fault with its expectation, for banners.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.duplicate {
            lines.push("duplicate: every call delivered twice; same answer expected".to_owned());
        }
        if let Some(n) = self.concurrent {
            lines.push(format!(
                "concurrent={n}: every call sent {n} times at once; same answer expected"
            ));
        }
        if self.reorder {
            lines.push(
                "reorder: the next step overtakes the poll of a provisioning instance".to_owned(),
            );
        }
        if let Some(t) = self.client_timeout {
            lines.push(format!(
                "timeout={}: first attempts abandoned after {} ms; the retry must get the same answer",
                t.as_millis(),
                t.as_millis()
            ));
        }
        if let Some(skew) = self.clock_skew {
            let secs = skew.num_seconds();
            lines.push(match self.refused_skew() {
                Some(_) => {
                    format!("skew={secs}: a copy signed {secs} s off must be refused (000001)")
                }
                None => format!("skew={secs}: calls signed {secs} s off, inside the 60 s window"),
            });
        }
        if self.replay_nonce {
            lines
                .push("replay: every request re-sent verbatim must be refused (000001)".to_owned());
        }
        if let Some(t) = self.tamper {
            let what = match t {
                Tamper::Body => "body",
                Tamper::Signature => "signature",
            };
            lines.push(format!(
                "tamper-{what}: a copy with one {what} byte flipped must be refused (000001)"
            ));
        }
        for activity in &self.never_send {
            lines.push(format!(
                "never={activity}: {activity} is never sent; the vendor must find out by reconciling"
            ));
        }
        lines
    }
}

/// The body with one character of its last string value changed. The last ASCII letter or
/// digit is XOR-ed with 1, which keeps it printable and never makes it a quote or a backslash,
/// so the body stays valid JSON and only the signature check can catch it.
pub fn tamper_body(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    if let Some(byte) = out.iter_mut().rev().find(|b| b.is_ascii_alphanumeric()) {
        *byte ^= 1;
    }
    out
}

/// The signature with its last hex digit replaced by another one: still well-formed, wrong.
pub fn tamper_signature(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

/// The checks of a probe that must be refused: an answer, HTTP 200, JSON, and `000001`.
pub fn refusal_checks(outcome: Result<&Reply, &SendError>, timeout: Duration) -> Vec<Check> {
    // An empty activity: a refusal carries no instanceId, and none is asked for.
    let accept = [AUTH_FAILED.to_owned()];
    let mut checks = judge("", outcome, &accept, timeout).checks;
    if let Some(last) = checks.last_mut()
        && last.name == "resultCode accepted"
    {
        last.name = format!("refused with {AUTH_FAILED}");
    }
    checks
}

/// Whether `other` answered like `reference` did: the same `resultCode` and `instanceId`
/// (saas-v2 §3.1: a repeated call gets the same instance). Byte identity is reported in the
/// detail but not required: a vendor may word `resultMsg` differently each time.
pub fn alike_check(name: &str, reference: &Reply, other: Result<&Reply, &SendError>) -> Check {
    let Ok(other) = other else {
        return Check::fail(name, "no answer to compare");
    };
    let key = |reply: &Reply| {
        let parsed = reply.parsed.as_ref().ok();
        (
            reply.result_code().map(str::to_owned),
            parsed.and_then(|p| p.instance_id.clone()),
        )
    };
    let (expected, got) = (key(reference), key(other));
    if expected != got {
        return Check::fail(
            name,
            format!(
                "answered {} / {} instead of {} / {}",
                got.0.as_deref().unwrap_or("?"),
                got.1.as_deref().unwrap_or("no instanceId"),
                expected.0.as_deref().unwrap_or("?"),
                expected.1.as_deref().unwrap_or("no instanceId"),
            ),
        );
    }
    let mut check = Check::pass(name);
    if reference.body != other.body {
        check.detail = Some("same resultCode and instanceId; the bytes differ".to_owned());
    }
    check
}

/// The fault exchanges whose expectation failed (an empty list: the target held up).
pub fn violations(records: &[ExchangeRecord]) -> Vec<&ExchangeRecord> {
    records
        .iter()
        .filter(|r| r.fault.is_some() && !r.ok)
        .collect()
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
