//! The replica part of the storage story: scheduler leases (one replica runs each background
//! pass) and the release time that later writes cannot move, on both backends.

use std::sync::atomic::{AtomicUsize, Ordering};

use koogate_gateway::clock::{ManualClock, SharedClock};
use koogate_gateway::domain::lease::Leases;

use super::*;

const TTL: i64 = 30;

async fn acquire(store: &Arc<dyn Store>, name: &str, holder: &str, secs: i64) -> bool {
    store
        .acquire_lease(name, holder, t(secs), Duration::seconds(TTL))
        .await
        .unwrap()
}

pub async fn a_lease_has_one_holder_until_it_expires(store: Arc<dyn Store>) {
    assert!(acquire(&store, "metering", "a", 0).await, "a free lease");
    assert!(!acquire(&store, "metering", "b", 1).await, "a holds it");
    // Other names are other leases.
    assert!(acquire(&store, "pruning", "b", 1).await);
    // Renewing moves the expiry: b is still refused after a's first lease would have expired.
    assert!(acquire(&store, "metering", "a", 20).await, "a renews");
    assert!(!acquire(&store, "metering", "b", TTL + 10).await);
    assert!(!acquire(&store, "metering", "b", 20 + TTL - 1).await);
    // a stops renewing (crashed): once its lease has expired, b takes over, and a is refused.
    assert!(acquire(&store, "metering", "b", 20 + TTL).await);
    assert!(!acquire(&store, "metering", "a", 20 + TTL + 1).await);
    assert!(acquire(&store, "metering", "b", 20 + TTL + 1).await);
}

pub async fn a_released_lease_is_free_at_once(store: Arc<dyn Store>) {
    assert!(acquire(&store, "metering", "a", 0).await);
    // Only the holder can give it up.
    store.release_lease("metering", "b").await.unwrap();
    assert!(!acquire(&store, "metering", "b", 1).await);
    store.release_lease("metering", "a").await.unwrap();
    assert!(
        acquire(&store, "metering", "b", 1).await,
        "free long before it would expire"
    );
    // Releasing a lease nobody holds is harmless.
    store.release_lease("nobody-holds-this", "a").await.unwrap();
}

pub async fn replicas_racing_for_a_lease_get_one_winner(store: Arc<dyn Store>) {
    for round in 0..3 {
        // Each round starts after the previous round's lease has expired.
        let secs = round * (TTL + 1);
        let racers = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(
                async move { acquire(&store, "race", &format!("r{round}-{i}"), secs).await },
            )
        });
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1, "round {round}");
    }
}

/// The helper every scheduler uses: two replicas on one store, an injected clock; each pass runs
/// on one of them, and the job passes over when its holder stops renewing.
pub async fn only_the_lease_holder_runs_a_pass(store: Arc<dyn Store>) {
    let clock = ManualClock::new(t(0));
    let shared: SharedClock = Arc::new(clock.clone());
    let replicas = [
        Leases::new(store.clone(), shared.clone()),
        Leases::new(store.clone(), shared),
    ];
    assert_ne!(replicas[0].holder(), replicas[1].holder());
    let runs = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let ttl = Duration::seconds(TTL);
    for _ in 0..5 {
        for (replica, count) in replicas.iter().zip(&runs) {
            let ran = replica
                .run_leased("job", ttl, || async {
                    count.fetch_add(1, Ordering::SeqCst);
                    7
                })
                .await;
            assert_eq!(ran.is_some(), ran == Some(7));
        }
        clock.advance(Duration::seconds(10));
    }
    let counts = runs.each_ref().map(|c| c.load(Ordering::SeqCst));
    assert_eq!(
        counts,
        [5, 0],
        "every pass on the first replica, none twice"
    );
    // The first replica stops (no more passes); its lease runs out and the second takes over.
    clock.advance(Duration::seconds(TTL));
    let ran = replicas[1].run_leased("job", ttl, || async { 1 }).await;
    assert_eq!(ran, Some(1));
    assert_eq!(
        replicas[0].run_leased("job", ttl, || async { 1 }).await,
        None
    );
}

/// `released_at` is written by the update that releases, and no later write moves it (the
/// metering's release cut-off reads it).
pub async fn the_release_time_survives_later_writes(store: Arc<dyn Store>) {
    let mut live = instance("i-rel", "line:REL:1", t(0));
    live.status = InstanceStatus::Active;
    let c = Commit {
        instance: Some(InstanceWrite::Insert(live.clone())),
        ..at(t(0))
    };
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    assert_eq!(
        store
            .get_instance("i-rel")
            .await
            .unwrap()
            .unwrap()
            .released_at,
        None
    );
    let mut released = live.clone();
    released.status = InstanceStatus::Released;
    released.updated_at = t(100);
    released.released_at = Some(t(100));
    let c = Commit {
        instance: Some(InstanceWrite::Update {
            instance: released.clone(),
            expected_version: 1,
        }),
        ..at(t(100))
    };
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let stored = store.get_instance("i-rel").await.unwrap().unwrap();
    assert_eq!(stored.released_at, Some(t(100)));
    // A later write of the row, even one naming another release time, keeps the first.
    let mut later = stored.clone();
    later.updated_at = t(500);
    later.released_at = Some(t(500));
    let c = Commit {
        instance: Some(InstanceWrite::Update {
            instance: later,
            expected_version: 2,
        }),
        ..at(t(500))
    };
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let stored = store.get_instance("i-rel").await.unwrap().unwrap();
    assert_eq!(
        (stored.updated_at, stored.released_at, stored.version),
        (t(500), Some(t(100)), 3)
    );
}
