//! Each crate links its integration tests into one binary (`tests/it/main.rs`): a second test
//! target would be linked against every dependency again and slow `cargo test` down.

use std::path::Path;

/// The test targets cargo finds in `tests`: `tests/*.rs` and `tests/*/main.rs`.
fn test_targets(tests: &Path) -> Vec<String> {
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(tests).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && path.join("main.rs").is_file() {
            targets.push(format!("{name}/main.rs"));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            targets.push(name);
        }
    }
    targets.sort();
    targets
}

#[test]
fn every_crate_has_at_most_one_integration_test_binary() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let krate = entry.unwrap().path();
        let tests = krate.join("tests");
        if !tests.is_dir() {
            continue;
        }
        let targets = test_targets(&tests);
        assert!(
            targets.len() <= 1,
            "{} has {} integration-test binaries ({targets:?}); add the new file as a module of \
             tests/it/main.rs instead",
            krate.display(),
            targets.len()
        );
        let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
        assert!(
            !manifest.contains("[[test]]"),
            "{}: a [[test]] target is a second test binary",
            krate.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 4,
        "only {checked} crates with tests found under {}",
        crates.display()
    );
}
