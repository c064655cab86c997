//! Starting targets and sandboxes for the conformance tests.

use std::sync::Arc;
use std::time::Duration;

use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::{Config, Secret};
use koogate_gateway::secret_box::SecretBox;
use koogate_protocol::AccessKey;
use koogate_sim::conform::ConformConfig;
use koogate_sim::openapi::{self, OpenApiConfig, OpenApiHandle};

use super::reference::KEY;

pub async fn sandbox() -> OpenApiHandle {
    openapi::start(OpenApiConfig::default()).await.unwrap()
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/produce")
}

pub fn config(url: &str, budget: Duration) -> ConformConfig {
    let mut config = ConformConfig::new(url, AccessKey::new(KEY));
    config.budget = budget;
    config
}

/// A temp SQLite file, removed (with its WAL companions) on drop.
pub struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

pub async fn koogate(sandbox: &OpenApiHandle) -> (String, TempDb) {
    koogate_with(sandbox, |_| {}).await
}

/// As [`koogate`], with `configure` adjusting the gateway's config first.
pub async fn koogate_with(
    sandbox: &OpenApiHandle,
    configure: impl FnOnce(&mut Config),
) -> (String, TempDb) {
    let name = format!("koogate-conform-{}.db", uuid::Uuid::new_v4().simple());
    let db = TempDb(std::env::temp_dir().join(name));
    let mut config = Config {
        data_dir: std::env::temp_dir(),
        database_url: Some(Secret::new(format!("sqlite://{}", db.0.display()))),
        access_key: Some(Secret::new(KEY)),
        api_token: Some(Secret::new("conform-test-token")),
        master_key: Some(Secret::new(SecretBox::generate_key())),
        hook_secret: Some(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
        openapi_url: Some(sandbox.base_url.clone()),
        ak: Some(sandbox.ak.clone()),
        sk: Some(Secret::new(sandbox.sk.expose())),
        ..Config::default()
    };
    configure(&mut config);
    let options = Options {
        clock: Arc::new(SystemClock),
        metrics: None,
        sandbox: false,
        marketplace: None,
    };
    let app = App::build(&config, options).await.unwrap();
    (serve(app.router()).await, db)
}

/// Tags open and close in order (a minimal well-formedness check without an XML parser).
pub fn assert_well_nested(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').unwrap();
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        match tag.strip_prefix('/') {
            Some(name) => assert_eq!(stack.pop().as_deref(), Some(name)),
            None => stack.push(tag.split_whitespace().next().unwrap().to_owned()),
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}
