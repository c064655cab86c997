//! Running the open API on a socket, in-process: for tests and `koogate serve`'s sandbox mode.

use std::io;
use std::net::SocketAddr;

use koogate_protocol::AccessKey;
use rand::RngExt;
use rand::distr::{Alphanumeric, SampleString};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Exchange, License, Now, OpenApiState, Upload, UsageAnomaly, UsageRecord, router};
use crate::orders::OrderBook;

/// How to start an [`OpenApiServer`]. [`Default`] gives fresh random credentials, the wall clock,
/// the seeded `MOCK*` order book and a port chosen by the OS on 127.0.0.1.
#[derive(Debug)]
pub struct OpenApiConfig {
    /// The access key ID callers sign with.
    pub ak: String,
    pub sk: AccessKey,
    /// The merchant's basic-interface access key, which signs new usage pushes' bodies (spec
    /// saas-v2 §7.2). `None` draws a random one, readable from [`OpenApiHandle::basic_key`];
    /// `Sim::start` uses its target's key.
    pub basic_key: Option<AccessKey>,
    pub now: Now,
    pub orders: OrderBook,
    /// Serve on this listener instead of binding `127.0.0.1:0`.
    pub listener: Option<TcpListener>,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        Self {
            ak: random_ak(),
            sk: AccessKey::new(Alphanumeric.sample_string(&mut rand::rng(), 40)),
            basic_key: None,
            now: Now::system(),
            orders: OrderBook::seeded(),
            listener: None,
        }
    }
}

impl OpenApiConfig {
    pub fn keys(mut self, ak: &str, sk: AccessKey) -> Self {
        self.ak = ak.to_owned();
        self.sk = sk;
        self
    }

    pub fn basic_key(mut self, key: AccessKey) -> Self {
        self.basic_key = Some(key);
        self
    }

    pub fn now(mut self, now: Now) -> Self {
        self.now = now;
        self
    }

    pub fn orders(mut self, orders: OrderBook) -> Self {
        self.orders = orders;
        self
    }

    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }
}

/// An AK shaped like Huawei Cloud's: 20 uppercase letters and digits.
fn random_ak() -> String {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(CHARSET[rng.random_range(0..CHARSET.len())]))
        .collect()
}

/// The simulated open API server.
#[derive(Debug, Clone, Copy)]
pub struct OpenApiServer;

impl OpenApiServer {
    /// Binds (unless given a listener), starts serving on a background task and returns at once.
    pub async fn start(config: OpenApiConfig) -> io::Result<OpenApiHandle> {
        let listener = match config.listener {
            Some(listener) => listener,
            None => TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let addr = listener.local_addr()?;
        let state = OpenApiState::new(config.orders.clone(), config.now);
        state.add_key(&config.ak, config.sk.clone());
        let basic_key = config
            .basic_key
            .unwrap_or_else(|| AccessKey::new(Alphanumeric.sample_string(&mut rand::rng(), 32)));
        state.set_basic_key(basic_key.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Either an explicit shutdown or the handle being dropped.
                    let _ = shutdown_rx.await;
                })
                .await
        });
        tracing::info!(%addr, "simulated open API listening");
        Ok(OpenApiHandle {
            base_url: format!("http://{addr}"),
            addr,
            ak: config.ak,
            sk: config.sk,
            basic_key,
            orders: config.orders,
            state,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }
}

/// Shorthand for [`OpenApiServer::start`].
pub async fn start(config: OpenApiConfig) -> io::Result<OpenApiHandle> {
    OpenApiServer::start(config).await
}

/// A running open API. Dropping the handle stops the server (without waiting for it).
#[derive(Debug)]
pub struct OpenApiHandle {
    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    pub ak: String,
    pub sk: AccessKey,
    /// The key new usage pushes must sign their bodies with.
    pub basic_key: AccessKey,
    /// The live order book: orders placed here are visible to the next query.
    pub orders: OrderBook,
    state: OpenApiState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl OpenApiHandle {
    /// Every accepted upload, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state.uploads()
    }

    /// Every request seen, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.exchanges()
    }

    /// See [`OpenApiState::usage_records`].
    pub fn usage_records(&self) -> Vec<UsageRecord> {
        self.state.usage_records()
    }

    /// See [`OpenApiState::usage_anomalies`].
    pub fn usage_anomalies(&self) -> Vec<UsageAnomaly> {
        self.state.usage_anomalies()
    }

    /// See [`OpenApiState::settle_usage`].
    pub async fn settle_usage(&self) {
        self.state.settle_usage().await;
    }

    /// See [`OpenApiState::licenses`].
    pub fn licenses(&self) -> Vec<License> {
        self.state.licenses()
    }

    /// The shared state (to add keys, for instance).
    pub fn state(&self) -> &OpenApiState {
        &self.state
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}
