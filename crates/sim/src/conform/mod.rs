//! `koogate conform`: checks any vendor's production interface the way KooGallery's
//! seller-center debugger does (spec saas-v2 §6), plus the idempotency and security behaviour
//! KooGallery relies on but the debugger does not test.
//!
//! The target is called with [`ProduceClient`](crate::produce_client::ProduceClient); the cases
//! and their rules are in [`cases`], the debugger's per-answer checks in [`checks`], the flows in
//! `steps` (newInstance first: its instanceId is used by every later case, release last), and the
//! outputs (summary table, JUnit XML, JSON) in [`report`].
//!
//! The target fetches orders while handling `newInstance`/`upgradeInstance`. [`run`] takes the
//! handle of an open-API sandbox (see [`crate::openapi::start`]) whose URL and AK/SK the target
//! must use; it serves the seller center's `MOCK*` orders, which are also what the real
//! KooGallery answers for those ids, so a target still pointed at KooGallery gets known orders.

use std::time::Duration;

use koogate_protocol::AccessKey;
use serde::Serialize;

use crate::openapi::OpenApiHandle;
use crate::produce_client::{BuildError, CategoryKeys, ClientConfig, Clock, ProduceClient};

pub mod cases;
pub mod checks;
pub mod report;
mod runner;
mod steps;

pub use cases::{Case, Verdict, catalogue, rule};
pub use report::Report;

/// The order `newInstance` is called with: the debugger's periodic new purchase.
pub const DEFAULT_ORDER_ID: &str = "MOCKPERIODYEARNEW";
/// The order `refreshInstance` names (a renewal).
pub const RENEW_ORDER_ID: &str = "MOCKMONTYRENEW";
/// The order `upgradeInstance` names (a change).
pub const CHANGE_ORDER_ID: &str = "MOCKMONTYCHANGE";

/// What to check and how patiently.
#[derive(Debug, Clone)]
pub struct ConformConfig {
    /// The production interface URL.
    pub url: String,
    /// The access key bound to the basic interfaces (signs requests, checks `Body-Sign`).
    pub key: AccessKey,
    /// Per-call limit; the debugger's is 20 s.
    pub budget: Duration,
    /// `orderId` for `newInstance`; its line is `{order_id}-000001`.
    pub order_id: String,
    /// How long to keep polling `queryInstance` after a `000004`.
    pub provision_wait: Duration,
    pub poll_interval: Duration,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Accept self-signed certificates (local HTTPS targets).
    pub accept_invalid_certs: bool,
    /// Also require `appInfo.frontEndUrl` in the newInstance answer (the V2 debugger FAQ's rule).
    pub require_front_end_url: bool,
    pub clock: Clock,
}

impl ConformConfig {
    pub fn new(url: impl Into<String>, key: AccessKey) -> Self {
        Self {
            url: url.into(),
            key,
            budget: Duration::from_secs(20),
            order_id: DEFAULT_ORDER_ID.to_owned(),
            provision_wait: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            progress: false,
            accept_invalid_certs: false,
            require_front_end_url: false,
            clock: Clock::system(),
        }
    }

    pub fn order_line_id(&self) -> String {
        line_of(&self.order_id)
    }
}

/// The MOCK orders' line id convention: `{orderId}-000001`.
pub fn line_of(order_id: &str) -> String {
    format!("{order_id}-000001")
}

/// A finished case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub case: Case,
    pub verdict: Verdict,
    /// What was seen: the measured value on a pass, what is wrong on a failure.
    pub detail: String,
    /// Time spent since the previous case finished.
    pub millis: u64,
}

/// Runs every case of [`catalogue`] against the target, in order.
pub async fn run(
    config: &ConformConfig,
    sandbox: Option<&OpenApiHandle>,
) -> Result<Report, BuildError> {
    let client = ProduceClient::new(ClientConfig {
        url: config.url.clone(),
        key: config.key.clone(),
        timeout: config.budget,
        clock: config.clock.clone(),
        accept_invalid_certs: config.accept_invalid_certs,
        // The catalogue sends basic-interface activities only.
        category_keys: CategoryKeys::default(),
    })?;
    let started_ms = config.clock.now_ms();
    let mut runner = runner::Runner::new(config, client, sandbox);
    steps::run_all(&mut runner).await;
    let outcomes = runner.finish();
    Ok(Report {
        target: config.url.clone(),
        budget_ms: u64::try_from(config.budget.as_millis()).unwrap_or(u64::MAX),
        started_at: chrono::DateTime::from_timestamp_millis(started_ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        sandbox_url: sandbox.map(|s| s.base_url.clone()),
        sandbox_ak: sandbox.map(|s| s.ak.clone()),
        outcomes,
    })
}

#[cfg(test)]
mod tests;
