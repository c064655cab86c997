//! The commented default configuration (`config.default.toml`), printed by `koogate
//! default-config`, and the README's table of settings generated from it. Keeping the manual in
//! one file, checked by tests against [`Config`], is what stops the three from drifting apart.
//!
//! Template format: blocks separated by blank lines. A block that documents a setting has
//! description lines (`# ...`), an optional `# Default: ...` line, a `# Environment: KOOGATE_X`
//! line, and then `key = value` (the default) or `# key = value` (an example of a setting unset
//! by default). A block without an `Environment:` line is prose; one without a key line is an
//! environment-only variable.

/// The template, exactly as `koogate default-config` prints it.
pub const DEFAULT_TOML: &str = include_str!("../../config.default.toml");

/// One documented setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `KOOGATE_...`.
    pub env: String,
    /// The key in the TOML file; `None` for environment-only variables.
    pub key: Option<String>,
    /// The TOML value on the key line (the default when `commented` is false, else an example).
    pub value: Option<String>,
    /// Whether the key line is commented out (the setting is unset by default).
    pub commented: bool,
    /// The `Default:` line, if any.
    pub default: Option<String>,
    /// Description lines joined by spaces.
    pub meaning: String,
}

impl Entry {
    /// What the default is, in words: the `Default:` line, else the value on an active key line.
    pub fn default_text(&self) -> String {
        match (&self.default, &self.value, self.commented) {
            (Some(text), _, _) => text.clone(),
            (None, Some(value), false) => {
                let shown = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                match shown {
                    "[]" => "none".to_owned(),
                    shown => format!("`{shown}`"),
                }
            }
            _ => "unset".to_owned(),
        }
    }
}

/// Every documented setting, in template order.
pub fn entries() -> Vec<Entry> {
    DEFAULT_TOML
        .split("\n\n")
        .filter_map(|block| parse_block(block.trim()))
        .collect()
}

fn parse_block(block: &str) -> Option<Entry> {
    let mut env = None;
    let mut default = None;
    let mut meaning = Vec::new();
    let mut key_line = None;
    for line in block.lines() {
        let (commented, text) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim()),
            None => (false, line.trim()),
        };
        if let Some(name) = text.strip_prefix("Environment:") {
            env = Some(name.trim().to_owned());
        } else if let Some(text) = text.strip_prefix("Default:") {
            default = Some(text.trim().to_owned());
        } else if env.is_some() {
            // After the Environment line only the key line may follow.
            key_line = Some((commented, text));
        } else {
            meaning.push(text);
        }
    }
    let env = env?;
    let (key, value, commented) = match key_line.and_then(|(commented, text)| {
        let (key, value) = text.split_once('=')?;
        Some((key.trim().to_owned(), value.trim().to_owned(), commented))
    }) {
        Some((key, value, commented)) => (Some(key), Some(value), commented),
        None => (None, None, true),
    };
    Some(Entry {
        env,
        key,
        value,
        commented,
        default,
        meaning: meaning.join(" "),
    })
}

/// The README's settings table (between its `config-table` markers).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Variable | Key in the file | Default | Meaning |\n|---|---|---|---|\n");
    for entry in entries() {
        let key = entry
            .key
            .as_deref()
            .map_or_else(|| "(environment only)".to_owned(), |k| format!("`{k}`"));
        out.push_str(&format!(
            "| `{}` | {key} | {} | {} |\n",
            entry.env,
            entry.default_text().replace('|', "\\|"),
            entry.meaning.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The names of `Config`'s fields, read from its source so a new field cannot be forgotten.
    fn config_fields() -> Vec<String> {
        let source = include_str!("../config.rs");
        let start = source
            .find("pub struct Config {")
            .expect("Config in config.rs");
        let body = &source[start..];
        let end = body.find("\n}\n").expect("end of Config");
        body[..end]
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub "))
            .filter_map(|line| line.split_once(':').map(|(name, _)| name.trim().to_owned()))
            .filter(|name| !name.starts_with("struct"))
            .collect()
    }

    /// The template with every example line uncommented.
    fn all_examples() -> String {
        let mut text = String::new();
        for entry in entries() {
            if let (Some(key), Some(value)) = (&entry.key, &entry.value) {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        text
    }

    /// A TOML value as the environment variable would spell it.
    fn env_spelling(value: &str) -> String {
        let parsed: toml::Value =
            toml::from_str::<toml::Table>(&format!("v = {value}")).expect("value")["v"].clone();
        match parsed {
            toml::Value::String(s) => s,
            toml::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().expect("array of strings").to_owned())
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        }
    }

    #[test]
    fn the_template_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).expect("template parses");
        // `Config` has no `PartialEq` (secrets are compared nowhere else); `Debug` shows every
        // non-secret field and whether each secret is set, which is all the template can set.
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn every_config_field_is_documented_with_its_variable() {
        let entries = entries();
        let fields = config_fields();
        assert!(fields.len() > 20, "{fields:?}");
        // The keys `Config::load` reads (from serde) are the fields in the source.
        assert_eq!(fields, Config::keys());
        for field in &fields {
            let entry = entries
                .iter()
                .find(|e| e.key.as_deref() == Some(field.as_str()))
                .unwrap_or_else(|| panic!("{field} is missing from config.default.toml"));
            assert_eq!(entry.env, format!("KOOGATE_{}", field.to_ascii_uppercase()));
            assert!(!entry.meaning.is_empty(), "{field} has no description");
            assert!(
                entry.commented == entry.default.is_some(),
                "{field}: unset-by-default settings are commented out and say their default; others show it"
            );
        }
        for entry in entries.iter().filter(|e| e.key.is_some()) {
            assert!(
                fields.contains(entry.key.as_ref().expect("key")),
                "{entry:?} is not a Config field"
            );
        }
    }

    /// The examples are valid, and each variable means exactly what its file key means.
    #[test]
    fn every_example_parses_and_each_variable_matches_its_key() {
        let dir = std::env::temp_dir().join(format!("koogate-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("all.toml");
        std::fs::write(&path, all_examples()).expect("write");
        let from_file = Config::load(Some(&path), Vec::new());
        let _ = std::fs::remove_dir_all(&dir);
        let from_file = from_file.expect("every example parses");
        let vars: Vec<(String, String)> = entries()
            .into_iter()
            .filter_map(|e| Some((e.env, env_spelling(&e.value?))))
            .collect();
        let from_env = Config::load(None, vars).expect("every example as a variable");
        assert_eq!(format!("{from_file:?}"), format!("{from_env:?}"));
        assert_ne!(format!("{from_file:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn the_readme_table_is_generated_from_the_template() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        )
        .expect("README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's configuration table is out of date: replace it with the output of \
             `koogate default-config --markdown`:\n{table}"
        );
    }
}
