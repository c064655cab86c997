#![doc = include_str!("../README.md")]

pub mod ceiling;
pub mod chart;
pub mod controller;
pub mod crypto;
pub mod generator;
pub mod plan;
pub mod profile;
pub mod report;
pub mod stats;
