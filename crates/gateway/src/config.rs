//! Configuration: built-in defaults, then an optional TOML file, then `KOOGATE_*` environment
//! variables (highest priority). Every field's doc comment is the operator manual; `koogate
//! default-config` prints them. Secrets are wrapped so `Debug` never shows them.

mod secrets;
mod setting;
pub mod template;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use secrets::{GeneratedSecrets, Secret};
use setting::{Setting, deserialize_as_setting, optional_setting, secret_list, setting};

/// How `queryInstance` returns `userName`/`password` (spec saas-v2 §4: the V2 table says plain
/// text, its example carries `encryptType`; both are in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialEncryption {
    /// AES-256-CBC, `encryptType` "1" (the V1 default).
    #[default]
    Aes256,
    /// AES-128-CBC, `encryptType` "2".
    Aes128,
    /// Plain text, no `encryptType`.
    None,
}

impl CredentialEncryption {
    /// The `encryptType` to announce in `queryInstance`; `None` for plain text.
    pub fn wire_type(self) -> Option<koogate_protocol::messages::produce_response::EncryptType> {
        use koogate_protocol::messages::produce_response::EncryptType;
        match self {
            Self::Aes256 => Some(EncryptType::Aes256),
            Self::Aes128 => Some(EncryptType::Aes128),
            Self::None => None,
        }
    }

    /// The cipher that encrypts the credentials; `None` for plain text.
    pub fn cipher(self) -> Option<koogate_protocol::crypto::credential::EncryptType> {
        use koogate_protocol::crypto::credential::EncryptType;
        match self {
            Self::Aes256 => Some(EncryptType::Aes256),
            Self::Aes128 => Some(EncryptType::Aes128),
            Self::None => None,
        }
    }
}

impl Setting for CredentialEncryption {
    const EXPECTED: &'static str = "1, 2 or none";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" => Some(Self::Aes256),
            "2" => Some(Self::Aes128),
            "none" | "0" | "plain" => Some(Self::None),
            _ => None,
        }
    }
}

/// The answer to `releaseInstance` for an instance koogate never had. The spec lists `000003`
/// for it, yet KooGallery only needs the instance gone; both answers are accepted by the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseUnknown {
    /// `not-found`, or the code itself, `000003`.
    #[default]
    NotFound,
    /// `success`, or `000000`.
    Success,
}

impl Setting for ReleaseUnknown {
    const EXPECTED: &'static str = "not-found or success";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "not-found" | "000003" => Some(Self::NotFound),
            "success" | "000000" => Some(Self::Success),
            _ => None,
        }
    }
}

/// Whether newInstance answers carry `appInfo.frontEndUrl`. The V2 debugger FAQ says newInstance
/// must return `instanceId` and `frontEndUrl`, while the V2 tables list only `instanceId`
/// (saas-v2 §3.1, open question 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrontEndUrlInNewInstance {
    /// When koogate knows it at answer time (built-in provisioner, or an instance already ready).
    #[default]
    WhenKnown,
    /// Also while the vendor's system is still provisioning: from `frontend_url_template`.
    Always,
    /// Never: `instanceId` only, as the V2 tables say.
    Never,
}

impl Setting for FrontEndUrlInNewInstance {
    const EXPECTED: &'static str = "when-known, always or never";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "when-known" => Some(Self::WhenKnown),
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// How usage reports are cut into the windows pushed to KooGallery (saas-v2 §7.2 timing:
/// hourly products report by 15 minutes past the next hour, daily ones by 00:15 the next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeteringWindow {
    /// Whole UTC hours.
    #[default]
    Hour,
    /// Whole days from midnight UTC+8 (Beijing), the marketplace's day [INFERRED].
    Day,
}

impl Setting for MeteringWindow {
    const EXPECTED: &'static str = "hour or day";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }
}

/// What the reconciliation pass does with what it finds (see `domain::reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReconcileMode {
    /// No pass runs.
    Off,
    /// Findings go to the metrics, the log and the vendor API; nothing is changed.
    #[default]
    Report,
    /// As `report`, and a missed expiry freezes, a missed release releases the instance, as
    /// if KooGallery's call had arrived.
    Heal,
}

impl Setting for ReconcileMode {
    const EXPECTED: &'static str = "off, report or heal";
    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "report" => Some(Self::Report),
            "heal" => Some(Self::Heal),
            _ => None,
        }
    }
}

deserialize_as_setting!(
    Secret,
    CredentialEncryption,
    ReleaseUnknown,
    FrontEndUrlInNewInstance,
    MeteringWindow,
    ReconcileMode,
);

/// Every setting, after layering. Built by [`Config::load`].
///
/// Its `Deserialize` is the only parser of settings: each field is a key of the file and, as
/// `KOOGATE_` and the upper-cased name, an environment variable, whose text goes through the same
/// `Deserialize` (see [`setting`]). A field whose type is not text therefore takes
/// `deserialize_with = "setting"` (or has a `Deserialize` that reads text).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`KOOGATE_LISTEN`).
    #[serde(deserialize_with = "setting")]
    pub listen: SocketAddr,
    /// Separate listener for the vendor API, `/readyz` and `/metrics` (`KOOGATE_OPS_LISTEN`).
    #[serde(deserialize_with = "optional_setting")]
    pub ops_listen: Option<SocketAddr>,
    /// Seconds for a request head to arrive; also the keep-alive idle timeout (`KOOGATE_HEADER_TIMEOUT_SECS`).
    #[serde(deserialize_with = "setting")]
    pub header_timeout_secs: u64,
    /// Seconds for a request body to arrive (`KOOGATE_BODY_TIMEOUT_SECS`).
    #[serde(deserialize_with = "setting")]
    pub body_timeout_secs: u64,
    /// Most connections open at once (`KOOGATE_MAX_CONNECTIONS`).
    #[serde(deserialize_with = "setting")]
    pub max_connections: usize,
    /// Connections no single peer address may take (`KOOGATE_CONNECTION_RESERVE`).
    #[serde(deserialize_with = "setting")]
    pub connection_reserve: usize,
    /// Directory for the SQLite database and generated secrets (`KOOGATE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...` (`KOOGATE_DATABASE_URL`); default SQLite in `data_dir`.
    pub database_url: Option<Secret>,
    /// The production-interface path registered in the seller center (`KOOGATE_PRODUCE_PATH`).
    pub produce_path: String,
    /// Access key bound to the basic interfaces (`KOOGATE_ACCESS_KEY`); generated when unset.
    pub access_key: Option<Secret>,
    /// Key bound to the license-code interfaces (`KOOGATE_LICENSE_ACCESS_KEY`); default: `access_key`.
    pub license_access_key: Option<Secret>,
    /// Key bound to the generic interfaces, i.e. `orderNotify` (`KOOGATE_NOTIFY_ACCESS_KEY`); default: `access_key`.
    pub notify_access_key: Option<Secret>,
    /// Key bound to the 联营SaaS同步接口 (Kit) category (`KOOGATE_KIT_ACCESS_KEY`); default: `access_key`.
    pub kit_access_key: Option<Secret>,
    /// PEM RSA private key of the 应用凭证, decrypting applicationSync's clientSecret (`KOOGATE_KIT_PRIVATE_KEY_FILE`).
    pub kit_private_key_file: Option<PathBuf>,
    /// Open-API base URL (`KOOGATE_OPENAPI_URL`); unset means sandbox mode.
    pub openapi_url: Option<String>,
    /// Fallback open-API base URL tried when the first is unreachable (`KOOGATE_OPENAPI_FALLBACK_URL`).
    pub openapi_fallback_url: Option<String>,
    /// API Gateway access key id (`KOOGATE_AK`).
    pub ak: Option<String>,
    /// API Gateway secret key (`KOOGATE_SK`).
    pub sk: Option<Secret>,
    /// `1`, `2` or `none` (`KOOGATE_ENCRYPT_TYPE`).
    pub encrypt_type: CredentialEncryption,
    /// The vendor's webhook URL (`KOOGATE_HOOK_URL`); unset means the built-in provisioner.
    pub hook_url: Option<String>,
    /// Standard Webhooks signing secret (`KOOGATE_HOOK_SECRET`); generated when unset.
    pub hook_secret: Option<Secret>,
    /// Hook deliveries in flight at once, each for another instance (`KOOGATE_HOOK_CONCURRENCY`).
    #[serde(deserialize_with = "setting")]
    pub hook_concurrency: usize,
    /// Ed25519 seed (64 hex characters) signing built-in licenses (`KOOGATE_LICENSE_SIGNING_KEY`); generated when unset.
    pub license_signing_key: Option<Secret>,
    /// Bearer token for the vendor REST API (`KOOGATE_API_TOKEN`); generated when unset.
    pub api_token: Option<Secret>,
    /// 64 hex characters; seals secrets at rest (`KOOGATE_MASTER_KEY`); generated when unset.
    pub master_key: Option<Secret>,
    /// Earlier master keys, still accepted for opening (`KOOGATE_PREVIOUS_MASTER_KEYS`, comma-separated).
    #[serde(deserialize_with = "secret_list")]
    pub previous_master_keys: Vec<Secret>,
    /// See [`ReleaseUnknown`] (`KOOGATE_RELEASE_UNKNOWN`: `not-found` or `success`).
    pub release_unknown: ReleaseUnknown,
    /// Name of the usage array in `queryInstance` (`KOOGATE_USAGE_INFO_NAME`: `usageInfo` or `usageInfos`).
    pub usage_info_name: String,
    /// Also accept the plain-SHA-256 inner digest seen in third-party code (`KOOGATE_ACCEPT_SHA256_INNER`).
    #[serde(deserialize_with = "setting")]
    pub accept_sha256_inner: bool,
    /// Answer to `changeInstanceCheck` when no hook decides (`KOOGATE_CHANGE_CHECK_DEFAULT`: true/false).
    #[serde(deserialize_with = "setting")]
    pub change_check_default: bool,
    /// `appInfo.frontEndUrl` in newInstance answers (`KOOGATE_FRONTEND_URL_IN_NEW_INSTANCE`: `when-known`, `always` or `never`).
    pub frontend_url_in_new_instance: FrontEndUrlInNewInstance,
    /// With a hook: how long newInstance waits for its answer to `instance.provision`, so that a
    /// quick refusal reaches KooGallery in the same call (`KOOGATE_PROVISION_WAIT_MS`; 0 = never wait).
    #[serde(deserialize_with = "setting")]
    pub provision_wait_ms: u64,
    /// Longest getLicenseAsync `deviceFingerprint` accepted, in bytes (`KOOGATE_MAX_FINGERPRINT_BYTES`; at most 5120).
    #[serde(deserialize_with = "setting")]
    pub max_fingerprint_bytes: usize,
    /// Largest accepted request body in bytes (`KOOGATE_BODY_LIMIT`).
    #[serde(deserialize_with = "setting")]
    pub body_limit: usize,
    /// Length of a usage window (`KOOGATE_METERING_WINDOW`: `hour` or `day`).
    pub metering_window: MeteringWindow,
    /// Seconds after a window ends before it is closed and pushed (`KOOGATE_METERING_GRACE_SECS`).
    #[serde(deserialize_with = "setting")]
    pub metering_grace_secs: u64,
    /// Seconds between metering passes (`KOOGATE_METERING_INTERVAL_SECS`).
    #[serde(deserialize_with = "setting")]
    pub metering_interval_secs: u64,
    /// Reconciliation with KooGallery's orders: `off`, `report` or `heal` (`KOOGATE_RECONCILE_MODE`).
    pub reconcile_mode: ReconcileMode,
    /// Seconds between reconciliation passes (`KOOGATE_RECONCILE_INTERVAL_SECS`).
    #[serde(deserialize_with = "setting")]
    pub reconcile_interval_secs: u64,
    /// Built-in provisioner: buyer-facing URL template; `{instanceId}` is replaced (`KOOGATE_FRONTEND_URL_TEMPLATE`).
    pub frontend_url_template: String,
    /// Built-in provisioner: admin URL template (`KOOGATE_ADMIN_URL_TEMPLATE`).
    pub admin_url_template: Option<String>,
    /// PEM certificate chain for HTTPS (`KOOGATE_TLS_CERT`); with `tls_key`, koogate serves TLS itself.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (`KOOGATE_TLS_KEY`).
    pub tls_key: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ops_listen: None,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            max_connections: 1024,
            connection_reserve: 128,
            data_dir: PathBuf::from("koogate-data"),
            database_url: None,
            produce_path: "/produce".to_owned(),
            access_key: None,
            license_access_key: None,
            notify_access_key: None,
            kit_access_key: None,
            kit_private_key_file: None,
            openapi_url: None,
            openapi_fallback_url: None,
            ak: None,
            sk: None,
            encrypt_type: CredentialEncryption::default(),
            hook_url: None,
            hook_secret: None,
            hook_concurrency: 8,
            license_signing_key: None,
            api_token: None,
            master_key: None,
            previous_master_keys: Vec::new(),
            release_unknown: ReleaseUnknown::default(),
            usage_info_name: "usageInfo".to_owned(),
            accept_sha256_inner: false,
            change_check_default: true,
            frontend_url_in_new_instance: FrontEndUrlInNewInstance::WhenKnown,
            provision_wait_ms: 0,
            max_fingerprint_bytes: 1024,
            body_limit: 1024 * 1024,
            metering_window: MeteringWindow::Hour,
            metering_grace_secs: 300,
            metering_interval_secs: 60,
            reconcile_mode: ReconcileMode::Report,
            reconcile_interval_secs: 3600,
            frontend_url_template: "http://127.0.0.1:8080/app/{instanceId}".to_owned(),
            admin_url_template: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Largest `max_fingerprint_bytes`: the FAQ's 5K, which the protocol crate also bounds.
pub const MAX_FINGERPRINT_BYTES: usize = 5120;

/// Longest `provision_wait_ms`.
pub const MAX_PROVISION_WAIT_MS: u64 = 3000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The I/O error is part of the message, not a `source`, so chains do not print it twice.
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("invalid TOML in {path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{key} in {path}: {message}")]
    Setting {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot store generated secrets in {path}: {cause}")]
    Secrets {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// `KOOGATE_*` variables that are not settings of [`Config`] but are read elsewhere (other
/// subcommands, tests); the documented ones come from the template's environment-only entries.
const OTHER_VARIABLES: &[&str] = &[
    "KOOGATE_TEST_DATABASE_URL",
    "KOOGATE_SIGN_KEY",
    "KOOGATE_CRASH_SEED",
];

impl Config {
    /// Defaults, then `file` (if given), then the environment `vars` (normally `std::env::vars()`).
    ///
    /// Both layers become one TOML table, the variables' text over the file's values, and that
    /// table is deserialized once: a value means the same in either place. An unknown key in the
    /// file is an error; an unknown `KOOGATE_*` variable only a warning.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        let settings: Vec<(&str, String)> = Self::keys()
            .iter()
            .map(|key| (*key, format!("KOOGATE_{}", key.to_ascii_uppercase())))
            .collect();
        // The key each variable set, and the variable's name.
        let mut variables: BTreeMap<&str, String> = BTreeMap::new();
        for (name, value) in vars {
            if !name.starts_with("KOOGATE_") {
                continue;
            }
            let Some(&(key, _)) = settings.iter().find(|(_, variable)| *variable == name) else {
                if !is_other_variable(&name) {
                    tracing::warn!(variable = name, "ignoring unknown KOOGATE_ variable");
                }
                continue;
            };
            let shadowed = table.insert(key.to_owned(), toml::Value::String(value));
            if let (Some(value), false) = (shadowed, variables.contains_key(key)) {
                // The variable overrides the file's value, yet a bad value there is an error.
                check_one(key, value).map_err(|message| named(key, message, None, file))?;
            }
            variables.insert(key, name);
        }
        let config = match Self::deserialize(table.clone()) {
            Ok(config) => config,
            Err(whole) => {
                // Name the culprit: the first key that is wrong on its own.
                for (key, value) in table {
                    if let Err(message) = check_one(&key, value) {
                        let variable = variables.remove(key.as_str());
                        return Err(named(&key, message, variable, file));
                    }
                }
                return Err(ConfigError::Invalid(whole.message().to_owned()));
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// The keys of the file; `KOOGATE_` and the upper-cased key is the environment variable.
    pub fn keys() -> &'static [&'static str] {
        setting::field_names::<Self>()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.produce_path.starts_with('/') {
            return Err(ConfigError::Invalid(
                "produce_path must start with '/'".into(),
            ));
        }
        if !matches!(self.usage_info_name.as_str(), "usageInfo" | "usageInfos") {
            return Err(ConfigError::Invalid(
                "usage_info_name must be usageInfo or usageInfos".into(),
            ));
        }
        // KooGallery takes usage within 15 minutes of the window's end and at most 2 hours late
        // (license-kit §6.4); a window is pushed within grace + interval of its end.
        let lateness = self
            .metering_grace_secs
            .saturating_add(self.metering_interval_secs);
        if lateness > 2 * 3600 {
            return Err(ConfigError::Invalid(
                "metering_grace_secs + metering_interval_secs must be at most 7200: KooGallery refuses usage pushed more than 2 hours late".into(),
            ));
        }
        if lateness > 15 * 60 {
            tracing::warn!(
                seconds = lateness,
                "usage windows may be pushed more than 15 minutes after they end; KooGallery expects them within 15 minutes"
            );
        }
        // KooGallery gives newInstance 5 s; the order query and the commit need the rest.
        if self.provision_wait_ms > MAX_PROVISION_WAIT_MS {
            return Err(ConfigError::Invalid(format!(
                "provision_wait_ms must be at most {MAX_PROVISION_WAIT_MS}: KooGallery waits 5 s for newInstance"
            )));
        }
        if !(1..=MAX_FINGERPRINT_BYTES).contains(&self.max_fingerprint_bytes) {
            return Err(ConfigError::Invalid(format!(
                "max_fingerprint_bytes must be 1 to {MAX_FINGERPRINT_BYTES} (the FAQ's 5K)"
            )));
        }
        if self.header_timeout_secs == 0 || self.body_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "header_timeout_secs and body_timeout_secs must be at least 1".into(),
            ));
        }
        if self.hook_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "hook_concurrency must be at least 1".into(),
            ));
        }
        if self.connection_reserve >= self.max_connections {
            return Err(ConfigError::Invalid(
                "connection_reserve must be smaller than max_connections".into(),
            ));
        }
        if self.ops_listen == Some(self.listen) {
            return Err(ConfigError::Invalid(
                "ops_listen must differ from listen".into(),
            ));
        }
        if self.metering_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "metering_interval_secs must be at least 1".into(),
            ));
        }
        if self.reconcile_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "reconcile_interval_secs must be at least 1".into(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key must be set together".into(),
            ));
        }
        if self.openapi_url.is_some() && (self.ak.is_none() || self.sk.is_none()) {
            return Err(ConfigError::Invalid(
                "openapi_url needs ak and sk (KOOGATE_AK, KOOGATE_SK)".into(),
            ));
        }
        Ok(())
    }

    /// Groups of interface categories that end up signed with one key (an unset category key
    /// falls back to `access_key`), for the warnings of `serve` and `doctor`: spec
    /// license-kit-openapi §1.2 says the categories must not share one. Call after the generated
    /// secrets are filled in; an unset `access_key` is not compared.
    pub fn shared_key_categories(&self) -> Vec<Vec<&'static str>> {
        let basic = self.access_key.as_ref().map(Secret::expose);
        fn resolve<'a>(key: Option<&'a Secret>, basic: Option<&'a str>) -> Option<&'a str> {
            key.map(Secret::expose).or(basic)
        }
        let keys = [
            ("basic", basic),
            (
                "license-code",
                resolve(self.license_access_key.as_ref(), basic),
            ),
            (
                "generic (orderNotify)",
                resolve(self.notify_access_key.as_ref(), basic),
            ),
            ("Kit", resolve(self.kit_access_key.as_ref(), basic)),
        ];
        let mut groups: Vec<(&str, Vec<&'static str>)> = Vec::new();
        for (name, key) in keys {
            let Some(key) = key else { continue };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, names)) => names.push(name),
                None => groups.push((key, vec![name])),
            }
        }
        groups
            .into_iter()
            .map(|(_, names)| names)
            .filter(|names| names.len() > 1)
            .collect()
    }

    /// Sandbox mode: no real open-API credentials, so order queries go to the embedded sandbox.
    pub fn sandbox(&self) -> bool {
        self.openapi_url.is_none()
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("koogate.db").display()),
        }
    }
}

/// The file as a table, its syntax checked; its values are read with the environment's.
fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
        path: path.into(),
        cause,
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        // The message, not the error's rendering: that quotes the line, which may hold a secret.
        let line = e
            .span()
            .and_then(|span| text.as_bytes().get(..span.start))
            .map(|before| before.iter().filter(|&&byte| byte == b'\n').count() + 1);
        ConfigError::Toml {
            path: path.into(),
            message: match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_owned(),
            },
        }
    })
}

/// Whether `key = value` alone is a valid configuration; else the reason, without the value.
fn check_one(key: &str, value: toml::Value) -> Result<(), String> {
    if !Config::keys().contains(&key) {
        return Err("not a koogate setting (`koogate default-config` lists them all)".to_owned());
    }
    let table = toml::Table::from_iter([(key.to_owned(), value)]);
    Config::deserialize(table)
        .map(drop)
        .map_err(|e| e.message().to_owned())
}

/// The error for a bad value of `key`, naming the variable that set it, else the file.
fn named(key: &str, message: String, variable: Option<String>, file: Option<&Path>) -> ConfigError {
    match (variable, file) {
        (Some(name), _) => ConfigError::Env { name, message },
        (None, Some(path)) => ConfigError::Setting {
            path: path.to_path_buf(),
            key: key.to_owned(),
            message,
        },
        (None, None) => ConfigError::Invalid(format!("{key}: {message}")),
    }
}

/// A `KOOGATE_*` variable that is not a setting but is known: documented as environment-only in
/// the template, or read by tests and other subcommands.
fn is_other_variable(name: &str) -> bool {
    OTHER_VARIABLES.contains(&name)
        || template::entries()
            .iter()
            .any(|entry| entry.key.is_none() && entry.env == name)
}

#[cfg(test)]
mod tests;
