//! `koogate serve` as a process, for what only a real process shows:
//!
//! - the slow-client outage of issue 13: `serve` runs with an open-file limit of 256 (the issue
//!   saw it with the common 1,024; lower is quicker to fill), an attacker on 127.0.0.2 opens 400
//!   connections that each send half a request head and stop, and KooGallery's signed call from
//!   127.0.0.1 must still be answered at once. Before the connection gate, `accept` failed with
//!   "Too many open files" and the call timed out. Needs `prlimit` (util-linux); without it the
//!   test says SKIPPED and passes.
//! - nonces are written without a disk flush of their own (`Store::remember_nonce`), which is
//!   safe only if they survive a crash of koogate: a call is answered, koogate is killed with
//!   SIGKILL and restarted, and the same signed request, still inside the 60 s window, must be
//!   refused as a replay. On SQLite, and on PostgreSQL when `KOOGATE_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use koogate_protocol::AccessKey;
use koogate_protocol::signing::scheme_a;
use koogate_testkit::{Backend, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const KEY: &str = "slow-clients-test-key";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `request` from 127.0.0.1 and reads the whole answer (the request asks to close).
async fn exchange(addr: SocketAddr, request: Vec<u8>) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(&request).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    Some(String::from_utf8_lossy(&raw).into_owned())
}

// The server reads the real clock, so the request must carry the real time.
#[allow(clippy::disallowed_methods)]
fn signed_query_instance() -> Vec<u8> {
    let body = br#"{"activity":"queryInstance","instanceId":"nobody"}"#;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let signature = scheme_a::sign(&AccessKey::new(KEY), &timestamp, &nonce, body);
    let mut request = format!(
        "POST /produce?signature={signature}&timestamp={timestamp}&nonce={nonce} HTTP/1.1\r\n\
         Host: koogate\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Starts `koogate serve` (behind `prefix`, e.g. `prlimit`) on `addr` with `dir` as its data
/// directory and waits until `/healthz` answers.
async fn start(
    prefix: &[&str],
    addr: SocketAddr,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    log_path: &std::path::Path,
) -> Server {
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(env!("CARGO_BIN_EXE_koogate"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_koogate")),
    };
    command
        .arg("serve")
        .env("KOOGATE_DATA_DIR", dir)
        .env("KOOGATE_LISTEN", addr.to_string())
        .env("KOOGATE_ACCESS_KEY", KEY)
        .env("KOOGATE_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_path)
                .unwrap(),
        );
    let server = Server(command.spawn().unwrap());
    let health = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec();
    let started = Instant::now();
    while !exchange(addr, health.clone())
        .await
        .is_some_and(|t| t.starts_with("HTTP/1.1 200"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "koogate serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_from_one_peer_cannot_stop_production_calls() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: half_sent_heads_from_one_peer_cannot_stop_production_calls: no prlimit"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("koogate-slow-{}", std::process::id()));
    let log_path = dir.with_extension("log");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _server = start(
        &["prlimit", "--nofile=256:256", "--"],
        addr,
        &dir,
        &[("KOOGATE_HEADER_TIMEOUT_SECS", "60")],
        &log_path,
    )
    .await;

    // 400 half-sent heads from another address, held open (the header timeout is 60 s).
    let mut held = Vec::new();
    for _ in 0..400 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 2], 0))).unwrap();
        // A server that stopped accepting leaves connects hanging in the backlog: bounded.
        let connected = tokio::time::timeout(Duration::from_secs(1), socket.connect(addr)).await;
        if let Ok(Ok(mut stream)) = connected {
            let _ = stream.write_all(b"POST /produce HTTP/1.1\r\nHost: k").await;
            held.push(stream);
        }
    }
    // KooGallery's call is answered at once, while every one of them is held.
    let asked = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        exchange(addr, signed_query_instance()),
    )
    .await;
    let took = asked.elapsed();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let text = answer
        .unwrap_or_else(|_| panic!("no answer within 10 s; server log:\n{log}"))
        .unwrap();
    eprintln!(
        "answered in {} ms with 400 slow connections held",
        took.as_millis()
    );
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""resultCode":"000003""#), "{text}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(!log.contains("Too many open files"), "{log}");
    drop(held);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_kill_9_is_still_refused_sqlite() {
    replay_after_kill_9(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_kill_9_is_still_refused_postgres() {
    let test = "a_replay_after_kill_9_is_still_refused_postgres";
    let Some(backend) = Backend::Postgres.available(test) else {
        return;
    };
    let db = TestDb::create(backend).await;
    replay_after_kill_9(Some(db.url().to_owned())).await;
}

async fn replay_after_kill_9(database_url: Option<String>) {
    let dir =
        std::env::temp_dir().join(format!("koogate-replay-{}", uuid::Uuid::new_v4().simple()));
    let log_path = dir.with_extension("log");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let env: Vec<(&str, &str)> = database_url
        .as_deref()
        .map(|url| vec![("KOOGATE_DATABASE_URL", url)])
        .unwrap_or_default();
    let request = signed_query_instance();
    let mut server = start(&[], addr, &dir, &env, &log_path).await;
    let first = exchange(addr, request.clone()).await.unwrap();
    assert!(first.contains(r#""resultCode":"000003""#), "{first}");
    // SIGKILL right after the answer: nothing is flushed on the way out.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let _server = start(&[], addr, &dir, &env, &log_path).await;
    let replay = exchange(addr, request).await.unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        replay.contains(r#""resultCode":"000001""#),
        "the replay was not refused: {replay}\n{log}"
    );
    // A fresh call is answered as usual.
    let fresh = exchange(addr, signed_query_instance()).await.unwrap();
    assert!(fresh.contains(r#""resultCode":"000003""#), "{fresh}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log_path);
}
