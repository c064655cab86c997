//! `koogate serve` end to end: the production interface as KooGallery calls it, the webhook
//! outbox as the vendor receives it, and the vendor REST API, against the in-process KooGallery
//! open-API simulator (issue 3's acceptance criteria).
//!
//! One binary; the harness is `support/` (`spawn_app() -> TestApp`), the tests are grouped by
//! concern in `produce/`. Every production answer is checked by the harness for HTTP 200,
//! `application/json` and a `Body-Sign` that verifies with the right key, so the tests only
//! state what is specific to them. Nothing sleeps: the clock is a `ManualClock` and the outbox
//! is drained with `run_outbox()`.
//!
//! The core story runs on SQLite and on PostgreSQL; the PostgreSQL variants print a loud
//! SKIPPED line and pass when `KOOGATE_TEST_DATABASE_URL` is unset, and fail when it is set but
//! the server is unusable.
//!
//! ```text
//! cargo test -p koogate-gateway --test it produce::
//! KOOGATE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p koogate-gateway --test it produce::
//! ```

// Helpers outside `#[test]` functions unwrap too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod hardening;
mod hooks;
mod idempotency;
mod kit;
mod license_codes;
mod metering;
mod ops;
mod refusals;
mod replicas;
mod settings;
mod story;
mod vendor_answers;

use koogate_sim::orders::{LineSpec, OrderSpec, OrderType, ProductSpec};
use serde_json::{Value, json};

/// The app info a vendor reports; `memo` is non-ASCII on purpose (answers must escape it).
fn vendor_app_info() -> Value {
    json!({
        "frontEndUrl": "https://vendor.example.com/tenant/42",
        "adminUrl": "https://vendor.example.com/admin/42",
        "userName": "tenant-admin",
        "password": "S3cret!pass-42",
        "memo": "首次登录请修改密码",
    })
}

/// A one-month periodic purchase, expiring 2025-04-01T23:59:59Z.
fn period_order() -> OrderSpec {
    OrderSpec::new(OrderType::New).line(LineSpec::period("month", 1, "20250401235959"))
}

/// A renewal order for the periodic product, one more month.
fn renew_order() -> OrderSpec {
    OrderSpec::new(OrderType::Renew).line(LineSpec::period("month", 1, "20250501235959"))
}

/// A specification change to `sku-pro`.
fn change_order() -> OrderSpec {
    OrderSpec::new(OrderType::Change).line(LineSpec::period("month", 1, "20250401235959").products(
        vec![ProductSpec::new(
            "OFFI000000000000000001",
            "sku-pro",
            "SIM测试商品,专业版",
        )],
    ))
}
