//! The settled index (`state/index`): what a node decided about the blocks of `chains/`
//! the last time it evaluated them all cleanly, so that `merge` and `sync export` cost in
//! proportion to the new blocks, not to the history.
//!
//! Per chain and height it keeps the block hash, clock, master-seen height, anchor (the
//! lowest master height whose causal past holds the block) and kind (~58 bytes a block):
//! the anchors never decrease along a chain, so the cut of any master block M — each
//! chain's latest block anchored at or below M — is one binary search per chain, and the
//! finality threshold of M needs nothing else. Blocks not anchored yet (the tail since the
//! master last saw each chain) are read back from `chains/` by the next merge, which walks
//! the causal past of the new master blocks through them. Besides, the roster and the merge of the final prefix (its count,
//! its head, and each chain's last final height). Every block it lists was valid in
//! `chains/` with no fork evidence, so later blocks can only extend it: validity never
//! changes for a block whose chain is neither forked nor cut by a removal, and those two
//! cases make the node evaluate everything again.
//!
//! Like the signature cache it is derived: deleting `state/` costs time, never data.
//! `verify` never reads it; it rewrites it after a clean run. Pure: encode and decode
//! here; the node reads and writes it.
use super::global::{self, Entry, Global};
use super::rules::keys::KeyChange;
use super::rules::{NO_ANCHOR, finality};
use super::validate::{Base, Member, Settled};
use crate::digest::{self, Hash};
use crate::identity::Identity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// v3: with each block's anchor (the master height whose causal past first holds it), and
/// built under the signature rule (DESIGN §5): an older index may count as settled a block
/// whose signature only passed the batch verification used before; it is not read, and is
/// built again.
///
/// v4: members carry their key history (`rekey`, DESIGN §5 "Keys"); a v3 index is rebuilt.
const MAGIC: &[u8] = b"secfile settled index v4\n";

/// One chain's settled blocks, heights 0..len.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainIndex {
    pub hashes: Vec<Hash>,
    pub clocks: Vec<u64>,
    pub master_seen: Vec<u64>,
    /// The anchor of each block ([`NO_ANCHOR`]: none yet); never decreasing.
    pub anchors: Vec<u64>,
    /// Index into [`Index::kinds`].
    pub kinds: Vec<u16>,
    /// Heights 1..=final_height are in the final prefix.
    pub final_height: u64,
}

impl ChainIndex {
    pub fn len(&self) -> u64 {
        self.hashes.len() as u64
    }
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
    /// The head's height (chains in the index are never empty).
    pub fn head(&self) -> u64 {
        self.len() - 1
    }
    /// The first height not anchored yet (`len` when all are).
    pub fn unanchored(&self) -> u64 {
        self.anchors.partition_point(|&a| a != NO_ANCHOR) as u64
    }
    /// (height, clock) of the latest block in the cut of master height `m`.
    pub fn latest_in_cut(&self, m: u64) -> Option<(u64, u64)> {
        finality::latest_in_cut(&self.anchors, m).map(|h| (h, self.clocks[h as usize]))
    }
}

/// The settled index of a home.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub master: String,
    pub kinds: Vec<String>,
    pub chains: BTreeMap<String, ChainIndex>,
    pub members: BTreeMap<String, Member>,
    /// How many global entries are final, and the running hash of the last one.
    pub final_count: u64,
    pub head: Hash,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberMeta {
    identity: Identity,
    admitted_at: u64,
    admit_clock: u64,
    card: String,
    removed: Option<(u64, String, u64)>,
    keys: Vec<KeyChange>,
    master_saw: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainMeta {
    id: String,
    len: u64,
    final_height: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    master: String,
    kinds: Vec<String>,
    members: Vec<MemberMeta>,
    chains: Vec<ChainMeta>,
    final_count: u64,
    head: String,
}

impl Index {
    /// The base an incremental evaluation starts from.
    pub fn base(&self) -> Base {
        Base {
            members: self.members.clone(),
            heads: self.chains.iter().map(|(c, x)| (c.clone(), x.head())).collect(),
        }
    }

    /// How many blocks are settled.
    pub fn len(&self) -> u64 {
        self.chains.values().map(ChainIndex::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    pub fn kind(&self, k: u16) -> &str {
        self.kinds.get(k as usize).map_or("?", String::as_str)
    }

    fn kind_code(&mut self, kind: &str) -> u16 {
        match self.kinds.iter().position(|k| k == kind) {
            Some(p) => p as u16,
            None => {
                self.kinds.push(kind.to_string());
                (self.kinds.len() - 1) as u16
            }
        }
    }

    /// Append a settled block at the next height of its chain.
    pub fn push(&mut self, chain: &str, hash: Hash, clock: u64, settled: Settled, kind: &str) {
        let k = self.kind_code(kind);
        let c = self.chains.entry(chain.to_string()).or_default();
        c.hashes.push(hash);
        c.clocks.push(clock);
        c.master_seen.push(settled.master_seen);
        c.anchors.push(settled.anchor);
        c.kinds.push(k);
    }

    /// What the index says of a settled block.
    pub fn settled(&self, chain: &str, h: u64) -> Settled {
        let c = &self.chains[chain];
        Settled {
            master_seen: c.master_seen[h as usize],
            anchor: c.anchors[h as usize],
        }
    }

    /// Record that a settled block is now anchored.
    pub fn set_anchor(&mut self, chain: &str, h: u64, anchor: u64) {
        if let Some(a) = self.chains.get_mut(chain).and_then(|c| c.anchors.get_mut(h as usize)) {
            *a = anchor;
        }
    }

    /// The master height M of the final chain: the master's settled head.
    pub fn anchor(&self) -> Option<u64> {
        self.chains.get(&self.master).map(ChainIndex::head)
    }

    /// The finality bounds at M (see [`global::bounds`]).
    pub fn bounds(&self) -> std::collections::BTreeMap<String, u64> {
        match self.anchor() {
            Some(m) => global::bounds(&self.members, m, |id| {
                self.chains.get(id).and_then(|x| x.latest_in_cut(m))
            }),
            None => Default::default(),
        }
    }

    /// True when `members` (a roster evaluated against this index) rewrites settled
    /// history, so the whole store must be evaluated: a new removal whose cutoff lies below a
    /// settled block (or at the settled head but another block), or a new rotation whose
    /// `from` lies at or below a settled block of that chain (it would judge that block
    /// under other keys).
    pub fn rewritten_by(&self, members: &BTreeMap<String, Member>) -> bool {
        members.iter().any(|(id, m)| {
            let Some(x) = self.chains.get(id) else { return false };
            let was = self.members.get(id);
            let removal = match &m.removed {
                Some((cut_h, cut_hash, _)) => {
                    was.and_then(|m| m.removed.as_ref()).is_none()
                        && (*cut_h < x.head()
                            || (*cut_h == x.head()
                                && digest::parse_hash(cut_hash) != Some(x.hashes[x.head() as usize])))
                }
                None => false,
            };
            let known = was.map_or(0, |w| w.keys.len());
            removal || m.keys.iter().skip(known.max(1)).any(|k| k.from <= x.head())
        })
    }

    /// Every chain's settled head, as a frontier says it.
    pub fn frontier(&self) -> Vec<crate::subchain::SeenRef> {
        self.chains
            .iter()
            .map(|(c, x)| crate::subchain::SeenRef {
                chain: c.clone(),
                height: x.head(),
                hash: digest::hex(&x.hashes[x.head() as usize]),
            })
            .collect()
    }

    /// The global entries of the settled blocks that are not final, for a merge to order
    /// with the new ones.
    pub fn tentative(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        for (chain, c) in &self.chains {
            for h in (c.final_height + 1)..c.len() {
                let i = h as usize;
                out.push(Entry {
                    cand: usize::MAX,
                    clock: c.clocks[i],
                    chain: chain.clone(),
                    height: h,
                    kind: self.kind(c.kinds[i]).to_string(),
                    block_hash: c.hashes[i],
                    running: [0; 32],
                });
            }
        }
        out
    }

    /// Record a merge's final prefix: its count, head and each chain's last final height.
    pub fn set_final(&mut self, g: &Global) {
        self.final_count = g.final_count as u64;
        self.head = g.head();
        for e in g.final_entries() {
            if let Some(c) = self.chains.get_mut(&e.chain) {
                c.final_height = c.final_height.max(e.height);
            }
        }
    }

    /// Every entry of the global chain in order, final ones first, from the settled blocks
    /// alone (for `merge --out`): a k-way merge of the chains, whose clocks increase.
    pub fn entries(&self, mut each: impl FnMut(&Entry, bool)) {
        let mut heap = std::collections::BinaryHeap::new();
        for (chain, c) in &self.chains {
            if c.len() > 1 {
                heap.push(std::cmp::Reverse((c.clocks[1], chain.as_str(), 1u64)));
            }
        }
        let mut prev = [0u8; 32];
        let mut n = 0u64;
        while let Some(std::cmp::Reverse((clock, chain, h))) = heap.pop() {
            let c = &self.chains[chain];
            let i = h as usize;
            let running = global::chain_hash(&prev, &c.hashes[i]);
            prev = running;
            let e = Entry {
                cand: usize::MAX,
                clock,
                chain: chain.to_string(),
                height: h,
                kind: self.kind(c.kinds[i]).to_string(),
                block_hash: c.hashes[i],
                running,
            };
            each(&e, n < self.final_count);
            n += 1;
            if h + 1 < c.len() {
                heap.push(std::cmp::Reverse((c.clocks[i + 1], chain, h + 1)));
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let meta = Meta {
            master: self.master.clone(),
            kinds: self.kinds.clone(),
            members: self
                .members
                .values()
                .map(|m| MemberMeta {
                    identity: m.identity.clone(),
                    admitted_at: m.admitted_at,
                    admit_clock: m.admit_clock,
                    card: m.card.clone(),
                    removed: m.removed.clone(),
                    keys: m.keys.clone(),
                    master_saw: m.master_saw,
                })
                .collect(),
            chains: self
                .chains
                .iter()
                .map(|(id, c)| ChainMeta {
                    id: id.clone(),
                    len: c.len(),
                    final_height: c.final_height,
                })
                .collect(),
            final_count: self.final_count,
            head: digest::hex(&self.head),
        };
        let total: usize = self.chains.values().map(|c| c.hashes.len() * 58).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 4096 + total + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&serde_json::to_vec(&meta).expect("index metadata serialises"));
        out.push(b'\n');
        for c in self.chains.values() {
            for h in &c.hashes {
                out.extend_from_slice(h);
            }
            for x in &c.clocks {
                out.extend_from_slice(&x.to_le_bytes());
            }
            for x in &c.master_seen {
                out.extend_from_slice(&x.to_le_bytes());
            }
            for x in &c.anchors {
                out.extend_from_slice(&x.to_le_bytes());
            }
            for x in &c.kinds {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        let sum = digest::sha256(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Parse stored bytes; anything damaged or of another version gives `None` (the index
    /// is then rebuilt).
    pub fn decode(bytes: &[u8]) -> Option<Index> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if digest::sha256(body) != *sum {
            return None;
        }
        let rest = body.strip_prefix(MAGIC)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let meta: Meta = serde_json::from_slice(&rest[..nl]).ok()?;
        let mut data = &rest[nl + 1..];
        let mut take = |n: usize| -> Option<&[u8]> {
            let (a, b) = data.split_at_checked(n)?;
            data = b;
            Some(a)
        };
        let u64s = |b: &[u8]| -> Vec<u64> {
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        let mut chains = BTreeMap::new();
        for c in &meta.chains {
            let n = usize::try_from(c.len).ok().filter(|&n| n > 0)?;
            let hashes = take(n.checked_mul(32)?)?
                .chunks_exact(32)
                .map(|h| h.try_into().expect("32 bytes"))
                .collect();
            let clocks = u64s(take(n * 8)?);
            let master_seen = u64s(take(n * 8)?);
            let anchors = u64s(take(n * 8)?);
            let kinds: Vec<u16> = take(n * 2)?
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            if kinds.iter().any(|&k| k as usize >= meta.kinds.len()) || c.final_height >= c.len {
                return None;
            }
            let ci = ChainIndex {
                hashes,
                clocks,
                master_seen,
                anchors,
                kinds,
                final_height: c.final_height,
            };
            chains.insert(c.id.clone(), ci);
        }
        if !data.is_empty() {
            return None;
        }
        if meta.members.iter().any(|m| m.keys.is_empty()) {
            return None;
        }
        let members = meta
            .members
            .into_iter()
            .map(|m| {
                (
                    m.identity.id.clone(),
                    Member {
                        identity: m.identity,
                        admitted_at: m.admitted_at,
                        admit_clock: m.admit_clock,
                        card: m.card,
                        removed: m.removed,
                        keys: m.keys,
                        master_saw: m.master_saw,
                    },
                )
            })
            .collect();
        Some(Index {
            master: meta.master,
            kinds: meta.kinds,
            chains,
            members,
            final_count: meta.final_count,
            head: digest::parse_hash(&meta.head)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_refused() {
        let mut ix = Index {
            master: "0123456789abcdef".into(),
            ..Index::default()
        };
        let s = |m, a| Settled {
            master_seen: m,
            anchor: a,
        };
        ix.push("0123456789abcdef", [1; 32], 0, s(0, 0), "genesis");
        ix.push("0123456789abcdef", [2; 32], 1, s(1, 1), "admit");
        ix.push("fedcba9876543210", [3; 32], 0, s(0, NO_ANCHOR), "genesis");
        ix.chains.get_mut("0123456789abcdef").unwrap().final_height = 1;
        ix.final_count = 1;
        ix.head = [9; 32];
        let bytes = ix.encode();
        assert_eq!(Index::decode(&bytes), Some(ix.clone()));
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(Index::decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 3] ^= 1;
        assert_eq!(Index::decode(&flipped), None);
        assert_eq!(ix.tentative().len(), 0);
        let mut seen = Vec::new();
        ix.entries(|e, fin| seen.push((e.chain.clone(), e.height, fin)));
        assert_eq!(seen, vec![("0123456789abcdef".to_string(), 1, true)]);
    }
}
