//! The demo's story. The lifecycle's steps are borrowed from the simulator's flows and played one
//! at a time through the scenario engine, so that everything a call caused (the gateway's order
//! query, the events it queued for the vendor's system) can be printed right under it.

use std::collections::HashSet;
use std::time::Instant;

use koogate_gateway::config::Secret;
use koogate_sim::handle::SimHandle;
use koogate_sim::scenario::{ExchangeRecord, Flow, FlowReport, Step, flows};
use serde_json::Value;

/// Which flow's step, by index, plays each stage of the lifecycle.
const LIFECYCLE: [(&str, usize); 8] = [
    ("expiry", 0),     // new purchase, monthly
    ("new-period", 1), // the buyer views the instance
    ("renewal", 1),    // renewal
    ("expiry", 1),     // expiry: freeze
    ("expiry", 3),     // renewed: unfreeze
    ("upgrade", 1),    // changeInstanceCheck
    ("upgrade", 2),    // upgradeInstance
    ("release", 2),    // release after the retention period
];

pub(super) struct Timeline<'a> {
    sim: &'a SimHandle,
    gateway: &'a str,
    token: &'a Secret,
    http: reqwest::Client,
    started: Instant,
    /// How many simulator and open-API exchanges are already printed.
    exchanges: usize,
    openapi: usize,
    events: HashSet<i64>,
}

impl<'a> Timeline<'a> {
    pub(super) fn new(sim: &'a SimHandle, gateway: &'a str, token: &'a Secret) -> Self {
        Self {
            sim,
            gateway,
            token,
            http: reqwest::Client::new(),
            started: Instant::now(),
            exchanges: 0,
            openapi: 0,
            events: HashSet::new(),
        }
    }

    /// New purchase → query → renewal → freeze → unfreeze → change check → upgrade → release.
    /// `false` at the first step that failed (later steps need what it should have produced).
    pub(super) async fn lifecycle(&mut self) -> bool {
        println!("A purchase's life (seconds since start; ─▶ is one HTTP call):\n");
        println!(
            "{:>9}  {:<22} {:<22} {:<7} {:<10} what",
            "time", "who ─▶ whom", "activity", "result", "instance"
        );
        let at = self.sim.clock().start();
        let mut instance: Option<String> = None;
        for (flow, index) in LIFECYCLE {
            let step = flows::by_name(flow, at).and_then(|f| f.steps.get(index).cloned());
            let Some(step) = step else {
                println!("  ✘ the simulator has no step {index} in flow {flow}");
                return false;
            };
            let step = match &instance {
                Some(id) => with_instance(step, id),
                None => step,
            };
            let report = self.play(Flow::new("demo", "", vec![step])).await;
            if instance.is_none() {
                instance.clone_from(&report.instance_id);
                if let Some(id) = &instance {
                    println!("{:>11}the buyer's new instance: {id}", "");
                }
            }
            if let Some(id) = &instance {
                self.print_events(id).await;
            }
            if !report.fulfilled() {
                return false;
            }
        }
        true
    }

    /// KooGallery's order notification (license-kit §7), which concerns an order, not an
    /// instance.
    pub(super) async fn order_notify(&mut self) -> bool {
        println!("\nAn order notification:\n");
        let Some(flow) = flows::by_name("order-notify", self.sim.clock().start()) else {
            println!("  ✘ the simulator has no order-notify flow");
            return false;
        };
        let report = self.play(flow).await;
        if let Some(order_id) = report.steps.first().and_then(|s| s.order_id.clone()) {
            self.print_events(&format!("order:{order_id}")).await;
        }
        report.fulfilled()
    }

    /// Plays a flow and prints its calls and the gateway's order queries.
    async fn play(&mut self, flow: Flow) -> FlowReport {
        let time = self.started.elapsed().as_secs_f64();
        let report = self.sim.run_flow(&flow).await;
        let exchanges = self.sim.exchanges();
        for exchange in exchanges.iter().skip(self.exchanges) {
            let note = flow
                .steps
                .get(exchange.step)
                .map(|s| s.note.as_str())
                .unwrap_or_default();
            println!("{}", call_line(time, exchange, note));
        }
        self.exchanges = exchanges.len();
        let openapi = self.sim.openapi_exchanges();
        for exchange in openapi.iter().skip(self.openapi) {
            let (what, detail) = if exchange.path.contains("/order/query") {
                let query = exchange.path.split_once('?').map_or("", |(_, q)| q);
                ("order query", format!("查询订单 {query}"))
            } else {
                ("license upload", String::new())
            };
            println!(
                "{:>11}gateway ─▶ KooGallery  {what:<22} {:<7} {:<10} {detail}",
                "", exchange.status, ""
            );
        }
        self.openapi = openapi.len();
        report
    }

    /// The events the gateway queued for the vendor's system under `key` not printed yet, read
    /// back through the vendor API (`GET /api/v1/events`).
    async fn print_events(&mut self, key: &str) {
        let events = match self.events(key).await {
            Ok(events) => events,
            Err(err) => {
                println!("{:>11}(cannot read the gateway's events: {err})", "");
                return;
            }
        };
        for event in events {
            let id = event["id"].as_i64().unwrap_or_default();
            if !self.events.insert(id) {
                continue;
            }
            let kind = event["eventType"].as_str().unwrap_or("?");
            println!(
                "{:>11}gateway ─▶ vendor      {kind:<22} {:<7} {:<10} {}",
                "",
                "",
                "",
                meaning(kind, &event["payload"]["data"])
            );
        }
    }

    async fn events(&self, key: &str) -> Result<Vec<Value>, reqwest::Error> {
        let mut events: Vec<Value> = self
            .http
            .get(format!("{}/api/v1/events", self.gateway))
            .query(&[("instance", key), ("limit", "100")])
            .bearer_auth(self.token.expose())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        events.sort_by_key(|e| e["id"].as_i64());
        Ok(events)
    }
}

/// The step with `${instanceId}` filled in: each stage is its own one-step flow, and only the
/// instance carries over from one to the next.
fn with_instance(mut step: Step, instance_id: &str) -> Step {
    fn fill(value: &mut Value, instance_id: &str) {
        match value {
            Value::String(text) => *text = text.replace("${instanceId}", instance_id),
            Value::Array(items) => items.iter_mut().for_each(|v| fill(v, instance_id)),
            Value::Object(fields) => fields.values_mut().for_each(|v| fill(v, instance_id)),
            _ => {}
        }
    }
    fill(&mut step.body, instance_id);
    step
}

fn call_line(time: f64, exchange: &ExchangeRecord, note: &str) -> String {
    let response = exchange.response.as_ref();
    let code = response
        .and_then(|r| r.result_code.as_deref())
        .unwrap_or("-");
    let instance = response
        .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
        .and_then(|b| b["instanceId"].as_str().map(str::to_owned))
        .or_else(|| {
            exchange.request.body["instanceId"]
                .as_str()
                .map(str::to_owned)
        })
        .map(|id| short(&id))
        .unwrap_or_default();
    let verdict = match exchange.verdicts.iter().find(|v| !v.ok) {
        None => String::new(),
        Some(check) => format!(
            "  ✘ {}: {}",
            check.name,
            check.detail.as_deref().unwrap_or_default()
        ),
    };
    format!(
        "{time:>8.3}s  KooGallery ─▶ gateway  {:<22} {code:<7} {instance:<10} {note}{verdict}",
        exchange.activity
    )
}

/// The first 8 characters of an ID, enough to tell instances apart on one screen.
fn short(id: &str) -> String {
    match id.char_indices().nth(8) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_owned(),
    }
}

/// What an event tells the vendor's system, in words.
fn meaning(kind: &str, data: &Value) -> String {
    let text = |name: &str| data[name].as_str().unwrap_or("?").to_owned();
    match kind {
        "instance.provision" if data["provisionedBy"] == "koogate" => {
            "provision: done by koogate's built-in provisioner (no hook configured)".to_owned()
        }
        "instance.provision" => "provision: the vendor's hook creates the instance".to_owned(),
        "instance.ready" => "ready: app info stored, queryInstance hands it out".to_owned(),
        "instance.renewed" => format!("renewed ({}) until {}", text("scene"), text("expireTime")),
        "instance.frozen" => "frozen: the buyer's access is suspended".to_owned(),
        "instance.unfrozen" => "unfrozen: access restored".to_owned(),
        "instance.upgraded" => format!("upgraded to {}", text("skuCode")),
        "instance.released" => format!("released ({}): delete the buyer's data", text("reason")),
        "order.notified" => format!("order {} notified", text("orderId")),
        _ => String::new(),
    }
}
