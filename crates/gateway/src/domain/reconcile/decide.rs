//! The reconciliation rules, as one pure function: our instance, KooGallery's order and the time
//! in, the disagreements out. Nothing here does I/O.
//!
//! KooGallery's order query has no status field (saas-v2 §7.1), so its view is inferred from
//! what it does return: whether it knows the order at all, and the line's `expireTime`. An
//! instance is frozen at expiry and released at the latest when the freeze period (up to 15
//! days, saas-v2 §1.1) ends. KooGallery retries expiry and release calls for about an hour (up
//! to 3 h in some revisions), so a call is only counted as missed once that window has passed.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::store::InstanceStatus;

/// How long KooGallery keeps retrying an expiry, release or renewal call (saas-v2 §1.1: 1 h,
/// some revisions 3 h). Before that, a missing call may simply still be on its way.
pub const RETRY_WINDOW: Duration = Duration::hours(3);
/// The freeze period after expiry (saas-v2 §1.1: "up to 15 days"); the release is due at its end.
pub const FREEZE_PERIOD: Duration = Duration::days(15);

/// What we hold for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalView {
    pub status: InstanceStatus,
    pub expire_time: Option<DateTime<Utc>>,
    /// The newest usage report recorded for it, if any.
    pub last_usage_at: Option<DateTime<Utc>>,
}

/// What KooGallery's order query says about the instance's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketView {
    /// The order exists; `expire_at` is its line's `expireTime` (none for on-demand and
    /// one-time lines).
    Known { expire_at: Option<DateTime<Utc>> },
    /// KooGallery does not know the order (or the line).
    Unknown,
}

/// One disagreement between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Finding {
    /// The instance expired more than the retry window ago and is still usable here: the
    /// FREEZE never arrived.
    MissedExpiry { expired_at: DateTime<Utc> },
    /// The freeze period ended more than the retry window ago and the instance is not
    /// released here: the release never arrived.
    MissedRelease { release_due_at: DateTime<Utc> },
    /// KooGallery's expiry is later than ours: a renewal (refreshInstance) never arrived.
    MissedRenewal {
        local_expire_at: Option<DateTime<Utc>>,
        market_expire_at: DateTime<Utc>,
    },
    /// KooGallery does not know the instance's order.
    Orphan,
    /// Usage was recorded after KooGallery stopped knowing the instance (released, or never
    /// known); KooGallery will not bill it.
    UsageAfterRelease { last_usage_at: DateTime<Utc> },
}

impl Finding {
    /// The stable name used in the store, the metrics and the vendor API.
    pub fn kind(&self) -> FindingKind {
        match self {
            Self::MissedExpiry { .. } => FindingKind::MissedExpiry,
            Self::MissedRelease { .. } => FindingKind::MissedRelease,
            Self::MissedRenewal { .. } => FindingKind::MissedRenewal,
            Self::Orphan => FindingKind::Orphan,
            Self::UsageAfterRelease { .. } => FindingKind::UsageAfterRelease,
        }
    }
}

/// The kinds of [`Finding`], without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    MissedExpiry,
    MissedRelease,
    MissedRenewal,
    Orphan,
    UsageAfterRelease,
}

impl FindingKind {
    pub const ALL: [Self; 5] = [
        Self::MissedExpiry,
        Self::MissedRelease,
        Self::MissedRenewal,
        Self::Orphan,
        Self::UsageAfterRelease,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissedExpiry => "missed_expiry",
            Self::MissedRelease => "missed_release",
            Self::MissedRenewal => "missed_renewal",
            Self::Orphan => "orphan",
            Self::UsageAfterRelease => "usage_after_release",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Every disagreement between `local` and `market` at `now`. A released instance has none: it
/// is gone on both sides, whatever the order says.
pub fn decide(local: &LocalView, market: MarketView, now: DateTime<Utc>) -> Vec<Finding> {
    if local.status == InstanceStatus::Released {
        return Vec::new();
    }
    let market_expire_at = match market {
        MarketView::Unknown => {
            let mut findings = vec![Finding::Orphan];
            if let Some(last_usage_at) = local.last_usage_at {
                findings.push(Finding::UsageAfterRelease { last_usage_at });
            }
            return findings;
        }
        MarketView::Known { expire_at } => expire_at,
    };
    let mut findings = Vec::new();
    if let Some(market) = market_expire_at
        && local.expire_time.is_none_or(|local| market > local)
    {
        findings.push(Finding::MissedRenewal {
            local_expire_at: local.expire_time,
            market_expire_at: market,
        });
    }
    // A renewal KooGallery told us about moves our expiry past the original order's, which the
    // order query may still show: the later of the two is when the instance really expires.
    let Some(expired_at) = later(local.expire_time, market_expire_at) else {
        return findings;
    };
    let release_due_at = expired_at + FREEZE_PERIOD;
    if now >= release_due_at + RETRY_WINDOW {
        findings.push(Finding::MissedRelease { release_due_at });
        if let Some(last_usage_at) = local.last_usage_at.filter(|at| *at >= release_due_at) {
            findings.push(Finding::UsageAfterRelease { last_usage_at });
        }
    } else if now >= expired_at + RETRY_WINDOW && usable(local.status) {
        findings.push(Finding::MissedExpiry { expired_at });
    }
    findings
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a FREEZE would still change the instance (a failed instance is not in use).
fn usable(status: InstanceStatus) -> bool {
    matches!(
        status,
        InstanceStatus::Active | InstanceStatus::Provisioning
    )
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
