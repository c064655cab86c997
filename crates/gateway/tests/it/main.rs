//! The gateway's integration tests, one binary (see `crates/testkit/README.md`): each module
//! below was a test binary of its own. Run one with a filter, e.g.
//! `cargo test -p koogate-gateway --test it store_story::`.

// Helpers outside `#[test]` functions unwrap too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

mod openapi_client;
mod openapi_license;
mod outbox;
mod produce;
mod reconcile;
mod sim_faults;
mod store_story;
mod tls;
