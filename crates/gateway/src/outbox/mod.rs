//! The durable webhook outbox: how lifecycle events reach the vendor's system.
//!
//! # Design
//!
//! The pattern is the one of zero-to-production's issue-delivery worker and registry-server's job
//! queue, with svix's retry arithmetic:
//!
//! 1. **Enqueue in the caller's transaction.** A request handler never calls a hook. It puts
//!    [`NewEvent`](crate::store::NewEvent)s in the same [`Commit`](crate::store::Commit) as the
//!    state change and the stored response, so an acknowledged call always has its events and a
//!    rolled-back one never does. It then wakes the worker ([`Worker::notify`]).
//! 2. **Claim with a lease.** [`Worker::run_once`] asks the store for the oldest due event whose
//!    ordering key (the instance id) has no earlier undelivered, live event. That gives
//!    per-instance ordering and lets instances proceed independently. The claim is a lease: a
//!    worker that crashes mid-delivery simply lets it expire, and another worker sends the event
//!    again. Delivery is therefore **at least once**, always with the same `webhook-id`, so
//!    receivers deduplicate on it.
//! 3. **Send, then record.** The [`Sink`] signs and posts the payload ([`HookSink`]), or does
//!    nothing when no hook is configured ([`NullSink`]). Success marks the event delivered; a
//!    [`DeliveryEffects`] can turn the hook's answer into a [`Commit`](crate::store::Commit) that
//!    is applied in the same transaction as the completion. DeliveryFailure asks the pure
//!    [`RetrySchedule`] for the next attempt time, or parks the event as dead (non-retryable
//!    answer, or retries used up); an operator can re-deliver dead events. A dead event does not
//!    block the later events of its instance.
//! 4. **Never panic the loop.** Sink and effects run in their own tasks; a panic is a retryable
//!    failure. Store errors are logged and the claimed event waits for its lease to expire.
//!
//! Time comes only from the injected [`Clock`](crate::clock::Clock), randomness (jitter) is passed
//! into the arithmetic, and [`Worker::run_pending`] drains everything due without sleeping, so
//! tests move a [`ManualClock`](crate::clock::ManualClock) instead of waiting.
//!
//! # Metrics
//!
//! - `koogate_hook_deliveries_total{outcome="delivered"|"retry"|"dead"}` (counter)
//! - `koogate_hook_delivery_seconds` (histogram; the send, without recording)
//! - `koogate_outbox_depth`, `koogate_outbox_oldest_age_seconds`, `koogate_outbox_dead` (gauges,
//!   refreshed by [`Worker::run`] at most once a second)

mod backoff;
mod sink;
mod worker;

pub use backoff::RetrySchedule;
pub use sink::{
    DEFAULT_TIMEOUT, DeliveryFailure, HookSink, HookSinkError, MAX_RESPONSE_BYTES, NullSink, Sink,
    status_is_retryable,
};
pub use worker::{DEFAULT_LEASE, DeliveryEffects, NoEffects, Outcome, POLL_INTERVAL, Worker};
