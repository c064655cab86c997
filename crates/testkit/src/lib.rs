#![doc = include_str!("../README.md")]
// Test scaffolding: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod config;
mod db;
#[cfg(test)]
mod layout;

pub use config::{HOOK_SECRET, OpenApi, gateway_config};
pub use db::{Backend, PG_ENV, TestDb, admin_execute, on_fresh_database, say, with_database};
