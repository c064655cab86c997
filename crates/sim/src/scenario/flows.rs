//! Every flow of the spec as KooGallery plays it (spec saas-v2 §3, §6; license-kit §2.2, §3, §7).
//!
//! Each flow places fresh orders (so a target that keeps its database can run them again) shaped
//! like the `MOCK*` debug orders of saas-v2 §6, and dates them from the time it is built, so
//! expiry dates lie in the future of whichever clock the target keeps.
//!
//! Placeholders filled by the engine: `${orderId}`/`${orderLineId}` (the order the step placed, or
//! the latest one), `${instanceId}` (from `newInstance`), `${businessId}` (fresh on every attempt,
//! as the spec requires), `${eventId}` and `${license}` (one per flow run), `${testFlag}` (absent
//! in production calls unless the engine is told to mark them as debug calls).

mod parts;

use chrono::{DateTime, Duration, Utc};
use koogate_protocol::time::format_license_time;
use serde_json::json;

use super::{Flow, Step};
use crate::orders::{LineSpec, OrderType};
use crate::retry::CallKind;
use parts::{
    Dates, body, new_instance, on_demand_line, pro_product, pro_product_json, purchase, refresh,
    status, with_order,
};

/// Every flow name, in the order `koogate sim --flow all` plays them.
pub const NAMES: [&str; 16] = [
    "new-period",
    "new-one-time",
    "new-on-demand",
    "new-on-demand-pkg",
    "trial",
    "trial-to-paid",
    "renewal",
    "renewal-change",
    "un-renewal",
    "upgrade",
    "expiry",
    "unsubscribe",
    "release",
    "online-license",
    "order-notify",
    "license-code",
];

/// Every flow, dated from `at`.
pub fn all(at: DateTime<Utc>) -> Vec<Flow> {
    NAMES.iter().filter_map(|name| by_name(name, at)).collect()
}

/// One flow by name, dated from `at`.
pub fn by_name(name: &str, at: DateTime<Utc>) -> Option<Flow> {
    let d = Dates(at);
    let steps = match name {
        "new-period" => purchase(d.yearly(OrderType::New)),
        "new-one-time" => purchase(d.order(OrderType::New, LineSpec::one_time())),
        "new-on-demand" => purchase(d.order(OrderType::New, on_demand_line())),
        "new-on-demand-pkg" => {
            let line = LineSpec::on_demand_pkg("year", 1, &d.after(365));
            purchase(d.order(OrderType::New, line))
        }
        "trial" => purchase(d.trial()),
        "trial-to-paid" => trial_to_paid(&d),
        "renewal" => vec![new_instance(d.monthly(OrderType::New, 30)), renew(&d)],
        "renewal-change" => renewal_change(&d),
        "un-renewal" => un_renewal(&d),
        "upgrade" => upgrade(&d),
        "expiry" => expiry(&d),
        "unsubscribe" => unsubscribe(&d),
        "release" => release(&d),
        "online-license" => online_license(&d),
        "order-notify" => order_notify(&d),
        "license-code" => license_code(&d),
        _ => return None,
    };
    Some(Flow::new(name, summary(name), steps))
}

fn summary(name: &str) -> &'static str {
    match name {
        "new-period" => "new purchase, yearly period",
        "new-one-time" => "new purchase, per use",
        "new-on-demand" => "new purchase, on demand",
        "new-on-demand-pkg" => "new purchase, on-demand package",
        "trial" => "trial",
        "trial-to-paid" => "trial, then converted to a paid order",
        "renewal" => "purchase, then a renewal",
        "renewal-change" => "purchase, then a renewal that changes the specification",
        "un-renewal" => "purchase, renewal, then the renewal period refunded",
        "upgrade" => "purchase, change check, then upgrade",
        "expiry" => "purchase, expiry freeze, renewal, unfreeze",
        "unsubscribe" => "purchase, then unsubscribed (release with the refund order)",
        "release" => "purchase, expiry freeze, release after the retention period",
        "online-license" => "online-License purchase, then getLicenseAsync",
        "order-notify" => "order notification of a new order",
        "license-code" => "license code renewed, frozen, unfrozen, released",
        _ => "",
    }
}

fn trial_to_paid(d: &Dates) -> Vec<Step> {
    let paid = d.monthly(OrderType::TrialToFormal, 37);
    vec![
        new_instance(d.trial()),
        refresh("trial to paid", "TRIAL_TO_FORMAL", d.after(37)).place(paid),
    ]
}

fn renew(d: &Dates) -> Step {
    refresh("renewal", "RENEWAL", d.after(60)).place(d.monthly(OrderType::Renew, 60))
}

/// `RENEWAL_CHANGE` (spec saas-v2 §3.3, newer revision): the renewal order carries the new
/// specification, which the vendor reads from the order.
fn renewal_change(d: &Dates) -> Vec<Step> {
    let line = LineSpec::period("month", 1, &d.after(60)).products(vec![pro_product()]);
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        refresh(
            "renewal with a new specification",
            "RENEWAL_CHANGE",
            d.after(60),
        )
        .place(d.order(OrderType::Renew, line)),
    ]
}

fn un_renewal(d: &Dates) -> Vec<Step> {
    let refund = d.monthly(OrderType::Unsubscribe, 30);
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        renew(d),
        refresh("un-renewal", "UNSUBSCRIBE_RENEWAL_PERIOD", d.after(30)).place(refund),
    ]
}

fn upgrade(d: &Dates) -> Vec<Step> {
    let check = json!({"instanceId": "${instanceId}", "productInfo": pro_product_json()});
    let line = LineSpec::period("month", 1, &d.after(30)).products(vec![pro_product()]);
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        Step::new("change check", body("changeInstanceCheck", check)),
        Step::new("upgrade", body("upgradeInstance", with_order()))
            .place(d.order(OrderType::Change, line)),
    ]
}

fn expiry(d: &Dates) -> Vec<Step> {
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        status("expiry: freeze", "FREEZE"),
        renew(d),
        status("renewed: unfreeze", "UNFREEZE"),
    ]
}

fn unsubscribe(d: &Dates) -> Vec<Step> {
    let refund = d.monthly(OrderType::Unsubscribe, 30);
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        Step::new("unsubscribe", body("releaseInstance", with_order())).place(refund),
    ]
}

fn release(d: &Dates) -> Vec<Step> {
    let release = json!({"instanceId": "${instanceId}"});
    vec![
        new_instance(d.monthly(OrderType::New, 30)),
        status("expiry: freeze", "FREEZE"),
        Step::new("release", body("releaseInstance", release)),
    ]
}

fn online_license(d: &Dates) -> Vec<Step> {
    let application = json!({
        "instanceId": "${instanceId}",
        "eventId": "${eventId}",
        "effectiveTime": format_license_time(d.0),
        "expireTime": format_license_time(d.0 + Duration::days(365)),
        "deviceFingerprint": "00-1A-2B-3C-4D-5E|WD-WX11A12B3C4D|MB-0001|BFEBFBFF000906EA",
    });
    vec![
        // Creating an online-License instance has its own schedule (saas-v2 §1.1).
        new_instance(d.yearly(OrderType::New)).kind(Some(CallKind::OnlineLicense)),
        Step::new("license application", body("getLicenseAsync", application))
            .accept(&["000000", "000004"]),
    ]
}

fn order_notify(d: &Dates) -> Vec<Step> {
    // testFlag is mandatory here (license-kit §7): "0" for a real order.
    let notify = json!({
        "activity": "orderNotify",
        "orderId": "${orderId}",
        "orderLineId": "${orderLineId}",
        "testFlag": "${testFlag:0}",
    });
    vec![Step::new("order notification", notify).place(d.yearly(OrderType::New))]
}

fn license_code(d: &Dates) -> Vec<Step> {
    let refresh = json!({
        "license": "${license}",
        "orderId": "${orderId}",
        "orderLineId": "${orderLineId}",
        "scene": "RENEWAL",
        "expireTime": d.after(60),
    });
    let status = |s: &str| json!({"license": "${license}", "status": s});
    vec![
        Step::new("renewal", body("refreshLicenseCode", refresh))
            .place(d.monthly(OrderType::Renew, 60)),
        Step::new(
            "expiry: freeze",
            body("updateLicenseCodeStatus", status("FREEZE")),
        ),
        Step::new(
            "renewed: unfreeze",
            body("updateLicenseCodeStatus", status("UNFREEZE")),
        ),
        Step::new(
            "release",
            body("releaseLicenseCode", json!({"license": "${license}"})),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn every_name_builds_a_flow_with_known_activities() {
        let at = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
        let flows = all(at);
        assert_eq!(flows.len(), NAMES.len());
        for flow in &flows {
            assert!(!flow.steps.is_empty(), "{}", flow.name);
            for step in &flow.steps {
                assert_ne!(step.activity(), "?", "{}", flow.name);
            }
        }
        assert!(by_name("nope", at).is_none());
    }

    #[test]
    fn retry_kinds_follow_the_activities() {
        let at = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
        let renewal = by_name("renewal", at).unwrap();
        assert_eq!(renewal.steps[0].kind, Some(CallKind::NewPurchase));
        assert_eq!(renewal.steps[1].kind, Some(CallKind::Renewal));
        assert!(renewal.steps[1].place.is_some());
        let online = by_name("online-license", at).unwrap();
        assert_eq!(online.steps[0].kind, Some(CallKind::OnlineLicense));
        assert_eq!(online.steps[1].kind, Some(CallKind::OnlineLicense));
        let upgrade = by_name("upgrade", at).unwrap();
        assert_eq!(upgrade.steps[1].kind, None);
        assert_eq!(upgrade.steps[2].kind, Some(CallKind::Upgrade));
    }
}
