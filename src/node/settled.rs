//! Loading through the settled index (`state/index`, see [`crate::merge::index`]): only the
//! block files beyond it (and `pending/`) are read, checked and evaluated, against
//! stand-ins for the settled blocks they refer to. New files are found by probing the
//! heights after each settled head, and each settled head file is re-hashed: the files
//! below are trusted as `verify` left them (as git trusts its index; `verify` re-reads
//! everything and drops the index when anything is wrong). Anything out of the ordinary —
//! fork evidence, a removal below a settled block, a new block that is not valid, a
//! layout problem — falls back to evaluating the whole store.
//!
//! Without an index, it is built from `chains/` a batch at a time in clock order
//! ([`Node::build_index`]), so memory does not grow with the history.
use super::{Deferred, Node, State};
use crate::digest;
use crate::error::Result;
use crate::home::write_cache;
use crate::merge::global::{self, Global};
use crate::merge::index::Index;
use crate::merge::sigcache::SigCache;
use crate::merge::validate::{NO_ANCHOR, Settled};
use crate::merge::{Cand, Evaluation, Status, evaluate_on};
use crate::par::par_map;
use crate::subchain::store::{self, Place};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

/// A store loaded for `merge` and `sync export`.
pub struct Loaded {
    /// The blocks evaluated: the whole store, or only what is new beyond the index (with
    /// stand-ins for settled blocks). Its roster is always complete.
    pub st: State,
    /// The settled index, up to date, when the store is clean (every valid block is in it);
    /// `None` when something needs the whole evaluation (forks, invalid blocks…).
    pub index: Option<Index>,
    /// The global chain: complete when `index` is `None`, else the entries after the
    /// final prefix the index already held.
    pub global: Global,
}

impl Loaded {
    /// The text of `merge --out` (see [`global::render`]), from the index when the merge
    /// skipped its final prefix (the whole store when a segment of it cannot be read).
    pub fn render(&self, node: &Node, include_tentative: bool) -> Result<String> {
        let g = &self.global;
        if let Some(ix) = self.index.as_ref().filter(|_| g.skipped > 0) {
            let mut r = global::Renderer::new(&g.head_hex(), g.final_count, g.tentative().len(), include_tentative);
            if ix.entries(|e, _| r.entry(e)).is_some() {
                return Ok(r.finish());
            }
            let st = node.load()?;
            return Ok(global::render(&global::merge(&st.eval, &st.cands), include_tentative));
        }
        Ok(global::render(g, include_tentative))
    }
}

impl Node {
    fn index_path(&self) -> PathBuf {
        self.home.state_dir().join("index")
    }

    /// Where the index keeps each chain's anchored prefix (`state/index.d/<chain>`).
    fn index_dir(&self) -> PathBuf {
        self.home.state_dir().join("index.d")
    }

    /// The store, through the settled index when it can be trusted to extend; the index
    /// is refreshed (best effort) when it changed.
    pub fn load_settled(&self) -> Result<Loaded> {
        let stored = std::fs::read(self.index_path())
            .ok()
            .and_then(|b| Index::decode(&b, &self.index_dir()));
        if let Some(ix) = stored {
            if let Some(l) = self.load_onto(ix)? {
                return Ok(l);
            }
        } else if !self.unclean_path().exists() {
            // first time (or an index damaged, or of an older version): build the index in
            // clock order, a batch at a time, so memory does not grow with the history
            if let Some(ix) = self.build_index()? {
                self.save_index(&ix);
                if let Some(l) = self.load_onto(ix)? {
                    return Ok(l);
                }
            }
        }
        let st = self.load()?;
        let global = global::merge(&st.eval, &st.cands);
        let index = index_of(&self.master_card.identity.id, self.id(), &st, &global);
        match &index {
            Some(ix) => self.save_index(ix),
            None => self.drop_index(),
        }
        Ok(Loaded { st, index, global })
    }

    /// The store for a command that reads it: through the settled index when it can be
    /// trusted to extend ([`State::view`] set: only what is new is evaluated), else the
    /// whole store. Either way the command must give the same result (tests/view.rs
    /// compares them).
    pub fn load_view(&self) -> Result<State> {
        self.defer_caches();
        let l = self.load_settled()?;
        let mut st = l.st;
        if let Some(index) = l.index {
            if st.cands.iter().any(|c| c.settled.is_some()) {
                st.view = Some(Box::new(super::View {
                    index,
                    global: l.global,
                }));
            }
        }
        Ok(st)
    }

    /// Settled blocks read back from `chains/`, in the order asked, each checked against
    /// the hash the index holds; `None` when any is missing or differs (the caller then
    /// evaluates the whole store, which says what is wrong).
    pub fn settled_blocks(
        &self,
        ix: &Index,
        at: &[(String, u64)],
    ) -> Option<Vec<(crate::subchain::Block, crate::digest::Hash)>> {
        let home = &self.home;
        // the hash is checked against the index; the signature is not needed
        let read = |(chain, h): (String, u64)| read_block_with(home, chain, h, false).ok().flatten();
        let mut out = Vec::with_capacity(at.len());
        for c in par_map(at.to_vec(), read) {
            let c = c?;
            let want = ix.chains.get(c.chain())?.hash(c.height())?;
            if want != c.hash {
                return None;
            }
            let hash = c.hash;
            out.push((c.block.ok()?, hash));
        }
        Some(out)
    }

    /// The valid blocks of one chain of a given kind, in height order: from the state when
    /// it is whole, else the index says which heights to read back.
    pub fn blocks_of_kind(&self, st: &State, chain: &str, kind: &str) -> Result<Vec<crate::subchain::Block>> {
        let Some(v) = st.view.as_deref() else {
            let seq = st.eval.chains.get(chain).map_or(&[][..], Vec::as_slice);
            return Ok(seq
                .iter()
                .map(|&i| st.block(i))
                .filter(|b| b.kind == kind)
                .cloned()
                .collect());
        };
        let mut at = Vec::new();
        let mut settled_len = 0;
        if let Some(x) = v.index.chains.get(chain) {
            settled_len = x.len();
            if let Some(k) = v.index.kind_code_of(kind) {
                match x.heights_of_kind(k) {
                    Some(hs) => at = hs.into_iter().map(|h| (chain.to_string(), h)).collect(),
                    None => return self.blocks_of_kind(&self.load()?, chain, kind),
                }
            }
        }
        let mut out: Vec<crate::subchain::Block> = match self.settled_blocks(&v.index, &at) {
            Some(b) => b.into_iter().map(|(b, _)| b).collect(),
            None => return self.blocks_of_kind(&self.load()?, chain, kind),
        };
        // blocks made since the load (a transaction's own)
        let seq = st.eval.chains.get(chain).map_or(&[][..], Vec::as_slice);
        out.extend(
            seq.iter()
                .map(|&i| st.block(i))
                .filter(|b| b.height >= settled_len && b.kind == kind)
                .cloned(),
        );
        Ok(out)
    }

    /// How many valid blocks of one chain are of a given kind (from the index's kinds when
    /// the state is a view: nothing is read).
    pub fn count_of_kind(&self, st: &State, chain: &str, kind: &str) -> usize {
        let seq = st.eval.chains.get(chain).map_or(&[][..], Vec::as_slice);
        let Some(v) = st.view.as_deref() else {
            return seq.iter().filter(|&&i| st.block(i).kind == kind).count();
        };
        let x = v.index.chains.get(chain);
        let settled = match (x, v.index.kind_code_of(kind)) {
            (Some(x), Some(k)) => x.count(k) as usize,
            _ => 0,
        };
        let len = x.map_or(0, |x| x.len());
        settled
            + seq
                .iter()
                .map(|&i| st.block(i))
                .filter(|b| b.height >= len && b.kind == kind)
                .count()
    }

    /// Where a whole evaluation records that the store is not clean (forks, invalid
    /// blocks…): the next loads evaluate the whole store at once instead of first trying,
    /// and failing, to build an index batch by batch.
    fn unclean_path(&self) -> PathBuf {
        self.home.state_dir().join("index.none")
    }

    /// Keep an index (best effort: a read-only home only costs the next command time).
    pub fn save_index(&self, ix: &Index) {
        // encoded when written: a reading command, which writes no cache, never pays for it
        self.cache_write(Deferred::Index(Box::new(ix.clone())));
    }

    /// Hold cache writes back until [`Node::flush_caches`] (a command that may still be
    /// refused after it loaded the store: [`Node::load_view`] sets it).
    pub fn defer_caches(&self) {
        let mut d = self.deferred.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if d.is_none() {
            *d = Some(Vec::new());
        }
    }

    /// Write a cache now, or queue it when writes are held back.
    pub(crate) fn cache_write(&self, w: Deferred) {
        if let Some(q) = self
            .deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            // only the last index queued is written: an earlier one is dropped at once (at
            // 1M blocks each is ~64 MB in memory)
            if matches!(w, Deferred::Index(_)) {
                q.retain(|d| !matches!(d, Deferred::Index(_)));
            }
            q.push(w);
            return;
        }
        self.write_now(w);
    }

    /// Write the caches held back: the command succeeded (a Tx committed, or a reading
    /// command is done). Best effort, as every cache write.
    pub fn flush_caches(&self) {
        let q = self
            .deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
            .map(std::mem::take);
        for w in q.into_iter().flatten() {
            self.write_now(w);
        }
    }

    fn write_now(&self, w: Deferred) {
        match w {
            Deferred::Index(ix) => {
                if crate::merge::index::save_index(&self.index_path(), &self.index_dir(), &ix) {
                    let _ = std::fs::remove_file(self.unclean_path());
                }
            }
            Deferred::DropIndex => {
                let _ = write_cache(&self.unclean_path(), b"");
                let _ = std::fs::remove_file(self.index_path());
                let _ = std::fs::remove_file(self.home.state_dir().join("files"));
            }
            Deferred::SigKeys(keys) => self.add_to_sig_cache_now(&keys),
            Deferred::SigCache(bytes) => {
                let _ = write_cache(&self.sig_cache_file(), &bytes);
            }
            Deferred::Files(bytes) => {
                let _ = write_cache(&self.home.state_dir().join("files"), &bytes);
            }
        }
    }

    fn sig_cache_file(&self) -> PathBuf {
        self.home.state_dir().join("sigcache")
    }

    /// Add keys to the stored signature cache by appending (best effort).
    fn add_to_sig_cache(&self, keys: &[crate::digest::Hash]) {
        self.cache_write(Deferred::SigKeys(keys.to_vec()));
    }

    fn add_to_sig_cache_now(&self, keys: &[crate::digest::Hash]) {
        use std::io::{Read, Write};
        let p = self.sig_cache_file();
        let appendable = std::fs::File::open(&p).ok().is_some_and(|mut f| {
            let mut head = vec![0u8; SigCache::magic_len()];
            let len = f.metadata().map_or(0, |m| m.len());
            len >= head.len() as u64 && f.read_exact(&mut head).is_ok() && SigCache::appendable(&head, len)
        });
        if appendable {
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&p) {
                let _ = f.write_all(&SigCache::append_bytes(keys));
            }
        } else {
            let _ = write_cache(&p, &SigCache::encode_keys(&mut keys.to_vec()));
        }
    }

    /// Remove the index now (not deferred): it was found damaged under a command, which
    /// fails; the next command builds it again.
    pub fn forget_index(&self) {
        let _ = std::fs::remove_file(self.index_path());
    }

    /// Forget the index and note that the store is not clean (after a whole evaluation,
    /// or `verify`, found a problem), so that no command trusts or rebuilds it until a
    /// whole evaluation finds the store clean again.
    pub fn drop_index(&self) {
        self.cache_write(Deferred::DropIndex);
    }

    /// Evaluate fresh candidates (new files of `chains/`, blocks of `pending/`) against the
    /// index; when every `chains/` one is valid, every `pending/` one still pending, and no
    /// removal cuts below a settled block, push the valid ones into the index and return
    /// the evaluation (with stand-ins appended) and their global entries.
    fn settle(
        &self,
        ix: &mut Index,
        mut cands: Vec<Cand>,
        mut places: Vec<Place>,
        mut paths: Vec<PathBuf>,
        cache: &SigCache,
    ) -> Option<(Vec<Cand>, Vec<Place>, Vec<PathBuf>, Evaluation, Vec<global::Entry>)> {
        // new blocks must lie beyond the settled ones; stand-ins for what they refer to
        let mut stand: BTreeSet<(String, u64)> = BTreeSet::new();
        for c in &cands {
            let Ok(b) = &c.block else { return None };
            if ix.chains.get(&b.chain).is_some_and(|x| b.height < x.len()) {
                return None;
            }
            for r in &b.seen {
                if let Some(x) = ix.chains.get(&r.chain) {
                    if r.height < x.head() && digest::parse_hash(&r.hash).is_some_and(|h| x.hash(r.height) == Some(h)) {
                        stand.insert((r.chain.clone(), r.height));
                    }
                }
            }
        }
        let fresh = cands.len();
        // the settled blocks not anchored yet, read back in full: the causal past of a new
        // master block is walked through them (the files are trusted as the index is)
        let mut tail: Vec<(String, u64)> = Vec::new();
        for (chain, x) in &ix.chains {
            tail.extend((x.unanchored()..x.len()).map(|h| (chain.clone(), h)));
        }
        let home = &self.home;
        let read = |(chain, h): (String, u64)| read_block(home, chain, h).ok().flatten();
        let in_tail: BTreeSet<(String, u64)> = tail.iter().cloned().collect();
        for c in par_map(tail, read) {
            let c = c?;
            let (chain, h) = (c.chain().to_string(), c.height());
            let x = ix.chains.get(&chain)?;
            if x.hash(h) != Some(c.hash) {
                return None;
            }
            paths.push(PathBuf::from(&c.origin));
            cands.push(Cand::settled_full(c, ix.settled(&chain, h)?));
            places.push(Place::Chains);
        }
        let heads = ix.chains.iter().map(|(c, x)| (c.clone(), x.head()));
        for (chain, h) in heads.chain(stand) {
            if in_tail.contains(&(chain.clone(), h)) {
                continue;
            }
            let r = ix.chains[&chain].rec(h)?;
            cands.push(Cand::settled(&chain, h, r.hash, r.clock, r.settled(), ix.kind(r.kind)));
            places.push(Place::Chains);
            paths.push(store::chain_path(&self.home, &chain, h));
        }
        let base = ix.base();
        let eval = evaluate_on(&self.master_card, &cands, Some(cache), Some(&base));
        // the new files of chains/ that must join their chains' valid sequences
        let mut fresh_valid = 0;
        for i in 0..fresh {
            match in_clean_store(self.id(), &cands[i], places[i], &eval.status[i]) {
                Some(valid) => fresh_valid += usize::from(valid),
                None => return None,
            }
        }
        // a removal or a rotation that reaches below a settled block rewrites settled history
        if ix.rewritten_by(&eval.members) {
            return None;
        }
        // settled blocks that a new master block anchors
        for i in fresh..cands.len() {
            let was = cands[i].settled.map_or(NO_ANCHOR, |x| x.anchor);
            if eval.anchor[i] != was && !ix.set_anchor(cands[i].chain(), cands[i].height(), eval.anchor[i]) {
                return None;
            }
        }
        // settle the new blocks: they extend their chains' sequences
        let mut new = Vec::new();
        for (chain, seq) in &eval.chains {
            let from = ix.chains.get(chain).map_or(0, |x| x.len());
            for &i in seq {
                let b = cands[i].block.as_ref().expect("valid blocks parse");
                if b.height < from {
                    continue;
                }
                if i >= fresh || places[i] != Place::Chains {
                    return None;
                }
                ix.push(chain, cands[i].hash, b.clock, settled_of(&eval, i), &b.kind);
                if b.height > 0 {
                    new.push(global::Entry {
                        cand: i,
                        clock: b.clock,
                        chain: chain.clone(),
                        height: b.height,
                        kind: b.kind.clone(),
                        block_hash: cands[i].hash,
                        running: [0; 32],
                    });
                }
            }
        }
        let settled_new = new.len() + eval.chains.keys().filter(|c| !base.heads.contains_key(*c)).count();
        if settled_new != fresh_valid {
            // a new file of chains/ that is not part of its chain's valid sequence
            return None;
        }
        ix.members = eval.members.clone();
        Some((cands, places, paths, eval, new))
    }

    /// [`Node::load_settled`]'s incremental load on an index already in hand (a stored
    /// one, one just built, or one `verify` just built): `None` when the store does not
    /// simply extend it.
    pub fn load_onto(&self, ix: Index) -> Result<Option<Loaded>> {
        self.load_onto_with(ix, true)
    }

    fn load_onto_with(&self, mut ix: Index, may_rebuild: bool) -> Result<Option<Loaded>> {
        if ix.master != self.master_card.identity.id || !dir_is_empty(&self.home.forks_dir()) {
            return Ok(None);
        }
        // what is new in chains/: the files after each settled head (found by probing,
        // not listing: a listing costs in proportion to the history), and new chains
        let Some(dirs) = list_chain_dirs(&self.home.chains_dir()) else {
            return Ok(None);
        };
        let mut wanted: Vec<(String, u64)> = Vec::new();
        for (chain, c) in &ix.chains {
            if !dirs.contains(chain) {
                return Ok(None);
            }
            // a cheap check that the index belongs to these files
            let p = store::chain_path(&self.home, chain, c.head());
            if std::fs::read(&p).map(|b| digest::sha256(&b)).ok() != Some(c.head_hash()) {
                return Ok(None);
            }
        }
        for chain in &dirs {
            let mut h = ix.chains.get(chain).map_or(0, |c| c.len());
            while std::fs::symlink_metadata(store::chain_path(&self.home, chain, h)).is_ok() {
                wanted.push((chain.clone(), h));
                h += 1;
            }
        }
        // more new files than the index holds (and than a batch): settling them at once
        // would hold them all in memory, so the index is built again from chains/, a
        // batch at a time, in at most twice the reading the new files need anyway
        if may_rebuild && wanted.len() > self.settle_batch().max(ix.len() as usize) {
            let Some(built) = self.build_index()? else {
                return Ok(None);
            };
            self.save_index(&built);
            return self.load_onto_with(built, false);
        }
        let home = &self.home;
        let read = |(chain, h): (String, u64)| read_block(home, chain, h).ok().flatten();
        let mut cands: Vec<Cand> = Vec::new();
        let mut places: Vec<Place> = Vec::new();
        let mut paths: Vec<PathBuf> = Vec::new();
        for c in par_map(wanted, read) {
            let Some(c) = c else { return Ok(None) };
            paths.push(PathBuf::from(&c.origin));
            places.push(Place::Chains);
            cands.push(c);
        }
        let mut scan = store::Scan::default();
        store::scan_dir(&home.pending_dir(), Place::Pending, &mut scan)?;
        if !scan.problems.is_empty() {
            return Ok(None);
        }
        for r in scan.blocks {
            cands.push(Cand::new(r.path.display().to_string(), true, None, r.bytes, r.sig));
            places.push(Place::Pending);
            paths.push(r.path);
        }
        // the new blocks' signatures are verified here (reading the whole signature cache
        // would cost in proportion to the history), then added to the cache
        let cache = SigCache::default();
        let before = ix.len();
        let Some(mut tail) = ix.tentative() else {
            return Ok(None);
        };
        let Some((cands, places, paths, eval, new)) = self.settle(&mut ix, cands, places, paths, &cache) else {
            return Ok(None);
        };
        let pushed = ix.len() - before;
        tail.extend(new);
        // every chain of chains/ is indexed, but for this node's genesis still waiting
        if ix.chains.len() + usize::from(self.waits(&cands, &places, &eval)) != dirs.len() {
            return Ok(None);
        }
        let Some(bounds) = ix.bounds() else { return Ok(None) };
        let g = global::extend(ix.final_count as usize, ix.head, bounds, ix.anchor(), tail);
        let changed = pushed > 0 || g.final_count as u64 != ix.final_count;
        ix.set_final(&g);
        if changed {
            self.save_index(&ix);
        }
        let mut eval = eval;
        if eval.fresh_sigs > 0 {
            // for the other commands, which still read every block
            self.add_to_sig_cache(&eval.sig_keys);
            eval.fresh_sigs = 0;
        }
        let st = State {
            cands,
            places,
            paths,
            layout: Vec::new(),
            // saved above: keep_sig_cache has nothing to add
            cache_len: eval.sig_keys.len(),
            eval,
            view: None,
        };
        Ok(Some(Loaded {
            st,
            index: Some(ix),
            global: g,
        }))
    }
}

/// Blocks settled per batch by [`Node::build_index`] (unless [`Options::settle_batch`]
/// says otherwise).
///
/// [`Options::settle_batch`]: crate::node::Options::settle_batch
const BATCH: usize = 8192;

impl Node {
    /// Whether an evaluation left this node's genesis waiting ([`waiting_genesis`]).
    fn waits(&self, cands: &[Cand], places: &[Place], eval: &Evaluation) -> bool {
        (0..cands.len()).any(|i| waiting_genesis(self.id(), &cands[i], places[i], &eval.status[i]))
    }

    fn settle_batch(&self) -> usize {
        match self.opts.settle_batch {
            0 => BATCH,
            n => n,
        }
    }

    /// Build the index from `chains/` alone, reading each chain in height order and
    /// settling the blocks in (clock, chain id) order a batch at a time: the order in which
    /// every block's predecessor, `seen` blocks and admission come before it. A member's
    /// genesis (clock 0) goes with its first block, after its admission. `None` when the
    /// store is not clean (the whole evaluation then reports why).
    pub fn build_index(&self) -> Result<Option<Index>> {
        if !dir_is_empty(&self.home.forks_dir()) {
            return Ok(None);
        }
        let Some(dirs) = list_chain_dirs(&self.home.chains_dir()) else {
            return Ok(None);
        };
        let master = self.id_of_master().to_string();
        let mut ix = Index {
            master: master.clone(),
            ..Index::default()
        };
        let refill = (8 * 1024 / dirs.len().max(1)).clamp(32, 1024) as u64;
        // per chain: the next height to read, and the blocks read ahead
        let mut next: BTreeMap<String, u64> = dirs.iter().map(|d| (d.clone(), 0)).collect();
        let mut ahead: BTreeMap<String, VecDeque<Cand>> = BTreeMap::new();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut keys: Vec<crate::digest::Hash> = Vec::new();
        // a first build verifies every signature (and records them for the other commands)
        let cache = SigCache::default();
        let home = &self.home;
        let read = |(chain, h): (String, u64)| (chain.clone(), read_block(home, chain, h).ok());
        // the blocks to read next: `refill` more of each chain with no more than that read
        // ahead (waiting until a chain ran dry cut the next batch short at it: a settle of
        // a few blocks, then a read of one chain, ~16 times a round at 16 chains)
        let wanted =
            |next: &mut BTreeMap<String, u64>, ahead: &BTreeMap<String, VecDeque<Cand>>, done: &BTreeSet<String>| {
                let mut want = Vec::new();
                for (chain, h) in next.iter_mut() {
                    if done.contains(chain) || ahead.get(chain).is_some_and(|q| q.len() as u64 > refill) {
                        continue;
                    }
                    for k in *h..*h + refill {
                        want.push((chain.clone(), k));
                    }
                    *h += refill;
                }
                want
            };
        // what was read while the last batch settled
        let mut prefetched = None;
        let mut waited = false;
        loop {
            // read ahead, on every core, for the chains that ran dry
            let got = match prefetched.take() {
                Some(got) => got,
                None => par_map(wanted(&mut next, &ahead, &done), read),
            };
            for (chain, c) in got {
                match c {
                    None => return Ok(None),
                    Some(None) => {
                        done.insert(chain);
                    }
                    Some(Some(c)) if !done.contains(&chain) => {
                        if c.block.is_err() {
                            return Ok(None);
                        }
                        ahead.entry(chain).or_default().push_back(c);
                    }
                    // a file after a gap: not part of the chain (the whole evaluation says so)
                    Some(Some(_)) => return Ok(None),
                }
            }
            // the next batch, in (clock, chain) order; a member's genesis goes with its
            // first block
            let key = |chain: &str, q: &VecDeque<Cand>| -> Option<u64> {
                let b = q.front()?.block.as_ref().ok()?;
                if b.height == 0 && chain != master {
                    return Some(
                        q.get(1)
                            .and_then(|c| c.block.as_ref().ok())
                            .map_or(u64::MAX, |b| b.clock),
                    );
                }
                Some(b.clock)
            };
            let mut batch: Vec<Cand> = Vec::new();
            while batch.len() < self.settle_batch() {
                // every chain still being read must show its next key (two blocks ahead)
                if next
                    .keys()
                    .any(|c| !done.contains(c) && ahead.get(c).is_none_or(|q| q.len() < 2))
                {
                    break;
                }
                let pick = ahead
                    .iter()
                    .filter_map(|(c, q)| key(c, q).map(|k| (k, c.clone())))
                    .min();
                let Some((_, chain)) = pick else { break };
                let q = ahead.get_mut(&chain).expect("picked");
                let c = q.pop_front().expect("non-empty");
                // a member's genesis waits for its first block, unless a block names it
                // first (the master's, once the member sent it): then it goes with that one
                if let Ok(b) = &c.block {
                    for r in b.seen.iter().filter(|r| r.height == 0 && r.chain != master) {
                        if let Some(g) = ahead
                            .get_mut(&r.chain)
                            .filter(|g| g.front().is_some_and(|g| g.height() == 0))
                        {
                            batch.extend(g.pop_front());
                        }
                    }
                }
                batch.push(c);
            }
            if batch.is_empty() {
                if ahead.values().all(VecDeque::is_empty) && done.len() == next.len() {
                    break;
                }
                continue;
            }
            let n = batch.len();
            let places = vec![Place::Chains; n];
            let paths = batch.iter().map(|c| PathBuf::from(&c.origin)).collect();
            // the next blocks are read while this batch settles (the same reads, in the
            // same order, as at the top of the loop: only the time differs)
            let want = wanted(&mut next, &ahead, &done);
            let (settled, got) = std::thread::scope(|s| {
                let reader = s.spawn(|| par_map(want, read));
                let settled = self.settle(&mut ix, batch, places, paths, &cache);
                (settled, reader.join().expect("reader panicked"))
            });
            prefetched = Some(got);
            let Some((cands, places, _, eval, _)) = settled else {
                return Ok(None);
            };
            waited |= self.waits(&cands, &places, &eval);
            keys.extend_from_slice(&eval.sig_keys);
        }
        // every chain of chains/ is indexed, but for this node's genesis still waiting
        if ix.chains.len() + usize::from(waited) != dirs.len() {
            return Ok(None);
        }
        // the final prefix, walking the chains in global order
        // (in memory: nothing here reads a segment)
        let threshold = crate::merge::rules::finality::threshold(&ix.bounds().expect("in memory"));
        let (mut count, mut head) = (0u64, [0u8; 32]);
        let mut finals: BTreeMap<String, u64> = BTreeMap::new();
        ix.entries(|e, _| {
            if threshold.is_some_and(|t| e.clock <= t) {
                count += 1;
                head = e.running;
                finals.insert(e.chain.clone(), e.height);
            }
        })
        .expect("in memory");
        ix.final_count = count;
        ix.head = head;
        for (c, h) in finals {
            ix.chains.get_mut(&c).expect("indexed").final_height = h;
        }
        self.cache_write(Deferred::SigCache(SigCache::encode_keys(&mut keys)));
        Ok(Some(ix))
    }
}

/// The index of a whole evaluation, when it is clean ([`in_clean_store`]): no layout
/// problems, no forks, every block of `chains/` valid (but for this node's waiting genesis)
/// and every block of `pending/` still pending.
pub fn index_of(master: &str, me: &str, st: &State, g: &Global) -> Option<Index> {
    if !st.layout.is_empty() || !st.eval.forks.is_empty() {
        return None;
    }
    let mut valid = 0;
    for (i, s) in st.eval.status.iter().enumerate() {
        match in_clean_store(me, &st.cands[i], st.places[i], s) {
            Some(v) => valid += usize::from(v),
            None => return None,
        }
    }
    let mut ix = Index {
        master: master.to_string(),
        members: st.eval.members.clone(),
        ..Index::default()
    };
    let mut settled = 0;
    for (chain, seq) in &st.eval.chains {
        for &i in seq {
            let b = st.block(i);
            ix.push(chain, st.cands[i].hash, b.clock, settled_of(&st.eval, i), &b.kind);
            settled += 1;
        }
    }
    // every valid block of chains/ is in its chain's sequence
    if settled != valid {
        return None;
    }
    ix.set_final(g);
    Some(ix)
}

/// How a clean store holds a candidate: `Some(true)` a block the index holds (valid, in
/// `chains/`), `Some(false)` one it leaves out (pending in `pending/`, or this node's
/// [waiting genesis](waiting_genesis)); `None` when the store is not clean.
fn in_clean_store(me: &str, c: &Cand, place: Place, s: &Status) -> Option<bool> {
    match (place, s) {
        (Place::Chains, Status::Valid) => Some(true),
        (Place::Pending, Status::Pending(_)) => Some(false),
        _ if waiting_genesis(me, c, place, s) => Some(false),
        _ => None,
    }
}

/// This node's own genesis, in `chains/` since `init`, still waiting for the master's
/// admission (`not-admitted`, which `verify` notes as not yet a problem): a new member
/// bringing itself up from a split export gets the admission, the newest master block, in
/// the last bundle. It is the one block of `chains/` that may be other than valid in a
/// clean store: the index leaves it (and its chain) out until it is valid, and every load
/// evaluates it again, as the whole evaluation does.
pub(crate) fn waiting_genesis(me: &str, c: &Cand, place: Place, s: &Status) -> bool {
    place == Place::Chains && matches!(s, Status::Invalid("not-admitted", _)) && c.height() == 0 && c.chain() == me
}

/// What the index keeps of candidate `i` of an evaluation.
fn settled_of(eval: &Evaluation, i: usize) -> Settled {
    Settled {
        master_seen: eval.master_seen[i],
        anchor: eval.anchor[i],
    }
}

/// A block of `chains/` and its signature as a candidate: `Ok(None)` when the block file
/// is absent, `Err(())` when it cannot be read or is over the size limit.
fn read_block(home: &crate::home::Home, chain: String, h: u64) -> std::result::Result<Option<Cand>, ()> {
    read_block_with(home, chain, h, true)
}

/// [`read_block`], the signature left unread when `with_sig` is false (a settled block
/// read back for what it says: `log`, the files' fold).
fn read_block_with(
    home: &crate::home::Home,
    chain: String,
    h: u64,
    with_sig: bool,
) -> std::result::Result<Option<Cand>, ()> {
    let path = store::chain_path(home, &chain, h);
    let sig_path = std::path::PathBuf::from(format!("{}.minisig", path.display()));
    // a FIFO or device where a block should be is never opened (it would block): the
    // whole evaluation's scan names it
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if m.is_file() && std::fs::symlink_metadata(&sig_path).is_ok_and(|m| m.is_file()) => {}
        _ => return Err(()),
    }
    // bounded while reading: a block file over the limit is refused, never read whole
    let limited = |p: &std::path::Path, limit: usize| -> std::result::Result<Vec<u8>, ()> {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(p)
            .and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut buf))
            .map_err(|_| ())?;
        if buf.len() > limit { Err(()) } else { Ok(buf) }
    };
    let bytes = limited(&path, crate::subchain::MAX_BLOCK)?;
    let sig = match with_sig {
        true => Some(limited(&sig_path, crate::envelope::MAX_SIG)?),
        false => None,
    };
    Ok(Some(Cand::new(
        path.display().to_string(),
        false,
        Some((chain, Some(h))),
        bytes,
        sig,
    )))
}

/// The chain directories of `chains/`; `None` on anything unexpected there (the whole
/// evaluation then names it).
pub(crate) fn list_chain_dirs(root: &std::path::Path) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(out),
        Err(_) => return None,
    };
    for d in rd {
        let d = d.ok()?;
        let name = d.file_name().into_string().ok()?;
        if name.starts_with(".tmp-") {
            continue;
        }
        if !d.file_type().ok()?.is_dir() || !crate::subchain::is_node_id(&name) {
            return None;
        }
        out.insert(name);
    }
    Some(out)
}

/// True when `p` holds no files (empty directories only), or does not exist.
fn dir_is_empty(p: &std::path::Path) -> bool {
    match std::fs::read_dir(p) {
        Ok(mut rd) => rd.all(|e| e.is_ok_and(|e| e.path().is_dir() && dir_is_empty(&e.path()))),
        Err(_) => true,
    }
}
