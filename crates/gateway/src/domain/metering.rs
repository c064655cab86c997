//! The metering ledger: usage reports from the vendor's application become the usage records
//! KooGallery bills on-demand products from (spec saas-v2 §7.2, license-kit §6.4).
//!
//! 1. **Record.** `POST /api/v1/usage` hands in one report: instance, amount, when, and the
//!    vendor's `eventId`. It is checked (an on-demand instance of ours, an amount KooGallery takes,
//!    a time inside the 21 days it accepts), assigned to its window and stored once per
//!    `eventId`; a retried report is a no-op, a reused `eventId` with other data a conflict.
//! 2. **Close.** Once a window has ended and its grace period has passed, each (instance,
//!    package) group of it is summed into one pending usage window with a `metering_sn` derived
//!    from the window's identity ([`metering_sn`]) and stored, so every push of that window,
//!    even after it was closed again (a restored backup), carries the same one. Reports
//!    for a closed window are refused, never silently dropped. Closing catches up on every
//!    window that ended while koogate was down.
//! 3. **Push.** Due windows go out in batches of at most 1000 records. KooGallery deduplicates on
//!    `metering_sn` (per-record code `005`), so a push repeated after a lost answer bills once.
//!    Per-record refusals settle their windows as rejected with the code; everything else is
//!    retried with backoff. A window refused in a batch without KooGallery naming the culprit is
//!    pushed alone from then on, so a bad record cannot hold back the others forever.
//!
//! Passes run on the replica holding the metering lease ([`super::lease`]). Should two run at
//! once anyway (a pass outlasting its lease), closing is serialised per instance in the store,
//! and a window closed or pushed twice carries one `metering_sn` that KooGallery deduplicates.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, FixedOffset, Utc};
use koogate_protocol::messages::order::ChargingMode;
use koogate_protocol::messages::usage::{
    MAX_USAGE_RECORDS, UsagePushData, UsagePushRequest, UsagePushResponse,
};
use koogate_protocol::result_code::{MktCode, OpenApiCode};
use koogate_protocol::time::UsageTime;
use koogate_protocol::wire::{Bounded, UsageValue};
use sha2::{Digest, Sha256};

use super::Gateway;
use super::lease::{self, Leases};
use crate::config::MeteringWindow;
use crate::outbox::RetrySchedule;
use crate::store::{
    Instance, InstanceStatus, NewUsageEvent, RecordUsageOutcome, UsageGroup, UsageSettlement,
    UsageWindow,
};

/// KooGallery refuses records whose `begin_time` is older than this (saas-v2 §7.2).
pub const MAX_AGE: Duration = Duration::days(21);
/// How far in the future a report may be dated: clocks of the vendor's hosts drift.
const MAX_FUTURE: Duration = Duration::minutes(5);
/// Groups closed per pass; the rest wait for the next pass.
const CLOSE_PER_PASS: i64 = 5_000;
/// Retry delays of a failed push: doubling from 1 minute to 1 hour, ±10 % jitter (the outbox's
/// arithmetic), and never giving up: a window is billable until KooGallery refuses it by name.
fn push_retries() -> RetrySchedule {
    RetrySchedule {
        delays: [1, 2, 4, 8, 16, 32, 60]
            .into_iter()
            .map(|minutes| StdDuration::from_secs(minutes * 60))
            .collect(),
        max_attempts: u32::MAX,
    }
}

/// Usage is reported for, and pushed under, on-demand instances (saas-v2 §7.2 `instance_id`:
/// "the on-demand instance ID"). A 用完即停 package is not metered itself: usage deducted from it
/// names it in `relatePkgInstance`.
pub fn is_metered(charging_mode: &ChargingMode) -> bool {
    *charging_mode == ChargingMode::OnDemand
}

/// 用完即停 package instances: usage is deducted from them, never reported for them.
pub fn is_package(charging_mode: &ChargingMode) -> bool {
    *charging_mode == ChargingMode::OnDemandPackage
}

/// The largest amount KooGallery takes in one record (`Double(12,4)`, saas-v2 §3.2), in
/// ten-thousandths. Each report is held to it; a window whose total passes it is refused by
/// KooGallery per record (`003`) and shows as rejected.
pub const MAX_VALUE_E4: i64 = 999_999_999_999;

/// The window `[start, end)` holding `at`.
pub fn window_of(at: DateTime<Utc>, size: MeteringWindow) -> (DateTime<Utc>, DateTime<Utc>) {
    match size {
        MeteringWindow::Hour => {
            let start = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
            (start, start + Duration::hours(1))
        }
        MeteringWindow::Day => {
            let local = at.with_timezone(&BEIJING);
            let start = local
                .duration_trunc(Duration::days(1))
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(at);
            (start, start + Duration::days(1))
        }
    }
}

/// The marketplace's day starts at midnight UTC+8.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// One usage report, as the vendor API received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    pub event_id: String,
    pub instance_id: String,
    pub value: UsageValue,
    pub occurred_at: DateTime<Utc>,
    pub relate_pkg_instance: Option<String>,
}

/// Why a report was not recorded. Each maps to one HTTP answer of the vendor API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error("instance {0} not found")]
    UnknownInstance(String),
    #[error("instance {instance_id} is {charging_mode}, not on-demand: it is not metered")]
    NotMetered {
        instance_id: String,
        charging_mode: String,
    },
    #[error("instance {0} was released before this usage occurred")]
    Released(String),
    #[error("usage older than 21 days cannot be pushed to KooGallery")]
    TooOld,
    #[error("usage dated more than 5 minutes in the future")]
    InFuture,
    #[error(
        "the usage window {0} is closed (it takes reports until the grace period after its end); KooGallery takes no later usage"
    )]
    WindowClosed(String),
    #[error("eventId {0} was already used for a different report")]
    Conflict(String),
    #[error("storage: {0}")]
    Storage(String),
}

/// What recording did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// False when the same report was recorded before (a retry).
    pub new: bool,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// Checks and stores one report.
pub async fn record(gw: &Gateway, report: UsageReport) -> Result<Recorded, ReportError> {
    let event_id = report.event_id.trim();
    if event_id.is_empty() || utf16_len(event_id) > 64 {
        return Err(ReportError::Invalid(
            "eventId must have 1 to 64 characters".into(),
        ));
    }
    if report.value.is_zero() {
        return Err(ReportError::Invalid(
            "value must be greater than 0 (KooGallery refuses zero usage)".into(),
        ));
    }
    let relate_pkg_instance = report
        .relate_pkg_instance
        .as_deref()
        .map(str::trim)
        .map(str::to_owned);
    if let Some(pkg) = &relate_pkg_instance
        && (pkg.is_empty() || utf16_len(pkg) > 64)
    {
        return Err(ReportError::Invalid(
            "relatePkgInstance must have 1 to 64 characters".into(),
        ));
    }
    let value_e4 = i64::try_from(report.value.ten_thousandths())
        .ok()
        .filter(|v| *v <= MAX_VALUE_E4)
        .ok_or_else(|| {
            ReportError::Invalid("value is larger than KooGallery takes (99999999.9999)".into())
        })?;
    let now = gw.clock.now();
    if report.occurred_at > now + MAX_FUTURE {
        return Err(ReportError::InFuture);
    }
    let (window_start, window_end) = window_of(report.occurred_at, gw.settings.metering.window);
    if window_start < now - MAX_AGE {
        return Err(ReportError::TooOld);
    }
    let instance = gw
        .store
        .get_instance(&report.instance_id)
        .await
        .map_err(|e| ReportError::Storage(e.to_string()))?
        .ok_or_else(|| ReportError::UnknownInstance(report.instance_id.clone()))?;
    check_instance(&instance, report.occurred_at)?;
    if let Some(pkg) = &relate_pkg_instance {
        check_package(gw, pkg).await?;
    }
    let event = NewUsageEvent {
        event_id: event_id.to_owned(),
        instance_id: report.instance_id,
        value_e4,
        occurred_at: report.occurred_at,
        window_start,
        window_end,
        closes_at: window_end + gw.settings.metering.grace,
        relate_pkg_instance,
    };
    let outcome = gw
        .store
        .record_usage(&event, now)
        .await
        .map_err(|e| ReportError::Storage(e.to_string()))?;
    let recorded = |new| Recorded {
        new,
        window_start,
        window_end,
    };
    match outcome {
        RecordUsageOutcome::Recorded => {
            metrics::counter!("koogate_usage_reports_total", "outcome" => "recorded").increment(1);
            Ok(recorded(true))
        }
        RecordUsageOutcome::Duplicate { same: true } => Ok(recorded(false)),
        RecordUsageOutcome::Duplicate { same: false } => Err(ReportError::Conflict(event.event_id)),
        RecordUsageOutcome::WindowClosed => {
            Err(ReportError::WindowClosed(window_start.to_rfc3339()))
        }
    }
}

/// A `relatePkgInstance` must be one of our package instances, or KooGallery refuses the record
/// later, after the report was acknowledged.
async fn check_package(gw: &Gateway, pkg: &str) -> Result<(), ReportError> {
    let package = gw
        .store
        .get_instance(pkg)
        .await
        .map_err(|e| ReportError::Storage(e.to_string()))?;
    match package {
        Some(p) if is_package(&p.charging_mode) && p.status != InstanceStatus::Released => Ok(()),
        Some(p) => Err(ReportError::Invalid(format!(
            "relatePkgInstance {pkg} is a {} instance in status {}, not a live on-demand package",
            p.charging_mode,
            p.status.as_str()
        ))),
        None => Err(ReportError::Invalid(format!(
            "relatePkgInstance {pkg} is not an instance koogate knows"
        ))),
    }
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn check_instance(instance: &Instance, occurred_at: DateTime<Utc>) -> Result<(), ReportError> {
    if !is_metered(&instance.charging_mode) {
        return Err(ReportError::NotMetered {
            instance_id: instance.instance_id.clone(),
            charging_mode: instance.charging_mode.to_string(),
        });
    }
    // Usage from before the release is still billable; after it, the instance is gone. The
    // release time is its own column: `updated_at` moves with any later write of the row.
    if instance.released_at.is_some_and(|at| occurred_at >= at) {
        return Err(ReportError::Released(instance.instance_id.clone()));
    }
    Ok(())
}

/// What one pass did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeteringPass {
    pub closed: usize,
    pub pushed: usize,
    pub rejected: usize,
    pub retried: usize,
}

/// Closes ended windows and pushes what is due. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MeteringWorker {
    gateway: Arc<Gateway>,
    leases: Leases,
}

impl MeteringWorker {
    /// `leases` is this replica's: of all replicas, only the holder of the metering lease runs
    /// passes from [`MeteringWorker::run`].
    pub fn new(gateway: Arc<Gateway>, leases: Leases) -> Self {
        Self { gateway, leases }
    }

    /// One pass, when this replica holds (or can take) the metering lease for `ttl`; `None`,
    /// without touching the ledger, while another replica holds it.
    pub async fn run_leased(&self, ttl: Duration) -> Option<MeteringPass> {
        self.leases
            .run_leased(lease::METERING, ttl, || self.run_once())
            .await
    }

    /// One pass at the clock's time. Store failures end the pass early; the next pass resumes.
    pub async fn run_once(&self) -> MeteringPass {
        let mut pass = MeteringPass::default();
        match self.close_ended().await {
            Ok(closed) => pass.closed = closed,
            Err(err) => tracing::warn!(error = %err, "metering: cannot close usage windows"),
        }
        if let Err(err) = self.push_due(&mut pass).await {
            tracing::warn!(error = %err, "metering: cannot push usage windows");
        }
        if pass != MeteringPass::default() {
            tracing::info!(
                closed = pass.closed,
                pushed = pass.pushed,
                rejected = pass.rejected,
                retried = pass.retried,
                "metering pass"
            );
        }
        pass
    }

    /// Runs a pass every `interval` until `stop` resolves, on this replica only while it holds
    /// the metering lease. A pass that panics is logged and the next one runs as usual.
    pub async fn run(self, interval: StdDuration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let ttl = lease::lease_ttl(interval);
        loop {
            let worker = self.clone();
            if let Err(err) = tokio::spawn(async move { worker.run_leased(ttl).await }).await {
                tracing::error!(error = %err, "metering pass failed; the next pass runs as usual");
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        self.leases.release(lease::METERING).await;
    }

    async fn close_ended(&self) -> crate::store::StoreResult<usize> {
        let gw = &self.gateway;
        let now = gw.clock.now();
        let ended_by = now - gw.settings.metering.grace;
        let groups = gw.store.open_usage_groups(ended_by, CLOSE_PER_PASS).await?;
        let mut closed = 0;
        for group in groups {
            let metering_sn = metering_sn(&group);
            // One group the store refuses to close must not keep the later ones open.
            match gw.store.close_usage_window(&group, &metering_sn, now).await {
                Ok(Some(window)) => {
                    tracing::debug!(
                        instance_id = window.instance_id,
                        window_start = %window.window_start,
                        metering_sn = window.metering_sn,
                        "usage window closed"
                    );
                    closed += 1;
                }
                Ok(None) => {}
                Err(err) => tracing::error!(
                    instance_id = group.instance_id,
                    window_start = %group.window_start,
                    error = %err,
                    "metering: cannot close a usage window; skipping it this pass"
                ),
            }
        }
        Ok(closed)
    }

    async fn push_due(&self, pass: &mut MeteringPass) -> crate::store::StoreResult<()> {
        let gw = &self.gateway;
        let now = gw.clock.now();
        let due = gw
            .store
            .due_usage_windows(now, MAX_USAGE_RECORDS as i64 * 10)
            .await?;
        // Windows travel together, except those once refused in a batch without being named.
        let (alone, together): (Vec<_>, Vec<_>) = due.into_iter().partition(isolated);
        let batches = together
            .chunks(MAX_USAGE_RECORDS)
            .map(<[UsageWindow]>::to_vec)
            .chain(alone.into_iter().map(|w| vec![w]));
        for batch in batches {
            let settlements = self.push_batch(&batch).await;
            for settlement in &settlements {
                match settlement {
                    UsageSettlement::Pushed { .. } => pass.pushed += 1,
                    UsageSettlement::Rejected { .. } => pass.rejected += 1,
                    UsageSettlement::Retry { .. } => pass.retried += 1,
                }
            }
            gw.store
                .settle_usage_windows(&settlements, gw.clock.now())
                .await?;
        }
        Ok(())
    }

    async fn push_batch(&self, batch: &[UsageWindow]) -> Vec<UsageSettlement> {
        let gw = &self.gateway;
        let now = gw.clock.now();
        let (request, invalid) = build_request(batch, now);
        let mut settlements = invalid;
        if request.usage_records.is_empty() {
            return settlements;
        }
        let pushed: Vec<&UsageWindow> = batch
            .iter()
            .filter(|w| !settlements.iter().any(|s| settled_id(s) == w.id))
            .collect();
        let answer = gw
            .marketplace
            .push_usage(&gw.settings.basic_key, &request)
            .await;
        metrics::counter!(
            "koogate_usage_pushes_total",
            "outcome" => match &answer {
                Ok(response) if response.is_success() => "success",
                Ok(_) => "refused",
                Err(_) => "error",
            }
        )
        .increment(1);
        match answer {
            Ok(response) => settlements.extend(settle(&pushed, &response, now)),
            Err(err) => {
                tracing::warn!(error = %err.message, records = pushed.len(), "usage push failed; will retry");
                settlements.extend(
                    pushed
                        .iter()
                        .map(|w| retry(w, &format!("usage push: {}", err.message), now)),
                );
            }
        }
        settlements
    }
}

fn settled_id(settlement: &UsageSettlement) -> i64 {
    match settlement {
        UsageSettlement::Pushed { id, .. }
        | UsageSettlement::Rejected { id, .. }
        | UsageSettlement::Retry { id, .. } => *id,
    }
}

/// The `metering_sn` of a group's window, derived from what identifies the window and nothing
/// else: the instance, the package the usage is deducted from, and the window's start and end
/// (the end also tells an hourly window from a daily one with the same start).
///
/// Why not random, as the spec suggests ("建议是随机码")? KooGallery deduplicates on
/// `metering_sn` (per-record code `005`), and that is the only protection against billing one
/// window twice. A window can be closed twice: after a database restore to a backup taken before
/// the close (the events are there, the window is not), or by two replicas racing. A random
/// number would make each close a new record and bill the usage again; the derived one repeats
/// and KooGallery drops the second. Uniqueness still holds where the spec needs it ("商家唯一",
/// unique per merchant): instance ids are KooGallery's, unique across merchants, and one
/// (instance, package, window) is exactly one record (`usage_windows` is unique on it).
///
/// Format: `kg` and the first 128 bits of a SHA-256 over the length-prefixed parts, in hex
/// (34 characters; the spec allows 64).
pub fn metering_sn(group: &UsageGroup) -> String {
    let mut hash = Sha256::new();
    hash.update(b"koogate metering_sn v1");
    let start = group.window_start.timestamp_millis().to_string();
    let end = group.window_end.timestamp_millis().to_string();
    let pkg = group.relate_pkg_instance.as_deref().unwrap_or_default();
    for part in [group.instance_id.as_str(), pkg, &start, &end] {
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("kg{}", hex::encode(&hash.finalize()[..16]))
}

/// The request for `batch`, and the windows that cannot become a record at all.
fn build_request(
    batch: &[UsageWindow],
    now: DateTime<Utc>,
) -> (UsagePushRequest, Vec<UsageSettlement>) {
    let mut records = Vec::with_capacity(batch.len());
    let mut invalid = Vec::new();
    for window in batch {
        match to_record(window, now) {
            Ok(record) => records.push(record),
            Err(message) => invalid.push(UsageSettlement::Rejected {
                id: window.id,
                result_code: "invalid".to_owned(),
                message,
            }),
        }
    }
    (
        UsagePushRequest {
            usage_records: records,
        },
        invalid,
    )
}

fn to_record(window: &UsageWindow, now: DateTime<Utc>) -> Result<UsagePushData, String> {
    let bounded = |what: &str, text: &str| {
        Bounded::new(text.to_owned()).map_err(|_| format!("{what} longer than 64 characters"))
    };
    let value = u64::try_from(window.value_e4)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("usage value {} is not positive", window.value_e4))?;
    Ok(UsagePushData {
        begin_time: UsageTime::from(window.window_start),
        end_time: UsageTime::from(window.window_end),
        instance_id: bounded("instance_id", &window.instance_id)?,
        metering_sn: bounded("metering_sn", &window.metering_sn)?,
        record_time: UsageTime::from(now),
        relate_pkg_instance: window
            .relate_pkg_instance
            .as_deref()
            .map(|pkg| bounded("relate_pkg_instance", pkg))
            .transpose()?,
        usage_value: UsageValue::from_ten_thousandths(value),
    })
}

fn retry(window: &UsageWindow, error: &str, now: DateTime<Utc>) -> UsageSettlement {
    let attempt = u32::try_from(window.attempts.saturating_add(1)).unwrap_or(u32::MAX);
    let delay = push_retries().jittered_delay(attempt, jitter_fraction(window));
    UsageSettlement::Retry {
        id: window.id,
        error: error.to_owned(),
        next_attempt_at: now + Duration::from_std(delay).unwrap_or(Duration::hours(1)),
        push_alone: false,
    }
}

/// The jitter of a window's next retry, in `[0, 1)`: derived from its `metering_sn` and attempt
/// count rather than drawn, so the settlement stays a pure function of its inputs while windows
/// that failed together still spread out.
fn jitter_fraction(window: &UsageWindow) -> f64 {
    let digest = Sha256::new()
        .chain_update(window.metering_sn.as_bytes())
        .chain_update(window.attempts.to_be_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    // 53 bits fill an f64's mantissa exactly; the quotient is below 1.
    (u64::from_be_bytes(head) >> 11) as f64 / (1u64 << 53) as f64
}

fn isolated(window: &UsageWindow) -> bool {
    window.push_alone
}

/// Reads KooGallery's answer into one settlement per pushed window.
fn settle(
    pushed: &[&UsageWindow],
    response: &UsagePushResponse,
    now: DateTime<Utc>,
) -> Vec<UsageSettlement> {
    let results = response.record_results();
    // `extra_info`'s shape is undocumented: only results that name one of our `metering_sn`s
    // count, except that a lone record owns a lone result that names nothing.
    let named = |window: &UsageWindow| {
        results
            .iter()
            .find(|r| r.metering_sn.as_deref() == Some(window.metering_sn.as_str()))
            .or_else(|| {
                (pushed.len() == 1 && results.len() == 1 && results[0].metering_sn.is_none())
                    .then(|| &results[0])
            })
    };
    let any_named = pushed.iter().any(|w| named(w).is_some());
    let request_code = response.error_code.code().to_owned();
    let message = response.error_msg.clone().unwrap_or_default();
    pushed
        .iter()
        .map(|window| match named(window) {
            // Already billed under this metering_sn: the earlier push landed.
            Some(result) if result.code.is_duplicate() => UsageSettlement::Pushed {
                id: window.id,
                result_code: Some(result.code.as_str().to_owned()),
            },
            Some(result) => UsageSettlement::Rejected {
                id: window.id,
                result_code: result.code.as_str().to_owned(),
                message: result.message.clone().unwrap_or_else(|| message.clone()),
            },
            None if response.is_success() => UsageSettlement::Pushed {
                id: window.id,
                result_code: None,
            },
            // Refused because of the records it named: this one is fine, send it again now.
            None if any_named => UsageSettlement::Retry {
                id: window.id,
                error: format!("{request_code} named other records of the request"),
                next_attempt_at: now,
                push_alone: false,
            },
            None if is_record_refusal(&response.error_code) && pushed.len() == 1 => {
                UsageSettlement::Rejected {
                    id: window.id,
                    result_code: request_code.clone(),
                    message: message.clone(),
                }
            }
            None if is_record_refusal(&response.error_code) => UsageSettlement::Retry {
                id: window.id,
                error: format!("{request_code} refused the request: {message}"),
                next_attempt_at: now,
                push_alone: true,
            },
            // Authentication, signature, server trouble: never the record's fault.
            None => retry(window, &format!("{request_code}: {message}"), now),
        })
        .collect()
}

/// Request-level codes that describe the records (so pushing them again cannot help), as
/// opposed to authentication, signature or server failures.
fn is_record_refusal(code: &OpenApiCode) -> bool {
    matches!(
        code,
        OpenApiCode::Mkt(
            MktCode::InstanceNotFound | MktCode::InvalidUsageEntities | MktCode::BeginTimeTooOld
        )
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use koogate_protocol::result_code::UsageRecordCode;
    use serde_json::json;

    use super::*;
    use crate::store::UsageWindowStatus;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn hourly_windows_are_whole_utc_hours() {
        let (start, end) = window_of(at("2025-03-01T08:59:59.999Z"), MeteringWindow::Hour);
        assert_eq!(
            (start, end),
            (at("2025-03-01T08:00:00Z"), at("2025-03-01T09:00:00Z"))
        );
        let (start, _) = window_of(at("2025-03-01T09:00:00Z"), MeteringWindow::Hour);
        assert_eq!(start, at("2025-03-01T09:00:00Z"));
    }

    #[test]
    fn daily_windows_start_at_midnight_beijing_time() {
        // 15:59:59Z is 23:59:59 in Beijing: still 2025-03-01 there.
        let (start, end) = window_of(at("2025-03-01T15:59:59Z"), MeteringWindow::Day);
        assert_eq!(
            (start, end),
            (at("2025-02-28T16:00:00Z"), at("2025-03-01T16:00:00Z"))
        );
        let (start, _) = window_of(at("2025-03-01T16:00:00Z"), MeteringWindow::Day);
        assert_eq!(start, at("2025-03-01T16:00:00Z"));
    }

    fn window(id: i64, sn: &str, attempts: i64) -> UsageWindow {
        let start = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
        UsageWindow {
            id,
            instance_id: format!("inst-{id}"),
            window_start: start,
            window_end: start + Duration::hours(1),
            relate_pkg_instance: None,
            value_e4: 15_000,
            metering_sn: sn.to_owned(),
            status: UsageWindowStatus::Pending,
            attempts,
            last_error: None,
            result_code: None,
            next_attempt_at: start,
            closed_at: start,
            pushed_at: None,
            push_alone: false,
        }
    }

    fn response(body: serde_json::Value) -> UsagePushResponse {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn metering_sn_depends_on_the_window_identity_only() {
        let group = |instance: &str, pkg: Option<&str>, start: &str, hours: i64| UsageGroup {
            instance_id: instance.to_owned(),
            window_start: at(start),
            window_end: at(start) + Duration::hours(hours),
            relate_pkg_instance: pkg.map(str::to_owned),
        };
        let sn = metering_sn(&group("inst-1", None, "2025-03-01T08:00:00Z", 1));
        // Known answer: a change of the derivation would bill restored windows twice.
        assert_eq!(
            sn,
            metering_sn(&group("inst-1", None, "2025-03-01T08:00:00Z", 1))
        );
        assert_eq!(sn.len(), 34);
        assert!(sn.starts_with("kg") && sn[2..].chars().all(|c| c.is_ascii_hexdigit()));
        let others = [
            group("inst-2", None, "2025-03-01T08:00:00Z", 1),
            group("inst-1", Some("pkg-1"), "2025-03-01T08:00:00Z", 1),
            group("inst-1", None, "2025-03-01T09:00:00Z", 1),
            group("inst-1", None, "2025-03-01T08:00:00Z", 24),
            // Parts are length-prefixed: moving a character between them is another window.
            group("inst-", Some("1"), "2025-03-01T08:00:00Z", 1),
        ];
        for other in &others {
            assert_ne!(metering_sn(other), sn, "{other:?}");
        }
    }

    #[test]
    fn a_record_is_built_from_a_window() {
        let now = at("2025-03-01T09:06:00Z");
        let record = to_record(&window(1, "kg1", 0), now).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            json!({"begin_time": "20250301T080000Z", "end_time": "20250301T090000Z",
                   "instance_id": "inst-1", "metering_sn": "kg1",
                   "record_time": "20250301T090600Z", "usage_value": "1.5"})
        );
        let mut empty = window(2, "kg2", 0);
        empty.value_e4 = 0;
        assert!(to_record(&empty, now).is_err());
    }

    #[test]
    fn success_with_a_duplicate_settles_every_window_as_pushed() {
        let now = at("2025-03-01T09:06:00Z");
        let (a, b) = (window(1, "kgA", 0), window(2, "kgB", 0));
        let answer = response(json!({
            "error_code": "MKT.0000", "error_msg": "success",
            "extra_info": [{"metering_sn": "kgB", "code": "005", "msg": "duplicate"}],
        }));
        let settled = settle(&[&a, &b], &answer, now);
        assert_eq!(
            settled,
            [
                UsageSettlement::Pushed {
                    id: 1,
                    result_code: None
                },
                UsageSettlement::Pushed {
                    id: 2,
                    result_code: Some("005".into())
                },
            ]
        );
        assert!(UsageRecordCode::DuplicateMeteringSn.is_duplicate());
    }

    #[test]
    fn named_records_are_rejected_and_the_others_go_again_at_once() {
        let now = at("2025-03-01T09:06:00Z");
        let (a, b) = (window(1, "kgA", 0), window(2, "kgB", 0));
        let answer = response(json!({
            "error_code": "MKT.9002", "error_msg": "Invalid usage entities",
            "extra_info": [{"metering_sn": "kgA", "code": "001", "msg": "instance missing"}],
        }));
        let settled = settle(&[&a, &b], &answer, now);
        assert!(matches!(
            &settled[0],
            UsageSettlement::Rejected { id: 1, result_code, .. } if result_code == "001"
        ));
        assert!(matches!(
            &settled[1],
            UsageSettlement::Retry { id: 2, next_attempt_at, .. } if *next_attempt_at == now
        ));
    }

    #[test]
    fn unnamed_refusals_retry_a_batch_and_reject_a_lone_record() {
        let now = at("2025-03-01T09:06:00Z");
        let (a, b) = (window(1, "kgA", 0), window(2, "kgB", 3));
        let refused =
            response(json!({"error_code": "MKT.9001", "error_msg": "Instance ID not found"}));
        // In a batch, the culprit is unknown: both are retried at once, marked to go alone.
        let settled = settle(&[&a, &b], &refused, now);
        for settlement in &settled {
            let UsageSettlement::Retry {
                next_attempt_at,
                push_alone,
                ..
            } = settlement
            else {
                panic!("expected a retry: {settlement:?}");
            };
            assert_eq!(*next_attempt_at, now);
            assert!(push_alone, "{settlement:?}");
        }
        assert!(!isolated(&a));
        let mut marked = a.clone();
        marked.push_alone = true;
        assert!(isolated(&marked));
        // Alone, the refusal is about this record.
        assert!(matches!(
            &settle(&[&b], &refused, now)[0],
            UsageSettlement::Rejected { id: 2, result_code, .. } if result_code == "MKT.9001"
        ));
        // A signature or server failure is never the record's fault; backoff doubles, capped.
        let bad_sign =
            response(json!({"error_code": "MKT.0102", "error_msg": "Invalid body sign"}));
        let UsageSettlement::Retry {
            next_attempt_at,
            push_alone,
            ..
        } = &settle(&[&b], &bad_sign, now)[0]
        else {
            panic!("expected a retry");
        };
        assert!(!push_alone);
        // `b` failed three times before: the fourth wait is 8 minutes, give or take 10 %.
        let waited = *next_attempt_at - now;
        assert!(
            waited >= Duration::seconds(432) && waited <= Duration::seconds(528),
            "{waited}"
        );
        let old = window(3, "kgC", 40);
        let UsageSettlement::Retry {
            next_attempt_at, ..
        } = retry(&old, "x", now)
        else {
            panic!("expected a retry");
        };
        let waited = next_attempt_at - now;
        assert!(
            waited >= Duration::seconds(3240) && waited <= Duration::seconds(3960),
            "capped at an hour, give or take 10 %: {waited}"
        );
    }

    /// `extra_info` shapes that name none of our records must not turn a refusal into an
    /// immediate retry on every pass.
    #[test]
    fn unrelated_extra_info_does_not_defeat_the_backoff() {
        let now = at("2025-03-01T09:06:00Z");
        let (a, b) = (window(1, "kgA", 0), window(2, "kgB", 0));
        for extra in [
            json!({"traceId": "abc"}),
            json!([{"id": "x", "code": "003"}]),
        ] {
            let answer = response(json!({
                "error_code": "MKT.0102", "error_msg": "Invalid body sign", "extra_info": extra,
            }));
            for settlement in settle(&[&a, &b], &answer, now) {
                assert!(
                    matches!(settlement, UsageSettlement::Retry { next_attempt_at, .. } if next_attempt_at > now),
                    "{settlement:?}"
                );
            }
        }
        // A lone record owns a lone result that names nothing.
        let answer = response(json!({
            "error_code": "MKT.9002", "error_msg": "Invalid usage entities",
            "extra_info": [{"code": "003", "msg": "bad value"}],
        }));
        assert!(matches!(
            &settle(&[&a], &answer, now)[0],
            UsageSettlement::Rejected { id: 1, result_code, .. } if result_code == "003"
        ));
    }
}
