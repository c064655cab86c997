//! Encryption at rest for secrets koogate stores (app credentials handed to buyers).
//!
//! Layout of a sealed value: `[key id: 4 bytes][nonce: 12 bytes][AES-256-GCM ciphertext + tag]`.
//! The key id is derived from the key itself (first 4 bytes of SHA-256 over a label and the key),
//! so rotating needs no bookkeeping: configure the new master key and keep the old ones for
//! decryption until every row has been re-sealed.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::Rng;
use sha2::{Digest, Sha256};

const ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretBoxError {
    #[error("master key must be 64 hexadecimal characters (32 bytes)")]
    InvalidKey,
    #[error("sealed value is truncated")]
    Truncated,
    #[error("sealed with key id {0}, which is not configured")]
    UnknownKey(String),
    #[error("sealed value failed authentication (wrong key or tampered data)")]
    Tampered,
}

/// One AES-256 key and its derived id.
#[derive(Clone)]
struct MasterKey {
    id: [u8; ID_LEN],
    cipher: Aes256Gcm,
}

/// The current key seals; every configured key (current first) opens.
#[derive(Clone)]
pub struct SecretBox {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|k| hex::encode(k.id)).collect();
        f.debug_struct("SecretBox").field("key_ids", &ids).finish()
    }
}

impl SecretBox {
    /// `current` seals new values; `previous` keys only open old ones. Keys are 64 hex chars.
    pub fn new(current: &str, previous: &[String]) -> Result<Self, SecretBoxError> {
        let keys = std::iter::once(current)
            .chain(previous.iter().map(String::as_str))
            .map(parse_key)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// A fresh random key as 64 hex characters (for first start without configuration).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// The id of the sealing key, as hex (shown by `doctor` and `/readyz`).
    pub fn current_key_id(&self) -> String {
        self.keys
            .first()
            .map(|k| hex::encode(k.id))
            .unwrap_or_default()
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let Some(key) = self.keys.first() else {
            return Vec::new();
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for inputs below GCM's 64 GiB limit.
        let ciphertext = key
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(ID_LEN + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        if sealed.len() < ID_LEN + NONCE_LEN {
            return Err(SecretBoxError::Truncated);
        }
        let (id, rest) = sealed.split_at(ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SecretBoxError::UnknownKey(hex::encode(id)))?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretBoxError::Truncated)?;
        key.cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| SecretBoxError::Tampered)
    }

    /// True when `sealed` was sealed with an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        self.keys
            .first()
            .is_some_and(|k| !sealed.starts_with(&k.id))
    }
}

fn parse_key(text: &str) -> Result<MasterKey, SecretBoxError> {
    let bytes = hex::decode(text.trim()).map_err(|_| SecretBoxError::InvalidKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretBoxError::InvalidKey)?;
    let digest = Sha256::new()
        .chain_update(b"koogate-master-key-id:")
        .chain_update(bytes)
        .finalize();
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&digest[..ID_LEN]);
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes));
    Ok(MasterKey { id, cipher })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn seal_then_open_round_trips_and_uses_fresh_nonces() {
        let sb = SecretBox::new(K1, &[]).unwrap();
        let a = sb.seal(b"password");
        let b = sb.seal(b"password");
        assert_ne!(a, b);
        assert_eq!(sb.open(&a).unwrap(), b"password");
        assert_eq!(a.len(), ID_LEN + NONCE_LEN + 8 + 16);
    }

    #[test]
    fn rotation_opens_old_values_and_flags_them_for_resealing() {
        let old = SecretBox::new(K1, &[]).unwrap();
        let sealed = old.seal(b"x");
        let rotated = SecretBox::new(K2, &[K1.to_owned()]).unwrap();
        assert_eq!(rotated.open(&sealed).unwrap(), b"x");
        assert!(rotated.needs_reseal(&sealed));
        assert!(!rotated.needs_reseal(&rotated.seal(b"x")));
        let only_new = SecretBox::new(K2, &[]).unwrap();
        assert!(matches!(
            only_new.open(&sealed),
            Err(SecretBoxError::UnknownKey(_))
        ));
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let sb = SecretBox::new(K1, &[]).unwrap();
        let mut sealed = sb.seal(b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(sb.open(&sealed), Err(SecretBoxError::Tampered));
        assert_eq!(sb.open(&sealed[..10]), Err(SecretBoxError::Truncated));
    }

    #[test]
    fn bad_keys_are_refused_and_debug_hides_keys() {
        assert_eq!(
            SecretBox::new("abc", &[]).unwrap_err(),
            SecretBoxError::InvalidKey
        );
        let sb = SecretBox::new(K1, &[]).unwrap();
        assert!(!format!("{sb:?}").contains(K1));
        assert_eq!(SecretBox::generate_key().len(), 64);
    }
}
