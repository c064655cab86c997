use chrono::TimeZone;

use super::*;
use InstanceStatus::{Active, Failed, Frozen, Provisioning, Released};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap()
}

fn local(status: InstanceStatus, expire: Option<DateTime<Utc>>) -> LocalView {
    LocalView {
        status,
        expire_time: expire,
        last_usage_at: None,
    }
}

fn known(expire: Option<DateTime<Utc>>) -> MarketView {
    MarketView::Known { expire_at: expire }
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(Finding::kind).collect()
}

#[test]
fn agreeing_sides_have_no_findings() {
    let expiry = Some(at(10, 0));
    for status in [Provisioning, Active, Frozen, Failed] {
        assert!(decide(&local(status, expiry), known(expiry), at(9, 0)).is_empty());
    }
    // Frozen after expiry, inside the freeze period: exactly what KooGallery asked for.
    assert!(decide(&local(Frozen, expiry), known(expiry), at(20, 0)).is_empty());
    // On-demand and one-time lines have no expiry at all.
    assert!(decide(&local(Active, None), known(None), at(28, 0)).is_empty());
}

#[test]
fn expiry_is_missed_only_after_koogallery_stopped_retrying() {
    let expiry = Some(at(10, 0));
    let view = local(Active, expiry);
    assert!(decide(&view, known(expiry), at(10, 2)).is_empty());
    assert_eq!(
        decide(&view, known(expiry), at(10, 3)),
        [Finding::MissedExpiry {
            expired_at: at(10, 0)
        }]
    );
    // Still provisioning counts too: KooGallery freezes it all the same.
    let provisioning = local(Provisioning, expiry);
    assert_eq!(
        kinds(&decide(&provisioning, known(expiry), at(11, 0))),
        [FindingKind::MissedExpiry]
    );
    // Frozen or failed instances are not in use: nothing for a FREEZE to change.
    for status in [Frozen, Failed] {
        assert!(decide(&local(status, expiry), known(expiry), at(11, 0)).is_empty());
    }
}

#[test]
fn release_is_missed_after_the_freeze_period_and_the_retry_window() {
    let expiry = Some(at(1, 0));
    let due = at(16, 0);
    for status in [Provisioning, Active, Frozen, Failed] {
        let view = local(status, expiry);
        let early = decide(&view, known(expiry), at(16, 2));
        assert!(
            !kinds(&early).contains(&FindingKind::MissedRelease),
            "{status:?}"
        );
        assert_eq!(
            decide(&view, known(expiry), at(16, 3)),
            [Finding::MissedRelease {
                release_due_at: due
            }],
            "{status:?}"
        );
    }
}

#[test]
fn released_instances_have_no_findings() {
    let mut view = local(Released, Some(at(1, 0)));
    view.last_usage_at = Some(at(28, 0));
    assert!(decide(&view, known(Some(at(1, 0))), at(28, 0)).is_empty());
    assert!(decide(&view, MarketView::Unknown, at(28, 0)).is_empty());
    assert!(decide(&view, known(Some(at(20, 0))), at(28, 0)).is_empty());
}

#[test]
fn a_later_koogallery_expiry_is_a_missed_renewal() {
    let view = local(Active, Some(at(10, 0)));
    assert_eq!(
        decide(&view, known(Some(at(20, 0))), at(5, 0)),
        [Finding::MissedRenewal {
            local_expire_at: Some(at(10, 0)),
            market_expire_at: at(20, 0)
        }]
    );
    // The renewal KooGallery made means the instance has not expired: no missed expiry.
    assert_eq!(
        kinds(&decide(&view, known(Some(at(20, 0))), at(12, 0))),
        [FindingKind::MissedRenewal]
    );
    // A frozen instance KooGallery renewed missed the renewal (and the unfreeze with it).
    let frozen = local(Frozen, Some(at(10, 0)));
    assert_eq!(
        kinds(&decide(&frozen, known(Some(at(20, 0))), at(12, 0))),
        [FindingKind::MissedRenewal]
    );
    // No expiry stored here, one at KooGallery.
    let none = local(Active, None);
    assert_eq!(
        kinds(&decide(&none, known(Some(at(20, 0))), at(5, 0))),
        [FindingKind::MissedRenewal]
    );
    // An equal or earlier expiry there is no renewal.
    assert!(decide(&view, known(Some(at(10, 0))), at(5, 0)).is_empty());
    assert!(decide(&view, known(Some(at(9, 0))), at(5, 0)).is_empty());
}

#[test]
fn a_renewal_we_were_told_about_outranks_the_original_order() {
    // refreshInstance moved our expiry to the 20th; the order query still shows the 10th.
    let view = local(Active, Some(at(20, 0)));
    assert!(decide(&view, known(Some(at(10, 0))), at(15, 0)).is_empty());
    assert_eq!(
        decide(&view, known(Some(at(10, 0))), at(21, 0)),
        [Finding::MissedExpiry {
            expired_at: at(20, 0)
        }]
    );
}

#[test]
fn an_order_koogallery_does_not_know_is_an_orphan() {
    assert_eq!(
        decide(&local(Active, None), MarketView::Unknown, at(1, 0)),
        [Finding::Orphan]
    );
    let mut metered = local(Active, None);
    metered.last_usage_at = Some(at(2, 0));
    assert_eq!(
        decide(&metered, MarketView::Unknown, at(3, 0)),
        [
            Finding::Orphan,
            Finding::UsageAfterRelease {
                last_usage_at: at(2, 0)
            }
        ]
    );
}

#[test]
fn usage_after_the_release_was_due_is_flagged() {
    let expiry = Some(at(1, 0));
    let mut view = local(Active, expiry);
    view.last_usage_at = Some(at(15, 23));
    assert_eq!(
        kinds(&decide(&view, known(expiry), at(20, 0))),
        [FindingKind::MissedRelease]
    );
    view.last_usage_at = Some(at(16, 0));
    assert_eq!(
        decide(&view, known(expiry), at(20, 0)),
        [
            Finding::MissedRelease {
                release_due_at: at(16, 0)
            },
            Finding::UsageAfterRelease {
                last_usage_at: at(16, 0)
            }
        ]
    );
}

#[test]
fn kinds_round_trip_and_serialise_with_their_data() {
    for kind in FindingKind::ALL {
        assert_eq!(FindingKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(FindingKind::parse("missedExpiry"), None);
    let json = serde_json::to_value(Finding::MissedExpiry {
        expired_at: at(10, 0),
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "missed_expiry", "expiredAt": "2025-03-10T00:00:00Z"})
    );
}
