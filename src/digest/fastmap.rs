//! Hash maps for keys that are random to an outsider: SHA-256 digests, and numbers an
//! evaluation assigns. std's SipHash costs more than the lookups themselves there (100k
//! blocks make ~500k lookups per evaluation). A multiply-mix hasher with a per-process
//! random seed is enough: no one who writes a block can predict where its key lands.
use std::hash::{BuildHasher, Hasher};

/// A `HashMap` with [`Seeded`] hashing.
pub type FastMap<K, V> = std::collections::HashMap<K, V, Seeded>;

/// Builds [`Mix`] hashers from one random seed per process.
#[derive(Debug, Clone, Copy)]
pub struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        Seeded(*SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5ec_f11e_u64)))
    }
}

impl BuildHasher for Seeded {
    type Hasher = Mix;
    fn build_hasher(&self) -> Mix {
        Mix(self.0)
    }
}

/// Each word is folded into the state by a multiply; `finish` mixes all the bits down.
#[derive(Debug)]
pub struct Mix(u64);

impl Mix {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(23) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ (rest.len() as u64) << 59);
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.add(x.into())
    }
    fn write_u32(&mut self, x: u32) {
        self.add(x.into())
    }
    fn write_u64(&mut self, x: u64) {
        self.add(x)
    }
    fn write_usize(&mut self, x: usize) {
        self.add(x as u64)
    }
    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit reaches the low bits a table indexes by
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_low_bits() {
        // (chain number, height) pairs and digests that differ in one byte must not pile
        // into a few buckets of a 2^12-slot table
        let s = Seeded::default();
        let mut buckets = vec![0u32; 1 << 12];
        for c in 0..16u32 {
            for h in 0..1024u64 {
                buckets[(s.hash_one((c, h)) & 0xfff) as usize] += 1;
            }
        }
        for i in 0..=255u8 {
            let mut d = [0u8; 32];
            d[31] = i;
            buckets[(s.hash_one(d) & 0xfff) as usize] += 1;
        }
        assert!(
            *buckets.iter().max().unwrap() <= 16,
            "max per bucket {}",
            buckets.iter().max().unwrap()
        );
        let mut m: FastMap<(u32, u64), usize> = FastMap::default();
        m.insert((1, 2), 3);
        assert_eq!(m.get(&(1, 2)), Some(&3));
        assert_eq!(m.get(&(2, 1)), None);
    }
}
