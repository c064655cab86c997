//! The result of a run: every ceiling and workload with its ratios, as JSON (`--json`), as a
//! table ([`table`]) and as a PNG chart ([`crate::chart`]).

pub mod table;

use serde::{Deserialize, Serialize};

use crate::crypto::CryptoCost;
use crate::plan::LoadResult;
use crate::profile::Profile;

/// The ceiling a row is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeilingKind {
    /// The HTTP stack alone: for work that needs no new durable commit of its own.
    Http,
    /// One durable single-row transaction per request: for work that commits.
    Storage,
}

impl CeilingKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Storage => "storage",
        }
    }
}

/// One measured line: a ceiling or a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable identifier (`http_ceiling`, `new_instance_fresh`, ...).
    pub key: String,
    /// Display name.
    pub name: String,
    /// What was sent and what the server did.
    pub what: String,
    pub concurrency: usize,
    #[serde(flatten)]
    pub result: LoadResult,
    /// Peak resident memory of the server process during this measurement, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// `true` when the peak covers only this measurement; `false`: since the server started.
    pub peak_rss_reset: bool,
    /// The ceiling this row is judged against (`None` for the ceilings themselves).
    pub ceiling: Option<CeilingKind>,
    /// `rps / ceiling rps`.
    pub ratio: Option<f64>,
    pub ratio_http: Option<f64>,
    pub ratio_storage: Option<f64>,
    /// `rps / crypto bound`: the share of the machine the per-request crypto takes at this rate.
    pub crypto_share: Option<f64>,
    /// The rate of every round, in order; `result` is from the best.
    #[serde(default)]
    pub round_rps: Vec<f64>,
    /// Seconds the webhook outbox needed after the window to deliver what the workload enqueued;
    /// `None` on a workload when it was still busy at the profile's limit (the next line then
    /// shares the machine with those deliveries). On the outbox drain line: from the burst's
    /// end to the last delivery.
    pub outbox_drain_s: Option<f64>,
    /// The outbox drain line's details (`None` on every other line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<Drain>,
}

/// How the outbox drain line was measured. Its row's `requests`/`ok` are the distinct events
/// delivered in the measured interval, `window_s` that interval, `rps` events per second, and
/// `setup_requests` the burst's purchases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drain {
    /// Purchases of the burst answered `000004` (the hook provisions).
    pub purchases: u64,
    /// How long the burst took, and its rate.
    pub burst_s: f64,
    pub burst_rps: f64,
    /// Distinct events the receiver got in all, during the burst included.
    pub events: u64,
    /// Events delivered after the burst's end: what was still in the outbox then.
    pub backlog_at_burst_end: u64,
    /// `burst_end`; or `first_event` when the outbox kept up with the burst (nothing left at its
    /// end), the rate then being from the first delivery to the last.
    pub measured_from: String,
    /// `false`: the outbox was not empty at the profile's limit; the rate is that of the part
    /// delivered by then.
    pub emptied: bool,
    /// Deliveries without a `webhook-id` or signature (there should be none).
    pub unsigned: u64,
}

/// The memory goals of issue 12: koogate serve's resident set idle and at peak, in MiB.
pub const IDLE_GOAL_MIB: f64 = 30.0;
pub const PEAK_GOAL_MIB: f64 = 100.0;

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub koogate_version: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    pub profile: Profile,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub cores: usize,
    pub warmup_s: f64,
    pub measure_s: f64,
    /// Rounds run; each line reports its best.
    pub rounds: usize,
    pub crypto: CryptoCost,
    pub ceilings: Vec<Row>,
    pub workloads: Vec<Row>,
    /// `koogate serve`'s resident memory once listening, before any load, in KiB: idle (goal
    /// [`IDLE_GOAL_MIB`]). The sandbox orders are not in it: the bench's own process serves them.
    pub serve_start_rss_kib: Option<u64>,
    /// `koogate serve`'s resident memory after the last workload, in KiB (idle again).
    #[serde(default)]
    pub serve_end_rss_kib: Option<u64>,
    /// The highest `peak_rss_kib` of all workload lines, in KiB (goal [`PEAK_GOAL_MIB`]).
    #[serde(default)]
    pub serve_peak_rss_kib: Option<u64>,
    /// `SANDBOX*` orders placed (largest round), in the open-API simulator the bench serves from
    /// its own process, which koogate serve queries as it would KooGallery: not koogate serve's
    /// memory.
    #[serde(default)]
    pub sandbox_orders: usize,
}

/// Each line's best round: the highest rate (noise only ever slows a line down), with every
/// round's rate kept in `round_rps` and the peak memory the highest of all rounds.
pub fn best_of(rounds: Vec<Vec<Row>>) -> Vec<Row> {
    let mut rounds = rounds.into_iter();
    let Some(first) = rounds.next() else {
        return Vec::new();
    };
    let mut best: Vec<Row> = first
        .into_iter()
        .map(|row| Row {
            round_rps: vec![row.result.rps],
            ..row
        })
        .collect();
    for round in rounds {
        for row in round {
            let Some(kept) = best.iter_mut().find(|b| b.key == row.key) else {
                continue;
            };
            let mut rates = std::mem::take(&mut kept.round_rps);
            rates.push(row.result.rps);
            let peak = kept.peak_rss_kib.max(row.peak_rss_kib);
            if row.result.rps > kept.result.rps {
                *kept = row;
            }
            kept.round_rps = rates;
            kept.peak_rss_kib = peak;
        }
    }
    best
}

/// The cheapest crypto measurement of all rounds.
pub fn best_crypto(rounds: impl Iterator<Item = CryptoCost>) -> CryptoCost {
    rounds
        .max_by(|a, b| a.bound_rps.total_cmp(&b.bound_rps))
        .unwrap_or_default()
}

impl Report {
    /// Fills [`Self::serve_peak_rss_kib`] from the workload lines.
    pub fn compute_peak(&mut self) {
        self.serve_peak_rss_kib = self.workloads.iter().filter_map(|r| r.peak_rss_kib).max();
    }

    fn ceiling_rps(&self, kind: CeilingKind) -> Option<f64> {
        let key = match kind {
            CeilingKind::Http => "http_ceiling",
            CeilingKind::Storage => "storage_ceiling",
        };
        self.ceilings
            .iter()
            .find(|r| r.key == key)
            .map(|r| r.result.rps)
            .filter(|rps| *rps > 0.0)
    }

    /// Fills every ratio from the measured rates.
    pub fn compute_ratios(&mut self) {
        let http = self.ceiling_rps(CeilingKind::Http);
        let storage = self.ceiling_rps(CeilingKind::Storage);
        let crypto = Some(self.crypto.bound_rps).filter(|rps| *rps > 0.0);
        let over = |rps: f64, ceiling: Option<f64>| ceiling.map(|c| rps / c);
        for row in self.ceilings.iter_mut().chain(self.workloads.iter_mut()) {
            let rps = row.result.rps;
            row.ratio_http = over(rps, http);
            row.ratio_storage = over(rps, storage);
            row.crypto_share = over(rps, crypto);
            row.ratio = match row.ceiling {
                Some(CeilingKind::Http) => row.ratio_http,
                Some(CeilingKind::Storage) => row.ratio_storage,
                None => None,
            };
        }
    }

    /// Every row that failed requests or measured nothing.
    pub fn problems(&self) -> Vec<String> {
        self.ceilings
            .iter()
            .chain(&self.workloads)
            .filter_map(|row| {
                let r = &row.result;
                if r.errors > 0 {
                    Some(format!(
                        "{}: {} failed requests, e.g. {}",
                        row.name,
                        r.errors,
                        r.error_samples.first().map_or("?", String::as_str)
                    ))
                } else if r.ok == 0 {
                    Some(format!("{}: no request answered in the window", row.name))
                } else {
                    None
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn row(key: &str, rps: f64, ceiling: Option<CeilingKind>) -> Row {
        Row {
            key: key.to_owned(),
            name: key.replace('_', " "),
            what: String::new(),
            concurrency: 16,
            result: LoadResult {
                requests: (rps * 3.0) as u64,
                ok: (rps * 3.0) as u64,
                rps,
                window_s: 3.0,
                ..LoadResult::default()
            },
            peak_rss_kib: Some(20_480),
            peak_rss_reset: true,
            ceiling,
            ratio: None,
            ratio_http: None,
            ratio_storage: None,
            crypto_share: None,
            round_rps: vec![rps],
            outbox_drain_s: Some(0.0),
            drain: None,
        }
    }

    pub fn sample() -> Report {
        let mut report = Report {
            koogate_version: "0.1.0".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            profile: Profile::Quick,
            backend: "sqlite".into(),
            cores: 2,
            warmup_s: 0.5,
            measure_s: 3.0,
            rounds: 1,
            crypto: CryptoCost {
                bound_rps: 100_000.0,
                ..CryptoCost::default()
            },
            ceilings: vec![
                row("http_ceiling", 10_000.0, None),
                row("storage_ceiling", 2_000.0, None),
            ],
            workloads: vec![
                row("new_instance_fresh", 500.0, Some(CeilingKind::Storage)),
                row("query_instance_1", 1_000.0, Some(CeilingKind::Http)),
            ],
            serve_start_rss_kib: Some(10_240),
            serve_end_rss_kib: Some(15_360),
            serve_peak_rss_kib: None,
            sandbox_orders: 1_000,
        };
        let mut drain = row("outbox_drain", 1_500.0, Some(CeilingKind::Storage));
        drain.drain = Some(Drain {
            purchases: 1_000,
            burst_s: 2.0,
            burst_rps: 500.0,
            events: 2_000,
            backlog_at_burst_end: 1_200,
            measured_from: "burst_end".into(),
            emptied: true,
            unsigned: 0,
        });
        report.workloads.push(drain);
        report.compute_ratios();
        report.compute_peak();
        report
    }

    #[test]
    fn ratios_use_the_ceiling_of_the_workload() {
        let report = sample();
        let fresh = &report.workloads[0];
        assert_eq!(fresh.ratio, Some(0.25));
        assert_eq!(fresh.ratio_http, Some(0.05));
        assert_eq!(fresh.crypto_share, Some(0.005));
        assert_eq!(report.workloads[1].ratio, Some(0.1));
        assert_eq!(report.workloads[2].ratio, Some(0.75));
        assert_eq!(report.serve_peak_rss_kib, Some(20_480));
        assert_eq!(report.ceilings[1].ratio, None);
        assert_eq!(report.ceilings[1].ratio_http, Some(0.2));
    }

    #[test]
    fn failed_requests_are_problems() {
        let mut report = sample();
        assert!(report.problems().is_empty());
        report.workloads[1].result.errors = 3;
        report.workloads[1].result.error_samples = vec!["result code 000005".into()];
        assert_eq!(report.problems().len(), 1);
        assert!(report.problems()[0].contains("000005"));
    }

    #[test]
    fn the_best_round_wins_and_every_rate_is_kept() {
        let mut slow = row("query_instance_1", 800.0, Some(CeilingKind::Http));
        slow.peak_rss_kib = Some(90_000);
        let rounds = vec![
            vec![row("query_instance_1", 1_000.0, Some(CeilingKind::Http))],
            vec![slow],
            vec![row("query_instance_1", 1_200.0, Some(CeilingKind::Http))],
        ];
        let best = best_of(rounds);
        assert_eq!(best.len(), 1);
        assert_eq!(best[0].result.rps, 1_200.0);
        assert_eq!(best[0].round_rps, [1_000.0, 800.0, 1_200.0]);
        assert_eq!(best[0].peak_rss_kib, Some(90_000));
    }

    #[test]
    fn json_round_trips() {
        let report = sample();
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), report);
    }
}
