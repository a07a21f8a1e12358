//! The set of block signatures already verified on this node, so commands other than
//! `verify` need not re-run Ed25519 on every block of the history.
//!
//! An entry is SHA-256 over a domain tag, the SHA-256 of the exact block bytes, the
//! SHA-256 of the exact signature bytes and the public key that verified them: a block
//! or signature file changed by a single byte, or a key that is not the one the roster
//! gives, misses the cache and is verified again. Only signatures live here; every other
//! validity rule (links, clocks, membership, forks) is re-evaluated on every load.
//! Pure: [`SigCache::decode`]/[`SigCache::encode`] turn it into bytes; the node stores them.
use crate::digest::{self, Hash};
use std::collections::HashSet;

/// v2: verdicts of the signature rule (DESIGN §5). A v1 cache may hold verdicts of the
/// batch verification used before, which a crafted signature could pass: it is not read
/// (every signature is verified again, once) and is replaced.
const MAGIC: &[u8] = b"secfile verified signatures v2\n";

/// Verified (block, signature, key) triples, by digest.
#[derive(Debug, Default, Clone)]
pub struct SigCache {
    set: HashSet<Hash>,
}

/// The cache key of a block's signature under a public key.
pub fn key(block_hash: &Hash, sig: &[u8], pk: &minisign::PublicKey) -> Hash {
    key_b64(block_hash, sig, &pk.to_base64())
}

/// [`key`] with the public key already in base64 (for many blocks of one key).
pub fn key_b64(block_hash: &Hash, sig: &[u8], pk_base64: &str) -> Hash {
    let mut buf = Vec::with_capacity(MAGIC.len() + 64 + 64);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(block_hash);
    buf.extend_from_slice(&digest::sha256(sig));
    buf.extend_from_slice(pk_base64.as_bytes());
    digest::sha256(&buf)
}

impl SigCache {
    pub fn contains(&self, k: &Hash) -> bool {
        self.set.contains(k)
    }
    pub fn insert(&mut self, k: Hash) -> bool {
        self.set.insert(k)
    }
    pub fn len(&self) -> usize {
        self.set.len()
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
    /// Parse stored bytes; anything malformed gives `None` (the cache is then ignored).
    pub fn decode(bytes: &[u8]) -> Option<SigCache> {
        let rest = bytes.strip_prefix(MAGIC)?;
        if rest.len() % 32 != 0 {
            return None;
        }
        let set = rest.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
        Some(SigCache { set })
    }
    /// The stored form of a list of keys (sorted here), without building a set.
    pub fn encode_keys(keys: &mut [Hash]) -> Vec<u8> {
        keys.sort_unstable();
        let mut out = Vec::with_capacity(MAGIC.len() + 32 * keys.len());
        out.extend_from_slice(MAGIC);
        for h in keys.iter() {
            out.extend_from_slice(h);
        }
        out
    }
    /// Bytes to append to a stored cache (whose length is a whole number of keys) to add
    /// `keys`; a torn append leaves a length that [`SigCache::decode`] refuses.
    pub fn append_bytes(keys: &[Hash]) -> Vec<u8> {
        keys.concat()
    }
    /// True when `stored` is a cache that keys can be appended to.
    pub fn appendable(stored_prefix: &[u8], len: u64) -> bool {
        stored_prefix.starts_with(MAGIC) && (len - MAGIC.len() as u64).is_multiple_of(32)
    }
    pub fn magic_len() -> usize {
        MAGIC.len()
    }
    /// The stored form, entries sorted so equal sets give equal bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v: Vec<&Hash> = self.set.iter().collect();
        v.sort();
        let mut out = Vec::with_capacity(MAGIC.len() + 32 * v.len());
        out.extend_from_slice(MAGIC);
        for h in v {
            out.extend_from_slice(h);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage_ignored() {
        let mut c = SigCache::default();
        c.insert([1; 32]);
        c.insert([2; 32]);
        let d = SigCache::decode(&c.encode()).unwrap();
        assert!(d.contains(&[1; 32]) && d.contains(&[2; 32]) && d.len() == 2);
        let mut bad = c.encode();
        bad.pop();
        assert!(SigCache::decode(&bad).is_none());
        assert!(SigCache::decode(b"garbage").is_none());
    }

    #[test]
    fn key_depends_on_every_input() {
        let a = minisign::KeyPair::generate_unencrypted_keypair().unwrap().pk;
        let b = minisign::KeyPair::generate_unencrypted_keypair().unwrap().pk;
        let k = key(&[0; 32], b"sig", &a);
        assert_ne!(k, key(&[1; 32], b"sig", &a));
        assert_ne!(k, key(&[0; 32], b"sif", &a));
        assert_ne!(k, key(&[0; 32], b"sig", &b));
    }
}
