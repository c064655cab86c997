//! The 联营 Kit directory (license-kit §4): KooGallery tells the vendor which enterprises
//! (tenants) bought the product, the OAuth client of each (app), which users are authorised, and
//! the department tree. koogate keeps all of it (`kit_records`), answers each call per §4.2, and
//! sends the vendor one webhook event per call that changed something.
//!
//! Idempotency follows §4.9: a repeated add creates nothing and answers success, a repeated or
//! unknown delete answers success, and deletes do not check that the instance exists. Records
//! are marked deleted rather than removed, so the vendor can still see what was there.
//!
//! `clientSecret` arrives RSA-OAEP encrypted with the vendor's 应用凭证 key; koogate decrypts it
//! with `KOOGATE_KIT_PRIVATE_KEY_FILE` (answering `000101` when it cannot, as the official demo
//! does), stores it sealed with the master key, and never puts it in a webhook event: the vendor
//! reads it through the bearer-token API.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use koogate_protocol::ResultCode;
use koogate_protocol::crypto::client_secret;
use koogate_protocol::messages::kit::{
    AllOrgSync, ApplicationSync, AuthSync, KitRequest, SingleOrgSync, TenantSync,
};
use koogate_protocol::wire::{AuthSyncFlag, SyncFlag};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Gateway;
use super::events;
use crate::store::{KitChange, KitFilter, KitKey, KitKind, KitRecord, KitWrite, StoreError};

/// Event types of the Kit calls: part of koogate's public interface.
pub mod kind {
    pub const TENANT_SYNCED: &str = "kit.tenant_synced";
    pub const APP_SYNCED: &str = "kit.app_synced";
    pub const USERS_SYNCED: &str = "kit.users_synced";
    pub const ORG_SYNCED: &str = "kit.org_synced";
    pub const ORGS_REPLACED: &str = "kit.orgs_replaced";
}

/// Why a Kit call was not applied; each is one `resultCode`.
#[derive(Debug, thiserror::Error)]
pub enum KitFailure {
    #[error("clientSecret cannot be decrypted: {0}")]
    ClientSecret(String),
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
}

impl KitFailure {
    pub fn result_code(&self) -> ResultCode {
        match self {
            Self::ClientSecret(_) => ResultCode::client_secret_decryption_failed(),
            Self::Storage(_) => ResultCode::InternalError,
        }
    }

    /// The `resultMsg` KooGallery gets: the code's own words, or a plea to retry after a
    /// failure of ours (the cause stays in the log).
    pub fn kit_message(&self) -> &'static str {
        match self.result_code() {
            ResultCode::InternalError => "internal error, please retry",
            code => code.kit_message(),
        }
    }
}

/// Applies one verified, parsed Kit call; `Ok(true)` when it changed something.
pub async fn apply(gw: &Gateway, request: &KitRequest) -> Result<bool, KitFailure> {
    let test = request.test_flag().is_debug();
    let write = match request {
        KitRequest::TenantSync(r) => tenant(gw, r, test).await?,
        KitRequest::ApplicationSync(r) => match app(gw, r, test).await? {
            Some(write) => write,
            // The same credentials again: nothing to store or tell.
            None => return Ok(false),
        },
        KitRequest::AuthSync(r) => users(gw, r, test),
        KitRequest::SingleOrgSync(r) => org(gw, r, test),
        KitRequest::AllOrgSync(r) => all_orgs(gw, r, test),
    };
    let changed = gw.store.apply_kit(&write, gw.clock.now()).await?;
    if changed {
        gw.wake_outbox();
    }
    Ok(changed)
}

fn key(kind: KitKind, instance_id: &str, tenant_id: &str, app_id: &str, item: &str) -> KitKey {
    KitKey {
        kind,
        instance_id: instance_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        app_id: app_id.to_owned(),
        item: item.to_owned(),
    }
}

fn action(flag: SyncFlag) -> &'static str {
    match flag {
        SyncFlag::Delete => "delete",
        SyncFlag::Add => "add",
        SyncFlag::Modify => "modify",
    }
}

/// One event per call, ordered per tenant: a tenant's users never overtake the tenant.
fn new_event(
    gw: &Gateway,
    kind: &str,
    instance_id: &str,
    tenant_id: &str,
    test: bool,
    data: Value,
) -> crate::store::NewEvent {
    let instance = (!instance_id.is_empty()).then_some(instance_id);
    events::event(
        kind,
        &format!("kit:{tenant_id}"),
        instance,
        test,
        data,
        gw.clock.now(),
    )
}

/// A modify (`flag 2`) changes only `name` and `domainName` (§4.4): the stored `orderId` and
/// `tenantCode` are kept even when the call sends others.
async fn tenant(gw: &Gateway, r: &TenantSync, test: bool) -> Result<KitWrite, KitFailure> {
    let key = key(KitKind::Tenant, &r.instance_id, &r.tenant_id, "", "");
    let mut record = StoredTenant {
        order_id: r.order_id.as_str().to_owned(),
        tenant_code: r.tenant_code.as_str().to_owned(),
        name: r.name.as_str().to_owned(),
        domain_name: r.domain_name.as_str().to_owned(),
    };
    if r.flag == SyncFlag::Modify
        && let Some(stored) = stored_record::<StoredTenant>(gw, &key).await?
    {
        record.order_id = stored.order_id;
        record.tenant_code = stored.tenant_code;
    }
    let mut data = serde_json::to_value(&record).unwrap_or(Value::Null);
    let change = match r.flag {
        SyncFlag::Delete => KitChange::Delete { key },
        SyncFlag::Add | SyncFlag::Modify => KitChange::Upsert {
            key,
            data: data.to_string(),
        },
    };
    data["action"] = Value::from(action(r.flag));
    data["tenantId"] = Value::from(r.tenant_id.as_str());
    Ok(KitWrite {
        changes: vec![change],
        event: new_event(
            gw,
            kind::TENANT_SYNCED,
            &r.instance_id,
            &r.tenant_id,
            test,
            data,
        ),
    })
}

/// The `data` of the live record under `key`. Only tenants and apps are read back, and their
/// `item` is always empty, so the filter names the record exactly.
async fn live_data(gw: &Gateway, key: &KitKey) -> Result<Option<String>, KitFailure> {
    let filter = KitFilter {
        instance_id: Some(key.instance_id.clone()),
        tenant_id: Some(key.tenant_id.clone()),
        app_id: Some(key.app_id.clone()),
        include_deleted: false,
    };
    let records = gw.store.list_kit_records(key.kind, &filter, 1).await?;
    Ok(records.into_iter().next().map(|record| record.data))
}

/// The live record under `key`, read as `T`; a record that does not read is treated as absent.
async fn stored_record<T: serde::de::DeserializeOwned>(
    gw: &Gateway,
    key: &KitKey,
) -> Result<Option<T>, KitFailure> {
    Ok(live_data(gw, key)
        .await?
        .and_then(|data| serde_json::from_str(&data).ok()))
}

/// A tenant record as stored: what tenantSync said, with `orderId` and `tenantCode` fixed by
/// the first add (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTenant {
    pub order_id: String,
    pub tenant_code: String,
    pub name: String,
    pub domain_name: String,
}

/// An app record as stored: the OAuth client id, and its secret sealed with the master key
/// (base64), never in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredApp {
    client_id: String,
    client_secret_sealed: String,
}

/// `None` when the call changes nothing: the stored credentials are the same (sealing is
/// randomised, so equality is decided here on the opened secret rather than by the store).
async fn app(
    gw: &Gateway,
    r: &ApplicationSync,
    test: bool,
) -> Result<Option<KitWrite>, KitFailure> {
    let key = key(KitKind::App, &r.instance_id, &r.tenant_id, &r.app_id, "");
    let data = json!({
        "action": action(r.flag), "tenantId": r.tenant_id.as_str(), "appId": r.app_id.as_str(),
        "clientId": r.client_id.as_str(),
    });
    if r.flag == SyncFlag::Delete {
        return Ok(Some(KitWrite {
            changes: vec![KitChange::Delete { key }],
            event: new_event(
                gw,
                kind::APP_SYNCED,
                &r.instance_id,
                &r.tenant_id,
                test,
                data,
            ),
        }));
    }
    let private_key = gw.kit_private_key.as_ref().ok_or_else(|| {
        KitFailure::ClientSecret(
            "no RSA private key is configured (KOOGATE_KIT_PRIVATE_KEY_FILE)".into(),
        )
    })?;
    let (secret, _variant) = client_secret::decrypt(private_key, &r.client_secret)
        .map_err(|e| KitFailure::ClientSecret(e.to_string()))?;
    if stored_credentials(gw, &key).await? == Some((r.client_id.to_string(), secret.clone())) {
        return Ok(None);
    }
    let record = StoredApp {
        client_id: r.client_id.as_str().to_owned(),
        client_secret_sealed: STANDARD.encode(gw.secret_box.seal(secret.as_bytes())),
    };
    Ok(Some(KitWrite {
        changes: vec![KitChange::Upsert {
            key,
            data: serde_json::to_string(&record).unwrap_or_default(),
        }],
        event: new_event(
            gw,
            kind::APP_SYNCED,
            &r.instance_id,
            &r.tenant_id,
            test,
            data,
        ),
    }))
}

/// The live app record's client id and opened secret, if any.
async fn stored_credentials(
    gw: &Gateway,
    key: &KitKey,
) -> Result<Option<(String, String)>, KitFailure> {
    Ok(live_data(gw, key)
        .await?
        .and_then(|data| open_app(gw, &data)))
}

/// `(clientId, clientSecret)` of a stored app record.
fn open_app(gw: &Gateway, data: &str) -> Option<(String, String)> {
    let app: StoredApp = serde_json::from_str(data).ok()?;
    let secret = open_secret(gw, &app)?;
    Some((app.client_id, secret))
}

/// The app's client secret, opened with the master key.
fn open_secret(gw: &Gateway, app: &StoredApp) -> Option<String> {
    let sealed = STANDARD.decode(&app.client_secret_sealed).ok()?;
    String::from_utf8(gw.secret_box.open(&sealed).ok()?).ok()
}

/// A Kit record as the vendor API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub instance_id: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
    pub item: Option<String>,
    pub deleted: bool,
    pub updated_at: String,
    /// The record as stored; for an app, `clientId` and the opened `clientSecret` instead.
    pub data: Value,
}

/// What the vendor may see of a stored record. An app's secret is shown opened, because the
/// vendor needs it for OAuth against the tenant's IDaaS (§5); a deleted app's secret is no
/// longer the vendor's to use, so only its id is shown.
pub fn vendor_view(gw: &Gateway, record: &KitRecord) -> RecordView {
    let data = if record.key.kind == KitKind::App {
        app_view(gw, record)
    } else {
        serde_json::from_str(&record.data).unwrap_or(Value::Null)
    };
    let present = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    RecordView {
        instance_id: record.key.instance_id.clone(),
        tenant_id: record.key.tenant_id.clone(),
        app_id: present(&record.key.app_id),
        item: present(&record.key.item),
        deleted: record.deleted,
        updated_at: record.updated_at.to_rfc3339(),
        data,
    }
}

fn app_view(gw: &Gateway, record: &KitRecord) -> Value {
    let app = serde_json::from_str::<StoredApp>(&record.data).ok();
    let client_id = app
        .as_ref()
        .map_or(Value::Null, |app| Value::from(app.client_id.as_str()));
    match app.as_ref().and_then(|app| open_secret(gw, app)) {
        Some(secret) if !record.deleted => {
            json!({"clientId": client_id, "clientSecret": secret})
        }
        Some(_) => json!({"clientId": client_id, "clientSecret": null}),
        None => {
            tracing::warn!(
                tenant_id = record.key.tenant_id,
                app_id = record.key.app_id,
                "a stored Kit app secret cannot be opened (was its master key removed?)"
            );
            json!({"clientId": client_id, "clientSecret": null,
                   "error": "the stored secret cannot be opened"})
        }
    }
}

fn users(gw: &Gateway, r: &AuthSync, test: bool) -> KitWrite {
    let removing = matches!(
        r.flag,
        AuthSyncFlag::Delete | AuthSyncFlag::CancelAuthorization
    );
    let changes = r
        .user_list
        .iter()
        .map(|user| {
            let key = key(
                KitKind::User,
                &r.instance_id,
                &r.tenant_id,
                &r.app_id,
                &user.user_name,
            );
            if removing {
                KitChange::Delete { key }
            } else {
                KitChange::Upsert {
                    key,
                    data: serde_json::to_string(user).unwrap_or_default(),
                }
            }
        })
        .collect();
    let action = match r.flag {
        AuthSyncFlag::Delete => "delete",
        AuthSyncFlag::Add => "add",
        AuthSyncFlag::Modify => "modify",
        AuthSyncFlag::CancelAuthorization => "deauthorize",
    };
    let data = json!({
        "action": action, "tenantId": r.tenant_id.as_str(), "appId": r.app_id.as_str(),
        "users": r.user_list,
    });
    KitWrite {
        changes,
        event: new_event(
            gw,
            kind::USERS_SYNCED,
            &r.instance_id,
            &r.tenant_id,
            test,
            data,
        ),
    }
}

fn org(gw: &Gateway, r: &SingleOrgSync, test: bool) -> KitWrite {
    let key = key(KitKind::Org, &r.instance_id, &r.tenant_id, "", &r.org_code);
    let record = json!({
        "orgCode": r.org_code.as_str(), "orgName": r.org_name.as_str(),
        "parentCode": r.parent_code.as_deref().filter(|p| !p.trim().is_empty()),
    });
    let change = match r.flag {
        SyncFlag::Delete => KitChange::Delete { key },
        SyncFlag::Add | SyncFlag::Modify => KitChange::Upsert {
            key,
            data: record.to_string(),
        },
    };
    let mut data = record;
    data["action"] = Value::from(action(r.flag));
    data["tenantId"] = Value::from(r.tenant_id.as_str());
    KitWrite {
        changes: vec![change],
        event: new_event(
            gw,
            kind::ORG_SYNCED,
            &r.instance_id,
            &r.tenant_id,
            test,
            data,
        ),
    }
}

fn all_orgs(gw: &Gateway, r: &AllOrgSync, test: bool) -> KitWrite {
    let scope = key(KitKind::Org, &r.instance_id, &r.tenant_id, "", "");
    let mut changes = vec![KitChange::DeleteOthers {
        scope,
        keep: r
            .org_info_list
            .iter()
            .map(|o| o.org_code.to_string())
            .collect(),
    }];
    changes.extend(r.org_info_list.iter().map(|o| KitChange::Upsert {
        key: key(KitKind::Org, &r.instance_id, &r.tenant_id, "", &o.org_code),
        data: json!({"orgCode": o.org_code.as_str(), "orgName": o.org_name.as_str(), "parentCode": o.parent()})
            .to_string(),
    }));
    let data = json!({"tenantId": r.tenant_id.as_str(), "orgs": r.org_info_list});
    KitWrite {
        changes,
        event: new_event(
            gw,
            kind::ORGS_REPLACED,
            &r.instance_id,
            &r.tenant_id,
            test,
            data,
        ),
    }
}
