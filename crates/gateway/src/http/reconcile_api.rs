//! `GET /api/v1/reconciliation?all=&limit=`: what the reconciliation pass found (bearer token,
//! like the rest of `/api/v1`). Open findings by default; `all=true` adds the resolved and
//! healed ones. The rules live in `domain::reconcile`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::{ApiError, MAX_LONG_LIMIT, VendorAuth, default_long_limit};
use crate::store::ReconcileFinding;

#[derive(Debug, Deserialize)]
pub struct FindingQuery {
    #[serde(default)]
    all: bool,
    #[serde(default = "default_long_limit")]
    limit: i64,
}

pub async fn list(
    _: VendorAuth,
    State(state): State<AppState>,
    Query(query): Query<FindingQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let findings = state
        .gateway
        .store
        .list_findings(query.all, query.limit.clamp(1, MAX_LONG_LIMIT))
        .await?;
    Ok(Json(findings.iter().map(view).collect()))
}

fn view(finding: &ReconcileFinding) -> Value {
    let state = match (finding.healed_at, finding.resolved_at) {
        (Some(_), _) => "healed",
        (None, Some(_)) => "resolved",
        (None, None) => "open",
    };
    json!({
        "instanceId": finding.instance_id,
        "kind": finding.kind,
        "state": state,
        "detail": serde_json::from_str::<Value>(&finding.detail).unwrap_or(Value::Null),
        "firstSeenAt": finding.first_seen_at.to_rfc3339(),
        "lastSeenAt": finding.last_seen_at.to_rfc3339(),
        "healedAt": finding.healed_at.map(|t| t.to_rfc3339()),
        "resolvedAt": finding.resolved_at.map(|t| t.to_rfc3339()),
    })
}
