//! `koogate doctor`: loads the configuration exactly as `koogate serve` does and checks, one line
//! each, what would make the gateway fail or misbehave, before KooGallery's first call finds out.
//! It changes nothing a later `serve` depends on: secrets are reported, never generated, and
//! the data directory is not created. The one exception is an existing database, which it opens
//! like `serve` would, and so brings up to date with the migrations.
//!
//! Exit status 0 when no check failed (warnings allowed), 1 otherwise. Secrets are never printed:
//! only which ones are set and where they come from.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use koogate_gateway::app;
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::{Config, GeneratedSecrets, Secret, template};
use koogate_gateway::openapi::OpenApiError;
use koogate_gateway::secret_box::SecretBox;
use koogate_gateway::{store, tls_server};

use super::serve::redact_url;
use super::{CliError, CmdResult};

/// Longest wait for the database; a PostgreSQL server that does not answer by then is a failure.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a TCP connection to the database server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for the vendor's hook to answer the probe.
const HOOK_TIMEOUT: Duration = Duration::from_secs(3);
/// Variables read by tools and tests rather than by `serve`, so not in the template.
const OTHER_VARIABLES: &[&str] = &[
    "KOOGATE_SIGN_KEY",
    "KOOGATE_TEST_DATABASE_URL",
    "KOOGATE_CRASH_SEED",
];

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// TOML configuration file (`KOOGATE_CONFIG`); environment variables override it, as for serve.
    #[arg(long, env = "KOOGATE_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(args: DoctorArgs) -> CmdResult {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    Ok(runtime.block_on(doctor(args)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

/// Prints each check as it completes (the network checks take a moment) and counts them.
#[derive(Debug, Default)]
struct Report {
    warnings: usize,
    failures: usize,
}

impl Report {
    fn line(&mut self, status: Status, check: &str, message: impl AsRef<str>) {
        let label = match status {
            Status::Ok => "ok",
            Status::Warn => {
                self.warnings += 1;
                "warn"
            }
            Status::Fail => {
                self.failures += 1;
                "fail"
            }
        };
        println!("{label:<5} {check:<10} {}", message.as_ref());
        let _ = std::io::stdout().flush();
    }

    fn ok(&mut self, check: &str, message: impl AsRef<str>) {
        self.line(Status::Ok, check, message);
    }

    fn warn(&mut self, check: &str, message: impl AsRef<str>) {
        self.line(Status::Warn, check, message);
    }

    fn fail(&mut self, check: &str, message: impl AsRef<str>) {
        self.line(Status::Fail, check, message);
    }

    fn finish(self) -> ExitCode {
        let verdict = if self.failures == 0 {
            "koogate serve can start with this configuration"
        } else {
            "koogate serve would not start, or not work, with this configuration"
        };
        println!(
            "{} failed, {} warning(s): {verdict}",
            self.failures, self.warnings
        );
        if self.failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

async fn doctor(args: DoctorArgs) -> ExitCode {
    let mut report = Report::default();
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let config = match Config::load(args.config.as_deref(), vars.iter().cloned()) {
        Ok(config) => config,
        Err(err) => {
            // ConfigError names the file or variable and the expected form, never the value.
            report.fail("config", err.to_string());
            return report.finish();
        }
    };
    report.ok("config", sources(args.config.as_deref(), &vars));
    unknown_variables(&mut report, &vars);
    let stored = secrets(&mut report, &config);
    key_categories(&mut report, &config);
    master_key(&mut report, &config, stored.as_ref());
    data_dir(&mut report, &config.data_dir);
    database(&mut report, &config).await;
    open_api(&mut report, &config).await;
    hook(&mut report, &config).await;
    tls(&mut report, &config);
    listen(&mut report, &config);
    report.finish()
}

fn sources(file: Option<&Path>, vars: &[(String, String)]) -> String {
    let mut names: Vec<&str> = vars
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with("KOOGATE_"))
        .collect();
    names.sort_unstable();
    let file = match file {
        Some(path) => format!(", then {}", path.display()),
        None => String::new(),
    };
    let env = if names.is_empty() {
        String::from(", no KOOGATE_* variables")
    } else {
        format!(", then {}", names.join(", "))
    };
    format!("parsed: defaults{file}{env}")
}

fn unknown_variables(report: &mut Report, vars: &[(String, String)]) {
    let known: Vec<String> = template::entries().into_iter().map(|e| e.env).collect();
    let unknown: Vec<&str> = vars
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with("KOOGATE_"))
        .filter(|name| !known.iter().any(|k| k == name) && !OTHER_VARIABLES.contains(name))
        .collect();
    if !unknown.is_empty() {
        report.warn(
            "config",
            format!(
                "ignored, not a koogate setting (a typo?): {}; `koogate default-config` lists them all",
                unknown.join(", ")
            ),
        );
    }
}

/// Says where each secret comes from; returns the generated secrets file when it exists.
fn secrets(report: &mut Report, config: &Config) -> Option<GeneratedSecrets> {
    let path = GeneratedSecrets::path(&config.data_dir);
    let stored = match GeneratedSecrets::load(&config.data_dir) {
        Ok(stored) => stored,
        Err(err) => {
            report.fail("secrets", err.to_string());
            return None;
        }
    };
    let slots: [(&str, &Option<Secret>); 4] = [
        ("access_key", &config.access_key),
        ("api_token", &config.api_token),
        ("master_key", &config.master_key),
        ("hook_secret", &config.hook_secret),
    ];
    let names = |pick: &dyn Fn(&Option<Secret>) -> bool| -> Vec<&str> {
        slots
            .iter()
            .filter(|(_, slot)| pick(slot))
            .map(|(name, _)| *name)
            .collect()
    };
    let configured = names(&|slot| slot.is_some());
    let unset = names(&|slot| slot.is_none());
    let mut parts = Vec::new();
    if !configured.is_empty() {
        parts.push(format!("configured: {}", configured.join(", ")));
    }
    if !unset.is_empty() {
        let verb = if stored.is_some() {
            format!("generated earlier, read from {}", path.display())
        } else {
            format!(
                "would be generated by `koogate serve` into {}",
                path.display()
            )
        };
        parts.push(format!("{verb}: {}", unset.join(", ")));
    }
    report.ok("secrets", parts.join("; "));
    if config.access_key.is_none() && !config.sandbox() {
        report.warn(
            "secrets",
            "access_key is generated, but KooGallery signs with the key from the seller center: set KOOGATE_ACCESS_KEY",
        );
    }
    private_file_mode(report, &path);
    stored
}

/// Spec license-kit-openapi §1.2: the interface categories must not share an access key. A
/// generated `access_key` counts as one key like any other: with nothing else set, every
/// category shares it.
fn key_categories(report: &mut Report, config: &Config) {
    let mut resolved = config.clone();
    if resolved.access_key.is_none() {
        // Only compared, never shown: stands for the key `serve` would generate.
        resolved.access_key = Some(Secret::new("(generated access_key)"));
    }
    let groups = resolved.shared_key_categories();
    if groups.is_empty() {
        report.ok(
            "key-categories",
            "each interface category has its own access key",
        );
    }
    for group in groups {
        report.warn(
            "key-categories",
            format!(
                "{} share one access key; license-kit-openapi §1.2 asks for one per category: bind distinct keys in the seller center and set KOOGATE_LICENSE_ACCESS_KEY, KOOGATE_NOTIFY_ACCESS_KEY and KOOGATE_KIT_ACCESS_KEY",
                group.join(", ")
            ),
        );
    }
}

#[cfg(unix)]
fn private_file_mode(report: &mut Report, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        report.warn(
            "secrets",
            format!(
                "{} is readable by other users: chmod 600 it",
                path.display()
            ),
        );
    }
}

#[cfg(not(unix))]
fn private_file_mode(_report: &mut Report, _path: &Path) {}

fn master_key(report: &mut Report, config: &Config, stored: Option<&GeneratedSecrets>) {
    let (current, source) = match (&config.master_key, stored) {
        (Some(key), _) => (Some(key.expose()), "master_key (KOOGATE_MASTER_KEY)"),
        (None, Some(stored)) => (
            Some(stored.master_key.as_str()),
            "the generated master_key in secrets.toml",
        ),
        (None, None) => (None, "master_key"),
    };
    let mut failed = false;
    if let Some(key) = current
        && let Err(err) = SecretBox::new(key, &[])
    {
        report.fail("master-key", format!("{source}: {err}"));
        failed = true;
    }
    for (index, key) in config.previous_master_keys.iter().enumerate() {
        if let Err(err) = SecretBox::new(key.expose(), &[]) {
            report.fail(
                "master-key",
                format!(
                    "previous_master_keys (KOOGATE_PREVIOUS_MASTER_KEYS), key #{}: {err}",
                    index + 1
                ),
            );
            failed = true;
        }
    }
    if failed {
        return;
    }
    let previous = match config.previous_master_keys.len() {
        0 => String::new(),
        n => format!(", plus {n} previous key(s) for opening"),
    };
    match current {
        Some(_) => report.ok("master-key", format!("{source} is valid{previous}")),
        None => report.ok(
            "master-key",
            format!("would be generated by `koogate serve`{previous}"),
        ),
    }
}

fn data_dir(report: &mut Report, dir: &Path) {
    if dir.is_dir() {
        match probe_write(dir) {
            Ok(()) => report.ok("data-dir", format!("{} is writable", dir.display())),
            Err(err) => report.fail(
                "data-dir",
                format!("cannot write in {}: {err}", dir.display()),
            ),
        }
        return;
    }
    if dir.exists() {
        report.fail(
            "data-dir",
            format!("{} exists and is not a directory", dir.display()),
        );
        return;
    }
    // `serve` creates it; what matters is that the nearest existing ancestor is writable.
    let ancestor = dir
        .ancestors()
        .skip(1)
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("."));
    match probe_write(ancestor) {
        Ok(()) => report.ok(
            "data-dir",
            format!(
                "{} does not exist yet; `koogate serve` creates it ({} is writable)",
                dir.display(),
                ancestor.display()
            ),
        ),
        Err(err) => report.fail(
            "data-dir",
            format!(
                "{} does not exist and cannot be created in {}: {err}",
                dir.display(),
                ancestor.display()
            ),
        ),
    }
}

/// Creates and removes a file: the only reliable test (permission bits ignore ACLs, read-only
/// mounts and quotas).
fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".koogate-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

async fn database(report: &mut Report, config: &Config) {
    let url = config.database_url();
    let shown = redact_url(&url);
    if let Some(path) = sqlite_file(&url)
        && !path.exists()
    {
        report.ok(
            "database",
            format!(
                "SQLite {} does not exist yet; `koogate serve` creates it with its migrations",
                path.display()
            ),
        );
        return;
    }
    // The password must not reach the terminal even if a driver error quotes the URL.
    let hide = |text: String| match config.database_url.as_ref().and_then(password) {
        Some(password) if !password.is_empty() => text.replace(&password, "[redacted]"),
        _ => text,
    };
    // The pool retries a refused connection until its acquire timeout, which would hide the
    // cause; a plain TCP connect names it at once.
    if let Some(address) = postgres_address(&url) {
        let connect = tokio::net::TcpStream::connect(address.as_str());
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                report.fail(
                    "database",
                    format!("{shown}: cannot connect to {address}: {err}"),
                );
                return;
            }
            Err(_) => {
                report.fail(
                    "database",
                    format!(
                        "{shown}: no TCP connection to {address} within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                );
                return;
            }
        }
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, store::open(&url)).await {
        Err(_) => report.fail(
            "database",
            format!(
                "{shown} did not answer within {} s",
                DATABASE_TIMEOUT.as_secs()
            ),
        ),
        Ok(Err(err)) => report.fail("database", hide(format!("cannot open {shown}: {err}"))),
        Ok(Ok(store)) => match store.ping().await {
            Ok(()) => report.ok(
                "database",
                format!("{} {shown}: reachable, migrations applied", store.backend()),
            ),
            Err(err) => report.fail("database", hide(format!("{shown}: {err}"))),
        },
    }
}

/// The file of a `sqlite:` URL, unless it is in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// `host:port` of a `postgres://` URL with a TCP host (not a Unix socket).
fn postgres_address(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains(',') {
        // A Unix socket (host in the query) or several hosts: let the driver decide.
        return None;
    }
    let has_port = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].contains(':'),
        None => host_port.contains(':'),
    };
    Some(if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    })
}

/// The password of `scheme://user:password@host/...`.
fn password(url: &Secret) -> Option<String> {
    let url = url.expose();
    let start = url.find("://")? + 3;
    let at = url.rfind('@')?;
    let userinfo = url.get(start..at)?;
    userinfo.split_once(':').map(|(_, p)| p.to_owned())
}

async fn open_api(report: &mut Report, config: &Config) {
    if config.sandbox() {
        report.warn(
            "mode",
            "SANDBOX: no KOOGATE_OPENAPI_URL, so order queries are answered by koogate's embedded \
             KooGallery sandbox (MOCK* orders only); set KOOGATE_OPENAPI_URL, KOOGATE_AK and \
             KOOGATE_SK to sell for real",
        );
        report.ok(
            "open-api",
            "not checked: the embedded sandbox starts with `koogate serve`",
        );
        return;
    }
    let host = config
        .openapi_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            u.host_str().map(|h| format!("{h}{port}"))
        })
        .unwrap_or_else(|| "?".to_owned());
    report.ok("mode", format!("production: order queries go to {host}"));
    let client = match app::open_api_client(config, Arc::new(SystemClock)) {
        Ok(client) => client,
        Err(err) => {
            report.fail("open-api", format!("{err:#}"));
            return;
        }
    };
    match client.query_order("MOCKPERIODYEARNEW", None).await {
        Ok(order) => report.ok(
            "open-api",
            format!(
                "a signed order query for MOCKPERIODYEARNEW was answered by {}: AK/SK accepted",
                order.served_by
            ),
        ),
        // A business refusal comes after API Gateway checked the signature.
        Err(err @ OpenApiError::Business { .. }) => report.ok(
            "open-api",
            format!("reachable and AK/SK accepted; the MOCKPERIODYEARNEW query answered: {err}"),
        ),
        Err(err) => report.warn(
            "open-api",
            format!("a signed order query for MOCKPERIODYEARNEW failed: {err}"),
        ),
    }
}

async fn hook(report: &mut Report, config: &Config) {
    let Some(text) = &config.hook_url else {
        let template = &config.frontend_url_template;
        let loopback = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|h| template.contains(h));
        if loopback && !config.sandbox() {
            report.warn(
                "hook",
                format!(
                    "no hook: the built-in provisioner gives buyers {template}, a loopback URL; \
                     set KOOGATE_FRONTEND_URL_TEMPLATE or KOOGATE_HOOK_URL"
                ),
            );
        } else {
            report.ok(
                "hook",
                "none configured: the built-in provisioner answers (set KOOGATE_HOOK_URL to drive your own system)",
            );
        }
        return;
    };
    let url = match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        Ok(url) => {
            report.fail(
                "hook",
                format!(
                    "hook_url (KOOGATE_HOOK_URL): scheme must be http or https, not {}",
                    url.scheme()
                ),
            );
            return;
        }
        Err(err) => {
            report.fail("hook", format!("hook_url (KOOGATE_HOOK_URL): {err}"));
            return;
        }
    };
    // Only scheme, host and port: a path or query may carry a token.
    let shown = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or("?"),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    );
    koogate_gateway::tls::install_default_crypto_provider();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HOOK_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            report.fail(
                "hook",
                format!("cannot build an HTTP client: {}", err.without_url()),
            );
            return;
        }
    };
    // Any HTTP answer proves the host is reachable; a hook may well refuse HEAD (405).
    match client.head(url).send().await {
        Ok(response) => report.ok(
            "hook",
            format!(
                "{shown} is reachable (HEAD answered HTTP {})",
                response.status().as_u16()
            ),
        ),
        Err(err) => report.warn(
            "hook",
            format!(
                "{shown} is unreachable: {}; events wait in the outbox until it answers",
                error_chain(&err.without_url())
            ),
        ),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn tls(report: &mut Report, config: &Config) {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => match tls_server::load_server_config(cert, key) {
            Ok(_) => report.ok(
                "tls",
                format!(
                    "HTTPS with certificate {} and key {}",
                    cert.display(),
                    key.display()
                ),
            ),
            Err(err) => report.fail("tls", err.to_string()),
        },
        _ => {
            let message = "off: plain HTTP. KooGallery calls HTTPS only: put a TLS-terminating \
                           proxy in front, or set KOOGATE_TLS_CERT and KOOGATE_TLS_KEY";
            if config.sandbox() {
                report.ok("tls", message);
            } else {
                report.warn("tls", message);
            }
        }
    }
}

fn listen(report: &mut Report, config: &Config) {
    match std::net::TcpListener::bind(config.listen) {
        Ok(_) => report.ok("listen", format!("{} is free", config.listen)),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => report.warn(
            "listen",
            format!("{} is in use (is koogate already running?)", config.listen),
        ),
        Err(err) => report.fail("listen", format!("cannot bind {}: {err}", config.listen)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite://koogate-data/koogate.db"),
            Some(PathBuf::from("koogate-data/koogate.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/k.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/k.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u:p@h/db"), None);
    }

    #[test]
    fn postgres_addresses_are_found_in_urls() {
        let address = postgres_address;
        assert_eq!(
            address("postgres://u:p@db.example:6432/x").as_deref(),
            Some("db.example:6432")
        );
        assert_eq!(
            address("postgresql://u@db/x?sslmode=require").as_deref(),
            Some("db:5432")
        );
        assert_eq!(address("postgres://[::1]/x").as_deref(), Some("[::1]:5432"));
        assert_eq!(
            address("postgres://[::1]:5433/x").as_deref(),
            Some("[::1]:5433")
        );
        assert_eq!(address("postgres:///x?host=/var/run/postgresql"), None);
        assert_eq!(address("sqlite://x.db"), None);
    }

    #[test]
    fn database_passwords_are_found() {
        assert_eq!(
            password(&Secret::new("postgres://u:s3cret@h:5432/db")).as_deref(),
            Some("s3cret")
        );
        assert_eq!(password(&Secret::new("postgres://u@h/db")), None);
    }
}
