//! `koogate serve` and `koogate sim` as two processes, paired the way the README tells a new
//! user to (two commands in two terminals, no value copied between them), over real HTTP on
//! free ports: every flow passes. Also what a wrong pairing prints, and each interface
//! category signed with its own key (spec saas-v2 §2.1, license-kit-openapi §1.2).

#![allow(clippy::unwrap_used)]

use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let n = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let path =
            std::env::temp_dir().join(format!("koogate-pairing-{}-{n:016x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `koogate` command in `dir` whose only `KOOGATE_*` variables are `vars`.
fn koogate(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koogate"));
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("KOOGATE_") {
            command.env_remove(name);
        }
    }
    command
        .env("KOOGATE_LOG", "warn")
        .envs(vars.iter().copied());
    command
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A running `koogate serve`, stopped (by its own pid) when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Self {
        let addr = free_addr();
        let listen = addr.to_string();
        let mut all = vec![("KOOGATE_LISTEN", listen.as_str())];
        all.extend_from_slice(vars);
        let mut serve_args = vec!["serve"];
        serve_args.extend_from_slice(args);
        let mut child = koogate(dir, &serve_args, &all)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "koogate serve exited early"
            );
            assert!(Instant::now() < deadline, "koogate serve did not listen");
            #[allow(clippy::disallowed_methods)] // a plain test thread: no runtime to block
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }

    fn target(&self) -> String {
        format!("http://{}/produce", self.addr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut command: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[test]
fn the_readme_pairing_fulfils_every_flow() {
    let dir = TempDir::new();
    // Terminal 1: `koogate serve --follow-sim` (here on free ports instead of 8080 and 9090).
    let sim_addr = free_addr();
    let sim_url = format!("http://{sim_addr}");
    let serve = Serve::start(&dir.0, &["--follow-sim", &sim_url], &[]);
    // Terminal 2, in the same directory: `koogate sim --target …/produce`, no key given.
    let listen = sim_addr.to_string();
    let sim = run(koogate(
        &dir.0,
        &["sim", "--target", &serve.target(), "--listen", &listen],
        &[],
    ));
    assert_eq!(sim.code, Some(0), "{}\n{}", sim.stdout, sim.stderr);
    assert!(
        sim.stdout
            .contains("using the access key `koogate serve` generated in"),
        "{}",
        sim.stdout
    );
    assert!(
        sim.stdout.contains(&format!(
            "{n} of {n} flows fulfilled",
            n = koogate_sim::scenario::flows::NAMES.len()
        )),
        "{}",
        sim.stdout
    );
    assert!(!sim.stdout.contains("every purchase failed"));
    // The generated access key is read, never printed.
    let secrets = std::fs::read_to_string(dir.0.join("koogate-data/secrets.toml")).unwrap();
    let access_key = secrets
        .lines()
        .find_map(|l| l.strip_prefix("access_key = "))
        .unwrap()
        .trim_matches('"');
    assert!(!sim.stdout.contains(access_key));
}

#[test]
fn a_gateway_asking_its_own_sandbox_is_diagnosed_with_the_fix() {
    let dir = TempDir::new();
    // `koogate serve` without --follow-sim: the sim's orders are not in its embedded sandbox.
    let serve = Serve::start(&dir.0, &[], &[]);
    let listen = free_addr().to_string();
    let sim = run(koogate(
        &dir.0,
        &["sim", "--target", &serve.target(), "--listen", &listen],
        &[],
    ));
    assert_eq!(sim.code, Some(1), "{}\n{}", sim.stdout, sim.stderr);
    assert!(
        sim.stdout
            .contains("every purchase failed the same way: 000005"),
        "{}",
        sim.stdout
    );
    assert!(
        sim.stdout
            .contains(&format!("fix: restart the gateway following this simulator: koogate serve --follow-sim http://{listen}")),
        "{}",
        sim.stdout
    );
}

#[test]
fn a_wrong_key_is_diagnosed_and_a_missing_one_is_a_usage_error() {
    let dir = TempDir::new();
    let listen = free_addr().to_string();
    let no_key = run(koogate(
        &dir.0,
        &[
            "sim",
            "--target",
            "http://127.0.0.1:1/produce",
            "--listen",
            &listen,
        ],
        &[],
    ));
    assert_eq!(no_key.code, Some(2), "{}", no_key.stderr);
    assert!(no_key.stderr.contains("no --key"), "{}", no_key.stderr);
    let sim_url = format!("http://{listen}");
    let serve = Serve::start(&dir.0, &["--follow-sim", &sim_url], &[]);
    let sim = run(koogate(
        &dir.0,
        &[
            "sim",
            "--target",
            &serve.target(),
            "--listen",
            &listen,
            "--key",
            "not-the-gateway-key",
            "--flow",
            "new-period",
            "--flow",
            "trial",
        ],
        &[],
    ));
    assert_eq!(sim.code, Some(1), "{}\n{}", sim.stdout, sim.stderr);
    assert!(
        sim.stdout
            .contains("every purchase failed the same way: 000001"),
        "{}",
        sim.stdout
    );
}

#[test]
fn follow_sim_is_refused_once_real_open_api_credentials_are_set() {
    let dir = TempDir::new();
    let out = run(koogate(
        &dir.0,
        &["serve", "--follow-sim"],
        &[
            ("KOOGATE_LISTEN", "127.0.0.1:0"),
            ("KOOGATE_OPENAPI_URL", "https://mkt.example.com"),
            ("KOOGATE_AK", "real-ak"),
            ("KOOGATE_SK", "real-sk"),
        ],
    ));
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("--follow-sim"), "{}", out.stderr);
}

#[test]
fn each_category_is_signed_with_its_own_key() {
    let dir = TempDir::new();
    let sim_addr = free_addr();
    let sim_url = format!("http://{sim_addr}");
    let keys = [
        ("KOOGATE_ACCESS_KEY", "pairing-basic-key"),
        ("KOOGATE_LICENSE_ACCESS_KEY", "pairing-license-key"),
        ("KOOGATE_NOTIFY_ACCESS_KEY", "pairing-notify-key"),
        ("KOOGATE_KIT_ACCESS_KEY", "pairing-kit-key"),
    ];
    let serve = Serve::start(&dir.0, &["--follow-sim", &sim_url], &keys);
    let listen = sim_addr.to_string();
    let target = serve.target();
    let flows = [
        "--flow",
        "new-period",
        "--flow",
        "license-code",
        "--flow",
        "order-notify",
    ];
    let sim = |extra: &[&str], json: &Path| {
        let json = json.to_str().unwrap().to_owned();
        let mut args = vec![
            "sim", "--target", &target, "--listen", &listen, "--json", &json,
        ];
        args.extend_from_slice(&flows);
        args.extend_from_slice(extra);
        let out = run(koogate(&dir.0, &args, &[]));
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (out, record)
    };
    let (all_keys, _) = sim(
        &[
            "--key",
            "pairing-basic-key",
            "--license-key",
            "pairing-license-key",
            "--notify-key",
            "pairing-notify-key",
        ],
        &dir.0.join("three.json"),
    );
    assert_eq!(all_keys.code, Some(0), "{}", all_keys.stdout);
    assert!(all_keys.stdout.contains("3 of 3 flows fulfilled"));
    for (_, key) in keys {
        assert!(!all_keys.stdout.contains(key));
    }

    let (basic_only, record) = sim(&["--key", "pairing-basic-key"], &dir.0.join("one.json"));
    assert_eq!(basic_only.code, Some(1), "{}", basic_only.stdout);
    assert!(basic_only.stdout.contains("1 of 3 flows fulfilled"));
    // The purchase passed, so no pairing diagnosis: only the other categories are wrong.
    assert!(!basic_only.stdout.contains("every purchase failed"));
    let codes = |activities: &[&str]| -> Vec<String> {
        record["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| activities.contains(&e["activity"].as_str().unwrap()))
            .map(|e| {
                e["response"]["result_code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    let refused = codes(&["refreshLicenseCode", "orderNotify"]);
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|c| c == "000001"), "{refused:?}");
    let accepted = codes(&["newInstance"]);
    assert!(accepted.iter().all(|c| c == "000000"), "{accepted:?}");
}
