//! The simulator's integration tests, one binary (see `crates/testkit/README.md`): each module
//! was a test binary of its own. Run one with a filter, e.g.
//! `cargo test -p koogate-sim --test it scenarios::`.

mod conform;
mod faults;
mod openapi;
mod scenarios;
