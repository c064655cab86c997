//! The gateway end to end under KooGallery's faults: the simulator plays flows against the real
//! gateway over real HTTP with each fault of `koogate_sim::faults` switched on, and every test
//! checks both what the simulator recorded and what the gateway stored. Each story runs on SQLite
//! and, when `KOOGATE_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database (skipped loudly
//! otherwise).
//!
//! ```text
//! cargo test -p koogate-gateway --test it sim_faults::
//! KOOGATE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p koogate-gateway --test it sim_faults::
//! ```

// Stories are plain async fns (clippy's allow-unwrap-in-tests does not see them as tests).
#![allow(clippy::unwrap_used)]

// The harness serves the reconciliation stories too; the webhook receiver is the produce tests'.
pub mod harness;
mod refusals;
mod stories;

use crate::support::hook;

/// Turns each story into `sqlite::<name>` and `postgres::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use koogate_testkit::{Backend, on_fresh_database};

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    on_fresh_database(Backend::Sqlite, concat!(module_path!(), "::", stringify!($name)), super::$name).await;
                }
            )*
        }
        mod postgres {
            use koogate_testkit::{Backend, on_fresh_database};

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    on_fresh_database(Backend::Postgres, concat!(module_path!(), "::", stringify!($name)), super::$name).await;
                }
            )*
        }
    };
}

use refusals::{
    every_refusal_code_is_answered_at_once_and_refunded,
    every_refusal_code_is_refunded_after_retries,
};
use stories::*;

on_both_backends!(
    every_refusal_code_is_refunded_after_retries,
    every_refusal_code_is_answered_at_once_and_refunded,
    twenty_concurrent_resends_make_one_instance,
    a_timeout_straddling_the_commit_gets_the_same_answer_on_retry,
    duplicate_delivery_of_every_step_ends_where_a_clean_run_does,
    a_release_overtaking_provisioning_stays_released,
    clock_skew_beyond_the_window_is_refused_and_changes_nothing,
    replayed_nonces_are_refused_and_change_nothing,
    tampered_bodies_and_signatures_are_refused_and_change_nothing,
);
