#![doc = include_str!("../README.md")]

pub mod conform;
pub mod faults;
pub mod handle;
pub mod message_log;
pub mod openapi;
pub mod orders;
pub mod produce_client;
pub mod retry;
pub mod scenario;
