//! The `koogate sign`, `verify` and `crypto` commands checked against vectors produced by an
//! independent implementation (the JDK oracle under `testdata/oracle/`, see its README), never
//! against our own output. Each case runs the real binary and compares stdout byte for byte.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oracle/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn cases<'a>(v: &'a Value, section: &str) -> &'a Vec<Value> {
    let list = v[section]
        .as_array()
        .unwrap_or_else(|| panic!("section {section} missing"));
    assert!(!list.is_empty(), "section {section} is empty");
    list
}

fn s<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} missing in {case}"))
}

/// A body file that lives as long as the test needs it.
fn body_file(body: &str) -> tempfile_lite::TempFile {
    tempfile_lite::TempFile::with_contents(body.as_bytes())
}

fn koogate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_koogate"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the command and returns stdout, asserting success and a single trailing newline.
fn value(args: &[&str]) -> String {
    let out = koogate(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "koogate {args:?} failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with('\n') && stdout.matches('\n').count() == 1,
        "not one line: {stdout:?}"
    );
    stdout.trim_end_matches('\n').to_owned()
}

#[test]
fn sign_scheme_a_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "scheme_a") {
        let f = body_file(s(case, "body"));
        let got = value(&[
            "sign",
            "scheme-a",
            "--key",
            s(case, "key"),
            "--timestamp",
            s(case, "timestamp"),
            "--nonce",
            s(case, "nonce"),
            "--body-file",
            f.path(),
        ]);
        assert_eq!(got, s(case, "signature"), "case {case}");
    }
}

#[test]
fn sign_body_sign_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "body_sign") {
        let f = body_file(s(case, "body"));
        let got = value(&[
            "sign",
            "body-sign",
            "--key",
            s(case, "key"),
            "--body-file",
            f.path(),
        ]);
        assert_eq!(got, s(case, "signature"), "case {case}");
    }
}

#[test]
fn sign_kit_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "kit") {
        let f = body_file(s(case, "body"));
        let got = value(&[
            "sign",
            "kit",
            "--key",
            s(case, "key"),
            "--timestamp",
            s(case, "timestamp"),
            "--nonce",
            s(case, "nonce"),
            "--body-file",
            f.path(),
        ]);
        assert_eq!(got, s(case, "x_sign"), "case {case}");
    }
}

#[test]
fn sign_v1_auth_token_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "v1_auth_token") {
        // One `--param` per pair: values may contain `&` and `=`.
        let params: Vec<String> = case["params"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[0] != "timeStamp")
            .map(|p| format!("{}={}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        let mut args = vec![
            "sign",
            "v1-auth-token",
            "--key",
            s(case, "key"),
            "--timestamp",
            s(case, "timestamp"),
        ];
        for p in &params {
            args.extend(["--param", p.as_str()]);
        }
        let got = value(&args);
        assert_eq!(got, s(case, "auth_token"), "case {case}");
    }
}

#[test]
fn sign_usage_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "usage") {
        let f = body_file(s(case, "body"));
        let got = value(&[
            "sign",
            "usage",
            "--key",
            s(case, "key"),
            "--ts",
            s(case, "ts"),
            "--nonce",
            s(case, "nonce"),
            "--body-file",
            f.path(),
        ]);
        assert_eq!(got, s(case, "signature"), "case {case}");
    }
}

#[test]
fn sign_apig_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "apig") {
        let f = body_file(s(case, "body"));
        let headers: Vec<String> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}: {}", h[0].as_str().unwrap(), h[1].as_str().unwrap()))
            .collect();
        let mut args = vec![
            "sign",
            "apig",
            "--ak",
            s(case, "ak"),
            "--sk",
            s(case, "sk"),
            "--method",
            s(case, "method"),
            "--url",
            s(case, "url"),
            "--date",
            s(case, "date"),
            "--body-file",
            f.path(),
        ];
        for h in &headers {
            args.extend(["--header", h.as_str()]);
        }
        assert_eq!(value(&args), s(case, "authorization"), "case {case}");
    }
}

#[test]
fn sign_webhook_matches_oracle() {
    let v = vectors();
    for case in cases(&v, "webhook") {
        let f = body_file(s(case, "body"));
        let ts = case["timestamp"]
            .as_i64()
            .map_or_else(|| s(case, "timestamp").to_owned(), |t| t.to_string());
        let got = value(&[
            "sign",
            "webhook",
            "--secret",
            s(case, "secret"),
            "--id",
            s(case, "msg_id"),
            "--timestamp",
            &ts,
            "--body-file",
            f.path(),
        ]);
        assert_eq!(got, s(case, "signature"), "case {case}");
    }
}

#[test]
fn crypto_matches_oracle_both_ways() {
    let v = vectors();
    for case in cases(&v, "credential") {
        let ty = s(case, "encrypt_type");
        let got = value(&[
            "crypto",
            "encrypt",
            "--key",
            s(case, "key"),
            "--type",
            ty,
            "--iv",
            s(case, "iv"),
            s(case, "plaintext"),
        ]);
        assert_eq!(got, s(case, "ciphertext"), "case {case}");
        let plain = value(&[
            "crypto",
            "decrypt",
            "--key",
            s(case, "key"),
            "--type",
            ty,
            s(case, "ciphertext"),
        ]);
        assert_eq!(plain, s(case, "plaintext"), "case {case}");
    }
}

#[test]
fn crypto_encrypt_without_iv_round_trips_with_a_fresh_iv() {
    let a = value(&["crypto", "encrypt", "--key", "k-1", "--type", "2", "管理员"]);
    let b = value(&["crypto", "encrypt", "--key", "k-1", "--type", "2", "管理员"]);
    assert_ne!(a, b, "two encryptions reused an IV");
    assert!(a[..16].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        value(&["crypto", "decrypt", "--key", "k-1", "--type", "2", &a]),
        "管理员"
    );
}

#[test]
fn verify_names_the_failed_check() {
    let v = vectors();
    let case = &cases(&v, "scheme_a")[0];
    let f = body_file(s(case, "body"));
    let ts: i64 = s(case, "timestamp").parse().unwrap();
    let run = |signature: &str, now: i64| {
        koogate(&[
            "verify",
            "scheme-a",
            "--key",
            s(case, "key"),
            "--signature",
            signature,
            "--timestamp",
            s(case, "timestamp"),
            "--nonce",
            s(case, "nonce"),
            "--body-file",
            f.path(),
            "--now",
            &now.to_string(),
        ])
    };
    let lower = s(case, "signature").to_lowercase();
    let ok = run(&lower, ts + 60_000);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let stale = run(&lower, ts + 60_001);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stdout).contains("older"),
        "{stale:?}"
    );

    let future = run(&lower, ts - 60_001);
    assert_eq!(future.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&future.stdout).contains("future"),
        "{future:?}"
    );

    let mut wrong = lower.clone();
    wrong.replace_range(0..1, if wrong.starts_with('0') { "1" } else { "0" });
    let bad = run(&wrong, ts);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("does not match"),
        "{bad:?}"
    );
}

#[test]
fn verify_kit_accepts_oracle_signature() {
    let v = vectors();
    for case in cases(&v, "kit") {
        let f = body_file(s(case, "body"));
        let out = koogate(&[
            "verify",
            "kit",
            "--key",
            s(case, "key"),
            "--signature",
            s(case, "x_sign"),
            "--timestamp",
            s(case, "timestamp"),
            "--nonce",
            s(case, "nonce"),
            "--body-file",
            f.path(),
            "--now",
            s(case, "timestamp"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "case {case}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn errors_go_to_stderr_with_status_2() {
    let out = koogate(&["crypto", "decrypt", "--key", "k", "--type", "1", "short"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());

    let missing = koogate(&[
        "sign",
        "scheme-a",
        "--key",
        "k",
        "--timestamp",
        "1",
        "--nonce",
        "n",
        "--body-file",
        "/nonexistent/body",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/body"));

    let usage = koogate(&["sign", "scheme-a", "--key", "k"]);
    assert_eq!(usage.status.code(), Some(2));

    let bad_iv = koogate(&[
        "crypto",
        "encrypt",
        "--key",
        "k",
        "--iv",
        "not-alnum!!!!!!!",
        "x",
    ]);
    assert_eq!(bad_iv.status.code(), Some(2));
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    let secret = "super-secret-key-value";
    let out = koogate(&[
        "crypto",
        "decrypt",
        "--key",
        secret,
        "--type",
        "1",
        "AAAAAAAAAAAAAAAAnotbase64!!",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(secret), "{all}");
}

/// A minimal temporary file, to avoid a dev-dependency for one helper.
mod tempfile_lite {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    pub struct TempFile(PathBuf, String);

    impl TempFile {
        pub fn with_contents(bytes: &[u8]) -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("koogate-cli-{}-{n}.body", std::process::id()));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(bytes)
                .unwrap();
            let text = path.to_str().unwrap().to_owned();
            Self(path, text)
        }

        pub fn path(&self) -> &str {
            &self.1
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
