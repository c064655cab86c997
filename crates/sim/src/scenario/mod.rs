//! The scenario engine: KooGallery's side of every flow in the spec, played against a production
//! URL with correctly signed scheme-A requests, on a simulated clock.
//!
//! - [`Flow`] / [`Step`]: plain data. A step is a body template, the `resultCode`s that count as
//!   success, the retry rule ([`CallKind`]) and optionally an order to place in the book first.
//! - [`flows`]: one flow per item of the spec (new purchase per charging mode, trial, renewal, …).
//! - [`Engine`]: runs a flow, retries on KooGallery's schedule in virtual time, records every
//!   exchange, and opens a seller-center message for every failing call.

mod clock;
mod diagnose;
mod engine;
mod exchange;
mod faulted;
pub mod flows;
mod judge;
mod late;
mod ledger;
mod market;
mod record;
mod reorder;
mod step;
pub mod template;

use serde::Serialize;
use serde_json::Value;

use crate::orders::OrderSpec;
use crate::retry::CallKind;

pub use clock::{SigningTime, SimClock};
pub use diagnose::{CommonFailure, common_failure};
pub use engine::{AttemptInfo, BusinessErrors, Engine, EngineOptions, Target};
pub use judge::{Judgement, has_app_info, judge};
pub use ledger::{
    FlowOutcome, FlowReport, LicenseUploadCheck, OrderLedger, OrderState, OrderStatus, StepReport,
};
pub use market::{DEFAULT_LICENSE_UPLOAD_WAIT, OpenApiLink};
pub use record::{Check, ExchangeLog, ExchangeRecord, RequestRecord, ResponseRecord, Trigger};
pub use template::{Bindings, Unbound, render};

/// One call KooGallery makes in a flow.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What this step stands for in the story ("renewal", "expiry: freeze").
    pub note: String,
    /// Body template; see [`template`] for the `${...}` placeholders.
    pub body: Value,
    /// The retry rule, or `None` for a call KooGallery makes once.
    pub kind: Option<CallKind>,
    /// `resultCode`s that count as success.
    pub accept: Vec<String>,
    /// Placed in the order book just before the step; its IDs bind `${orderId}` and
    /// `${orderLineId}` (the first line) for this and later steps.
    #[serde(skip)]
    pub place: Option<OrderSpec>,
}

impl Step {
    /// A step accepting only `000000`, with the retry rule of its activity.
    pub fn new(note: &str, body: Value) -> Self {
        let kind = body
            .get("activity")
            .and_then(Value::as_str)
            .and_then(CallKind::for_activity);
        Self {
            note: note.to_owned(),
            body,
            kind,
            accept: vec!["000000".to_owned()],
            place: None,
        }
    }

    pub fn accept(mut self, codes: &[&str]) -> Self {
        self.accept = codes.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    pub fn kind(mut self, kind: Option<CallKind>) -> Self {
        self.kind = kind;
        self
    }

    pub fn place(mut self, order: OrderSpec) -> Self {
        self.place = Some(order);
        self
    }

    pub fn activity(&self) -> &str {
        self.body
            .get("activity")
            .and_then(Value::as_str)
            .unwrap_or("?")
    }
}

/// An ordered list of steps; the flow is fulfilled when every step succeeded.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub name: String,
    pub summary: String,
    pub steps: Vec<Step>,
}

impl Flow {
    pub fn new(name: &str, summary: &str, steps: Vec<Step>) -> Self {
        Self {
            name: name.to_owned(),
            summary: summary.to_owned(),
            steps,
        }
    }
}
