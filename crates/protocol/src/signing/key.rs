//! A shared secret that never prints.

/// A KooGallery access key (or any HMAC key): its `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(String);

impl AccessKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key bytes, for computing MACs. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKey([redacted])")
    }
}
