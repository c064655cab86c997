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
