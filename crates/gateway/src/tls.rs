//! Process-wide TLS set-up.
//!
//! koogate builds reqwest and rustls without a bundled crypto backend (reqwest's
//! `rustls-no-provider` feature), so exactly one provider, *ring*, is compiled in, and it has to
//! be installed as the process default before the first HTTPS client or server is built: reqwest
//! panics otherwise. Call [`install_default_crypto_provider`] at start-up.
//! [`HookSink::new`](crate::outbox::HookSink::new) calls it too, and so should any other code
//! that builds an HTTP client, so that no start-up order can make a client panic.
//!
//! Outbound certificates are checked by `rustls-platform-verifier`, i.e. against the operating
//! system's trust store; on Linux that is the system CA bundle, so container images need the
//! `ca-certificates` package (or `SSL_CERT_FILE`).

/// Installs rustls' *ring* provider as the process default. Idempotent: when a provider is
/// already installed (by an earlier call, or by the embedding program) it is left in place.
pub fn install_default_crypto_provider() {
    // `Err` only means a default exists already, which is exactly what we want.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[test]
    fn installing_twice_is_harmless() {
        super::install_default_crypto_provider();
        super::install_default_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
