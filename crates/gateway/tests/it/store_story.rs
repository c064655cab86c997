//! The storage story: every promise of the `Store` trait, told once and run against both backends.
//!
//! Each story is an `async fn(Arc<dyn Store>)` in [`stories`]; the `stories!` macro at the bottom
//! turns each into `sqlite::<name>` (a fresh temp file) and `postgres::<name>` (a fresh database
//! on the server named by `KOOGATE_TEST_DATABASE_URL`). Without that variable the PostgreSQL
//! tests print a loud SKIPPED line and pass; with it set, an unreachable server fails them, so
//! CI cannot skip silently. Every test owns its file or database, so they run in parallel.
//!
//! The metering stories live in `store_story/usage.rs`, the 联营 Kit directory's in
//! `store_story/kit.rs`, the replicas' (scheduler leases, release time) in
//! `store_story/replicas.rs`, the license codes' in `store_story/license_codes.rs`.
//!
//! ```text
//! cargo test -p koogate-gateway --test it store_story::
//! KOOGATE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p koogate-gateway --test it store_story::
//! ```

// The whole crate is test code (the stories are plain fns, which clippy's allow-unwrap-in-tests
// does not recognise): a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use koogate_gateway::store::{
    Commit, CommitOutcome, Instance, InstanceStatus, InstanceWrite, NewEvent, OrderRecord,
    OutboxStats, PostgresStore, SqliteStore, Store, StoreError,
};
use koogate_protocol::messages::order::ChargingMode;
use koogate_testkit::{Backend, TestDb, on_fresh_database};

// ---------------------------------------------------------------------------------------------
// Harness: one fresh store per test, cleaned up even when the story panics.

/// Runs `story` on a fresh store on `backend` (a temp SQLite file, or a PostgreSQL database of
/// its own: `koogate_testkit`), removed after, also when the story panics.
async fn on_store<F, Fut>(backend: Backend, test: &str, story: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_fresh_database(backend, test, move |url| async move {
        let store: Arc<dyn Store> = match backend {
            Backend::Sqlite => {
                Arc::new(SqliteStore::connect(&url).await.expect("open sqlite store"))
            }
            Backend::Postgres => Arc::new(
                PostgresStore::connect(&url)
                    .await
                    .expect("open postgres store"),
            ),
        };
        let expected = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(store.backend(), expected);
        story(store).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a fixed clock and small builders.

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap() + Duration::seconds(secs)
}

fn instance(id: &str, idem_key: &str, created: DateTime<Utc>) -> Instance {
    Instance {
        instance_id: id.into(),
        idem_key: idem_key.into(),
        order_id: "CS0001".into(),
        order_line_id: format!("{id}-line"),
        product_id: Some("OFFI0001".into()),
        sku_code: Some("sku-basic".into()),
        charging_mode: ChargingMode::Period,
        status: InstanceStatus::Provisioning,
        trial: true,
        expire_time: Some(created + Duration::days(30) + Duration::milliseconds(123)),
        app_info_sealed: Some(vec![0, 1, 2, 255, 254]),
        test_flag: false,
        version: 1,
        created_at: created,
        updated_at: created,
        released_at: None,
    }
}

fn event(event_id: &str, ordering_key: &str) -> NewEvent {
    NewEvent {
        event_id: event_id.into(),
        event_type: "instance.provision".into(),
        ordering_key: ordering_key.into(),
        payload: format!(r#"{{"event":"{event_id}"}}"#),
    }
}

fn order(order_id: &str, raw: &str, fetched: DateTime<Utc>) -> OrderRecord {
    OrderRecord {
        order_id: order_id.into(),
        order_line_id: "L1".into(),
        order_type: "NEW".into(),
        raw: raw.into(),
        fetched_at: fetched,
    }
}

fn at(now: DateTime<Utc>) -> Commit {
    Commit {
        now,
        ..Commit::default()
    }
}

fn enqueue(now: DateTime<Utc>, events: Vec<NewEvent>) -> Commit {
    Commit { events, ..at(now) }
}

async fn commit(store: &Arc<dyn Store>, commit: Commit) -> CommitOutcome {
    store.commit(commit).await.expect("commit")
}

async fn claim(store: &Arc<dyn Store>, now: DateTime<Utc>) -> Option<String> {
    claim_full(store, now).await.map(|e| e.event_id)
}

async fn claim_full(
    store: &Arc<dyn Store>,
    now: DateTime<Utc>,
) -> Option<koogate_gateway::store::OutboxEvent> {
    store
        .claim_event(now, Duration::seconds(30))
        .await
        .expect("claim")
}

async fn event_ids(store: &Arc<dyn Store>) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_events(None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------------
// The stories.

#[path = "store_story/usage.rs"]
mod usage_stories;

#[path = "store_story/kit.rs"]
mod kit_stories;

#[path = "store_story/replicas.rs"]
mod replica_stories;

#[path = "store_story/license_codes.rs"]
mod license_code_stories;

mod stories {
    pub use super::kit_stories::*;
    pub use super::license_code_stories::*;
    pub use super::replica_stories::*;
    pub use super::usage_stories::*;
    use super::*;

    pub async fn nonces_remember_replay_and_prune(store: Arc<dyn Store>) {
        assert!(store.remember_nonce("n1", t(0)).await.unwrap());
        assert!(
            !store.remember_nonce("n1", t(1)).await.unwrap(),
            "a repeated nonce is a replay"
        );
        assert!(store.remember_nonce("n2", t(10)).await.unwrap());
        assert_eq!(store.prune_nonces(t(5)).await.unwrap(), 1);
        assert_eq!(store.prune_nonces(t(5)).await.unwrap(), 0);
        assert!(
            !store.remember_nonce("n2", t(11)).await.unwrap(),
            "n2 was not pruned"
        );
        assert!(
            store.remember_nonce("n1", t(12)).await.unwrap(),
            "n1 was forgotten"
        );
        store.ping().await.unwrap();
    }

    pub async fn instance_round_trips_every_field(store: Arc<dyn Store>) {
        let mut full = instance("i-1", "line:CS0001:1", t(0));
        full.test_flag = true;
        let mut sparse = instance("i-2", "line:CS0001:2", t(1));
        sparse.product_id = None;
        sparse.sku_code = None;
        sparse.expire_time = None;
        sparse.app_info_sealed = None;
        sparse.trial = false;
        for i in [&full, &sparse] {
            let c = Commit {
                instance: Some(InstanceWrite::Insert(i.clone())),
                ..at(t(0))
            };
            assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        }
        assert_eq!(store.get_instance("i-1").await.unwrap(), Some(full.clone()));
        assert_eq!(
            store.get_instance("i-2").await.unwrap(),
            Some(sparse.clone())
        );
        assert_eq!(
            store.find_instance_by_key("line:CS0001:2").await.unwrap(),
            Some(sparse)
        );
        assert_eq!(store.get_instance("nope").await.unwrap(), None);
        assert_eq!(store.find_instance_by_key("nope").await.unwrap(), None);
        assert_eq!(store.find_response("nope").await.unwrap(), None);
    }

    pub async fn repeated_response_key_replays_and_applies_nothing(store: Arc<dyn Store>) {
        let body = b"{\"resultCode\":\"000000\"}\x00\xff".to_vec();
        let first = Commit {
            response: Some(("newInstance:CS0001:1".into(), body.clone())),
            instance: Some(InstanceWrite::Insert(instance(
                "i-1",
                "line:CS0001:1",
                t(0),
            ))),
            order: Some(order("CS0001", "first", t(0))),
            events: vec![event("ev-1", "i-1")],
            ..at(t(0))
        };
        assert_eq!(commit(&store, first).await, CommitOutcome::Committed);

        let again = Commit {
            response: Some(("newInstance:CS0001:1".into(), b"other".to_vec())),
            instance: Some(InstanceWrite::Insert(instance(
                "i-2",
                "line:CS0001:2",
                t(5),
            ))),
            order: Some(order("CS0001", "second", t(5))),
            events: vec![event("ev-2", "i-2")],
            ..at(t(5))
        };
        let CommitOutcome::Replayed(earlier) = commit(&store, again).await else {
            panic!("expected Replayed");
        };
        assert_eq!(earlier.body, body, "byte-identical replay");
        assert_eq!(earlier.key, "newInstance:CS0001:1");
        assert_eq!(earlier.created_at, t(0));
        assert_eq!(
            store.find_response("newInstance:CS0001:1").await.unwrap(),
            Some(earlier)
        );
        assert_eq!(store.get_instance("i-2").await.unwrap(), None);
        assert_eq!(
            store.get_instance("i-1").await.unwrap(),
            Some(instance("i-1", "line:CS0001:1", t(0)))
        );
        assert_eq!(
            store.get_order("CS0001", "L1").await.unwrap().unwrap().raw,
            "first"
        );
        assert_eq!(event_ids(&store).await, ["ev-1"]);
    }

    pub async fn taken_idem_key_rolls_back_the_whole_commit(store: Arc<dyn Store>) {
        let original = instance("i-1", "line:CS0001:1", t(0));
        let c = Commit {
            instance: Some(InstanceWrite::Insert(original.clone())),
            events: vec![event("ev-1", "i-1")],
            ..at(t(0))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);

        let clash = || Commit {
            response: Some(("k-2".into(), b"resp".to_vec())),
            instance: Some(InstanceWrite::Insert(instance(
                "i-2",
                "line:CS0001:1",
                t(5),
            ))),
            order: Some(order("CS0002", "raw", t(5))),
            events: vec![event("ev-2", "i-2")],
            ..at(t(5))
        };
        assert_eq!(
            commit(&store, clash()).await,
            CommitOutcome::InstanceExists(original.clone())
        );
        assert_eq!(
            store.find_response("k-2").await.unwrap(),
            None,
            "response key rolled back"
        );
        // Not stored, so the same call again is judged afresh rather than replayed.
        assert_eq!(
            commit(&store, clash()).await,
            CommitOutcome::InstanceExists(original.clone())
        );
        assert_eq!(store.get_instance("i-2").await.unwrap(), None);
        assert_eq!(store.get_order("CS0002", "L1").await.unwrap(), None);
        assert_eq!(event_ids(&store).await, ["ev-1"]);

        // Same instance id under another idem_key is a caller bug, reported as a conflict.
        let same_id = Commit {
            response: Some(("k-3".into(), b"resp".to_vec())),
            instance: Some(InstanceWrite::Insert(instance(
                "i-1",
                "line:CS0003:1",
                t(6),
            ))),
            ..at(t(6))
        };
        assert!(matches!(
            store.commit(same_id).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.find_response("k-3").await.unwrap(), None);

        // A duplicate event id is a conflict too, and rolls back the rest.
        let dup_event = Commit {
            response: Some(("k-4".into(), b"resp".to_vec())),
            events: vec![event("ev-1", "i-1")],
            ..at(t(7))
        };
        assert!(matches!(
            store.commit(dup_event).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.find_response("k-4").await.unwrap(), None);
        assert_eq!(store.get_instance("i-1").await.unwrap(), Some(original));
    }

    pub async fn stale_update_applies_nothing(store: Arc<dyn Store>) {
        let v1 = instance("i-1", "line:CS0001:1", t(0));
        let c = Commit {
            instance: Some(InstanceWrite::Insert(v1.clone())),
            ..at(t(0))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);

        let mut active = v1.clone();
        active.status = InstanceStatus::Active;
        active.expire_time = None;
        active.order_id = "CS0009".into();
        active.updated_at = t(10);
        let update = Commit {
            instance: Some(InstanceWrite::Update {
                instance: active.clone(),
                expected_version: 1,
            }),
            events: vec![event("ev-active", "i-1")],
            ..at(t(10))
        };
        assert_eq!(commit(&store, update).await, CommitOutcome::Committed);
        let stored = store.get_instance("i-1").await.unwrap().unwrap();
        assert_eq!(
            stored,
            Instance {
                version: 2,
                ..active.clone()
            }
        );

        let mut frozen = v1.clone();
        frozen.status = InstanceStatus::Frozen;
        let stale = Commit {
            response: Some(("k-stale".into(), b"resp".to_vec())),
            instance: Some(InstanceWrite::Update {
                instance: frozen.clone(),
                expected_version: 1,
            }),
            order: Some(order("CS0010", "raw", t(20))),
            events: vec![event("ev-frozen", "i-1")],
            ..at(t(20))
        };
        assert_eq!(commit(&store, stale).await, CommitOutcome::StaleInstance);
        assert_eq!(store.get_instance("i-1").await.unwrap(), Some(stored));
        assert_eq!(store.find_response("k-stale").await.unwrap(), None);
        assert_eq!(store.get_order("CS0010", "L1").await.unwrap(), None);
        assert_eq!(event_ids(&store).await, ["ev-active"]);

        let ghost = instance("ghost", "line:ghost", t(0));
        let c = Commit {
            instance: Some(InstanceWrite::Update {
                instance: ghost,
                expected_version: 1,
            }),
            ..at(t(30))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::StaleInstance);
    }

    /// A refusal replaces a stored answer (and adds one), only when the rest of its commit
    /// applies: a stale instance version rolls the replacement back with everything else.
    pub async fn replaced_responses_commit_with_their_instance(store: Arc<dyn Store>) {
        let v1 = instance("i-1", "line:CS0001:1", t(0));
        let c = Commit {
            response: Some(("newInstance:CS0001:1".into(), b"000004".to_vec())),
            instance: Some(InstanceWrite::Insert(v1.clone())),
            ..at(t(0))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        let mut failed = v1.clone();
        failed.status = InstanceStatus::Failed;
        let refusal = |expected_version| Commit {
            instance: Some(InstanceWrite::Update {
                instance: failed.clone(),
                expected_version,
            }),
            replace_responses: vec![
                ("newInstance:CS0001:1".into(), b"000106".to_vec()),
                ("newInstance-refusal:i-1".into(), b"000106".to_vec()),
            ],
            ..at(t(5))
        };
        assert_eq!(
            commit(&store, refusal(7)).await,
            CommitOutcome::StaleInstance
        );
        let body = |key: &'static str| {
            let store = store.clone();
            async move { store.find_response(key).await.unwrap().map(|r| r.body) }
        };
        assert_eq!(body("newInstance:CS0001:1").await, Some(b"000004".to_vec()));
        assert_eq!(body("newInstance-refusal:i-1").await, None);

        assert_eq!(commit(&store, refusal(1)).await, CommitOutcome::Committed);
        assert_eq!(body("newInstance:CS0001:1").await, Some(b"000106".to_vec()));
        assert_eq!(
            body("newInstance-refusal:i-1").await,
            Some(b"000106".to_vec())
        );
        let stored = store.get_instance("i-1").await.unwrap().unwrap();
        assert_eq!((stored.status, stored.version), (InstanceStatus::Failed, 2));
    }

    pub async fn orders_are_upserted(store: Arc<dyn Store>) {
        let c = Commit {
            order: Some(order("CS0001", "v1", t(0))),
            ..at(t(0))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        let c = Commit {
            order: Some(OrderRecord {
                order_type: "RENEW".into(),
                ..order("CS0001", "v2", t(9))
            }),
            ..at(t(9))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        let got = store.get_order("CS0001", "L1").await.unwrap().unwrap();
        assert_eq!(
            got,
            OrderRecord {
                order_type: "RENEW".into(),
                ..order("CS0001", "v2", t(9))
            }
        );
        assert_eq!(store.get_order("CS0001", "L2").await.unwrap(), None);
    }

    pub async fn enqueued_events_are_claimable(store: Arc<dyn Store>) {
        assert_eq!(claim(&store, t(0)).await, None, "empty outbox");
        let c = enqueue(t(0), vec![event("ev-a", "A"), event("ev-b", "B")]);
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);

        let a = claim_full(&store, t(1)).await.unwrap();
        assert_eq!(
            (a.event_id.as_str(), a.ordering_key.as_str(), a.attempts),
            ("ev-a", "A", 0)
        );
        assert_eq!(a.event_type, "instance.provision");
        assert_eq!(a.payload, r#"{"event":"ev-a"}"#);
        assert_eq!(
            (a.created_at, a.next_attempt_at, a.delivered_at, a.dead),
            (t(0), t(0), None, false)
        );
        assert_eq!(claim(&store, t(1)).await.as_deref(), Some("ev-b"));
        assert_eq!(claim(&store, t(1)).await, None, "both leased");

        store.complete_event(a.id, t(2)).await.unwrap();
        store.complete_event(a.id, t(3)).await.unwrap();
        let listed = store.list_events(Some("A"), 10).await.unwrap();
        assert_eq!(listed[0].delivered_at, Some(t(2)), "first completion wins");
        assert_eq!(
            claim(&store, t(100)).await.as_deref(),
            Some("ev-b"),
            "B's lease expired"
        );
    }

    pub async fn events_of_one_key_are_delivered_in_order(store: Arc<dyn Store>) {
        let c = enqueue(t(0), vec![event("a1", "A"), event("a2", "A")]);
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        assert_eq!(
            commit(&store, enqueue(t(0), vec![event("b1", "B")])).await,
            CommitOutcome::Committed
        );

        let a1 = claim_full(&store, t(1)).await.unwrap();
        assert_eq!(a1.event_id, "a1");
        let b1 = claim_full(&store, t(1)).await.unwrap();
        assert_eq!(b1.event_id, "b1", "a2 waits for leased a1; B does not");
        store.complete_event(b1.id, t(1)).await.unwrap();
        assert_eq!(claim(&store, t(1)).await, None);

        store
            .fail_event(a1.id, "HTTP 503", Some(t(60)))
            .await
            .unwrap();
        assert_eq!(
            claim(&store, t(59)).await,
            None,
            "a1 not due yet and a2 still blocked behind it"
        );
        let retried = claim_full(&store, t(60)).await.unwrap();
        assert_eq!((retried.event_id.as_str(), retried.attempts), ("a1", 1));
        assert_eq!(retried.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(retried.next_attempt_at, t(60));
        assert_eq!(
            claim(&store, t(61)).await,
            None,
            "a2 still blocked while a1 is leased"
        );
        store.complete_event(retried.id, t(61)).await.unwrap();
        assert_eq!(claim(&store, t(61)).await.as_deref(), Some("a2"));
    }

    pub async fn expired_lease_makes_an_event_claimable_again(store: Arc<dyn Store>) {
        assert_eq!(
            commit(&store, enqueue(t(0), vec![event("e1", "A")])).await,
            CommitOutcome::Committed
        );
        let first = claim_full(&store, t(0)).await.unwrap();
        assert_eq!(first.attempts, 0);
        assert_eq!(claim(&store, t(29)).await, None, "lease of 30 s still held");
        let again = claim_full(&store, t(30)).await.unwrap();
        assert_eq!(
            (again.id, again.attempts),
            (first.id, 1),
            "the crashed claim counts as an attempt"
        );
    }

    pub async fn dead_events_park_and_revive(store: Arc<dyn Store>) {
        let c = enqueue(t(0), vec![event("e1", "A"), event("e2", "A")]);
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        let e1 = claim_full(&store, t(0)).await.unwrap();
        store.fail_event(e1.id, "gave up", None).await.unwrap();

        let stats = store.outbox_stats(t(10)).await.unwrap();
        assert_eq!(
            stats,
            OutboxStats {
                depth: 1,
                oldest_age_secs: 10,
                dead: 1
            }
        );
        let parked = store.list_events(Some("A"), 10).await.unwrap();
        let parked = parked.iter().find(|e| e.id == e1.id).unwrap();
        assert!(parked.dead);
        assert_eq!(parked.last_error.as_deref(), Some("gave up"));
        assert_eq!(parked.delivered_at, None);

        // A dead event does not block the rest of its key.
        let e2 = claim_full(&store, t(1000)).await.unwrap();
        assert_eq!(e2.event_id, "e2");
        store.complete_event(e2.id, t(1000)).await.unwrap();
        assert_eq!(
            claim(&store, t(2000)).await,
            None,
            "dead events are never claimed"
        );

        assert!(store.redeliver_event(e1.id, t(3000)).await.unwrap());
        assert!(
            !store.redeliver_event(e1.id, t(3000)).await.unwrap(),
            "no longer dead"
        );
        assert!(
            !store.redeliver_event(e2.id, t(3000)).await.unwrap(),
            "delivered, not dead"
        );
        assert!(
            !store.redeliver_event(987_654, t(3000)).await.unwrap(),
            "unknown id"
        );
        assert_eq!(store.outbox_stats(t(3000)).await.unwrap().dead, 0);
        assert_eq!(claim(&store, t(2999)).await, None, "revived for now = 3000");
        let revived = claim_full(&store, t(3000)).await.unwrap();
        assert_eq!(
            (revived.event_id.as_str(), revived.attempts, revived.dead),
            ("e1", 0, false)
        );

        // fail_event after delivery changes nothing.
        store.complete_event(revived.id, t(3001)).await.unwrap();
        store.fail_event(revived.id, "late", None).await.unwrap();
        let done = store.list_events(Some("A"), 10).await.unwrap();
        assert!(done.iter().all(|e| e.delivered_at.is_some() && !e.dead));
        assert_eq!(
            store.outbox_stats(t(3001)).await.unwrap(),
            OutboxStats::default()
        );
    }

    pub async fn complete_event_commits_with_its_effect(store: Arc<dyn Store>) {
        let provisioning = instance("i-1", "line:CS0001:1", t(0));
        let c = Commit {
            instance: Some(InstanceWrite::Insert(provisioning.clone())),
            events: vec![event("provision", "i-1")],
            ..at(t(0))
        };
        assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        let claimed = claim_full(&store, t(1)).await.unwrap();

        let mut ready = provisioning.clone();
        ready.status = InstanceStatus::Active;
        ready.app_info_sealed = Some(b"sealed".to_vec());
        let stale = Commit {
            instance: Some(InstanceWrite::Update {
                instance: ready.clone(),
                expected_version: 7,
            }),
            complete_event: Some(claimed.id),
            ..at(t(2))
        };
        assert_eq!(commit(&store, stale).await, CommitOutcome::StaleInstance);
        assert_eq!(
            store.list_events(None, 10).await.unwrap()[0].delivered_at,
            None,
            "rolled back together"
        );

        let good = Commit {
            instance: Some(InstanceWrite::Update {
                instance: ready.clone(),
                expected_version: 1,
            }),
            events: vec![event("ready", "i-1")],
            complete_event: Some(claimed.id),
            ..at(t(3))
        };
        assert_eq!(commit(&store, good).await, CommitOutcome::Committed);
        let listed = store.list_events(Some("i-1"), 10).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|e| e.event_id.as_str())
                .collect::<Vec<_>>(),
            ["ready", "provision"]
        );
        assert_eq!(listed[1].delivered_at, Some(t(3)));
        assert_eq!(
            store.get_instance("i-1").await.unwrap().unwrap().status,
            InstanceStatus::Active
        );
        assert_eq!(
            claim(&store, t(3)).await.as_deref(),
            Some("ready"),
            "the next event is unblocked"
        );
    }

    pub async fn outbox_stats_report_depth_and_age(store: Arc<dyn Store>) {
        assert_eq!(
            store.outbox_stats(t(0)).await.unwrap(),
            OutboxStats::default()
        );
        assert_eq!(
            commit(&store, enqueue(t(0), vec![event("e1", "A")])).await,
            CommitOutcome::Committed
        );
        assert_eq!(
            commit(&store, enqueue(t(100), vec![event("e2", "B")])).await,
            CommitOutcome::Committed
        );
        let now = t(130) + Duration::milliseconds(500);
        assert_eq!(
            store.outbox_stats(now).await.unwrap(),
            OutboxStats {
                depth: 2,
                oldest_age_secs: 130,
                dead: 0
            }
        );

        let e1 = claim_full(&store, t(130)).await.unwrap();
        assert_eq!(
            store.outbox_stats(now).await.unwrap().depth,
            2,
            "a leased event is still pending"
        );
        store.complete_event(e1.id, t(130)).await.unwrap();
        assert_eq!(
            store.outbox_stats(now).await.unwrap(),
            OutboxStats {
                depth: 1,
                oldest_age_secs: 30,
                dead: 0
            }
        );
        assert_eq!(
            store.outbox_stats(t(0)).await.unwrap().oldest_age_secs,
            0,
            "never negative"
        );
    }

    pub async fn listings(store: Arc<dyn Store>) {
        for (n, id) in ["i-1", "i-2", "i-3"].into_iter().enumerate() {
            let secs = i64::try_from(n).unwrap();
            let c = Commit {
                instance: Some(InstanceWrite::Insert(instance(
                    id,
                    &format!("line:{id}"),
                    t(secs),
                ))),
                events: vec![event(&format!("{id}-a"), id), event(&format!("{id}-b"), id)],
                ..at(t(secs))
            };
            assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
        }
        let ids = |v: Vec<Instance>| v.into_iter().map(|i| i.instance_id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_instances(10, 0).await.unwrap()),
            ["i-3", "i-2", "i-1"]
        );
        assert_eq!(
            ids(store.list_instances(2, 1).await.unwrap()),
            ["i-2", "i-1"]
        );
        assert_eq!(
            ids(store.list_instances(10, 5).await.unwrap()),
            Vec::<String>::new()
        );

        let wanted = ["i-1".to_string(), "unknown".to_string(), "i-3".to_string()];
        let mut got = ids(store.get_instances(&wanted).await.unwrap());
        got.sort();
        assert_eq!(got, ["i-1", "i-3"]);
        assert!(store.get_instances(&[]).await.unwrap().is_empty());

        let names = |v: Vec<koogate_gateway::store::OutboxEvent>| {
            v.into_iter().map(|e| e.event_id).collect::<Vec<_>>()
        };
        assert_eq!(
            names(store.list_events(Some("i-2"), 10).await.unwrap()),
            ["i-2-b", "i-2-a"]
        );
        assert_eq!(
            names(store.list_events(None, 2).await.unwrap()),
            ["i-3-b", "i-3-a"]
        );
        assert_eq!(store.list_events(None, 100).await.unwrap().len(), 6);
        assert!(
            store
                .list_events(Some("nobody"), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// 50 simultaneous copies of one `newInstance` call (same response key, same purchase).
    pub async fn concurrent_duplicates_commit_once(store: Arc<dyn Store>) {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..50 {
            let store = store.clone();
            tasks.spawn(async move {
                let c = Commit {
                    response: Some((
                        "newInstance:CS0001:1".into(),
                        format!("response {n}").into_bytes(),
                    )),
                    instance: Some(InstanceWrite::Insert(instance(
                        &format!("i-{n}"),
                        "line:CS0001:1",
                        t(0),
                    ))),
                    events: vec![event(&format!("ev-{n}"), &format!("i-{n}"))],
                    ..at(t(0))
                };
                store.commit(c).await.expect("commit")
            });
        }
        let outcomes = tasks.join_all().await;
        let committed = outcomes
            .iter()
            .filter(|o| **o == CommitOutcome::Committed)
            .count();
        assert_eq!(committed, 1, "{outcomes:?}");
        let winner = store
            .find_response("newInstance:CS0001:1")
            .await
            .unwrap()
            .unwrap();
        let instances = store.list_instances(100, 0).await.unwrap();
        assert_eq!(instances.len(), 1);
        for outcome in &outcomes {
            match outcome {
                CommitOutcome::Committed => {}
                CommitOutcome::Replayed(earlier) => assert_eq!(earlier, &winner),
                CommitOutcome::InstanceExists(existing) => assert_eq!(existing, &instances[0]),
                CommitOutcome::StaleInstance => panic!("no update here"),
            }
        }
        let events = store.list_events(None, 100).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].ordering_key, instances[0].instance_id);
    }

    /// 50 simultaneous calls for one purchase under different response keys: one instance, and
    /// the losers' responses are not stored.
    pub async fn concurrent_inserts_of_one_purchase_commit_once(store: Arc<dyn Store>) {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..50 {
            let store = store.clone();
            tasks.spawn(async move {
                let c = Commit {
                    response: Some((format!("call-{n}"), b"ok".to_vec())),
                    instance: Some(InstanceWrite::Insert(instance(
                        &format!("i-{n}"),
                        "line:CS0001:1",
                        t(0),
                    ))),
                    events: vec![event(&format!("ev-{n}"), &format!("i-{n}"))],
                    ..at(t(0))
                };
                (n, store.commit(c).await.expect("commit"))
            });
        }
        let outcomes = tasks.join_all().await;
        let winners: Vec<_> = outcomes
            .iter()
            .filter(|(_, o)| *o == CommitOutcome::Committed)
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(winners.len(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|(_, o)| matches!(
            o,
            CommitOutcome::Committed | CommitOutcome::InstanceExists(_)
        )));
        for n in 0..50 {
            let stored = store.find_response(&format!("call-{n}")).await.unwrap();
            assert_eq!(stored.is_some(), n == winners[0], "response of call {n}");
        }
        assert_eq!(store.list_instances(100, 0).await.unwrap().len(), 1);
        assert_eq!(store.list_events(None, 100).await.unwrap().len(), 1);
    }

    /// 200 events on 20 keys through 4 concurrent claim/complete loops: each delivered exactly
    /// once, and within a key strictly in enqueue order.
    pub async fn concurrent_claimers_deliver_each_event_once(store: Arc<dyn Store>) {
        const KEYS: usize = 20;
        const PER_KEY: usize = 10;
        for round in 0..PER_KEY {
            let events = (0..KEYS)
                .map(|k| event(&format!("k{k}-{round}"), &format!("k{k}")))
                .collect();
            assert_eq!(
                commit(&store, enqueue(t(0), events)).await,
                CommitOutcome::Committed
            );
        }
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (store, log) = (store.clone(), log.clone());
            workers.spawn(async move {
                loop {
                    match store
                        .claim_event(t(1), Duration::seconds(600))
                        .await
                        .expect("claim")
                    {
                        Some(e) => {
                            log.lock().unwrap().push((e.ordering_key.clone(), e.id));
                            store.complete_event(e.id, t(1)).await.expect("complete");
                        }
                        None if log.lock().unwrap().len() >= KEYS * PER_KEY => return,
                        None => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
                    }
                }
            });
        }
        tokio::time::timeout(std::time::Duration::from_secs(120), workers.join_all())
            .await
            .expect("workers finish");

        let log = log.lock().unwrap().clone();
        let mut ids: Vec<i64> = log.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            (log.len(), ids.len()),
            (KEYS * PER_KEY, KEYS * PER_KEY),
            "each event claimed exactly once"
        );
        for k in 0..KEYS {
            let key = format!("k{k}");
            let order: Vec<i64> = log
                .iter()
                .filter(|(kk, _)| *kk == key)
                .map(|(_, id)| *id)
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "key {key} out of order: {order:?}"
            );
        }
        let stats = store.outbox_stats(t(1)).await.unwrap();
        assert_eq!(stats, OutboxStats::default());
        assert!(
            store
                .list_events(None, 1000)
                .await
                .unwrap()
                .iter()
                .all(|e| e.delivered_at == Some(t(1)))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every story on both backends.

macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use koogate_testkit::Backend;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::on_store(Backend::Sqlite, concat!(module_path!(), "::", stringify!($name)), super::stories::$name).await;
                }
            )*
        }
        mod postgres {
            use koogate_testkit::Backend;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::on_store(Backend::Postgres, concat!(module_path!(), "::", stringify!($name)), super::stories::$name).await;
                }
            )*
        }
    };
}

stories!(
    nonces_remember_replay_and_prune,
    instance_round_trips_every_field,
    repeated_response_key_replays_and_applies_nothing,
    taken_idem_key_rolls_back_the_whole_commit,
    stale_update_applies_nothing,
    replaced_responses_commit_with_their_instance,
    orders_are_upserted,
    enqueued_events_are_claimable,
    events_of_one_key_are_delivered_in_order,
    expired_lease_makes_an_event_claimable_again,
    dead_events_park_and_revive,
    complete_event_commits_with_its_effect,
    outbox_stats_report_depth_and_age,
    listings,
    concurrent_duplicates_commit_once,
    concurrent_inserts_of_one_purchase_commit_once,
    concurrent_claimers_deliver_each_event_once,
    usage_reports_are_recorded_once_per_event_id,
    package_usage_is_split_by_the_instance_it_came_from,
    open_usage_groups_are_windows_ended_by_the_cutoff,
    closing_sums_a_window_and_refuses_late_reports,
    usage_windows_are_due_until_settled,
    usage_recorded_while_closing_is_counted_or_refused,
    concurrent_reuse_of_one_event_id_records_once,
    kit_upserts_and_deletes_report_changes_once,
    kit_delete_others_replaces_exactly_one_scope,
    kit_write_is_one_transaction_with_one_event,
    kit_listing_filters_orders_and_limits,
    concurrent_identical_kit_writes_change_once,
    concurrent_kit_writes_in_opposite_orders_all_apply,
    a_lease_has_one_holder_until_it_expires,
    a_released_lease_is_free_at_once,
    replicas_racing_for_a_lease_get_one_winner,
    only_the_lease_holder_runs_a_pass,
    the_release_time_survives_later_writes,
    license_code_rows_follow_their_commits,
);

/// WAL is a property of the file, so a second, independent connection can confirm it.
#[tokio::test]
async fn sqlite_database_file_is_in_wal_mode() {
    use sqlx::Connection;
    let db = TestDb::create(Backend::Sqlite).await;
    let store = SqliteStore::connect(db.url()).await.unwrap();
    let mut probe = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut probe)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    probe.close().await.unwrap();
    drop(store);
}
