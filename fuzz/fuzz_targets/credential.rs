//! The credential decryptor on arbitrary ciphertexts (never panic), and encrypt → decrypt
//! round trips on arbitrary UTF-8 plaintexts.
#![no_main]

use koogate_protocol::AccessKey;
use koogate_protocol::crypto::credential::{self, EncryptType, Iv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = AccessKey::new("fuzz-access-key");
    let kind = if data.first().is_some_and(|b| b & 1 == 1) { EncryptType::Aes128 } else { EncryptType::Aes256 };
    let text = String::from_utf8_lossy(data);
    let _ = credential::decrypt(&key, kind, &text);
    let iv = Iv::parse("Ab3dE5gH7jK9mN1p").expect("valid IV");
    let sealed = credential::encrypt(&key, kind, &iv, &text);
    assert_eq!(credential::decrypt(&key, kind, &sealed).as_deref(), Ok(text.as_ref()));
});
