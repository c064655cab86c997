//! `koogate bench --smoke` end to end: the controller starts the ceilings, `koogate serve` and a
//! generator per line, and every ceiling and workload comes back with its figures and ratio, as
//! a table, as JSON and as a PNG. No assertion looks at a timing: the machine is shared and the
//! smoke windows are far too short to mean anything; the test proves the machinery, not speed.
//!
//! The PostgreSQL variant runs against `KOOGATE_TEST_DATABASE_URL` (CI sets it) and prints a
//! SKIPPED line without it.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use koogate_testkit::Backend;
use serde_json::Value;

const WORKLOADS: [&str; 6] = [
    "new_instance_fresh",
    "new_instance_replay",
    "query_instance_1",
    "query_instance_100",
    "mixed_lifecycle",
    "outbox_drain",
];

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("koogate-bench-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `koogate bench --smoke --json <dir>/out/bench.json [extra]` and returns the JSON.
fn smoke(dir: &Path, extra: &[&str]) -> Value {
    let json = dir.join("out").join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_koogate"))
        .args(["bench", "--smoke", "--json"])
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "koogate bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for name in [
        "HTTP ceiling",
        "storage ceiling",
        "newInstance fresh",
        "mixed lifecycle",
        "outbox drain",
    ] {
        assert!(stdout.contains(name), "the table lacks {name}:\n{stdout}");
    }
    assert!(stdout.contains("measured"), "no request counts:\n{stdout}");
    assert!(
        stdout.contains("(goal ≤ 30 MiB") && stdout.contains("(goal ≤ 100 MiB"),
        "no memory goals:\n{stdout}"
    );
    assert!(
        !stdout.contains("ran out of prepared requests"),
        "a line ran out of requests:\n{stdout}"
    );
    let png = std::fs::read(json.with_extension("png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the chart is not a PNG");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn positive(row: &Value, field: &str) -> bool {
    row[field].as_f64().is_some_and(|v| v > 0.0)
}

fn check_report(report: &Value, backend: &str) {
    assert_eq!(report["backend"], backend);
    assert!(
        positive(&report["crypto"], "bound_rps"),
        "{}",
        report["crypto"]
    );
    let ceilings = report["ceilings"].as_array().unwrap();
    let keys: Vec<&str> = ceilings
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["http_ceiling", "storage_ceiling"]);
    for row in ceilings {
        assert!(positive(row, "rps") && row["errors"] == 0, "{row}");
        // Unbounded: a ceiling cycles through its prepared requests.
        assert_eq!(row["exhausted"], false, "{row}");
    }
    let workloads = report["workloads"].as_array().unwrap();
    let keys: Vec<&str> = workloads
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, WORKLOADS);
    for row in workloads {
        assert_eq!(row["errors"], 0, "{row}");
        for field in [
            "rps",
            "ratio",
            "ratio_http",
            "ratio_storage",
            "crypto_share",
        ] {
            assert!(positive(row, field), "{field} missing in {row}");
        }
        assert!(
            row["ceiling"] == "http" || row["ceiling"] == "storage",
            "{row}"
        );
        // Every line states how many requests (events, on the drain line) it measured.
        assert!(row["requests"].as_u64().is_some_and(|n| n > 0), "{row}");
        if row["key"] == "outbox_drain" {
            assert_eq!(row["ceiling"], "storage", "{row}");
            let drain = &row["drain"];
            assert!(drain["purchases"].as_u64().is_some_and(|n| n > 0), "{row}");
            // Every purchase enqueued events, and the receiver got them all, signed.
            assert!(
                drain["events"].as_u64() >= drain["purchases"].as_u64(),
                "{row}"
            );
            assert_eq!(drain["emptied"], true, "{row}");
            assert_eq!(drain["unsigned"], 0, "{row}");
        } else {
            assert_eq!(
                row["requests"].as_u64(),
                row["latency"]["samples"].as_u64(),
                "{row}"
            );
        }
        assert!(row["concurrency"].as_u64().is_some_and(|n| n > 0), "{row}");
        if cfg!(target_os = "linux") {
            assert!(row["peak_rss_kib"].as_u64().is_some_and(|k| k > 0), "{row}");
        }
    }
    if cfg!(target_os = "linux") {
        for field in [
            "serve_start_rss_kib",
            "serve_end_rss_kib",
            "serve_peak_rss_kib",
        ] {
            assert!(report[field].as_u64().is_some_and(|k| k > 0), "{field}");
        }
    }
}

#[test]
fn smoke_run_reports_every_workload_with_its_ratio() {
    let dir = scratch();
    let report = smoke(&dir, &[]);
    check_report(&report, "sqlite");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn smoke_run_on_postgres() {
    // `koogate bench` creates (and drops) its own databases on that server.
    let Some(url) = Backend::admin_url("smoke_run_on_postgres") else {
        return;
    };
    let dir = scratch();
    let report = smoke(&dir, &["--database-url", &url]);
    check_report(&report, "postgres");
    std::fs::remove_dir_all(&dir).unwrap();
}
