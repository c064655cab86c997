//! The crypto cost, measured in-process on one core: what the per-request cryptography alone
//! allows. Per request that is one scheme-A verification (two HMAC-SHA256 over the body), the
//! encryption of the two credentials a one-id `queryInstance` answer carries (each with its
//! SHA1PRNG key derivation and AES-256-CBC), and the `Body-Sign` HMAC of the answer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use koogate_protocol::AccessKey;
use koogate_protocol::crypto::credential::{self, EncryptType, Iv};
use koogate_protocol::signing::{body_sign, scheme_a};
use koogate_sim::produce_client::Body;
use serde::{Deserialize, Serialize};

/// Nanoseconds per operation and the ceiling they imply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CryptoCost {
    pub verify_ns: f64,
    pub encrypt_ns: f64,
    pub body_sign_ns: f64,
    /// `verify + 2 × encrypt + body_sign`.
    pub per_request_ns: f64,
    /// Requests per second one core could do if crypto were all there was.
    pub one_core_rps: f64,
    pub cores: usize,
    /// `one_core_rps × cores`: the upper bound crypto alone puts on any workload.
    pub bound_rps: f64,
}

/// Measures each operation for a third of `budget`.
pub fn measure(budget: Duration) -> CryptoCost {
    let key = AccessKey::new("bench-crypto-key-0123456789abcdef");
    let body = Body::query_instance("bench-000000").to_bytes();
    let share = budget / 3;
    let now_ms = 1_700_000_000_000_i64;
    let (timestamp, nonce) = (now_ms.to_string(), "0123456789ABCDEF0123456789ABCDEF");
    let signature = scheme_a::sign(&key, &timestamp, nonce, &body);
    let policy = scheme_a::VerifyPolicy::default();
    let verify_ns = time_per_op(share, || {
        let params = scheme_a::SignatureParams {
            signature: Some(&signature),
            timestamp: Some(&timestamp),
            nonce: Some(nonce),
        };
        scheme_a::verify(&key, params, black_box(&body), now_ms, &policy).is_ok()
    });
    let iv = Iv::random();
    let encrypt_ns = time_per_op(share, || {
        !credential::encrypt(&key, EncryptType::Aes256, &iv, black_box("Adm1n-p4ssw0rd!"))
            .is_empty()
    });
    let body_sign_ns = time_per_op(share, || {
        !body_sign::header_value(&key, black_box(&body)).is_empty()
    });
    cost(verify_ns, encrypt_ns, body_sign_ns, cores())
}

fn cost(verify_ns: f64, encrypt_ns: f64, body_sign_ns: f64, cores: usize) -> CryptoCost {
    let per_request_ns = verify_ns + 2.0 * encrypt_ns + body_sign_ns;
    let one_core_rps = if per_request_ns > 0.0 {
        1e9 / per_request_ns
    } else {
        0.0
    };
    CryptoCost {
        verify_ns,
        encrypt_ns,
        body_sign_ns,
        per_request_ns,
        one_core_rps,
        cores,
        bound_rps: one_core_rps * cores as f64,
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `op` in batches until `budget` has passed; the result keeps the optimiser honest.
fn time_per_op(budget: Duration, mut op: impl FnMut() -> bool) -> f64 {
    const BATCH: u32 = 64;
    let started = Instant::now();
    let mut ops = 0u64;
    let mut kept = 0u64;
    while ops == 0 || started.elapsed() < budget {
        for _ in 0..BATCH {
            kept += u64::from(op());
        }
        ops += u64::from(BATCH);
    }
    black_box(kept);
    started.elapsed().as_nanos() as f64 / ops as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_scales_with_cores() {
        let c = cost(1000.0, 2000.0, 500.0, 2);
        assert_eq!(c.per_request_ns, 5500.0);
        assert!((c.bound_rps - 2.0 * 1e9 / 5500.0).abs() < 1e-6);
    }

    #[test]
    fn a_short_measurement_gives_positive_costs() {
        let c = measure(Duration::from_millis(30));
        assert!(c.verify_ns > 0.0 && c.encrypt_ns > 0.0 && c.body_sign_ns > 0.0);
        assert!(c.bound_rps > 0.0);
    }
}
