//! The five workloads, the outbox drain line, their ceilings and their request budgets. Budgets
//! come from the ceilings measured just before: a workload cannot beat its ceiling, so 1.5 × the
//! ceiling's rate over the window is enough, and the sandbox only needs as many fresh orders as
//! can be bought. The ceilings themselves never run out (see [`Workload::Ceiling`]).

use crate::plan::Workload;
use crate::profile::Settings;
use crate::report::CeilingKind;

/// Keys of the ceilings the workloads are judged against.
pub const HTTP: &str = "http_ceiling";
pub const STORAGE: &str = "storage_ceiling";

/// A ceiling: the `koogate bench ceiling` argument that serves it, and its line.
#[derive(Debug, Clone)]
pub struct CeilingRun {
    pub arg: &'static str,
    pub spec: Spec,
}

/// The ceilings in the order they run.
pub fn ceilings() -> Vec<CeilingRun> {
    let line = |arg, key, name, what| CeilingRun {
        arg,
        spec: Spec {
            key,
            name,
            what,
            ceiling: None,
            workload: Workload::Ceiling {
                prepared: crate::profile::CEILING_PREPARED,
            },
        },
    };
    vec![
        line(
            "http",
            HTTP,
            "HTTP ceiling",
            "the same HTTP stack (axum, tokio, HTTP/1.1) answering a fixed JSON body with a \
             Body-Sign header, no other work",
        ),
        line(
            "storage",
            STORAGE,
            "storage ceiling",
            "the HTTP ceiling plus one durable single-row INSERT transaction per request \
             through koogate's own store: same pool, same sync settings",
        ),
    ]
}

/// Instances the replay and query workloads name (queryInstance takes at most 100 ids).
pub const POOL: usize = 100;

/// One line of the report: what to measure and how to call it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub key: &'static str,
    pub name: &'static str,
    pub what: &'static str,
    /// `None` for the ceilings themselves.
    pub ceiling: Option<CeilingKind>,
    pub workload: Workload,
}

/// The outbox drain line: a burst of purchases on a `koogate serve` with a vendor hook, then
/// events delivered per second until its outbox is empty.
pub fn drain(settings: &Settings, storage_rps: f64, first_order: usize) -> Spec {
    Spec {
        key: DRAIN,
        name: "outbox drain",
        what: "after a burst of fresh purchases on a koogate serve whose vendor hook is the \
               bench's local receiver: distinct webhook events delivered (signed, over HTTP) per \
               second from the burst's end until the outbox is empty",
        ceiling: Some(CeilingKind::Storage),
        workload: Workload::Burst {
            first_order,
            purchases: settings.burst_for(storage_rps, 50),
        },
    }
}

/// Key of the outbox drain line.
pub const DRAIN: &str = "outbox_drain";

/// The workloads in the order they run, and how many sandbox orders they need.
pub fn specs(settings: &Settings, http_rps: f64, storage_rps: f64) -> (Vec<Spec>, usize) {
    let fresh = settings.budget_for(storage_rps, 2 * POOL);
    // A lifecycle is six or seven requests, each with at least one durable commit.
    let lifecycles = settings.budget_for(storage_rps / 6.0, 20);
    let specs = vec![
        Spec {
            key: "new_instance_fresh",
            name: "newInstance fresh",
            what: "newInstance of an order never bought: order query over HTTP to the bench's \
                   open-API simulator (as to KooGallery), built-in provisioner, one durable commit (instance, order, answer, 2 events)",
            ceiling: Some(CeilingKind::Storage),
            workload: Workload::Fresh {
                first_order: 0,
                budget: fresh,
            },
        },
        Spec {
            key: "new_instance_replay",
            name: "newInstance replay",
            what: "newInstance again for one of 100 bought orders (KooGallery's retry, new \
                   businessId): the stored answer, byte for byte",
            ceiling: Some(CeilingKind::Http),
            workload: Workload::Replay {
                orders: POOL,
                budget: settings.budget_for(http_rps, 500),
            },
        },
        Spec {
            key: "query_instance_1",
            name: "queryInstance 1 id",
            what: "queryInstance of one instance: read, open the sealed app info, encrypt the \
                   credentials",
            ceiling: Some(CeilingKind::Http),
            workload: Workload::Query {
                ids_per_call: 1,
                pool: POOL,
                budget: settings.budget_for(http_rps, 500),
            },
        },
        Spec {
            key: "query_instance_100",
            name: "queryInstance 100 ids",
            what: "queryInstance naming 100 instances at once (the protocol's maximum)",
            ceiling: Some(CeilingKind::Http),
            workload: Workload::Query {
                ids_per_call: POOL,
                pool: POOL,
                budget: settings.budget_for(http_rps / 10.0, 100),
            },
        },
        Spec {
            key: "mixed_lifecycle",
            name: "mixed lifecycle",
            what: "per fresh order: new, query, renew, freeze, unfreeze, release, in order on one \
                   connection; 10 % of requests are duplicates",
            ceiling: Some(CeilingKind::Storage),
            workload: Workload::Mixed {
                first_order: fresh,
                lifecycles,
            },
        },
    ];
    (specs, fresh + lifecycles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn fresh_and_mixed_orders_do_not_overlap_and_all_exist() {
        let settings = Profile::Quick.settings();
        let (specs, orders) = specs(&settings, 10_000.0, 1_000.0);
        let Workload::Fresh { budget, .. } = specs[0].workload else {
            panic!("fresh first")
        };
        let Workload::Mixed {
            first_order,
            lifecycles,
        } = specs[4].workload
        else {
            panic!("mixed last")
        };
        assert_eq!(first_order, budget);
        assert_eq!(orders, first_order + lifecycles);
        assert!(
            budget >= POOL,
            "the replay and query pool must be sandbox orders"
        );
    }
}
