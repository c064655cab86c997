//! The protocol crate stays free of I/O (PRODUCT.md: "no I/O"; issue 2: no dependency on tokio,
//! axum, sqlx or reqwest), so the gateway, the simulator and fuzzers can all use it. This guards
//! the direct dependencies; `cargo tree -p koogate-protocol -e normal` shows the transitive ones.

const FORBIDDEN: &[&str] = &[
    "tokio",
    "axum",
    "sqlx",
    "reqwest",
    "hyper",
    "mio",
    "async-std",
    "tower",
];

#[test]
fn no_io_crate_among_direct_dependencies() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("read Cargo.toml");
    let mut section = "";
    let mut offenders = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section != "[dependencies]" {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        if FORBIDDEN.contains(&name) {
            offenders.push(name.to_owned());
        }
    }
    assert!(
        offenders.is_empty(),
        "protocol must not depend on {offenders:?}"
    );
}
