//! The JSON record of every exchange the engine made: request, response and verdicts. Tests read
//! it through the `SimHandle`; `koogate sim --json` writes it to a file.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::produce_client::{Reply, SignedRequest};

/// Why an exchange was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// An attempt of the step's retry schedule.
    Scheduled,
    /// A `queryInstance` poll after `newInstance` answered `000004`.
    Poll,
    /// A "重新启动" from the message log.
    Manual,
}

/// One named check of an answer, as the seller center words its failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    pub fn pass(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ok: true,
            detail: None,
        }
    }

    pub fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            ok: false,
            detail: Some(detail.into()),
        }
    }
}

/// What was sent. The access key never appears; the signature is a MAC and safe to show.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub url: String,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
    /// The body as JSON, or as a string when it is not JSON.
    pub body: Value,
}

impl RequestRecord {
    pub fn new(url: &str, request: &SignedRequest) -> Self {
        Self {
            url: url.to_owned(),
            timestamp: request.timestamp.clone(),
            nonce: request.nonce.clone(),
            signature: request.signature.clone(),
            body: serde_json::from_slice(&request.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into())),
        }
    }
}

/// What came back.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub latency_ms: u64,
    pub result_code: Option<String>,
}

impl From<&Reply> for ResponseRecord {
    fn from(reply: &Reply) -> Self {
        Self {
            status: reply.status,
            headers: reply.headers.clone(),
            body: String::from_utf8_lossy(&reply.body).into_owned(),
            latency_ms: u64::try_from(reply.latency.as_millis()).unwrap_or(u64::MAX),
            result_code: reply.result_code().map(str::to_owned),
        }
    }
}

/// One request KooGallery (the simulator) sent and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeRecord {
    /// Assigned by the log, from 1.
    pub id: u64,
    pub flow: String,
    /// Index of the step in its flow.
    pub step: usize,
    pub activity: String,
    pub trigger: Trigger,
    /// 1-based: the attempt of the schedule, the poll number, or the manual retry number.
    pub attempt: u32,
    /// Virtual time of the attempt.
    pub at: DateTime<Utc>,
    /// Virtual seconds since the step's first attempt.
    pub offset_secs: u64,
    pub request: RequestRecord,
    pub response: Option<ResponseRecord>,
    /// Transport failure (unreachable, timeout) or a body the engine could not even build.
    pub error: Option<String>,
    pub verdicts: Vec<Check>,
    /// Every verdict passed.
    pub ok: bool,
    /// Set on the extra exchanges fault injection made (probes, copies, late answers), whose
    /// verdicts are the fault's expectations; `None` for KooGallery's own calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::faults::FaultKind>,
}

/// The shared, append-only exchange log. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct ExchangeLog(Arc<Mutex<Vec<ExchangeRecord>>>);

impl ExchangeLog {
    /// Stores `record` under the next ID and returns that ID.
    pub fn push(&self, mut record: ExchangeRecord) -> u64 {
        let mut log = self.lock();
        record.id = u64::try_from(log.len()).unwrap_or(u64::MAX - 1) + 1;
        let id = record.id;
        log.push(record);
        id
    }

    pub fn all(&self) -> Vec<ExchangeRecord> {
        self.lock().clone()
    }

    pub fn get(&self, id: u64) -> Option<ExchangeRecord> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.lock().get(index).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ExchangeRecord>> {
        // Only pushes and clones: a poisoned lock still holds consistent data.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
