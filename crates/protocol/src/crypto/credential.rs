//! AES-CBC/PKCS5 credential encryption: `iv + base64(AES-CBC(key = SHA1PRNG(accessKey), iv, utf8))`
//! (spec saas-v2 §4).

use super::CryptoError;
use crate::signing::AccessKey;

/// The wire limit for an encrypted `userName`/`password`, IV included.
pub const MAX_ENCRYPTED_LEN: usize = 128;
/// The longest plaintext (UTF-8 bytes) whose encryption fits [`MAX_ENCRYPTED_LEN`].
pub const MAX_PLAINTEXT_BYTES: usize = 79;

/// `encryptType` on the wire: `"1"` = AES-256 (default), `"2"` = AES-128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncryptType {
    #[default]
    Aes256,
    Aes128,
}

impl EncryptType {
    /// `"1"` or `"2"`.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Aes256 => "1",
            Self::Aes128 => "2",
        }
    }

    pub fn from_wire(value: &str) -> Option<Self> {
        match value {
            "1" => Some(Self::Aes256),
            "2" => Some(Self::Aes128),
            _ => None,
        }
    }

    pub fn key_bits(self) -> usize {
        match self {
            Self::Aes256 => 256,
            Self::Aes128 => 128,
        }
    }
}

/// A 16-character alphanumeric IV; its ASCII bytes are the AES IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iv([u8; 16]);

impl Iv {
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let _ = text;
        todo!()
    }

    /// A fresh random IV from the OS generator.
    pub fn random() -> Self {
        todo!()
    }

    pub fn as_str(&self) -> &str {
        let _ = self.0;
        todo!()
    }
}

/// `iv + base64(ciphertext)`.
pub fn encrypt(key: &AccessKey, kind: EncryptType, iv: &Iv, plaintext: &str) -> String {
    let _ = (key, kind, iv, plaintext);
    todo!()
}

/// Like [`encrypt`], but refuses results over [`MAX_ENCRYPTED_LEN`].
pub fn encrypt_checked(key: &AccessKey, kind: EncryptType, iv: &Iv, plaintext: &str) -> Result<String, CryptoError> {
    let _ = (key, kind, iv, plaintext);
    todo!()
}

/// Splits off the 16-character IV and decrypts the rest.
pub fn decrypt(key: &AccessKey, kind: EncryptType, text: &str) -> Result<String, CryptoError> {
    let _ = (key, kind, text);
    todo!()
}
