//! The reconciliation stories. Each takes the URL of a fresh database.

use std::collections::BTreeMap;

use chrono::Duration;
use koogate_gateway::config::ReconcileMode;
use koogate_gateway::domain::reconcile::{FindingKind, reconcile_once};
use koogate_gateway::store::{NewFinding, Store};
use koogate_sim::faults::Faults;
use koogate_sim::scenario::{Flow, FlowReport, Step, flows};
use serde_json::{Value, json};

use super::harness::{Rig, start_time};

/// The three instances of every story, and what KooGallery never told the gateway about them.
struct Bought {
    /// Frozen at expiry, then released by KooGallery after the freeze period: the release
    /// never arrived.
    unreleased: String,
    /// Renewed, then expired: neither the FREEZE at expiry (nor the earlier one) arrived.
    unfrozen: String,
    /// A yearly purchase still running: nothing to find.
    healthy: String,
}

async fn buy(rig: &Rig) -> Bought {
    let never = |activity: &str| Faults::parse([format!("never={activity}")]).unwrap();
    let release = play(rig, never("releaseInstance"), "release").await;
    let expiry = play(rig, never("updateInstanceStatus"), "expiry").await;
    let healthy = play(rig, Faults::default(), "new-period").await;
    let skipped = |report: &FlowReport| {
        report
            .steps
            .iter()
            .filter(|s| s.never_sent)
            .map(|s| s.activity.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(skipped(&release), ["releaseInstance"]);
    assert_eq!(
        skipped(&expiry),
        ["updateInstanceStatus", "updateInstanceStatus"]
    );
    Bought {
        unreleased: release.instance_id.unwrap(),
        unfrozen: expiry.instance_id.unwrap(),
        healthy: healthy.instance_id.unwrap(),
    }
}

async fn play(rig: &Rig, faults: Faults, name: &str) -> FlowReport {
    let engine = rig.engine(faults);
    let report = engine
        .run(&flows::by_name(name, start_time()).unwrap())
        .await;
    assert!(report.fulfilled(), "{name}: {report:#?}");
    assert!(
        engine.exchanges().all().iter().all(|e| e.ok),
        "{name}: {:#?}",
        engine.exchanges().all()
    );
    report
}

/// 61 days after the purchases: the monthly order of `release` ended 31 days ago (its 15-day
/// freeze period 16 days ago); `expiry`'s renewal ran out yesterday.
fn jump_past_both(rig: &Rig) {
    rig.sim.clock().jump_to(start_time() + Duration::days(61));
}

async fn findings(rig: &Rig, query: &str) -> Vec<Value> {
    rig.api(&format!("reconciliation{query}"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

fn by_instance(findings: &[Value]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in findings {
        map.entry(f["instanceId"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                f["kind"].as_str().unwrap().to_owned(),
                f["state"].as_str().unwrap().to_owned(),
            ));
    }
    map
}

fn pair(kind: &str, state: &str) -> Vec<(String, String)> {
    vec![(kind.to_owned(), state.to_owned())]
}

async fn status(rig: &Rig, id: &str) -> String {
    rig.api(&format!("instances/{id}")).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn count(types: &[String], kind: &str) -> usize {
    types.iter().filter(|t| *t == kind).count()
}

pub async fn a_missed_release_and_a_missed_expiry_are_found_and_listed(db: String) {
    let rig = Rig::start(db, false).await;
    let bought = buy(&rig).await;
    // Before the calls were due, a pass finds nothing.
    let early = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!((early.checked, early.opened), (3, 0), "{early:?}");
    assert!(findings(&rig, "").await.is_empty());

    jump_past_both(&rig);
    let report = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!(
        (
            report.checked,
            report.unreachable,
            report.opened,
            report.healed
        ),
        (3, 0, 2, 0)
    );
    assert_eq!(report.found.get(&FindingKind::MissedRelease), Some(&1));
    assert_eq!(report.found.get(&FindingKind::MissedExpiry), Some(&1));
    let listed = by_instance(&findings(&rig, "").await);
    assert_eq!(
        listed.get(&bought.unreleased),
        Some(&pair("missed_release", "open"))
    );
    assert_eq!(
        listed.get(&bought.unfrozen),
        Some(&pair("missed_expiry", "open"))
    );
    assert!(!listed.contains_key(&bought.healthy), "{listed:?}");
    let all = findings(&rig, "").await;
    let release = all.iter().find(|f| f["kind"] == "missed_release").unwrap();
    assert_eq!(
        release["detail"]["releaseDueAt"], "2025-04-15T08:00:00Z",
        "{release}"
    );
    let expiry = all.iter().find(|f| f["kind"] == "missed_expiry").unwrap();
    assert_eq!(
        expiry["detail"]["expiredAt"], "2025-04-30T08:00:00Z",
        "{expiry}"
    );

    // Report mode changes nothing, and a second pass opens nothing new.
    assert_eq!(status(&rig, &bought.unreleased).await, "frozen");
    assert_eq!(status(&rig, &bought.unfrozen).await, "active");
    rig.sim.clock().advance(std::time::Duration::from_secs(60));
    let again = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!((again.opened, again.found.values().sum::<usize>()), (0, 2));
    assert_eq!(findings(&rig, "").await.len(), 2);

    // The late call arrives after all: the finding is resolved by the next pass.
    let late = Flow::new(
        "late-release",
        "KooGallery's release arrives at last",
        vec![Step::new(
            "release",
            json!({"activity": "releaseInstance", "instanceId": bought.unreleased}),
        )],
    );
    assert!(rig.engine(Faults::default()).run(&late).await.fulfilled());
    rig.sim.clock().advance(std::time::Duration::from_secs(60));
    reconcile_once(&rig.gateway).await.unwrap();
    let open = by_instance(&findings(&rig, "").await);
    assert!(!open.contains_key(&bought.unreleased), "{open:?}");
    let all = by_instance(&findings(&rig, "?all=true").await);
    assert_eq!(
        all.get(&bought.unreleased),
        Some(&pair("missed_release", "resolved"))
    );
}

pub async fn heal_mode_applies_each_missed_call_once(db: String) {
    let rig = Rig::start_with(db, false, |c| c.reconcile_mode = ReconcileMode::Heal).await;
    let bought = buy(&rig).await;
    let before_release = rig.event_types(&bought.unreleased).await;
    let before_expiry = rig.event_types(&bought.unfrozen).await;
    jump_past_both(&rig);
    let report = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!(
        (report.opened, report.healed, report.heal_failures),
        (2, 2, 0),
        "{report:?}"
    );
    assert_eq!(report.open.values().sum::<usize>(), 0, "{report:?}");
    assert_eq!(status(&rig, &bought.unreleased).await, "released");
    assert_eq!(status(&rig, &bought.unfrozen).await, "frozen");
    assert_eq!(status(&rig, &bought.healthy).await, "active");
    let released = rig.event_types(&bought.unreleased).await;
    let frozen = rig.event_types(&bought.unfrozen).await;
    assert_eq!(released[..before_release.len()], before_release[..]);
    assert_eq!(&released[before_release.len()..], ["instance.released"]);
    assert_eq!(&frozen[before_expiry.len()..], ["instance.frozen"]);
    // Newest first: the heal's own event says who decided it.
    let events = rig
        .api(&format!("events?instance={}&limit=1", bought.unfrozen))
        .await;
    assert_eq!(events[0]["payload"]["type"], "instance.frozen", "{events}");
    assert_eq!(
        events[0]["payload"]["data"]["source"], "reconciliation",
        "{events}"
    );
    assert!(
        findings(&rig, "").await.is_empty(),
        "healed findings are closed"
    );
    let all = by_instance(&findings(&rig, "?all=true").await);
    assert_eq!(
        all.get(&bought.unreleased),
        Some(&pair("missed_release", "healed"))
    );
    assert_eq!(
        all.get(&bought.unfrozen),
        Some(&pair("missed_expiry", "healed"))
    );

    // A second pass heals nothing twice.
    rig.sim.clock().advance(std::time::Duration::from_secs(60));
    let again = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!(
        (again.opened, again.healed, again.found.len()),
        (0, 0, 0),
        "{again:?}"
    );

    // KooGallery's calls arrive late after all: answered 000000, nothing happens twice.
    let late = Flow::new(
        "late-calls",
        "the freeze and the release arrive after koogate healed",
        vec![
            Step::new(
                "release",
                json!({"activity": "releaseInstance", "instanceId": bought.unreleased}),
            ),
            Step::new(
                "freeze",
                json!({"activity": "updateInstanceStatus", "instanceId": bought.unfrozen, "status": "FREEZE"}),
            ),
        ],
    );
    let engine = rig.engine(Faults::default());
    assert!(
        engine.run(&late).await.fulfilled(),
        "{:#?}",
        engine.exchanges().all()
    );
    assert_eq!(rig.event_types(&bought.unreleased).await, released);
    assert_eq!(rig.event_types(&bought.unfrozen).await, frozen);
    assert_eq!(count(&released, "instance.released"), 1);
    assert_eq!(count(&frozen, "instance.frozen"), 1);
}

pub async fn an_order_koogallery_does_not_know_is_an_orphan(db: String) {
    let rig = Rig::start(db, false).await;
    let bought = buy(&rig).await;
    let order_id = rig
        .store
        .get_instance(&bought.healthy)
        .await
        .unwrap()
        .unwrap()
        .order_id;
    assert!(rig.sim.book().remove(&order_id));
    let report = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!(
        report.found.get(&FindingKind::Orphan),
        Some(&1),
        "{report:?}"
    );
    let listed = by_instance(&findings(&rig, "").await);
    assert_eq!(listed.get(&bought.healthy), Some(&pair("orphan", "open")));
    assert_eq!(listed.len(), 1, "{listed:?}");
    // Like the rest of /api/v1, only with the bearer token.
    let url = format!("{}/api/v1/reconciliation", rig.url);
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let wrong = client
        .get(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

pub async fn off_mode_runs_no_pass(db: String) {
    let rig = Rig::start_with(db, false, |c| c.reconcile_mode = ReconcileMode::Off).await;
    buy(&rig).await;
    jump_past_both(&rig);
    let report = reconcile_once(&rig.gateway).await.unwrap();
    assert_eq!((report.checked, report.opened), (0, 0), "{report:?}");
    assert!(findings(&rig, "?all=true").await.is_empty());
}

pub async fn findings_open_once_reopen_and_resolve_in_the_store(db: String) {
    let rig = Rig::start(db, false).await;
    let store: &dyn Store = rig.store.as_ref();
    let t0 = start_time();
    let f = |kind: &str, detail: &str| NewFinding {
        kind: kind.into(),
        detail: detail.into(),
    };
    let both = [f("missed_expiry", "{\"a\":1}"), f("orphan", "{}")];
    assert_eq!(
        store.save_findings("i-1", &both, t0).await.unwrap(),
        ["missed_expiry", "orphan"]
    );
    // Seen again: nothing opens; the detail and last sighting follow.
    let t1 = t0 + Duration::hours(1);
    let again = [f("missed_expiry", "{\"a\":2}")];
    assert!(
        store
            .save_findings("i-1", &again, t1)
            .await
            .unwrap()
            .is_empty()
    );
    let open = store.list_findings(false, 10).await.unwrap();
    assert_eq!(open.len(), 2);
    let expiry = open.iter().find(|x| x.kind == "missed_expiry").unwrap();
    assert_eq!((expiry.first_seen_at, expiry.last_seen_at), (t0, t1));
    assert_eq!(expiry.detail, "{\"a\":2}");
    // A pass that started after the orphan's last sighting resolves it, and only it.
    assert_eq!(store.resolve_unseen_findings(t1, t1).await.unwrap(), 1);
    let open = store.list_findings(false, 10).await.unwrap();
    assert_eq!(
        open.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
        ["missed_expiry"]
    );
    // Healing closes it; a resolved finding seen again reopens as new.
    store
        .heal_finding("i-1", "missed_expiry", t1)
        .await
        .unwrap();
    assert!(store.list_findings(false, 10).await.unwrap().is_empty());
    let all = store.list_findings(true, 10).await.unwrap();
    let healed = all.iter().find(|x| x.kind == "missed_expiry").unwrap();
    assert_eq!((healed.healed_at, healed.resolved_at), (Some(t1), Some(t1)));
    let t2 = t1 + Duration::hours(1);
    assert_eq!(
        store
            .save_findings("i-1", &[f("orphan", "{}")], t2)
            .await
            .unwrap(),
        ["orphan"]
    );
    let reopened = store.list_findings(false, 10).await.unwrap();
    assert_eq!(
        (
            reopened.len(),
            reopened[0].first_seen_at,
            reopened[0].resolved_at
        ),
        (1, t2, None)
    );
    // Concurrent passes seeing the same new finding open it once.
    let t3 = t2 + Duration::hours(1);
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let store = rig.store.clone();
            tokio::spawn(async move {
                store
                    .save_findings(
                        "i-2",
                        &[NewFinding {
                            kind: "orphan".into(),
                            detail: "{}".into(),
                        }],
                        t3,
                    )
                    .await
            })
        })
        .collect();
    let mut opened = 0;
    for task in racing {
        opened += task.await.unwrap().unwrap().len();
    }
    assert_eq!(opened, 1);
}

pub async fn unreleased_instances_are_paged_by_id(db: String) {
    let rig = Rig::start(db, false).await;
    let bought = buy(&rig).await;
    let release = Flow::new(
        "release-now",
        "the healthy instance is released",
        vec![Step::new(
            "release",
            json!({"activity": "releaseInstance", "instanceId": bought.healthy}),
        )],
    );
    assert!(
        rig.engine(Faults::default())
            .run(&release)
            .await
            .fulfilled()
    );
    let mut expected = [bought.unreleased.clone(), bought.unfrozen.clone()];
    expected.sort();
    let first = rig.store.list_unreleased_instances("", 1).await.unwrap();
    assert_eq!(
        first.iter().map(|i| &i.instance_id).collect::<Vec<_>>(),
        [&expected[0]]
    );
    let second = rig
        .store
        .list_unreleased_instances(&expected[0], 1)
        .await
        .unwrap();
    assert_eq!(
        second.iter().map(|i| &i.instance_id).collect::<Vec<_>>(),
        [&expected[1]]
    );
    assert!(
        rig.store
            .list_unreleased_instances(&expected[1], 1)
            .await
            .unwrap()
            .is_empty()
    );
}
