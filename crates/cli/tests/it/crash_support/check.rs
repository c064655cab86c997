//! The checks, run once the load is over and the server is up again: from the clients' journal
//! and models, the webhook receiver's log and what the server reports through its vendor API.
//! Every check returns violations instead of panicking, so that a test can also show that a
//! damaged store is caught (`checker_detects_lost_acknowledged_instance`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::receiver::{Arrival, Receiver};
use super::workload::{self, CallKind, CallRecord, Expect, Outcome, Purchase, RETRY_CODE, Target};

/// Violation kinds: stable names the tests match on.
pub mod kind {
    pub const UNEXPECTED_CODE: &str = "unexpected result code";
    pub const HTTP_STATUS: &str = "non-200 answer";
    pub const NOT_IDENTICAL: &str = "repeat of an acknowledged call not byte-identical";
    pub const MISSING_INSTANCE: &str = "acknowledged instance missing";
    pub const DUPLICATE_INSTANCE: &str = "order line with two instances";
    pub const PHANTOM_INSTANCE: &str = "instance of an order never acknowledged";
    pub const WRONG_STATE: &str = "acknowledged change not reflected in the instance";
    pub const UNDELIVERED: &str = "event never delivered";
    pub const DEAD: &str = "event parked as dead";
    pub const NEVER_RECEIVED: &str = "event marked delivered but never received";
    pub const OUT_OF_ORDER: &str = "events of an instance delivered out of order";
    pub const LOST_EVENT: &str = "delivered event missing from the store";
    pub const EVENT_SEQUENCE: &str = "stored events differ from the acknowledged calls";
    pub const WEBHOOK: &str = "webhook delivery failed verification";
    pub const CLIENT: &str = "client-side problem";
    pub const API: &str = "vendor API failed";
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub kind: &'static str,
    pub detail: String,
}

impl Violation {
    fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Codes and byte identity, from the journal alone.
///
/// - every answer has HTTP 200 and a code the model allows for the call (or `000005`, "retry");
/// - for each call identity (a `newInstance` order line, a renewal order, ...), once a call was
///   acknowledged (`000000`/`000004`), every acknowledged answer, and every answer to a call sent
///   after that acknowledgement, is byte-identical to it.
pub fn journal_rules(journal: &[CallRecord]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&CallRecord>> = BTreeMap::new();
    for record in journal {
        match &record.outcome {
            Outcome::Http { status } => violations.push(Violation::new(
                kind::HTTP_STATUS,
                format!(
                    "{} answered HTTP {status}: {}",
                    record.activity,
                    text(&record.request)
                ),
            )),
            Outcome::Answered { code, body }
                if code != RETRY_CODE && !record.expected.contains(&code.as_str()) =>
            {
                violations.push(Violation::new(
                    kind::UNEXPECTED_CODE,
                    format!(
                        "{} expected {:?}, got {}: request {} answer {}",
                        record.activity,
                        record.expected,
                        code,
                        text(&record.request),
                        text(body)
                    ),
                ));
            }
            _ => {}
        }
        if let Some(identity) = &record.identity {
            groups.entry(identity).or_default().push(record);
        }
    }
    for (identity, calls) in groups {
        let Some(first) = calls
            .iter()
            .filter(|c| c.outcome.acked())
            .min_by_key(|c| c.done_at)
        else {
            continue;
        };
        let Outcome::Answered {
            body: reference, ..
        } = &first.outcome
        else {
            continue;
        };
        for call in &calls {
            let Outcome::Answered { body, .. } = &call.outcome else {
                continue;
            };
            let must_match = call.outcome.acked() || call.sent_at > first.done_at;
            if must_match && body != reference {
                violations.push(Violation::new(
                    kind::NOT_IDENTICAL,
                    format!(
                        "{identity}: first acknowledged {} then {} ({:?} call of client {})",
                        text(reference),
                        text(body),
                        call.kind,
                        call.client
                    ),
                ));
            }
        }
    }
    violations
}

/// After the last restart, every acknowledged call is sent once more (freshly signed; a
/// `newInstance` with a new `businessId`, as KooGallery's retries have) and must get the
/// acknowledged bytes back. Returns how many repeats were sent.
pub async fn final_repeats(
    target: &Target,
    purchases: &[Purchase],
    violations: &mut Vec<Violation>,
) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in purchases.chunks(purchases.len().div_ceil(4).max(1)) {
        let (target, chunk) = (target.clone(), chunk.to_vec());
        tasks.spawn(async move {
            let mut found = Vec::new();
            let mut sent = 0;
            for p in &chunk {
                let mut calls = Vec::new();
                if let Some(first) = &p.first_ack {
                    let request = workload::new_instance_repeat(&p.order_id, &p.line_id);
                    let identity = format!("newInstance:{}:{}", p.order_id, p.line_id);
                    calls.push((identity, request, first.clone()));
                }
                for acked in &p.repeatable {
                    calls.push((
                        acked.identity.clone(),
                        acked.request.clone(),
                        acked.answer.clone(),
                    ));
                }
                for (identity, request, expected) in calls {
                    sent += 1;
                    match workload::repeat(&target, &request).await {
                        Outcome::Answered { body, .. } if body == expected => {}
                        Outcome::Answered { body, .. } => found.push(Violation::new(
                            kind::NOT_IDENTICAL,
                            format!(
                                "{identity} after restart: acknowledged {} now {}",
                                text(&expected),
                                text(&body)
                            ),
                        )),
                        Outcome::Unknown(err) => found.push(Violation::new(
                            kind::API,
                            format!("{identity}: final repeat got no answer: {err}"),
                        )),
                        Outcome::Http { status } => found.push(Violation::new(
                            kind::HTTP_STATUS,
                            format!("{identity}: final repeat answered HTTP {status}"),
                        )),
                    }
                }
            }
            (sent, found)
        });
    }
    let mut sent = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((n, found)) => {
                sent += n;
                violations.extend(found);
            }
            Err(err) => violations.push(Violation::new(kind::CLIENT, err.to_string())),
        }
    }
    sent
}

/// Every instance the server has, by id.
pub async fn list_instances(target: &Target) -> Result<BTreeMap<String, Value>, String> {
    let mut all = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = target
            .api(&format!("/api/v1/instances?limit=500&offset={offset}"))
            .await?;
        let rows = page.as_array().cloned().unwrap_or_default();
        let n = rows.len();
        for row in rows {
            let id = row["instanceId"].as_str().unwrap_or_default().to_owned();
            all.insert(id, row);
        }
        if n < 500 {
            return Ok(all);
        }
        offset += n;
    }
}

/// One instance per acknowledged purchase, none for anything else, and no order line twice.
pub fn check_instances(
    instances: &BTreeMap<String, Value>,
    purchases: &[Purchase],
    violations: &mut Vec<Violation>,
) {
    let mut per_line: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for (id, row) in instances {
        let line = (
            row["orderId"].as_str().unwrap_or_default().to_owned(),
            row["orderLineId"].as_str().unwrap_or_default().to_owned(),
        );
        per_line.entry(line).or_default().push(id);
    }
    for ((order, line), ids) in &per_line {
        if ids.len() > 1 {
            violations.push(Violation::new(
                kind::DUPLICATE_INSTANCE,
                format!("{order}/{line}: {ids:?}"),
            ));
        }
    }
    let acked: HashSet<&str> = purchases
        .iter()
        .filter(|p| p.instance_id.is_some())
        .map(|p| p.order_id.as_str())
        .collect();
    for (order, line) in per_line.keys() {
        if !acked.contains(order.as_str()) {
            violations.push(Violation::new(
                kind::PHANTOM_INSTANCE,
                format!("{order}/{line}"),
            ));
        }
    }
    for p in purchases {
        let Some(id) = &p.instance_id else { continue };
        match instances.get(id) {
            None => violations.push(Violation::new(
                kind::MISSING_INSTANCE,
                format!(
                    "{} was acknowledged with instance {id} ({}), which the server does not have \
                     (its instances for the line: {:?})",
                    p.order_id,
                    text(p.first_ack.as_deref().unwrap_or_default()),
                    per_line
                        .get(&(p.order_id.clone(), p.line_id.clone()))
                        .cloned()
                        .unwrap_or_default()
                ),
            )),
            Some(row) if row["orderId"] != p.order_id.as_str() => violations.push(Violation::new(
                kind::MISSING_INSTANCE,
                format!("{id} belongs to {}", row["orderId"]),
            )),
            Some(_) => {}
        }
    }
}

/// The final status and expiry match the last acknowledged calls. Run after the outbox is
/// drained: by then every provision hook has answered, so an unfrozen instance is active.
pub fn check_state(
    instances: &BTreeMap<String, Value>,
    purchases: &[Purchase],
    violations: &mut Vec<Violation>,
) {
    for p in purchases {
        let Some(row) = p.instance_id.as_ref().and_then(|id| instances.get(id)) else {
            continue;
        };
        let expected = match p.state {
            Expect::Unfrozen => "active",
            Expect::Frozen => "frozen",
            Expect::Released => "released",
        };
        let status = row["status"].as_str().unwrap_or_default();
        if status != expected {
            violations.push(Violation::new(
                kind::WRONG_STATE,
                format!(
                    "{} ({}): status {status}, expected {expected}",
                    row["instanceId"], p.order_id
                ),
            ));
        }
        if let Some(expire) = &p.expire {
            let want = chrono::NaiveDateTime::parse_from_str(expire, "%Y%m%d%H%M%S")
                .map(|t| t.and_utc().timestamp())
                .ok();
            let have = row["expireTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp());
            if want.is_none() || want != have {
                violations.push(Violation::new(
                    kind::WRONG_STATE,
                    format!(
                        "{} ({}): expireTime {}, last acknowledged renewal says {expire}",
                        row["instanceId"], p.order_id, row["expireTime"]
                    ),
                ));
            }
        }
    }
}

/// An outbox row as the vendor API shows it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub delivered: bool,
    pub dead: bool,
    /// `data.orderId` of the payload (the renewal order for `instance.renewed`).
    pub order_id: Option<String>,
}

async fn events_of(target: &Target, instance: &str) -> Result<Vec<StoredEvent>, String> {
    let rows = target
        .api(&format!("/api/v1/events?instance={instance}&limit=500"))
        .await?;
    let mut events: Vec<StoredEvent> = rows
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| StoredEvent {
            id: e["id"].as_i64().unwrap_or_default(),
            event_id: e["eventId"].as_str().unwrap_or_default().to_owned(),
            event_type: e["eventType"].as_str().unwrap_or_default().to_owned(),
            delivered: !e["deliveredAt"].is_null(),
            dead: e["dead"].as_bool().unwrap_or_default(),
            order_id: e["payload"]["data"]["orderId"].as_str().map(str::to_owned),
        })
        .collect();
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// Every event of these instances, oldest first per instance.
pub async fn sweep(
    target: &Target,
    instances: &[String],
) -> Result<BTreeMap<String, Vec<StoredEvent>>, String> {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in instances.chunks(instances.len().div_ceil(4).max(1)) {
        let (target, chunk) = (target.clone(), chunk.to_vec());
        tasks.spawn(async move {
            let mut found = Vec::new();
            for id in chunk {
                let events = events_of(&target, &id).await?;
                found.push((id, events));
            }
            Ok::<_, String>(found)
        });
    }
    let mut all = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

fn outbox_depth(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with("koogate_outbox_depth "))
        .and_then(|line| line.split_whitespace().last()?.parse().ok())
}

/// The outbox once drained.
#[derive(Debug)]
pub struct Drained {
    /// Every event of the swept instances, oldest first per instance.
    pub events: BTreeMap<String, Vec<StoredEvent>>,
    /// Whether every one of them was delivered (or parked dead) before the deadline.
    pub settled: bool,
    /// The receiver's log as it was just before the last sweep began: each of these deliveries
    /// was committed before it was sent, so the sweep must find it.
    pub arrivals_before: Vec<Arrival>,
}

/// Waits until every event of these instances (and of every instance the receiver heard of) is
/// delivered or dead, at most until `deadline`. Cheap polls of the `koogate_outbox_depth` gauge
/// first, then a full sweep to be sure.
pub async fn drain(
    target: &Target,
    receiver: &Receiver,
    instances: &[String],
    deadline: Instant,
) -> Result<Drained, String> {
    loop {
        let depth = outbox_depth(&target.metrics().await);
        let timed_out = Instant::now() > deadline;
        if depth.is_none_or(|d| d == 0.0) || timed_out {
            let arrivals_before = receiver.arrivals();
            let mut ids: BTreeSet<String> = instances.iter().cloned().collect();
            ids.extend(arrivals_before.iter().filter_map(|a| a.instance_id.clone()));
            let ids: Vec<String> = ids.into_iter().collect();
            let events = sweep(target, &ids).await?;
            let settled = events.values().flatten().all(|e| e.delivered || e.dead);
            if settled || timed_out {
                return Ok(Drained {
                    events,
                    settled,
                    arrivals_before,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The outbox against the receiver's log and the clients' models:
/// - every stored event was delivered (and not parked dead), and the receiver did get it;
/// - every delivery the receiver got is still in the store (nothing delivered was lost);
/// - per instance, deliveries arrived in store order (a redelivery may repeat an event, but no
///   event arrives after a later one of its instance);
/// - per instance, the stored events are exactly those the acknowledged calls cause, in order
///   (one `instance.provision`, one event per acknowledged change, one renewal per renewal
///   order: nothing lost, nothing done twice), plus at most one `instance.ready`.
///
/// `drained.arrivals_before` (deliveries before the sweep) is checked against the store;
/// `arrivals` (the receiver's whole log, read after the sweep) against the stored events.
pub fn check_events(
    drained: &Drained,
    arrivals: &[Arrival],
    purchases: &[Purchase],
    violations: &mut Vec<Violation>,
) {
    let stored = &drained.events;
    let all_ids: HashSet<&str> = stored
        .values()
        .flatten()
        .map(|e| e.event_id.as_str())
        .collect();
    let mut lost = HashSet::new();
    for arrival in &drained.arrivals_before {
        if !all_ids.contains(arrival.webhook_id.as_str())
            && lost.insert(arrival.webhook_id.as_str())
        {
            violations.push(Violation::new(
                kind::LOST_EVENT,
                format!(
                    "{} {} of instance {:?} was delivered, the store no longer has it",
                    arrival.event_type, arrival.webhook_id, arrival.instance_id
                ),
            ));
        }
    }
    let mut per_instance: HashMap<&str, Vec<&str>> = HashMap::new();
    for arrival in arrivals {
        if let Some(instance) = &arrival.instance_id {
            per_instance
                .entry(instance)
                .or_default()
                .push(&arrival.webhook_id);
        }
    }
    for (instance, events) in stored {
        let received = per_instance
            .get(instance.as_str())
            .cloned()
            .unwrap_or_default();
        let received_set: HashSet<&str> = received.iter().copied().collect();
        for e in events {
            if e.dead {
                violations.push(Violation::new(kind::DEAD, format!("{instance}: {e:?}")));
            } else if !e.delivered {
                violations.push(Violation::new(
                    kind::UNDELIVERED,
                    format!("{instance}: {e:?}"),
                ));
            } else if !received_set.contains(e.event_id.as_str()) {
                violations.push(Violation::new(
                    kind::NEVER_RECEIVED,
                    format!("{instance}: {e:?}"),
                ));
            }
        }
        let position: HashMap<&str, usize> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.event_id.as_str(), i))
            .collect();
        let order: Vec<usize> = received
            .iter()
            .filter_map(|id| position.get(id).copied())
            .collect();
        if order.windows(2).any(|w| w[0] > w[1]) {
            let types: Vec<&str> = order
                .iter()
                .map(|&i| events[i].event_type.as_str())
                .collect();
            violations.push(Violation::new(
                kind::OUT_OF_ORDER,
                format!("{instance}: store order positions {order:?} ({types:?})"),
            ));
        }
    }
    for p in purchases {
        let Some(id) = &p.instance_id else { continue };
        let events = stored.get(id).cloned().unwrap_or_default();
        let readies = events
            .iter()
            .filter(|e| e.event_type == "instance.ready")
            .count();
        let actual: Vec<(String, Option<String>)> = events
            .iter()
            .filter(|e| e.event_type != "instance.ready")
            .map(|e| {
                let detail = (e.event_type == "instance.renewed")
                    .then(|| e.order_id.clone())
                    .flatten();
                (e.event_type.clone(), detail)
            })
            .collect();
        if actual != p.events || readies > 1 {
            violations.push(Violation::new(
                kind::EVENT_SEQUENCE,
                format!(
                    "{id} ({}): stored {actual:?} with {readies} instance.ready, the acknowledged calls make {:?}",
                    p.order_id, p.events
                ),
            ));
        }
    }
}

/// What the run did, for the report.
#[derive(Debug, Default)]
pub struct Figures {
    pub backend: String,
    pub replicas: usize,
    pub clients: usize,
    pub calls: usize,
    pub answered: usize,
    pub acked: usize,
    pub acked_before_a_kill: usize,
    pub unknown: usize,
    /// Calls in flight when a kill came (sent before it, unanswered): their outcome is unknown.
    pub cut_by_kill: usize,
    /// `newInstance` calls whose answer was lost (no answer: the server was killed) although
    /// they had committed: the instance carries their `businessId`. Proof that kills landed
    /// between a commit and its answer.
    pub committed_unanswered: usize,
    pub retry_answers: usize,
    pub exact_duplicates: usize,
    pub concurrent_resends: usize,
    pub cross_repeats: usize,
    /// Calls answered more than once during the load (a duplicate, a resend, a repeat), and how
    /// many of them were answered by more than one replica.
    pub repeated_calls: usize,
    pub repeated_on_several_replicas: usize,
    pub purchases: usize,
    pub instances: usize,
    pub events: usize,
    pub deliveries: usize,
    pub redeliveries: usize,
    pub kill_times: Vec<f64>,
    /// Which replica each kill hit (with several).
    pub killed_replicas: Vec<usize>,
    pub final_repeats: usize,
    pub load_secs: f64,
    pub drain_secs: f64,
    pub total_secs: f64,
}

impl Figures {
    pub fn count_journal(&mut self, journal: &[CallRecord], purchases: &[Purchase], kills: u32) {
        let instances: HashSet<&str> = purchases
            .iter()
            .filter_map(|p| p.instance_id.as_deref())
            .collect();
        self.committed_unanswered = journal
            .iter()
            .filter(|r| r.activity == "newInstance" && matches!(r.outcome, Outcome::Unknown(_)))
            .filter_map(|r| serde_json::from_slice::<Value>(&r.request).ok())
            .filter(|v| {
                v["businessId"]
                    .as_str()
                    .is_some_and(|b| instances.contains(b))
            })
            .count();
        self.calls = journal.len();
        let mut answered_by: HashMap<&str, Vec<usize>> = HashMap::new();
        for r in journal {
            if let (Some(identity), Outcome::Answered { .. }) = (&r.identity, &r.outcome) {
                answered_by.entry(identity).or_default().push(r.replica);
            }
        }
        let repeated: Vec<&Vec<usize>> = answered_by.values().filter(|r| r.len() > 1).collect();
        self.repeated_calls = repeated.len();
        self.repeated_on_several_replicas = repeated
            .iter()
            .filter(|replicas| replicas.iter().any(|r| *r != replicas[0]))
            .count();
        for r in journal {
            match &r.outcome {
                Outcome::Answered { code, .. } => {
                    self.answered += 1;
                    if code == RETRY_CODE {
                        self.retry_answers += 1;
                    }
                }
                Outcome::Unknown(_) => self.unknown += 1,
                Outcome::Http { .. } => {}
            }
            let cut = self
                .kill_times
                .iter()
                .any(|&k| r.sent_at.as_secs_f64() < k && k <= r.done_at.as_secs_f64());
            if cut && matches!(r.outcome, Outcome::Unknown(_)) {
                self.cut_by_kill += 1;
            }
            if r.outcome.acked() {
                self.acked += 1;
                if r.kills_at_done < kills {
                    self.acked_before_a_kill += 1;
                }
            }
            match r.kind {
                CallKind::ExactDuplicate => self.exact_duplicates += 1,
                CallKind::ConcurrentResend => self.concurrent_resends += 1,
                CallKind::CrossRepeat => self.cross_repeats += 1,
                CallKind::Step => {}
            }
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kills: Vec<String> = self
            .kill_times
            .iter()
            .enumerate()
            .map(|(i, t)| match self.killed_replicas.get(i) {
                Some(r) if self.replicas > 1 => format!("{t:.1}s replica-{r}"),
                _ => format!("{t:.1}s"),
            })
            .collect();
        write!(
            f,
            "crash test [{}]: {} replica(s), {} clients, {} calls ({} answered, {} acknowledged, {} of them before a later kill -9; \
             {} without answer ({} of them in flight at a kill, {} newInstance of them committed all the same), {} answered 000005; {} exact duplicates, {} concurrent resends, {} cross-client repeats; {} of {} calls answered more than once were answered by several replicas); \
             {} kill -9 at [{}] plus one after the load; {} purchases, {} instances, {} events, {} webhook deliveries \
             ({} redeliveries); {} final repeats byte-identical checked; load {:.1}s, outbox drained after {:.1}s, total {:.1}s",
            self.backend,
            self.replicas,
            self.clients,
            self.calls,
            self.answered,
            self.acked,
            self.acked_before_a_kill,
            self.unknown,
            self.cut_by_kill,
            self.committed_unanswered,
            self.retry_answers,
            self.exact_duplicates,
            self.concurrent_resends,
            self.cross_repeats,
            self.repeated_on_several_replicas,
            self.repeated_calls,
            self.kill_times.len(),
            kills.join(", "),
            self.purchases,
            self.instances,
            self.events,
            self.deliveries,
            self.redeliveries,
            self.final_repeats,
            self.load_secs,
            self.drain_secs,
            self.total_secs,
        )
    }
}
