//! Java `sun.security.provider.SecureRandom` ("SHA1PRNG") seeded once with `setSeed(seed)`,
//! as a deterministic byte stream (spec saas-v2 §4).

/// The deterministic SHA1PRNG stream.
#[derive(Clone)]
pub struct Sha1Prng {
    state: [u8; 20],
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
        let _ = seed;
        todo!()
    }

    /// Fills `out` exactly as `nextBytes` would.
    pub fn fill(&mut self, out: &mut [u8]) {
        let _ = (out, &self.state, &self.remainder);
        todo!()
    }
}

/// The AES key Java's `KeyGenerator.init(bits, sha1prng(seed))` produces: the first `bits / 8`
/// bytes of the stream. `bits` is 128 or 256.
pub fn derive_aes_key(seed: &[u8], bits: usize) -> Vec<u8> {
    let _ = (seed, bits);
    todo!()
}
