//! The HTTP server loop behind `koogate serve`, on plain TCP and on TLS alike. `axum::serve`
//! has no timeouts and no connection limit, so one client holding many half-sent requests could
//! starve KooGallery's calls (and exhaust file descriptors); this loop adds, per connection:
//!
//! - admission through a [`ConnectionGate`] before anything is read (a total cap, and a per-peer
//!   cap that keeps a reserve for other peers);
//! - a header-read timeout: a request whose head has not fully arrived in time closes the
//!   connection. hyper starts that clock whenever it waits for a request head, so it is also
//!   the idle timeout of a kept-alive connection;
//! - the body-read timeout and the size refusal before reading live in the router
//!   (`http::guard`), where the answer can take the shape of the path's protocol.
//!
//! Every request carries the peer address as axum's `ConnectInfo<SocketAddr>`.

mod fd_limit;
pub mod gate;
mod peer;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use fd_limit::{connection_budget, raise_fd_limit};
pub use gate::{ConnectionGate, Permit, Refusal};
pub use peer::{Admitted, WithPeer};

/// How connections are limited.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Time allowed for a request head to arrive; also the keep-alive idle timeout.
    pub header_timeout: Duration,
    /// How long in-flight requests may take to finish once shutdown begins.
    pub drain_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Plain TCP behind a [`ConnectionGate`].
#[derive(Debug)]
pub struct GatedTcpListener {
    tcp: TcpListener,
    gate: ConnectionGate,
}

impl GatedTcpListener {
    pub fn new(tcp: TcpListener, gate: ConnectionGate) -> Self {
        Self { tcp, gate }
    }
}

impl Listener for GatedTcpListener {
    type Io = Admitted<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = Listener::accept(&mut self.tcp).await;
            // A refused stream is dropped here, which closes it at once.
            if let Ok(permit) = self.gate.admit(addr.ip()) {
                return (Admitted::new(stream, permit), addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets
/// in-flight requests finish (up to `limits.drain_timeout`) and returns.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) where
    L: Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (io, peer) = listener.accept() => {
                connections.spawn(connection(io, peer, router.clone(), limits, stop_rx.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown: connections still open after the drain timeout; closing them"
        );
        connections.shutdown().await;
    }
}

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(WithPeer::new(router, peer));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let stopping = async move {
        // The guard `wait_for` returns is not `Send`; drop it before the next await.
        let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
    };
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        // Timeouts, resets and malformed requests are the client's business; debug only.
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}
