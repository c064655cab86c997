#![doc = include_str!("../README.md")]

pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error_chain;
pub mod http;
pub mod openapi;
pub mod outbox;
pub mod private_files;
pub mod secret_box;
pub mod server;
pub mod store;
pub mod tls;
pub mod tls_server;
