//! The vendor's REST API (`/api/v1`, bearer token): mark an instance ready with its app info,
//! read instances, inspect and re-deliver webhook events. Errors are `{"code","detail"}` with a
//! stable `code`; internal details are logged, never returned.

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::domain::AppInfo;
use crate::domain::provision::{self, ReadyError};
use crate::store::{Instance, OutboxEvent};

/// An API error: HTTP status plus a stable code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub(super) fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "vendor API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl ApiError {
    /// The stable code, for logs.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"code": self.code, "detail": self.detail})),
        )
            .into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::internal(err)
    }
}

/// Proof that the request carried the configured bearer token (compared in constant time).
#[derive(Debug)]
pub struct VendorAuth;

impl FromRequestParts<AppState> for VendorAuth {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            // Without a socket (a router driven in-process) every caller shares one count.
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let now = std::time::Instant::now();
        if let Some(wait) = state.auth_limiter.blocked(peer, now) {
            return Err(too_many_attempts(wait));
        }
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let expected = state.api_token.expose().as_bytes();
        if !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected)) {
            Ok(Self)
        } else {
            tracing::warn!(%peer, "vendor API request refused: missing or wrong bearer token");
            state.auth_limiter.failed(peer, now);
            Err(AuthRejection(
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing or wrong bearer token",
                )
                .into_response(),
            ))
        }
    }
}

/// `429` with `Retry-After`, for a peer that sent too many wrong tokens.
fn too_many_attempts(wait: std::time::Duration) -> AuthRejection {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "too many wrong bearer tokens from this address; try again later",
    )
    .into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(wait.as_secs().max(1)),
    );
    AuthRejection(response)
}

/// Why [`VendorAuth`] refused: `401`, or `429` with `Retry-After` after too many wrong tokens.
#[derive(Debug)]
pub struct AuthRejection(Response);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

/// An instance as the vendor sees it (never the credentials).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    instance_id: String,
    order_id: String,
    order_line_id: String,
    product_id: Option<String>,
    sku_code: Option<String>,
    charging_mode: String,
    status: &'static str,
    trial: bool,
    expire_time: Option<String>,
    has_app_info: bool,
    test_flag: bool,
    created_at: String,
    updated_at: String,
}

impl From<&Instance> for InstanceView {
    fn from(i: &Instance) -> Self {
        Self {
            instance_id: i.instance_id.clone(),
            order_id: i.order_id.clone(),
            order_line_id: i.order_line_id.clone(),
            product_id: i.product_id.clone(),
            sku_code: i.sku_code.clone(),
            charging_mode: i.charging_mode.to_string(),
            status: i.status.as_str(),
            trial: i.trial,
            expire_time: i.expire_time.map(|t| t.to_rfc3339()),
            has_app_info: i.app_info_sealed.is_some(),
            test_flag: i.test_flag,
            created_at: i.created_at.to_rfc3339(),
            updated_at: i.updated_at.to_rfc3339(),
        }
    }
}

pub async fn get_instance(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceView>, ApiError> {
    let instance = state.gateway.store.get_instance(&id).await?;
    instance
        .map(|i| Json(InstanceView::from(&i)))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "instance_not_found",
                format!("no instance {id}"),
            )
        })
}

#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    50
}

/// Default and largest page of the directory-like lists (Kit records, reconciliation findings),
/// which a vendor usually reads whole.
pub(super) fn default_long_limit() -> i64 {
    500
}
pub(super) const MAX_LONG_LIMIT: i64 = 5_000;

pub async fn list_instances(
    _: VendorAuth,
    State(state): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<InstanceView>>, ApiError> {
    let rows = state
        .gateway
        .store
        .list_instances(page.limit.clamp(1, 500), page.offset.max(0))
        .await?;
    Ok(Json(rows.iter().map(InstanceView::from).collect()))
}

/// `POST /api/v1/instances/{id}/ready` with an app-info body: the instance becomes usable and
/// KooGallery's next `queryInstance` returns the app info.
pub async fn mark_ready(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<InstanceView>, ApiError> {
    let info: AppInfo = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_app_info", e.to_string()))?;
    let instance = provision::mark_ready(&state.gateway, &id, &info).await?;
    Ok(Json(InstanceView::from(&instance)))
}

impl From<ReadyError> for ApiError {
    fn from(err: ReadyError) -> Self {
        let (status, code) = match &err {
            ReadyError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_app_info"),
            ReadyError::UnknownInstance(_) => (StatusCode::NOT_FOUND, "instance_not_found"),
            ReadyError::Refused => (StatusCode::CONFLICT, "refused"),
            ReadyError::Busy => (StatusCode::CONFLICT, "busy"),
            ReadyError::Store(store) => return Self::internal(store),
        };
        let detail = match err {
            ReadyError::Invalid(problem) => problem,
            ReadyError::Refused => {
                "this purchase was refused; KooGallery was told so and refunds the order".into()
            }
            ReadyError::Busy => "the instance kept changing; retry".into(),
            other => other.to_string(),
        };
        Self::new(status, code, detail)
    }
}

/// A webhook event as the operator view shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    id: i64,
    event_id: String,
    event_type: String,
    ordering_key: String,
    attempts: i32,
    created_at: String,
    next_attempt_at: String,
    delivered_at: Option<String>,
    dead: bool,
    last_error: Option<String>,
    payload: serde_json::Value,
}

impl From<&OutboxEvent> for EventView {
    fn from(e: &OutboxEvent) -> Self {
        Self {
            id: e.id,
            event_id: e.event_id.clone(),
            event_type: e.event_type.clone(),
            ordering_key: e.ordering_key.clone(),
            attempts: e.attempts,
            created_at: e.created_at.to_rfc3339(),
            next_attempt_at: e.next_attempt_at.to_rfc3339(),
            delivered_at: e.delivered_at.map(|t| t.to_rfc3339()),
            dead: e.dead,
            last_error: e.last_error.clone(),
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EventFilter {
    instance: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
}

pub async fn list_events(
    _: VendorAuth,
    State(state): State<AppState>,
    Query(f): Query<EventFilter>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let rows = state
        .gateway
        .store
        .list_events(f.instance.as_deref(), f.limit.clamp(1, 500))
        .await?;
    Ok(Json(rows.iter().map(EventView::from).collect()))
}

/// Manual re-delivery of a dead event (operator action).
pub async fn redeliver(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if state
        .gateway
        .store
        .redeliver_event(id, state.gateway.clock.now())
        .await?
    {
        state.gateway.wake_outbox();
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "event_not_found",
            format!("no dead event {id}"),
        ))
    }
}

/// `GET /api/v1/license-key`: the public key that checks built-in licenses (the `kg1.` format of
/// `domain::license_issue`), for embedding in the vendor's software.
pub async fn license_key(
    _: VendorAuth,
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({
        "algorithm": "Ed25519",
        "format": "kg1",
        "publicKey": state.gateway.license_signer.public_key_base64(),
    })))
}
