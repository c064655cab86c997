//! Typed helpers for every call a test makes: the production interface (signed as KooGallery
//! signs, every answer checked for the invariants all answers share) and the vendor REST API.

use axum::http::{HeaderMap, StatusCode};
use koogate_gateway::clock::Clock;
use koogate_protocol::AccessKey;
use koogate_protocol::signing::body_sign;
use koogate_sim::orders::PlacedOrder;
use serde_json::{Value, json};

use super::{Reply, TestApp, fresh_nonce, signed_query};

impl TestApp {
    // -----------------------------------------------------------------------------------------
    // Production interface

    /// Signs `body` as KooGallery does (its activity's key, the clock's time, a fresh nonce).
    pub fn sign(&self, body: &Value) -> (String, Vec<u8>) {
        let bytes = serde_json::to_vec(body).unwrap();
        let key = self.keys.for_body(&bytes);
        let query = signed_query(key, self.clock.now_ms(), &fresh_nonce(), &bytes);
        (query, bytes)
    }

    /// One signed production call.
    pub async fn call(&self, body: Value) -> Reply {
        let (query, bytes) = self.sign(&body);
        self.call_raw(&query, bytes).await
    }

    /// Sends exactly `body` with exactly `query`, and checks the answer's invariants.
    pub async fn call_raw(&self, query: &str, body: Vec<u8>) -> Reply {
        let reply = self.post_produce(query, body.clone()).await;
        self.check_reply(&reply, self.keys.for_body(&body));
        reply
    }

    /// Posts without checking the answer (the caller checks it, with the key it expects).
    pub async fn post_produce(&self, query: &str, body: Vec<u8>) -> Reply {
        let url = if query.is_empty() {
            self.produce_url.clone()
        } else {
            format!("{}?{query}", self.produce_url)
        };
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// HTTP 200, `application/json`, a well-formed answer, and a `Body-Sign` over the exact
    /// bytes that verifies with `key` and with no other configured key.
    #[track_caller]
    pub fn check_reply(&self, reply: &Reply, key: &AccessKey) {
        assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text());
        assert_eq!(
            reply.headers["content-type"],
            "application/json",
            "body: {}",
            reply.text()
        );
        let sign = reply
            .headers
            .get(body_sign::HEADER_NAME)
            .unwrap_or_else(|| panic!("no Body-Sign on {}", reply.text()))
            .to_str()
            .unwrap();
        body_sign::verify(key, sign, &reply.body)
            .unwrap_or_else(|err| panic!("Body-Sign does not verify ({err}): {}", reply.text()));
        for other in self.keys.all().into_iter().filter(|k| *k != key) {
            assert!(body_sign::verify(other, sign, &reply.body).is_err());
        }
        // The protocol crate's own length and presence rules (what the seller center's
        // debugger checks), so no answer is one KooGallery would reject.
        let response = reply.response();
        assert_eq!(response.problems(), [], "{}", reply.text());
        assert!(
            response.result_msg.is_some(),
            "no resultMsg: {}",
            reply.text()
        );
        assert!(
            reply.body.is_ascii(),
            "answers escape non-ASCII: {}",
            reply.text()
        );
    }

    pub async fn new_instance(&self, order_id: &str, line_id: &str, business_id: &str) -> Reply {
        self.call(json!({
            "activity": "newInstance", "businessId": business_id, "orderId": order_id,
            "orderLineId": line_id, "testFlag": "0",
        }))
        .await
    }

    /// `queryInstance` for comma-separated ids.
    pub async fn query(&self, ids: &[&str]) -> Reply {
        self.call(json!({"activity": "queryInstance", "instanceId": ids.join(",")}))
            .await
    }

    pub async fn refresh(&self, instance_id: &str, placed: &PlacedOrder, expire: &str) -> Reply {
        self.call(json!({
            "activity": "refreshInstance", "instanceId": instance_id, "orderId": placed.order_id,
            "orderLineId": placed.order_line_ids[0], "expireTime": expire, "scene": "RENEWAL",
        }))
        .await
    }

    /// `updateInstanceStatus` with `FREEZE` or `UNFREEZE`.
    pub async fn set_status(&self, instance_id: &str, status: &str) -> Reply {
        self.call(json!({
            "activity": "updateInstanceStatus", "instanceId": instance_id, "status": status,
        }))
        .await
    }

    pub async fn release(&self, instance_id: &str) -> Reply {
        self.call(json!({"activity": "releaseInstance", "instanceId": instance_id}))
            .await
    }

    pub async fn upgrade(&self, instance_id: &str, placed: &PlacedOrder) -> Reply {
        self.call(json!({
            "activity": "upgradeInstance", "instanceId": instance_id, "orderId": placed.order_id,
            "orderLineId": placed.order_line_ids[0],
        }))
        .await
    }

    pub async fn change_check(&self, instance_id: &str) -> Reply {
        self.call(json!({
            "activity": "changeInstanceCheck", "instanceId": instance_id,
            "productInfo": {"productId": "OFFI000000000000000001", "skuCode": "sku-pro", "linearValue": 20},
        }))
        .await
    }

    pub async fn order_notify(&self, placed: &PlacedOrder) -> Reply {
        self.call(json!({
            "activity": "orderNotify", "orderId": placed.order_id,
            "orderLineId": placed.order_line_ids[0], "testFlag": "0",
        }))
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Vendor API and operations endpoints

    /// `GET path` with an optional bearer token: status and JSON body (`Null` when not JSON).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `GET /api/v1/instances/{id}` with the right token.
    pub async fn api_instance(&self, instance_id: &str) -> (StatusCode, Value) {
        let (status, _, body) = self
            .get(
                &format!("/api/v1/instances/{instance_id}"),
                Some(&self.api_token),
            )
            .await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// `POST /api/v1/instances/{id}/ready` with the right token.
    pub async fn mark_ready(&self, instance_id: &str, app_info: &Value) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/instances/{instance_id}/ready"),
            Some(&self.api_token),
            app_info,
        )
        .await
    }
}
