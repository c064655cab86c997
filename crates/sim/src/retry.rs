//! KooGallery's retry behaviour toward a production interface, as pure arithmetic.
//!
//! Every number below comes from a row of the spec's retry tables; the scenario engine turns a
//! [`CallKind`]'s [`schedule`] into attempts on a simulated clock, so a three-hour retry window
//! costs the tests no real time. Where the spec gives only a window ("retried for 1 hour") the
//! interval is inferred and says so; [`RetryPolicy`] values can be replaced per kind (see
//! `scenario::EngineOptions::policies`) when the real marketplace turns out to differ.

use std::time::Duration;

use serde::Serialize;

/// KooGallery's per-call timeout in production: "请求超时时间:5s" (spec saas-v2 §1 Transport,
/// row "Timeout (production)"; license-kit §2.2.1). The seller-center debugger waits 20 s
/// instead (row "Timeout (debug console)"), which is why the engine lets callers change it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The seller-center debugger's timeout ("调用接口超时20s", spec saas-v2 §1 / §6).
pub const DEBUG_CONSOLE_TIMEOUT: Duration = Duration::from_secs(20);

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Which retry rule of the spec a production call falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallKind {
    /// 新购 `newInstance` (and a trial, which is a new purchase of a trial order).
    NewPurchase,
    /// 实例升级 `upgradeInstance`.
    Upgrade,
    /// 续费 `refreshInstance` (renewal, trial → paid, un-renewal).
    Renewal,
    /// 过期 `updateInstanceStatus` (freeze on expiry, unfreeze after renewal).
    Expiry,
    /// 释放 `releaseInstance`.
    Release,
    /// License 2.0 `refreshLicenseCode` / `updateLicenseCodeStatus` / `releaseLicenseCode`.
    LicenseCode,
    /// 订单通知 `orderNotify`.
    OrderNotify,
    /// Online-License create (`getLicenseAsync`, and `newInstance` of an online-License product).
    OnlineLicense,
}

/// When a policy stops retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// Keep retrying while the next attempt falls inside this window after the first one
    /// (inclusive: a 3 h window at 1 h intervals still makes the attempt at 3 h).
    Window(Duration),
    /// Retry this many times after the first attempt.
    MaxRetries(u32),
}

/// How often and how long KooGallery retries one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    pub interval: Duration,
    pub limit: Limit,
}

/// What KooGallery does when the last attempt has failed too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exhausted {
    /// The order is judged failed and refunded automatically (自动进行订单退订).
    OrderFailedRefunded,
    /// Retrying stops; the failure stays in 生产接口消息 for a manual "重新启动".
    ManualRetryOnly,
}

impl RetryPolicy {
    /// A single attempt and no retry (the "调用1次" reading of some SaaS-center revisions for
    /// expiry and release, spec saas-v2 §1.1 row "Expiry / release").
    pub const ONCE: RetryPolicy = RetryPolicy {
        interval: HOUR,
        limit: Limit::MaxRetries(0),
    };

    /// Offsets of every attempt from the first, the first being `0`.
    pub fn offsets(&self) -> Vec<Duration> {
        let retries = match self.limit {
            Limit::MaxRetries(n) => n,
            // A zero interval would never leave the window; treat it as "no retry".
            Limit::Window(_) if self.interval.is_zero() => 0,
            Limit::Window(window) => {
                let steps = window.as_millis() / self.interval.as_millis();
                u32::try_from(steps).unwrap_or(u32::MAX)
            }
        };
        (0..=retries).map(|n| self.interval * n).collect()
    }
}

impl CallKind {
    pub const ALL: [CallKind; 8] = [
        CallKind::NewPurchase,
        CallKind::Upgrade,
        CallKind::Renewal,
        CallKind::Expiry,
        CallKind::Release,
        CallKind::LicenseCode,
        CallKind::OrderNotify,
        CallKind::OnlineLicense,
    ];

    /// The spec's policy for this kind. Each arm names its row.
    pub fn policy(self) -> RetryPolicy {
        let hourly_for = |hours: u32| RetryPolicy {
            interval: HOUR,
            limit: Limit::Window(HOUR * hours),
        };
        match self {
            // saas-v2 §1.1 "New purchase & upgrade": retried for 3 hours; SaaS-center 0131
            // gives the interval, "3小时(每小时1次)".
            CallKind::NewPurchase | CallKind::Upgrade => hourly_for(3),
            // saas-v2 §1.1 "Renewal": retried for 1 hour; "Expiry / release": retried 1 hour.
            // The interval is not stated: hourly, as for new purchases [INFERRED], which makes
            // one retry at the end of the hour.
            CallKind::Renewal | CallKind::Expiry | CallKind::Release => hourly_for(1),
            // license-kit §2.2.3: "60 times, every 2 minutes".
            CallKind::LicenseCode => RetryPolicy {
                interval: MINUTE * 2,
                limit: Limit::MaxRetries(60),
            },
            // license-kit §7 (and saas-v2 §1.1 "订单通知"): keeps calling for 3 hours; hourly
            // like a new purchase [INFERRED].
            CallKind::OrderNotify => hourly_for(3),
            // saas-v2 §1.1 "Online-License variant": create retried 2 hours, every 2 minutes.
            CallKind::OnlineLicense => RetryPolicy {
                interval: MINUTE * 2,
                limit: Limit::Window(HOUR * 2),
            },
        }
    }

    /// What happens after the last failed attempt (saas-v2 §1.1: only a new purchase and an
    /// upgrade end in an automatic refund; every other failure waits for a manual retry).
    pub fn on_exhausted(self) -> Exhausted {
        match self {
            CallKind::NewPurchase | CallKind::Upgrade => Exhausted::OrderFailedRefunded,
            _ => Exhausted::ManualRetryOnly,
        }
    }

    /// The retry kind of a production activity, or `None` for calls KooGallery makes once and
    /// does not retry (`queryInstance`, made when the buyer looks; `changeInstanceCheck`, a
    /// synchronous pre-check whose refusal the buyer sees at once) \[INFERRED\].
    pub fn for_activity(activity: &str) -> Option<CallKind> {
        Some(match activity {
            "newInstance" => CallKind::NewPurchase,
            "upgradeInstance" => CallKind::Upgrade,
            "refreshInstance" => CallKind::Renewal,
            "updateInstanceStatus" => CallKind::Expiry,
            "releaseInstance" => CallKind::Release,
            "refreshLicenseCode" | "updateLicenseCodeStatus" | "releaseLicenseCode" => {
                CallKind::LicenseCode
            }
            "orderNotify" => CallKind::OrderNotify,
            "getLicenseAsync" => CallKind::OnlineLicense,
            _ => return None,
        })
    }
}

/// Offsets of every attempt KooGallery makes for `kind`, from the first (which is `0`).
pub fn schedule(kind: CallKind) -> Vec<Duration> {
    kind.policy().offsets()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(h: &[u64]) -> Vec<Duration> {
        h.iter().map(|h| Duration::from_secs(h * 3600)).collect()
    }

    fn every_two_minutes_to_two_hours() -> Vec<Duration> {
        (0..=60).map(|n| Duration::from_secs(n * 120)).collect()
    }

    #[test]
    fn new_purchase_and_upgrade_hourly_for_three_hours() {
        assert_eq!(schedule(CallKind::NewPurchase), hours(&[0, 1, 2, 3]));
        assert_eq!(schedule(CallKind::Upgrade), hours(&[0, 1, 2, 3]));
    }

    #[test]
    fn renewal_expiry_release_retry_once_after_an_hour() {
        for kind in [CallKind::Renewal, CallKind::Expiry, CallKind::Release] {
            assert_eq!(schedule(kind), hours(&[0, 1]), "{kind:?}");
        }
    }

    #[test]
    fn license_code_sixty_retries_every_two_minutes() {
        let offsets = schedule(CallKind::LicenseCode);
        assert_eq!(offsets.len(), 61);
        assert_eq!(offsets, every_two_minutes_to_two_hours());
        assert_eq!(offsets.last(), Some(&Duration::from_secs(120 * 60)));
    }

    #[test]
    fn order_notify_like_new_purchase() {
        assert_eq!(schedule(CallKind::OrderNotify), hours(&[0, 1, 2, 3]));
    }

    #[test]
    fn online_license_every_two_minutes_for_two_hours() {
        assert_eq!(
            schedule(CallKind::OnlineLicense),
            every_two_minutes_to_two_hours()
        );
    }

    #[test]
    fn only_new_purchase_and_upgrade_are_refunded() {
        for kind in CallKind::ALL {
            let refunded = matches!(kind, CallKind::NewPurchase | CallKind::Upgrade);
            assert_eq!(
                kind.on_exhausted() == Exhausted::OrderFailedRefunded,
                refunded,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn timeouts_are_the_spec_numbers() {
        assert_eq!(CALL_TIMEOUT, Duration::from_secs(5));
        assert_eq!(DEBUG_CONSOLE_TIMEOUT, Duration::from_secs(20));
    }

    #[test]
    fn odd_policies_stay_finite() {
        assert_eq!(RetryPolicy::ONCE.offsets(), vec![Duration::ZERO]);
        let zero = RetryPolicy {
            interval: Duration::ZERO,
            limit: Limit::Window(HOUR),
        };
        assert_eq!(zero.offsets(), vec![Duration::ZERO]);
        let uneven = RetryPolicy {
            interval: Duration::from_secs(40 * 60),
            limit: Limit::Window(HOUR),
        };
        assert_eq!(
            uneven.offsets(),
            vec![Duration::ZERO, Duration::from_secs(2400)]
        );
    }

    #[test]
    fn activities_map_to_kinds() {
        assert_eq!(
            CallKind::for_activity("newInstance"),
            Some(CallKind::NewPurchase)
        );
        assert_eq!(
            CallKind::for_activity("releaseLicenseCode"),
            Some(CallKind::LicenseCode)
        );
        assert_eq!(CallKind::for_activity("queryInstance"), None);
        assert_eq!(CallKind::for_activity("changeInstanceCheck"), None);
    }
}
