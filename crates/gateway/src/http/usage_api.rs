//! The vendor API's metering calls (bearer token, like the rest of `/api/v1`):
//!
//! - `POST /api/v1/usage` records one usage report:
//!   `{"eventId","instanceId","value","occurredAt","relatePkgInstance"?}`. `value` is a decimal
//!   string or number (> 0, at most 4 decimals), `occurredAt` RFC 3339. `201` recorded, `200` the
//!   same report again; errors are `{"code","detail"}`.
//! - `GET /api/v1/instances/{id}/usage` shows the instance's total and its windows with their
//!   push status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use koogate_protocol::wire::UsageValue;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::api::{ApiError, VendorAuth};
use crate::domain::metering::{self, ReportError, UsageReport};
use crate::store::UsageWindow;

/// Windows listed per instance.
const WINDOWS_SHOWN: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReportBody {
    event_id: String,
    instance_id: String,
    /// A string keeps every decimal exact; a JSON number is accepted too.
    value: Value,
    occurred_at: String,
    #[serde(default)]
    relate_pkg_instance: Option<String>,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_usage", detail)
}

fn parse_value(value: &Value) -> Result<UsageValue, ApiError> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return Err(invalid("value must be a decimal string or number")),
    };
    text.parse::<UsageValue>()
        .map_err(|e| invalid(format!("value: {e}")))
}

pub async fn report(
    _: VendorAuth,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: ReportBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_usage", e.to_string()))?;
    let occurred_at = DateTime::parse_from_rfc3339(body.occurred_at.trim())
        .map_err(|e| invalid(format!("occurredAt is not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    let report = UsageReport {
        event_id: body.event_id,
        instance_id: body.instance_id,
        value: parse_value(&body.value)?,
        occurred_at,
        relate_pkg_instance: body.relate_pkg_instance,
    };
    let instance_id = report.instance_id.clone();
    let recorded = metering::record(&state.gateway, report)
        .await
        .map_err(|err| {
            let answer = refusal(err);
            tracing::warn!(instance_id, code = answer.code(), "usage report refused");
            answer
        })?;
    let status = if recorded.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": if recorded.new { "recorded" } else { "duplicate" },
        "windowStart": recorded.window_start.to_rfc3339(),
        "windowEnd": recorded.window_end.to_rfc3339(),
    });
    Ok((status, Json(body)).into_response())
}

fn refusal(err: ReportError) -> ApiError {
    let detail = err.to_string();
    match err {
        ReportError::Invalid(_) | ReportError::TooOld | ReportError::InFuture => invalid(detail),
        ReportError::NotMetered { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_metered", detail)
        }
        ReportError::UnknownInstance(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "instance_not_found", detail)
        }
        ReportError::Released(_) => {
            ApiError::new(StatusCode::CONFLICT, "instance_released", detail)
        }
        ReportError::WindowClosed(_) => {
            ApiError::new(StatusCode::CONFLICT, "window_closed", detail)
        }
        ReportError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "event_id_reused", detail),
        ReportError::Storage(_) => ApiError::internal(detail),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WindowView {
    window_start: String,
    window_end: String,
    relate_pkg_instance: Option<String>,
    value: String,
    metering_sn: String,
    status: &'static str,
    attempts: i64,
    result_code: Option<String>,
    last_error: Option<String>,
    pushed_at: Option<String>,
}

impl From<&UsageWindow> for WindowView {
    fn from(w: &UsageWindow) -> Self {
        Self {
            window_start: w.window_start.to_rfc3339(),
            window_end: w.window_end.to_rfc3339(),
            relate_pkg_instance: w.relate_pkg_instance.clone(),
            value: e4_text(w.value_e4),
            metering_sn: w.metering_sn.clone(),
            status: w.status.as_str(),
            attempts: w.attempts,
            result_code: w.result_code.clone(),
            last_error: w.last_error.clone(),
            pushed_at: w.pushed_at.map(|t| t.to_rfc3339()),
        }
    }
}

fn e4_text(value_e4: i64) -> String {
    UsageValue::from_ten_thousandths(u64::try_from(value_e4).unwrap_or(0)).to_string()
}

pub async fn instance_usage(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &state.gateway.store;
    if store.get_instance(&id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "instance_not_found",
            format!("no instance {id}"),
        ));
    }
    let total = store
        .usage_totals(std::slice::from_ref(&id))
        .await?
        .first()
        .map_or(0, |t| t.value_e4);
    let windows = store.list_usage_windows(&id, WINDOWS_SHOWN).await?;
    let windows: Vec<WindowView> = windows.iter().map(WindowView::from).collect();
    Ok(Json(json!({
        "instanceId": id,
        "total": e4_text(total),
        "windows": windows,
    })))
}
