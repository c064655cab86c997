//! Operations endpoints: liveness, readiness (with the sandbox flag) and metrics.

use serde_json::Value;

use crate::support::{Backend, TestApp, TestOptions, spawn_app};

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let (status, headers, body) = app.get(path, None).await;
    assert_eq!(headers["content-type"], "application/json");
    (status.as_u16(), serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz() {
    let app = spawn_app(TestOptions::default()).await;
    let (status, body) = get_json(&app, "/healthz").await;
    assert_eq!((status, &body["status"]), (200, &Value::from("ok")));
    let (status, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "sqlite");
    assert_eq!(body["database_ok"], true);
    assert_eq!(body["sandbox"], false);
    assert_eq!(body["mode"], "production");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_announces_sandbox_mode() {
    let app = spawn_app(TestOptions::default().sandbox()).await;
    let (status, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["sandbox"], true);
    assert!(body["mode"].as_str().unwrap().starts_with("SANDBOX"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_the_postgres_backend() {
    let Some(options) = TestOptions::on(Backend::Postgres, "readyz_names_the_postgres_backend")
    else {
        return;
    };
    let app = spawn_app(options).await;
    let (status, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "postgres");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_without_a_recorder_is_an_empty_200() {
    let app = spawn_app(TestOptions::default()).await;
    let (status, headers, body) = app.get("/metrics", None).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(body.is_empty(), "{}", String::from_utf8_lossy(&body));
}
