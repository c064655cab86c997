//! The simplest correct production interface, written from the spec alone (in-memory state,
//! no order queries), and its broken variants: each [`Flaw`] breaks exactly one rule.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use koogate_protocol::AccessKey;
use koogate_protocol::signing::{body_sign, scheme_a};
use koogate_sim::produce_client::Clock;
use serde_json::{Value, json};

pub const KEY: &str = "conform-test-access-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// Creates a new instance on every newInstance, even for the same order.
    NewIdEachTime,
    NoBodySign,
    /// Signs something other than the body it sends.
    WrongBodySign,
    /// Checks that the parameters are there and fresh, never the signature itself.
    AcceptsBadSignature,
    /// Accepts any timestamp.
    AcceptsStaleTimestamp,
    /// Keeps no nonces.
    AcceptsReplayedNonce,
    Http500,
    TextPlain,
    Slow(Duration),
}

#[derive(Debug, Default)]
struct Store {
    nonces: HashSet<String>,
    /// instanceId → released?
    instances: HashMap<String, bool>,
    /// `orderId:orderLineId` → instanceId
    orders: HashMap<String, String>,
}

#[derive(Clone)]
struct Target {
    flaw: Flaw,
    key: AccessKey,
    store: Arc<Mutex<Store>>,
}

pub fn router(flaw: Flaw) -> Router {
    let target = Target {
        flaw,
        key: AccessKey::new(KEY),
        store: Arc::default(),
    };
    Router::new()
        .route("/produce", post(produce))
        .with_state(target)
}

async fn produce(
    State(t): State<Target>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Flaw::Slow(delay) = t.flaw {
        tokio::time::sleep(delay).await;
    }
    let answer = match authenticate(&t, &query, &body) {
        Err(()) => json!({"resultCode": "000001", "resultMsg": "authentication failed"}),
        Ok(()) => match serde_json::from_slice::<Value>(&body) {
            Err(_) => json!({"resultCode": "000002", "resultMsg": "invalid JSON"}),
            Ok(request) => handle(&t, &request),
        },
    };
    reply(&t, &answer)
}

fn authenticate(t: &Target, query: &HashMap<String, String>, body: &[u8]) -> Result<(), ()> {
    let get = |name: &str| query.get(name).map(String::as_str);
    let now = Clock::system().now_ms();
    let window = if t.flaw == Flaw::AcceptsStaleTimestamp {
        i64::MAX / 4
    } else {
        scheme_a::WINDOW_MS
    };
    if t.flaw == Flaw::AcceptsBadSignature {
        let ts: i64 = get("timestamp").ok_or(())?.parse().map_err(|_| ())?;
        if get("signature").is_none() || get("nonce").is_none() || (now - ts).abs() > window {
            return Err(());
        }
    } else {
        let params = scheme_a::SignatureParams {
            signature: get("signature"),
            timestamp: get("timestamp"),
            nonce: get("nonce"),
        };
        let policy = scheme_a::VerifyPolicy {
            window_ms: window,
            ..scheme_a::VerifyPolicy::default()
        };
        scheme_a::verify(&t.key, params, body, now, &policy).map_err(|_| ())?;
    }
    let fresh = t
        .store
        .lock()
        .unwrap()
        .nonces
        .insert(get("nonce").unwrap_or("").to_owned());
    if fresh || t.flaw == Flaw::AcceptsReplayedNonce {
        Ok(())
    } else {
        Err(())
    }
}

fn handle(t: &Target, request: &Value) -> Value {
    let field = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let ok = || json!({"resultCode": "000000", "resultMsg": "success."});
    let not_found = || json!({"resultCode": "000003", "resultMsg": "instance not found"});
    let mut store = t.store.lock().unwrap();
    let id = field("instanceId");
    let live = store.instances.get(&id) == Some(&false);
    match field("activity").as_str() {
        "newInstance" => {
            let order = format!("{}:{}", field("orderId"), field("orderLineId"));
            let existing = store.orders.get(&order).cloned();
            let id = match existing {
                Some(id) if t.flaw != Flaw::NewIdEachTime => id,
                _ => {
                    let id = uuid::Uuid::new_v4().to_string();
                    store.instances.insert(id.clone(), false);
                    store.orders.insert(order, id.clone());
                    id
                }
            };
            json!({"resultCode": "000000", "resultMsg": "success.", "instanceId": id})
        }
        "queryInstance" => match store.instances.get(&id) {
            None => not_found(),
            Some(released) => {
                let mut info = json!({"instanceId": id});
                if !released {
                    info["appInfo"] = json!({
                        "frontEndUrl": format!("https://app.example.com/{id}"),
                        "userName": "admin",
                        "password": "s3cret-pass",
                    });
                }
                json!({"resultCode": "000000", "resultMsg": "success.", "info": [info]})
            }
        },
        "refreshInstance" | "updateInstanceStatus" | "upgradeInstance" | "changeInstanceCheck"
            if live =>
        {
            ok()
        }
        "refreshInstance" | "updateInstanceStatus" | "upgradeInstance" | "changeInstanceCheck" => {
            not_found()
        }
        "releaseInstance" => match store.instances.get_mut(&id) {
            Some(released) => {
                *released = true;
                ok()
            }
            None => not_found(),
        },
        _ => json!({"resultCode": "000002", "resultMsg": "unknown activity"}),
    }
}

fn reply(t: &Target, answer: &Value) -> Response {
    let body = answer.to_string();
    let status = if t.flaw == Flaw::Http500 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let content_type = if t.flaw == Flaw::TextPlain {
        "text/plain; charset=utf-8"
    } else {
        "application/json;charset=UTF-8"
    };
    let mut response = (status, body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let signed = match t.flaw {
        Flaw::NoBodySign => None,
        Flaw::WrongBodySign => Some(body_sign::header_value(
            &t.key,
            format!("{body} ").as_bytes(),
        )),
        _ => Some(body_sign::header_value(&t.key, body.as_bytes())),
    };
    if let Some(value) = signed {
        headers.insert(
            body_sign::HEADER_NAME,
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}
