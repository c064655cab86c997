//! Assembling a running gateway from a [`Config`]: storage, keys, the order source, the HTTP
//! router and the background workers. `main` stays thin: it loads the config, binds the socket
//! and calls [`App::build`] then [`App::serve`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use koogate_protocol::AccessKey;
use koogate_protocol::crypto::client_secret;
use koogate_protocol::crypto::credential::CredentialCipher;
use koogate_protocol::signing::{scheme_a, webhook::WebhookSecret};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::clock::SharedClock;
use crate::config::{Config, Secret};
use crate::domain::hook_effects::{GatewaySink, HookEffects};
use crate::domain::lease::{self, Leases};
use crate::domain::license_issue::LicenseSigner;
use crate::domain::metering::MeteringWorker;
use crate::domain::reconcile::ReconcileWorker;
use crate::domain::{BuiltinProvisioner, Gateway, Marketplace, MeteringSettings, Settings};
use crate::http::guard::BodyGuard;
use crate::http::{self, AppState, Routes};
use crate::openapi::{MarketplaceClients, OpenApiClient, OpenApiConfig};
use crate::outbox::{HookSink, NullSink, Sink, Worker};
use crate::secret_box::SecretBox;
use crate::server::{self, ConnectionGate, GatedTcpListener, ServeLimits};
use crate::store;
use crate::tls_server::{self, TlsListener};

/// How often replayed-nonce records are pruned; they are kept for twice the replay window.
const NONCE_PRUNE_EVERY: Duration = Duration::from_secs(60);
const DEFAULT_OPENAPI_FALLBACK: &str = "https://mkt.myhuaweicloud.cn";

/// Choices made by the caller rather than the config file.
#[derive(Debug, Clone)]
pub struct Options {
    pub clock: SharedClock,
    /// Renders `/metrics` (only one recorder may be installed per process).
    pub metrics: Option<PrometheusHandle>,
    /// Order queries go to an embedded sandbox; announced in logs and `/readyz`.
    pub sandbox: bool,
    /// Replaces the open-API clients (order query, license upload, usage push).
    pub marketplace: Option<Arc<dyn Marketplace>>,
}

/// A gateway ready to serve.
#[derive(Debug)]
pub struct App {
    pub state: AppState,
    pub worker: Worker,
    /// Outbox loops run side by side (`hook_concurrency`).
    hook_concurrency: usize,
    pub metering: MeteringWorker,
    /// This replica's scheduler leases (one holder id per process).
    pub leases: Leases,
    metering_interval: Duration,
    pub reconcile: ReconcileWorker,
    /// `None` with `reconcile_mode = off`: no worker is started.
    reconcile_interval: Option<Duration>,
    produce_path: String,
    body_limit: usize,
    body_timeout: Duration,
    limits: ServeLimits,
    max_connections: usize,
    connection_reserve: usize,
    /// Where the operations endpoints are served on their own (`ops_listen`), if anywhere.
    ops_listen: Option<std::net::SocketAddr>,
    ops_listener: Option<TcpListener>,
    /// Set when `tls_cert` and `tls_key` are configured: [`App::serve`] then speaks HTTPS.
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl App {
    pub async fn build(config: &Config, options: Options) -> anyhow::Result<Self> {
        // First, so a bad certificate fails start-up before anything else is touched.
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls_server::load_server_config(cert, key)?),
            _ => None,
        };
        let secret = |slot: &Option<Secret>, name: &str| {
            slot.clone()
                .with_context(|| format!("{name} is not set (koogate generates it on first start)"))
        };
        let basic_key = AccessKey::new(secret(&config.access_key, "access_key")?.expose());
        let key_or_basic = |slot: &Option<Secret>| {
            slot.as_ref()
                .map_or_else(|| basic_key.clone(), |s| AccessKey::new(s.expose()))
        };
        let master = secret(&config.master_key, "master_key")?;
        let previous: Vec<String> = config
            .previous_master_keys
            .iter()
            .map(|k| k.expose().to_owned())
            .collect();
        let secret_box =
            SecretBox::new(master.expose(), &previous).context("KOOGATE_MASTER_KEY")?;
        if config.database_url.is_none() {
            crate::private_files::private_dir(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
        }
        let store = store::open(&config.database_url())
            .await
            .context("opening the database")?;
        let credential_cipher = config
            .encrypt_type
            .cipher()
            .map(|kind| CredentialCipher::new(&basic_key, kind));
        let settings = Settings {
            license_key: key_or_basic(&config.license_access_key),
            notify_key: key_or_basic(&config.notify_access_key),
            kit_key: key_or_basic(&config.kit_access_key),
            basic_key,
            verify_policy: verify_policy(config),
            encryption: config.encrypt_type,
            credential_cipher,
            release_unknown: config.release_unknown,
            usage_info_name: config.usage_info_name.clone(),
            change_check_default: config.change_check_default,
            sandbox: options.sandbox,
            hook_configured: config.hook_url.is_some(),
            frontend_url_in_new_instance: config.frontend_url_in_new_instance,
            provision_wait: std::time::Duration::from_millis(config.provision_wait_ms),
            max_fingerprint_bytes: config.max_fingerprint_bytes,
            metering: MeteringSettings {
                window: config.metering_window,
                grace: chrono::Duration::seconds(
                    i64::try_from(config.metering_grace_secs).unwrap_or(0),
                ),
            },
            reconcile_mode: config.reconcile_mode,
        };
        let marketplace = match options.marketplace {
            Some(marketplace) => marketplace,
            None => Arc::new(MarketplaceClients {
                interactive: open_api_client(config, options.clock.clone())?,
                background: open_api_client_with_timeout(
                    config,
                    options.clock.clone(),
                    BACKGROUND_TIMEOUT,
                )?,
            }),
        };
        let license_signer = match &config.license_signing_key {
            Some(key) => LicenseSigner::from_hex_seed(key.expose())
                .map_err(anyhow::Error::msg)
                .context("KOOGATE_LICENSE_SIGNING_KEY")?,
            // `serve` always has one (generated on first start); embedders and tests that set
            // none get a key derived from the master key, stable for as long as it is.
            None => LicenseSigner::derived_from(master.expose()),
        };
        let license_signer = Arc::new(license_signer);
        let kit_private_key = match &config.kit_private_key_file {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let key = client_secret::PrivateKey::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .context("KOOGATE_KIT_PRIVATE_KEY_FILE")?;
                Some(Arc::new(key))
            }
            None => None,
        };
        let hook = match &config.hook_url {
            Some(url) => {
                let secret =
                    WebhookSecret::parse(secret(&config.hook_secret, "hook_secret")?.expose());
                Some(Arc::new(
                    HookSink::new(url, secret, options.clock.clone())
                        .context("KOOGATE_HOOK_URL")?,
                ))
            }
            None => None,
        };
        let notify = Arc::new(Notify::new());
        let gateway = Arc::new(Gateway {
            store: store.clone(),
            clock: options.clock.clone(),
            settings: Arc::new(settings),
            secret_box,
            provisioner: BuiltinProvisioner {
                frontend_url_template: config.frontend_url_template.clone(),
                admin_url_template: config.admin_url_template.clone(),
            },
            marketplace,
            hook: hook
                .clone()
                .map(|hook| hook as Arc<dyn crate::domain::VendorHook>),
            license_signer,
            kit_private_key,
            outbox_wakeup: notify.clone(),
        });
        let hook_sink: Arc<dyn Sink> = match hook {
            Some(hook) => hook,
            None => Arc::new(NullSink),
        };
        let sink = Arc::new(GatewaySink {
            gateway: gateway.clone(),
            hook: hook_sink,
        });
        let worker = Worker::new(store, sink, options.clock.clone())
            .with_effects(Arc::new(HookEffects {
                gateway: gateway.clone(),
            }))
            .with_notify(notify);
        let state = AppState::new(
            gateway,
            options.metrics,
            secret(&config.api_token, "api_token")?,
        );
        let leases = Leases::new(state.gateway.store.clone(), options.clock.clone());
        let metering = MeteringWorker::new(state.gateway.clone(), leases.clone());
        let reconcile = ReconcileWorker::new(state.gateway.clone(), leases.clone());
        let reconcile_interval = (config.reconcile_mode != crate::config::ReconcileMode::Off)
            .then(|| Duration::from_secs(config.reconcile_interval_secs));
        Ok(Self {
            state,
            worker,
            hook_concurrency: config.hook_concurrency,
            metering,
            leases,
            metering_interval: Duration::from_secs(config.metering_interval_secs),
            reconcile,
            reconcile_interval,
            produce_path: config.produce_path.clone(),
            body_limit: config.body_limit,
            body_timeout: Duration::from_secs(config.body_timeout_secs),
            limits: ServeLimits {
                header_timeout: Duration::from_secs(config.header_timeout_secs),
                ..ServeLimits::default()
            },
            max_connections: config.max_connections,
            connection_reserve: config.connection_reserve,
            ops_listen: config.ops_listen,
            ops_listener: None,
            tls,
        })
    }

    /// Whether [`App::serve`] will speak HTTPS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves the operations endpoints on `listener` (instead of binding `ops_listen`).
    pub fn with_ops_listener(mut self, listener: TcpListener) -> Self {
        self.ops_listen = Some(listener.local_addr().unwrap_or(([127, 0, 0, 1], 0).into()));
        self.ops_listener = Some(listener);
        self
    }

    /// The router of the main listener: everything, or only what KooGallery calls when the
    /// operations endpoints have a listener of their own.
    pub fn router(&self) -> axum::Router {
        let routes = if self.ops_listen.is_some() {
            Routes::Public
        } else {
            Routes::All
        };
        self.router_for(routes)
    }

    /// The router of the operations listener.
    pub fn ops_router(&self) -> axum::Router {
        self.router_for(Routes::Operations)
    }

    fn router_for(&self, routes: Routes) -> axum::Router {
        let guard = BodyGuard {
            limit: self.body_limit,
            timeout: self.body_timeout,
            produce_path: self.produce_path.clone(),
            basic_key: self.state.gateway.settings.basic_key.clone(),
        };
        http::router(self.state.clone(), routes, guard)
    }

    /// Timeouts of the server loop.
    pub fn serve_limits(&self) -> ServeLimits {
        self.limits
    }

    /// The connection limits in force: `max_connections`, lowered to fit the open-file limit.
    pub fn connection_gate(&self) -> ConnectionGate {
        let total = server::connection_budget(self.max_connections);
        ConnectionGate::new(total, self.connection_reserve.min(total / 2))
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and the delivery in
    /// progress before returning. Speaks HTTPS on `listener` when a certificate is configured.
    /// The operations listener, when configured, speaks plain HTTP: it belongs on a private
    /// address.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(
            lease_holder = self.leases.holder(),
            "background jobs run here while this replica holds their scheduler lease"
        );
        let ops_listener = match (self.ops_listener.take(), self.ops_listen) {
            (Some(listener), _) => Some(listener),
            (None, Some(addr)) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding ops_listen {addr}"))?,
            ),
            (None, None) => None,
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        // Several loops on one store: the claim keeps an instance's events in order (an event is
        // not claimed while an earlier one of its instance is undelivered), so only different
        // instances' deliveries overlap.
        let workers: Vec<_> = (0..self.hook_concurrency.max(1))
            .map(|n| {
                let worker = self.worker.clone();
                let worker = if n == 0 {
                    worker
                } else {
                    worker.without_gauges()
                };
                tokio::spawn(worker.run(stopped(stop_rx.clone())))
            })
            .collect();
        let metering = tokio::spawn(
            self.metering
                .clone()
                .run(self.metering_interval, stopped(stop_rx.clone())),
        );
        let reconcile = self.reconcile_interval.map(|interval| {
            tokio::spawn(
                self.reconcile
                    .clone()
                    .run(interval, stopped(stop_rx.clone())),
            )
        });
        let pruner = tokio::spawn(prune_nonces(
            self.state.gateway.clone(),
            self.leases.clone(),
            stopped(stop_rx.clone()),
        ));
        let (http_stop_tx, http_stop_rx) = watch::channel(false);
        let gate = self.connection_gate();
        tracing::info!(
            max_connections = gate.max_total(),
            max_per_peer = gate.max_per_peer(),
            header_timeout_secs = self.limits.header_timeout.as_secs(),
            body_timeout_secs = self.body_timeout.as_secs(),
            "connection limits"
        );
        let ops = ops_listener.map(|listener| {
            let router = self.ops_router();
            let gate = gate.clone();
            let limits = self.limits;
            let stop = stopped(http_stop_rx.clone());
            tokio::spawn(async move {
                server::serve(GatedTcpListener::new(listener, gate), router, limits, stop).await
            })
        });
        let router = self.router();
        let main_stop = stopped(http_stop_rx);
        let limits = self.limits;
        let main = async move {
            match self.tls {
                Some(tls) => {
                    server::serve(
                        TlsListener::new(listener, tls, gate),
                        router,
                        limits,
                        main_stop,
                    )
                    .await
                }
                None => {
                    server::serve(
                        GatedTcpListener::new(listener, gate),
                        router,
                        limits,
                        main_stop,
                    )
                    .await
                }
            }
        };
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = http_stop_tx.send(true);
        };
        tokio::join!(main, signal);
        if let Some(ops) = ops {
            let _ = ops.await;
        }
        let _ = stop_tx.send(true);
        for worker in workers {
            let _ = worker.await;
        }
        let _ = pruner.await;
        let _ = metering.await;
        if let Some(reconcile) = reconcile {
            let _ = reconcile.await;
        }
        Ok(())
    }
}

fn verify_policy(config: &Config) -> scheme_a::VerifyPolicy {
    let mut policy = scheme_a::VerifyPolicy::default();
    if config.accept_sha256_inner {
        policy.inner.push(scheme_a::InnerHash::Sha256);
    }
    policy
}

/// Per host for calls made in the background (license upload, usage push): long enough for a
/// slow marketplace, while both hosts still fit inside the outbox lease (30 s).
const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(10);

/// The open-API client `serve` uses inside production calls (also built by `koogate doctor` to
/// test the credentials).
pub fn open_api_client(config: &Config, clock: SharedClock) -> anyhow::Result<OpenApiClient> {
    // Two hosts at 2 s each still answer inside KooGallery's 5 s budget.
    open_api_client_with_timeout(config, clock, Duration::from_secs(2))
}

fn open_api_client_with_timeout(
    config: &Config,
    clock: SharedClock,
    timeout: Duration,
) -> anyhow::Result<OpenApiClient> {
    let url = config
        .openapi_url
        .clone()
        .context("no open-API URL: set KOOGATE_OPENAPI_URL, or run in sandbox mode")?;
    let mut base_urls = vec![url.clone()];
    match &config.openapi_fallback_url {
        Some(fallback) => base_urls.push(fallback.clone()),
        None if url.contains("mkt.myhuaweicloud.com") => {
            base_urls.push(DEFAULT_OPENAPI_FALLBACK.to_owned())
        }
        None => {}
    }
    let open_api = OpenApiConfig {
        base_urls,
        ak: config.ak.clone().context("KOOGATE_AK is not set")?,
        sk: AccessKey::new(
            config
                .sk
                .as_ref()
                .context("KOOGATE_SK is not set")?
                .expose(),
        ),
        timeout,
    };
    OpenApiClient::new(open_api, clock).context("building the open-API client")
}

/// Every [`NONCE_PRUNE_EVERY`], on the replica holding the pruning lease: one `DELETE` of the
/// shared nonce table is enough, and each replica running it would only contend for the rows.
async fn prune_nonces(gateway: Arc<Gateway>, leases: Leases, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let ttl = lease::lease_ttl(NONCE_PRUNE_EVERY);
    loop {
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(NONCE_PRUNE_EVERY) => {}
        }
        leases
            .run_leased(lease::NONCE_PRUNING, ttl, || prune_nonces_once(&gateway))
            .await;
    }
    leases.release(lease::NONCE_PRUNING).await;
}

/// Forgets nonces older than twice the replay window: a replay older than that is refused by
/// its timestamp already.
async fn prune_nonces_once(gateway: &Gateway) {
    let keep = chrono::Duration::milliseconds(2 * scheme_a::WINDOW_MS);
    match gateway.store.prune_nonces(gateway.clock.now() - keep).await {
        Ok(n) if n > 0 => tracing::debug!(pruned = n, "pruned old nonces"),
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "cannot prune nonces"),
    }
}
