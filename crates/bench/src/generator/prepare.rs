//! Builds and signs every request of a workload before the clock starts. Bodies are the
//! simulator's doc-shaped ones (sorted keys, `testFlag: "1"`), the signature is scheme A with a
//! fresh nonce each, exactly what KooGallery sends; only the timestamp is taken once per batch,
//! which the ±60 s replay window allows for a window this short.

use axum::body::Bytes;
use koogate_protocol::AccessKey;
use koogate_protocol::signing::scheme_a;
use koogate_sim::produce_client::{Body, fresh_nonce};

use crate::plan::Workload;

/// A signed request: the full URL with its signature parameters, and the body bytes.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub url: String,
    pub body: Bytes,
}

/// Requests that must be sent in order by one connection (a lifecycle); most jobs are one request.
pub type Job = Vec<Prepared>;

/// The order a workload buys: `SANDBOX{n:06}`, with its only line: what the controller places
/// in its open-API simulator (and `KOOGATE_SANDBOX_ORDERS` in koogate serve's embedded sandbox).
pub fn order(n: usize) -> (String, String) {
    let id = format!("SANDBOX{n:06}");
    let line = format!("{id}-000001");
    (id, line)
}

/// The instance id of order `n`: its first `newInstance` carries this `businessId`, which koogate
/// takes as the instance id (spec saas-v2 §3.1), so every workload knows the ids without asking.
pub fn instance(n: usize) -> String {
    format!("bench-{n:06}")
}

/// Signs bodies for one target.
#[derive(Debug)]
pub struct Signer {
    url: String,
    key: AccessKey,
    timestamp: String,
}

impl Signer {
    pub fn new(url: &str, key: &str, now_ms: i64) -> Self {
        Self {
            url: url.to_owned(),
            key: AccessKey::new(key),
            timestamp: now_ms.to_string(),
        }
    }

    pub fn sign(&self, body: Bytes) -> Prepared {
        let nonce = fresh_nonce();
        let signature = scheme_a::sign(&self.key, &self.timestamp, &nonce, &body);
        // Hex digits only in all three values, so nothing needs URL encoding.
        let url = format!(
            "{}?signature={signature}&timestamp={}&nonce={nonce}",
            self.url, self.timestamp
        );
        Prepared { url, body }
    }

    fn single(&self, body: &Bytes) -> Job {
        vec![self.sign(body.clone())]
    }
}

fn bytes(body: &Body) -> Bytes {
    Bytes::from(body.to_bytes())
}

fn new_instance(n: usize, business_id: &str) -> Bytes {
    let (order, line) = order(n);
    bytes(&Body::new_instance(&order, &line, business_id))
}

/// The untimed requests a workload needs first: the instances it names must exist. A
/// `newInstance` that was already answered is a harmless replay.
pub fn setup(signer: &Signer, workload: &Workload) -> Vec<Job> {
    let orders = match *workload {
        Workload::Replay { orders, .. } => orders,
        Workload::Query { pool, .. } => pool,
        _ => 0,
    };
    (0..orders)
        .map(|n| signer.single(&new_instance(n, &instance(n))))
        .collect()
}

/// Every timed request of a workload.
pub fn jobs(signer: &Signer, workload: &Workload) -> Vec<Job> {
    match *workload {
        // Sent again in turn by the driver: the ceilings ignore bodies and signatures.
        Workload::Ceiling { prepared } => {
            let body = bytes(&Body::query_instance(&instance(0)));
            (0..prepared.max(1)).map(|_| signer.single(&body)).collect()
        }
        Workload::Fresh {
            first_order,
            budget: count,
        }
        | Workload::Burst {
            first_order,
            purchases: count,
        } => (first_order..first_order + count)
            .map(|n| signer.single(&new_instance(n, &instance(n))))
            .collect(),
        // KooGallery's retries carry a new businessId; the stored answer must come back anyway.
        Workload::Replay { orders, budget } => (0..budget)
            .map(|i| signer.single(&new_instance(i % orders.max(1), &format!("retry-{i}"))))
            .collect(),
        Workload::Query {
            ids_per_call,
            pool,
            budget,
        } => {
            let bodies = query_bodies(ids_per_call, pool);
            (0..budget)
                .map(|i| signer.single(&bodies[i % bodies.len()]))
                .collect()
        }
        Workload::Mixed {
            first_order,
            lifecycles,
        } => super::lifecycle::jobs(signer, first_order, lifecycles),
    }
}

/// One body per starting instance, each naming `ids_per_call` consecutive instances.
fn query_bodies(ids_per_call: usize, pool: usize) -> Vec<Bytes> {
    let pool = pool.max(1);
    (0..pool)
        .map(|start| {
            let ids: Vec<String> = (0..ids_per_call.max(1))
                .map(|k| instance((start + k) % pool))
                .collect();
            bytes(&Body::query_instance(&ids.join(",")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use koogate_protocol::signing::scheme_a::{SignatureParams, VerifyPolicy};

    use super::*;

    fn param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
        let query = url.split_once('?')?.1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    #[test]
    fn every_request_verifies_and_has_its_own_nonce() {
        let now = 1_700_000_000_000;
        let signer = Signer::new("http://127.0.0.1:1/produce", "bench-key", now);
        let jobs = jobs(
            &signer,
            &Workload::Fresh {
                first_order: 5,
                budget: 3,
            },
        );
        let mut nonces = std::collections::HashSet::new();
        for job in &jobs {
            let req = &job[0];
            let params = SignatureParams {
                signature: param(&req.url, "signature"),
                timestamp: param(&req.url, "timestamp"),
                nonce: param(&req.url, "nonce"),
            };
            let key = AccessKey::new("bench-key");
            scheme_a::verify(&key, params, &req.body, now, &VerifyPolicy::default()).unwrap();
            assert!(nonces.insert(param(&req.url, "nonce").unwrap().to_owned()));
        }
        let first = String::from_utf8(jobs[0][0].body.to_vec()).unwrap();
        assert!(first.contains(r#""orderId":"SANDBOX000005""#), "{first}");
        assert!(first.contains(r#""businessId":"bench-000005""#), "{first}");
    }

    #[test]
    fn query_of_a_hundred_names_a_hundred_distinct_instances() {
        let bodies = query_bodies(100, 100);
        let text = String::from_utf8(bodies[7].to_vec()).unwrap();
        let ids: std::collections::HashSet<&str> = text
            .split('"')
            .find(|s| s.starts_with("bench-"))
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn replays_cycle_over_the_set_up_orders() {
        let signer = Signer::new("http://x/produce", "k", 0);
        let workload = Workload::Replay {
            orders: 2,
            budget: 5,
        };
        assert_eq!(setup(&signer, &workload).len(), 2);
        let bodies: Vec<String> = jobs(&signer, &workload)
            .iter()
            .map(|j| String::from_utf8(j[0].body.to_vec()).unwrap())
            .collect();
        assert!(bodies[2].contains("SANDBOX000000") && bodies[3].contains("SANDBOX000001"));
    }
}
