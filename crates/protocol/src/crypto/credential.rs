//! AES-CBC/PKCS5 credential encryption: `iv + base64(AES-CBC(key = SHA1PRNG(accessKey), iv, utf8))`
//! (spec saas-v2 §4).
//!
//! The IV is 16 printable characters whose ASCII bytes are used directly, and the AES key is not
//! the access key but the first 16 or 32 bytes of Java's SHA1PRNG seeded with it (see
//! [`super::sha1prng`]). Both quirks come from the marketplace's Java demo and must be kept.

use aes::{Aes128, Aes256};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use rand::distr::{Alphanumeric, Distribution};

use super::CryptoError;
use super::sha1prng::Sha1Prng;
use crate::signing::AccessKey;

/// The wire limit for an encrypted `userName`/`password`, IV included.
pub const MAX_ENCRYPTED_LEN: usize = 128;
/// The longest plaintext (UTF-8 bytes) whose encryption fits [`MAX_ENCRYPTED_LEN`].
pub const MAX_PLAINTEXT_BYTES: usize = 79;

const IV_LEN: usize = 16;

/// Java's `Base64.getDecoder()` accepts a missing `=` padding; so do we.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

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
pub struct Iv([u8; IV_LEN]);

impl Iv {
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let bytes: [u8; IV_LEN] = text
            .as_bytes()
            .try_into()
            .map_err(|_| CryptoError::InvalidIv)?;
        if bytes.iter().all(u8::is_ascii_alphanumeric) {
            Ok(Self(bytes))
        } else {
            Err(CryptoError::InvalidIv)
        }
    }

    /// A fresh random IV from the OS-seeded thread generator.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        Self(std::array::from_fn(|_| Alphanumeric.sample(&mut rng)))
    }

    pub fn as_str(&self) -> &str {
        // Every constructor admits ASCII alphanumerics only, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The first `N` bytes of SHA1PRNG seeded with the key's UTF-8 bytes: what Java's
/// `KeyGenerator.init(N * 8, sha1prng)` produces (same as [`super::sha1prng::derive_aes_key`]).
fn aes_key<const N: usize>(key: &AccessKey) -> [u8; N] {
    let mut out = [0u8; N];
    Sha1Prng::new(key.expose().as_bytes()).fill(&mut out);
    out
}

#[derive(Clone)]
enum DerivedKey {
    Aes256([u8; 32]),
    Aes128([u8; 16]),
}

/// The credential cipher of one access key and `encryptType`, with the SHA1PRNG key derivation
/// done once. A gateway answering `queryInstance` encrypts two credentials per instance, up to
/// 200 per call, all under the same key; deriving it each time was a measurable share of the
/// call (BENCHMARKS.md, profile of `queryInstance` with 100 ids). `Debug` prints no key.
#[derive(Clone)]
pub struct CredentialCipher {
    key: DerivedKey,
}

impl std::fmt::Debug for CredentialCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialCipher({:?}, [redacted])", self.kind())
    }
}

impl CredentialCipher {
    pub fn new(key: &AccessKey, kind: EncryptType) -> Self {
        let key = match kind {
            EncryptType::Aes256 => DerivedKey::Aes256(aes_key::<32>(key)),
            EncryptType::Aes128 => DerivedKey::Aes128(aes_key::<16>(key)),
        };
        Self { key }
    }

    pub fn kind(&self) -> EncryptType {
        match self.key {
            DerivedKey::Aes256(_) => EncryptType::Aes256,
            DerivedKey::Aes128(_) => EncryptType::Aes128,
        }
    }

    /// `iv + base64(ciphertext)`.
    pub fn encrypt(&self, iv: &Iv, plaintext: &str) -> String {
        let data = plaintext.as_bytes();
        let ciphertext = match &self.key {
            DerivedKey::Aes256(key) => cbc::Encryptor::<Aes256>::new(key.into(), &iv.0.into())
                .encrypt_padded_vec::<Pkcs7>(data),
            DerivedKey::Aes128(key) => cbc::Encryptor::<Aes128>::new(key.into(), &iv.0.into())
                .encrypt_padded_vec::<Pkcs7>(data),
        };
        let mut out = String::from(iv.as_str());
        STANDARD.encode_string(ciphertext, &mut out);
        out
    }

    /// Like [`Self::encrypt`], but refuses results over [`MAX_ENCRYPTED_LEN`].
    pub fn encrypt_checked(&self, iv: &Iv, plaintext: &str) -> Result<String, CryptoError> {
        let out = self.encrypt(iv, plaintext);
        if out.len() > MAX_ENCRYPTED_LEN {
            return Err(CryptoError::TooLong {
                len: out.len(),
                max: MAX_ENCRYPTED_LEN,
            });
        }
        Ok(out)
    }

    /// Splits off the 16-character IV and decrypts the rest.
    pub fn decrypt(&self, text: &str) -> Result<String, CryptoError> {
        if text.len() < IV_LEN {
            return Err(CryptoError::TooShort);
        }
        // `get` rather than slicing: a multi-byte character straddling byte 16 is a bad IV,
        // not a panic.
        let (iv, body) = match (text.get(..IV_LEN), text.get(IV_LEN..)) {
            (Some(iv), Some(body)) => (Iv::parse(iv)?, body),
            _ => return Err(CryptoError::InvalidIv),
        };
        let ciphertext = LENIENT_BASE64
            .decode(body)
            .map_err(|_| CryptoError::InvalidBase64)?;
        let plain = match &self.key {
            DerivedKey::Aes256(key) => cbc::Decryptor::<Aes256>::new(key.into(), &iv.0.into())
                .decrypt_padded_vec::<Pkcs7>(&ciphertext),
            DerivedKey::Aes128(key) => cbc::Decryptor::<Aes128>::new(key.into(), &iv.0.into())
                .decrypt_padded_vec::<Pkcs7>(&ciphertext),
        }
        .map_err(|_| CryptoError::DecryptFailed)?;
        String::from_utf8(plain).map_err(|_| CryptoError::InvalidUtf8)
    }
}

/// `iv + base64(ciphertext)`; derives the key on every call (see [`CredentialCipher`]).
pub fn encrypt(key: &AccessKey, kind: EncryptType, iv: &Iv, plaintext: &str) -> String {
    CredentialCipher::new(key, kind).encrypt(iv, plaintext)
}

/// Like [`encrypt`], but refuses results over [`MAX_ENCRYPTED_LEN`].
pub fn encrypt_checked(
    key: &AccessKey,
    kind: EncryptType,
    iv: &Iv,
    plaintext: &str,
) -> Result<String, CryptoError> {
    CredentialCipher::new(key, kind).encrypt_checked(iv, plaintext)
}

/// Splits off the 16-character IV and decrypts the rest.
pub fn decrypt(key: &AccessKey, kind: EncryptType, text: &str) -> Result<String, CryptoError> {
    CredentialCipher::new(key, kind).decrypt(text)
}

#[cfg(test)]
mod tests {
    use super::super::sha1prng::derive_aes_key;
    use super::*;

    const KEY: &str = "test-access-key-0001";
    const IV: &str = "Ab3dE5gH7jK9mN1p";

    /// Spec saas-v2 §4, computed with Java 17 JCE.
    const SPEC_TABLE: [(EncryptType, &str, &str); 8] = [
        (
            EncryptType::Aes256,
            "admin",
            "Ab3dE5gH7jK9mN1p9dWjFx3tSwe15wjO75iDJg==",
        ),
        (
            EncryptType::Aes256,
            "P@ssw0rd!2024",
            "Ab3dE5gH7jK9mN1pu6z7gQ93YTwrUkbmPUVDPA==",
        ),
        (
            EncryptType::Aes256,
            "13800138000",
            "Ab3dE5gH7jK9mN1pN9zr1sLwodttmjKf0dXGSw==",
        ),
        (
            EncryptType::Aes256,
            "管理员",
            "Ab3dE5gH7jK9mN1p9xQJz2iQiy9fhrO9b9tLAA==",
        ),
        (
            EncryptType::Aes128,
            "admin",
            "Ab3dE5gH7jK9mN1pLZsQG5iISEoHiWOlmDisJQ==",
        ),
        (
            EncryptType::Aes128,
            "P@ssw0rd!2024",
            "Ab3dE5gH7jK9mN1pRoDEuEr6YBLm7Qkt14HBqQ==",
        ),
        (
            EncryptType::Aes128,
            "13800138000",
            "Ab3dE5gH7jK9mN1pKI8kJxxYjvWWGpJ98gjbuQ==",
        ),
        (
            EncryptType::Aes128,
            "管理员",
            "Ab3dE5gH7jK9mN1pEC89cBV+1Tt2Jrd5qXBizQ==",
        ),
    ];

    fn key() -> AccessKey {
        AccessKey::new(KEY)
    }

    fn iv() -> Iv {
        Iv::parse(IV).expect("spec IV")
    }

    #[test]
    fn derived_keys_match_the_spec() {
        let k256 = "fa32b243c1eeb23e93357bb8be8ec84903d6395e4f1ccb2379a1666d99a6ab9f";
        assert_eq!(hex::encode(derive_aes_key(KEY.as_bytes(), 256)), k256);
        assert_eq!(
            hex::encode(derive_aes_key(KEY.as_bytes(), 128)),
            "fa32b243c1eeb23e93357bb8be8ec849"
        );
    }

    #[test]
    fn encrypts_every_spec_row() {
        for (kind, plain, expected) in SPEC_TABLE {
            assert_eq!(
                encrypt(&key(), kind, &iv(), plain),
                expected,
                "{kind:?} {plain}"
            );
        }
    }

    /// One cipher per type, reused across every row and both directions, as the gateway uses it.
    #[test]
    fn a_reused_cipher_matches_every_spec_row() {
        let ciphers = [
            CredentialCipher::new(&key(), EncryptType::Aes256),
            CredentialCipher::new(&key(), EncryptType::Aes128),
        ];
        for (kind, plain, expected) in SPEC_TABLE {
            let cipher = ciphers.iter().find(|c| c.kind() == kind).unwrap();
            assert_eq!(cipher.encrypt(&iv(), plain), expected, "{kind:?} {plain}");
            assert_eq!(cipher.decrypt(expected).as_deref(), Ok(plain));
        }
        assert_eq!(
            format!("{:?}", ciphers[0]),
            "CredentialCipher(Aes256, [redacted])"
        );
    }

    #[test]
    fn decrypts_every_spec_row() {
        for (kind, plain, text) in SPEC_TABLE {
            assert_eq!(
                decrypt(&key(), kind, text).as_deref(),
                Ok(plain),
                "{kind:?} {plain}"
            );
        }
    }

    #[test]
    fn seventy_nine_bytes_fit_and_eighty_do_not() {
        for kind in [EncryptType::Aes256, EncryptType::Aes128] {
            let fits = encrypt_checked(&key(), kind, &iv(), &"x".repeat(MAX_PLAINTEXT_BYTES))
                .expect("79 bytes fit");
            assert_eq!(fits.len(), 16 + 108);
            let err = encrypt_checked(&key(), kind, &iv(), &"x".repeat(MAX_PLAINTEXT_BYTES + 1));
            assert_eq!(
                err,
                Err(CryptoError::TooLong {
                    len: 144,
                    max: MAX_ENCRYPTED_LEN
                })
            );
        }
        // The limit is in bytes: 26 three-byte characters plus one ASCII byte is 79 bytes.
        let cjk = format!("{}x", "密".repeat(26));
        assert!(encrypt_checked(&key(), EncryptType::Aes256, &iv(), &cjk).is_ok());
        assert!(encrypt_checked(&key(), EncryptType::Aes256, &iv(), &format!("{cjk}x")).is_err());
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let text = encrypt(&key(), EncryptType::Aes256, &iv(), "");
        assert_eq!(text.len(), 16 + 24);
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, &text).as_deref(),
            Ok("")
        );
    }

    #[test]
    fn rejects_short_input() {
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, ""),
            Err(CryptoError::TooShort)
        );
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, "Ab3dE5gH7jK9mN1"),
            Err(CryptoError::TooShort)
        );
        // An IV and nothing else is not a ciphertext.
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, IV),
            Err(CryptoError::DecryptFailed)
        );
    }

    #[test]
    fn rejects_bad_base64() {
        let text = format!("{IV}9dWjFx3t*we15wjO75iDJg==");
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, &text),
            Err(CryptoError::InvalidBase64)
        );
    }

    #[test]
    fn accepts_missing_padding_like_java() {
        let text = "Ab3dE5gH7jK9mN1p9dWjFx3tSwe15wjO75iDJg";
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, text).as_deref(),
            Ok("admin")
        );
    }

    #[test]
    fn wrong_key_or_type_fails_cleanly() {
        let text = SPEC_TABLE[0].2;
        let wrong = AccessKey::new("test-access-key-0002");
        assert_eq!(
            decrypt(&wrong, EncryptType::Aes256, text),
            Err(CryptoError::DecryptFailed)
        );
        // AES-128 on an AES-256 ciphertext: padding is wrong with overwhelming probability.
        assert_eq!(
            decrypt(&key(), EncryptType::Aes128, text),
            Err(CryptoError::DecryptFailed)
        );
        // Not a whole number of blocks.
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, &format!("{IV}AAAA")),
            Err(CryptoError::DecryptFailed)
        );
    }

    #[test]
    fn rejects_bad_iv_characters() {
        for bad in [
            "Ab3dE5gH7jK9mN1-",
            "Ab3dE5gH7jK9mN1 ",
            "密b3dE5gH7jK9mN1p",
            "Ab3dE5gH7jK9mN1密",
        ] {
            let text = format!("{bad}9dWjFx3tSwe15wjO75iDJg==");
            assert_eq!(
                decrypt(&key(), EncryptType::Aes256, &text),
                Err(CryptoError::InvalidIv),
                "{bad}"
            );
        }
        assert_eq!(Iv::parse("short"), Err(CryptoError::InvalidIv));
        assert_eq!(Iv::parse("Ab3dE5gH7jK9mN1pX"), Err(CryptoError::InvalidIv));
    }

    #[test]
    fn random_ivs_are_alphanumeric_and_differ() {
        let a = Iv::random();
        let b = Iv::random();
        assert_eq!(Iv::parse(a.as_str()), Ok(a));
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_utf8_is_reported_not_panicked() {
        // Encrypt raw invalid UTF-8 by hand, then decrypt through the public API.
        let k: [u8; 32] = derive_aes_key(KEY.as_bytes(), 256)
            .try_into()
            .expect("32 bytes");
        let ct = cbc::Encryptor::<Aes256>::new(&k.into(), &iv().0.into())
            .encrypt_padded_vec::<Pkcs7>(&[0xff, 0xfe]);
        let text = format!("{IV}{}", STANDARD.encode(ct));
        assert_eq!(
            decrypt(&key(), EncryptType::Aes256, &text),
            Err(CryptoError::InvalidUtf8)
        );
    }

    #[test]
    fn error_messages_never_contain_secrets() {
        let errors = [
            decrypt(&key(), EncryptType::Aes128, SPEC_TABLE[0].2),
            encrypt_checked(&key(), EncryptType::Aes256, &iv(), &"admin".repeat(20))
                .map(|_| String::new()),
        ];
        for err in errors {
            let msg = err.expect_err("both fail").to_string();
            assert!(!msg.contains(KEY) && !msg.contains("admin"), "{msg}");
        }
    }

    #[test]
    fn wire_names() {
        assert_eq!(EncryptType::default().wire(), "1");
        assert_eq!(EncryptType::from_wire("2"), Some(EncryptType::Aes128));
        assert_eq!(EncryptType::from_wire("3"), None);
    }
}
