//! Running one generator process, and waiting for the server's background work to settle.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::AsyncWriteExt;

use super::child;
use crate::plan::{LoadPlan, LoadResult};

/// Starts `koogate bench generate`, hands it the plan and reads its result.
pub async fn generate(exe: &Path, plan: &LoadPlan) -> anyhow::Result<LoadResult> {
    let mut command = child::command(exe);
    command
        .args(["bench", "generate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut process = command.spawn().context("starting the load generator")?;
    let input = serde_json::to_vec(plan)?;
    let mut stdin = process.stdin.take().context("the generator has no stdin")?;
    stdin.write_all(&input).await?;
    // Closing stdin tells the generator the plan is complete.
    drop(stdin);
    let output = process.wait_with_output().await?;
    if !output.status.success() {
        anyhow::bail!("the load generator failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).context("reading the generator's result")
}

/// Waits until the newest webhook event is delivered (the outbox delivers in id order, so then
/// all are), up to `within`. Returns how long it took, `None` if it did not finish in time.
/// Later workloads would otherwise pay for the deliveries this one enqueued.
pub async fn drain_outbox(
    http: &reqwest::Client,
    base_url: &str,
    api_token: &str,
    within: Duration,
) -> anyhow::Result<Option<f64>> {
    let started = Instant::now();
    let url = format!("{base_url}/api/v1/events?limit=1");
    loop {
        let events: Vec<serde_json::Value> = http
            .get(&url)
            .bearer_auth(api_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let settled = events
            .first()
            .is_none_or(|e| !e["deliveredAt"].is_null() || e["dead"] == true);
        if settled {
            return Ok(Some(started.elapsed().as_secs_f64()));
        }
        if started.elapsed() > within {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
