//! The webhook outbox end to end: a real SQLite store on a temp file, the real `HookSink`, and a
//! real HTTP receiver (axum on `127.0.0.1:0`) that checks every signature with the protocol
//! crate's `verify`, independently of how the sender built its headers.
//!
//! Nothing sleeps: time is a `ManualClock` that the tests move past retry times and leases, and
//! `Worker::run_pending` drains whatever is due.

// Test helpers outside `#[test]` functions unwrap too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use koogate_gateway::clock::{Clock, ManualClock, SharedClock};
use koogate_gateway::outbox::{
    DeliveryEffects, DeliveryFailure, HookSink, MAX_RESPONSE_BYTES, NullSink, Outcome,
    RetrySchedule, Sink, Worker,
};
use koogate_gateway::store::{
    Commit, Instance, InstanceStatus, InstanceWrite, NewEvent, OutboxEvent, SqliteStore, Store,
};
use koogate_protocol::messages::order::ChargingMode;
use koogate_protocol::signing::webhook::{self, WebhookSecret};
use koogate_testkit::{Backend, TestDb};

// ---------------------------------------------------------------------------------------------
// Harness

/// The Standard Webhooks documentation's example secret.
const SECRET: &str = koogate_testkit::HOOK_SECRET;

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    webhook_id: String,
    signature_ok: bool,
    /// What the receiver answered.
    status: u16,
    user_agent: String,
    content_type: String,
    body: serde_json::Value,
}

impl Received {
    fn instance(&self) -> &str {
        self.body["instance"].as_str().unwrap()
    }

    fn seq(&self) -> u64 {
        self.body["seq"].as_u64().unwrap()
    }
}

#[derive(Debug)]
struct ReceiverState {
    secret: WebhookSecret,
    clock: ManualClock,
    /// Answer to every request: status and optional `Retry-After`.
    answer: Mutex<(u16, Option<u64>)>,
    /// Per-`webhook-id` answers that override `answer`.
    fail_ids: Mutex<HashMap<String, u16>>,
    /// Body of successful answers.
    response_body: Mutex<Vec<u8>>,
    /// When set, the next request is recorded and then never answered.
    hang_next: AtomicBool,
    received: Mutex<Vec<Received>>,
    /// Signalled on every request.
    arrived: tokio::sync::Notify,
}

/// A webhook receiver in the style of svix's `TestReceiver`.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(clock: ManualClock) -> Self {
        let state = Arc::new(ReceiverState {
            secret: WebhookSecret::parse(SECRET),
            clock,
            answer: Mutex::new((200, None)),
            fail_ids: Mutex::new(HashMap::new()),
            response_body: Mutex::new(b"{\"ok\":true}".to_vec()),
            hang_next: AtomicBool::new(false),
            received: Mutex::new(Vec::new()),
            arrived: tokio::sync::Notify::new(),
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn answer(&self, status: u16, retry_after: Option<u64>) {
        *self.state.answer.lock().unwrap() = (status, retry_after);
    }

    fn fail_id(&self, webhook_id: &str, status: u16) {
        self.state
            .fail_ids
            .lock()
            .unwrap()
            .insert(webhook_id.into(), status);
    }

    fn heal_id(&self, webhook_id: &str) {
        self.state.fail_ids.lock().unwrap().remove(webhook_id);
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests answered 2xx, in arrival order.
    fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let webhook_id = header(webhook::HEADER_ID);
    let signature_ok = webhook::verify(
        &state.secret,
        &webhook_id,
        &header(webhook::HEADER_TIMESTAMP),
        &header(webhook::HEADER_SIGNATURE),
        &body,
        state.clock.now().timestamp(),
    )
    .is_ok();
    let (mut status, retry_after) = *state.answer.lock().unwrap();
    if let Some(&failing) = state.fail_ids.lock().unwrap().get(&webhook_id) {
        status = failing;
    }
    state.received.lock().unwrap().push(Received {
        webhook_id,
        signature_ok,
        status,
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or_default(),
    });
    state.arrived.notify_one();
    if state.hang_next.swap(false, Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let mut response = if (200..300).contains(&status) {
        state.response_body.lock().unwrap().clone().into_response()
    } else {
        format!("refused with {status}").into_response()
    };
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    response
}

struct Harness {
    store: Arc<dyn Store>,
    clock: ManualClock,
    receiver: Receiver,
    _db: TestDb,
}

impl Harness {
    async fn new() -> Self {
        let db = TestDb::create(Backend::Sqlite).await;
        let store = SqliteStore::connect(db.url())
            .await
            .expect("open sqlite store");
        let clock = ManualClock::new(start_time());
        let receiver = Receiver::start(clock.clone()).await;
        Self {
            store: Arc::new(store),
            clock,
            receiver,
            _db: db,
        }
    }

    fn shared_clock(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    fn hook_sink_to(&self, url: &str) -> HookSink {
        HookSink::new(url, WebhookSecret::parse(SECRET), self.shared_clock()).unwrap()
    }

    fn worker_with(&self, sink: Arc<dyn Sink>) -> Worker {
        Worker::new(Arc::clone(&self.store), sink, self.shared_clock())
    }

    /// A worker delivering to the test receiver.
    fn worker(&self) -> Worker {
        self.worker_with(Arc::new(self.hook_sink_to(&self.receiver.url())))
    }

    fn advance_secs(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    /// Enqueues `{instance}-{seq}` events, one commit each, in the given order.
    async fn enqueue(&self, events: &[(&str, u64)]) {
        for &(instance, seq) in events {
            self.enqueue_typed(instance, seq, "instance.test").await;
        }
    }

    async fn enqueue_typed(&self, instance: &str, seq: u64, event_type: &str) {
        let commit = Commit {
            events: vec![new_event(instance, seq, event_type)],
            now: self.clock.now(),
            ..Commit::default()
        };
        self.store.commit(commit).await.unwrap();
    }

    /// Every stored event by webhook id.
    async fn events(&self) -> HashMap<String, OutboxEvent> {
        let events = self.store.list_events(None, 1_000).await.unwrap();
        events
            .into_iter()
            .map(|e| (e.event_id.clone(), e))
            .collect()
    }

    async fn event(&self, webhook_id: &str) -> OutboxEvent {
        self.events()
            .await
            .remove(webhook_id)
            .unwrap_or_else(|| panic!("no event {webhook_id}"))
    }
}

fn event_id(instance: &str, seq: u64) -> String {
    format!("evt-{instance}-{seq}")
}

fn new_event(instance: &str, seq: u64, event_type: &str) -> NewEvent {
    NewEvent {
        event_id: event_id(instance, seq),
        event_type: event_type.into(),
        ordering_key: instance.into(),
        payload: serde_json::json!({ "instance": instance, "seq": seq }).to_string(),
    }
}

/// `(instance, seq)` of each request, in arrival order.
fn sequence(received: &[Received]) -> Vec<(String, u64)> {
    received
        .iter()
        .map(|r| (r.instance().to_owned(), r.seq()))
        .collect()
}

/// The sequence numbers one instance received, in arrival order.
fn seqs_of(received: &[Received], instance: &str) -> Vec<u64> {
    received
        .iter()
        .filter(|r| r.instance() == instance)
        .map(Received::seq)
        .collect()
}

fn assert_each_once(received: &[Received]) {
    let mut seen = std::collections::HashSet::new();
    for r in received {
        assert!(
            seen.insert(r.webhook_id.clone()),
            "{} accepted twice",
            r.webhook_id
        );
    }
}

fn instance(id: &str, now: DateTime<Utc>) -> Instance {
    Instance {
        instance_id: id.into(),
        idem_key: format!("line:CS-{id}:1"),
        order_id: format!("CS-{id}"),
        order_line_id: "1".into(),
        product_id: Some("OFFI0001".into()),
        sku_code: None,
        charging_mode: ChargingMode::Period,
        status: InstanceStatus::Provisioning,
        trial: false,
        expire_time: None,
        app_info_sealed: None,
        test_flag: false,
        version: 1,
        created_at: now,
        updated_at: now,
        released_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// (1) Order, exactly once, valid signatures

#[tokio::test]
async fn events_are_delivered_in_order_exactly_once_and_signed() {
    let h = Harness::new().await;
    h.enqueue(&[("A", 1), ("B", 1), ("A", 2), ("B", 2), ("A", 3)])
        .await;
    let worker = h.worker();

    assert_eq!(worker.run_pending().await, 5);
    assert_eq!(worker.run_pending().await, 0, "nothing is delivered twice");

    let received = h.receiver.received();
    assert_eq!(received.len(), 5);
    assert_each_once(&received);
    assert_eq!(seqs_of(&received, "A"), [1, 2, 3]);
    assert_eq!(seqs_of(&received, "B"), [1, 2]);
    for r in &received {
        assert!(r.signature_ok, "bad signature on {}", r.webhook_id);
        assert_eq!(r.status, 200);
        assert_eq!(r.webhook_id, event_id(r.instance(), r.seq()));
        assert_eq!(r.content_type, "application/json");
        assert!(r.user_agent.starts_with("koogate/"), "{}", r.user_agent);
    }
    for (id, event) in h.events().await {
        assert!(event.delivered_at.is_some(), "{id} not marked delivered");
        assert_eq!(event.attempts, 1, "{id}");
        assert!(!event.dead);
    }
}

#[tokio::test]
async fn a_receiver_with_another_secret_rejects_the_signature() {
    let h = Harness::new().await;
    h.enqueue(&[("A", 1)]).await;
    let sink = HookSink::new(
        &h.receiver.url(),
        WebhookSecret::parse("whsec_c29tZSBvdGhlciBzZWNyZXQ="),
        h.shared_clock(),
    )
    .unwrap();
    assert_eq!(h.worker_with(Arc::new(sink)).run_pending().await, 1);
    assert!(!h.receiver.received()[0].signature_ok);
}

// ---------------------------------------------------------------------------------------------
// (2) Receiver down, then up

#[tokio::test]
async fn events_survive_a_receiver_outage_and_arrive_once_in_order() {
    let h = Harness::new().await;
    h.enqueue(&[("A", 1), ("B", 1), ("A", 2)]).await;

    // Phase 1: nothing listens at the hook's address.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = h.worker_with(Arc::new(h.hook_sink_to(&dead_url)));
    assert_eq!(unreachable.run_pending().await, 2, "A-2 waits behind A-1");
    let a1 = h.event(&event_id("A", 1)).await;
    assert_eq!(a1.attempts, 1);
    assert!(a1.delivered_at.is_none() && !a1.dead);
    let wait = a1.next_attempt_at - h.clock.now();
    assert!(
        wait >= Duration::milliseconds(4_500) && wait <= Duration::milliseconds(5_500),
        "{wait}"
    );
    assert!(
        a1.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("refused"),
        "{a1:?}"
    );
    assert!(
        !a1.last_error.unwrap().contains("/hook"),
        "no URL in stored errors"
    );

    // Phase 2: the receiver answers 503 with Retry-After: 50 (inside [30 s, 60 s] for attempt 2).
    let worker = h.worker();
    h.receiver.answer(503, Some(50));
    assert_eq!(worker.run_pending().await, 0, "not due yet");
    h.advance_secs(6);
    assert_eq!(worker.run_pending().await, 2);
    assert_eq!(
        sequence(&h.receiver.received()),
        [("A".into(), 1), ("B".into(), 1)]
    );
    for id in [event_id("A", 1), event_id("B", 1)] {
        let event = h.event(&id).await;
        assert_eq!(event.attempts, 2);
        let wait = event.next_attempt_at - h.clock.now();
        assert!(
            wait >= Duration::seconds(50) && wait <= Duration::seconds(55),
            "{id}: {wait}"
        );
        assert!(
            event.last_error.as_deref().unwrap().starts_with("HTTP 503"),
            "{event:?}"
        );
    }

    // Phase 3: the receiver is back. The schedule alone (≤ 33 s) would be due by now; the
    // receiver's Retry-After is not.
    h.receiver.answer(200, None);
    h.advance_secs(40);
    assert_eq!(worker.run_pending().await, 0);
    h.advance_secs(20);
    assert_eq!(worker.run_pending().await, 3);
    assert_eq!(worker.run_pending().await, 0);

    let accepted = h.receiver.accepted();
    assert_eq!(accepted.len(), 3);
    assert_each_once(&accepted);
    assert_eq!(seqs_of(&accepted, "A"), [1, 2]);
    assert_eq!(seqs_of(&accepted, "B"), [1]);
    assert!(h.receiver.received().iter().all(|r| r.signature_ok));
    let events = h.events().await;
    assert_eq!(events[&event_id("A", 1)].attempts, 3);
    assert_eq!(events[&event_id("B", 1)].attempts, 3);
    assert_eq!(events[&event_id("A", 2)].attempts, 1);
    assert!(events.values().all(|e| e.delivered_at.is_some()));
}

// ---------------------------------------------------------------------------------------------
// (3) A permanent refusal parks the event; the instance keeps flowing; re-delivery revives it

#[tokio::test]
async fn a_400_is_dead_at_once_and_does_not_block_the_instance() {
    let h = Harness::new().await;
    h.receiver.fail_id(&event_id("A", 1), 400);
    h.receiver.fail_id(&event_id("B", 1), 410);
    h.enqueue(&[("A", 1), ("A", 2), ("A", 3), ("B", 1)]).await;
    let worker = h.worker();

    let a1 = h.event(&event_id("A", 1)).await;
    assert_eq!(worker.run_once().await, Outcome::Dead(a1.id));
    assert_eq!(worker.run_pending().await, 3);

    let events = h.events().await;
    for id in [event_id("A", 1), event_id("B", 1)] {
        let event = &events[&id];
        assert!(event.dead && event.delivered_at.is_none(), "{event:?}");
        assert_eq!(event.attempts, 1, "no retry for a permanent refusal");
    }
    assert!(
        events[&event_id("A", 1)]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("HTTP 400")
    );
    assert!(
        events[&event_id("B", 1)]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("HTTP 410")
    );
    assert!(events[&event_id("A", 2)].delivered_at.is_some());
    assert!(events[&event_id("A", 3)].delivered_at.is_some());
    assert_eq!(seqs_of(&h.receiver.accepted(), "A"), [2, 3]);

    // The operator fixes the receiver and re-delivers.
    h.receiver.heal_id(&event_id("A", 1));
    assert!(h.store.redeliver_event(a1.id, h.clock.now()).await.unwrap());
    assert_eq!(worker.run_pending().await, 1);
    let revived = h.event(&event_id("A", 1)).await;
    assert!(
        revived.delivered_at.is_some() && !revived.dead,
        "{revived:?}"
    );
    assert_eq!(seqs_of(&h.receiver.accepted(), "A"), [2, 3, 1]);
    assert_each_once(&h.receiver.accepted());
}

// ---------------------------------------------------------------------------------------------
// (4) A panicking sink is a failure, not the end of the worker

#[derive(Debug)]
struct PanicsOnBoom(HookSink);

#[async_trait]
impl Sink for PanicsOnBoom {
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        assert!(
            event.event_type != "boom",
            "sink blew up on {}",
            event.event_id
        );
        self.0.deliver(event).await
    }
}

#[tokio::test]
async fn a_panicking_sink_counts_as_a_failure_and_the_worker_goes_on() {
    let h = Harness::new().await;
    h.enqueue_typed("A", 1, "boom").await;
    h.enqueue(&[("B", 1), ("A", 2)]).await;
    let schedule = RetrySchedule {
        delays: vec![std::time::Duration::from_secs(10)],
        max_attempts: 2,
    };
    let worker = h
        .worker_with(Arc::new(PanicsOnBoom(h.hook_sink_to(&h.receiver.url()))))
        .with_schedule(schedule);

    let a1 = h.event(&event_id("A", 1)).await;
    let Outcome::Retry { id, at } = worker.run_once().await else {
        panic!("expected a retry")
    };
    assert_eq!(id, a1.id);
    assert!(at > h.clock.now());
    assert!(
        h.event(&event_id("A", 1))
            .await
            .last_error
            .unwrap()
            .contains("panicked")
    );

    assert_eq!(
        worker.run_pending().await,
        1,
        "B-1 flows; A-2 waits behind A-1"
    );
    assert_eq!(sequence(&h.receiver.accepted()), [("B".into(), 1)]);

    // The second panic uses up the attempts: A-1 is dead and A-2 follows.
    h.advance_secs(12);
    assert_eq!(worker.run_once().await, Outcome::Dead(a1.id));
    assert_eq!(worker.run_pending().await, 1);
    assert_eq!(
        sequence(&h.receiver.accepted()),
        [("B".into(), 1), ("A".into(), 2)]
    );
}

// ---------------------------------------------------------------------------------------------
// (5) A delivery's effect and its completion are one transaction

/// Marks the instance active with the hook's answer as app info and enqueues `instance.ready`.
/// The first `stale_calls` calls name an outdated version, as a concurrent update would cause.
#[derive(Debug)]
struct ActivateOnAnswer {
    store: Arc<dyn Store>,
    clock: ManualClock,
    calls: AtomicU32,
    stale_calls: u32,
}

#[async_trait]
impl DeliveryEffects for ActivateOnAnswer {
    async fn on_delivered(
        &self,
        event: &OutboxEvent,
        response: &[u8],
    ) -> Result<Option<Commit>, DeliveryFailure> {
        if event.event_type != "instance.provision" {
            return Ok(None);
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let current = self.store.get_instance(&event.ordering_key).await?.unwrap();
        let expected_version = if call < self.stale_calls {
            current.version - 1
        } else {
            current.version
        };
        let mut updated = current;
        updated.status = InstanceStatus::Active;
        updated.app_info_sealed = Some(response.to_vec());
        Ok(Some(Commit {
            instance: Some(InstanceWrite::Update {
                instance: updated,
                expected_version,
            }),
            events: vec![new_event(&event.ordering_key, 2, "instance.ready")],
            now: self.clock.now(),
            ..Commit::default()
        }))
    }
}

async fn provisioning_instance(h: &Harness, id: &str) -> Instance {
    let commit = Commit {
        instance: Some(InstanceWrite::Insert(instance(id, h.clock.now()))),
        events: vec![new_event(id, 1, "instance.provision")],
        now: h.clock.now(),
        ..Commit::default()
    };
    h.store.commit(commit).await.unwrap();
    h.store.get_instance(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_delivery_effect_commits_together_with_the_completion() {
    let h = Harness::new().await;
    let before = provisioning_instance(&h, "inst-1").await;
    *h.receiver.state.response_body.lock().unwrap() =
        br#"{"appInfo":{"url":"https://app"}}"#.to_vec();
    let effects = Arc::new(ActivateOnAnswer {
        store: Arc::clone(&h.store),
        clock: h.clock.clone(),
        calls: AtomicU32::new(0),
        stale_calls: 1,
    });
    let worker = h.worker().with_effects(effects.clone());

    let provision = h.event(&event_id("inst-1", 1)).await;
    assert_eq!(worker.run_once().await, Outcome::Delivered(provision.id));
    assert_eq!(
        effects.calls.load(Ordering::SeqCst),
        2,
        "a stale commit is recomputed"
    );
    assert_eq!(
        h.receiver.received().len(),
        1,
        "recomputing does not re-send the hook"
    );

    let after = h.store.get_instance("inst-1").await.unwrap().unwrap();
    assert_eq!(after.status, InstanceStatus::Active);
    assert_eq!(after.version, before.version + 1);
    assert_eq!(
        after.app_info_sealed.as_deref(),
        Some(&br#"{"appInfo":{"url":"https://app"}}"#[..])
    );
    assert!(h.event(&event_id("inst-1", 1)).await.delivered_at.is_some());
    let ready = h.event(&event_id("inst-1", 2)).await;
    assert_eq!(ready.event_type, "instance.ready");
    assert!(ready.delivered_at.is_none());

    assert_eq!(
        worker.run_pending().await,
        1,
        "the effect's own event is delivered next"
    );
    assert_eq!(seqs_of(&h.receiver.accepted(), "inst-1"), [1, 2]);
}

#[tokio::test]
async fn an_effect_that_cannot_commit_leaves_neither_effect_nor_completion() {
    let h = Harness::new().await;
    let before = provisioning_instance(&h, "inst-2").await;
    let effects = Arc::new(ActivateOnAnswer {
        store: Arc::clone(&h.store),
        clock: h.clock.clone(),
        calls: AtomicU32::new(0),
        stale_calls: u32::MAX,
    });
    let worker = h.worker().with_effects(effects.clone());

    let provision = h.event(&event_id("inst-2", 1)).await;
    assert!(matches!(worker.run_once().await, Outcome::Retry { id, .. } if id == provision.id));
    assert_eq!(
        effects.calls.load(Ordering::SeqCst),
        5,
        "bounded recomputation"
    );

    assert_eq!(
        h.store.get_instance("inst-2").await.unwrap().unwrap(),
        before
    );
    let events = h.events().await;
    assert_eq!(events.len(), 1, "the effect's event was not enqueued");
    let provision = &events[&event_id("inst-2", 1)];
    assert!(provision.delivered_at.is_none() && !provision.dead);
    assert!(
        provision
            .last_error
            .as_deref()
            .unwrap()
            .contains("kept changing"),
        "{provision:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// (6) Crash safety: a lease outlives its worker

#[tokio::test]
async fn an_abandoned_claim_is_delivered_by_another_worker_after_the_lease() {
    let h = Harness::new().await;
    h.enqueue(&[("A", 1)]).await;
    h.receiver.state.hang_next.store(true, Ordering::SeqCst);

    // Worker 1 claims A-1 and sends it; the receiver gets it but never answers, and the worker
    // "crashes" (its future is dropped) before it can record anything.
    let first = h.worker().with_lease(Duration::seconds(30));
    tokio::select! {
        outcome = first.run_once() => panic!("the delivery should hang, got {outcome:?}"),
        () = h.receiver.state.arrived.notified() => {}
    }
    drop(first);

    let second = h.worker();
    assert_eq!(second.run_pending().await, 0, "the lease still holds");
    h.advance_secs(31);
    assert_eq!(second.run_pending().await, 1);

    let received = h.receiver.received();
    assert_eq!(
        received.len(),
        2,
        "at least once: the receiver saw it twice"
    );
    assert_eq!(
        received[0].webhook_id, received[1].webhook_id,
        "same id, so it can deduplicate"
    );
    assert!(received.iter().all(|r| r.signature_ok));
    let event = h.event(&event_id("A", 1)).await;
    assert!(event.delivered_at.is_some());
    assert_eq!(
        event.attempts, 2,
        "the abandoned claim counts as an attempt"
    );
}

// ---------------------------------------------------------------------------------------------
// (7) Concurrent workers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_deliver_each_event_exactly_once() {
    let h = Harness::new().await;
    let mut plan = Vec::new();
    for seq in 1..=5 {
        for instance in ["A", "B", "C", "D"] {
            plan.push((instance, seq));
        }
    }
    h.enqueue(&plan).await;

    let one = h.worker();
    let two = one.clone();
    let (a, b) = tokio::join!(
        tokio::spawn(async move { one.run_pending().await }),
        tokio::spawn(async move { two.run_pending().await }),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // A store error ends `run_pending` early; whatever is left is still due.
    let rest = h.worker().run_pending().await;
    assert_eq!(
        a + b + rest,
        20,
        "one attempt per event (a: {a}, b: {b}, rest: {rest})"
    );

    let accepted = h.receiver.accepted();
    assert_eq!(accepted.len(), 20);
    assert_each_once(&accepted);
    for instance in ["A", "B", "C", "D"] {
        assert_eq!(seqs_of(&accepted, instance), [1, 2, 3, 4, 5], "{instance}");
    }
    assert!(
        h.events()
            .await
            .values()
            .all(|e| e.delivered_at.is_some() && e.attempts == 1)
    );
}

// ---------------------------------------------------------------------------------------------
// Sinks

#[tokio::test]
async fn without_a_hook_every_event_completes_at_once() {
    let h = Harness::new().await;
    h.enqueue(&[("A", 1), ("A", 2)]).await;
    let worker = h.worker_with(Arc::new(NullSink));
    assert_eq!(worker.run_pending().await, 2);
    assert!(h.events().await.values().all(|e| e.delivered_at.is_some()));
    assert!(h.receiver.received().is_empty());
}

/// Records the length of every answer it is given.
#[derive(Debug, Default)]
struct RecordLength(Mutex<Vec<usize>>);

#[async_trait]
impl DeliveryEffects for RecordLength {
    async fn on_delivered(
        &self,
        _event: &OutboxEvent,
        response: &[u8],
    ) -> Result<Option<Commit>, DeliveryFailure> {
        self.0.lock().unwrap().push(response.len());
        Ok(None)
    }
}

#[tokio::test]
async fn hook_answers_are_capped() {
    let h = Harness::new().await;
    *h.receiver.state.response_body.lock().unwrap() = vec![b'x'; 3 * MAX_RESPONSE_BYTES];
    h.enqueue(&[("A", 1)]).await;
    let lengths = Arc::new(RecordLength::default());
    let worker = h.worker().with_effects(lengths.clone());
    assert_eq!(worker.run_pending().await, 1);
    assert_eq!(*lengths.0.lock().unwrap(), [MAX_RESPONSE_BYTES]);
}

#[tokio::test]
async fn run_stops_on_shutdown_and_wakes_on_notify() {
    let h = Harness::new().await;
    let worker = h.worker();
    let notify = Arc::clone(&worker.notify);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));

    h.enqueue(&[("A", 1)]).await;
    notify.notify_one();
    h.receiver.state.arrived.notified().await;

    stop.send(()).unwrap();
    running.await.unwrap();
    // The delivery in flight at shutdown was finished and recorded.
    assert!(h.event(&event_id("A", 1)).await.delivered_at.is_some());
}

/// A sink that holds every delivery of one instance until released, and records the order in
/// which deliveries finished.
#[derive(Debug)]
struct GatedSink {
    slow_instance: String,
    release: Arc<tokio::sync::Semaphore>,
    finished: Mutex<Vec<String>>,
    /// Signals each finished delivery.
    done: tokio::sync::Notify,
}

#[async_trait]
impl Sink for GatedSink {
    async fn deliver(&self, event: &OutboxEvent) -> Result<Vec<u8>, DeliveryFailure> {
        if event.ordering_key == self.slow_instance {
            let _permit = self.release.acquire().await.unwrap();
        }
        self.finished.lock().unwrap().push(event.event_id.clone());
        self.done.notify_one();
        Ok(Vec::new())
    }
}

/// Several loops on one store, as `koogate serve` runs them (`hook_concurrency`): a hook that
/// hangs on one instance's event does not hold up another instance's events, and the hung
/// instance's later event still waits for its earlier one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_instance_does_not_hold_up_the_others() {
    let h = Harness::new().await;
    let sink = Arc::new(GatedSink {
        slow_instance: "slow".into(),
        release: Arc::new(tokio::sync::Semaphore::new(0)),
        finished: Mutex::new(Vec::new()),
        done: tokio::sync::Notify::new(),
    });
    let worker = h.worker_with(sink.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let loops: Vec<_> = (0..3)
        .map(|n| {
            let worker = if n == 0 {
                worker.clone()
            } else {
                worker.clone().without_gauges()
            };
            let mut stopped = stopped.clone();
            tokio::spawn(worker.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            }))
        })
        .collect();
    h.enqueue(&[
        ("slow", 1),
        ("slow", 2),
        ("fast", 1),
        ("fast", 2),
        ("other", 1),
    ])
    .await;
    worker.notify.notify_one();

    let fast = [
        event_id("fast", 1),
        event_id("fast", 2),
        event_id("other", 1),
    ];
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !fast
            .iter()
            .all(|id| sink.finished.lock().unwrap().contains(id))
        {
            sink.done.notified().await;
        }
    })
    .await
    .expect("the other instances' events were held up by the slow one");
    assert!(
        !sink
            .finished
            .lock()
            .unwrap()
            .iter()
            .any(|id| id.starts_with("evt-slow")),
        "the slow instance's events cannot have finished yet"
    );

    sink.release.add_permits(2);
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while sink.finished.lock().unwrap().len() < 5 {
            sink.done.notified().await;
        }
    })
    .await
    .expect("the slow instance's events were delivered once released");
    stop.send(true).unwrap();
    for running in loops {
        running.await.unwrap();
    }
    let finished = sink.finished.lock().unwrap().clone();
    let slow: Vec<_> = finished
        .iter()
        .filter(|id| id.starts_with("evt-slow"))
        .collect();
    assert_eq!(
        slow,
        [&event_id("slow", 1), &event_id("slow", 2)],
        "{finished:?}"
    );
    let fast_order: Vec<_> = finished
        .iter()
        .filter(|id| id.starts_with("evt-fast"))
        .collect();
    assert_eq!(fast_order, [&event_id("fast", 1), &event_id("fast", 2)]);
}
