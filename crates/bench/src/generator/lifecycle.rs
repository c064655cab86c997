//! The mixed workload: whole instance lifecycles, each sent in order on one connection, with
//! KooGallery's duplicates mixed in. Every call, duplicate or not, must be answered `000000`:
//! a repeated `newInstance` or renewal replays the stored answer, a repeated freeze, unfreeze,
//! query or release finds nothing to change.

use axum::body::Bytes;
use koogate_sim::produce_client::Body;

use super::prepare::{Job, Signer, instance, order};

/// One original call in this many is sent a second time, right after the first: 1 duplicate per
/// 9 originals makes duplicates 10 % of all requests.
pub const DUPLICATE_EVERY: usize = 9;

/// A renewal far in the future, so no renewal ever shortens an instance.
const RENEWED_UNTIL: &str = "20991231235959";

/// The six calls of order `n`'s lifecycle.
pub fn calls(n: usize) -> [Body; 6] {
    let (order_id, line) = order(n);
    let id = instance(n);
    let renewal = format!("RENEW{n:06}");
    [
        Body::new_instance(&order_id, &line, &id),
        Body::query_instance(&id),
        Body::refresh_instance(
            &id,
            &renewal,
            &format!("{renewal}-000001"),
            "RENEWAL",
            RENEWED_UNTIL,
        ),
        Body::update_instance_status(&id, "FREEZE"),
        Body::update_instance_status(&id, "UNFREEZE"),
        Body::release_instance(&id),
    ]
}

/// `lifecycles` jobs of orders `first_order..`, duplicates included.
pub fn jobs(signer: &Signer, first_order: usize, lifecycles: usize) -> Vec<Job> {
    let mut originals = 0usize;
    (first_order..first_order + lifecycles)
        .map(|n| {
            let mut job = Vec::with_capacity(7);
            for body in calls(n) {
                let bytes = Bytes::from(body.to_bytes());
                job.push(signer.sign(bytes.clone()));
                originals += 1;
                if originals.is_multiple_of(DUPLICATE_EVERY) {
                    // A resend is a new HTTP request with a new nonce, the same body.
                    job.push(signer.sign(bytes));
                }
            }
            job
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_of_requests_are_duplicates() {
        let signer = Signer::new("http://x/produce", "k", 0);
        let jobs = jobs(&signer, 100, 90);
        let total: usize = jobs.iter().map(Vec::len).sum();
        assert_eq!(total, 90 * 6 + 90 * 6 / DUPLICATE_EVERY);
        let duplicates = total - 90 * 6;
        assert_eq!(duplicates * 10, total);
    }

    #[test]
    fn a_lifecycle_runs_in_order_for_one_instance() {
        let signer = Signer::new("http://x/produce", "k", 0);
        let job = &jobs(&signer, 7, 1)[0];
        let activities: Vec<String> = job
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert!(r.body.windows(12).any(|w| w == b"bench-000007"));
                v["activity"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(activities[0], "newInstance");
        assert_eq!(activities.last().unwrap(), "releaseInstance");
    }
}
