//! The delivery loop: claim one due event, send it, record what happened, repeat.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::backoff::RetrySchedule;
use super::sink::{DeliveryFailure, Sink};
use crate::clock::SharedClock;
use crate::store::{Commit, CommitOutcome, OutboxEvent, Store};

/// How long a claim keeps other workers off an event. Must exceed the sink's timeout (10 s); the
/// worker also abandons a delivery that outlives its lease, since another worker may have taken
/// over. It is also how long an instance's events wait after a crash mid-delivery, so it is kept
/// at three times the timeout rather than longer.
pub const DEFAULT_LEASE: chrono::Duration = chrono::Duration::seconds(30);
/// How often an idle worker looks for due retries when nobody notifies it.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The outbox gauges are refreshed at most this often.
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// How often [`DeliveryEffects::on_delivered`] is asked again when its commit lost an
/// optimistic-concurrency race.
const MAX_EFFECT_ATTEMPTS: u32 = 5;
/// Longest failure text stored with an event.
const MAX_ERROR_CHARS: usize = 1_000;

/// Turns a hook's answer into a state change, applied in the same transaction that marks the
/// event delivered (e.g. the app info a vendor returns for `instance.provision`).
#[async_trait]
pub trait DeliveryEffects: Send + Sync + std::fmt::Debug {
    /// Called after the sink succeeded, with its response body. Return the [`Commit`] to apply
    /// (the worker sets `complete_event` on it), or `None` when the answer changes nothing.
    ///
    /// The commit may come back [`CommitOutcome::StaleInstance`]; the worker then calls this
    /// again (a few times), so read the instance afresh on every call. An `Err` is a delivery
    /// failure: a retryable one sends the hook again later with the same `webhook-id`, a
    /// permanent one parks the event as dead (store errors convert to retryable failures).
    async fn on_delivered(
        &self,
        event: &OutboxEvent,
        response: &[u8],
    ) -> Result<Option<Commit>, DeliveryFailure>;
}

/// Deliveries have no effect beyond marking the event delivered.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEffects;

#[async_trait]
impl DeliveryEffects for NoEffects {
    async fn on_delivered(
        &self,
        _event: &OutboxEvent,
        _response: &[u8],
    ) -> Result<Option<Commit>, DeliveryFailure> {
        Ok(None)
    }
}

/// What one [`Worker::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The event (by row id) was delivered and marked so.
    Delivered(i64),
    /// The attempt failed; the event is due again at `at`.
    Retry { id: i64, at: DateTime<Utc> },
    /// The attempt failed for good (or retries ran out); the event is parked until an operator
    /// re-delivers it.
    Dead(i64),
    /// Nothing is due.
    Empty,
    /// The store failed while claiming or recording (already logged). A claimed event keeps its
    /// lease and is picked up again once the lease expires; the loop backs off as on `Empty`.
    StoreFailed,
}

impl Outcome {
    fn metric_label(self) -> Option<&'static str> {
        match self {
            Self::Delivered(_) => Some("delivered"),
            Self::Retry { .. } => Some("retry"),
            Self::Dead(_) => Some("dead"),
            Self::Empty | Self::StoreFailed => None,
        }
    }
}

/// One outbox consumer. Cheap to clone; run as many as you like, in one process or several: the
/// store's claim (a lease, `FOR UPDATE SKIP LOCKED` on PostgreSQL) keeps them apart.
#[derive(Debug, Clone)]
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub sink: Arc<dyn Sink>,
    pub clock: SharedClock,
    pub schedule: RetrySchedule,
    pub lease: chrono::Duration,
    pub effects: Arc<dyn DeliveryEffects>,
    /// Wakes an idle [`Worker::run`]: call `notify_one()` after committing new events.
    pub notify: Arc<Notify>,
    /// Whether [`Worker::run`] refreshes the outbox gauges (one loop of several is enough).
    pub gauges: bool,
}

impl Worker {
    /// A worker with the default schedule and lease, no delivery effects and its own [`Notify`].
    pub fn new(store: Arc<dyn Store>, sink: Arc<dyn Sink>, clock: SharedClock) -> Self {
        Self {
            store,
            sink,
            clock,
            schedule: RetrySchedule::default(),
            lease: DEFAULT_LEASE,
            effects: Arc::new(NoEffects),
            notify: Arc::new(Notify::new()),
            gauges: true,
        }
    }

    /// The same worker, leaving the gauges to another loop.
    pub fn without_gauges(mut self) -> Self {
        self.gauges = false;
        self
    }

    pub fn with_schedule(mut self, schedule: RetrySchedule) -> Self {
        self.schedule = schedule;
        self
    }

    pub fn with_lease(mut self, lease: chrono::Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn with_effects(mut self, effects: Arc<dyn DeliveryEffects>) -> Self {
        self.effects = effects;
        self
    }

    /// Shares a [`Notify`] with the code that enqueues events.
    pub fn with_notify(mut self, notify: Arc<Notify>) -> Self {
        self.notify = notify;
        self
    }

    /// Claims and handles at most one due event. Never panics: a panicking sink or effect is a
    /// retryable failure, a store error is logged and reported as [`Outcome::StoreFailed`].
    pub async fn run_once(&self) -> Outcome {
        let event = match self.store.claim_event(self.clock.now(), self.lease).await {
            Ok(Some(event)) => {
                // There may be more: let another loop (if any is idle) look while this one
                // delivers.
                self.notify.notify_one();
                event
            }
            Ok(None) => return Outcome::Empty,
            Err(err) => {
                tracing::error!(error = %err, "could not claim an outbox event");
                return Outcome::StoreFailed;
            }
        };
        let span = tracing::info_span!(
            "hook_delivery",
            id = event.id,
            event_id = %event.event_id,
            event_type = %event.event_type,
            ordering_key = %event.ordering_key,
            attempt = i64::from(event.attempts) + 1,
        );
        let outcome = self.handle(event).instrument(span).await;
        if let Some(label) = outcome.metric_label() {
            metrics::counter!("koogate_hook_deliveries_total", "outcome" => label).increment(1);
        }
        outcome
    }

    /// Handles every event that is due now, one after another, and returns how many attempts it
    /// made. Stops when nothing is due (or the store fails). Tests call this instead of sleeping;
    /// retries scheduled in the future wait until the clock reaches them.
    pub async fn run_pending(&self) -> usize {
        let mut attempts = 0;
        loop {
            match self.run_once().await {
                Outcome::Empty | Outcome::StoreFailed => return attempts,
                Outcome::Delivered(_) | Outcome::Retry { .. } | Outcome::Dead(_) => attempts += 1,
            }
        }
    }

    /// Delivers until `shutdown` completes. When idle it waits for [`Self::notify`], the poll
    /// interval or shutdown, whichever comes first. A delivery in flight when shutdown arrives is
    /// finished and recorded before this returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut stats_due = Instant::now();
        tracing::debug!("outbox worker started");
        loop {
            if self.gauges && Instant::now() >= stats_due {
                self.refresh_gauges().await;
                stats_due = Instant::now() + STATS_INTERVAL;
            }
            let mut work = std::pin::pin!(self.run_once());
            let (outcome, stopping) = tokio::select! {
                outcome = &mut work => (outcome, false),
                () = &mut shutdown => (work.await, true),
            };
            if stopping {
                break;
            }
            if matches!(outcome, Outcome::Empty | Outcome::StoreFailed) {
                // Idle: wait to be woken. While there is work, each loop that claims an event
                // wakes one sibling (`run_once`), so a burst spreads over every loop.
                tokio::select! {
                    () = &mut shutdown => break,
                    () = self.notify.notified() => {}
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                }
            }
        }
        tracing::debug!("outbox worker stopped");
    }

    /// Sets `koogate_outbox_depth`, `koogate_outbox_oldest_age_seconds` and
    /// `koogate_outbox_dead` from the store.
    pub async fn refresh_gauges(&self) {
        match self.store.outbox_stats(self.clock.now()).await {
            Ok(stats) => {
                metrics::gauge!("koogate_outbox_depth").set(stats.depth as f64);
                metrics::gauge!("koogate_outbox_oldest_age_seconds")
                    .set(stats.oldest_age_secs as f64);
                metrics::gauge!("koogate_outbox_dead").set(stats.dead as f64);
            }
            Err(err) => tracing::warn!(error = %err, "could not read outbox statistics"),
        }
    }

    async fn handle(&self, event: OutboxEvent) -> Outcome {
        let started = Instant::now();
        let delivered = self.deliver(&event).await;
        metrics::histogram!("koogate_hook_delivery_seconds")
            .record(started.elapsed().as_secs_f64());
        let concluded = match delivered {
            Ok(response) => self.conclude(&event, response).await,
            Err(failure) => Err(failure),
        };
        match concluded {
            Ok(outcome) => outcome,
            Err(failure) => self.record_failure(&event, &failure).await,
        }
    }

    /// Runs the sink in its own task so that a panic in it cannot take the loop down, and
    /// abandons it when it outlives the lease (another worker may be delivering by then).
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        let sink = Arc::clone(&self.sink);
        let owned = event.clone();
        let limit = self
            .lease
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1));
        let mut task = tokio::spawn(async move { sink.deliver(&owned).await });
        let _abort = AbortOnDrop(task.abort_handle());
        match tokio::time::timeout(limit, &mut task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(DeliveryFailure::retryable(task_failure("sink", &join))),
            Err(_elapsed) => Err(DeliveryFailure::retryable(format!(
                "delivery abandoned after {}s (the lease)",
                limit.as_secs()
            ))),
        }
    }

    /// After a successful send: applies the hook's effect together with the completion.
    /// `Err` is a failure to record; `Ok` is the final outcome.
    async fn conclude(
        &self,
        event: &OutboxEvent,
        response: Vec<u8>,
    ) -> Result<Outcome, DeliveryFailure> {
        let response: Arc<[u8]> = response.into();
        for _ in 0..MAX_EFFECT_ATTEMPTS {
            let effects = Arc::clone(&self.effects);
            let (owned, body) = (event.clone(), Arc::clone(&response));
            let effect = tokio::spawn(async move { effects.on_delivered(&owned, &body).await })
                .await
                .map_err(|join| DeliveryFailure::retryable(task_failure("delivery effect", &join)))?
                .map_err(|failure| DeliveryFailure {
                    message: format!("applying the hook's answer failed: {}", failure.message),
                    ..failure
                })?;
            let Some(mut commit) = effect else {
                return Ok(self.complete(event).await);
            };
            commit.complete_event = Some(event.id);
            match self.store.commit(commit).await {
                Ok(CommitOutcome::Committed) => {
                    tracing::info!("hook delivered; its effect applied");
                    return Ok(Outcome::Delivered(event.id));
                }
                // The effect was applied by an earlier delivery of this event; nothing new.
                Ok(CommitOutcome::Replayed(_)) => return Ok(self.complete(event).await),
                Ok(CommitOutcome::InstanceExists(existing)) => {
                    return Err(DeliveryFailure::permanent(format!(
                        "the hook's answer would create instance {}, which exists already",
                        existing.instance_id
                    )));
                }
                Ok(CommitOutcome::StaleInstance) => {
                    tracing::debug!("instance changed while applying the hook's answer; retrying");
                }
                Err(err) => {
                    return Err(DeliveryFailure::retryable(format!(
                        "applying the hook's answer failed: {err}"
                    )));
                }
            }
        }
        Err(DeliveryFailure::retryable(
            "the instance kept changing while applying the hook's answer",
        ))
    }

    async fn complete(&self, event: &OutboxEvent) -> Outcome {
        match self.store.complete_event(event.id, self.clock.now()).await {
            Ok(()) => {
                tracing::info!("hook delivered");
                Outcome::Delivered(event.id)
            }
            Err(err) => {
                // The receiver has it; after the lease expires it gets it again, same webhook-id.
                tracing::error!(error = %err, "hook delivered but not recorded");
                Outcome::StoreFailed
            }
        }
    }

    async fn record_failure(&self, event: &OutboxEvent, failure: &DeliveryFailure) -> Outcome {
        let attempt = u32::try_from(event.attempts).unwrap_or(0).saturating_add(1);
        let delay = self
            .schedule
            .next_delay(attempt, failure, rand::random::<f64>());
        let now = self.clock.now();
        let retry_at = delay.map(|delay| {
            chrono::Duration::from_std(delay)
                .ok()
                .and_then(|delay| now.checked_add_signed(delay))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        let message = truncate(&failure.message, MAX_ERROR_CHARS);
        if let Err(err) = self.store.fail_event(event.id, &message, retry_at).await {
            tracing::error!(error = %err, failure = %message, "hook failed and the failure was not recorded");
            return Outcome::StoreFailed;
        }
        match retry_at {
            Some(at) => {
                tracing::warn!(
                    failure = %message,
                    status = failure.status,
                    retry_at = %at,
                    "hook delivery failed; will retry"
                );
                Outcome::Retry { id: event.id, at }
            }
            None => {
                tracing::error!(
                    failure = %message,
                    status = failure.status,
                    retryable = failure.retryable,
                    "hook delivery failed for good; event parked as dead"
                );
                Outcome::Dead(event.id)
            }
        }
    }
}

/// Aborts a spawned task when the future awaiting it is dropped (e.g. the worker is cancelled).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn task_failure(what: &str, join: &tokio::task::JoinError) -> String {
    if join.is_panic() {
        format!("the {what} panicked")
    } else {
        format!("the {what} was cancelled")
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("订单失败了", 2), "订单…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn only_attempts_are_counted_in_metrics() {
        assert_eq!(Outcome::Delivered(1).metric_label(), Some("delivered"));
        assert_eq!(Outcome::Dead(1).metric_label(), Some("dead"));
        assert_eq!(
            Outcome::Retry {
                id: 1,
                at: DateTime::<Utc>::MIN_UTC
            }
            .metric_label(),
            Some("retry")
        );
        assert_eq!(Outcome::Empty.metric_label(), None);
        assert_eq!(Outcome::StoreFailed.metric_label(), None);
    }
}
