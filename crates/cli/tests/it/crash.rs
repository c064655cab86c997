//! Crash consistency: "Nothing acknowledged is ever lost, and nothing is ever done twice."
//!
//! `koogate serve` runs as a child process on a real SQLite file (or a PostgreSQL database).
//! Several concurrent clients, playing KooGallery, drive a few thousand mixed lifecycle calls
//! (`newInstance`, `queryInstance`, `refreshInstance`, `updateInstanceStatus`,
//! `releaseInstance`) with exact duplicates, concurrent resends and cross-client repeats, each
//! call freshly signed; a killer sends `kill -9` at random moments, several times, and restarts
//! the server on the same storage and port; calls without an answer are sent again later, as
//! KooGallery does. A webhook receiver in this process verifies and records every delivery and
//! answers `instance.provision` with app info. After the load, the outbox drains, the server is
//! killed once more and restarted, and the checks run (see `crash_support/check.rs`):
//!
//! - every call answered `000000`/`000004` is reflected in the stored state: its instance
//!   exists, its status change or renewal shows in the final status and expiry;
//! - no order line has two instances, and no instance exists that nobody acknowledged;
//! - every repeat of an acknowledged call, during the run and once more after the last restart,
//!   gets the byte-identical answer;
//! - the outbox lost nothing and did nothing twice: per instance, the stored events are exactly
//!   those the acknowledged calls cause, each was delivered (verified signature), every delivery
//!   is still in the store, and deliveries of one instance arrived in store order.
//!
//! `crash_consistency_postgres_replicas` runs the same load and checks against three `koogate
//! serve` replicas on one PostgreSQL database: calls and their duplicates go to the replicas in
//! turn (so a resend usually reaches another replica than the original), each kill hits one
//! replica at random while the other two keep serving, and every replica's outbox worker
//! delivers. The final repeats, spread the same way, must match byte for byte whichever replica
//! answers.
//!
//! `checker_detects_lost_acknowledged_instance` shows the checks have teeth: it deletes an
//! acknowledged instance and a delivered event straight from the database before the checks
//! and expects both losses reported.
//!
//! ```text
//! cargo test -p koogate --test it crash::
//! KOOGATE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p koogate --test it crash::
//! ```
//!
//! Without `KOOGATE_TEST_DATABASE_URL` the PostgreSQL variants print a loud SKIPPED line and
//! pass; with it set, an unreachable server fails them. `KOOGATE_CRASH_SEED` repeats a run's
//! random choices (not its timing). Each variant takes 40 to 80 s (they run in parallel; all
//! four about 90 s), most of it waiting: an event in flight at a kill is redelivered only when the crashed worker's
//! 60 s lease (`outbox::DEFAULT_LEASE`) expires, and the checks wait for that delivery.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::time::Duration;

use koogate_testkit::{Backend, TestDb};

use crate::crash_support::{self, Scenario, Tamper, check::kind, say};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A PostgreSQL database of its own, dropped on drop; `None` (after a loud SKIPPED line) when
/// `KOOGATE_TEST_DATABASE_URL` is unset. Panics when it is set but PostgreSQL is unusable, so CI
/// cannot skip silently.
fn postgres_database(test: &str) -> Option<TestDb> {
    Backend::Postgres
        .available(test)
        .map(TestDb::create_blocking)
}

fn crash_scenario(backend: &'static str, database_url: Option<String>) -> Scenario {
    Scenario {
        backend,
        database_url,
        kills: 3..=5,
        clients: 4,
        replicas: 1,
        min_answered: 2500,
        load_cap: Duration::from_secs(40),
        tamper: None,
    }
}

#[test]
fn crash_consistency_sqlite() {
    let report = runtime().block_on(crash_support::run(crash_scenario("sqlite", None)));
    report.assert_clean();
}

#[test]
fn crash_consistency_postgres() {
    let Some(db) = postgres_database("crash_consistency_postgres") else {
        return;
    };
    let url = db.url().to_owned();
    let outcome = std::panic::catch_unwind(|| {
        let report = runtime().block_on(crash_support::run(crash_scenario("postgres", Some(url))));
        report.assert_clean();
    });
    drop(db);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Three replicas on one PostgreSQL database: calls and their duplicates go to different
/// replicas in turn, each kill hits one replica while the others keep serving, and the same
/// checks hold (one instance per order line, byte-identical repeats from any replica, every
/// event delivered once in order, although any replica's outbox worker may deliver it).
#[test]
fn crash_consistency_postgres_replicas() {
    let Some(db) = postgres_database("crash_consistency_postgres_replicas") else {
        return;
    };
    let url = db.url().to_owned();
    let outcome = std::panic::catch_unwind(|| {
        let scenario = Scenario {
            backend: "postgres, 3 replicas",
            replicas: 3,
            ..crash_scenario("postgres", Some(url))
        };
        runtime()
            .block_on(crash_support::run(scenario))
            .assert_clean();
    });
    drop(db);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The checks must catch a store that lost acknowledged work: with no kills during a short
/// load, an acknowledged instance row and a delivered event row are deleted from the SQLite
/// file while the server is down; the checks must report both.
#[test]
fn checker_detects_lost_acknowledged_instance() {
    let scenario = Scenario {
        backend: "sqlite, tampered",
        database_url: None,
        kills: 0..=0,
        clients: 2,
        replicas: 1,
        min_answered: 120,
        load_cap: Duration::from_secs(20),
        tamper: Some(Tamper::LoseInstanceAndEvent),
    };
    let report = runtime().block_on(crash_support::run(scenario));
    for v in &report.violations {
        say(&format!("  expected violation found: {v}"));
    }
    assert!(
        report.has(kind::MISSING_INSTANCE),
        "the deleted instance went unnoticed: {:?}",
        report.violations
    );
    assert!(
        report.has(kind::LOST_EVENT),
        "the deleted event went unnoticed: {:?}",
        report.violations
    );
    assert!(
        report.has(kind::EVENT_SEQUENCE),
        "the missing instance.provision went unnoticed: {:?}",
        report.violations
    );
}
