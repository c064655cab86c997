//! Java `sun.security.provider.SecureRandom` ("SHA1PRNG") seeded once with `setSeed(seed)`,
//! as a deterministic byte stream (spec saas-v2 §4).
//!
//! KooGallery's Java demos derive the AES key of the credential cipher by handing this generator,
//! seeded with the access key, to `KeyGenerator.init`. Nothing about it is random once seeded, so
//! it is a key-derivation function in disguise, and it has to be reproduced bit for bit.

use sha1::{Digest, Sha1};

const BLOCK: usize = 20;

/// The deterministic SHA1PRNG stream.
#[derive(Clone)]
pub struct Sha1Prng {
    state: [u8; BLOCK],
    /// The not yet handed out tail of the last output block. Java keeps the same remainder, so
    /// successive `nextBytes` calls continue one stream instead of restarting at a block boundary.
    remainder: Vec<u8>,
}

impl std::fmt::Debug for Sha1Prng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha1Prng([redacted])")
    }
}

impl Sha1Prng {
    /// A fresh generator after `setSeed(seed)`.
    pub fn new(seed: &[u8]) -> Self {
        Self {
            state: Sha1::digest(seed).into(),
            remainder: Vec::new(),
        }
    }

    /// Fills `out` exactly as `nextBytes` would.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut filled = self.take_remainder(out);
        while filled < out.len() {
            let block = self.next_block();
            let todo = (out.len() - filled).min(BLOCK);
            out[filled..filled + todo].copy_from_slice(&block[..todo]);
            self.remainder = block[todo..].to_vec();
            filled += todo;
        }
    }

    /// Copies what is left of the previous block into the front of `out`; returns how much.
    fn take_remainder(&mut self, out: &mut [u8]) -> usize {
        let todo = out.len().min(self.remainder.len());
        out[..todo].copy_from_slice(&self.remainder[..todo]);
        self.remainder.drain(..todo);
        todo
    }

    /// `out = SHA1(state)`, then Java's `updateState`: `state += out + 1` as a little-endian
    /// number of signed bytes, bumping `state[0]` if that changed nothing.
    fn next_block(&mut self) -> [u8; BLOCK] {
        let out: [u8; BLOCK] = Sha1::digest(self.state).into();
        let mut last: i32 = 1;
        let mut changed = false;
        for (s, o) in self.state.iter_mut().zip(out) {
            let v = i32::from(*s as i8) + i32::from(o as i8) + last;
            let t = v as u8;
            changed |= *s != t;
            *s = t;
            last = v >> 8;
        }
        if !changed {
            self.state[0] = self.state[0].wrapping_add(1);
        }
        out
    }
}

/// The AES key Java's `KeyGenerator.init(bits, sha1prng(seed))` produces: the first `bits / 8`
/// bytes of the stream. `bits` is 128 or 256.
pub fn derive_aes_key(seed: &[u8], bits: usize) -> Vec<u8> {
    let mut key = vec![0; bits / 8];
    Sha1Prng::new(seed).fill(&mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_KEY: &[u8] = b"test-access-key-0001";
    const SPEC_KEY_256: &str = "fa32b243c1eeb23e93357bb8be8ec84903d6395e4f1ccb2379a1666d99a6ab9f";

    #[test]
    fn derives_the_spec_keys() {
        assert_eq!(hex::encode(derive_aes_key(SPEC_KEY, 256)), SPEC_KEY_256);
        assert_eq!(
            hex::encode(derive_aes_key(SPEC_KEY, 128)),
            &SPEC_KEY_256[..32]
        );
    }

    #[test]
    fn first_block_is_sha1_of_sha1_of_seed() {
        let expected = Sha1::digest(Sha1::digest(SPEC_KEY));
        let mut out = [0u8; 20];
        Sha1Prng::new(SPEC_KEY).fill(&mut out);
        assert_eq!(out[..], expected[..]);
    }

    #[test]
    fn successive_fills_continue_the_stream() {
        let mut whole = [0u8; 67];
        Sha1Prng::new(SPEC_KEY).fill(&mut whole);
        for sizes in [[1usize, 19, 47], [20, 20, 27], [0, 33, 34], [7, 0, 60]] {
            let mut prng = Sha1Prng::new(SPEC_KEY);
            let mut pieces = Vec::new();
            for size in sizes {
                let mut part = vec![0u8; size];
                prng.fill(&mut part);
                pieces.extend(part);
            }
            assert_eq!(pieces, whole, "split {sizes:?}");
        }
    }

    #[test]
    fn empty_fill_and_odd_sizes_do_not_panic() {
        let mut prng = Sha1Prng::new(b"");
        prng.fill(&mut []);
        assert_eq!(derive_aes_key(b"", 0), Vec::<u8>::new());
        assert_eq!(derive_aes_key(b"", 7).len(), 0);
    }

    #[test]
    fn debug_does_not_show_state() {
        assert_eq!(
            format!("{:?}", Sha1Prng::new(SPEC_KEY)),
            "Sha1Prng([redacted])"
        );
    }
}
