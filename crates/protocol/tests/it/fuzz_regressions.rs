//! Inputs the fuzzers (`fuzz/`) found, kept so they can never regress.

use koogate_protocol::signing::kit;

/// `fuzz/artifacts/kit/crash-a5a02af1…`: a number whose default (not correctly rounded) float
/// parse printed `9.959999999999999e+74`, which re-parsed as `9.96e+74`, so the kit canonical
/// form of a canonical form differed from itself and signatures over it were unstable. Fixed by
/// serde_json's `float_roundtrip` feature.
#[test]
fn kit_canonical_form_of_a_large_float_is_stable() {
    let body = b"\t\t{\"{6e-\"\n:\n\n996e72\t}\n";
    let once = kit::canonical_payload(body).expect("valid JSON");
    let twice = kit::canonical_payload(once.as_bytes()).expect("canonical JSON parses");
    assert_eq!(once, twice);
    assert_eq!(once, r#"{"{6e-":9.96e74}"#.replace("e74", "e+74"));
}
