//! The `koogate` command's integration tests, one binary (see `crates/testkit/README.md`): each
//! module below was a test binary of its own. Run one with a filter, e.g.
//! `cargo test -p koogate --test it crash::`.

// Helpers outside `#[test]` functions unwrap too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod crash_support;

mod bench;
mod cli_vectors;
mod crash;
mod demo;
mod doctor;
mod java_lifecycle;
mod pairing;
mod serve_process;
mod sim_cmd;
