//! The vendor API's view of the 联营 Kit directory (bearer token, like the rest of `/api/v1`):
//! `GET /api/v1/kit/{tenants|apps|users|orgs}?instance=&tenant=&app=&includeDeleted=&limit=`.
//! App records carry the decrypted `clientSecret` the vendor needs for OAuth against the
//! tenant's IDaaS (license-kit §5); it leaves koogate only here.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::{ApiError, MAX_LONG_LIMIT, VendorAuth, default_long_limit};
use crate::domain::kit::open_app;
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
) -> Result<Json<Vec<Value>>, ApiError> {
    let kind = match kind.as_str() {
        "tenants" => KitKind::Tenant,
        "apps" => KitKind::App,
        "users" => KitKind::User,
        "orgs" => KitKind::Org,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_kind",
                "one of tenants, apps, users, orgs",
            ));
        }
    };
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
    let views = records
        .iter()
        .map(|record| {
            let mut data: Value = serde_json::from_str(&record.data).unwrap_or(Value::Null);
            if kind == KitKind::App {
                // A deleted app's secret is no longer the vendor's to use; show only its id.
                let opened = open_app(gw, &record.data);
                if opened.is_none() {
                    tracing::warn!(
                        tenant_id = record.key.tenant_id,
                        app_id = record.key.app_id,
                        "a stored Kit app secret cannot be opened (was its master key removed?)"
                    );
                }
                let client_id = data["clientId"].clone();
                data = match opened {
                    Some((_, secret)) if !record.deleted => {
                        json!({"clientId": client_id, "clientSecret": secret})
                    }
                    Some(_) => json!({"clientId": client_id, "clientSecret": null}),
                    None => json!({"clientId": client_id, "clientSecret": null,
                                   "error": "the stored secret cannot be opened"}),
                };
            }
            json!({
                "instanceId": record.key.instance_id,
                "tenantId": record.key.tenant_id,
                "appId": (!record.key.app_id.is_empty()).then_some(&record.key.app_id),
                "item": (!record.key.item.is_empty()).then_some(&record.key.item),
                "deleted": record.deleted,
                "updatedAt": record.updated_at.to_rfc3339(),
                "data": data,
            })
        })
        .collect();
    Ok(Json(views))
}
