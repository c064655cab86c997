#![doc = include_str!("../README.md")]

pub mod clock;
pub mod config;
pub mod outbox;
pub mod secret_box;
pub mod store;
pub mod tls;
