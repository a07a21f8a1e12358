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
use super::rules::NO_ANCHOR;
use super::rules::keys::KeyChange;
use super::validate::{Base, Member, Settled};
use crate::digest::{self, Hash};
use crate::identity::Identity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// v3: with each block's anchor (the master height whose causal past first holds it), and
/// built under the signature rule (DESIGN §5): an older index may count as settled a block
/// whose signature only passed the batch verification used before; it is not read, and is
/// built again.
///
/// v4: members carry their key history (`rekey`, DESIGN §5 "Keys"); a v3 index is rebuilt.
///
/// v5: split in two (issue 11, cost at 1M blocks): `state/index` keeps the metadata and
/// each chain's tail (from its last anchored block on), and `state/index.d/<chain>` each
/// chain's anchored prefix, appended to and read a chunk at a time on demand, each chunk
/// checked against its hash in `state/index`. A v4 index is rebuilt.
///
/// v6: a segment's hash chain is one SHA-256 compression per record (it was a whole
/// SHA-256 of the previous value and the record: two compressions and a finalisation) and a
/// chunk is 1024 records (it was 4096): reading one old block checks 58 KiB, not 232 KiB;
/// the chunk hashes are binary, before each chain's tail records (not hex in the JSON).
const MAGIC: &[u8] = b"secfile settled index v6\n";

/// Bytes of one block's record: hash, clock, master-seen height, anchor, kind code.
pub const REC: usize = 32 + 8 + 8 + 8 + 2;
/// Records per chunk of a segment file (each chunk is read and checked whole: 58 KiB).
const CHUNK: u64 = 1024;
/// Chunks a segment keeps in memory once read (a streaming reader needs one or two).
const CACHED: usize = 8;

/// What the index says of one settled block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rec {
    pub hash: Hash,
    pub clock: u64,
    pub master_seen: u64,
    /// The anchor ([`NO_ANCHOR`]: none yet); never decreasing along a chain.
    pub anchor: u64,
    /// Index into [`Index::kinds`].
    pub kind: u16,
}

impl Rec {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&self.clock.to_le_bytes());
        out.extend_from_slice(&self.master_seen.to_le_bytes());
        out.extend_from_slice(&self.anchor.to_le_bytes());
        out.extend_from_slice(&self.kind.to_le_bytes());
    }
    fn get(b: &[u8]) -> Rec {
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Rec {
            hash: b[..32].try_into().expect("32 bytes"),
            clock: u(32),
            master_seen: u(40),
            anchor: u(48),
            kind: u16::from_le_bytes([b[56], b[57]]),
        }
    }
    pub fn settled(&self) -> Settled {
        Settled {
            master_seen: self.master_seen,
            anchor: self.anchor,
        }
    }
}

/// A segment's hash chain: SHA-256's compression function run over its records, each
/// padded with zeros to one 64-byte block, from SHA-256's initial value; its value after a
/// record is the compression state (32 bytes, big-endian words). A chunk `c` is checked by
/// running the chain over its records from the value at the end of chunk `c - 1`; appending
/// continues from the last value, so a save never reads a segment back. (No length padding
/// is needed: the number of records is fixed by the index that names the chunk.)
fn chain_start() -> Hash {
    chain_value(&[
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ])
}

fn chain_value(state: &[u32; 8]) -> Hash {
    let mut h = [0u8; 32];
    for (o, w) in h.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    h
}

/// The chain's value after `recs` (whole records) from `from`.
fn chain_run(from: &Hash, recs: &[u8]) -> Hash {
    let mut state = [0u32; 8];
    for (w, b) in state.iter_mut().zip(from.chunks_exact(4)) {
        *w = u32::from_be_bytes(b.try_into().expect("4 bytes"));
    }
    let blocks: Vec<[u8; 64]> = recs
        .chunks_exact(REC)
        .map(|r| {
            let mut b = [0u8; 64];
            b[..REC].copy_from_slice(r);
            b
        })
        .collect();
    sha2::block_api::compress256(&mut state, &blocks);
    chain_value(&state)
}

/// A chain's anchored prefix on disk (`state/index.d/<chain>`): records 0..len, read a
/// chunk at a time, each chunk checked against its hash chain before it is believed. The file is
/// opened when the index is read: a segment is only ever appended to beyond what an index
/// names, or replaced whole by a rename, so what this handle reads stays what the index
/// named while another command saves a newer one.
#[derive(Debug)]
struct Segment {
    file: std::fs::File,
    len: u64,
    chunks: Vec<Hash>,
    cache: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
}

impl Segment {
    /// The bytes of chunk `c`, checked; `None` when the file is missing, short or differs.
    fn chunk(&self, c: u64) -> Option<Arc<Vec<u8>>> {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, b)) = cache.iter().find(|(k, _)| *k == c) {
            return Some(b.clone());
        }
        let want = *self.chunks.get(c as usize)?;
        let from = c * CHUNK;
        let to = (from + CHUNK).min(self.len);
        let mut buf = vec![0u8; ((to - from) as usize) * REC];
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut buf, from * REC as u64).ok()?;
        let start = match c {
            0 => chain_start(),
            _ => self.chunks[c as usize - 1],
        };
        if chain_run(&start, &buf) != want {
            return None;
        }
        let b = Arc::new(buf);
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((c, b.clone()));
        Some(b)
    }

    fn rec(&self, h: u64) -> Option<Rec> {
        if h >= self.len {
            return None;
        }
        let b = self.chunk(h / CHUNK)?;
        let i = (h % CHUNK) as usize * REC;
        Some(Rec::get(&b[i..i + REC]))
    }
}

/// One chain's settled blocks, heights 0..len: an anchored prefix on disk (0..stored), the
/// rest in memory (always the head, and every block not anchored yet).
#[derive(Debug, Clone, Default)]
pub struct ChainIndex {
    seg: Option<Arc<Segment>>,
    stored: u64,
    tail: Vec<Rec>,
    /// Heights 1..=final_height are in the final prefix.
    pub final_height: u64,
    /// How many blocks of each kind code.
    counts: Vec<u64>,
}

impl PartialEq for ChainIndex {
    fn eq(&self, o: &Self) -> bool {
        let mut counts = (self.counts.clone(), o.counts.clone());
        let n = counts.0.len().max(counts.1.len());
        counts.0.resize(n, 0);
        counts.1.resize(n, 0);
        self.len() == o.len()
            && self.final_height == o.final_height
            && counts.0 == counts.1
            && (0..self.len()).all(|h| self.rec(h).is_some() && self.rec(h) == o.rec(h))
    }
}

impl ChainIndex {
    pub fn len(&self) -> u64 {
        self.stored + self.tail.len() as u64
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The head's height (chains in the index are never empty).
    pub fn head(&self) -> u64 {
        self.len() - 1
    }
    /// The record at height `h`: `None` beyond the head, or when the segment file holding
    /// it is missing or damaged (the caller then evaluates the whole store).
    pub fn rec(&self, h: u64) -> Option<Rec> {
        match h.checked_sub(self.stored) {
            Some(i) => self.tail.get(i as usize).copied(),
            None => self.seg.as_ref()?.rec(h),
        }
    }
    pub fn hash(&self, h: u64) -> Option<Hash> {
        self.rec(h).map(|r| r.hash)
    }
    /// The head's hash (the head is always in memory).
    pub fn head_hash(&self) -> Hash {
        self.tail.last().expect("a chain in the index holds its head").hash
    }
    /// The first height not anchored yet (`len` when all are); every block from the last
    /// anchored one on is in memory.
    pub fn unanchored(&self) -> u64 {
        self.stored + self.tail.partition_point(|r| r.anchor != NO_ANCHOR) as u64
    }
    /// (height, clock) of the latest block in the cut of master height `m` (a binary search
    /// over the anchors, which never decrease); `None` when a segment read fails.
    pub fn latest_in_cut(&self, m: u64) -> Option<Option<(u64, u64)>> {
        let (mut lo, mut hi) = match self.tail.first() {
            // the answer lies in the tail: no segment read
            Some(r) if r.anchor <= m => (self.stored, self.len()),
            _ => (0, self.stored),
        };
        // the first height whose anchor is above m, in lo..hi
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.rec(mid)?.anchor <= m {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match lo.checked_sub(1) {
            Some(h) => Some(Some((h, self.rec(h)?.clock))),
            None => Some(None),
        }
    }
    /// How many blocks have kind code `k` (nothing is read).
    pub fn count(&self, k: u16) -> u64 {
        self.counts.get(k as usize).copied().unwrap_or(0)
    }
    /// The heights of the blocks with kind code `k`, in order (read only when there are
    /// any); `None` when a segment read fails.
    pub fn heights_of_kind(&self, k: u16) -> Option<Vec<u64>> {
        let want = self.count(k);
        let mut out = Vec::with_capacity(want as usize);
        let mut h = 0;
        while (out.len() as u64) < want && h < self.len() {
            if self.rec(h)?.kind == k {
                out.push(h);
            }
            h += 1;
        }
        Some(out)
    }
    fn push(&mut self, r: Rec) {
        let k = r.kind as usize;
        if self.counts.len() <= k {
            self.counts.resize(k + 1, 0);
        }
        self.counts[k] += 1;
        self.tail.push(r);
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

impl Eq for ChainIndex {}

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
    /// Records in the segment file (the rest follow the metadata).
    stored: u64,
    counts: Vec<u64>,
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

/// What saving an index writes: each segment's new records first (at their offset, or a
/// whole new file), then `state/index` (which names the segments' chunk hashes).
#[derive(Debug)]
pub struct IndexWrite {
    pub meta: Vec<u8>,
    pub segments: Vec<SegWrite>,
}

#[derive(Debug)]
pub struct SegWrite {
    pub chain: String,
    /// Byte offset of `bytes` in the segment file; 0 with `whole`: a new file.
    pub offset: u64,
    pub bytes: Vec<u8>,
    pub whole: bool,
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

    /// The code of a kind, if any settled block has it.
    pub fn kind_code_of(&self, kind: &str) -> Option<u16> {
        self.kinds.iter().position(|k| k == kind).map(|p| p as u16)
    }

    fn kind_code(&mut self, kind: &str) -> u16 {
        match self.kind_code_of(kind) {
            Some(p) => p,
            None => {
                self.kinds.push(kind.to_string());
                (self.kinds.len() - 1) as u16
            }
        }
    }

    /// Append a settled block at the next height of its chain.
    pub fn push(&mut self, chain: &str, hash: Hash, clock: u64, settled: Settled, kind: &str) {
        let kind = self.kind_code(kind);
        self.chains.entry(chain.to_string()).or_default().push(Rec {
            hash,
            clock,
            master_seen: settled.master_seen,
            anchor: settled.anchor,
            kind,
        });
    }

    /// What the index says of a settled block (`None`: a segment read failed).
    pub fn settled(&self, chain: &str, h: u64) -> Option<Settled> {
        Some(self.chains.get(chain)?.rec(h)?.settled())
    }

    /// Record that a settled block is now anchored; false when the block is not one the
    /// index holds unanchored (the caller then evaluates the whole store).
    #[must_use]
    pub fn set_anchor(&mut self, chain: &str, h: u64, anchor: u64) -> bool {
        let Some(c) = self.chains.get_mut(chain) else {
            return false;
        };
        let Some(i) = h.checked_sub(c.stored) else {
            return c
                .seg
                .as_ref()
                .and_then(|s| s.rec(h))
                .is_some_and(|r| r.anchor == anchor);
        };
        match c.tail.get_mut(i as usize) {
            Some(r) => {
                r.anchor = anchor;
                true
            }
            None => false,
        }
    }

    /// The master height M of the final chain: the master's settled head.
    pub fn anchor(&self) -> Option<u64> {
        self.chains.get(&self.master).map(ChainIndex::head)
    }

    /// The finality bounds at M (see [`global::bounds`]); `None` when a segment read fails
    /// (at M every chain's answer is its last anchored block, which is in memory).
    pub fn bounds(&self) -> Option<BTreeMap<String, u64>> {
        let Some(m) = self.anchor() else {
            return Some(Default::default());
        };
        let failed = std::cell::Cell::new(false);
        let b = global::bounds(&self.members, m, |id| {
            let x = self.chains.get(id)?;
            x.latest_in_cut(m).unwrap_or_else(|| {
                failed.set(true);
                None
            })
        });
        (!failed.get()).then_some(b)
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
                            || (*cut_h == x.head() && digest::parse_hash(cut_hash) != Some(x.head_hash())))
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
                hash: digest::hex(&x.head_hash()),
            })
            .collect()
    }

    /// The global entries of the settled blocks that are not final, for a merge to order
    /// with the new ones; `None` when a segment read fails.
    pub fn tentative(&self) -> Option<Vec<Entry>> {
        let mut out = Vec::new();
        for (chain, c) in &self.chains {
            for h in (c.final_height + 1)..c.len() {
                let r = c.rec(h)?;
                out.push(Entry {
                    cand: usize::MAX,
                    clock: r.clock,
                    chain: chain.clone(),
                    height: h,
                    kind: self.kind(r.kind).to_string(),
                    block_hash: r.hash,
                    running: [0; 32],
                });
            }
        }
        Some(out)
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
    /// alone (for `merge --out`): a k-way merge of the chains, whose clocks increase, read
    /// a chunk at a time. `None` when a segment read fails (some entries may have been
    /// given).
    pub fn entries(&self, mut each: impl FnMut(&Entry, bool)) -> Option<()> {
        let mut heap = std::collections::BinaryHeap::new();
        for (chain, c) in &self.chains {
            if c.len() > 1 {
                heap.push(std::cmp::Reverse((c.rec(1)?.clock, chain.as_str(), 1u64)));
            }
        }
        let mut prev = [0u8; 32];
        let mut n = 0u64;
        while let Some(std::cmp::Reverse((clock, chain, h))) = heap.pop() {
            let c = &self.chains[chain];
            let r = c.rec(h)?;
            let running = global::chain_hash(&prev, &r.hash);
            prev = running;
            let e = Entry {
                cand: usize::MAX,
                clock,
                chain: chain.to_string(),
                height: h,
                kind: self.kind(r.kind).to_string(),
                block_hash: r.hash,
                running,
            };
            each(&e, n < self.final_count);
            n += 1;
            if h + 1 < c.len() {
                heap.push(std::cmp::Reverse((c.rec(h + 1)?.clock, chain, h + 1)));
            }
        }
        Some(())
    }

    /// What saving this index writes. Each chain's anchored blocks up to (not including)
    /// its last anchored one move to its segment file: appended after what is there, or
    /// a whole new file when the chain has none yet.
    pub fn encode(&self) -> IndexWrite {
        let mut segments = Vec::new();
        let meta = self
            .encode_with(|s| {
                segments.push(s);
                true
            })
            .expect("the sink takes every segment");
        IndexWrite { meta, segments }
    }

    /// [`Index::encode`], each chain's segment write handed to `sink` as soon as it is
    /// made (so that one chain's at a time is in memory: 58 MB at 1M blocks otherwise);
    /// `None` as soon as the sink says it failed.
    pub fn encode_with(&self, mut sink: impl FnMut(SegWrite) -> bool) -> Option<Vec<u8>> {
        let mut chains = Vec::new();
        let mut tails = Vec::new();
        for (id, c) in &self.chains {
            let keep_from = c.unanchored().saturating_sub(1).min(c.head()).max(c.stored);
            let mut chunks: Vec<Hash> = c.seg.as_ref().map_or(Vec::new(), |s| s.chunks.clone());
            if keep_from > c.stored {
                let mut bytes = Vec::with_capacity((keep_from - c.stored) as usize * REC);
                for r in &c.tail[..(keep_from - c.stored) as usize] {
                    r.put(&mut bytes);
                }
                // the hash chain goes on from the last value: nothing is read back
                let mut v = chunks.last().copied().unwrap_or_else(chain_start);
                let mut h = c.stored;
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let n = ((CHUNK - h % CHUNK) as usize).min(rest.len() / REC);
                    let (run, more) = rest.split_at(n * REC);
                    v = chain_run(&v, run);
                    let at = (h / CHUNK) as usize;
                    match chunks.len() == at {
                        true => chunks.push(v),
                        false => chunks[at] = v,
                    }
                    h += n as u64;
                    rest = more;
                }
                if !sink(SegWrite {
                    chain: id.clone(),
                    offset: c.stored * REC as u64,
                    bytes,
                    whole: c.stored == 0,
                }) {
                    return None;
                }
            }
            chains.push(ChainMeta {
                id: id.clone(),
                len: c.len(),
                stored: keep_from,
                counts: c.counts.clone(),
                final_height: c.final_height,
            });
            tails.push((chunks, &c.tail[(keep_from - c.stored) as usize..]));
        }
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
            chains,
            final_count: self.final_count,
            head: digest::hex(&self.head),
        };
        let total: usize = tails.iter().map(|(h, t)| h.len() * 32 + t.len() * REC).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 4096 + total + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&serde_json::to_vec(&meta).expect("index metadata serialises"));
        out.push(b'\n');
        for (hashes, t) in tails {
            for h in hashes {
                out.extend_from_slice(&h);
            }
            for r in t {
                r.put(&mut out);
            }
        }
        let sum = digest::sha256(&out);
        out.extend_from_slice(&sum);
        Some(out)
    }

    /// Parse `state/index`, its segments in `dir` (read later, a chunk at a time, each
    /// checked then); anything damaged or of another version gives `None` (the index is
    /// then rebuilt).
    pub fn decode(bytes: &[u8], dir: &Path) -> Option<Index> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if digest::sha256(body) != *sum {
            return None;
        }
        let rest = body.strip_prefix(MAGIC)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let meta: Meta = serde_json::from_slice(&rest[..nl]).ok()?;
        let mut data = &rest[nl + 1..];
        let mut chains = BTreeMap::new();
        for c in &meta.chains {
            if c.stored >= c.len || c.final_height >= c.len || !crate::subchain::is_node_id(&c.id) {
                return None;
            }
            let k = usize::try_from(c.stored.div_ceil(CHUNK)).ok()?;
            let (h, more) = data.split_at_checked(k.checked_mul(32)?)?;
            let chunks: Vec<Hash> = h.chunks_exact(32).map(|h| h.try_into().expect("32 bytes")).collect();
            let n = usize::try_from(c.len - c.stored).ok()?;
            let (t, more) = more.split_at_checked(n.checked_mul(REC)?)?;
            data = more;
            let tail: Vec<Rec> = t.chunks_exact(REC).map(Rec::get).collect();
            if tail.iter().any(|r| r.kind as usize >= meta.kinds.len())
                || c.counts.len() > meta.kinds.len()
                || c.counts.iter().sum::<u64>() != c.len
            {
                return None;
            }
            // a segment that is missing or shorter than named makes the index unreadable
            // now (rebuilt), not later
            let seg = match c.stored {
                0 => None,
                n => {
                    let file = std::fs::File::open(dir.join(&c.id)).ok()?;
                    if !file.metadata().ok()?.is_file() || file.metadata().ok()?.len() < n.checked_mul(REC as u64)? {
                        return None;
                    }
                    Some(Arc::new(Segment {
                        file,
                        len: n,
                        chunks,
                        cache: Mutex::new(Vec::new()),
                    }))
                }
            };
            let ci = ChainIndex {
                seg,
                stored: c.stored,
                tail,
                final_height: c.final_height,
                counts: c.counts.clone(),
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

/// Write what [`Index::encode`] gave: the segments first, then `state/index` (`path`), so
/// that a crash between leaves the old index naming only records that were there. Best
/// effort: on any failure the index is removed (the next command builds it again).
pub fn save(path: &Path, dir: &Path, w: &IndexWrite) -> bool {
    let ok =
        w.segments.iter().all(|s| write_segment(dir, s).is_ok()) && crate::home::write_cache(path, &w.meta).is_ok();
    if !ok {
        let _ = std::fs::remove_file(path);
    }
    ok
}

/// Encode and [`save`] `ix`, each segment written as soon as it is encoded (one chain's
/// records in memory at a time, not every chain's).
pub fn save_index(path: &Path, dir: &Path, ix: &Index) -> bool {
    let ok = match ix.encode_with(|s| write_segment(dir, &s).is_ok()) {
        Some(meta) => crate::home::write_cache(path, &meta).is_ok(),
        None => false,
    };
    if !ok {
        let _ = std::fs::remove_file(path);
    }
    ok
}

fn write_segment(dir: &Path, s: &SegWrite) -> std::io::Result<()> {
    use std::io::Write;
    let p = dir.join(&s.chain);
    if s.whole {
        crate::home::write_cache(&p, &s.bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    } else {
        let mut f = std::fs::OpenOptions::new().write(true).open(&p)?;
        std::os::unix::fs::FileExt::write_all_at(&f, &s.bytes, s.offset)?;
        f.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(m: u64, a: u64) -> Settled {
        Settled {
            master_seen: m,
            anchor: a,
        }
    }

    fn saved(ix: &Index, dir: &Path) -> Vec<u8> {
        let w = ix.encode();
        assert!(save(&dir.join("index"), &dir.join("index.d"), &w));
        std::fs::read(dir.join("index")).unwrap()
    }

    #[test]
    fn round_trip_and_damage_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut ix = Index {
            master: "0123456789abcdef".into(),
            ..Index::default()
        };
        ix.push("0123456789abcdef", [1; 32], 0, s(0, 0), "genesis");
        ix.push("0123456789abcdef", [2; 32], 1, s(1, 1), "admit");
        ix.push("fedcba9876543210", [3; 32], 0, s(0, NO_ANCHOR), "genesis");
        ix.chains.get_mut("0123456789abcdef").unwrap().final_height = 1;
        ix.final_count = 1;
        ix.head = [9; 32];
        let bytes = saved(&ix, d.path());
        let dir = d.path().join("index.d");
        assert_eq!(Index::decode(&bytes, &dir), Some(ix.clone()));
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(Index::decode(&bytes[..cut], &dir), None, "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 3] ^= 1;
        assert_eq!(Index::decode(&flipped, &dir), None);
        assert_eq!(ix.tentative().unwrap().len(), 0);
        let mut seen = Vec::new();
        ix.entries(|e, fin| seen.push((e.chain.clone(), e.height, fin)))
            .unwrap();
        assert_eq!(seen, vec![("0123456789abcdef".to_string(), 1, true)]);
    }

    /// Many blocks over several saves: the anchored prefix goes to the segment a chunk
    /// at a time (appended, the partial last chunk re-hashed), every record reads back,
    /// the fast searches agree with the plain ones, and a damaged segment is refused (at
    /// decode when it is short, at the read when a byte differs).
    #[test]
    fn segment_chain_is_sha256_compression() {
        // one record [0x80, 0...] padded with zeros is exactly the padding block of the
        // empty message: from the initial value, the chain gives SHA-256("")
        let mut rec = [0u8; REC];
        rec[0] = 0x80;
        assert_eq!(chain_run(&chain_start(), &rec), digest::sha256(b""));
        // and runs compose: a chunk checked in one go equals one appended record by record
        let recs: Vec<u8> = (0..REC * 5).map(|i| (i * 7) as u8).collect();
        let stepwise = recs.chunks_exact(REC).fold(chain_start(), |v, r| chain_run(&v, r));
        assert_eq!(chain_run(&chain_start(), &recs), stepwise);
        assert_ne!(chain_run(&chain_start(), &recs[..REC * 4]), stepwise);
    }

    #[test]
    fn segments_append_read_back_and_refuse_damage() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("index.d");
        let (m, c) = ("0123456789abcdef", "fedcba9876543210");
        let mut ix = Index {
            master: m.into(),
            ..Index::default()
        };
        let mut want: Vec<Rec> = Vec::new();
        let mut bytes = Vec::new();
        let kinds = ["note", "issue", "op"];
        for round in 0..5u64 {
            // a stored index is read back before more is pushed, as commands do
            if round > 0 {
                ix = Index::decode(&bytes, &dir).expect("decodes");
            }
            let n = want.len() as u64;
            // the previous round's unanchored blocks are anchored now (before any block
            // after them: anchors never decrease along a chain)
            if let Some(x) = ix.chains.get(c) {
                for h in x.unanchored()..n {
                    assert!(ix.set_anchor(c, h, h / 3));
                }
            }
            for h in n..n + 3000 + round * 1000 {
                ix.push(m, [h as u8; 32], 2 * h, s(h, h), "note");
                let anchor = if h + 700 > n + 3000 + round * 1000 {
                    NO_ANCHOR
                } else {
                    h / 3
                };
                let kind = kinds[(h % 3) as usize];
                ix.push(c, digest::sha256(&h.to_le_bytes()), 2 * h + 1, s(h, anchor), kind);
            }
            want = (0..ix.chains[c].len()).map(|h| ix.chains[c].rec(h).unwrap()).collect();
            bytes = saved(&ix, d.path());
            let back = Index::decode(&bytes, &dir).expect("decodes");
            assert_eq!(back, ix);
            let x = &back.chains[c];
            assert!(x.stored > 0 && x.stored < x.len());
            for (h, r) in want.iter().enumerate() {
                assert_eq!(x.rec(h as u64), Some(*r), "round {round} height {h}");
            }
            let anchors: Vec<u64> = want.iter().map(|r| r.anchor).collect();
            for probe in [0, 1, 5, 100, 1000, 5000, u64::MAX - 1] {
                let plain =
                    super::super::rules::finality::latest_in_cut(&anchors, probe).map(|h| (h, want[h as usize].clock));
                assert_eq!(x.latest_in_cut(probe), Some(plain), "probe {probe}");
            }
            for (k, name) in kinds.iter().enumerate() {
                let code = back.kind_code_of(name).unwrap();
                let plain: Vec<u64> = (0..want.len() as u64).filter(|h| h % 3 == k as u64).collect();
                assert_eq!(x.count(code), plain.len() as u64);
                assert_eq!(x.heights_of_kind(code), Some(plain));
            }
            // a stored block cannot be re-anchored elsewhere
            assert!(!back.clone().set_anchor(c, 0, 12345));
        }
        // damage: a short segment is refused when read, a flipped byte when its chunk is
        let seg = dir.join(c);
        let good = std::fs::read(&seg).unwrap();
        std::fs::write(&seg, &good[..good.len() - 1]).unwrap();
        assert_eq!(Index::decode(&bytes, &dir), None);
        std::fs::remove_file(&seg).unwrap();
        assert_eq!(Index::decode(&bytes, &dir), None);
        let mut bad = good.clone();
        bad[REC * 5000 + 3] ^= 1;
        std::fs::write(&seg, &bad).unwrap();
        let back = Index::decode(&bytes, &dir).expect("the length is right");
        assert_eq!(back.chains[c].rec(10), Some(want[10]), "another chunk reads");
        assert_eq!(back.chains[c].rec(5000), None, "the damaged chunk does not");
        assert_eq!(back.entries(|_, _| {}), None);
    }
}
