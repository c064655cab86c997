//! `queryInstance` (spec saas-v2 §3.2): read-only. KooGallery polls it after a `000004` until the
//! app info appears, and the buyer's console calls it to show the credentials.

use std::collections::HashMap;

use koogate_protocol::crypto::credential::Iv;
use koogate_protocol::messages::instance::QueryInstance;
use koogate_protocol::messages::order::ChargingMode;
use koogate_protocol::messages::produce_response::UsageInfo;
use koogate_protocol::messages::{AppInfo, InstanceInfo, ProduceResponse};
use koogate_protocol::time::MarketTimeMillis;
use koogate_protocol::wire::UsageValue;

use crate::domain::replies::{Answer, Failure};
use crate::domain::{Gateway, app_info, lifecycle, metering};
use crate::store::Instance;

pub async fn run(gw: &Gateway, req: &QueryInstance) -> Result<Answer, Failure> {
    let ids: Vec<String> = req.ids().map(str::to_owned).collect();
    let found = gw.store.get_instances(&ids).await?;
    if found.is_empty() {
        return Err(Failure::InstanceNotFound(req.instance_id.clone()));
    }
    let usage = usage_of(gw, &found).await?;
    // Answer in the order asked; unknown ids are left out (KooGallery learns of them from the count).
    let mut infos = Vec::with_capacity(found.len());
    for id in &ids {
        if let Some(instance) = found.iter().find(|i| &i.instance_id == id) {
            let mut info = instance_info(gw, instance)?;
            info.usage_info = usage.get(id.as_str()).cloned();
            infos.push(info);
        }
    }
    let encrypt_type = gw.settings.encryption.wire_type();
    Ok(Answer::from_response(
        &ProduceResponse::success().with_info(infos, encrypt_type),
        gw.usage_field(),
    ))
}

/// Usage of the on-demand instances among `found` (saas-v2 §3.2: on-demand and on-demand
/// package instances must report it), as of now: the cumulative amount reported for an on-demand
/// instance, zero before the first report; for a package, one entry per on-demand instance whose
/// reports named it in `relatePkgInstance`, with that instance as `relatedInstanceId` (§3.2: one
/// usage entry per metered item), or one zero entry before any.
async fn usage_of(
    gw: &Gateway,
    found: &[Instance],
) -> Result<HashMap<String, Vec<UsageInfo>>, Failure> {
    let ids_of = |keep: fn(&ChargingMode) -> bool| -> Vec<String> {
        found
            .iter()
            .filter(|i| keep(&i.charging_mode))
            .map(|i| i.instance_id.clone())
            .collect()
    };
    let metered = ids_of(metering::is_metered);
    let packages = ids_of(metering::is_package);
    if metered.is_empty() && packages.is_empty() {
        return Ok(HashMap::new());
    }
    let now = MarketTimeMillis::from(gw.clock.now());
    let entry = |related: Option<&str>, value_e4: i64| UsageInfo {
        related_instance_id: related.map(str::to_owned),
        usage_value: UsageValue::from_ten_thousandths(u64::try_from(value_e4).unwrap_or(0)),
        statistical_time: now,
        dashboard_url: None,
    };
    let mut usage: HashMap<String, Vec<UsageInfo>> = HashMap::new();
    for id in metered.iter().chain(&packages) {
        usage.insert(id.clone(), Vec::new());
    }
    for total in gw.store.usage_totals(&metered).await? {
        if let Some(entries) = usage.get_mut(&total.instance_id) {
            entries.push(entry(None, total.value_e4));
        }
    }
    for deducted in gw.store.package_usage_totals(&packages).await? {
        if let Some(entries) = usage.get_mut(&deducted.package_id) {
            entries.push(entry(
                Some(&deducted.related_instance_id),
                deducted.value_e4,
            ));
        }
    }
    for entries in usage.values_mut() {
        if entries.is_empty() {
            entries.push(entry(None, 0));
        }
    }
    Ok(usage)
}

fn instance_info(gw: &Gateway, instance: &Instance) -> Result<InstanceInfo, Failure> {
    let app_info = match (
        &instance.app_info_sealed,
        lifecycle::shows_app_info(instance.status),
    ) {
        (Some(sealed), true) => {
            let plain = app_info::open(sealed, &gw.secret_box).map_err(|e| {
                Failure::Internal(format!(
                    "cannot open app info of {}: {e}",
                    instance.instance_id
                ))
            })?;
            Some(to_wire(gw, plain)?)
        }
        _ => None,
    };
    Ok(InstanceInfo {
        instance_id: instance.instance_id.clone(),
        app_info,
        usage_info: None,
    })
}

/// Encrypts the credentials as configured; everything else goes out as stored.
fn to_wire(gw: &Gateway, info: AppInfo) -> Result<AppInfo, Failure> {
    let cipher = gw.settings.credential_cipher.as_ref();
    let seal = |value: Option<String>| -> Result<Option<String>, Failure> {
        match (value, cipher) {
            (Some(v), Some(cipher)) => cipher
                .encrypt_checked(&Iv::random(), &v)
                .map(Some)
                .map_err(|e| Failure::Internal(format!("credential cannot be delivered: {e}"))),
            (value, _) => Ok(value),
        }
    };
    Ok(AppInfo {
        front_end_url: info.front_end_url,
        admin_url: info.admin_url,
        user_name: seal(info.user_name)?,
        password: seal(info.password)?,
        memo: info.memo,
    })
}
