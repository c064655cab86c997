//! The contract between the controller and a generator process: a [`LoadPlan`] as JSON on the
//! generator's stdin, a [`LoadResult`] as JSON on its stdout. Stdin, not arguments, because the
//! plan carries the access key, and arguments are visible to every user of the machine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::Latency;

/// One measurement: what to send, how hard, for how long.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadPlan {
    /// The production-interface URL (`http://127.0.0.1:<port>/produce`).
    pub url: String,
    /// The scheme-A access key the target verifies with.
    pub key: String,
    pub workload: Workload,
    /// Concurrent keep-alive connections, each sending its next request when the last answered.
    pub concurrency: usize,
    /// Requests sent before this are not measured (connections, caches and pools warm up).
    pub warmup_ms: u64,
    /// The measured window after the warm-up.
    pub measure_ms: u64,
}

/// What the requests are. Every request is signed before the timed window with a fresh nonce,
/// so the generator's own signing never limits the rate; `budget` is how many are prepared. A
/// window that uses them all up ends early and says so ([`LoadResult::exhausted`]). The
/// ceilings are the exception: they never run out (see [`Workload::Ceiling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Workload {
    /// `queryInstance` bodies for a ceiling server. Neither ceiling looks at the body or the
    /// signature (the HTTP ceiling answers a fixed body, the storage ceiling commits under a key
    /// of its own), so `prepared` requests are sent again and again, in turn, for as long as
    /// the window lasts: the source is unbounded, its memory is not, and reuse changes nothing
    /// the ceiling does.
    Ceiling { prepared: usize },
    /// `newInstance` for sandbox orders never bought before, from `first_order` on.
    Fresh { first_order: usize, budget: usize },
    /// `newInstance` again for orders `0..orders` (created first if needed): KooGallery's retry.
    Replay { orders: usize, budget: usize },
    /// `queryInstance` naming `ids_per_call` of the instances of orders `0..pool`.
    Query {
        ids_per_call: usize,
        pool: usize,
        budget: usize,
    },
    /// Whole lifecycles (new, query, renew, freeze, unfreeze, release) of fresh orders from
    /// `first_order` on, with one call in nine sent twice (10 % of all requests are duplicates).
    Mixed {
        first_order: usize,
        lifecycles: usize,
    },
    /// `newInstance` for `purchases` fresh orders from `first_order` on, every one sent, no
    /// window: the burst of the outbox drain line. The target has a vendor hook, so each answer
    /// is `000004` (the hook provisions) and each purchase enqueues its webhook events.
    Burst {
        first_order: usize,
        purchases: usize,
    },
}

impl Workload {
    /// The result code every answer must carry to count as answered.
    pub fn expected_code(&self) -> &'static str {
        match self {
            Self::Burst { .. } => "000004",
            _ => "000000",
        }
    }

    /// `true` when the prepared requests are sent again in turn instead of running out.
    pub fn cycles(&self) -> bool {
        matches!(self, Self::Ceiling { .. })
    }
}

/// What a generator measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    /// Requests measured: started in the measured window, answered or not (`ok + errors`).
    /// On the outbox drain line: webhook events delivered in its measured interval.
    #[serde(default)]
    pub requests: u64,
    /// Requests started in the measured window and answered as expected (`000000`).
    pub ok: u64,
    /// Requests started in the measured window that failed: no answer, a status other than 200,
    /// or another result code.
    pub errors: u64,
    /// The measured window in seconds (shorter than planned when the budget ran out).
    pub window_s: f64,
    /// `ok / window_s`.
    pub rps: f64,
    /// Latency of the measured requests, answered or not.
    pub latency: Latency,
    /// Result codes of the measured requests (`http <status>` or `no answer` for failures).
    pub codes: BTreeMap<String, u64>,
    /// The first few failures, for diagnosis.
    pub error_samples: Vec<String>,
    /// Every prepared request was sent before the window ended (never on a ceiling, whose
    /// prepared requests are sent again in turn).
    pub exhausted: bool,
    /// Requests sent, unmeasured, to create the instances the workload needs.
    pub setup_requests: u64,
}
