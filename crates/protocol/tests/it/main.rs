//! The protocol crate's integration tests, one binary (see `crates/testkit/README.md`): each
//! module was a test binary of its own. Run one with a filter, e.g.
//! `cargo test -p koogate-protocol --test it oracle_vectors::`.

mod crypto_props;
mod fuzz_regressions;
mod no_io_dependencies;
mod oracle_vectors;
mod responses;
mod signing_props;
mod signing_vectors;
mod spec_examples;
mod wire_lenient;
