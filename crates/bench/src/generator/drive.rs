//! The timed loop: `concurrency` tasks, each with its own keep-alive connection from the pool,
//! take the next prepared job and send its requests one after another. A request counts when it
//! *started* inside the measured window; nothing new starts after the window ends. A cycling
//! source ([`Source::cycle`]) takes its jobs in turn again and again and never runs out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use koogate_sim::produce_client::REQUEST_CONTENT_TYPE;

use super::prepare::{Job, Prepared};
use crate::plan::LoadResult;
use crate::stats::Latency;

const MAX_SAMPLES: usize = 5;

/// When the window opens and closes.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub end: Instant,
}

/// The prepared jobs and how to take them.
#[derive(Debug)]
pub struct Source {
    pub jobs: Vec<Job>,
    /// Take the jobs in turn forever rather than once each.
    pub cycle: bool,
    /// The result code that counts as answered (`000000`, or `000004` for a burst).
    pub expected: &'static str,
}

impl Source {
    /// Every job once, success expected.
    pub fn once(jobs: Vec<Job>) -> Self {
        Self {
            jobs,
            cycle: false,
            expected: "000000",
        }
    }

    fn job(&self, index: usize) -> Option<&Job> {
        if self.cycle && !self.jobs.is_empty() {
            self.jobs.get(index % self.jobs.len())
        } else {
            self.jobs.get(index)
        }
    }
}

impl Window {
    pub fn after(warmup: Duration, measure: Duration) -> Self {
        let measure_from = Instant::now() + warmup;
        Self {
            measure_from,
            end: measure_from + measure,
        }
    }

    /// Everything counts, until everything is sent (setup requests).
    pub fn unbounded() -> Self {
        let now = Instant::now();
        Self {
            measure_from: now,
            end: now + Duration::from_secs(24 * 3600),
        }
    }
}

/// What one task saw.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    ok: u64,
    errors: u64,
    codes: BTreeMap<String, u64>,
    samples: Vec<String>,
    last_done: Option<Instant>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: Result<String, String>, expected: &str) {
        let done = Instant::now();
        let micros = done.duration_since(started).as_micros();
        self.latencies_us
            .push(u32::try_from(micros).unwrap_or(u32::MAX));
        self.last_done = Some(done);
        let label = match outcome {
            Ok(code) if code == expected => {
                self.ok += 1;
                code
            }
            Ok(code) => {
                self.fail(format!("result code {code}"));
                code
            }
            Err(err) => {
                let label = if err.starts_with("http ") {
                    err.clone()
                } else {
                    "no answer".to_owned()
                };
                self.fail(err);
                label
            }
        };
        *self.codes.entry(label).or_default() += 1;
    }

    fn fail(&mut self, detail: String) {
        self.errors += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(detail);
        }
    }
}

/// Sends the jobs of `source` with `concurrency` tasks until they run out or the window closes.
pub async fn drive(
    client: &reqwest::Client,
    source: Source,
    concurrency: usize,
    window: Window,
) -> LoadResult {
    let jobs = Arc::new(source);
    let next = Arc::new(AtomicUsize::new(0));
    let exhausted = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, jobs, next, exhausted) = (
            client.clone(),
            jobs.clone(),
            next.clone(),
            exhausted.clone(),
        );
        tasks.spawn(async move { worker(&client, &jobs, &next, &exhausted, window).await });
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        let tally = joined.unwrap_or_else(|e| {
            let mut t = Tally::default();
            t.fail(format!("load task failed: {e}"));
            t
        });
        merge(&mut total, tally);
    }
    summarise(total, window, exhausted.load(Ordering::Relaxed))
}

async fn worker(
    client: &reqwest::Client,
    jobs: &Source,
    next: &AtomicUsize,
    exhausted: &AtomicBool,
    window: Window,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        // Checked before taking a job, so a window that simply ended is not reported as exhausted.
        if Instant::now() >= window.end {
            return tally;
        }
        let Some(job) = jobs.job(next.fetch_add(1, Ordering::Relaxed)) else {
            exhausted.store(true, Ordering::Relaxed);
            return tally;
        };
        for request in job {
            let started = Instant::now();
            if started >= window.end {
                return tally;
            }
            let outcome = send(client, request).await;
            if started >= window.measure_from {
                tally.record(started, outcome, jobs.expected);
            }
        }
    }
}

/// The result code of the answer, or why there is none.
async fn send(client: &reqwest::Client, request: &Prepared) -> Result<String, String> {
    let response = client
        .post(&request.url)
        .header(reqwest::header::CONTENT_TYPE, REQUEST_CONTENT_TYPE)
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("no answer: body: {e}"))?;
    if status != 200 {
        return Err(format!("http {status}"));
    }
    result_code(&body).ok_or_else(|| {
        format!(
            "answer without resultCode: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// `resultCode` found by scanning the bytes: parsing every answer would cost the generator
/// more CPU than the server spends on some workloads.
pub fn result_code(body: &[u8]) -> Option<String> {
    const FIELD: &[u8] = b"\"resultCode\":\"";
    let start = body.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    Some(String::from_utf8_lossy(&body[start..start + len]).into_owned())
}

fn merge(total: &mut Tally, tally: Tally) {
    total.latencies_us.extend(tally.latencies_us);
    total.ok += tally.ok;
    total.errors += tally.errors;
    for (code, n) in tally.codes {
        *total.codes.entry(code).or_default() += n;
    }
    for sample in tally.samples {
        if total.samples.len() < MAX_SAMPLES {
            total.samples.push(sample);
        }
    }
    total.last_done = total.last_done.max(tally.last_done);
}

fn summarise(total: Tally, window: Window, exhausted: bool) -> LoadResult {
    // Ran out of requests: the window ends with the last answer, not at the planned end.
    let end = if exhausted {
        total
            .last_done
            .unwrap_or(window.measure_from)
            .min(window.end)
    } else {
        window.end
    };
    let window_s = end
        .saturating_duration_since(window.measure_from)
        .as_secs_f64();
    LoadResult {
        requests: total.ok + total.errors,
        ok: total.ok,
        errors: total.errors,
        window_s,
        rps: if window_s > 0.0 {
            total.ok as f64 / window_s
        } else {
            0.0
        },
        latency: Latency::from_micros(total.latencies_us),
        codes: total.codes,
        error_samples: total.samples,
        exhausted,
        setup_requests: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u8) -> Job {
        vec![Prepared {
            url: format!("http://x/{n}"),
            body: axum::body::Bytes::new(),
        }]
    }

    #[test]
    fn a_cycling_source_never_runs_out() {
        let source = Source {
            jobs: vec![job(0), job(1)],
            cycle: true,
            expected: "000000",
        };
        assert_eq!(source.job(5).unwrap()[0].url, "http://x/1");
        assert_eq!(source.job(1_000_000).unwrap()[0].url, "http://x/0");
        let once = Source::once(vec![job(0), job(1)]);
        assert!(once.job(1).is_some() && once.job(2).is_none());
    }

    #[test]
    fn finds_the_result_code_anywhere_in_the_answer() {
        assert_eq!(
            result_code(br#"{"instanceId":"x","resultCode":"000004","resultMsg":"ok"}"#),
            Some("000004".to_owned())
        );
        assert_eq!(result_code(br#"{"resultMsg":"ok"}"#), None);
    }
}
