//! `koogate sim` as a process: flow listing, usage errors, and a run against a target that is
//! down (every attempt of KooGallery's schedule fails in virtual time, so this takes no real
//! time), with its exit status and JSON record. Runs against the real gateway are covered
//! in-process by `crates/sim/tests/it/scenarios.rs`.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const KEY: &str = "sim-cmd-test-key-never-printed";

fn koogate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_koogate"))
        .args(args)
        .env("KOOGATE_LOG", "warn")
        .env_remove("KOOGATE_ACCESS_KEY")
        .output()
        .unwrap()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/produce")
}

#[test]
fn lists_every_flow() {
    let out = koogate(&["sim", "--list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["new-period", "upgrade", "online-license", "license-code"] {
        assert!(text.contains(name), "{text}");
    }
    assert_eq!(text.lines().count(), 16);
}

#[test]
fn usage_errors_exit_2() {
    let url = closed_port_url();
    let unknown = koogate(&["sim", "--target", &url, "--key", KEY, "--flow", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown flow"));
    let no_target = koogate(&["sim", "--key", KEY]);
    assert_eq!(no_target.status.code(), Some(2));
}

#[test]
fn a_down_target_fails_the_flow_with_exit_1_and_a_record() {
    let json = std::env::temp_dir().join(format!("sim-cmd-{}.json", std::process::id()));
    let url = closed_port_url();
    let json_arg = json.to_str().unwrap();
    let out = koogate(&[
        "sim",
        "--target",
        &url,
        "--key",
        KEY,
        "--listen",
        "127.0.0.1:0",
        "--flow",
        "new-period",
        "--json",
        json_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("T+ 3:00:00"), "{stdout}");
    assert!(stdout.contains("order refunded"), "{stdout}");
    // Every purchase ended unanswered: the summary says so and what to start.
    assert!(
        stdout.contains("every purchase failed the same way: no answer"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("nothing answers at {url}")),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(record["exchanges"].as_array().unwrap().len(), 4);
    assert_eq!(record["messages"][0]["status"], "refunded");
    assert_eq!(record["orders"][0]["status"], "refunded");
    assert!(!record.to_string().contains(KEY));
}
