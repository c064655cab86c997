//! RSA-OAEP decryption of the kit `clientSecret` (spec license-kit §4.5). The OAEP digest is not
//! documented, so the variants are tried in a fixed order and the one that worked is reported.
//!
//! Trying several variants is safe: OAEP decoding checks the label hash under the digest in use,
//! so a wrong digest fails instead of yielding garbage.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::Oaep;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use sha1::Sha1;
use sha2::Sha256;

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

pub const VARIANTS: [OaepVariant; 3] = [
    OaepVariant::Sha256,
    OaepVariant::Sha1,
    OaepVariant::Sha256Mgf1Sha1,
];

/// The merchant's RSA private key. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct PrivateKey(rsa::PrivateKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

impl PrivateKey {
    /// PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`). Text before the
    /// `-----BEGIN` line (OpenSSL's "Bag Attributes", a comment) is ignored.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let start = pem
            .find("-----BEGIN ")
            .ok_or_else(|| invalid("no PEM `-----BEGIN` line"))?;
        let pem = pem[start..].trim_end();
        let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            rsa::PrivateKey::from_pkcs1_pem(pem).map_err(|e| invalid(&e.to_string()))?
        } else {
            rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|e| invalid(&e.to_string()))?
        };
        Ok(Self(key))
    }

    /// The matching public key as PEM SPKI (what the seller uploads to the 应用凭证).
    pub fn public_key_pem(&self) -> Result<String, CryptoError> {
        self.0
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| invalid(&e.to_string()))
    }
}

fn invalid(reason: &str) -> CryptoError {
    CryptoError::InvalidPrivateKey(reason.to_owned())
}

/// Base64-decodes `ciphertext_b64` and tries each OAEP variant.
pub fn decrypt(
    key: &PrivateKey,
    ciphertext_b64: &str,
) -> Result<(String, OaepVariant), CryptoError> {
    // Tolerate line breaks: some Java encoders (MIME) wrap base64 at 76 characters.
    let compact: String = ciphertext_b64
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let ciphertext = STANDARD
        .decode(compact)
        .map_err(|_| CryptoError::InvalidBase64)?;
    let (plain, variant) = VARIANTS
        .into_iter()
        .find_map(|variant| decrypt_with(key, variant, &ciphertext).map(|plain| (plain, variant)))
        .ok_or(CryptoError::DecryptFailed)?;
    let text = String::from_utf8(plain).map_err(|_| CryptoError::InvalidUtf8)?;
    Ok((text, variant))
}

fn decrypt_with(key: &PrivateKey, variant: OaepVariant, ciphertext: &[u8]) -> Option<Vec<u8>> {
    let result = match variant {
        OaepVariant::Sha256 => key.0.decrypt(Oaep::<Sha256>::new(), ciphertext),
        OaepVariant::Sha1 => key.0.decrypt(Oaep::<Sha1>::new(), ciphertext),
        OaepVariant::Sha256Mgf1Sha1 => key
            .0
            .decrypt(Oaep::<Sha256, Sha1>::new_with_mgf_hash(), ciphertext),
    };
    result.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePrivateKey;

    /// A small key keeps the unit tests fast; the oracle vectors use 3072 bits.
    fn test_key() -> rsa::PrivateKey {
        use rsa::rand_core::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        rsa::PrivateKey::new(&mut rng, 1024).expect("key generation")
    }

    fn encrypt(key: &rsa::PrivateKey, variant: OaepVariant, msg: &[u8]) -> String {
        let mut rng = rand::rng();
        let public = key.to_public_key();
        let ct = match variant {
            OaepVariant::Sha256 => public.encrypt(&mut rng, Oaep::<Sha256>::new(), msg),
            OaepVariant::Sha1 => public.encrypt(&mut rng, Oaep::<Sha1>::new(), msg),
            OaepVariant::Sha256Mgf1Sha1 => {
                public.encrypt(&mut rng, Oaep::<Sha256, Sha1>::new_with_mgf_hash(), msg)
            }
        };
        STANDARD.encode(ct.expect("encrypt"))
    }

    #[test]
    fn every_variant_is_recognised() {
        let raw = test_key();
        let key = PrivateKey(raw.clone());
        for variant in VARIANTS {
            let ct = encrypt(&raw, variant, "s3cret-客户端".as_bytes());
            assert_eq!(
                decrypt(&key, &ct),
                Ok(("s3cret-客户端".to_owned(), variant))
            );
        }
    }

    #[test]
    fn reads_pkcs8_and_pkcs1_with_leading_text() {
        let raw = test_key();
        let pkcs8 = raw.to_pkcs8_pem(LineEnding::LF).expect("pkcs8");
        let pkcs1 = raw.to_pkcs1_pem(LineEnding::CRLF).expect("pkcs1");
        let from8 =
            PrivateKey::from_pem(&format!("TEST ONLY\nBag Attributes: x\n{}", pkcs8.as_str()))
                .expect("8");
        let from1 = PrivateKey::from_pem(pkcs1.as_str()).expect("1");
        let public = from8.public_key_pem().expect("spki");
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(public, from1.public_key_pem().expect("spki"));
    }

    #[test]
    fn bad_pem_is_an_error() {
        for pem in [
            "",
            "hello",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                matches!(
                    PrivateKey::from_pem(pem),
                    Err(CryptoError::InvalidPrivateKey(_))
                ),
                "{pem:?}"
            );
        }
    }

    #[test]
    fn bad_ciphertexts_are_errors() {
        let key = PrivateKey(test_key());
        assert_eq!(
            decrypt(&key, "not base64!"),
            Err(CryptoError::InvalidBase64)
        );
        assert_eq!(decrypt(&key, ""), Err(CryptoError::DecryptFailed));
        assert_eq!(decrypt(&key, "AAAA"), Err(CryptoError::DecryptFailed));
        let other = test_key_other();
        let ct = encrypt(&other, OaepVariant::Sha256, b"x");
        assert_eq!(decrypt(&key, &ct), Err(CryptoError::DecryptFailed));
    }

    fn test_key_other() -> rsa::PrivateKey {
        use rsa::rand_core::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        rsa::PrivateKey::new(&mut rng, 1024).expect("key generation")
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", PrivateKey(test_key())),
            "PrivateKey([redacted])"
        );
    }
}
