//! Several replicas on one database, end to end: the metering pass runs on the lease holder only,
//! a window closed twice (a restored backup) is billed once, and the release time that cuts off
//! usage does not move with later writes of the instance.

use std::sync::Arc;

use chrono::Duration;
use koogate_gateway::clock::Clock;
use koogate_gateway::domain::lease::Leases;
use koogate_gateway::domain::metering::{MeteringPass, MeteringWorker};
use koogate_gateway::store::{Commit, CommitOutcome, InstanceStatus, InstanceWrite};
use serde_json::json;

use super::metering::{metered_instance, report, usage, usage_view};
use crate::support::{Backend, TestApp, TestOptions, spawn_app, start_time};

async fn only_one_replica_runs_each_metering_pass(app: TestApp) {
    // A second replica's worker: same database and clock, its own holder id.
    let other = MeteringWorker::new(
        app.gateway.clone(),
        Leases::new(app.store.clone(), Arc::new(app.clock.clone())),
    );
    let ttl = Duration::minutes(3);
    let id = metered_instance(&app).await;
    app.advance(Duration::minutes(20));
    let (status, _) = report(
        &app,
        usage(&id, "r-1", json!("2.5"), "2025-03-01T08:10:00Z"),
    )
    .await;
    assert_eq!(status, 201);
    // Both replicas try a pass every minute for an hour; the first to try holds the lease and
    // renews it with every pass, so the other never runs one.
    assert_eq!(
        app.metering.run_leased(ttl).await,
        Some(MeteringPass::default())
    );
    let mut pushed = 0;
    for _ in 0..60 {
        app.advance(Duration::minutes(1));
        assert_eq!(other.run_leased(ttl).await, None);
        pushed += app.metering.run_leased(ttl).await.unwrap().pushed;
    }
    assert_eq!(pushed, 1);
    assert_eq!(app.sim().usage_records().len(), 1);
    // The holder stops (crashed): once its lease has expired, the other replica takes over.
    app.advance(Duration::minutes(2));
    assert_eq!(other.run_leased(ttl).await, None, "not expired yet");
    app.advance(Duration::minutes(1));
    assert_eq!(other.run_leased(ttl).await, Some(MeteringPass::default()));
    assert_eq!(app.metering.run_leased(ttl).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_replica_runs_each_metering_pass_sqlite() {
    only_one_replica_runs_each_metering_pass(spawn_app(TestOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_replica_runs_each_metering_pass_postgres() {
    let Some(options) = TestOptions::on(
        Backend::Postgres,
        "only_one_replica_runs_each_metering_pass",
    ) else {
        return;
    };
    only_one_replica_runs_each_metering_pass(spawn_app(options).await).await;
}

async fn a_stopping_replica_hands_the_metering_over_at_once(app: TestApp) {
    let other = MeteringWorker::new(
        app.gateway.clone(),
        Leases::new(app.store.clone(), Arc::new(app.clock.clone())),
    );
    // The other replica runs its first pass (taking the lease for three hours) and stops.
    other
        .clone()
        .run(std::time::Duration::from_secs(3600), async {})
        .await;
    // Its lease was given up: this replica runs the next pass, the clock unmoved.
    assert_eq!(
        app.metering.run_leased(Duration::minutes(3)).await,
        Some(MeteringPass::default())
    );
    assert_eq!(other.run_leased(Duration::minutes(3)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_replica_hands_the_metering_over_at_once_sqlite() {
    a_stopping_replica_hands_the_metering_over_at_once(spawn_app(TestOptions::default()).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_replica_hands_the_metering_over_at_once_postgres() {
    let Some(options) = TestOptions::on(
        Backend::Postgres,
        "a_stopping_replica_hands_the_metering_over_at_once",
    ) else {
        return;
    };
    a_stopping_replica_hands_the_metering_over_at_once(spawn_app(options).await).await;
}

async fn a_window_closed_twice_is_billed_once(app: TestApp) {
    let id = metered_instance(&app).await;
    app.advance(Duration::minutes(20));
    let (status, _) = report(
        &app,
        usage(&id, "w-1", json!("2.5"), "2025-03-01T08:10:00Z"),
    )
    .await;
    assert_eq!(status, 201);
    app.advance(Duration::minutes(50));
    let pass = app.metering.run_once().await;
    assert_eq!((pass.closed, pass.pushed), (1, 1), "{pass:?}");
    let billed = app.sim().usage_records();
    assert_eq!(billed.len(), 1);
    // The database is restored from a backup taken before the close: the report is there, its
    // window is not. The next pass closes and pushes the window again.
    app.execute_sql("UPDATE usage_events SET window_id = NULL")
        .await;
    app.execute_sql("DELETE FROM usage_windows").await;
    let pass = app.metering.run_once().await;
    assert_eq!((pass.closed, pass.pushed), (1, 1), "{pass:?}");
    // Under the same metering_sn, which KooGallery recognises (005): billed once.
    let window = &usage_view(&app, &id).await["windows"][0];
    assert_eq!(
        window["meteringSn"],
        json!(billed[0].metering_sn),
        "{window}"
    );
    assert_eq!(window["status"], "pushed");
    assert_eq!(window["resultCode"], "005", "{window}");
    assert_eq!(app.sim().usage_records(), billed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_closed_twice_is_billed_once_sqlite() {
    a_window_closed_twice_is_billed_once(spawn_app(TestOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_closed_twice_is_billed_once_postgres() {
    let Some(options) = TestOptions::on(Backend::Postgres, "a_window_closed_twice_is_billed_once")
    else {
        return;
    };
    a_window_closed_twice_is_billed_once(spawn_app(options).await).await;
}

async fn a_later_write_of_a_released_instance_does_not_reopen_its_usage(app: TestApp) {
    let id = metered_instance(&app).await;
    app.advance(Duration::minutes(10));
    app.release(&id).await.assert_code("000000");
    let released = app.instance(&id).await;
    let release_time = start_time() + Duration::minutes(10);
    assert_eq!(
        (released.status, released.released_at),
        (InstanceStatus::Released, Some(release_time))
    );
    // A repeated release changes nothing.
    app.advance(Duration::minutes(5));
    app.release(&id).await.assert_code("000000");
    assert_eq!(app.instance(&id).await, released);
    // Twenty minutes later something writes the row again (an operator's fix, a late effect):
    // its updated_at moves past usage that happened after the release.
    app.advance(Duration::minutes(15));
    let mut touched = released.clone();
    touched.updated_at = app.clock.now();
    let write = Commit {
        instance: Some(InstanceWrite::Update {
            instance: touched,
            expected_version: released.version,
        }),
        now: app.clock.now(),
        ..Commit::default()
    };
    assert_eq!(
        app.store.commit(write).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(app.instance(&id).await.released_at, Some(release_time));
    // Usage after the release is still refused, usage before it is still taken.
    let (status, body) = report(&app, usage(&id, "x-1", json!(1), "2025-03-01T08:20:00Z")).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("instance_released")),
        "{body}"
    );
    let (status, body) = report(&app, usage(&id, "x-2", json!(1), "2025-03-01T08:05:00Z")).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_write_of_a_released_instance_does_not_reopen_its_usage_sqlite() {
    a_later_write_of_a_released_instance_does_not_reopen_its_usage(
        spawn_app(TestOptions::default()).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_write_of_a_released_instance_does_not_reopen_its_usage_postgres() {
    let Some(options) = TestOptions::on(
        Backend::Postgres,
        "a_later_write_of_a_released_instance_does_not_reopen_its_usage",
    ) else {
        return;
    };
    a_later_write_of_a_released_instance_does_not_reopen_its_usage(spawn_app(options).await).await;
}
