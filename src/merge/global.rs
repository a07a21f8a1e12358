//! The global chain (DESIGN §5): every valid non-genesis block ordered by
//! (clock, chain id); the final prefix by the finality rule; a running hash per entry.
use super::validate::{Cand, Evaluation};
use crate::digest::{self, Hash};
use std::collections::BTreeMap;

/// One entry of the global chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Index into the candidates.
    pub cand: usize,
    pub clock: u64,
    pub chain: String,
    pub height: u64,
    pub kind: String,
    pub block_hash: Hash,
    /// SHA-256(previous running hash ‖ block hash); for tentative entries, continuing
    /// from the last final entry.
    pub running: Hash,
}

/// The merged global chain.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub entries: Vec<Entry>,
    /// How many leading entries are final.
    pub final_count: usize,
    /// The finality threshold: blocks with clock ≤ this are final (`None`: no active chain).
    pub threshold: Option<u64>,
    /// Per active chain, the clock that counted for the threshold.
    pub bounds: BTreeMap<String, u64>,
}

impl Global {
    /// The head: the last final entry's running hash, or zeros when nothing is final.
    pub fn head(&self) -> Hash {
        if self.final_count == 0 {
            [0u8; 32]
        } else {
            self.entries[self.final_count - 1].running
        }
    }
    pub fn head_hex(&self) -> String {
        digest::hex(&self.head())
    }
    pub fn final_entries(&self) -> &[Entry] {
        &self.entries[..self.final_count]
    }
    pub fn tentative(&self) -> &[Entry] {
        &self.entries[self.final_count..]
    }
    /// True when `h` is the running hash of some final entry (or the empty head).
    pub fn contains_head(&self, h: &Hash) -> bool {
        *h == [0u8; 32] || self.final_entries().iter().any(|e| e.running == *h)
    }
}

/// Step the running hash.
pub fn chain_hash(prev: &Hash, block: &Hash) -> Hash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(prev);
    buf[32..].copy_from_slice(block);
    digest::sha256(&buf)
}

/// Merge the valid blocks of an evaluation.
pub fn merge(eval: &Evaluation, cands: &[Cand]) -> Global {
    let block = |i: usize| cands[i].block.as_ref().expect("valid blocks parse");
    // finality bound per counting chain
    let mut bounds: BTreeMap<String, u64> = BTreeMap::new();
    for (id, m) in &eval.members {
        let seq = eval.chains.get(id);
        let latest = seq.and_then(|s| s.last()).map(|&i| block(i).clock).unwrap_or(0);
        let latest_height = seq.map(|s| s.len() as u64).unwrap_or(0);
        if let Some((cut_h, _, _)) = &m.removed {
            // a removed chain stops counting once its blocks up to the cutoff are present
            if latest_height > *cut_h {
                continue;
            }
        }
        bounds.insert(id.clone(), latest.max(m.admit_clock));
    }
    let threshold = bounds.values().min().copied();
    let mut order: Vec<usize> = eval
        .chains
        .values()
        .flatten()
        .copied()
        .filter(|&i| block(i).height > 0)
        .collect();
    order.sort_by(|&a, &b| (block(a).clock, &block(a).chain).cmp(&(block(b).clock, &block(b).chain)));
    let mut entries = Vec::with_capacity(order.len());
    let mut prev = [0u8; 32];
    let mut final_count = 0;
    for i in order {
        let b = block(i);
        let running = chain_hash(&prev, &cands[i].hash);
        prev = running;
        if threshold.is_some_and(|t| b.clock <= t) {
            final_count += 1;
        }
        entries.push(Entry {
            cand: i,
            clock: b.clock,
            chain: b.chain.clone(),
            height: b.height,
            kind: b.kind.clone(),
            block_hash: cands[i].hash,
            running,
        });
    }
    Global {
        entries,
        final_count,
        threshold,
        bounds,
    }
}

/// The deterministic text of `merge --out`: identical bytes on every node that holds the
/// same final blocks (and, with tentative entries, the same valid blocks).
pub fn render(g: &Global, include_tentative: bool) -> String {
    let mut s = String::from("# secfile global chain v1\n");
    s.push_str(&format!("# head {} final {}\n", g.head_hex(), g.final_count));
    s.push_str("# index clock chain height kind block-hash running-hash\n");
    let line = |s: &mut String, n: usize, e: &Entry| {
        s.push_str(&format!(
            "{n} {} {} {} {} {} {}\n",
            e.clock,
            e.chain,
            e.height,
            e.kind,
            digest::hex(&e.block_hash),
            digest::hex(&e.running)
        ))
    };
    for (n, e) in g.final_entries().iter().enumerate() {
        line(&mut s, n, e);
    }
    if include_tentative && !g.tentative().is_empty() {
        s.push_str(&format!(
            "# tentative {} (not final: may still be reordered)\n",
            g.tentative().len()
        ));
        for (n, e) in g.tentative().iter().enumerate() {
            line(&mut s, g.final_count + n, e);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_hash_is_sha256_of_concatenation() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let mut cat = a.to_vec();
        cat.extend_from_slice(&b);
        assert_eq!(chain_hash(&a, &b), digest::sha256(&cat));
        assert_eq!(Global::default().head_hex(), "0".repeat(64));
    }
}
