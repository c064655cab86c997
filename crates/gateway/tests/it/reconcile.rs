//! Reconciliation end to end: the simulator places orders and deliberately never sends some of
//! their lifecycle calls (the `never=ACTIVITY` fault) while its clock and order book move on;
//! the real gateway, over real HTTP, must find what it missed, list it on the vendor API, and
//! in `heal` mode apply it once. Each story runs on SQLite and, when
//! `KOOGATE_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database (skipped loudly otherwise).
//!
//! ```text
//! cargo test -p koogate-gateway --test it reconcile::
//! ```

// Stories are plain async fns (clippy's allow-unwrap-in-tests does not see them as tests).
#![allow(clippy::unwrap_used)]

mod stories;

// The rig of the fault tests.
use crate::sim_faults::harness;

/// Turns each story into `sqlite::<name>` and `postgres::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use koogate_testkit::{Backend, on_fresh_database};

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    on_fresh_database(Backend::Sqlite, concat!(module_path!(), "::", stringify!($name)), super::stories::$name).await;
                }
            )*
        }
        mod postgres {
            use koogate_testkit::{Backend, on_fresh_database};

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    on_fresh_database(Backend::Postgres, concat!(module_path!(), "::", stringify!($name)), super::stories::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_missed_release_and_a_missed_expiry_are_found_and_listed,
    heal_mode_applies_each_missed_call_once,
    an_order_koogallery_does_not_know_is_an_orphan,
    findings_open_once_reopen_and_resolve_in_the_store,
    unreleased_instances_are_paged_by_id,
    off_mode_runs_no_pass,
);
