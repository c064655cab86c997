//! Ciphers the marketplace uses on the wire.
//!
//! - [`sha1prng`]: a port of Java's `SecureRandom.getInstance("SHA1PRNG")` after `setSeed`, which
//!   is how KooGallery's demos turn an access key into an AES key.
//! - [`credential`]: AES-CBC encryption of `userName`/`password` (spec saas-v2 §4).
//! - [`client_secret`]: RSA-OAEP decryption of the kit `clientSecret` (spec license-kit §4.5).

pub mod client_secret;
pub mod credential;
pub mod sha1prng;

/// Why a ciphertext could not be produced or opened. Messages never include key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("IV must be 16 ASCII letters or digits")]
    InvalidIv,
    #[error("ciphertext is shorter than the 16-character IV")]
    TooShort,
    #[error("ciphertext is not valid base64")]
    InvalidBase64,
    #[error("decryption failed (wrong key, wrong encryptType or corrupted data)")]
    DecryptFailed,
    #[error("plaintext is not valid UTF-8")]
    InvalidUtf8,
    #[error("encrypted value is {len} characters, over the {max}-character limit")]
    TooLong { len: usize, max: usize },
    #[error("invalid RSA private key: {0}")]
    InvalidPrivateKey(String),
}
