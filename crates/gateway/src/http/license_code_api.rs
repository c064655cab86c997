//! `GET /api/v1/license-codes?instance=&limit=` and `GET /api/v1/license-codes/{code}`: what
//! KooGallery last told koogate about its license codes (bearer token, like the rest of
//! `/api/v1`). The rows are written by the license-code activities in `domain`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::{ApiError, MAX_LONG_LIMIT, VendorAuth, default_long_limit};
use crate::store::LicenseCode;

#[derive(Debug, Deserialize)]
pub struct CodeQuery {
    instance: Option<String>,
    #[serde(default = "default_long_limit")]
    limit: i64,
}

pub async fn list(
    _: VendorAuth,
    State(state): State<AppState>,
    Query(query): Query<CodeQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let limit = query.limit.clamp(1, MAX_LONG_LIMIT);
    let store = &state.gateway.store;
    let codes = store
        .list_license_codes(query.instance.as_deref(), limit)
        .await?;
    Ok(Json(codes.iter().map(view).collect()))
}

pub async fn get(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.gateway.store.get_license_code(&code).await? {
        Some(found) => Ok(Json(view(&found))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "license_code_not_found",
            format!("no license code {code}"),
        )),
    }
}

fn view(code: &LicenseCode) -> Value {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    let answer = code.last_answer.as_deref();
    json!({
        "code": code.code,
        "instanceId": code.instance_id,
        "orderId": code.order_id,
        "orderLineId": code.order_line_id,
        "productId": code.product_id,
        "status": code.status.as_str(),
        "licenseStatus": code.status.as_license_status().as_str(),
        "expireTime": time(code.expire_time),
        "activatedAt": time(code.activated_at),
        "lastCheckedAt": time(code.last_checked_at),
        "lastAnswer": answer.and_then(|a| serde_json::from_str::<Value>(a).ok()),
        "createdAt": code.created_at.to_rfc3339(),
        "updatedAt": code.updated_at.to_rfc3339(),
    })
}
