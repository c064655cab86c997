//! HTTPS for `koogate serve`: when `tls_cert` and `tls_key` are configured, koogate terminates
//! TLS itself (rustls with the *ring* provider, TLS 1.2 and 1.3, the minimum KooGallery accepts:
//! spec saas-v2 §1).
//!
//! The same axum router is served through [`TlsListener`], an [`axum::serve::Listener`], so
//! `axum::serve` and its graceful shutdown work exactly as they do over plain TCP. Handshakes run
//! on their own tasks: a slow or silent client must not hold up the accept loop for everyone.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::server::{Admitted, ConnectionGate, Permit};

/// A client that has not finished its handshake by then is dropped. KooGallery's whole call has
/// a 5 s budget, so anything slower is not KooGallery.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key cannot be used. Messages name the file and never contain any of
/// its content: the key file is secret, and PEM parse errors can quote the offending line.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    // `cause`, not `source`: the I/O error is part of this message, and a source would print
    // it twice in `{:#}` chains.
    #[error("cannot read the TLS certificate {path}: {cause}")]
    ReadCert { path: String, cause: std::io::Error },
    #[error("cannot read the TLS private key {path}: {cause}")]
    ReadKey { path: String, cause: std::io::Error },
    #[error("the TLS certificate {path} is not a valid PEM certificate chain: {reason}")]
    Cert { path: String, reason: &'static str },
    #[error(
        "the TLS private key {path} is not a valid PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}"
    )]
    Key { path: String, reason: &'static str },
    #[error("the TLS certificate {cert} and private key {key} cannot be used together: {reason}")]
    Pair {
        cert: String,
        key: String,
        reason: String,
    },
}

/// Reads a PEM certificate chain and private key and builds the server configuration.
pub fn load_server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let cert_name = cert_path.display().to_string();
    let key_name = key_path.display().to_string();
    let cert_pem = std::fs::read(cert_path).map_err(|cause| TlsConfigError::ReadCert {
        path: cert_name.clone(),
        cause,
    })?;
    let key_pem = std::fs::read(key_path).map_err(|cause| TlsConfigError::ReadKey {
        path: key_name.clone(),
        cause,
    })?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsConfigError::Cert {
            path: cert_name.clone(),
            reason: pem_reason(&e),
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::Cert {
            path: cert_name,
            reason: "no CERTIFICATE section found",
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsConfigError::Key {
        path: key_name.clone(),
        reason: pem_reason(&e),
    })?;
    let pair = |e: rustls::Error| TlsConfigError::Pair {
        cert: cert_name.clone(),
        key: key_name.clone(),
        // rustls errors describe the problem (unsupported key type, key does not match the
        // certificate), never the key bytes.
        reason: e.to_string(),
    };
    // An explicit provider rather than the process default: building a server must not depend
    // on start-up order.
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(pair)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(pair)?;
    // axum is built with HTTP/1 only; advertising h2 would make clients fail after ALPN.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A short, content-free description of a PEM error (the library's own message may quote the
/// offending line of the file).
fn pem_reason(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::NoItemsFound => "no matching PEM section found",
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64",
        pem::Error::SectionTooLarge => "a PEM section is too large",
        _ => "malformed PEM",
    }
}

/// A TCP listener that hands out TLS streams, for `axum::serve` and [`crate::server::serve`].
/// Connections pass the [`ConnectionGate`] before their handshake, so half-open handshakes count
/// against the cap like any other connection.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    gate: ConnectionGate,
    /// Handshakes in progress. Dropping the listener (at shutdown) aborts them.
    handshakes: JoinSet<Option<(Admitted<TlsStream<TcpStream>>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>, gate: ConnectionGate) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            gate,
            handshakes: JoinSet::new(),
        }
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .field("handshakes", &self.handshakes.len())
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Admitted<TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Both branches are cancel-safe, so axum may drop this future at shutdown without
        // losing a connection that is already established.
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, addr)) => {
                        // Refused: dropping the stream closes it before any handshake work.
                        if let Ok(permit) = self.gate.admit(addr.ip()) {
                            let acceptor = self.acceptor.clone();
                            self.handshakes.spawn(handshake(acceptor, stream, addr, permit));
                        }
                    }
                    Err(err) => accept_error(err).await,
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    addr: SocketAddr,
    permit: Permit,
) -> Option<(Admitted<TlsStream<TcpStream>>, SocketAddr)> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((Admitted::new(tls, permit), addr)),
        Ok(Err(err)) => {
            // Port scanners and plain-HTTP clients end up here; not worth more than debug.
            tracing::debug!(peer = %addr, error = %err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(peer = %addr, "TLS handshake timed out");
            None
        }
    }
}

/// Mirrors axum's own handling: connection-level errors are the client's problem, anything else
/// (out of file descriptors) gets a pause so the loop does not spin.
async fn accept_error(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
