//! The 联营 Kit part of the storage story: the directory's promises, on both backends.
//!
//! Every write here carries its own event id, as the domain's calls do, so which writes
//! enqueued an event can be read off the outbox.

use koogate_gateway::store::{KitChange, KitFilter, KitKey, KitKind, KitRecord, KitWrite};

use super::*;

const TENANT: &str = "tenant-1";

fn key(kind: KitKind, instance: &str, tenant: &str, app: &str, item: &str) -> KitKey {
    KitKey {
        kind,
        instance_id: instance.into(),
        tenant_id: tenant.into(),
        app_id: app.into(),
        item: item.into(),
    }
}

fn user(item: &str) -> KitKey {
    key(KitKind::User, "i-1", TENANT, "app-1", item)
}

fn org(instance: &str, tenant: &str, item: &str) -> KitKey {
    key(KitKind::Org, instance, tenant, "", item)
}

fn upsert(key: KitKey, data: &str) -> KitChange {
    KitChange::Upsert {
        key,
        data: data.into(),
    }
}

fn delete(key: KitKey) -> KitChange {
    KitChange::Delete { key }
}

fn write(event_id: &str, changes: Vec<KitChange>) -> KitWrite {
    KitWrite {
        changes,
        event: NewEvent {
            event_type: "kit.synced".into(),
            ..event(event_id, &format!("kit:{TENANT}"))
        },
    }
}

async fn apply(store: &Arc<dyn Store>, event_id: &str, secs: i64, changes: Vec<KitChange>) -> bool {
    store
        .apply_kit(&write(event_id, changes), t(secs))
        .await
        .expect("apply kit")
}

fn filter(instance: Option<&str>, tenant: Option<&str>, app: Option<&str>) -> KitFilter {
    KitFilter {
        instance_id: instance.map(str::to_owned),
        tenant_id: tenant.map(str::to_owned),
        app_id: app.map(str::to_owned),
        include_deleted: false,
    }
}

fn with_deleted(filter: KitFilter) -> KitFilter {
    KitFilter {
        include_deleted: true,
        ..filter
    }
}

async fn list(store: &Arc<dyn Store>, kind: KitKind, filter: &KitFilter) -> Vec<KitRecord> {
    store
        .list_kit_records(kind, filter, 1000)
        .await
        .expect("list kit records")
}

fn record(key: KitKey, data: &str, deleted: bool, secs: i64) -> KitRecord {
    KitRecord {
        key,
        data: data.into(),
        deleted,
        updated_at: t(secs),
    }
}

/// The items of `records`, in the order listed.
fn items(records: &[KitRecord]) -> Vec<&str> {
    records.iter().map(|r| r.key.item.as_str()).collect()
}

pub async fn kit_upserts_and_deletes_report_changes_once(store: Arc<dyn Store>) {
    let all_users = with_deleted(filter(None, None, None));
    assert!(apply(&store, "ev-1", 0, vec![upsert(user("u1"), r#"{"v":"a"}"#)]).await);
    assert_eq!(event_ids(&store).await, ["ev-1"]);
    let events = store.list_events(Some("kit:tenant-1"), 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "kit.synced");
    assert_eq!(events[0].payload, r#"{"event":"ev-1"}"#);
    assert_eq!(events[0].created_at, t(0));
    assert_eq!(
        list(&store, KitKind::User, &all_users).await,
        [record(user("u1"), r#"{"v":"a"}"#, false, 0)]
    );

    assert!(
        !apply(&store, "ev-2", 1, vec![upsert(user("u1"), r#"{"v":"a"}"#)]).await,
        "the same data again changes nothing"
    );
    assert_eq!(event_ids(&store).await, ["ev-1"]);
    assert_eq!(
        list(&store, KitKind::User, &all_users).await,
        [record(user("u1"), r#"{"v":"a"}"#, false, 0)],
        "an unchanged record keeps its time"
    );

    assert!(apply(&store, "ev-3", 2, vec![upsert(user("u1"), r#"{"v":"b"}"#)]).await);
    assert_eq!(event_ids(&store).await, ["ev-1", "ev-3"]);
    assert_eq!(
        list(&store, KitKind::User, &all_users).await,
        [record(user("u1"), r#"{"v":"b"}"#, false, 2)]
    );

    assert!(apply(&store, "ev-4", 3, vec![delete(user("u1"))]).await);
    assert!(
        list(&store, KitKind::User, &filter(None, None, None))
            .await
            .is_empty()
    );
    assert_eq!(
        list(&store, KitKind::User, &all_users).await,
        [record(user("u1"), r#"{"v":"b"}"#, true, 3)],
        "a delete keeps the data"
    );

    assert!(
        !apply(&store, "ev-5", 4, vec![delete(user("u1"))]).await,
        "deleted twice"
    );
    assert!(
        !apply(&store, "ev-6", 4, vec![delete(user("nobody"))]).await,
        "never there"
    );
    assert_eq!(event_ids(&store).await, ["ev-1", "ev-3", "ev-4"]);
    assert_eq!(
        list(&store, KitKind::User, &all_users).await,
        [record(user("u1"), r#"{"v":"b"}"#, true, 3)],
        "a missing record is not created by a delete"
    );

    assert!(
        apply(&store, "ev-7", 5, vec![upsert(user("u1"), r#"{"v":"b"}"#)]).await,
        "the same data revives a deleted record"
    );
    assert_eq!(event_ids(&store).await, ["ev-1", "ev-3", "ev-4", "ev-7"]);
    assert_eq!(
        list(&store, KitKind::User, &filter(None, None, None)).await,
        [record(user("u1"), r#"{"v":"b"}"#, false, 5)]
    );
}

/// `allOrgSync`: everything of one kind, instance, tenant and app that is not kept goes, and
/// nothing outside that scope is touched.
pub async fn kit_delete_others_replaces_exactly_one_scope(store: Arc<dyn Store>) {
    let others = [
        (org("i-1", "tenant-2", "o2"), "other tenant"),
        (org("i-2", TENANT, "o2"), "other instance"),
        (key(KitKind::Org, "i-1", TENANT, "app-1", "o2"), "other app"),
        (key(KitKind::User, "i-1", TENANT, "", "o2"), "other kind"),
    ];
    let mut setup = vec![
        upsert(org("i-1", TENANT, "o1"), "one"),
        upsert(org("i-1", TENANT, "o2"), "two"),
        upsert(org("i-1", TENANT, "o3"), "three"),
    ];
    setup.extend(others.iter().map(|(k, data)| upsert(k.clone(), data)));
    assert!(apply(&store, "ev-setup", 0, setup).await);
    assert!(apply(&store, "ev-del", 1, vec![delete(org("i-1", TENANT, "o3"))]).await);

    let replace = || {
        vec![
            KitChange::DeleteOthers {
                // The scope's item is ignored.
                scope: org("i-1", TENANT, "o2"),
                keep: vec!["o1".into(), "o4".into()],
            },
            upsert(org("i-1", TENANT, "o1"), "one"),
            upsert(org("i-1", TENANT, "o4"), "four"),
        ]
    };
    assert!(apply(&store, "ev-replace", 5, replace()).await);
    let scope = with_deleted(filter(Some("i-1"), Some(TENANT), Some("")));
    assert_eq!(
        list(&store, KitKind::Org, &scope).await,
        [
            record(org("i-1", TENANT, "o1"), "one", false, 0),
            record(org("i-1", TENANT, "o2"), "two", true, 5),
            // Already deleted: not touched again, so it keeps the time of its delete.
            record(org("i-1", TENANT, "o3"), "three", true, 1),
            record(org("i-1", TENANT, "o4"), "four", false, 5),
        ]
    );
    let mut outside = Vec::new();
    for kind in [KitKind::Org, KitKind::User] {
        outside.extend(list(&store, kind, &with_deleted(filter(None, None, None))).await);
    }
    outside.retain(|r| r.key.kind != KitKind::Org || r.key != org("i-1", TENANT, &r.key.item));
    let mut expected: Vec<KitRecord> = others
        .iter()
        .map(|(k, data)| record(k.clone(), data, false, 0))
        .collect();
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    outside.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(outside, expected, "records outside the scope are untouched");

    assert!(
        !apply(&store, "ev-again", 6, replace()).await,
        "the same tree again changes nothing"
    );
    assert_eq!(
        event_ids(&store).await,
        ["ev-del", "ev-replace", "ev-setup"]
    );

    let everything = KitChange::DeleteOthers {
        scope: org("i-1", "tenant-2", ""),
        keep: Vec::new(),
    };
    assert!(
        apply(&store, "ev-empty", 7, vec![everything.clone()]).await,
        "an empty tree"
    );
    assert_eq!(
        list(
            &store,
            KitKind::Org,
            &with_deleted(filter(None, Some("tenant-2"), None))
        )
        .await,
        [record(
            org("i-1", "tenant-2", "o2"),
            "other tenant",
            true,
            7
        )]
    );
    assert!(!apply(&store, "ev-empty-again", 8, vec![everything]).await);
    let first_scope = filter(Some("i-1"), Some(TENANT), Some(""));
    assert_eq!(
        items(&list(&store, KitKind::Org, &first_scope).await),
        ["o1", "o4"],
        "emptying another tenant's tree leaves this one"
    );
}

/// A call is one unit: one event however many of its changes changed something, and none of
/// its changes when it fails.
pub async fn kit_write_is_one_transaction_with_one_event(store: Arc<dyn Store>) {
    assert!(apply(&store, "ev-1", 0, vec![upsert(user("u1"), "a")]).await);
    let mixed = vec![
        upsert(user("u1"), "a"),
        upsert(user("u2"), "b"),
        delete(user("nobody")),
        upsert(user("u3"), "c"),
    ];
    assert!(apply(&store, "ev-2", 1, mixed).await);
    assert_eq!(event_ids(&store).await, ["ev-1", "ev-2"]);
    assert_eq!(
        list(&store, KitKind::User, &filter(None, None, None)).await,
        [
            record(user("u1"), "a", false, 0),
            record(user("u2"), "b", false, 1),
            record(user("u3"), "c", false, 1),
        ]
    );

    // A later change of the same call sees the earlier ones: the last upsert of a key wins.
    assert!(
        apply(
            &store,
            "ev-3",
            2,
            vec![upsert(user("u4"), "x"), upsert(user("u4"), "y")]
        )
        .await
    );
    assert_eq!(
        list(&store, KitKind::User, &filter(None, None, None)).await[3].data,
        "y"
    );

    // The event id is taken, so enqueuing fails after the changes ran: they are rolled back.
    let failing = vec![upsert(user("u1"), "changed"), delete(user("u2"))];
    let err = store
        .apply_kit(&write("ev-1", failing), t(3))
        .await
        .expect_err("a taken event id");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        list(&store, KitKind::User, &filter(None, None, Some("app-1"))).await[..2],
        [
            record(user("u1"), "a", false, 0),
            record(user("u2"), "b", false, 1)
        ]
    );
    assert_eq!(event_ids(&store).await, ["ev-1", "ev-2", "ev-3"]);
}

pub async fn kit_listing_filters_orders_and_limits(store: Arc<dyn Store>) {
    // Written out of order; listed by instance, tenant, app and item in byte order (so the
    // order-less instance '' comes first and "B" before "a").
    let records = [
        key(KitKind::User, "i-2", "t-1", "app-1", "a"),
        key(KitKind::User, "i-1", "t-2", "app-1", "a"),
        key(KitKind::User, "i-1", "t-1", "app-2", "a"),
        key(KitKind::User, "i-1", "t-1", "app-1", "a"),
        key(KitKind::User, "i-1", "t-1", "app-1", "B"),
        key(KitKind::User, "", "t-1", "app-1", "z"),
        key(KitKind::Tenant, "i-1", "t-1", "", ""),
        key(KitKind::App, "i-1", "t-1", "app-1", ""),
        key(KitKind::Org, "i-1", "t-1", "", "a"),
    ];
    let changes = records
        .iter()
        .map(|k| {
            upsert(
                k.clone(),
                &format!("{}/{}/{}/{}", k.instance_id, k.tenant_id, k.app_id, k.item),
            )
        })
        .collect();
    assert!(apply(&store, "ev-1", 0, changes).await);
    assert!(
        apply(
            &store,
            "ev-2",
            1,
            vec![delete(key(KitKind::User, "i-1", "t-1", "app-1", "a"))]
        )
        .await
    );

    let users = list(
        &store,
        KitKind::User,
        &with_deleted(filter(None, None, None)),
    )
    .await;
    let listed: Vec<(&str, &str, &str, &str, bool)> = users
        .iter()
        .map(|r| {
            let k = &r.key;
            (
                k.instance_id.as_str(),
                k.tenant_id.as_str(),
                k.app_id.as_str(),
                k.item.as_str(),
                r.deleted,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("", "t-1", "app-1", "z", false),
            ("i-1", "t-1", "app-1", "B", false),
            ("i-1", "t-1", "app-1", "a", true),
            ("i-1", "t-1", "app-2", "a", false),
            ("i-1", "t-2", "app-1", "a", false),
            ("i-2", "t-1", "app-1", "a", false),
        ]
    );
    assert!(users.iter().all(|r| r.data
        == format!(
            "{}/{}/{}/{}",
            r.key.instance_id, r.key.tenant_id, r.key.app_id, r.key.item
        )));

    let live = list(&store, KitKind::User, &filter(None, None, None)).await;
    assert_eq!(live.len(), 5);
    assert!(live.iter().all(|r| !r.deleted));
    for (f, expected) in [
        (filter(Some("i-1"), None, None), vec!["B", "a", "a"]),
        (filter(Some(""), None, None), vec!["z"]),
        (filter(None, Some("t-1"), None), vec!["z", "B", "a", "a"]),
        (filter(None, None, Some("app-2")), vec!["a"]),
        (filter(Some("i-1"), Some("t-1"), Some("app-1")), vec!["B"]),
        (
            with_deleted(filter(Some("i-1"), Some("t-1"), Some("app-1"))),
            vec!["B", "a"],
        ),
        (filter(Some("i-9"), None, None), vec![]),
    ] {
        assert_eq!(
            items(&list(&store, KitKind::User, &f).await),
            expected,
            "{f:?}"
        );
    }

    let everything = filter(None, None, None);
    for (kind, expected) in [
        (KitKind::Tenant, key(KitKind::Tenant, "i-1", "t-1", "", "")),
        (KitKind::App, key(KitKind::App, "i-1", "t-1", "app-1", "")),
        (KitKind::Org, key(KitKind::Org, "i-1", "t-1", "", "a")),
    ] {
        let listed = list(&store, kind, &everything).await;
        assert_eq!(listed.len(), 1, "{kind:?}: {listed:?}");
        assert_eq!(listed[0].key, expected);
        assert_eq!(listed[0].updated_at, t(0));
    }

    let limited = |limit| store.list_kit_records(KitKind::User, &everything, limit);
    assert_eq!(items(&limited(2).await.unwrap()), ["z", "B"]);
    assert!(limited(0).await.unwrap().is_empty());
    assert!(
        limited(-1).await.unwrap().is_empty(),
        "a negative limit lists nothing"
    );
}

/// 20 identical calls at once: one changes the record and enqueues its event, the others see
/// the change and do nothing; likewise for 20 identical deletes. The last two rounds give every
/// call its own ordering key, so PostgreSQL's ordering lock does not queue them and the row's
/// conflict handling alone must decide.
pub async fn concurrent_identical_kit_writes_change_once(store: Arc<dyn Store>) {
    let rounds = [
        (upsert(user("u1"), "same"), false),
        (delete(user("u1")), false),
        (upsert(user("u1"), "same"), true),
        (delete(user("u1")), true),
    ];
    for (round, (change, own_keys)) in (0_i64..).zip(rounds) {
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..20 {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut write = write(&format!("ev-{round}-{n}"), vec![change.clone()]);
            if own_keys {
                write.event.ordering_key = format!("kit:race-{n}");
            }
            tasks.spawn(async move {
                barrier.wait().await;
                let changed = store.apply_kit(&write, t(round)).await.expect("apply kit");
                (write.event.event_id, changed)
            });
        }
        let outcomes = tasks.join_all().await;
        let winners: Vec<&str> = outcomes
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let events = store.list_events(None, 100).await.unwrap();
        assert_eq!(events.len() as i64, round + 1, "{events:?}");
        assert_eq!(
            events[0].event_id, winners[0],
            "the winner's event, nobody else's"
        );
    }
    assert_eq!(
        list(
            &store,
            KitKind::User,
            &with_deleted(filter(None, None, None))
        )
        .await,
        [record(user("u1"), "same", true, 3)]
    );
}

/// Calls of one tenant that touch the same records in opposite orders (an `authSync` of users
/// b, a next to one of a, b) all apply, none fails on a lock cycle, and the last event of the
/// tenant is the one of the call whose data is left.
pub async fn concurrent_kit_writes_in_opposite_orders_all_apply(store: Arc<dyn Store>) {
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.spawn(async move {
            let data = format!("call {n}");
            let mut changes = vec![upsert(user("a"), &data), upsert(user("b"), &data)];
            if n % 2 == 1 {
                changes.reverse();
            }
            barrier.wait().await;
            apply(&store, &format!("ev-{n}"), 0, changes).await
        });
    }
    assert!(tasks.join_all().await.into_iter().all(|changed| changed));
    let events = store.list_events(Some("kit:tenant-1"), 100).await.unwrap();
    assert_eq!(events.len(), 20);
    let users = list(&store, KitKind::User, &filter(None, None, None)).await;
    assert_eq!(items(&users), ["a", "b"]);
    assert_eq!(users[0].data, users[1].data, "each call is applied whole");
    let last = events[0].event_id.trim_start_matches("ev-");
    assert_eq!(
        users[0].data,
        format!("call {last}"),
        "newest event, newest data"
    );
}
