#![doc = include_str!("../README.md")]

pub mod openapi;
pub mod orders;
