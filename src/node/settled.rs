//! Loading through the settled index (`state/index`, see [`crate::merge::index`]): only the
//! block files beyond it (and `pending/`) are read, checked and evaluated, against
//! stand-ins for the settled blocks they refer to. Anything out of the ordinary — fork
//! evidence, a removal below a settled block, a settled file gone, a new block that is
//! not valid, a layout problem — falls back to evaluating the whole store, which is also
//! how the index is first built.
use super::{Node, State, par_map};
use crate::digest;
use crate::error::Result;
use crate::home::atomic_write;
use crate::merge::global::{self, Global};
use crate::merge::index::Index;
use crate::merge::{Cand, Status, evaluate_on};
use crate::subchain::store::{self, Place};
use std::collections::{BTreeMap, BTreeSet};
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

impl Node {
    fn index_path(&self) -> PathBuf {
        self.home.state_dir().join("index")
    }

    /// The store, through the settled index when it can be trusted to extend; the index
    /// is refreshed (best effort) when it changed.
    pub fn load_settled(&self) -> Result<Loaded> {
        if let Some(l) = self.load_incremental()? {
            return Ok(l);
        }
        let st = self.load()?;
        let global = global::merge(&st.eval, &st.cands);
        let index = index_of(&self.master_card.identity.id, &st, &global);
        match &index {
            Some(ix) => self.save_index(ix),
            None => self.drop_index(),
        }
        Ok(Loaded { st, index, global })
    }

    /// Keep an index (best effort: a read-only home only costs the next command time).
    pub fn save_index(&self, ix: &Index) {
        let _ = atomic_write(&self.index_path(), &ix.encode());
    }

    /// Forget the index (after `verify` found a problem, so no command trusts it).
    pub fn drop_index(&self) {
        let _ = std::fs::remove_file(self.index_path());
    }

    fn load_incremental(&self) -> Result<Option<Loaded>> {
        let Some(mut ix) = std::fs::read(self.index_path()).ok().and_then(|b| Index::decode(&b)) else {
            return Ok(None);
        };
        if ix.master != self.master_card.identity.id || !dir_is_empty(&self.home.forks_dir()) {
            return Ok(None);
        }
        // the listing of chains/: every settled file present, and what is new
        let Some(listing) = list_chains(&self.home.chains_dir()) else {
            return Ok(None);
        };
        let mut wanted: Vec<(String, u64)> = Vec::new();
        for (chain, c) in &ix.chains {
            let Some(heights) = listing.get(chain) else {
                return Ok(None);
            };
            if heights.range(..c.len()).count() as u64 != c.len() {
                return Ok(None);
            }
            // a cheap check that the index belongs to these files
            let p = store::chain_path(&self.home, chain, c.head());
            if std::fs::read(&p).map(|b| digest::sha256(&b)).ok() != Some(c.hashes[c.head() as usize]) {
                return Ok(None);
            }
        }
        for (chain, heights) in &listing {
            let from = ix.chains.get(chain).map_or(0, |c| c.len());
            wanted.extend(heights.range(from..).map(|&h| (chain.clone(), h)));
        }
        let home = &self.home;
        let read = |(chain, h): (String, u64)| -> Option<Cand> {
            let path = store::chain_path(home, &chain, h);
            let bytes = std::fs::read(&path).ok()?;
            if bytes.len() > crate::subchain::MAX_BLOCK {
                return None;
            }
            let sig = std::fs::read(format!("{}.minisig", path.display())).ok()?;
            Some(Cand::new(
                path.display().to_string(),
                false,
                Some((chain, Some(h))),
                bytes,
                Some(sig),
            ))
        };
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
        // new blocks must lie beyond the settled ones; stand-ins for what they refer to
        let mut stand: BTreeSet<(String, u64)> = BTreeSet::new();
        for c in &cands {
            let Ok(b) = &c.block else { return Ok(None) };
            if ix.chains.get(&b.chain).is_some_and(|x| b.height < x.len()) {
                return Ok(None);
            }
            for r in &b.seen {
                if let Some(x) = ix.chains.get(&r.chain) {
                    if r.height < x.head() && digest::parse_hash(&r.hash) == Some(x.hashes[r.height as usize]) {
                        stand.insert((r.chain.clone(), r.height));
                    }
                }
            }
        }
        let fresh = cands.len();
        let heads = ix.chains.iter().map(|(c, x)| (c.clone(), x.head()));
        for (chain, h) in heads.chain(stand) {
            let x = &ix.chains[&chain];
            let i = h as usize;
            cands.push(Cand::settled(
                &chain,
                h,
                x.hashes[i],
                x.clocks[i],
                x.master_seen[i],
                ix.kind(x.kinds[i]),
            ));
            places.push(Place::Chains);
            paths.push(store::chain_path(home, &chain, h));
        }
        let cache = self.sig_cache();
        let base = ix.base();
        let eval = evaluate_on(&self.master_card, &cands, Some(&cache), Some(&base));
        for i in 0..fresh {
            let ok = match places[i] {
                Place::Chains => eval.status[i] == Status::Valid,
                _ => matches!(eval.status[i], Status::Pending(_)),
            };
            if !ok {
                return Ok(None);
            }
        }
        // a removal whose cutoff lies below a settled block rewrites settled history
        for (id, m) in &eval.members {
            if let (Some((cut_h, cut_hash, _)), Some(x)) = (&m.removed, ix.chains.get(id)) {
                let was = ix.members.get(id).and_then(|m| m.removed.as_ref());
                if was.is_none()
                    && (*cut_h < x.head()
                        || (*cut_h == x.head() && digest::parse_hash(cut_hash) != Some(x.hashes[x.head() as usize])))
                {
                    return Ok(None);
                }
            }
        }
        // settle the new blocks: they extend their chains' sequences
        let mut tail = ix.tentative();
        let mut pushed = 0;
        for (chain, seq) in &eval.chains {
            let from = ix.chains.get(chain).map_or(0, |x| x.len());
            for &i in seq {
                let b = cands[i].block.as_ref().expect("valid blocks parse");
                if b.height < from {
                    continue;
                }
                if i >= fresh || places[i] != Place::Chains {
                    return Ok(None);
                }
                ix.push(chain, cands[i].hash, b.clock, eval.master_seen[i], &b.kind);
                pushed += 1;
                if b.height > 0 {
                    tail.push(global::Entry {
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
        let listed: usize = listing.values().map(BTreeSet::len).sum();
        let settled: u64 = ix.chains.values().map(|x| x.len()).sum();
        if settled as usize != listed {
            return Ok(None);
        }
        ix.members = eval.members.clone();
        let bounds = global::bounds(&ix.members, |id| {
            ix.chains.get(id).map(|x| (x.head(), x.clocks[x.head() as usize]))
        });
        let g = global::extend(ix.final_count as usize, ix.head, bounds, tail);
        let changed = pushed > 0 || g.final_count as u64 != ix.final_count;
        ix.set_final(&g);
        if changed {
            self.save_index(&ix);
        }
        let mut eval = eval;
        if eval.fresh_sigs > 0 {
            // add to the cache (the other commands still read every block)
            let mut c = cache;
            for k in &eval.sig_keys {
                c.insert(*k);
            }
            let _ = atomic_write(&self.home.state_dir().join("sigcache"), &c.encode());
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
        };
        Ok(Some(Loaded {
            st,
            index: Some(ix),
            global: g,
        }))
    }
}

/// The index of a whole evaluation, when it is clean: no layout problems, no forks, every
/// block of `chains/` valid and every block of `pending/` still pending.
pub fn index_of(master: &str, st: &State, g: &Global) -> Option<Index> {
    if !st.layout.is_empty() || !st.eval.forks.is_empty() {
        return None;
    }
    for (i, s) in st.eval.status.iter().enumerate() {
        let ok = matches!(
            (st.places[i], s),
            (Place::Chains, Status::Valid) | (Place::Pending, Status::Pending(_))
        );
        if !ok {
            return None;
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
            ix.push(chain, st.cands[i].hash, b.clock, st.eval.master_seen[i], &b.kind);
            settled += 1;
        }
    }
    if settled != st.places.iter().filter(|p| **p == Place::Chains).count() {
        return None;
    }
    ix.set_final(g);
    Some(ix)
}

/// Block heights per chain directory of `chains/`; `None` on anything unexpected (the
/// whole evaluation then names it).
fn list_chains(root: &std::path::Path) -> Option<BTreeMap<String, BTreeSet<u64>>> {
    let mut out = BTreeMap::new();
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
        let mut heights = BTreeSet::new();
        let mut sigs = BTreeSet::new();
        for f in std::fs::read_dir(d.path()).ok()? {
            let f = f.ok()?;
            let n = f.file_name().into_string().ok()?;
            if n.starts_with(".tmp-") {
                continue;
            }
            if !f.file_type().ok()?.is_file() {
                return None;
            }
            match n.strip_suffix(".minisig") {
                Some(b) => sigs.insert(crate::subchain::parse_block_file_name(b)?),
                None => heights.insert(crate::subchain::parse_block_file_name(&n)?),
            };
        }
        if !heights.is_subset(&sigs) {
            return None;
        }
        out.insert(name, heights);
    }
    Some(out)
}

fn dir_is_empty(p: &std::path::Path) -> bool {
    match std::fs::read_dir(p) {
        Ok(mut rd) => rd.all(|e| e.is_ok_and(|e| dir_is_empty(&e.path()) && e.path().is_dir())),
        Err(_) => true,
    }
}
