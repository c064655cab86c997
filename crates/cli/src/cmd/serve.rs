//! `koogate serve`: the gateway. With no configuration at all it uses SQLite under
//! `./koogate-data/`, generates and keeps its secrets there, and answers order queries from an
//! embedded KooGallery sandbox, announced loudly, until real open-API credentials are configured.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use koogate_gateway::app::{App, Options};
use koogate_gateway::clock::SystemClock;
use koogate_gateway::config::{Config, GeneratedSecrets, Secret};
use koogate_protocol::AccessKey;
use koogate_sim::openapi::{DEV_AK, DEV_SK, DEV_URL, OpenApiConfig, OpenApiHandle};
use koogate_sim::orders::{OrderBook, OrderSpec, OrderType};

use super::{CliError, CmdResult};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (`KOOGATE_CONFIG`); environment variables override it.
    #[arg(long, env = "KOOGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Sandbox mode only: query orders from a running `koogate sim` at URL (default
    /// http://127.0.0.1:9090, where `koogate sim` serves its open API) with its fixed development
    /// AK/SK, instead of the embedded sandbox, so the simulator's purchases are found.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = DEV_URL)]
    follow_sim: Option<String>,
}

pub fn run(args: ServeArgs) -> CmdResult {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(serve(args))
        .map_err(|e| CliError::new(format!("{e:#}")))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    super::logging::init();
    // Before anything opens a file: the connection cap is sized from what this leaves.
    koogate_gateway::server::raise_fd_limit();
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    let (generated, created) = GeneratedSecrets::load_or_create_for(
        &config.data_dir,
        config.license_signing_key.is_some(),
    )?;
    generated.fill(&mut config);
    let secrets_path = GeneratedSecrets::path(&config.data_dir);
    if created {
        tracing::info!(path = %secrets_path.display(), "generated the access key, API token, master key and hook secret; they are kept in this file (mode 0600)");
    } else {
        tracing::info!(path = %secrets_path.display(), "using generated secrets for every secret not configured");
    }
    let sandbox = config.sandbox();
    warn_shared_keys(&config);
    let _sandbox_server = match (&args.follow_sim, sandbox) {
        (Some(_), false) => anyhow::bail!(
            "--follow-sim pairs a sandbox-mode gateway with `koogate sim`; it is refused while \
             KOOGATE_OPENAPI_URL is set, so real open-API credentials are never replaced by the \
             simulator's development ones"
        ),
        (Some(url), true) => {
            follow_sim(&mut config, url);
            None
        }
        (None, true) => Some(start_sandbox(&mut config, &generated).await?),
        (None, false) => None,
    };
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let options = Options {
        clock: Arc::new(SystemClock),
        metrics,
        sandbox,
        marketplace: None,
    };
    let app = App::build(&config, options).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    banner(
        &config,
        addr,
        sandbox.then_some(args.follow_sim.is_some()),
        app.tls(),
    );
    app.serve(listener, shutdown_signal()).await
}

/// Points a sandbox-mode gateway at a running `koogate sim`'s open API, signed with the
/// simulator's fixed development AK/SK (not secrets: they are printed in the README). Only
/// reached in sandbox mode, i.e. when no real open-API URL is configured.
fn follow_sim(config: &mut Config, url: &str) {
    config.openapi_url = Some(url.trim_end_matches('/').to_owned());
    config.ak = Some(DEV_AK.to_owned());
    config.sk = Some(Secret::new(DEV_SK));
    tracing::warn!(
        url,
        "following koogate sim: order queries go to the simulator's open API with its development AK/SK"
    );
}

/// Spec license-kit-openapi §1.2: each interface category has its own access key. One key for
/// all still works (and is what zero configuration gives), but a leaked key then signs every
/// category; say so once at start.
fn warn_shared_keys(config: &Config) {
    for group in config.shared_key_categories() {
        tracing::warn!(
            categories = group.join(", "),
            "these interface categories share one access key; spec license-kit-openapi §1.2 asks for one key per category: bind distinct keys in the seller center and set KOOGATE_LICENSE_ACCESS_KEY, KOOGATE_NOTIFY_ACCESS_KEY and KOOGATE_KIT_ACCESS_KEY"
        );
    }
}

/// Starts the simulator's open API in-process and points the gateway at it.
async fn start_sandbox(
    config: &mut Config,
    generated: &GeneratedSecrets,
) -> anyhow::Result<OpenApiHandle> {
    let mut sandbox = OpenApiConfig::default()
        .keys(&generated.sandbox_ak, AccessKey::new(&generated.sandbox_sk))
        .orders(sandbox_orders()?);
    // Usage pushes are body-signed with the key bound to the basic interfaces (saas-v2 §7.2).
    if let Some(key) = &config.access_key {
        sandbox = sandbox.basic_key(AccessKey::new(key.expose()));
    }
    let handle = koogate_sim::openapi::start(sandbox)
        .await
        .context("starting the embedded KooGallery sandbox")?;
    config.openapi_url = Some(handle.base_url.clone());
    config.ak = Some(generated.sandbox_ak.clone());
    config.sk = Some(Secret::new(&generated.sandbox_sk));
    Ok(handle)
}

/// `KOOGATE_SANDBOX_ORDERS=<n>` (sandbox mode only): besides the nine `MOCK*` orders, the
/// embedded sandbox holds `n` monthly periodic purchases `SANDBOX000000` … `SANDBOX{n-1}` (six
/// digits, line `{orderId}-000001`), so that load and crash tests have more distinct purchases
/// than the spec's debug orders. The ids are deterministic: a restarted server's sandbox knows
/// the same orders (`crates/cli/tests/it/crash.rs` relies on it).
const SANDBOX_ORDERS_VAR: &str = "KOOGATE_SANDBOX_ORDERS";
const MAX_SANDBOX_ORDERS: usize = 1_000_000;

fn sandbox_orders() -> anyhow::Result<OrderBook> {
    let book = OrderBook::seeded();
    let Ok(text) = std::env::var(SANDBOX_ORDERS_VAR) else {
        return Ok(book);
    };
    let count = text
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= MAX_SANDBOX_ORDERS)
        .with_context(|| {
            format!("{SANDBOX_ORDERS_VAR} must be a number of orders, at most {MAX_SANDBOX_ORDERS}")
        })?;
    for n in 0..count {
        book.place_order(OrderSpec::new(OrderType::New).id(&format!("SANDBOX{n:06}")));
    }
    tracing::info!(
        count,
        "the sandbox also holds the orders SANDBOX000000 and up"
    );
    Ok(book)
}

/// `sandbox`: `None` in production, `Some(following)` in sandbox mode, `following` when order
/// queries go to a running `koogate sim` rather than the embedded sandbox.
fn banner(config: &Config, addr: std::net::SocketAddr, sandbox: Option<bool>, tls: bool) {
    let scheme = if tls { "https" } else { "http" };
    let url = format!("{scheme}://{addr}{}", config.produce_path);
    if sandbox == Some(true) {
        tracing::warn!(
            "=============================================================================="
        );
        tracing::warn!("SANDBOX MODE, following koogate sim: order queries go to the simulator at");
        tracing::warn!(
            "{} with its development AK/SK.",
            config.openapi_url.as_deref().unwrap_or_default()
        );
        tracing::warn!(
            "=============================================================================="
        );
    } else if sandbox == Some(false) {
        tracing::warn!(
            "=============================================================================="
        );
        tracing::warn!("SANDBOX MODE: order queries are answered by koogate's embedded KooGallery");
        tracing::warn!("sandbox (MOCK* orders only). Set KOOGATE_OPENAPI_URL, KOOGATE_AK and");
        tracing::warn!("KOOGATE_SK to talk to the real KooGallery.");
        tracing::warn!(
            "=============================================================================="
        );
    }
    tracing::info!(
        production_interface = %url,
        database = %redact_url(&config.database_url()),
        provisioner = if config.hook_url.is_some() { "vendor hook" } else { "built-in" },
        sandbox = sandbox.is_some(),
        "koogate is listening"
    );
}

/// Hides a password in `scheme://user:password@host/...`.
pub(super) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!(
                "{}://{user}:[redacted]@{}",
                &url[..scheme_end],
                &url[at + 1..]
            )
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@db:5432/x"),
            "postgres://u:[redacted]@db:5432/x"
        );
        assert_eq!(
            redact_url("sqlite://koogate-data/koogate.db"),
            "sqlite://koogate-data/koogate.db"
        );
    }
}
