//! `koogate serve` over HTTPS: with `tls_cert` and `tls_key` configured, the app speaks TLS on
//! the socket it is given, and a bad certificate or key stops start-up with the file named.
//!
//! The certificate is the committed TEST-ONLY pair in `testdata/tls/` (see its README), so the
//! test needs no certificate generator.

// Helpers outside `#[test]` functions unwrap too; a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::{Config, Secret};
use koogate_gateway::secret_box::SecretBox;

fn testdata_tls() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tls")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("koogate-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything `App::build` needs, with the given certificate and key. The open API points at a
/// closed port: these tests never query an order.
fn config(data_dir: &Path, cert: PathBuf, key: PathBuf) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        access_key: Some(Secret::new("tls-test-access-key")),
        api_token: Some(Secret::new("tls-test-api-token")),
        master_key: Some(Secret::new(SecretBox::generate_key())),
        hook_secret: Some(Secret::new("whsec_dGxzLXRlc3Q=")),
        openapi_url: Some("http://127.0.0.1:9".to_owned()),
        ak: Some("TLSTESTAK".to_owned()),
        sk: Some(Secret::new("tls-test-sk")),
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..Config::default()
    }
}

fn options() -> Options {
    Options {
        clock: Arc::new(SystemClock),
        metrics: None,
        sandbox: false,
        marketplace: None,
    }
}

fn client() -> reqwest::Client {
    koogate_gateway::tls::install_default_crypto_provider();
    let pem = std::fs::read(testdata_tls().join("test-cert.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate_and_shuts_down_gracefully() {
    let dir = TempDir::new();
    let config = config(
        &dir.0,
        testdata_tls().join("test-cert.pem"),
        testdata_tls().join("test-key.pem"),
    );
    let app = App::build(&config, options()).await.unwrap();
    assert!(app.tls());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stop_rx.await;
    }));

    let client = client();
    // The certificate names both `localhost` and 127.0.0.1.
    for host in ["localhost", "127.0.0.1"] {
        let response = client
            .get(format!("https://{host}:{port}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
    let ready: serde_json::Value = client
        .get(format!("https://localhost:{port}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database_ok"], true, "{ready}");

    // A production-interface call with no signature still gets the protocol's signed answer.
    let response = client
        .post(format!("https://localhost:{port}/produce"))
        .header("content-type", "application/json")
        .body(r#"{"activity":"queryInstance","instanceId":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("body-sign"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["resultCode"], "000001");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");

    // A client that does not trust the test certificate refuses the connection.
    let untrusting = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await;
    assert!(untrusting.is_err(), "self-signed certificate was trusted");

    // The server is still healthy after those failed handshakes.
    let response = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown within 10 s")
        .unwrap()
        .unwrap();
}

/// A silent client (TCP connected, no ClientHello) must not block other handshakes.
#[tokio::test]
async fn a_stalled_handshake_does_not_block_other_clients() {
    let dir = TempDir::new();
    let config = config(
        &dir.0,
        testdata_tls().join("test-cert.pem"),
        testdata_tls().join("test-key.pem"),
    );
    let app = App::build(&config, options()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stop_rx.await;
    }));
    let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let response = client()
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown within 10 s")
        .unwrap()
        .unwrap();
}

async fn build_error(cert: PathBuf, key: PathBuf) -> String {
    let dir = TempDir::new();
    let err = App::build(&config(&dir.0, cert, key), options())
        .await
        .unwrap_err();
    format!("{err:#}")
}

#[tokio::test]
async fn a_missing_key_file_stops_start_up_naming_the_file() {
    let missing = testdata_tls().join("no-such-key.pem");
    let message = build_error(testdata_tls().join("test-cert.pem"), missing.clone()).await;
    assert!(message.contains("TLS private key"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_certificate_file_stops_start_up_naming_the_file() {
    let missing = testdata_tls().join("no-such-cert.pem");
    let message = build_error(missing.clone(), testdata_tls().join("test-key.pem")).await;
    assert!(message.contains("TLS certificate"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn an_invalid_key_is_reported_without_its_content() {
    let dir = TempDir::new();
    let key = dir.0.join("broken-key.pem");
    let secret = "VERYSECRETKEYMATERIAL";
    std::fs::write(
        &key,
        format!("-----BEGIN PRIVATE KEY-----\n{secret}!!\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let message = build_error(testdata_tls().join("test-cert.pem"), key.clone()).await;
    assert!(message.contains(&key.display().to_string()), "{message}");
    assert!(!message.contains(secret), "{message}");

    // A certificate where the key should be: no private key in it.
    let message = build_error(
        testdata_tls().join("test-cert.pem"),
        testdata_tls().join("test-cert.pem"),
    )
    .await;
    assert!(message.contains("TLS private key"), "{message}");
}

#[tokio::test]
async fn an_empty_certificate_file_is_refused() {
    let dir = TempDir::new();
    let empty = dir.0.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let message = build_error(empty.clone(), testdata_tls().join("test-key.pem")).await;
    assert!(message.contains("TLS certificate"), "{message}");
    assert!(message.contains(&empty.display().to_string()), "{message}");
}
