//! The vendor API's view of the 联营 Kit directory (bearer token, like the rest of `/api/v1`):
//! `GET /api/v1/kit/{tenants|apps|users|orgs}?instance=&tenant=&app=&includeDeleted=&limit=`.
//! App records carry the decrypted `clientSecret` the vendor needs for OAuth against the
//! tenant's IDaaS (license-kit §5); it leaves koogate only here.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::api::{ApiError, MAX_LONG_LIMIT, VendorAuth, default_long_limit};
use crate::domain::kit::{RecordView, vendor_view};
use crate::store::{KitFilter, KitKind};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KitQuery {
    instance: Option<String>,
    tenant: Option<String>,
    app: Option<String>,
    #[serde(default)]
    include_deleted: bool,
    #[serde(default = "default_long_limit")]
    limit: i64,
}

pub async fn list(
    _: VendorAuth,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<KitQuery>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    let kind = KitKind::from_plural(&kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_kind",
            "one of tenants, apps, users, orgs",
        )
    })?;
    let filter = KitFilter {
        instance_id: query.instance,
        tenant_id: query.tenant,
        app_id: query.app,
        include_deleted: query.include_deleted,
    };
    let gw = &state.gateway;
    let records = gw
        .store
        .list_kit_records(kind, &filter, query.limit.clamp(1, MAX_LONG_LIMIT))
        .await?;
    Ok(Json(records.iter().map(|r| vendor_view(gw, r)).collect()))
}
