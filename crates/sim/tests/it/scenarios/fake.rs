//! Small fake production interfaces for engine behaviours the real gateway never shows. They
//! do not check signatures: only the engine's side is under test here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use koogate_protocol::AccessKey;
use koogate_sim::handle::{Sim, SimConfig, SimHandle};
use koogate_sim::openapi::OpenApiConfig;
use koogate_sim::scenario::{EngineOptions, SimClock};
use serde_json::{Value, json};

use super::harness::start_time;

pub const INSTANCE_ID: &str = "i-async-0001";

#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// `newInstance` answers `000004`; `queryInstance` shows app info from the n-th poll.
    AsyncReadyAfter(u32),
    /// Every call answers this `resultCode`.
    Refuse(&'static str),
    /// Every call answers `000000`, after this long.
    Slow(std::time::Duration),
    /// Every call answers `000000` (`newInstance` with [`INSTANCE_ID`]); it never calls the
    /// open API, so a license asked for with `getLicenseAsync` is never uploaded.
    NeverUploads,
}

#[derive(Debug, Clone)]
struct FakeState {
    behaviour: Behaviour,
    polls: Arc<AtomicU32>,
}

pub struct Target {
    pub url: String,
}

impl Target {
    pub async fn start(behaviour: Behaviour) -> Self {
        let state = FakeState {
            behaviour,
            polls: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/produce", post(answer))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/produce", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url }
    }
}

async fn answer(State(state): State<FakeState>, body: Bytes) -> Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap();
    let activity = body["activity"].as_str().unwrap_or_default();
    if let Behaviour::Slow(delay) = state.behaviour {
        tokio::time::sleep(delay).await;
    }
    Json(match (state.behaviour, activity) {
        (Behaviour::Refuse(code), _) => json!({"resultCode": code, "resultMsg": "refused"}),
        (Behaviour::NeverUploads, "newInstance") => {
            json!({"resultCode": "000000", "resultMsg": "success.", "instanceId": INSTANCE_ID})
        }
        (Behaviour::AsyncReadyAfter(_), "newInstance") => {
            json!({"resultCode": "000004", "resultMsg": "in progress", "instanceId": INSTANCE_ID})
        }
        (Behaviour::AsyncReadyAfter(n), "queryInstance") => {
            let poll = state.polls.fetch_add(1, Ordering::SeqCst) + 1;
            let mut info = json!({"instanceId": INSTANCE_ID});
            if poll >= n {
                info["appInfo"] = json!({"frontEndUrl": "https://app.example.com/i"});
            }
            json!({"resultCode": "000000", "resultMsg": "success.", "info": [info]})
        }
        _ => json!({"resultCode": "000000", "resultMsg": "success."}),
    })
}

/// A simulator aimed at `target`, its virtual clock starting at [`start_time`].
pub async fn sim(target: &Target, options: EngineOptions) -> SimHandle {
    Sim::start(SimConfig {
        target: koogate_sim::scenario::Target {
            url: target.url.clone(),
            key: AccessKey::new("fake-target-key"),
        },
        clock: SimClock::new(start_time()),
        options,
        openapi: OpenApiConfig::default(),
    })
    .await
    .unwrap()
}
