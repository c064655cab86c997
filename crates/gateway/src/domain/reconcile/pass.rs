//! One reconciliation pass over every instance not released.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use super::decide::{Finding, FindingKind, LocalView, MarketView, decide};
use crate::config::ReconcileMode;
use crate::domain::Gateway;
use crate::domain::activities::{MissedCall, apply_missed};
use crate::store::{Instance, NewFinding, StoreError};

/// Instances read per page: the pass never holds more than this in memory.
const PAGE: i64 = 200;
/// Pause between two order queries, so a pass over many instances stays far below the open
/// API's rate limits (at most 20 queries a second).
const QUERY_GAP: StdDuration = StdDuration::from_millis(50);

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Instances compared with their order.
    pub checked: usize,
    /// Instances whose order could not be fetched; their earlier findings are left as they were.
    pub unreachable: usize,
    /// Findings seen in this pass, per kind, new or not, healed or not.
    pub found: BTreeMap<FindingKind, usize>,
    /// Findings left open by this pass, per kind (found, less those healed).
    pub open: BTreeMap<FindingKind, usize>,
    /// Findings not open before this pass.
    pub opened: usize,
    /// Missed calls applied (`heal` mode).
    pub healed: usize,
    pub heal_failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Runs one pass at the clock's time; does nothing with `reconcile_mode = off`. A storage error
/// ends the pass (the next one starts over); an order that cannot be fetched skips its instance.
pub async fn reconcile_once(gw: &Gateway) -> Result<ReconcileReport, ReconcileError> {
    let mut report = ReconcileReport::default();
    if gw.settings.reconcile_mode == ReconcileMode::Off {
        return Ok(report);
    }
    let started = gw.clock.now();
    let mut after = String::new();
    loop {
        let page = gw.store.list_unreleased_instances(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.instance_id.clone();
        let usage = last_usage(gw, &page).await?;
        for instance in page.iter().filter(|i| !i.test_flag) {
            if report.checked + report.unreachable > 0 {
                tokio::time::sleep(QUERY_GAP).await;
            }
            let last_usage_at = usage.get(&instance.instance_id).copied();
            check(gw, instance, last_usage_at, &mut report).await?;
        }
        if i64::try_from(page.len()).unwrap_or(PAGE) < PAGE {
            break;
        }
    }
    // Only a pass that saw every instance may say a finding is gone.
    if report.unreachable == 0 {
        gw.store
            .resolve_unseen_findings(started, gw.clock.now())
            .await?;
    }
    publish(&report);
    Ok(report)
}

/// Debug instances (`testFlag`) are skipped: KooGallery runs no lifecycle for the seller
/// center's debug orders, so every one of them would look like a missed expiry.
async fn check(
    gw: &Gateway,
    instance: &Instance,
    last_usage_at: Option<DateTime<Utc>>,
    report: &mut ReconcileReport,
) -> Result<(), ReconcileError> {
    let Some(market) = market_view(gw, instance).await else {
        report.unreachable += 1;
        return Ok(());
    };
    report.checked += 1;
    let now = gw.clock.now();
    let local = LocalView {
        status: instance.status,
        expire_time: instance.expire_time,
        last_usage_at,
    };
    let findings = decide(&local, market, now);
    let stored: Vec<NewFinding> = findings.iter().map(to_stored).collect();
    let opened = gw
        .store
        .save_findings(&instance.instance_id, &stored, now)
        .await?;
    for finding in &findings {
        let kind = finding.kind().as_str();
        *report.found.entry(finding.kind()).or_default() += 1;
        *report.open.entry(finding.kind()).or_default() += 1;
        if opened.iter().any(|k| k == kind) {
            report.opened += 1;
            metrics::counter!("koogate_reconcile_findings_total", "kind" => kind).increment(1);
            tracing::warn!(
                instance_id = instance.instance_id,
                order_id = instance.order_id,
                kind,
                detail = %to_stored(finding).detail,
                "reconciliation: KooGallery and koogate disagree"
            );
        }
    }
    if gw.settings.reconcile_mode == ReconcileMode::Heal {
        heal(gw, instance, &findings, report).await?;
    }
    Ok(())
}

/// KooGallery's view of the instance's order; `None` when it could not be fetched.
async fn market_view(gw: &Gateway, instance: &Instance) -> Option<MarketView> {
    let line_id = instance.order_line_id.as_str();
    match gw
        .marketplace
        .query_order(&instance.order_id, Some(line_id))
        .await
    {
        Ok(order) => Some(match order.line(line_id) {
            Some(line) => MarketView::Known {
                expire_at: line.expire_at(),
            },
            None => MarketView::Unknown,
        }),
        Err(err) if err.unknown_order => Some(MarketView::Unknown),
        Err(err) => {
            tracing::warn!(
                instance_id = instance.instance_id,
                order_id = instance.order_id,
                error = %err,
                "reconciliation: cannot fetch the order; instance skipped this pass"
            );
            metrics::counter!("koogate_reconcile_query_failures_total").increment(1);
            None
        }
    }
}

/// Applies the calls KooGallery missed. Only expiry and release are healed: a missed renewal
/// needs the renewal order's details, and an orphan may be a mistake on either side.
async fn heal(
    gw: &Gateway,
    instance: &Instance,
    findings: &[Finding],
    report: &mut ReconcileReport,
) -> Result<(), ReconcileError> {
    for finding in findings {
        let call = match finding {
            Finding::MissedExpiry { .. } => MissedCall::Freeze,
            Finding::MissedRelease { .. } => MissedCall::Release,
            _ => continue,
        };
        let kind = finding.kind().as_str();
        match apply_missed(gw, &instance.instance_id, call).await {
            Ok(()) => {
                gw.store
                    .heal_finding(&instance.instance_id, kind, gw.clock.now())
                    .await?;
                report.healed += 1;
                if let Some(open) = report.open.get_mut(&finding.kind()) {
                    *open = open.saturating_sub(1);
                }
                metrics::counter!("koogate_reconcile_healed_total", "kind" => kind).increment(1);
                tracing::warn!(
                    instance_id = instance.instance_id,
                    kind,
                    "reconciliation: applied the call KooGallery never sent"
                );
            }
            Err(err) => {
                report.heal_failures += 1;
                tracing::error!(
                    instance_id = instance.instance_id,
                    kind,
                    error = %err,
                    "reconciliation: could not apply the missed call; the next pass tries again"
                );
            }
        }
    }
    Ok(())
}

fn to_stored(finding: &Finding) -> NewFinding {
    NewFinding {
        kind: finding.kind().as_str().to_owned(),
        // A finding is plain data (times and an enum tag): serialising it cannot fail.
        detail: serde_json::to_string(finding).unwrap_or_default(),
    }
}

async fn last_usage(
    gw: &Gateway,
    page: &[Instance],
) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
    let ids: Vec<String> = page.iter().map(|i| i.instance_id.clone()).collect();
    let totals = gw.store.usage_totals(&ids).await?;
    Ok(totals
        .into_iter()
        .map(|t| (t.instance_id, t.last_occurred_at))
        .collect())
}

/// `koogate_reconcile_open_findings{kind}`: what the last pass left open.
fn publish(report: &ReconcileReport) {
    for kind in FindingKind::ALL {
        let open = report.open.get(&kind).copied().unwrap_or(0);
        metrics::gauge!("koogate_reconcile_open_findings", "kind" => kind.as_str())
            .set(open as f64);
    }
    tracing::info!(
        checked = report.checked,
        unreachable = report.unreachable,
        opened = report.opened,
        healed = report.healed,
        "reconciliation pass"
    );
}
