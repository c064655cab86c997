//! Starting targets and sandboxes for the conformance tests.

use std::sync::Arc;
use std::time::Duration;

use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::Config;
use koogate_protocol::AccessKey;
use koogate_sim::conform::ConformConfig;
use koogate_sim::openapi::{self, OpenApiConfig, OpenApiHandle};
use koogate_testkit::{Backend, TestDb, gateway_config};

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

pub async fn koogate(sandbox: &OpenApiHandle) -> (String, TestDb) {
    koogate_with(sandbox, |_| {}).await
}

/// As [`koogate`], with `configure` adjusting the gateway's config first.
pub async fn koogate_with(
    sandbox: &OpenApiHandle,
    configure: impl FnOnce(&mut Config),
) -> (String, TestDb) {
    let db = TestDb::create(Backend::Sqlite).await;
    let mut config = gateway_config(db.url(), KEY, "conform-test-token", sandbox);
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
