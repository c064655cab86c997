//! The code cites protocol sections as `saas-v2 §N` and `license-kit §N`, the numbering of the
//! documents the protocol was first reconstructed in, which the repository does not carry.
//! `docs/PROTOCOL.md` §10 maps each cited number to its own sections; this test keeps that map
//! complete, so every citation in the tree can be followed without leaving it.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const PREFIXES: [(&str, &str); 3] = [
    ("saas-v2 §", "saas-v2"),
    ("license-kit-openapi §", "license-kit"),
    ("license-kit §", "license-kit"),
];

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every text file the repository's readers meet: sources, tests, docs, migrations.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                files_under(&path, found);
            }
        } else if ["rs", "md", "sql", "toml"]
            .iter()
            .any(|ext| name.ends_with(&format!(".{ext}")))
        {
            found.push(path);
        }
    }
}

/// `saas-v2 §7.2`-style citations in `text`, normalised to `saas-v2 §7.2`.
fn citations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (prefix, document) in PREFIXES {
        for (at, _) in text.match_indices(prefix) {
            let number: String = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.');
            if !number.is_empty() {
                found.push(format!("{document} §{number}"));
            }
        }
    }
    found
}

#[test]
fn protocol_citations_resolve() {
    let root = repository_root();
    let protocol = std::fs::read_to_string(root.join("docs/PROTOCOL.md")).unwrap();
    let map_start = protocol
        .find("## 10. Section numbers cited in the code")
        .expect("docs/PROTOCOL.md has its citation map");
    let mapped: BTreeSet<String> = protocol[map_start..]
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|line| line.split(" |").next())
        .map(str::to_owned)
        .collect();
    let mut files = Vec::new();
    for dir in ["crates", "docs", "fuzz"] {
        if root.join(dir).is_dir() {
            files_under(&root.join(dir), &mut files);
        }
    }
    files.extend(["README.md", "BENCHMARKS.md"].map(|f| root.join(f)));
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for file in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(file).unwrap();
        for cited in citations(&text) {
            seen += 1;
            if !mapped.contains(&cited) {
                missing.insert(format!("{cited} (in {})", file.display()));
            }
        }
    }
    assert!(
        seen > 100,
        "the scan found only {seen} citations: is it looking in the right place?"
    );
    assert!(
        missing.is_empty(),
        "add these to docs/PROTOCOL.md §10: {missing:#?}"
    );
}

#[test]
fn citations_are_read_with_their_full_number() {
    assert_eq!(
        citations("see saas-v2 §7.2. and license-kit-openapi §1.2, license-kit §2.2.3"),
        ["saas-v2 §7.2", "license-kit §1.2", "license-kit §2.2.3"]
    );
    assert!(citations("saas-v2 § and license-kit").is_empty());
}
