//! The metering part of the storage story: the usage ledger's promises, on both backends.
//!
//! Windows here are the hours of the story clock (`t(0)` is on the hour); the domain chooses real
//! windows, the store only keeps them apart.

use koogate_gateway::store::{
    NewUsageEvent, RecordUsageOutcome, UsageGroup, UsageSettlement, UsageTotal, UsageWindow,
    UsageWindowStatus,
};

use super::*;

const HOUR: i64 = 3600;

/// A report of `value_e4` for `instance` at `t(secs)`, in the story hour holding it.
fn report(event_id: &str, instance: &str, value_e4: i64, secs: i64) -> NewUsageEvent {
    let start = secs - secs.rem_euclid(HOUR);
    NewUsageEvent {
        event_id: event_id.into(),
        instance_id: instance.into(),
        value_e4,
        occurred_at: t(secs),
        window_start: t(start),
        window_end: t(start + HOUR),
        // Far ahead: these stories close windows explicitly (the time rule is tested end to end).
        closes_at: t(start + HOUR) + chrono::Duration::days(3650),
        relate_pkg_instance: None,
    }
}

fn in_pkg(event: NewUsageEvent, pkg: &str) -> NewUsageEvent {
    NewUsageEvent {
        relate_pkg_instance: Some(pkg.into()),
        ..event
    }
}

fn group_of(event: &NewUsageEvent) -> UsageGroup {
    UsageGroup {
        instance_id: event.instance_id.clone(),
        window_start: event.window_start,
        window_end: event.window_end,
        relate_pkg_instance: event.relate_pkg_instance.clone(),
    }
}

async fn record(store: &Arc<dyn Store>, event: &NewUsageEvent) -> RecordUsageOutcome {
    store.record_usage(event, t(0)).await.expect("record usage")
}

async fn close(store: &Arc<dyn Store>, event: &NewUsageEvent, sn: &str, now: i64) -> UsageWindow {
    store
        .close_usage_window(&group_of(event), sn, t(now))
        .await
        .expect("close")
        .expect("the group has unassigned usage")
}

async fn totals(store: &Arc<dyn Store>, ids: &[&str]) -> Vec<UsageTotal> {
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let mut totals = store.usage_totals(&ids).await.unwrap();
    totals.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    totals
}

fn total(instance: &str, value_e4: i64, last_secs: i64) -> UsageTotal {
    UsageTotal {
        instance_id: instance.into(),
        value_e4,
        last_occurred_at: t(last_secs),
    }
}

async fn window_by_id(store: &Arc<dyn Store>, instance: &str, id: i64) -> UsageWindow {
    let windows = store.list_usage_windows(instance, 100).await.unwrap();
    windows
        .into_iter()
        .find(|w| w.id == id)
        .expect("window listed")
}

pub async fn usage_reports_are_recorded_once_per_event_id(store: Arc<dyn Store>) {
    use RecordUsageOutcome::{Duplicate, Recorded};
    let first = report("ev-1", "i-1", 12_345, 10);
    assert_eq!(record(&store, &first).await, Recorded);
    assert_eq!(record(&store, &first).await, Duplicate { same: true });
    let mut finer = first.clone();
    finer.occurred_at += Duration::microseconds(300);
    assert_eq!(
        record(&store, &finer).await,
        Duplicate { same: true },
        "times compare at the stored millisecond precision"
    );

    let changes = [
        report("ev-1", "i-1", 12_346, 10),
        report("ev-1", "i-2", 12_345, 10),
        report("ev-1", "i-1", 12_345, 11),
        in_pkg(first.clone(), "pkg-1"),
    ];
    for changed in &changes {
        assert_eq!(
            record(&store, changed).await,
            Duplicate { same: false },
            "{changed:?}"
        );
    }

    assert_eq!(
        record(&store, &report("ev-2", "i-1", 5, 20)).await,
        Recorded
    );
    assert_eq!(
        record(&store, &report("ev-3", "i-2", 7, 4000)).await,
        Recorded
    );
    assert_eq!(
        totals(&store, &["i-2", "nobody", "i-1"]).await,
        [total("i-1", 12_350, 20), total("i-2", 7, 4000)],
        "duplicates add nothing"
    );
    assert!(store.usage_totals(&[]).await.unwrap().is_empty());
    assert!(
        store
            .list_usage_windows("i-1", 10)
            .await
            .unwrap()
            .is_empty(),
        "recording closes nothing"
    );
}

pub async fn package_usage_is_split_by_the_instance_it_came_from(store: Arc<dyn Store>) {
    for event in [
        in_pkg(report("pk-1", "i-1", 10_000, 10), "pkg-1"),
        in_pkg(report("pk-2", "i-1", 5_000, 20), "pkg-1"),
        in_pkg(report("pk-3", "i-2", 2_500, 30), "pkg-1"),
        in_pkg(report("pk-4", "i-3", 1, 40), "pkg-2"),
        report("pk-5", "i-1", 99, 50),
    ] {
        assert_eq!(record(&store, &event).await, RecordUsageOutcome::Recorded);
    }
    let ids = ["pkg-1".to_owned(), "pkg-9".to_owned()];
    let got: Vec<(String, String, i64)> = store
        .package_usage_totals(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.package_id, p.related_instance_id, p.value_e4))
        .collect();
    assert_eq!(
        got,
        [
            ("pkg-1".into(), "i-1".into(), 15_000),
            ("pkg-1".into(), "i-2".into(), 2_500)
        ],
        "usage outside a package, and other packages, are not counted"
    );
    assert!(store.package_usage_totals(&[]).await.unwrap().is_empty());
}

pub async fn open_usage_groups_are_windows_ended_by_the_cutoff(store: Arc<dyn Store>) {
    let events = [
        report("a", "i-1", 1, 100),
        in_pkg(report("b", "i-1", 1, 200), "pkg-1"),
        report("c", "i-2", 1, 300),
        report("d", "i-2", 1, 400),
        report("e", "i-1", 1, HOUR + 100),
    ];
    for event in &events {
        assert_eq!(record(&store, event).await, RecordUsageOutcome::Recorded);
    }
    let first_hour = [
        group_of(&events[0]),
        group_of(&events[1]),
        group_of(&events[2]),
    ];
    let open = |secs, limit| {
        let store = store.clone();
        async move { store.open_usage_groups(t(secs), limit).await.unwrap() }
    };
    assert!(open(HOUR - 1, 100).await.is_empty(), "no window has ended");
    assert_eq!(
        open(HOUR, 100).await,
        first_hour,
        "one group per instance and package"
    );
    assert_eq!(open(HOUR, 2).await, first_hour[..2]);
    assert!(open(HOUR, 0).await.is_empty());
    let all = open(2 * HOUR, 100).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[..3], first_hour);
    assert_eq!(all[3], group_of(&events[4]));
}

pub async fn closing_sums_a_window_and_refuses_late_reports(store: Arc<dyn Store>) {
    use RecordUsageOutcome::{Duplicate, Recorded, WindowClosed};
    let tiny = report("tiny", "i-1", 1, 10); // 0.0001
    let big = report("big", "i-1", 25_000, 20); // 2.5
    let pkg = in_pkg(report("pkg", "i-1", 7, 30), "pkg-1");
    let later = report("later", "i-1", 3, HOUR + 100);
    for event in [&tiny, &big, &pkg, &later] {
        assert_eq!(record(&store, event).await, Recorded);
    }

    let window = close(&store, &tiny, "sn-1", HOUR + 60).await;
    let expected = UsageWindow {
        id: window.id,
        instance_id: "i-1".into(),
        window_start: t(0),
        window_end: t(HOUR),
        relate_pkg_instance: None,
        value_e4: 25_001,
        metering_sn: "sn-1".into(),
        status: UsageWindowStatus::Pending,
        attempts: 0,
        last_error: None,
        result_code: None,
        next_attempt_at: t(HOUR + 60),
        closed_at: t(HOUR + 60),
        pushed_at: None,
        push_alone: false,
    };
    assert_eq!(window, expected);
    assert_eq!(
        store
            .close_usage_window(&group_of(&tiny), "sn-2", t(HOUR + 61))
            .await
            .unwrap(),
        None,
        "closed once"
    );

    assert_eq!(
        record(&store, &report("late", "i-1", 99, 50)).await,
        WindowClosed
    );
    assert_eq!(
        record(&store, &tiny).await,
        Duplicate { same: true },
        "a retry of a counted report is a duplicate, not a refusal"
    );
    assert_eq!(
        record(&store, &report("tiny", "i-1", 2, 10)).await,
        Duplicate { same: false }
    );
    assert_eq!(
        totals(&store, &["i-1"]).await,
        [total("i-1", 25_011, HOUR + 100)],
        "the refused report is not counted"
    );
    assert_eq!(
        store.list_usage_windows("i-1", 10).await.unwrap(),
        [expected],
        "the late report changed nothing"
    );
    assert_eq!(
        store.open_usage_groups(t(HOUR), 10).await.unwrap(),
        [group_of(&pkg)],
        "the package's group is a window of its own"
    );

    // Another package's group of the same hour is still open, and sums on its own.
    let pkg_more = in_pkg(report("pkg-2", "i-1", 5, 40), "pkg-1");
    assert_eq!(record(&store, &pkg_more).await, Recorded);
    let pkg_window = close(&store, &pkg, "sn-pkg", HOUR + 70).await;
    assert_eq!(
        (
            pkg_window.value_e4,
            pkg_window.relate_pkg_instance.as_deref()
        ),
        (12, Some("pkg-1"))
    );

    // A group nobody reported to writes nothing, so its metering_sn stays unused.
    let ghost = UsageGroup {
        instance_id: "i-9".into(),
        window_start: t(0),
        window_end: t(HOUR),
        relate_pkg_instance: None,
    };
    assert_eq!(
        store
            .close_usage_window(&ghost, "sn-ghost", t(HOUR + 80))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .list_usage_windows("i-9", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A metering_sn already used is a conflict, and leaves the group open.
    assert!(matches!(
        store
            .close_usage_window(&group_of(&later), "sn-1", t(2 * HOUR))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.open_usage_groups(t(2 * HOUR), 10).await.unwrap(),
        [group_of(&later)]
    );
    let later_window = close(&store, &later, "sn-ghost", 2 * HOUR).await;
    assert_eq!(later_window.value_e4, 3);
    assert!(
        store
            .open_usage_groups(t(10 * HOUR), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn usage_windows_are_due_until_settled(store: Arc<dyn Store>) {
    let a = report("a", "i-1", 1, 10);
    let b = report("b", "i-2", 2, 20);
    let c = report("c", "i-1", 3, HOUR + 10);
    for event in [&a, &b, &c] {
        assert_eq!(record(&store, event).await, RecordUsageOutcome::Recorded);
    }
    // Closed newest window first, so id order and window order differ.
    let wc = close(&store, &c, "sn-c", 2 * HOUR).await;
    let wb = close(&store, &b, "sn-b", 2 * HOUR).await;
    let wa = close(&store, &a, "sn-a", 2 * HOUR).await;
    let due = |secs, limit| {
        let store = store.clone();
        async move {
            let windows = store.due_usage_windows(t(secs), limit).await.unwrap();
            windows
                .into_iter()
                .map(|w| w.metering_sn)
                .collect::<Vec<_>>()
        }
    };
    assert!(due(2 * HOUR - 1, 10).await.is_empty());
    assert_eq!(
        due(2 * HOUR, 10).await,
        ["sn-b", "sn-a", "sn-c"],
        "oldest window first, then id"
    );
    assert_eq!(due(2 * HOUR, 1).await, ["sn-b"]);

    let settled_at = t(2 * HOUR + 1);
    let outcome = [
        UsageSettlement::Retry {
            id: wb.id,
            error: "HTTP 503".into(),
            next_attempt_at: t(2 * HOUR + 60),
            push_alone: true,
        },
        UsageSettlement::Pushed {
            id: wa.id,
            result_code: None,
        },
        UsageSettlement::Rejected {
            id: wc.id,
            result_code: "MKT.9001".into(),
            message: "instance unknown".into(),
        },
    ];
    store
        .settle_usage_windows(&outcome, settled_at)
        .await
        .unwrap();
    let retried = window_by_id(&store, "i-2", wb.id).await;
    assert_eq!(
        retried,
        UsageWindow {
            attempts: 1,
            last_error: Some("HTTP 503".into()),
            next_attempt_at: t(2 * HOUR + 60),
            push_alone: true,
            ..wb.clone()
        }
    );
    // The push-alone mark, once set, outlives later retries that do not set it.
    store
        .settle_usage_windows(
            &[UsageSettlement::Retry {
                id: wb.id,
                error: "HTTP 502".into(),
                next_attempt_at: t(2 * HOUR + 60),
                push_alone: false,
            }],
            settled_at,
        )
        .await
        .unwrap();
    let retried_again = window_by_id(&store, "i-2", wb.id).await;
    assert_eq!(
        (retried_again.attempts, retried_again.push_alone),
        (2, true)
    );
    let pushed = window_by_id(&store, "i-1", wa.id).await;
    assert_eq!(
        pushed,
        UsageWindow {
            status: UsageWindowStatus::Pushed,
            attempts: 1,
            pushed_at: Some(settled_at),
            ..wa.clone()
        }
    );
    let rejected = window_by_id(&store, "i-1", wc.id).await;
    assert_eq!(
        rejected,
        UsageWindow {
            status: UsageWindowStatus::Rejected,
            attempts: 1,
            result_code: Some("MKT.9001".into()),
            last_error: Some("instance unknown".into()),
            ..wc.clone()
        }
    );
    assert!(due(2 * HOUR + 59, 10).await.is_empty(), "retry not due yet");
    assert_eq!(due(2 * HOUR + 60, 10).await, ["sn-b"]);

    let duplicate_ack = [UsageSettlement::Pushed {
        id: wb.id,
        result_code: Some("005".into()),
    }];
    store
        .settle_usage_windows(&duplicate_ack, t(2 * HOUR + 61))
        .await
        .unwrap();
    let pushed_b = window_by_id(&store, "i-2", wb.id).await;
    assert_eq!(
        (
            pushed_b.status,
            pushed_b.attempts,
            pushed_b.result_code.as_deref(),
            pushed_b.pushed_at
        ),
        (
            UsageWindowStatus::Pushed,
            3,
            Some("005"),
            Some(t(2 * HOUR + 61))
        )
    );
    assert!(due(10 * HOUR, 10).await.is_empty());

    // Settled windows are final: late or repeated outcomes change nothing.
    let before = [
        store.list_usage_windows("i-1", 10).await.unwrap(),
        store.list_usage_windows("i-2", 10).await.unwrap(),
    ];
    let late = [
        UsageSettlement::Retry {
            id: wa.id,
            error: "timeout".into(),
            next_attempt_at: t(3 * HOUR),
            push_alone: true,
        },
        UsageSettlement::Rejected {
            id: wb.id,
            result_code: "006".into(),
            message: "late".into(),
        },
        UsageSettlement::Pushed {
            id: wc.id,
            result_code: None,
        },
        UsageSettlement::Retry {
            id: 987_654,
            error: "unknown window".into(),
            next_attempt_at: t(3 * HOUR),
            push_alone: false,
        },
    ];
    store
        .settle_usage_windows(&late, t(3 * HOUR))
        .await
        .unwrap();
    store.settle_usage_windows(&[], t(3 * HOUR)).await.unwrap();
    let after = [
        store.list_usage_windows("i-1", 10).await.unwrap(),
        store.list_usage_windows("i-2", 10).await.unwrap(),
    ];
    assert_eq!(after, before);

    let ids = |v: Vec<UsageWindow>| v.into_iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_usage_windows("i-1", 10).await.unwrap()),
        [wc.id, wa.id],
        "newest window first"
    );
    assert_eq!(
        ids(store.list_usage_windows("i-1", 1).await.unwrap()),
        [wc.id]
    );
    assert!(
        store
            .list_usage_windows("nobody", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// 60 reports of one window recorded while another task closes it. Each report's value is its
/// own bit, so the window's value names exactly the reports it counted: every report must be
/// either in it or refused, none recorded and left out.
pub async fn usage_recorded_while_closing_is_counted_or_refused(store: Arc<dyn Store>) {
    const REPORTS: u32 = 60;
    let barrier = Arc::new(tokio::sync::Barrier::new(REPORTS as usize + 1));
    let mut recorders = tokio::task::JoinSet::new();
    for n in 0..REPORTS {
        let (store, barrier) = (store.clone(), barrier.clone());
        recorders.spawn(async move {
            let event = report(&format!("ev-{n}"), "i-1", 1 << n, i64::from(n));
            barrier.wait().await;
            (1_i64 << n, record(&store, &event).await)
        });
    }
    let closer = {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            let group = group_of(&report("any", "i-1", 1, 0));
            barrier.wait().await;
            loop {
                let closed = store
                    .close_usage_window(&group, "sn-race", t(HOUR))
                    .await
                    .expect("close");
                match closed {
                    Some(window) => return window,
                    None => tokio::task::yield_now().await,
                }
            }
        })
    };
    let outcomes = recorders.join_all().await;
    let window = closer.await.unwrap();

    let mut counted = 0_i64;
    for (bit, outcome) in &outcomes {
        match outcome {
            RecordUsageOutcome::Recorded => counted |= bit,
            RecordUsageOutcome::WindowClosed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        window.value_e4, counted,
        "counted {counted:b}, window {:b}",
        window.value_e4
    );
    assert!(
        store
            .open_usage_groups(t(HOUR), 10)
            .await
            .unwrap()
            .is_empty(),
        "no recorded report was left outside the window"
    );
    assert_eq!(totals(&store, &["i-1"]).await[0].value_e4, counted);
    assert_eq!(
        store
            .close_usage_window(&group_of(&report("x", "i-1", 1, 0)), "sn-again", t(HOUR))
            .await
            .unwrap(),
        None
    );
}

/// 20 simultaneous reports under one `event_id`, for four instances (four different locks on
/// PostgreSQL): one is recorded, every other one is a conflicting duplicate.
pub async fn concurrent_reuse_of_one_event_id_records_once(store: Arc<dyn Store>) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20_i64 {
        let store = store.clone();
        tasks.spawn(async move {
            let event = report("shared", &format!("i-{}", n % 4), n + 1, n);
            (event.clone(), record(&store, &event).await)
        });
    }
    let outcomes = tasks.join_all().await;
    let winners: Vec<&NewUsageEvent> = outcomes
        .iter()
        .filter(|(_, o)| *o == RecordUsageOutcome::Recorded)
        .map(|(e, _)| e)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter(|(e, _)| e != winners[0])
            .all(|(_, o)| *o == RecordUsageOutcome::Duplicate { same: false }),
        "{outcomes:?}"
    );
    let winner = winners[0];
    assert_eq!(
        totals(&store, &["i-0", "i-1", "i-2", "i-3"]).await,
        [UsageTotal {
            instance_id: winner.instance_id.clone(),
            value_e4: winner.value_e4,
            last_occurred_at: winner.occurred_at,
        }]
    );
}
