//! Scheme-A verifier and production-body parser on arbitrary input: must never panic, and a
//! body our own signer signed must always verify (so the fuzzer also hunts for sign/verify
//! disagreements on strange bodies).
#![no_main]

use koogate_protocol::AccessKey;
use koogate_protocol::messages::parse_produce_request;
use koogate_protocol::signing::scheme_a::{self, SignatureParams, VerifyPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First line: "signature|timestamp|nonce"; the rest is the body.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let head = String::from_utf8_lossy(head);
    let mut parts = head.splitn(3, '|');
    let (sig, ts, nonce) = (parts.next(), parts.next(), parts.next());
    let key = AccessKey::new("fuzz-access-key");
    let policy = VerifyPolicy::default();
    let params = SignatureParams { signature: sig, timestamp: ts, nonce };
    let _ = scheme_a::verify(&key, params, body, 1_680_508_066_618, &policy);
    let _ = parse_produce_request(body);

    let now = 1_680_508_066_618_i64;
    let ts = now.to_string();
    let nonce = nonce.unwrap_or("n");
    let signature = scheme_a::sign(&key, &ts, nonce, body);
    let params = SignatureParams { signature: Some(&signature), timestamp: Some(&ts), nonce: Some(nonce) };
    if !nonce.is_empty() {
        assert!(scheme_a::verify(&key, params, body, now, &policy).is_ok(), "own signature refused");
    }
});
