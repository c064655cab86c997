//! Properties of the credential cipher and the SHA1PRNG port that the fixed vectors cannot cover.

use koogate_protocol::AccessKey;
use koogate_protocol::crypto::credential::{
    self, EncryptType, Iv, MAX_ENCRYPTED_LEN, MAX_PLAINTEXT_BYTES,
};
use koogate_protocol::crypto::sha1prng::Sha1Prng;
use proptest::prelude::*;

/// Arbitrary UTF-8 of at most `MAX_PLAINTEXT_BYTES` bytes (mixing ASCII, CJK and emoji).
fn plaintext() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| {
        let mut out = String::new();
        for c in s.chars() {
            if out.len() + c.len_utf8() > MAX_PLAINTEXT_BYTES {
                break;
            }
            out.push(c);
        }
        out
    })
}

fn encrypt_type() -> impl Strategy<Value = EncryptType> {
    prop_oneof![Just(EncryptType::Aes256), Just(EncryptType::Aes128)]
}

fn iv() -> impl Strategy<Value = Iv> {
    "[A-Za-z0-9]{16}".prop_map(|s| Iv::parse(&s).expect("alphanumeric IV"))
}

proptest! {
    #[test]
    fn encrypt_then_decrypt_round_trips(
        key in any::<String>(),
        kind in encrypt_type(),
        iv in iv(),
        plain in plaintext(),
    ) {
        let key = AccessKey::new(key);
        let text = credential::encrypt_checked(&key, kind, &iv, &plain).expect("≤ 79 bytes always fit");
        prop_assert!(text.len() <= MAX_ENCRYPTED_LEN);
        prop_assert!(text.starts_with(iv.as_str()));
        prop_assert_eq!(credential::decrypt(&key, kind, &text), Ok(plain));
    }

    #[test]
    fn decrypt_never_panics(key in any::<String>(), kind in encrypt_type(), text in any::<String>()) {
        let _ = credential::decrypt(&AccessKey::new(key), kind, &text);
    }

    #[test]
    fn decrypt_never_panics_on_plausible_inputs(
        kind in encrypt_type(),
        text in "[A-Za-z0-9]{16}[A-Za-z0-9+/=]{0,64}",
    ) {
        let _ = credential::decrypt(&AccessKey::new("k"), kind, &text);
    }

    #[test]
    fn sha1prng_split_fills_equal_one_fill(
        seed in proptest::collection::vec(any::<u8>(), 0..64),
        cuts in proptest::collection::vec(0usize..=200, 0..6),
        total in 0usize..=200,
    ) {
        let mut whole = vec![0u8; total];
        Sha1Prng::new(&seed).fill(&mut whole);

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(total)).collect();
        cuts.sort_unstable();
        let mut prng = Sha1Prng::new(&seed);
        let mut pieces = Vec::with_capacity(total);
        let mut start = 0;
        for end in cuts.into_iter().chain([total]) {
            let mut part = vec![0u8; end - start];
            prng.fill(&mut part);
            pieces.extend(part);
            start = end;
        }
        prop_assert_eq!(pieces, whole);
    }
}
