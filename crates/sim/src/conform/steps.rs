//! The flows, in the order they run: create the instance, walk it through every activity, probe
//! security while it is alive, try unknown instances, release it last.

use std::time::Instant;

use super::cases::{self, Call};
use super::checks::{self, Check, Expect, Shape};
use super::runner::Runner;
use crate::openapi::{ORDER_QUERY_PATH, Verdict as ApigVerdict};
use crate::produce_client::{Body, Reply, SendError};

mod instance;
mod security;

pub(super) const SUCCESS: &str = "000000";
const IN_PROGRESS: &str = "000004";
const NO_INSTANCE: &str = "not run: newInstance gave no instanceId";

pub(super) async fn run_all(r: &mut Runner<'_>) {
    let first_code = new_instance(r).await;
    let Some(id) = r.instance_id.clone() else {
        // What needs no instance still runs; everything else is skipped with the reason.
        security::malformed_json(r).await;
        security::unknown_instance(r).await;
        r.skip_all("", NO_INSTANCE);
        return;
    };
    repeat_new_instance(r, first_code).await;
    instance::query_instance(r, &id).await;
    instance::lifecycle(r, &id).await;
    security::probes(r, &id).await;
    security::malformed_json(r).await;
    security::unknown_instance(r).await;
    instance::release(r, &id).await;
}

/// One call with all eight debugger checks recorded under `call.id`.
pub(super) async fn debugged(
    r: &mut Runner<'_>,
    call: Call,
    body: &Body,
    codes: &[&str],
    shape: Shape,
) -> Result<Reply, SendError> {
    r.status(call.id);
    let exchange = r.call(body).await;
    let key = r.client.key().clone();
    let expect = Expect {
        key: &key,
        budget: r.config.budget,
        codes,
        shape,
    };
    let why = match &exchange {
        Ok(_) => String::new(),
        Err(e) => format!("no answer: {e}"),
    };
    for check in Check::ALL {
        r.record_eval(&check.id(call), check.evaluate(&exchange, &expect), &why);
    }
    exchange
}

/// HTTP 200 and one of `codes`; the detail names what was seen otherwise.
pub(super) fn expect_code(
    exchange: &Result<Reply, SendError>,
    codes: &[&str],
) -> Result<String, String> {
    let reply = exchange.as_ref().map_err(|e| format!("no answer: {e}"))?;
    let code = checks::code_of(reply);
    let seen = || {
        format!(
            "HTTP {}, resultCode {}",
            reply.status,
            code.as_deref().unwrap_or("(none)")
        )
    };
    if reply.status != 200 {
        return Err(format!(
            "{}; expected HTTP 200 with {}",
            seen(),
            codes.join(" or ")
        ));
    }
    match code.as_deref() {
        Some(c) if codes.contains(&c) => Ok(seen()),
        _ => Err(format!("{}; expected {}", seen(), codes.join(" or "))),
    }
}

/// Creates the instance every later case works on; returns the `resultCode` it answered.
async fn new_instance(r: &mut Runner<'_>) -> Option<String> {
    let (order, line) = (r.config.order_id.clone(), r.config.order_line_id());
    let body = Body::new_instance(&order, &line, &business_id());
    let shape = if r.config.require_front_end_url {
        Shape::NewInstanceWithFrontEndUrl
    } else {
        Shape::NewInstance
    };
    let exchange = debugged(
        r,
        cases::NEW_INSTANCE,
        &body,
        &[SUCCESS, IN_PROGRESS],
        shape,
    )
    .await;
    order_query(r, &order);
    let reply = match exchange {
        Ok(reply) => reply,
        Err(e) => {
            r.skip("newInstance.provisioned", &format!("no answer: {e}"));
            return None;
        }
    };
    let code = checks::code_of(&reply);
    r.instance_id = reply
        .parsed
        .as_ref()
        .ok()
        .and_then(|p| p.instance_id.clone());
    let Some(id) = r.instance_id.clone() else {
        r.skip("newInstance.provisioned", NO_INSTANCE);
        return code;
    };
    let result = match code.as_deref() {
        Some(SUCCESS) => Ok("answered 000000: provisioned synchronously".to_owned()),
        Some(IN_PROGRESS) => wait_until_ready(r, &id).await,
        other => Err(format!(
            "newInstance answered {}",
            other.unwrap_or("no resultCode")
        )),
    };
    r.record("newInstance.provisioned", result);
    code
}

/// KooGallery polls queryInstance after a `000004` until the instance shows its app info.
async fn wait_until_ready(r: &mut Runner<'_>, id: &str) -> Result<String, String> {
    let started = Instant::now();
    let mut last = String::from("no poll answered");
    while started.elapsed() < r.config.provision_wait {
        r.status("newInstance: waiting for provisioning (000004)");
        tokio::time::sleep(r.config.poll_interval).await;
        match r.call(&Body::query_instance(id)).await {
            Ok(reply) => {
                let ready = reply
                    .parsed
                    .as_ref()
                    .ok()
                    .and_then(|p| p.info.as_ref())
                    .is_some_and(|info| {
                        info.iter()
                            .any(|i| i.instance_id == id && i.app_info.is_some())
                    });
                if ready {
                    return Ok(format!(
                        "appInfo after {} ms",
                        started.elapsed().as_millis()
                    ));
                }
                last = format!("last answer: {}", reply.body_excerpt(120));
            }
            Err(e) => last = format!("last poll: {e}"),
        }
    }
    Err(format!(
        "no appInfo within {} s; {last}",
        r.config.provision_wait.as_secs()
    ))
}

/// Whether the target fetched the order from the sandbox, and with the sandbox's AK/SK.
fn order_query(r: &mut Runner<'_>, order: &str) {
    let Some(sandbox) = r.sandbox else {
        return r.skip("newInstance.order-query", "no sandbox was started");
    };
    let wanted = format!("orderId={order}");
    let queries: Vec<_> = sandbox
        .exchanges()
        .into_iter()
        .filter(|e| e.path.starts_with(ORDER_QUERY_PATH) && e.path.contains(&wanted))
        .collect();
    let accepted = queries
        .iter()
        .filter(|e| matches!(e.verdict, ApigVerdict::Accepted { .. }))
        .count();
    let result = match (accepted, queries.first()) {
        (0, None) => Err(NO_ORDER_QUERY.to_owned()),
        (0, Some(refused)) => Err(format!(
            "the sandbox refused the target's order query ({:?}): is the target using the sandbox AK/SK?",
            refused.verdict
        )),
        (n, _) => Ok(format!("{n} accepted order query(ies) for {order}")),
    };
    r.record("newInstance.order-query", result);
}

const NO_ORDER_QUERY: &str = "no order query reached the sandbox (fine for a target pointed at \
    the real KooGallery, or one answering from an earlier run)";

async fn repeat_new_instance(r: &mut Runner<'_>, first_code: Option<String>) {
    r.status("idempotency: newInstance again");
    let (order, line) = (r.config.order_id.clone(), r.config.order_line_id());
    let body = Body::new_instance(&order, &line, &business_id());
    let exchange = r.call(&body).await;
    let first_id = r.instance_id.clone().unwrap_or_default();
    let result = same_instance(&exchange, &first_id, first_code.as_deref());
    r.record("idempotency.newInstance", result);
}

/// A repeat must name the first call's instance and answer the same code.
fn same_instance(
    exchange: &Result<Reply, SendError>,
    first_id: &str,
    first_code: Option<&str>,
) -> Result<String, String> {
    let reply = exchange.as_ref().map_err(|e| format!("no answer: {e}"))?;
    let parsed = reply
        .parsed
        .as_ref()
        .map_err(|e| format!("unparseable answer: {e}"))?;
    let again = parsed.instance_id.as_deref().unwrap_or_default();
    if again != first_id {
        return Err(format!(
            "a new instanceId `{again}` (first call: `{first_id}`): a retry must not create a second instance"
        ));
    }
    let code = parsed.result_code.code();
    // A finished asynchronous provisioning may turn 000004 into 000000; never the reverse.
    let same_code =
        first_code == Some(code) || (first_code == Some(IN_PROGRESS) && code == SUCCESS);
    if !same_code {
        return Err(format!(
            "resultCode {code}, first call {}",
            first_code.unwrap_or("?")
        ));
    }
    Ok(format!("same instanceId `{again}`, resultCode {code}"))
}

/// A fresh `businessId`: KooGallery sends a different one on every call, retries included.
fn business_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
