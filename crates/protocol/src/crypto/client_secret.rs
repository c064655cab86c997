//! RSA-OAEP decryption of the kit `clientSecret` (spec license-kit §4.5). The OAEP digest is not
//! documented, so the variants are tried in a fixed order and the one that worked is reported.

use super::CryptoError;

/// OAEP parameter sets, in the order [`decrypt`] tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepVariant {
    /// OAEP with SHA-256 and MGF1-SHA-256.
    Sha256,
    /// OAEP with SHA-1 and MGF1-SHA-1 (Java `RSA/ECB/OAEPPadding` default).
    Sha1,
    /// OAEP with SHA-256 and MGF1-SHA-1 (Java `OAEPWithSHA-256AndMGF1Padding` default).
    Sha256Mgf1Sha1,
}

pub const VARIANTS: [OaepVariant; 3] = [OaepVariant::Sha256, OaepVariant::Sha1, OaepVariant::Sha256Mgf1Sha1];

/// The merchant's RSA private key. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct PrivateKey(rsa::RsaPrivateKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

impl PrivateKey {
    /// PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let _ = pem;
        todo!()
    }

    /// The matching public key as PEM SPKI (what the seller uploads to the 应用凭证).
    pub fn public_key_pem(&self) -> Result<String, CryptoError> {
        let _ = &self.0;
        todo!()
    }
}

/// Base64-decodes `ciphertext_b64` and tries each OAEP variant.
pub fn decrypt(key: &PrivateKey, ciphertext_b64: &str) -> Result<(String, OaepVariant), CryptoError> {
    let _ = (key, ciphertext_b64);
    todo!()
}
