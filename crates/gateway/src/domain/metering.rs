//! The metering ledger: usage reports from the vendor's application become the usage records
//! KooGallery bills on-demand products from (spec saas-v2 §7.2, license-kit §6.4).
//!
//! 1. **Record.** `POST /api/v1/usage` hands in one report: instance, amount, when, and the
//!    vendor's `eventId`. It is checked (an on-demand instance of ours, an amount KooGallery takes,
//!    a time inside the 21 days it accepts), assigned to its window and stored once per
//!    `eventId`; a retried report is a no-op, a reused `eventId` with other data a conflict.
//! 2. **Close.** Once a window has ended and its grace period has passed, each (instance,
//!    package) group of it is summed into one pending usage window with a random `metering_sn`,
//!    chosen once and stored, so every later push of that window carries the same one. Reports
//!    for a closed window are refused, never silently dropped. Closing catches up on every
//!    window that ended while koogate was down.
//! 3. **Push.** Due windows go out in batches of at most 1000 records. KooGallery deduplicates on
//!    `metering_sn` (per-record code `005`), so a push repeated after a lost answer bills once.
//!    Per-record refusals settle their windows as rejected with the code; everything else is
//!    retried with backoff. A window that failed once is pushed alone from then on, so a record
//!    KooGallery refuses without saying which cannot hold back the others forever.
//!
//! Several replicas may run passes at once: closing is serialised per instance in the store, and
//! a window pushed twice is deduplicated by KooGallery.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, FixedOffset, Utc};
use koogate_protocol::messages::usage::{
    MAX_USAGE_RECORDS, UsagePushData, UsagePushRequest, UsagePushResponse,
};
use koogate_protocol::result_code::{MktCode, OpenApiCode};
use koogate_protocol::time::UsageTime;
use koogate_protocol::wire::{Bounded, UsageValue};

use super::Gateway;
use crate::config::MeteringWindow;
use crate::store::{
    Instance, InstanceStatus, NewUsageEvent, RecordUsageOutcome, UsageSettlement, UsageWindow,
};

/// KooGallery refuses records whose `begin_time` is older than this (saas-v2 §7.2).
pub const MAX_AGE: Duration = Duration::days(21);
/// How far in the future a report may be dated: clocks of the vendor's hosts drift.
const MAX_FUTURE: Duration = Duration::minutes(5);
/// Groups closed per pass; the rest wait for the next pass.
const CLOSE_PER_PASS: i64 = 5_000;
/// Retry delays of a failed push: doubling from 1 minute, at most 1 hour.
const FIRST_RETRY: Duration = Duration::minutes(1);
const MAX_RETRY: Duration = Duration::hours(1);

/// The charging modes whose instances are metered.
pub fn is_metered(charging_mode: &str) -> bool {
    matches!(charging_mode, "ON_DEMAND" | "ON_DEMAND_PKG")
}

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
    #[error("the usage window {0} is already closed and pushed; report usage before it closes")]
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
    if event_id.is_empty() || event_id.chars().count() > 64 {
        return Err(ReportError::Invalid(
            "eventId must have 1 to 64 characters".into(),
        ));
    }
    if report.value.is_zero() {
        return Err(ReportError::Invalid(
            "value must be greater than 0 (KooGallery refuses zero usage)".into(),
        ));
    }
    if let Some(pkg) = &report.relate_pkg_instance
        && (pkg.is_empty() || pkg.chars().count() > 64)
    {
        return Err(ReportError::Invalid(
            "relatePkgInstance must have 1 to 64 characters".into(),
        ));
    }
    let value_e4 = i64::try_from(report.value.ten_thousandths())
        .map_err(|_| ReportError::Invalid("value is too large".into()))?;
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
    let event = NewUsageEvent {
        event_id: event_id.to_owned(),
        instance_id: report.instance_id,
        value_e4,
        occurred_at: report.occurred_at,
        window_start,
        window_end,
        relate_pkg_instance: report.relate_pkg_instance,
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

fn check_instance(instance: &Instance, occurred_at: DateTime<Utc>) -> Result<(), ReportError> {
    if !is_metered(&instance.charging_mode) {
        return Err(ReportError::NotMetered {
            instance_id: instance.instance_id.clone(),
            charging_mode: instance.charging_mode.clone(),
        });
    }
    // Usage from before the release is still billable; after it, the instance is gone.
    if instance.status == InstanceStatus::Released && occurred_at >= instance.updated_at {
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
}

impl MeteringWorker {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
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

    /// Runs a pass every `interval` until `stop` resolves.
    pub async fn run(self, interval: StdDuration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            self.run_once().await;
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    async fn close_ended(&self) -> crate::store::StoreResult<usize> {
        let gw = &self.gateway;
        let now = gw.clock.now();
        let ended_by = now - gw.settings.metering.grace;
        let groups = gw.store.open_usage_groups(ended_by, CLOSE_PER_PASS).await?;
        let mut closed = 0;
        for group in groups {
            let metering_sn = new_metering_sn();
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
        // Fresh windows travel together; a window that failed before goes alone.
        let (fresh, retried): (Vec<_>, Vec<_>) = due.into_iter().partition(|w| w.attempts == 0);
        let batches = fresh
            .chunks(MAX_USAGE_RECORDS)
            .map(<[UsageWindow]>::to_vec)
            .chain(retried.into_iter().map(|w| vec![w]));
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

/// A random `metering_sn`, as the spec recommends ("建议是随机码"): unique across databases, so a
/// restored or second deployment can never collide with an earlier record and be dropped as a
/// duplicate.
fn new_metering_sn() -> String {
    format!("kg{}", uuid::Uuid::new_v4().simple())
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
    let exponent = u32::try_from(window.attempts.clamp(0, 10)).unwrap_or(10);
    let delay = (FIRST_RETRY * 2_i32.pow(exponent)).min(MAX_RETRY);
    UsageSettlement::Retry {
        id: window.id,
        error: error.to_owned(),
        next_attempt_at: now + delay,
    }
}

/// Reads KooGallery's answer into one settlement per pushed window.
fn settle(
    pushed: &[&UsageWindow],
    response: &UsagePushResponse,
    now: DateTime<Utc>,
) -> Vec<UsageSettlement> {
    let results = response.record_results();
    let named = |window: &UsageWindow| {
        results
            .iter()
            .find(|r| r.metering_sn.as_deref() == Some(window.metering_sn.as_str()))
    };
    let request_code = response.error_code.code().to_owned();
    let message = response.error_msg.clone().unwrap_or_default();
    pushed
        .iter()
        .map(|window| match (named(window), response.is_success()) {
            // Already billed under this metering_sn: the earlier push landed.
            (Some(result), _) if result.code.is_duplicate() => UsageSettlement::Pushed {
                id: window.id,
                result_code: Some(result.code.as_str().to_owned()),
            },
            (Some(result), _) => UsageSettlement::Rejected {
                id: window.id,
                result_code: result.code.as_str().to_owned(),
                message: result.message.clone().unwrap_or_else(|| message.clone()),
            },
            (None, true) => UsageSettlement::Pushed {
                id: window.id,
                result_code: None,
            },
            // The request was refused but this record was not named: it is fine on its own.
            (None, false) if !results.is_empty() => UsageSettlement::Retry {
                id: window.id,
                error: format!("pushed again alone: {request_code} named other records"),
                next_attempt_at: now,
            },
            // A refusal about the record itself, with only this record in the request.
            (None, false) if pushed.len() == 1 && is_record_refusal(&response.error_code) => {
                UsageSettlement::Rejected {
                    id: window.id,
                    result_code: request_code.clone(),
                    message: message.clone(),
                }
            }
            (None, false) => retry(window, &format!("{request_code}: {message}"), now),
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
        }
    }

    fn response(body: serde_json::Value) -> UsagePushResponse {
        serde_json::from_value(body).unwrap()
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
    fn named_records_are_rejected_and_the_others_go_again_alone() {
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
        // In a batch, the culprit is unknown: both are retried (and then pushed alone).
        let settled = settle(&[&a, &b], &refused, now);
        assert!(
            settled
                .iter()
                .all(|s| matches!(s, UsageSettlement::Retry { .. }))
        );
        // Alone, the refusal is about this record.
        assert!(matches!(
            &settle(&[&b], &refused, now)[0],
            UsageSettlement::Rejected { id: 2, result_code, .. } if result_code == "MKT.9001"
        ));
        // A signature or server failure is never the record's fault; backoff doubles, capped.
        let bad_sign =
            response(json!({"error_code": "MKT.0102", "error_msg": "Invalid body sign"}));
        let UsageSettlement::Retry {
            next_attempt_at, ..
        } = &settle(&[&b], &bad_sign, now)[0]
        else {
            panic!("expected a retry");
        };
        assert_eq!(*next_attempt_at, now + Duration::minutes(8));
        let mut old = window(3, "kgC", 40);
        old.attempts = 40;
        assert!(matches!(
            retry(&old, "x", now),
            UsageSettlement::Retry { next_attempt_at, .. } if next_attempt_at == now + MAX_RETRY
        ));
    }
}
