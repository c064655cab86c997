//! Runs flows against a target the way KooGallery would: each step on its retry schedule, in
//! virtual time, with every exchange recorded and every failing call in the message log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use koogate_protocol::AccessKey;

use super::clock::{SigningTime, SimClock};
use super::faulted::FaultState;
use super::ledger::{OrderLedger, OrderState, OrderStatus, StepReport};
use super::market::{DEFAULT_LICENSE_UPLOAD_WAIT, OpenApiLink};
use super::record::{ExchangeLog, Trigger};
use super::{Flow, FlowOutcome, FlowReport, template};
use crate::faults::Faults;
use crate::message_log::MessageLog;
use crate::orders::OrderBook;
use crate::produce_client::{BuildError, CategoryKeys, ClientConfig, ProduceClient};
use crate::retry::{CALL_TIMEOUT, CallKind, Exhausted, RetryPolicy};

/// The production interface under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as registered in the seller center.
    pub url: String,
    /// The access key bound to the basic interfaces (also used for License and orderNotify).
    pub key: AccessKey,
}

/// What a well-formed answer with an unacceptable `resultCode` (say `000100`) does to the
/// schedule. The spec does not say (saas-v2 §10 question 5) \[UNKNOWN\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BusinessErrors {
    /// Retried like a transport failure (the default: KooGallery documents only "failure").
    #[default]
    Retry,
    /// Stops the schedule at once: the vendor has answered, retrying cannot change its mind.
    Stop,
}

/// Knobs for the parts of KooGallery's behaviour the spec leaves open.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Per-call timeout (spec: 5 s in production, 20 s in the debugger).
    pub timeout: Duration,
    /// Replaces the spec's policy for these kinds.
    pub policies: HashMap<CallKind, RetryPolicy>,
    /// `testFlag` to send; `None` sends production calls, which omit it.
    pub test_flag: Option<String>,
    /// After `newInstance` answers `000004`: virtual time between `queryInstance` polls, and how
    /// many polls before the attempt counts as failed. Neither is published \[UNKNOWN\].
    pub poll_interval: Duration,
    pub max_polls: u32,
    pub business_errors: BusinessErrors,
    pub signing: SigningTime,
    /// Accept self-signed certificates (local HTTPS targets only).
    pub accept_invalid_certs: bool,
    /// Faults to inject into every step call (none by default); see [`crate::faults`].
    pub faults: Faults,
    /// The simulator's open API, when the engine plays next to one: flows then register the
    /// instances they create there (so usage pushes for them are checked like KooGallery
    /// would) and look for license uploads. [`crate::handle::Sim::start`] sets it to its own;
    /// `None` (the default) plays the calls alone.
    pub openapi: Option<OpenApiLink>,
    /// With [`Self::openapi`] set: after `getLicenseAsync` is answered `000000`/`000004`, wait
    /// for the license upload under the request's `eventId` and fail the step without one
    /// (a vendor that never uploads leaves the buyer without a license). On by default.
    pub expect_license_upload: bool,
    /// How long to wait for that upload, in real time (the vendor uploads from its own worker,
    /// which the virtual clock does not drive).
    pub license_upload_wait: Duration,
    /// Keys of the license-code and generic (`orderNotify`) categories; the basic key is
    /// [`Target::key`], and each of these defaults to it.
    pub category_keys: CategoryKeys,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            timeout: CALL_TIMEOUT,
            policies: HashMap::new(),
            test_flag: None,
            poll_interval: Duration::from_secs(60),
            max_polls: 30,
            business_errors: BusinessErrors::default(),
            signing: SigningTime::default(),
            accept_invalid_certs: false,
            faults: Faults::default(),
            openapi: None,
            expect_license_upload: true,
            license_upload_wait: DEFAULT_LICENSE_UPLOAD_WAIT,
            category_keys: CategoryKeys::default(),
        }
    }
}

/// Told before every exchange; tests use it to bring a target up at a chosen virtual time.
#[derive(Debug, Clone)]
pub struct AttemptInfo {
    pub flow: String,
    pub step: usize,
    pub activity: String,
    pub trigger: Trigger,
    pub attempt: u32,
    /// Virtual time of the exchange.
    pub at: DateTime<Utc>,
    /// Virtual time since the clock started.
    pub since_start: Duration,
    /// Virtual time since the step's first attempt.
    pub offset: Duration,
}

type AttemptHook = Arc<dyn Fn(&AttemptInfo) + Send + Sync>;

struct Inner {
    client: ProduceClient,
    clock: SimClock,
    options: EngineOptions,
    book: OrderBook,
    exchanges: ExchangeLog,
    messages: MessageLog,
    orders: OrderLedger,
    on_attempt: Mutex<Option<AttemptHook>>,
    faults: FaultState,
}

/// The scenario engine. Clones share logs, clock and book.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("url", &self.0.client.config().url)
            .field("clock", &self.0.clock)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(
        target: Target,
        clock: SimClock,
        book: OrderBook,
        options: EngineOptions,
    ) -> Result<Self, BuildError> {
        let client = ProduceClient::new(ClientConfig {
            url: target.url,
            key: target.key,
            timeout: options.timeout,
            clock: options.signing.clock(&clock),
            accept_invalid_certs: options.accept_invalid_certs,
            category_keys: options.category_keys.clone(),
        })?;
        Ok(Self(Arc::new(Inner {
            client,
            clock,
            options,
            book,
            exchanges: ExchangeLog::default(),
            messages: MessageLog::default(),
            orders: OrderLedger::default(),
            on_attempt: Mutex::new(None),
            faults: FaultState::default(),
        })))
    }

    /// Sets (or replaces) the hook told before every exchange.
    pub fn on_attempt(&self, hook: impl Fn(&AttemptInfo) + Send + Sync + 'static) {
        *self
            .0
            .on_attempt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(hook));
    }

    pub fn clock(&self) -> &SimClock {
        &self.0.clock
    }

    pub fn options(&self) -> &EngineOptions {
        &self.0.options
    }

    pub fn book(&self) -> &OrderBook {
        &self.0.book
    }

    pub fn exchanges(&self) -> &ExchangeLog {
        &self.0.exchanges
    }

    pub fn messages(&self) -> &MessageLog {
        &self.0.messages
    }

    pub fn orders(&self) -> &OrderLedger {
        &self.0.orders
    }

    pub(super) fn client(&self) -> &ProduceClient {
        &self.0.client
    }

    pub(super) fn fault_state(&self) -> &FaultState {
        &self.0.faults
    }

    /// The policy in force for `kind`: an override from the options, else the spec's.
    pub fn policy(&self, kind: CallKind) -> RetryPolicy {
        self.0
            .options
            .policies
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.policy())
    }

    pub(super) fn notify_attempt(&self, info: &AttemptInfo) {
        let hook = self
            .0
            .on_attempt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        // Called outside the lock, so a hook may replace itself.
        if let Some(hook) = hook {
            hook(info);
        }
    }

    /// Plays `flow` to its end or to the first step that gives up.
    pub async fn run(&self, flow: &Flow) -> FlowReport {
        let started = self.clock().now();
        let mut bindings = template::Bindings::default();
        if let Some(flag) = &self.0.options.test_flag {
            bindings.set(template::TEST_FLAG, flag.clone());
        }
        // One per run: a retried getLicenseAsync keeps its eventId (license-kit §3.2).
        bindings.set("eventId", uuid::Uuid::new_v4().simple().to_string());
        bindings.set(
            "license",
            format!("SIMLIC{}", uuid::Uuid::new_v4().simple()).to_uppercase(),
        );
        let mut steps: Vec<StepReport> = Vec::new();
        let mut outcome = FlowOutcome::Fulfilled;
        for (index, step) in flow.steps.iter().enumerate() {
            // Already played, ahead of an earlier step's poll (the `reorder` fault).
            if steps.iter().any(|s| s.index == index) {
                continue;
            }
            let order_id = step
                .place
                .clone()
                .map(|spec| self.place(flow, step.activity(), spec, &mut bindings));
            let report = self
                .run_step(flow, index, step, order_id, &mut bindings)
                .await;
            self.flush_late(&flow.name, index);
            let mut reports = vec![report];
            if let Some((ahead, ahead_bindings)) = self.take_ahead(&flow.name, index + 1) {
                // Later steps go on from where the step played ahead left the bindings, with
                // the instance this step ended with (a retry may have answered another one).
                let instance = bindings.get("instanceId").map(str::to_owned);
                bindings = ahead_bindings;
                if let Some(id) = instance {
                    bindings.set("instanceId", id);
                }
                reports.push(ahead);
            }
            let mut failed = false;
            for report in reports {
                self.settle(&report, bindings.get("instanceId"));
                if !report.ok && !failed {
                    failed = true;
                    outcome = FlowOutcome::Failed {
                        step: report.index,
                        activity: report.activity.clone(),
                        refunded: report.exhausted == Some(Exhausted::OrderFailedRefunded),
                    };
                }
                steps.push(report);
            }
            if failed {
                break;
            }
        }
        FlowReport {
            flow: flow.name.clone(),
            outcome,
            instance_id: bindings.get("instanceId").map(str::to_owned),
            started,
            finished: self.clock().now(),
            steps,
        }
    }

    /// Marks the step's order fulfilled, refunded or failed, as KooGallery would.
    fn settle(&self, report: &StepReport, instance_id: Option<&str>) {
        if let Some(order_id) = &report.order_id {
            let status = match (report.ok, report.exhausted) {
                (true, _) => OrderStatus::Fulfilled,
                (false, Some(Exhausted::OrderFailedRefunded)) => OrderStatus::Refunded,
                (false, _) => OrderStatus::Failed,
            };
            self.orders().settle(order_id, status, instance_id);
        }
    }

    /// Puts the step's order in the book and binds its IDs.
    pub(super) fn place(
        &self,
        flow: &Flow,
        activity: &str,
        spec: crate::orders::OrderSpec,
        bindings: &mut template::Bindings,
    ) -> String {
        let order_type = spec.order_type.as_str().to_owned();
        let placed = self.book().place_order(spec);
        let line = placed.order_line_ids.first().cloned().unwrap_or_default();
        bindings.set("orderId", placed.order_id.clone());
        bindings.set("orderLineId", line.clone());
        self.orders().insert(OrderState {
            order_id: placed.order_id.clone(),
            order_line_id: line,
            order_type,
            flow: flow.name.clone(),
            activity: activity.to_owned(),
            status: OrderStatus::Pending,
            instance_id: bindings.get("instanceId").map(str::to_owned),
        });
        placed.order_id
    }
}
