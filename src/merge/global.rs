//! The global chain (DESIGN §5): every valid non-genesis block ordered by
//! (clock, chain id); the final prefix by the finality rule, anchored at the master's
//! latest valid block ([`super::rules::finality`]); a running hash per entry; and the
//! body a `checkpoint` block records ([`checkpoint_body`]).
use super::rules::finality;
use super::validate::{Cand, Evaluation, Member};
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
    /// Leading final entries not held here (an incremental merge keeps only their count
    /// and the running hash of the last one, `skipped_head`).
    pub skipped: usize,
    pub skipped_head: Hash,
    /// The entries after the skipped ones.
    pub entries: Vec<Entry>,
    /// How many leading entries are final, the skipped ones included.
    pub final_count: usize,
    /// The finality threshold: blocks with clock ≤ this are final (`None`: no active chain).
    pub threshold: Option<u64>,
    /// The master height M whose cut the final chain comes from (its latest valid block).
    pub anchor: Option<u64>,
    /// Per active chain, the clock that counted for the threshold.
    pub bounds: BTreeMap<String, u64>,
}

impl Global {
    /// The head: the last final entry's running hash, or zeros when nothing is final.
    pub fn head(&self) -> Hash {
        if self.final_count == self.skipped {
            self.skipped_head
        } else {
            self.entries[self.final_count - self.skipped - 1].running
        }
    }
    /// Every entry, the skipped ones included.
    pub fn len(&self) -> usize {
        self.skipped + self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn head_hex(&self) -> String {
        digest::hex(&self.head())
    }
    /// The final entries held (all of them unless some were skipped).
    pub fn final_entries(&self) -> &[Entry] {
        &self.entries[..self.final_count - self.skipped]
    }
    pub fn tentative(&self) -> &[Entry] {
        &self.entries[self.final_count - self.skipped..]
    }
    /// True when `h` is the running hash of some final entry (or the empty head). Only
    /// for a complete merge (nothing skipped).
    pub fn contains_head(&self, h: &Hash) -> bool {
        debug_assert_eq!(self.skipped, 0);
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

/// Per chain, the anchors and clocks of its valid blocks by height (from height 0): what
/// the cut of any master block needs.
#[derive(Debug, Clone, Default)]
pub struct Cuts {
    chains: BTreeMap<String, (Vec<u64>, Vec<u64>)>,
}

impl Cuts {
    /// From a whole evaluation (no base: every chain's valid sequence starts at 0).
    pub fn of(eval: &Evaluation, cands: &[Cand]) -> Cuts {
        let chains = eval
            .chains
            .iter()
            .map(|(id, seq)| {
                let anchors = seq.iter().map(|&i| eval.anchor[i]).collect();
                let clocks = seq
                    .iter()
                    .map(|&i| cands[i].block.as_ref().map_or(0, |b| b.clock))
                    .collect();
                (id.clone(), (anchors, clocks))
            })
            .collect();
        Cuts { chains }
    }
    /// (height, clock) of a chain's latest valid block in the cut of master height `m`.
    pub fn latest(&self, id: &str, m: u64) -> Option<(u64, u64)> {
        let (anchors, clocks) = self.chains.get(id)?;
        finality::latest_in_cut(anchors, m).map(|h| (h, clocks[h as usize]))
    }
}

/// The finality bound of every chain that counts at master height `m` (DESIGN §5),
/// given each chain's latest valid block in the cut of `m` as (height, clock).
pub fn bounds(
    members: &BTreeMap<String, Member>,
    m: u64,
    latest: impl Fn(&str) -> Option<(u64, u64)>,
) -> BTreeMap<String, u64> {
    finality::bounds(members, m, latest)
}

/// What a `checkpoint` block at master height `m` with clock `clock` records: the final
/// chain of its own cut (DESIGN §5 "Checkpoints") as (final count, head, threshold T).
/// `latest(id)` gives each other chain's latest valid block in that cut; `entries` is the
/// whole global order (nothing skipped). The checkpoint block itself has the highest clock
/// in its cut and never counts in its own body (it could not name its own hash).
pub fn checkpoint_body(
    master: &str,
    members: &BTreeMap<String, Member>,
    m: u64,
    clock: u64,
    latest: impl Fn(&str) -> Option<(u64, u64)>,
    entries: &[Entry],
) -> (u64, Hash, u64) {
    let (t, limit) = checkpoint_limit(master, members, m, clock, latest);
    let n = entries.partition_point(|e| e.clock <= limit);
    let head = n.checked_sub(1).map_or([0u8; 32], |k| entries[k].running);
    (n as u64, head, t)
}

/// The threshold T of a `checkpoint` block at master height `m` with clock `clock`, and
/// the highest clock its body's final chain takes in (T, and never the block itself).
pub fn checkpoint_limit(
    master: &str,
    members: &BTreeMap<String, Member>,
    m: u64,
    clock: u64,
    latest: impl Fn(&str) -> Option<(u64, u64)>,
) -> (u64, u64) {
    let b = finality::bounds(members, m, |id| match id == master {
        true => Some((m, clock)),
        false => latest(id),
    });
    let t = finality::threshold(&b).unwrap_or(0);
    (t, t.min(clock.saturating_sub(1)))
}

/// [`checkpoint_body`] of the valid master block `i` of a whole evaluation, with its merge
/// `g` (nothing skipped) and its [`Cuts`].
pub fn checkpoint_body_at(eval: &Evaluation, cands: &[Cand], cuts: &Cuts, g: &Global, i: usize) -> (u64, Hash, u64) {
    assert_eq!(g.skipped, 0, "a checkpoint needs a complete merge");
    let b = cands[i].block.as_ref().expect("valid blocks parse");
    checkpoint_body(
        &eval.master,
        &eval.members,
        b.height,
        b.clock,
        |id| cuts.latest(id, b.height),
        &g.entries,
    )
}

/// The master block appended next after a whole evaluation: its height and clock, and
/// the [`checkpoint_body`] it records as a `checkpoint`. It names every chain's valid head
/// (or they are in its predecessor's past), so every valid block held is in its cut.
pub fn next_checkpoint_body(eval: &Evaluation, cands: &[Cand], g: &Global) -> Option<(u64, u64, (u64, Hash, u64))> {
    assert_eq!(g.skipped, 0, "a checkpoint needs a complete merge");
    let block = |i: usize| cands[i].block.as_ref().expect("valid blocks parse");
    let head = |id: &str| eval.head(id).map(|i| (block(i).height, block(i).clock));
    let (m, _) = head(&eval.master)?;
    let clock = eval.chains.keys().filter_map(|id| head(id)).map(|(_, c)| c).max()? + 1;
    let body = checkpoint_body(&eval.master, &eval.members, m + 1, clock, head, &g.entries);
    Some((m + 1, clock, body))
}

/// Order tail entries by (clock, chain id) after `skipped` final entries whose last
/// running hash is `skipped_head`; entries with clock ≤ the threshold are final.
pub fn extend(
    skipped: usize,
    skipped_head: Hash,
    bounds: BTreeMap<String, u64>,
    anchor: Option<u64>,
    mut tail: Vec<Entry>,
) -> Global {
    let threshold = finality::threshold(&bounds);
    tail.sort_by(|a, b| (a.clock, &a.chain).cmp(&(b.clock, &b.chain)));
    let mut prev = skipped_head;
    let mut final_count = skipped;
    for e in &mut tail {
        e.running = chain_hash(&prev, &e.block_hash);
        prev = e.running;
        if threshold.is_some_and(|t| e.clock <= t) {
            final_count += 1;
        }
    }
    Global {
        skipped,
        skipped_head,
        entries: tail,
        final_count,
        threshold,
        anchor,
        bounds,
    }
}

/// Merge the valid blocks of an evaluation: the final chain is that of the cut of the
/// master's latest valid block M.
pub fn merge(eval: &Evaluation, cands: &[Cand]) -> Global {
    let block = |i: usize| cands[i].block.as_ref().expect("valid blocks parse");
    let anchor = eval.head(&eval.master).map(|i| block(i).height);
    let cuts = Cuts::of(eval, cands);
    let bounds = match anchor {
        Some(m) => bounds(&eval.members, m, |id| cuts.latest(id, m)),
        None => BTreeMap::new(),
    };
    let threshold = finality::threshold(&bounds);
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
        skipped: 0,
        skipped_head: [0u8; 32],
        entries,
        final_count,
        threshold,
        anchor,
        bounds,
    }
}

/// The deterministic text of `merge --out`: identical bytes on every node that holds the
/// same final blocks (and, with tentative entries, the same valid blocks).
pub fn render(g: &Global, include_tentative: bool) -> String {
    assert_eq!(g.skipped, 0, "render needs a complete merge");
    let mut r = Renderer::new(&g.head_hex(), g.final_count, g.tentative().len(), include_tentative);
    for e in &g.entries {
        r.entry(e);
    }
    r.finish()
}

/// Builds the text of [`render`] entry by entry, in global order.
pub struct Renderer {
    text: String,
    n: usize,
    final_count: usize,
    tentative: usize,
    include_tentative: bool,
}

impl Renderer {
    pub fn new(head_hex: &str, final_count: usize, tentative: usize, include_tentative: bool) -> Renderer {
        let mut text = String::from("# secfile global chain v1\n");
        text.push_str(&format!("# head {head_hex} final {final_count}\n"));
        text.push_str("# index clock chain height kind block-hash running-hash\n");
        Renderer {
            text,
            n: 0,
            final_count,
            tentative,
            include_tentative,
        }
    }
    pub fn entry(&mut self, e: &Entry) {
        let n = self.n;
        self.n += 1;
        if n >= self.final_count {
            if !self.include_tentative {
                return;
            }
            if n == self.final_count {
                self.text.push_str(&format!(
                    "# tentative {} (not final: may still be reordered)\n",
                    self.tentative
                ));
            }
        }
        self.text.push_str(&format!(
            "{n} {} {} {} {} {} {}\n",
            e.clock,
            e.chain,
            e.height,
            e.kind,
            digest::hex(&e.block_hash),
            digest::hex(&e.running)
        ));
    }
    pub fn finish(self) -> String {
        self.text
    }
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
