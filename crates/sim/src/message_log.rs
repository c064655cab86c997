//! The seller center's 生产接口消息 (production-interface messages): every call of a flow that
//! failed at least once, with its status, attempts and last error, and the "重新启动" button
//! ([`MessageLog::retrigger`]) that re-sends it by hand (spec saas-v2 §1.1; license-kit §2.2.3,
//! §7: "the merchant can press 重新启动 to retry manually during or after that window").

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::retry::CallKind;
use crate::scenario::{Bindings, Engine, ExchangeRecord};

/// Where a failing call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageStatus {
    /// Failed; KooGallery's schedule has attempts left.
    Retrying,
    /// A later scheduled attempt succeeded.
    Recovered,
    /// The schedule ran out; only a manual retry can finish it.
    Failed,
    /// The schedule ran out and the order was refunded (new purchase, upgrade).
    Refunded,
    /// A manual retry succeeded.
    Resolved,
}

/// What a manual retry re-sends: the step's template, the values it was filled with, and the
/// codes that count as success. A fresh `businessId`, nonce and timestamp go with each resend.
#[derive(Debug, Clone)]
pub(crate) struct Resend {
    pub body: Value,
    pub bindings: Bindings,
    pub accept: Vec<String>,
}

/// One entry of the message list.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: u64,
    pub flow: String,
    pub step: usize,
    pub activity: String,
    pub kind: Option<CallKind>,
    pub order_id: Option<String>,
    pub status: MessageStatus,
    /// Every attempt so far, scheduled and manual.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub first_failure: DateTime<Utc>,
    pub last_attempt: DateTime<Utc>,
    /// IDs in the exchange record, oldest first.
    pub exchanges: Vec<u64>,
    #[serde(skip)]
    pub(crate) resend: Resend,
}

/// Why a manual retry did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetriggerError {
    #[error("no message with id {0}")]
    NotFound(u64),
}

/// The shared message list. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct MessageLog(Arc<Mutex<Vec<Message>>>);

/// What the engine knows when a call first fails.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub flow: String,
    pub step: usize,
    pub activity: String,
    pub kind: Option<CallKind>,
    pub order_id: Option<String>,
    pub at: DateTime<Utc>,
    pub resend: Resend,
}

impl MessageLog {
    /// Every message, oldest first.
    pub fn all(&self) -> Vec<Message> {
        self.lock().clone()
    }

    pub fn get(&self, id: u64) -> Option<Message> {
        self.lock().iter().find(|m| m.id == id).cloned()
    }

    /// Re-sends the call of message `id` once, now, and records the exchange. On success the
    /// message becomes [`MessageStatus::Resolved`] and its order fulfilled.
    pub async fn retrigger(
        &self,
        engine: &Engine,
        id: u64,
    ) -> Result<ExchangeRecord, RetriggerError> {
        let message = self.get(id).ok_or(RetriggerError::NotFound(id))?;
        let (record, instance_id) = engine.resend(&message).await;
        self.attempted(id, record.id, record.at, failure(&record));
        if record.ok {
            self.set_status(id, MessageStatus::Resolved);
            engine.manual_call_succeeded(
                &message.activity,
                &record.request.body,
                instance_id.as_deref(),
            );
            if let Some(order_id) = &message.order_id {
                engine.orders().settle(
                    order_id,
                    crate::scenario::OrderStatus::Fulfilled,
                    instance_id.as_deref(),
                );
            }
        }
        Ok(record)
    }

    pub(crate) fn open(&self, new: NewMessage) -> u64 {
        let mut log = self.lock();
        let id = u64::try_from(log.len()).unwrap_or(u64::MAX - 1) + 1;
        log.push(Message {
            id,
            flow: new.flow,
            step: new.step,
            activity: new.activity,
            kind: new.kind,
            order_id: new.order_id,
            status: MessageStatus::Retrying,
            attempts: 0,
            last_error: None,
            first_failure: new.at,
            last_attempt: new.at,
            exchanges: Vec::new(),
            resend: new.resend,
        });
        id
    }

    /// Counts one attempt; `error` is `None` when it succeeded.
    pub(crate) fn attempted(
        &self,
        id: u64,
        exchange: u64,
        at: DateTime<Utc>,
        error: Option<String>,
    ) {
        self.update(id, |m| {
            m.attempts += 1;
            m.last_attempt = at;
            m.exchanges.push(exchange);
            if error.is_some() {
                m.last_error = error;
            }
        });
    }

    pub(crate) fn set_status(&self, id: u64, status: MessageStatus) {
        self.update(id, |m| m.status = status);
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Message)) {
        if let Some(message) = self.lock().iter_mut().find(|m| m.id == id) {
            change(message);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Message>> {
        // Each change is a few field writes under the lock: a poisoned lock holds usable data.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The error of a failed exchange (its first failed verdict, which names the check and carries
/// the transport error), `None` for a successful one.
pub(crate) fn failure(record: &ExchangeRecord) -> Option<String> {
    if record.ok {
        return None;
    }
    let verdict = record
        .verdicts
        .iter()
        .find(|c| !c.ok)
        .map(|c| match &c.detail {
            Some(detail) => format!("{}: {detail}", c.name),
            None => c.name.clone(),
        });
    verdict.or_else(|| record.error.clone())
}
