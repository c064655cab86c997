//! The load generator: a process of its own (`koogate bench generate`), so that its CPU shows up
//! as a separate process the way KooGallery's would, and the server's peak memory is its own.
//! It reads a [`LoadPlan`] on stdin, creates what the workload needs, signs every timed request
//! up front, drives them, and writes a [`LoadResult`] on stdout.

mod drive;
mod lifecycle;
mod prepare;

use std::io::Read;
use std::time::Duration;

use anyhow::Context;
use koogate_gateway::clock::{Clock, SystemClock};

pub use drive::result_code;
pub use lifecycle::DUPLICATE_EVERY;
pub use prepare::{instance, order};

use crate::plan::{LoadPlan, LoadResult, Workload};
use drive::{Source, Window};

/// `koogate bench generate`: plan on stdin, result on stdout.
pub fn run_stdio() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the load plan from stdin")?;
    let plan: LoadPlan = serde_json::from_str(&input).context("parsing the load plan")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let result = runtime.block_on(run(&plan))?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

/// Runs one plan against its target.
pub async fn run(plan: &LoadPlan) -> anyhow::Result<LoadResult> {
    let client = http_client(plan.concurrency)?;
    let clock = SystemClock;
    let signer = prepare::Signer::new(&plan.url, &plan.key, clock.now_ms());
    let setup = prepare::setup(&signer, &plan.workload);
    let setup_requests = setup.len() as u64;
    if !setup.is_empty() {
        let done = drive::drive(
            &client,
            Source::once(setup),
            plan.concurrency,
            Window::unbounded(),
        )
        .await;
        if done.errors > 0 {
            anyhow::bail!(
                "setting up the workload failed ({} of {} requests): {:?}",
                done.errors,
                setup_requests,
                done.error_samples
            );
        }
    }
    // Signed after the setup, so the timestamps are fresh when the window opens.
    let signer = prepare::Signer::new(&plan.url, &plan.key, clock.now_ms());
    let source = Source {
        jobs: prepare::jobs(&signer, &plan.workload),
        cycle: plan.workload.cycles(),
        expected: plan.workload.expected_code(),
    };
    // A burst sends every request, each one counted, however long that takes.
    let window = if matches!(plan.workload, Workload::Burst { .. }) {
        Window::unbounded()
    } else {
        Window::after(
            Duration::from_millis(plan.warmup_ms),
            Duration::from_millis(plan.measure_ms),
        )
    };
    let mut result = drive::drive(&client, source, plan.concurrency, window).await;
    result.setup_requests = setup_requests;
    Ok(result)
}

fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default TLS crypto provider; the targets are plain HTTP, but
    // building a client needs one installed (a second install is harmless).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")
}
