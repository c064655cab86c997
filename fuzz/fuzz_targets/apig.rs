//! The API Gateway signer's URL and header canonicaliser, and the `Authorization` parser, on
//! arbitrary input: never panic; whatever we sign, our verifier accepts.
#![no_main]

use koogate_protocol::AccessKey;
use koogate_protocol::signing::apig::{self, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let url = parts.next().unwrap_or_default();
    let header = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default().as_bytes();
    let _ = apig::parse_authorization(parts.next().unwrap_or_default());
    let headers = match header.split_once(':') {
        Some((name, value)) => vec![(name.to_owned(), value.to_owned())],
        None => Vec::new(),
    };
    let request = Request { method: "POST", url, headers: &headers, body };
    let sk = AccessKey::new("fuzz-secret");
    let _ = apig::canonical_request(&request, &headers);
    let Ok(signed) = apig::sign("FUZZAK", &sk, "20240317T144237Z", &request) else {
        return;
    };
    let mut received = headers.clone();
    received.retain(|(n, _)| !n.eq_ignore_ascii_case("host") && !n.eq_ignore_ascii_case("x-sdk-date") && !n.eq_ignore_ascii_case("authorization"));
    received.push(("Host".to_owned(), signed.host.clone()));
    received.push(("X-Sdk-Date".to_owned(), signed.sdk_date.clone()));
    received.push(("Authorization".to_owned(), signed.authorization.clone()));
    let check = Request { method: "POST", url, headers: &received, body };
    let lookup = |ak: &str| (ak == "FUZZAK").then(|| sk.clone());
    let verdict = apig::verify(&check, &lookup, 1_710_686_557);
    // Header names the signer refuses to canonicalise consistently would show up here.
    if !headers.iter().any(|(n, _)| n.trim().is_empty() || n.contains(|c: char| c.is_whitespace() || c == ';' || c == ',')) {
        assert!(verdict.is_ok(), "own signature refused: {verdict:?}");
    }
});
