//! The KooGallery side of the crash test: concurrent clients drive instance lifecycles through
//! the production interface, each call freshly signed (scheme A, saas-v2 §2.2), with exact
//! duplicates, concurrent resends and cross-client repeats, and keep a journal of every call and
//! its answer. A call that got no answer (the server was killed) has an unknown outcome and is
//! sent again later, as KooGallery does; every step is retried until it is answered.
//!
//! Each purchase (order) belongs to one client, which runs its steps one after another, so the
//! client can keep an exact model of what the acknowledged calls must have done: the instance's
//! final status, its expiry, and the webhook events in order.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use koogate_gateway::clock::{Clock, SystemClock};
use koogate_protocol::AccessKey;
use koogate_protocol::signing::scheme_a;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// The result codes that acknowledge a call: success, and "provisioning asynchronously".
pub const ACK_CODES: [&str; 2] = ["000000", "000004"];
const SUCCESS: &[&str] = &["000000"];
const NEW_ACK: &[&str] = &["000000", "000004"];
const NOT_FOUND: &[&str] = &["000003"];
/// "Internal error, retry": KooGallery retries; not a consistency failure by itself.
pub const RETRY_CODE: &str = "000005";

/// Scripts a client keeps going at once (interleaved, one call at a time).
const ACTIVE_SCRIPTS: usize = 6;
/// Per step: the same call twice at the same moment (KooGallery resending while the first is
/// still in flight).
const CONCURRENT_RESEND: f64 = 0.07;
/// Per step: the same body again once the first was answered.
const EXACT_DUPLICATE: f64 = 0.10;
/// Per step: a `newInstance` repeat for a purchase another client (or this one) acknowledged.
const CROSS_REPEAT: f64 = 0.04;
/// A step still unanswered after this many attempts is abandoned (and reported).
const MAX_ATTEMPTS: u32 = 400;

pub fn order_id(n: usize) -> String {
    format!("SANDBOX{n:06}")
}

/// How a call came about (for the figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Step,
    ExactDuplicate,
    ConcurrentResend,
    CrossRepeat,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// HTTP 200; `code` is the body's `resultCode` (empty if unreadable).
    Answered { code: String, body: Vec<u8> },
    /// Any other HTTP status: the protocol never allows one.
    Http { status: u16 },
    /// No answer (refused, reset, timed out): the call may or may not have been carried out.
    Unknown(String),
}

impl Outcome {
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Answered { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn acked(&self) -> bool {
        self.code().is_some_and(|c| ACK_CODES.contains(&c))
    }

    fn rank(&self) -> u8 {
        match self {
            _ if self.acked() => 3,
            Self::Answered { .. } => 2,
            Self::Http { .. } => 1,
            Self::Unknown(_) => 0,
        }
    }
}

/// One call as the client saw it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub client: usize,
    pub activity: &'static str,
    /// Calls with the same identity are repeats of one call (same order line, same renewal
    /// order, same status change...): once one is acknowledged, all must get its exact bytes.
    /// `None` for the read-only `queryInstance`.
    pub identity: Option<String>,
    /// The result codes the model allows for this call.
    pub expected: &'static [&'static str],
    pub kind: CallKind,
    pub request: Vec<u8>,
    pub outcome: Outcome,
    /// Which replica the call went to (index into [`Target::bases`]).
    pub replica: usize,
    pub sent_at: Duration,
    pub done_at: Duration,
    /// Kills so far when the answer arrived.
    pub kills_at_done: u32,
}

/// Where the calls go: one server, or several replicas taking turns.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:{port}` of each replica.
    pub bases: Arc<[String]>,
    pub key: AccessKey,
    pub api_token: String,
    pub http: reqwest::Client,
    /// Round robin over `bases`, shared by the clones: a call and its duplicates (sent as
    /// separate calls) go to different replicas whenever there are several.
    next: Arc<AtomicUsize>,
}

impl Target {
    pub fn new(
        bases: Vec<String>,
        key: AccessKey,
        api_token: String,
        http: reqwest::Client,
    ) -> Self {
        assert!(!bases.is_empty(), "a target needs a server");
        Self {
            bases: bases.into(),
            key,
            api_token,
            http,
            next: Arc::default(),
        }
    }

    /// The replica for the next call.
    fn next_replica(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()
    }

    fn base(&self) -> &str {
        &self.bases[self.next_replica()]
    }

    /// One production-interface call, signed now with a fresh nonce, to the next replica.
    pub async fn produce(&self, body: &[u8]) -> Outcome {
        self.produce_on(self.next_replica(), body).await
    }

    /// [`Target::produce`] to replica `replica`.
    pub async fn produce_on(&self, replica: usize, body: &[u8]) -> Outcome {
        // The signing timestamp is the wall clock's, as KooGallery's is.
        let timestamp = SystemClock.now_ms().to_string();
        let nonce = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .to_ascii_uppercase();
        let signature = scheme_a::sign(&self.key, &timestamp, &nonce, body);
        let url = format!(
            "{}/produce?signature={signature}&timestamp={timestamp}&nonce={nonce}",
            self.bases[replica]
        );
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json;charset=utf8")
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Outcome::Unknown(err.to_string()),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Err(err) => Outcome::Unknown(format!("answer cut off: {err}")),
            Ok(_) if status != 200 => Outcome::Http { status },
            Ok(bytes) => {
                let code = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("resultCode")?.as_str().map(str::to_owned))
                    .unwrap_or_default();
                Outcome::Answered {
                    code,
                    body: bytes.to_vec(),
                }
            }
        }
    }

    /// `GET` on the vendor API (bearer token) of the next replica; the JSON body of a 200.
    pub async fn api(&self, path_and_query: &str) -> Result<Value, String> {
        let url = format!("{}{path_and_query}", self.base());
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.api_token)
            .send()
            .await
            .map_err(|e| format!("GET {path_and_query}: {e}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("GET {path_and_query}: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "GET {path_and_query}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {path_and_query}: {e}"))
    }

    /// `GET /metrics` as text (empty when unavailable).
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.base());
        let Ok(response) = self.http.get(url).send().await else {
            return String::new();
        };
        response.text().await.unwrap_or_default()
    }
}

/// State shared by the clients and the killer during the load phase.
#[derive(Debug)]
pub struct Run {
    pub target: Target,
    pub started: Instant,
    /// Kills so far.
    pub kills: AtomicU32,
    pub killer_done: AtomicBool,
    /// Set when the server could not be restarted: clients give up at once.
    pub aborted: AtomicBool,
    /// Clients stop taking new purchases once the killer is done and this many calls were
    /// answered, or after `load_cap`.
    pub min_answered: usize,
    pub load_cap: Duration,
    pub orders: usize,
    next_order: AtomicUsize,
    answered: AtomicUsize,
    journal: Mutex<Vec<CallRecord>>,
    /// Order numbers with an acknowledged `newInstance`, for cross-client repeats.
    acked_orders: Mutex<Vec<usize>>,
    /// What a client noticed that is wrong on its own (a query without the instance, a step
    /// never answered).
    problems: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Run {
    pub fn new(target: Target, orders: usize, min_answered: usize, load_cap: Duration) -> Self {
        Self {
            target,
            started: Instant::now(),
            kills: AtomicU32::new(0),
            killer_done: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            min_answered,
            load_cap,
            orders,
            next_order: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            journal: Mutex::default(),
            acked_orders: Mutex::default(),
            problems: Mutex::default(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn journal(&self) -> Vec<CallRecord> {
        lock(&self.journal).clone()
    }

    pub fn problems(&self) -> Vec<String> {
        lock(&self.problems).clone()
    }

    fn problem(&self, text: String) {
        lock(&self.problems).push(text);
    }

    fn take_order(&self) -> Option<usize> {
        let enough = self.killer_done.load(Ordering::SeqCst)
            && self.answered.load(Ordering::SeqCst) >= self.min_answered;
        if enough || self.elapsed() > self.load_cap {
            return None;
        }
        let n = self.next_order.fetch_add(1, Ordering::SeqCst);
        (n < self.orders).then_some(n)
    }

    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        client: usize,
        activity: &'static str,
        identity: Option<String>,
        expected: &'static [&'static str],
        kind: CallKind,
        body: Vec<u8>,
    ) -> Outcome {
        let sent_at = self.elapsed();
        let replica = self.target.next_replica();
        let outcome = self.target.produce_on(replica, &body).await;
        let done_at = self.elapsed();
        if matches!(outcome, Outcome::Answered { .. }) {
            self.answered.fetch_add(1, Ordering::SeqCst);
        }
        lock(&self.journal).push(CallRecord {
            client,
            activity,
            identity,
            expected,
            kind,
            request: body,
            outcome: outcome.clone(),
            replica,
            sent_at,
            done_at,
            kills_at_done: self.kills.load(Ordering::SeqCst),
        });
        outcome
    }
}

/// What the client believes about an instance's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Active (or provisioning until the vendor's hook answered).
    Unfrozen,
    Frozen,
    Released,
}

/// A call whose acknowledged answer a final repeat must reproduce byte for byte.
#[derive(Debug, Clone)]
pub struct Acked {
    pub identity: String,
    pub request: Vec<u8>,
    pub answer: Vec<u8>,
}

/// One purchase and everything its acknowledged calls must have left behind.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub order_id: String,
    pub line_id: String,
    pub instance_id: Option<String>,
    /// The first acknowledged `newInstance` answer.
    pub first_ack: Option<Vec<u8>>,
    pub state: Expect,
    /// The webhook events the acknowledged calls cause, in order, `instance.ready` aside (it
    /// comes from the hook's answer, at a moment the client does not control): the type, and
    /// for renewals the renewal order.
    pub events: Vec<(String, Option<String>)>,
    /// `expireTime` (yyyyMMddHHmmss) of the last acknowledged renewal.
    pub expire: Option<String>,
    /// Acknowledged renewals, the release and the last status change.
    pub repeatable: Vec<Acked>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    New,
    Query,
    Renew,
    Freeze,
    Unfreeze,
    Release,
}

struct Script {
    purchase: Purchase,
    steps: Vec<Step>,
    next: usize,
    attempts: u32,
    renewals: u32,
    /// The body of the step in progress, resent unchanged until answered (except
    /// `newInstance`, whose retries carry a new `businessId`, as KooGallery's do).
    body: Option<Vec<u8>>,
    /// The release comes from an unsubscribe (with the refund order) rather than expiry.
    unsubscribe: bool,
    last_status: Option<Acked>,
}

fn plan(rng: &mut StdRng) -> Vec<Step> {
    let mut steps = vec![Step::New];
    if rng.random_bool(0.5) {
        steps.push(Step::Query);
    }
    for _ in 0..rng.random_range(1..=5) {
        steps.push(match rng.random_range(0..4) {
            0 => Step::Query,
            1 => Step::Renew,
            2 => Step::Freeze,
            _ => Step::Unfreeze,
        });
    }
    if rng.random_bool(0.6) {
        steps.push(Step::Release);
        // KooGallery has no business calling after a release, but a late resend can.
        if rng.random_bool(0.4) {
            steps.push(match rng.random_range(0..4) {
                0 => Step::Renew,
                1 => Step::Freeze,
                2 => Step::Unfreeze,
                _ => Step::Release,
            });
        }
    }
    steps
}

fn bytes(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn new_instance_body(order_id: &str, line_id: &str) -> Vec<u8> {
    bytes(&json!({
        "activity": "newInstance",
        "businessId": uuid::Uuid::new_v4().to_string(),
        "orderId": order_id,
        "orderLineId": line_id,
    }))
}

/// `yyyyMMddHHmmss`, 30 days apart per renewal, always later than the order's own expiry.
fn renewal_expiry(renewal: u32) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or_default();
    (base + chrono::Duration::days(30 * i64::from(renewal)))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

impl Script {
    fn new(order: usize, rng: &mut StdRng) -> Self {
        let order_id = order_id(order);
        let line_id = format!("{order_id}-000001");
        Self {
            purchase: Purchase {
                order_id,
                line_id,
                instance_id: None,
                first_ack: None,
                state: Expect::Unfrozen,
                events: Vec::new(),
                expire: None,
                repeatable: Vec::new(),
            },
            steps: plan(rng),
            next: 0,
            attempts: 0,
            renewals: 0,
            body: None,
            unsubscribe: rng.random_bool(0.5),
            last_status: None,
        }
    }

    fn instance_id(&self) -> String {
        self.purchase.instance_id.clone().unwrap_or_default()
    }

    /// The request of the current step: activity, identity, expected codes, body.
    fn request(
        &mut self,
        step: Step,
    ) -> (
        &'static str,
        Option<String>,
        &'static [&'static str],
        Vec<u8>,
    ) {
        let p = &self.purchase;
        let id = self.instance_id();
        let released = p.state == Expect::Released;
        match step {
            Step::New => (
                "newInstance",
                Some(format!("newInstance:{}:{}", p.order_id, p.line_id)),
                NEW_ACK,
                new_instance_body(&p.order_id, &p.line_id),
            ),
            Step::Query => (
                "queryInstance",
                None,
                SUCCESS,
                bytes(&json!({"activity": "queryInstance", "instanceId": id})),
            ),
            Step::Renew => {
                let renewal_order = format!("RN{}{:02}", p.order_id, self.renewals);
                let body = self.body.get_or_insert_with(|| {
                    bytes(&json!({
                        "activity": "refreshInstance",
                        "expireTime": renewal_expiry(self.renewals + 1),
                        "instanceId": id,
                        "orderId": renewal_order,
                        "orderLineId": format!("{renewal_order}-000001"),
                        "scene": "RENEWAL",
                    }))
                });
                (
                    "refreshInstance",
                    Some(format!("refreshInstance:{id}:{renewal_order}")),
                    if released { NOT_FOUND } else { SUCCESS },
                    body.clone(),
                )
            }
            Step::Freeze | Step::Unfreeze => {
                let status = if step == Step::Freeze {
                    "FREEZE"
                } else {
                    "UNFREEZE"
                };
                (
                    "updateInstanceStatus",
                    Some(format!("updateInstanceStatus:{id}:{status}")),
                    SUCCESS,
                    bytes(&json!({
                        "activity": "updateInstanceStatus",
                        "instanceId": id,
                        "status": status,
                    })),
                )
            }
            Step::Release => {
                let body = if !self.unsubscribe {
                    json!({"activity": "releaseInstance", "instanceId": id})
                } else {
                    let refund = format!("RF{}", p.order_id);
                    json!({
                        "activity": "releaseInstance",
                        "instanceId": id,
                        "orderId": refund,
                        "orderLineId": format!("{refund}-000001"),
                    })
                };
                (
                    "releaseInstance",
                    Some(format!("releaseInstance:{id}")),
                    SUCCESS,
                    bytes(&body),
                )
            }
        }
    }

    /// Runs the current step once (with whatever duplicates the dice ask for). Returns `true`
    /// when the script is finished.
    async fn advance(&mut self, run: &Run, client: usize, rng: &mut StdRng) -> bool {
        let Some(&step) = self.steps.get(self.next) else {
            return true;
        };
        let (activity, identity, expected, body) = self.request(step);
        let resend = if step == Step::New {
            new_instance_body(&self.purchase.order_id, &self.purchase.line_id)
        } else {
            body.clone()
        };
        let roll: f64 = rng.random();
        let outcome = if roll < CONCURRENT_RESEND {
            let (a, b) = tokio::join!(
                run.call(
                    client,
                    activity,
                    identity.clone(),
                    expected,
                    CallKind::Step,
                    body.clone()
                ),
                run.call(
                    client,
                    activity,
                    identity.clone(),
                    expected,
                    CallKind::ConcurrentResend,
                    resend
                ),
            );
            if b.rank() > a.rank() { b } else { a }
        } else {
            let first = run
                .call(
                    client,
                    activity,
                    identity.clone(),
                    expected,
                    CallKind::Step,
                    body.clone(),
                )
                .await;
            if roll < CONCURRENT_RESEND + EXACT_DUPLICATE
                && matches!(first, Outcome::Answered { .. })
            {
                run.call(
                    client,
                    activity,
                    identity.clone(),
                    expected,
                    CallKind::ExactDuplicate,
                    body.clone(),
                )
                .await;
            }
            first
        };
        let finished = self.apply(step, identity, &body, &outcome, run);
        if finished {
            self.next += 1;
            self.attempts = 0;
            self.body = None;
        } else {
            self.attempts += 1;
            if self.attempts >= MAX_ATTEMPTS {
                run.problem(format!(
                    "{} step {step:?} never answered after {MAX_ATTEMPTS} attempts; last: {outcome:?}",
                    self.purchase.order_id
                ));
                self.next = self.steps.len();
            } else {
                // The server is down or busy: give it a moment (other scripts go on meanwhile).
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        self.next >= self.steps.len()
    }

    /// Updates the model from an answer. `false`: no final answer yet, send the step again.
    fn apply(
        &mut self,
        step: Step,
        identity: Option<String>,
        request: &[u8],
        outcome: &Outcome,
        run: &Run,
    ) -> bool {
        let Outcome::Answered { code, body } = outcome else {
            // No answer: retried later, except a read, which KooGallery simply does again
            // some other time.
            return step == Step::Query;
        };
        if code == RETRY_CODE || code.is_empty() {
            return step == Step::Query;
        }
        let acked = ACK_CODES.contains(&code.as_str());
        let remember = |answer: &[u8]| Acked {
            identity: identity.clone().unwrap_or_default(),
            request: request.to_vec(),
            answer: answer.to_vec(),
        };
        let p = &mut self.purchase;
        match step {
            Step::New => {
                if !acked {
                    // Wrong code (the journal check reports it); nothing more to do here.
                    self.steps.truncate(self.next + 1);
                    return true;
                }
                if p.first_ack.is_none() {
                    let id = serde_json::from_slice::<Value>(body)
                        .ok()
                        .and_then(|v| v.get("instanceId")?.as_str().map(str::to_owned));
                    let Some(id) = id else {
                        run.problem(format!(
                            "{}: newInstance answer without instanceId",
                            p.order_id
                        ));
                        self.steps.truncate(self.next + 1);
                        return true;
                    };
                    p.instance_id = Some(id);
                    p.first_ack = Some(body.clone());
                    p.events.push(("instance.provision".into(), None));
                    if let Some(n) = p
                        .order_id
                        .strip_prefix("SANDBOX")
                        .and_then(|n| n.parse().ok())
                    {
                        lock(&run.acked_orders).push(n);
                    }
                }
            }
            Step::Query => {
                let id = p.instance_id.as_deref().unwrap_or_default();
                let listed = serde_json::from_slice::<Value>(body).ok().is_some_and(|v| {
                    v["info"]
                        .as_array()
                        .is_some_and(|info| info.iter().any(|i| i["instanceId"] == id))
                });
                if code == "000000" && !listed {
                    run.problem(format!("queryInstance {id} answered without the instance"));
                }
            }
            Step::Renew => {
                if acked && p.state != Expect::Released {
                    let v: Value = serde_json::from_slice(request).unwrap_or_default();
                    p.events.push((
                        "instance.renewed".into(),
                        v["orderId"].as_str().map(str::to_owned),
                    ));
                    p.expire = v["expireTime"].as_str().map(str::to_owned);
                    p.repeatable.push(remember(body));
                    self.renewals += 1;
                }
            }
            Step::Freeze | Step::Unfreeze => {
                if acked {
                    let (from, to, event) = if step == Step::Freeze {
                        (Expect::Unfrozen, Expect::Frozen, "instance.frozen")
                    } else {
                        (Expect::Frozen, Expect::Unfrozen, "instance.unfrozen")
                    };
                    if p.state == from {
                        p.state = to;
                        p.events.push((event.into(), None));
                    }
                    self.last_status = Some(remember(body));
                }
            }
            Step::Release => {
                if acked {
                    if p.state != Expect::Released {
                        p.state = Expect::Released;
                        p.events.push(("instance.released".into(), None));
                    }
                    if !p
                        .repeatable
                        .iter()
                        .any(|a| a.identity.starts_with("releaseInstance:"))
                    {
                        p.repeatable.push(remember(body));
                    }
                }
            }
        }
        true
    }

    fn finish(mut self) -> Purchase {
        if let Some(last) = self.last_status.take() {
            self.purchase.repeatable.push(last);
        }
        self.purchase
    }
}

/// One client: takes purchases until told to stop, runs up to [`ACTIVE_SCRIPTS`] of them
/// interleaved, and returns their models.
pub async fn client(run: Arc<Run>, client: usize, seed: u64) -> Vec<Purchase> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut active: Vec<Script> = Vec::new();
    let mut done = Vec::new();
    loop {
        while active.len() < ACTIVE_SCRIPTS {
            match run.take_order() {
                Some(order) => active.push(Script::new(order, &mut rng)),
                None => break,
            }
        }
        if active.is_empty() || run.aborted.load(Ordering::SeqCst) {
            return done;
        }
        if rng.random_bool(CROSS_REPEAT) {
            cross_repeat(&run, client, &mut rng).await;
        }
        let i = rng.random_range(0..active.len());
        if active[i].advance(&run, client, &mut rng).await {
            done.push(active.swap_remove(i).finish());
        }
    }
}

/// KooGallery resending `newInstance` for a purchase that is already acknowledged, from
/// another client (new `businessId`): must get the first answer's bytes.
async fn cross_repeat(run: &Run, client: usize, rng: &mut StdRng) {
    let order = {
        let acked = lock(&run.acked_orders);
        if acked.is_empty() {
            return;
        }
        acked[rng.random_range(0..acked.len())]
    };
    let order_id = order_id(order);
    let line_id = format!("{order_id}-000001");
    run.call(
        client,
        "newInstance",
        Some(format!("newInstance:{order_id}:{line_id}")),
        NEW_ACK,
        CallKind::CrossRepeat,
        new_instance_body(&order_id, &line_id),
    )
    .await;
}

/// A final repeat of an acknowledged call, after the last restart; retried while unanswered.
pub async fn repeat(target: &Target, request: &[u8]) -> Outcome {
    let mut outcome = target.produce(request).await;
    for _ in 0..20 {
        if matches!(outcome, Outcome::Answered { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = target.produce(request).await;
    }
    outcome
}

/// A `newInstance` repeat for an order line, with a fresh `businessId`.
pub fn new_instance_repeat(order_id: &str, line_id: &str) -> Vec<u8> {
    new_instance_body(order_id, line_id)
}
