use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_need_no_configuration_and_mean_sandbox() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.produce_path, "/produce");
    assert!(c.sandbox());
    assert_eq!(c.database_url(), "sqlite://koogate-data/koogate.db");
    assert_eq!(c.encrypt_type, CredentialEncryption::Aes256);
}

#[test]
fn environment_overrides_the_public_variables() {
    let c = Config::load(
        None,
        env(&[
            ("KOOGATE_LISTEN", "0.0.0.0:9000"),
            ("KOOGATE_DATABASE_URL", "postgres://u:pw@db/koogate"),
            ("KOOGATE_ACCESS_KEY", "ak-basic"),
            ("KOOGATE_OPENAPI_URL", "https://mkt.myhuaweicloud.com"),
            ("KOOGATE_AK", "AK1"),
            ("KOOGATE_SK", "SK1"),
            ("KOOGATE_ENCRYPT_TYPE", "none"),
            ("KOOGATE_HOOK_URL", "https://vendor.example/hooks"),
            ("KOOGATE_HOOK_SECRET", "whsec_abc"),
            ("KOOGATE_API_TOKEN", "tok"),
            ("KOOGATE_MASTER_KEY", "00"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.database_url(), "postgres://u:pw@db/koogate");
    assert_eq!(c.access_key.as_ref().unwrap().expose(), "ak-basic");
    assert!(!c.sandbox());
    assert_eq!(c.encrypt_type, CredentialEncryption::None);
    assert_eq!(c.hook_url.as_deref(), Some("https://vendor.example/hooks"));
}

#[test]
fn debug_output_never_contains_secrets() {
    let c = Config::load(
        None,
        env(&[
            ("KOOGATE_ACCESS_KEY", "topsecret-ak"),
            ("KOOGATE_DATABASE_URL", "postgres://u:pw-secret@db/x"),
        ]),
    )
    .unwrap();
    let text = format!("{c:?}");
    assert!(
        !text.contains("topsecret-ak") && !text.contains("pw-secret"),
        "{text}"
    );
}

#[test]
fn invalid_values_are_named() {
    let err = Config::load(None, env(&[("KOOGATE_ENCRYPT_TYPE", "3")])).unwrap_err();
    assert!(err.to_string().contains("KOOGATE_ENCRYPT_TYPE"), "{err}");
    let err = Config::load(None, env(&[("KOOGATE_OPENAPI_URL", "https://x")])).unwrap_err();
    assert!(err.to_string().contains("KOOGATE_AK"), "{err}");
    let err = Config::load(None, env(&[("KOOGATE_LISTEN", "nope")])).unwrap_err();
    assert!(err.to_string().contains("KOOGATE_LISTEN"), "{err}");
}

#[test]
fn toml_file_is_layered_under_the_environment() {
    let dir =
        std::env::temp_dir().join(format!("koogate-config-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("koogate.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7000\"\nencrypt_type = \"2\"\nrelease_unknown = \"success\"\n",
    )
    .unwrap();
    let c = Config::load(Some(&file), env(&[("KOOGATE_LISTEN", "127.0.0.1:7001")])).unwrap();
    assert_eq!(c.listen.port(), 7001);
    assert_eq!(c.encrypt_type, CredentialEncryption::Aes128);
    assert_eq!(c.release_unknown, ReleaseUnknown::Success);
    std::fs::write(&file, "no_such_setting = 1\n").unwrap();
    assert!(Config::load(Some(&file), Vec::new()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generated_secrets_persist_across_starts() {
    let dir =
        std::env::temp_dir().join(format!("koogate-secrets-{}", uuid::Uuid::new_v4().simple()));
    let (first, created) = GeneratedSecrets::load_or_create(&dir).unwrap();
    assert!(created);
    let (second, created_again) = GeneratedSecrets::load_or_create(&dir).unwrap();
    assert!(!created_again);
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(GeneratedSecrets::path(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut c = Config {
        access_key: Some(Secret::new("configured")),
        ..Config::default()
    };
    first.fill(&mut c);
    assert_eq!(c.access_key.unwrap().expose(), "configured");
    assert_eq!(c.api_token.unwrap().expose(), first.api_token);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `secrets.toml` written before the license signing key existed gains one, once, and keeps
/// everything else; the rewritten file stays private.
#[test]
fn an_older_secrets_file_gains_a_license_key_once() {
    let dir =
        std::env::temp_dir().join(format!("koogate-secrets-{}", uuid::Uuid::new_v4().simple()));
    let (first, _) = GeneratedSecrets::load_or_create(&dir).unwrap();
    let path = GeneratedSecrets::path(&dir);
    let old: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("license_signing_key"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, old).unwrap();
    // A configured key leaves the file as it is.
    let (configured, _) = GeneratedSecrets::load_or_create_for(&dir, true).unwrap();
    assert!(configured.license_signing_key.is_empty());
    let (upgraded, created) = GeneratedSecrets::load_or_create(&dir).unwrap();
    assert!(!created);
    assert_eq!(upgraded.license_signing_key.len(), 64);
    assert_ne!(upgraded.license_signing_key, first.license_signing_key);
    assert_eq!(upgraded.access_key, first.access_key);
    assert_eq!(upgraded.master_key, first.master_key);
    let (again, _) = GeneratedSecrets::load_or_create(&dir).unwrap();
    assert_eq!(again, upgraded);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1, "only secrets.toml remains");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn categories_sharing_a_key_are_grouped() {
    let mut config = Config {
        access_key: Some(Secret::new("basic-key")),
        ..Config::default()
    };
    assert_eq!(
        config.shared_key_categories(),
        vec![vec![
            "basic",
            "license-code",
            "generic (orderNotify)",
            "Kit"
        ]]
    );
    config.license_access_key = Some(Secret::new("license-key"));
    config.notify_access_key = Some(Secret::new("notify-key"));
    config.kit_access_key = Some(Secret::new("license-key"));
    assert_eq!(
        config.shared_key_categories(),
        vec![vec!["license-code", "Kit"]]
    );
    config.kit_access_key = Some(Secret::new("kit-key"));
    assert!(config.shared_key_categories().is_empty());
}

// ---- One parser: the file and the environment accept the same values. ----

/// One setting's sample: the file's TOML value, the same value as the variable spells it, and
/// other settings (as variables) that it needs to pass validation.
struct Sample {
    key: &'static str,
    file: &'static str,
    env: &'static str,
    with: &'static [(&'static str, &'static str)],
}

const fn sample(key: &'static str, file: &'static str, env: &'static str) -> Sample {
    Sample {
        key,
        file,
        env,
        with: &[],
    }
}

/// A non-default value for every setting.
const SAMPLES: &[Sample] = &[
    sample("listen", r#""0.0.0.0:9000""#, "0.0.0.0:9000"),
    sample("ops_listen", r#""127.0.0.1:9090""#, "127.0.0.1:9090"),
    sample("header_timeout_secs", "30", "30"),
    sample("body_timeout_secs", "20", "20"),
    sample("max_connections", "2048", "2048"),
    sample("hook_concurrency", "3", "3"),
    sample("connection_reserve", "64", "64"),
    sample("data_dir", r#""/var/lib/koogate""#, "/var/lib/koogate"),
    sample(
        "database_url",
        r#""postgres://u:pw@db/koogate""#,
        "postgres://u:pw@db/koogate",
    ),
    sample(
        "produce_path",
        r#""/koogallery/produce""#,
        "/koogallery/produce",
    ),
    sample("access_key", r#""basic-key""#, "basic-key"),
    sample("license_access_key", r#""license-key""#, "license-key"),
    sample("notify_access_key", r#""notify-key""#, "notify-key"),
    sample("kit_access_key", r#""kit-key""#, "kit-key"),
    sample("kit_private_key_file", r#""/etc/kit.pem""#, "/etc/kit.pem"),
    Sample {
        key: "openapi_url",
        file: r#""https://mkt.myhuaweicloud.com""#,
        env: "https://mkt.myhuaweicloud.com",
        with: &[("KOOGATE_AK", "AK1"), ("KOOGATE_SK", "SK1")],
    },
    sample(
        "openapi_fallback_url",
        r#""https://mkt.myhuaweicloud.cn""#,
        "https://mkt.myhuaweicloud.cn",
    ),
    sample("ak", r#""AK1""#, "AK1"),
    sample("sk", r#""SK1""#, "SK1"),
    sample("encrypt_type", r#""2""#, "2"),
    sample(
        "hook_url",
        r#""https://vendor.example/h""#,
        "https://vendor.example/h",
    ),
    sample("hook_secret", r#""whsec_abc""#, "whsec_abc"),
    sample("license_signing_key", r#""00ff""#, "00ff"),
    sample("api_token", r#""token""#, "token"),
    sample("master_key", r#""0011""#, "0011"),
    sample("previous_master_keys", r#"["aa", "bb"]"#, "aa,bb"),
    sample("release_unknown", r#""success""#, "success"),
    sample("usage_info_name", r#""usageInfos""#, "usageInfos"),
    sample("accept_sha256_inner", "true", "true"),
    sample("change_check_default", "false", "false"),
    sample("frontend_url_in_new_instance", r#""always""#, "always"),
    sample("provision_wait_ms", "1500", "1500"),
    sample("max_fingerprint_bytes", "5120", "5120"),
    sample("body_limit", "2097152", "2097152"),
    sample("metering_window", r#""day""#, "day"),
    sample("metering_grace_secs", "600", "600"),
    sample("metering_interval_secs", "120", "120"),
    sample("reconcile_mode", r#""heal""#, "heal"),
    sample("reconcile_interval_secs", "600", "600"),
    sample(
        "frontend_url_template",
        r#""https://app.example/{instanceId}""#,
        "https://app.example/{instanceId}",
    ),
    sample(
        "admin_url_template",
        r#""https://app.example/admin/{instanceId}""#,
        "https://app.example/admin/{instanceId}",
    ),
    Sample {
        key: "tls_cert",
        file: r#""/etc/tls/cert.pem""#,
        env: "/etc/tls/cert.pem",
        with: &[("KOOGATE_TLS_KEY", "/etc/tls/key.pem")],
    },
    Sample {
        key: "tls_key",
        file: r#""/etc/tls/key.pem""#,
        env: "/etc/tls/key.pem",
        with: &[("KOOGATE_TLS_CERT", "/etc/tls/cert.pem")],
    },
];

/// A temporary directory holding configuration files, removed when dropped.
struct Files(std::path::PathBuf);

impl Files {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("koogate-config-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Loads `text` as the file, under the variables `vars`.
    fn load(&self, text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let path = self.0.join("koogate.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), env(vars))
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn variable(key: &str) -> String {
    format!("KOOGATE_{}", key.to_ascii_uppercase())
}

/// A TOML basic string holding `text`.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[test]
fn the_samples_cover_every_setting_and_the_variables_follow_the_keys() {
    let mut sampled: Vec<&str> = SAMPLES.iter().map(|s| s.key).collect();
    sampled.sort_unstable();
    let mut settings = Config::keys().to_vec();
    settings.sort_unstable();
    assert_eq!(sampled, settings);
    // The documented variable of every setting is the one `load` reads.
    for entry in template::entries() {
        if let Some(key) = entry.key {
            assert_eq!(entry.env, variable(&key));
        }
    }
}

/// For every setting: a value set in the file, the same value set in the environment, and the
/// variable's text written as a string in the file all give the same `Config`, which is not the
/// default.
#[test]
fn every_setting_means_the_same_in_the_file_and_the_environment() {
    let files = Files::new();
    for sample in SAMPLES {
        let name = variable(sample.key);
        let from_file = files
            .load(&format!("{} = {}\n", sample.key, sample.file), sample.with)
            .unwrap_or_else(|e| panic!("{}: file: {e}", sample.key));
        let mut vars = sample.with.to_vec();
        vars.push((&name, sample.env));
        let from_env = Config::load(None, env(&vars))
            .unwrap_or_else(|e| panic!("{}: environment: {e}", sample.key));
        assert_eq!(from_file, from_env, "{}", sample.key);
        let as_text = files
            .load(
                &format!("{} = {}\n", sample.key, quoted(sample.env)),
                sample.with,
            )
            .unwrap_or_else(|e| panic!("{}: the variable's text in the file: {e}", sample.key));
        assert_eq!(as_text, from_env, "{}", sample.key);
        assert_ne!(from_env, Config::default(), "{}", sample.key);
        // Without the sample, the configuration is different, or invalid (a TLS key needs its
        // certificate): either way the sample was read.
        if let Ok(without) = Config::load(None, env(sample.with)) {
            assert_ne!(
                from_env, without,
                "{}: the sample changes nothing",
                sample.key
            );
        }
    }
}

/// Every spelling either layer accepted before the two parsers became one is accepted by both.
#[test]
fn every_accepted_spelling_works_in_both_places() {
    // (key, the canonical file value, other spellings of the same value)
    let spellings: &[(&str, &str, &[&str])] = &[
        ("encrypt_type", r#""1""#, &["1", " 1 "]),
        ("encrypt_type", r#""2""#, &["2"]),
        ("encrypt_type", r#""none""#, &["none", "NONE", "0", "plain"]),
        (
            "release_unknown",
            r#""not-found""#,
            &["not-found", "000003"],
        ),
        (
            "release_unknown",
            r#""success""#,
            &["success", "000000", " Success "],
        ),
        (
            "frontend_url_in_new_instance",
            r#""when-known""#,
            &["when-known", "When-Known"],
        ),
        (
            "frontend_url_in_new_instance",
            r#""never""#,
            &["never", "NEVER "],
        ),
        ("metering_window", r#""day""#, &["day", "Day", " day"]),
        ("reconcile_mode", r#""off""#, &["off", "OFF"]),
        ("reconcile_mode", r#""heal""#, &["heal", " Heal "]),
        (
            "accept_sha256_inner",
            "true",
            &["true", "TRUE", "1", "yes", "on", " on "],
        ),
        (
            "change_check_default",
            "false",
            &["false", "0", "no", "Off"],
        ),
        ("header_timeout_secs", "30", &["30", " 30 "]),
        ("body_limit", "2097152", &["2097152", " 2097152"]),
        (
            "listen",
            r#""0.0.0.0:9000""#,
            &["0.0.0.0:9000", " 0.0.0.0:9000 "],
        ),
        (
            "previous_master_keys",
            r#"["aa", "bb"]"#,
            &["aa,bb", " aa , bb ", "aa,,bb,"],
        ),
        ("previous_master_keys", "[]", &["", " , "]),
    ];
    let files = Files::new();
    for (key, canonical, others) in spellings {
        let expected = files
            .load(&format!("{key} = {canonical}\n"), &[])
            .unwrap_or_else(|e| panic!("{key} = {canonical}: {e}"));
        for text in *others {
            let from_env = Config::load(None, env(&[(&variable(key), text)]))
                .unwrap_or_else(|e| panic!("{key}: {text:?} in the environment: {e}"));
            assert_eq!(from_env, expected, "{key}: {text:?} in the environment");
            let from_file = files
                .load(&format!("{key} = {}\n", quoted(text)), &[])
                .unwrap_or_else(|e| panic!("{key}: {text:?} in the file: {e}"));
            assert_eq!(from_file, expected, "{key}: {text:?} in the file");
        }
    }
    // The file may also write numbers and booleans natively where the environment has text.
    for (text, native) in [
        ("encrypt_type = \"2\"", "encrypt_type = 2"),
        (
            "previous_master_keys = \"aa, bb\"",
            "previous_master_keys = [\"aa\", \" bb\", \"\"]",
        ),
    ] {
        assert_eq!(
            files.load(text, &[]).unwrap(),
            files.load(native, &[]).unwrap()
        );
    }
}

/// A bad value fails naming the variable, or the key and the file, and never repeating the
/// value (it may be a secret).
#[test]
fn a_bad_value_names_its_setting_and_not_the_value() {
    let bad: &[(&str, &str)] = &[
        ("listen", "nope-9000"),
        ("ops_listen", "nope-9090"),
        ("header_timeout_secs", "ten-BAD"),
        ("body_timeout_secs", "-1"),
        ("max_connections", "1.5"),
        ("hook_concurrency", "-1"),
        ("connection_reserve", "many-BAD"),
        ("encrypt_type", "3"),
        ("release_unknown", "ok-BAD"),
        ("accept_sha256_inner", "maybe-BAD"),
        ("change_check_default", "2"),
        ("frontend_url_in_new_instance", "sometimes-BAD"),
        ("provision_wait_ms", "soon-BAD"),
        ("max_fingerprint_bytes", "5K-BAD"),
        ("body_limit", "1MB-BAD"),
        ("metering_window", "week-BAD"),
        ("metering_grace_secs", "5m-BAD"),
        ("metering_interval_secs", "1m-BAD"),
        ("reconcile_mode", "fix-BAD"),
        ("reconcile_interval_secs", "1h-BAD"),
    ];
    let files = Files::new();
    for (key, text) in bad {
        let name = variable(key);
        let err = Config::load(None, env(&[(&name, text)])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&name), "{key}: {message}");
        assert!(message.contains("expected"), "{key}: {message}");
        assert!(!message.contains(text), "{key}: {message}");
        let err = files
            .load(&format!("{key} = {}\n", quoted(text)), &[])
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{key} in ")),
            "{key}: {message}"
        );
        let path = files.0.join("koogate.toml");
        let path = path.to_str().unwrap();
        assert!(message.contains(path), "{key}: {message}");
        assert!(
            !message.replace(path, "").contains(text),
            "{key}: {message}"
        );
    }
    // A secret of the wrong type, or in a file that does not parse, is not repeated either.
    let path = files.0.join("koogate.toml");
    let path = path.to_str().unwrap();
    let message = |text: &str| {
        files
            .load(text, &[])
            .unwrap_err()
            .to_string()
            .replace(path, "")
    };
    let err = message("sk = 123456789\n");
    assert!(
        err.starts_with("sk in ") && !err.contains("123456789"),
        "{err}"
    );
    let err = message("previous_master_keys = [987654321]\n");
    assert!(
        err.starts_with("previous_master_keys in ") && !err.contains("987654321"),
        "{err}"
    );
    let err = message("listen = \"127.0.0.1:1\"\nsk = \"unterminated-SECRET\n");
    assert!(
        err.contains("line 2") && !err.contains("unterminated-SECRET"),
        "{err}"
    );
    // An unknown key in the file is named.
    let err = message("listn = \"127.0.0.1:1\"\n");
    assert!(
        err.starts_with("listn in ") && err.contains("not a koogate setting"),
        "{err}"
    );
}

/// A bad value in the file is an error even where a variable overrides it; a good one is
/// overridden.
#[test]
fn the_environment_does_not_hide_a_bad_file_value() {
    let files = Files::new();
    let err = files
        .load("encrypt_type = \"3\"\n", &[("KOOGATE_ENCRYPT_TYPE", "2")])
        .unwrap_err();
    assert!(err.to_string().starts_with("encrypt_type in "), "{err}");
    let err = files
        .load("encrypt_type = \"2\"\n", &[("KOOGATE_ENCRYPT_TYPE", "3")])
        .unwrap_err();
    assert!(err.to_string().contains("KOOGATE_ENCRYPT_TYPE"), "{err}");
    let c = files
        .load(
            "encrypt_type = \"2\"\n",
            &[
                ("KOOGATE_ENCRYPT_TYPE", "7"),
                ("KOOGATE_ENCRYPT_TYPE", "none"),
            ],
        )
        .unwrap();
    assert_eq!(
        c.encrypt_type,
        CredentialEncryption::None,
        "the last one wins"
    );
}

/// Counts the warnings logged, and collects their `variable` fields.
#[derive(Default, Clone)]
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Variable(String);
        impl tracing::field::Visit for Variable {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "variable" {
                    self.0 = format!("{value:?}");
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "variable" {
                    self.0 = value.to_owned();
                }
            }
        }
        let mut variable = Variable(String::new());
        event.record(&mut variable);
        self.0.lock().unwrap().push(variable.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn unknown_variables_warn_and_do_not_fail() {
    let warnings = Warnings::default();
    let c = tracing::subscriber::with_default(warnings.clone(), || {
        Config::load(
            None,
            env(&[
                ("KOOGATE_LISTN", "127.0.0.1:1"),
                ("KOOGATE_listen", "not an address"),
                ("KOOGATE_LOG", "debug"),
                ("KOOGATE_CONFIG", "/nowhere.toml"),
                ("KOOGATE_SANDBOX_ORDERS", "5"),
                ("KOOGATE_TEST_DATABASE_URL", "postgres://x"),
                ("KOOGATE_LISTEN", "127.0.0.1:7000"),
                ("NOT_KOOGATE_LISTEN", "nope"),
            ]),
        )
    })
    .unwrap();
    assert_eq!(c.listen.port(), 7000);
    assert_eq!(
        *warnings.0.lock().unwrap(),
        vec!["KOOGATE_LISTN".to_owned(), "KOOGATE_listen".to_owned()]
    );
}
