//! Finishing a provision: the vendor's system reports app info, either in its answer to the
//! `instance.provision` hook or later through `POST /api/v1/instances/{id}/ready`. Both paths
//! build the same [`Commit`], so the app info, the new status and the `instance.ready` event are
//! stored together (and, for a hook answer, together with the event's completion).
//!
//! The hook may instead refuse the purchase with one of newInstance's own codes (`000100`–
//! `000107`, spec saas-v2 §5): the instance fails, and the refusal replaces the `000004` stored
//! for the newInstance call, in one commit, so KooGallery's retries get the refusal byte for byte.

use koogate_protocol::ResultCode;
use koogate_protocol::messages::ProduceResponse;
use serde::Deserialize;
use serde_json::json;

use super::events::{self, kind};
use super::lifecycle::{self, Transition};
use super::replies::Answer;
use super::{AppInfo, Gateway, app_info};
use crate::outbox::DeliveryFailure;
use crate::store::{Commit, Instance, InstanceStatus, InstanceWrite, OutboxEvent};

/// What a vendor's hook may answer to `instance.provision`. An empty or other body means "I
/// will call `/ready` later".
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionAnswer {
    app_info: Option<AppInfo>,
    /// Kept raw so that a malformed refusal is noticed (and retried), never read as "later".
    refuse: Option<serde_json::Value>,
}

/// The codes a vendor may refuse a purchase with: newInstance's own (spec saas-v2 §5).
pub const REFUSAL_CODES: [ResultCode; 8] = [
    ResultCode::NoInstanceResource,
    ResultCode::MobileConflict,
    ResultCode::EmailConflict,
    ResultCode::AlreadyPurchased,
    ResultCode::ProductServiceError,
    ResultCode::BenefitAlreadyOwned,
    ResultCode::SoldOut,
    ResultCode::EmailDomainConflict,
];

/// The codes a vendor may refuse a getLicenseAsync with: the online-License ones (license-kit
/// §3.2): quota exhausted, outside the order's validity, expiry required, fingerprint required.
pub const LICENSE_REFUSAL_CODES: [ResultCode; 4] = [
    ResultCode::LicenseQuotaExhausted,
    ResultCode::OutsideOrderValidity,
    ResultCode::ExpireTimeRequired,
    ResultCode::DeviceFingerprintRequired,
];

/// Longest refusal message kept, in characters (`resultMsg` is at most 255).
const MAX_REFUSAL_MESSAGE: usize = 255;

/// A vendor's refusal of a purchase, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ResultCode,
    /// Shown to the buyer: control characters removed, at most 255 characters, never empty.
    pub message: String,
}

impl Refusal {
    /// Reads `{"code":"000101","message":"…"}` (message optional: the code's default message).
    /// Only the codes in [`REFUSAL_CODES`] are accepted.
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        Self::parse_among(value, &REFUSAL_CODES, "000100-000107")
    }

    /// As [`Self::parse`], accepting the codes in `codes` (named `range` in the error).
    pub fn parse_among(
        value: &serde_json::Value,
        codes: &[ResultCode],
        range: &str,
    ) -> Result<Self, String> {
        let object = value.as_object().ok_or("refuse must be an object")?;
        let code = object
            .get("code")
            .and_then(|c| c.as_str())
            .ok_or("refuse.code must be a string")?;
        let code = ResultCode::parse(code);
        if !codes.contains(&code) {
            return Err(format!(
                "refuse.code {:?} is not one of {range}",
                code.code()
            ));
        }
        let message = match object.get("message") {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(m)) => m.clone(),
            Some(_) => return Err("refuse.message must be a string".into()),
        };
        // Control characters would reach a buyer's console and our logs; drop them.
        let clean: String = message
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_REFUSAL_MESSAGE)
            .collect();
        let clean = clean.trim();
        let message = if clean.is_empty() {
            code.default_message().to_owned()
        } else {
            clean.to_owned()
        };
        Ok(Self { code, message })
    }

    /// The answer (newInstance's or getLicenseAsync's) carrying this refusal.
    pub fn answer(&self, gw: &Gateway) -> Answer {
        Answer::from_response(
            &ProduceResponse::error(self.code.clone(), &self.message),
            gw.usage_field(),
        )
    }
}

/// Key under which an instance's refusal answer is stored, for newInstance calls that reach
/// the failed instance through another key (an on-demand order's other lines).
pub fn refusal_key(instance_id: &str) -> String {
    format!("newInstance-refusal:{instance_id}")
}

/// Whether the vendor refused the purchase behind `instance`. KooGallery was answered the
/// refusal and refunds the order, so the instance must not become ready afterwards.
pub async fn was_refused(gw: &Gateway, instance: &Instance) -> crate::store::StoreResult<bool> {
    if instance.status != InstanceStatus::Failed {
        return Ok(false);
    }
    Ok(gw
        .store
        .find_response(&refusal_key(&instance.instance_id))
        .await?
        .is_some())
}

/// The commit that fails `instance` with `refusal`, or `None` when the refusal comes too late
/// (the instance is no longer provisioning: ready, frozen, released or already failed).
pub fn refusal_commit(gw: &Gateway, instance: &Instance, refusal: &Refusal) -> Option<Commit> {
    if instance.status != InstanceStatus::Provisioning {
        return None;
    }
    let step = lifecycle::apply(instance.status, Transition::ProvisionFailed, false);
    let now = gw.clock.now();
    let mut next = instance.clone();
    next.status = step.next;
    next.updated_at = now;
    let body = refusal.answer(gw).body;
    let call_key = format!(
        "newInstance:{}:{}",
        instance.order_id, instance.order_line_id
    );
    Some(Commit {
        instance: Some(InstanceWrite::Update {
            instance: next,
            expected_version: instance.version,
        }),
        replace_responses: vec![
            (call_key, body.clone()),
            (refusal_key(&instance.instance_id), body),
        ],
        now,
        ..Commit::default()
    })
}

/// The commit that makes `instance` ready with `info`, or `None` when nothing changes (already
/// ready with the same info, or released in the meantime).
pub fn ready_commit(gw: &Gateway, instance: &Instance, info: &AppInfo) -> Option<Commit> {
    let step = lifecycle::apply(instance.status, Transition::Ready, true);
    let unchanged_info = instance
        .app_info_sealed
        .as_deref()
        .and_then(|sealed| app_info::open(sealed, &gw.secret_box).ok())
        .is_some_and(|stored| &stored == info);
    if instance.status == crate::store::InstanceStatus::Released
        || (!step.changed && unchanged_info)
    {
        return None;
    }
    let now = gw.clock.now();
    let mut next = instance.clone();
    next.status = step.next;
    next.app_info_sealed = Some(app_info::seal(info, &gw.secret_box));
    next.updated_at = now;
    let data = json!({"frontEndUrl": info.front_end_url, "status": next.status.as_str()});
    let event = events::event(
        kind::READY,
        &next.instance_id,
        Some(&next.instance_id),
        next.test_flag,
        data,
        now,
    );
    Some(Commit {
        instance: Some(InstanceWrite::Update {
            instance: next,
            expected_version: instance.version,
        }),
        events: vec![event],
        now,
        ..Commit::default()
    })
}

/// Why the vendor's `ready` report was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    #[error("app info is invalid: {0}")]
    Invalid(String),
    #[error("no instance {0}")]
    UnknownInstance(String),
    /// The vendor refused this purchase earlier; KooGallery was told and refunds it.
    #[error("this purchase was refused")]
    Refused,
    /// Another writer kept changing the instance between our read and our commit.
    #[error("the instance kept changing")]
    Busy,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// How often `mark_ready` re-reads an instance another writer changed under it.
const READY_ATTEMPTS: usize = 8;

/// `POST /api/v1/instances/{id}/ready`: validates the app info and applies it with the
/// optimistic-concurrency retry every instance write needs, answering the instance as stored.
/// A repeat on a ready instance changes nothing and answers it as it is.
pub async fn mark_ready(
    gw: &Gateway,
    instance_id: &str,
    info: &AppInfo,
) -> Result<Instance, ReadyError> {
    app_info::validate(info, gw.settings.encryption).map_err(ReadyError::Invalid)?;
    for _ in 0..READY_ATTEMPTS {
        let instance = gw
            .store
            .get_instance(instance_id)
            .await?
            .ok_or_else(|| ReadyError::UnknownInstance(instance_id.to_owned()))?;
        if was_refused(gw, &instance).await? {
            tracing::warn!(
                instance_id,
                "refusing /ready: the vendor refused this purchase and KooGallery refunds it"
            );
            return Err(ReadyError::Refused);
        }
        let Some(commit) = ready_commit(gw, &instance, info) else {
            return Ok(instance);
        };
        if gw.store.commit(commit).await? == crate::store::CommitOutcome::StaleInstance {
            continue;
        }
        gw.wake_outbox();
        let now = gw
            .store
            .get_instance(instance_id)
            .await?
            .unwrap_or(instance);
        tracing::info!(
            instance_id,
            status = now.status.as_str(),
            "instance marked ready by the vendor"
        );
        return Ok(now);
    }
    Err(ReadyError::Busy)
}

/// After `instance.provision` was delivered: app info in the hook's answer makes the instance
/// ready, a refusal fails it (an empty or other answer means "I will call `/ready` later").
pub async fn on_provision_answer(
    gw: &Gateway,
    event: &OutboxEvent,
    response: &[u8],
) -> Result<Option<Commit>, DeliveryFailure> {
    if response.is_empty() {
        return Ok(None);
    }
    let Ok(answer) = serde_json::from_slice::<ProvisionAnswer>(response) else {
        return Ok(None);
    };
    if let Some(raw) = &answer.refuse {
        return on_refusal(gw, event, raw).await;
    }
    let Some(info) = answer.app_info else {
        return Ok(None);
    };
    if let Err(problem) = app_info::validate(&info, gw.settings.encryption) {
        tracing::warn!(
            event_id = event.event_id,
            problem,
            "ignoring invalid app info in the hook's answer; call /ready with valid app info"
        );
        return Ok(None);
    }
    let Some(instance) = gw.store.get_instance(&event.ordering_key).await? else {
        return Ok(None);
    };
    Ok(ready_commit(gw, &instance, &info))
}

/// A refusal in the hook's answer. A malformed one (or one with a code outside 000100–000107)
/// is a failed delivery: retried, never forwarded to KooGallery.
async fn on_refusal(
    gw: &Gateway,
    event: &OutboxEvent,
    raw: &serde_json::Value,
) -> Result<Option<Commit>, DeliveryFailure> {
    let refusal = match Refusal::parse(raw) {
        Ok(refusal) => refusal,
        Err(problem) => {
            tracing::warn!(
                event_id = event.event_id,
                problem,
                "the hook's refusal of instance.provision is invalid; retrying the event"
            );
            return Err(DeliveryFailure::retryable(format!(
                "invalid refusal: {problem}"
            )));
        }
    };
    let Some(instance) = gw.store.get_instance(&event.ordering_key).await? else {
        return Ok(None);
    };
    let commit = refusal_commit(gw, &instance, &refusal);
    match &commit {
        Some(_) => tracing::info!(
            instance_id = instance.instance_id,
            code = refusal.code.code(),
            "the vendor refused the purchase; instance failed"
        ),
        None => tracing::warn!(
            instance_id = instance.instance_id,
            status = instance.status.as_str(),
            code = refusal.code.code(),
            "ignoring a refusal for an instance that is no longer provisioning"
        ),
    }
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_new_instance_codes_refuse() {
        for code in REFUSAL_CODES {
            let refusal = Refusal::parse(&json!({"code": code.code()})).unwrap();
            assert_eq!(refusal.code, code);
            assert_eq!(refusal.message, code.default_message());
        }
        for bad in [
            json!({"code": "000000"}),
            json!({"code": "000004"}),
            json!({"code": "000005"}),
            json!({"code": "000108"}),
            json!({"code": "000903"}),
            json!({"code": "100"}),
            json!({"code": 100}),
            json!({"message": "no code"}),
            json!({"code": "000100", "message": ["x"]}),
            json!("000100"),
        ] {
            assert!(Refusal::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_are_cleaned_and_bounded() {
        let parse = |m: serde_json::Value| {
            Refusal::parse(&json!({"code": "000101", "message": m}))
                .unwrap()
                .message
        };
        assert_eq!(parse(json!(" taken\r\n\u{1b}[31m ")), "taken[31m");
        assert_eq!(parse(json!("手".repeat(300))).chars().count(), 255);
        assert_eq!(
            parse(json!("")),
            "Mobile number not specified or already exists."
        );
    }
}
