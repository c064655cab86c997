//! `newInstance` (spec saas-v2 §3.1): one instance per purchase, however often KooGallery asks.
//!
//! Idempotency works on two levels. The call's own key `newInstance:{orderId}:{orderLineId}`
//! replays the stored answer byte for byte. The instance's key (`line:{orderId}:{orderLineId}`,
//! or `od:{orderId}:{productId}` for on-demand orders, whose several calls share one instance per
//! metered product) makes a different call for the same purchase reuse the same instance.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::instance::NewInstance;
use koogate_protocol::messages::order::{ChargingMode, OrderType};
use koogate_protocol::messages::{AppInfo, ProduceResponse};
use serde_json::json;

use crate::config::FrontEndUrlInNewInstance;
use crate::domain::events::{self, kind};
use crate::domain::replies::{Answer, Failure};
use crate::domain::{FetchedOrder, Gateway};
use crate::domain::{app_info, lifecycle, provision};
use crate::store::{Commit, CommitOutcome, Instance, InstanceStatus, InstanceWrite, OrderRecord};

pub async fn run(gw: &Gateway, req: &NewInstance, test: bool) -> Result<Answer, Failure> {
    let order_id = req
        .order_id()
        .ok_or_else(|| Failure::InvalidParameter("orderId is required".into()))?;
    let line_id = req.order_line_id().unwrap_or(order_id);
    let response_key = format!("newInstance:{order_id}:{line_id}");
    if let Some(stored) = gw.store.find_response(&response_key).await? {
        return Ok(Answer::replayed(stored.body));
    }
    // Ask for the line only when KooGallery named one. The legacy rich body names none, and
    // `line_id` then falls back to the order id, which is a key here but not a line the order
    // query knows: asking for it made every legacy call fail with 000005. Without a line the
    // query returns the whole order, and `FetchedOrder::line` picks its only line.
    let order = gw
        .marketplace
        .query_order(order_id, req.order_line_id())
        .await
        .map_err(|e| Failure::Internal(format!("order query: {e}")))?;
    let plan = Plan::from_order(&order, order_id, line_id)?;
    if let Some(existing) = gw.store.find_instance_by_key(&plan.idem_key).await? {
        return answer_for_existing(gw, response_key, &existing).await;
    }
    let instance_id = choose_instance_id(gw, req.business_id()).await?;
    let now = gw.clock.now();
    let ready = !gw.settings.hook_configured;
    let app_info = ready.then(|| gw.provisioner.provision(&instance_id));
    let instance = Instance {
        instance_id: instance_id.clone(),
        idem_key: plan.idem_key.clone(),
        order_id: order_id.to_owned(),
        order_line_id: line_id.to_owned(),
        product_id: plan.product_id.clone(),
        sku_code: plan.sku_code.clone(),
        charging_mode: plan.charging_mode.clone(),
        status: if ready {
            InstanceStatus::Active
        } else {
            InstanceStatus::Provisioning
        },
        trial: plan.trial,
        expire_time: plan.expire_time,
        app_info_sealed: app_info
            .as_ref()
            .map(|a| crate::domain::app_info::seal(a, &gw.secret_box)),
        test_flag: test,
        version: 0,
        created_at: now,
        updated_at: now,
        released_at: None,
    };
    let code = if ready {
        ResultCode::Success
    } else {
        ResultCode::InProgress
    };
    let url = front_end_url(
        gw,
        &instance_id,
        app_info.as_ref().map(|a| a.front_end_url.clone()),
    );
    let answer = answer_with_id(gw, code, &instance_id, url);
    let data = json!({
        "orderId": order_id, "orderLineId": line_id, "productId": plan.product_id, "skuCode": plan.sku_code,
        "chargingMode": plan.charging_mode, "trial": plan.trial,
        "expireTime": plan.expire_time.map(|t| t.to_rfc3339()),
        "order": events::raw_order(&order.raw),
        "provisionedBy": if ready { "koogate" } else { "hook" },
    });
    let mut new_events = vec![events::event(
        kind::PROVISION,
        &instance_id,
        Some(&instance_id),
        test,
        data,
        now,
    )];
    if ready {
        new_events.push(events::event(
            kind::READY,
            &instance_id,
            Some(&instance_id),
            test,
            json!({}),
            now,
        ));
    }
    let commit = Commit {
        response: Some((response_key.clone(), answer.body.clone())),
        instance: Some(InstanceWrite::Insert(instance)),
        order: Some(order_record(&order, order_id, line_id, now)),
        events: new_events,
        complete_event: None,
        replace_responses: Vec::new(),
        license_code: None,
        now,
    };
    match gw.store.commit(commit).await? {
        CommitOutcome::Committed => {
            gw.wake_outbox();
            tracing::info!(
                instance_id,
                order_id,
                line_id,
                status = if ready { "active" } else { "provisioning" },
                "instance created"
            );
            if !ready && !gw.settings.provision_wait.is_zero() {
                return wait_for_hook(gw, &instance_id, &response_key, answer).await;
            }
            Ok(answer)
        }
        CommitOutcome::Replayed(stored) => Ok(Answer::replayed(stored.body)),
        CommitOutcome::InstanceExists(existing) => {
            answer_for_existing(gw, response_key, &existing).await
        }
        CommitOutcome::StaleInstance => Err(Failure::Internal(
            "unexpected stale instance on insert".into(),
        )),
    }
}

/// What the order says this purchase is.
struct Plan {
    idem_key: String,
    product_id: Option<String>,
    sku_code: Option<String>,
    charging_mode: ChargingMode,
    trial: bool,
    expire_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Plan {
    fn from_order(order: &FetchedOrder, order_id: &str, line_id: &str) -> Result<Self, Failure> {
        let info = &order.info;
        let line = order
            .line(line_id)
            .ok_or_else(|| Failure::Internal(format!("order {order_id} has no line {line_id}")))?;
        let product = line.product_info.first();
        let product_id = product.and_then(|p| p.product_id.clone());
        let idem_key = match (&line.charging_mode, &product_id) {
            (ChargingMode::OnDemand, Some(product_id)) => format!("od:{order_id}:{product_id}"),
            _ => format!("line:{order_id}:{line_id}"),
        };
        Ok(Self {
            idem_key,
            sku_code: product.and_then(|p| p.sku_code.clone()),
            product_id,
            charging_mode: line.charging_mode.clone(),
            trial: info.order_type == OrderType::Trial,
            expire_time: line.expire_at(),
        })
    }
}

fn answer_with_id(
    gw: &Gateway,
    code: ResultCode,
    instance_id: &str,
    front_end_url: Option<String>,
) -> Answer {
    let mut response = ProduceResponse::new(code).with_instance_id(instance_id);
    // Only the URL: credentials belong in queryInstance, which encrypts them when configured.
    response.app_info = front_end_url.map(|front_end_url| AppInfo {
        front_end_url,
        admin_url: None,
        user_name: None,
        password: None,
        memo: None,
    });
    Answer::from_response(&response, gw.usage_field())
}

/// The `frontEndUrl` a newInstance answer carries under `frontend_url_in_new_instance`, given
/// the one koogate knows (`known`) at answer time.
fn front_end_url(gw: &Gateway, instance_id: &str, known: Option<String>) -> Option<String> {
    match gw.settings.frontend_url_in_new_instance {
        FrontEndUrlInNewInstance::Never => None,
        FrontEndUrlInNewInstance::WhenKnown => known,
        FrontEndUrlInNewInstance::Always => known.or_else(|| {
            Some(
                gw.provisioner
                    .frontend_url_template
                    .replace("{instanceId}", instance_id),
            )
        }),
    }
}

/// With `provision_wait` set: waits (at most that long) for the hook's answer to
/// `instance.provision`, then answers what is stored for this call, which a refusal committed
/// in the meantime has replaced. Anything else (app info, "later", no answer yet) keeps the
/// `000004` already stored, so KooGallery's retries see the same bytes as this answer.
async fn wait_for_hook(
    gw: &Gateway,
    instance_id: &str,
    response_key: &str,
    answer: Answer,
) -> Result<Answer, Failure> {
    const POLL: std::time::Duration = std::time::Duration::from_millis(20);
    let deadline = tokio::time::Instant::now() + gw.settings.provision_wait;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        let status = gw.store.get_instance(instance_id).await?.map(|i| i.status);
        if status != Some(InstanceStatus::Provisioning) {
            break;
        }
        let answered = gw
            .store
            .list_events(Some(instance_id), 10)
            .await?
            .iter()
            .any(|e| e.event_type == kind::PROVISION && (e.delivered_at.is_some() || e.dead));
        if answered {
            break;
        }
    }
    Ok(match gw.store.find_response(response_key).await? {
        Some(stored) => Answer::replayed(stored.body),
        None => answer,
    })
}

/// Another call already created the instance for this purchase: answer with its id, and store
/// that answer under this call's key so repeats of this call stay byte-identical.
async fn answer_for_existing(
    gw: &Gateway,
    response_key: String,
    existing: &Instance,
) -> Result<Answer, Failure> {
    let refused = match existing.status {
        InstanceStatus::Failed => gw
            .store
            .find_response(&provision::refusal_key(&existing.instance_id))
            .await?
            .map(|stored| Answer::replayed(stored.body)),
        _ => None,
    };
    let answer = match refused {
        Some(refusal) => refusal,
        None => {
            let code = match existing.status {
                InstanceStatus::Provisioning => ResultCode::InProgress,
                _ => ResultCode::Success,
            };
            let known = existing
                .app_info_sealed
                .as_deref()
                .filter(|_| lifecycle::shows_app_info(existing.status))
                .and_then(|sealed| app_info::open(sealed, &gw.secret_box).ok())
                .map(|info| info.front_end_url);
            let url = front_end_url(gw, &existing.instance_id, known);
            answer_with_id(gw, code, &existing.instance_id, url)
        }
    };
    let commit = Commit {
        response: Some((response_key, answer.body.clone())),
        now: gw.clock.now(),
        ..Commit::default()
    };
    match gw.store.commit(commit).await? {
        CommitOutcome::Replayed(stored) => Ok(Answer::replayed(stored.body)),
        _ => Ok(answer),
    }
}

/// The spec recommends the first call's `businessId` as the instance id; fall back to a fresh
/// id when it is absent, unusable in URLs, or (impossibly, but cheaply checked) taken.
async fn choose_instance_id(gw: &Gateway, business_id: Option<&str>) -> Result<String, Failure> {
    let usable = |id: &&str| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if let Some(id) = business_id.filter(usable)
        && gw.store.get_instance(id).await?.is_none()
    {
        return Ok(id.to_owned());
    }
    Ok(uuid::Uuid::new_v4().to_string())
}

pub(super) fn order_record(
    order: &FetchedOrder,
    order_id: &str,
    line_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> OrderRecord {
    OrderRecord {
        order_id: order_id.to_owned(),
        order_line_id: line_id.to_owned(),
        order_type: order.info.order_type.as_str().to_owned(),
        raw: order.raw.clone(),
        fetched_at: now,
    }
}
