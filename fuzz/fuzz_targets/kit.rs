//! Kit canonicaliser and `x-sign` verifier on arbitrary input: never panic; the canonical form
//! of a canonical form is itself (idempotent); our own signature always verifies.
#![no_main]

use koogate_protocol::AccessKey;
use koogate_protocol::signing::kit::{self, KitPolicy, KitVariant};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = AccessKey::new("fuzz-kit-key");
    let now = 1_680_508_066_618_i64;
    let ts = now.to_string();
    let _ = kit::verify(&key, Some("00"), Some(&ts), Some("n"), data, now, &KitPolicy::default());
    if let Ok(canonical) = kit::canonical_payload(data) {
        let again = kit::canonical_payload(canonical.as_bytes()).expect("canonical form must parse");
        assert_eq!(canonical, again, "canonicalisation is not idempotent");
        let sign = kit::sign(&key, KitVariant::Canonical, &ts, "n", data).expect("parsed once already");
        assert!(kit::verify(&key, Some(&sign), Some(&ts), Some("n"), data, now, &KitPolicy::default()).is_ok());
    }
});
