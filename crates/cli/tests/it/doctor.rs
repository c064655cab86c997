//! `koogate doctor` and `koogate default-config`, run as the real binary in a temporary
//! directory with only the `KOOGATE_*` variables each test sets.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use koogate_protocol::AccessKey;

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(path)
}

/// A fresh working directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let n = RandomState::new().build_hasher().finish();
        let path =
            std::env::temp_dir().join(format!("koogate-doctor-{}-{n:016x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The line of one check with one status, e.g. `("fail", "tls")`.
    fn line(&self, status: &str, check: &str) -> Option<&str> {
        self.stdout.lines().find(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some(status) && words.next() == Some(check)
        })
    }

    fn assert_line(&self, status: &str, check: &str) -> &str {
        self.line(status, check)
            .unwrap_or_else(|| panic!("no `{status} {check}` line in:\n{}", self.all()))
    }
}

/// Runs `koogate ARGS` in `dir` with exactly `vars` as its `KOOGATE_*` environment.
fn koogate(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koogate"));
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("KOOGATE_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().copied());
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn doctor(dir: &Path, vars: &[(&str, &str)]) -> Run {
    koogate(dir, &["doctor"], vars)
}

/// A loopback URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
}

#[test]
fn zero_configuration_passes_in_sandbox_mode_and_creates_nothing() {
    let dir = TempDir::new();
    let run = doctor(&dir.0, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.assert_line("warn", "mode").contains("SANDBOX"));
    assert!(run.stdout.to_lowercase().contains("sandbox"));
    for check in ["config", "secrets", "master-key", "data-dir", "database"] {
        run.assert_line("ok", check);
    }
    assert!(
        run.assert_line("ok", "secrets")
            .contains("would be generated")
    );
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("fail")),
        "{}",
        run.all()
    );
    // Doctor reports what serve would create; it creates none of it.
    assert!(!dir.0.join("koogate-data").exists());
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn categories_sharing_a_key_are_warned_about() {
    let dir = TempDir::new();
    let shared = doctor(&dir.0, &[]);
    assert_eq!(shared.code, 0, "{}", shared.all());
    let line = shared.assert_line("warn", "key-categories");
    assert!(
        line.contains("basic, license-code, generic (orderNotify), Kit share one access key"),
        "{line}"
    );
    let partly = doctor(
        &dir.0,
        &[
            ("KOOGATE_ACCESS_KEY", "doctor-basic-key"),
            ("KOOGATE_LICENSE_ACCESS_KEY", "doctor-license-key"),
            ("KOOGATE_NOTIFY_ACCESS_KEY", "doctor-basic-key"),
            ("KOOGATE_KIT_ACCESS_KEY", "doctor-kit-key"),
        ],
    );
    let line = partly.assert_line("warn", "key-categories");
    assert!(
        line.contains("basic, generic (orderNotify) share"),
        "{line}"
    );
    assert!(!partly.all().contains("doctor-basic-key"));
    let distinct = doctor(
        &dir.0,
        &[
            ("KOOGATE_ACCESS_KEY", "doctor-basic-key"),
            ("KOOGATE_LICENSE_ACCESS_KEY", "doctor-license-key"),
            ("KOOGATE_NOTIFY_ACCESS_KEY", "doctor-notify-key"),
            ("KOOGATE_KIT_ACCESS_KEY", "doctor-kit-key"),
        ],
    );
    distinct.assert_line("ok", "key-categories");
    assert!(distinct.line("warn", "key-categories").is_none());
}

#[test]
fn an_invalid_variable_fails_naming_it() {
    let dir = TempDir::new();
    let run = doctor(&dir.0, &[("KOOGATE_ENCRYPT_TYPE", "7")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.assert_line("fail", "config")
            .contains("KOOGATE_ENCRYPT_TYPE"),
        "{}",
        run.all()
    );
}

#[test]
fn an_unknown_variable_is_a_warning_naming_it() {
    let dir = TempDir::new();
    let run = doctor(&dir.0, &[("KOOGATE_LISTN", "127.0.0.1:1")]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.assert_line("warn", "config").contains("KOOGATE_LISTN"));
}

#[test]
fn secrets_are_never_printed() {
    let dir = TempDir::new();
    let (access_key, token, password) = ("ak-SECRET-1111", "token-SECRET-2222", "pw-SECRET-3333");
    let database_url = format!(
        "postgres://koogate:{password}@{}/koogate",
        closed_port_url().trim_start_matches("http://")
    );
    let run = doctor(
        &dir.0,
        &[
            ("KOOGATE_ACCESS_KEY", access_key),
            ("KOOGATE_API_TOKEN", token),
            ("KOOGATE_DATABASE_URL", &database_url),
            ("KOOGATE_SK", "sk-SECRET-4444"),
            ("KOOGATE_AK", "AKEXAMPLE"),
            ("KOOGATE_OPENAPI_URL", &closed_port_url()),
        ],
    );
    // The database cannot be reached: a failure, reported without the password.
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_line("fail", "database");
    assert!(
        run.assert_line("ok", "secrets")
            .contains("configured: access_key, api_token")
    );
    assert!(!run.all().contains("SECRET"), "{}", run.all());
}

#[test]
fn an_invalid_master_key_fails_without_showing_it() {
    let dir = TempDir::new();
    let run = doctor(&dir.0, &[("KOOGATE_MASTER_KEY", "not-a-hex-MASTERKEY")]);
    assert_eq!(run.code, 1, "{}", run.all());
    let line = run.assert_line("fail", "master-key");
    assert!(line.contains("KOOGATE_MASTER_KEY"), "{line}");
    assert!(!run.all().contains("MASTERKEY"), "{}", run.all());
}

#[test]
fn an_existing_database_is_opened_and_migrated() {
    let dir = TempDir::new();
    let db = dir.0.join("existing.db");
    std::fs::write(&db, b"").unwrap();
    let url = format!("sqlite://{}", db.display());
    let run = doctor(&dir.0, &[("KOOGATE_DATABASE_URL", &url)]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.assert_line("ok", "database")
            .contains("migrations applied"),
        "{}",
        run.all()
    );
}

#[test]
fn tls_certificate_and_key_are_loaded() {
    let dir = TempDir::new();
    let cert = testdata("tls/test-cert.pem");
    let key = testdata("tls/test-key.pem");
    let run = doctor(
        &dir.0,
        &[
            ("KOOGATE_TLS_CERT", cert.to_str().unwrap()),
            ("KOOGATE_TLS_KEY", key.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.assert_line("ok", "tls").contains("HTTPS"));

    let missing = testdata("tls/missing-key.pem");
    let run = doctor(
        &dir.0,
        &[
            ("KOOGATE_TLS_CERT", cert.to_str().unwrap()),
            ("KOOGATE_TLS_KEY", missing.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.assert_line("fail", "tls")
            .contains(missing.to_str().unwrap())
    );
}

#[test]
fn an_unreachable_hook_is_a_warning() {
    let dir = TempDir::new();
    let hook = format!("{}/hook?token=HOOKTOKEN", closed_port_url());
    let run = doctor(&dir.0, &[("KOOGATE_HOOK_URL", &hook)]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.assert_line("warn", "hook").contains("unreachable"));
    assert!(!run.all().contains("HOOKTOKEN"), "{}", run.all());
}

/// Real credentials against the simulator's open API: a signed order query is answered; a wrong
/// SK is a warning, not a failure (KooGallery may be down while the gateway is fine).
#[tokio::test(flavor = "multi_thread")]
async fn open_api_credentials_are_tried_with_a_signed_order_query() {
    let sk = "doctor-test-sk-000000000000000000000000";
    let sim = koogate_sim::openapi::start(
        koogate_sim::openapi::OpenApiConfig::default().keys("DOCTORTESTAK", AccessKey::new(sk)),
    )
    .await
    .unwrap();
    let url = sim.base_url.clone();
    let run_with = |sk: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let dir = TempDir::new();
            doctor(
                &dir.0,
                &[
                    ("KOOGATE_OPENAPI_URL", &url),
                    ("KOOGATE_AK", "DOCTORTESTAK"),
                    ("KOOGATE_SK", sk),
                    ("KOOGATE_ACCESS_KEY", "doctor-test-access-key"),
                    // Any HTTP answer counts as reachable: the simulator answers 404 here.
                    ("KOOGATE_HOOK_URL", &format!("{url}/hook")),
                ],
            )
        })
    };
    let run = run_with(sk).await.unwrap();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.assert_line("ok", "mode").contains("production"));
    assert!(
        run.assert_line("ok", "open-api")
            .contains("MOCKPERIODYEARNEW")
    );
    run.assert_line("ok", "hook");
    // Production without TLS: a warning.
    run.assert_line("warn", "tls");

    let run = run_with("wrong-sk-000000000000000000000000000000")
        .await
        .unwrap();
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_line("warn", "open-api");
    assert!(!run.all().contains("wrong-sk"), "{}", run.all());
}

#[test]
fn default_config_prints_a_file_that_doctor_accepts() {
    let dir = TempDir::new();
    let run = koogate(&dir.0, &["default-config"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("KOOGATE_ENCRYPT_TYPE"));
    assert!(run.stdout.contains("encrypt_type = \"1\""));
    let file = dir.0.join("koogate.toml");
    std::fs::write(&file, &run.stdout).unwrap();
    let run = koogate(&dir.0, &["doctor", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.assert_line("ok", "config")
            .contains(file.to_str().unwrap())
    );

    let run = koogate(&dir.0, &["default-config", "--markdown"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.starts_with("| Variable |"), "{}", run.stdout);
}
