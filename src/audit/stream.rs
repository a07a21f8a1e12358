//! `verify` of a home, streamed: every block file is read again and every signature checked
//! again (no signature cache, no stored index is trusted), but a batch at a time through
//! [`Node::build_index`], which settles `chains/` in (clock, chain id) order keeping only
//! the settled index (~58 bytes a block). Everything else `verify` checks is then computed
//! from that index: the layout of `chains/`, `pending/` (evaluated against the index),
//! the rollback checkpoint, every master `checkpoint` body (its cut is one binary search a
//! chain on the anchors, its count and head one walk of the index in global order), keys,
//! stored content and `--global-head`. Memory is bounded by the index, whatever the
//! history.
//!
//! The stream only answers for a clean store: every file of `chains/` valid, no fork
//! evidence, nothing unexpected in the layout, every block of `pending/` still pending.
//! Anything else — a fork, an invalid or missing block, a stray file — falls back to the
//! whole evaluation ([`Mode::Whole`]), which holds every block and names every problem
//! exactly as before: a damaged store is reported in full, at the old cost. A fast path
//! never changes a verdict: `tests/verify_stream.rs` compares both on random homes.
use super::{Problem, Report};
use crate::digest::{self, Hash};
use crate::error::Result;
use crate::merge::Status;
use crate::merge::bodies::CheckpointBody;
use crate::merge::global::Global;
use crate::merge::index::Index;
use crate::merge::rules::finality;
use crate::node::{Node, State};
use crate::subchain::store::{self, Place};
use std::path::Path;

/// How `verify` evaluates a home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A batch at a time, falling back to [`Mode::Whole`] when the store is not clean.
    Stream,
    /// Every block read and evaluated at once (the reference the stream is tested against).
    Whole,
}

/// What an audit of a home decided, for [`Verified::save`].
pub enum Verified {
    /// The whole evaluation (asked for, or the stream's fallback).
    Whole { st: Box<State>, global: Box<Global> },
    /// The streamed audit: the index of the store as verified.
    Streamed { ix: Box<Index> },
}

impl Verified {
    /// True when the audit streamed (did not fall back to the whole evaluation).
    pub fn streamed(&self) -> bool {
        matches!(self, Verified::Streamed { .. })
    }

    /// After the audit, with the home's lock held: when it found no problem, keep the
    /// verified signatures, the settled index and the rollback checkpoint; else drop the
    /// index, so that other commands evaluate everything and see the problem.
    pub fn save(&self, node: &Node, ok: bool) -> Result<()> {
        match self {
            Verified::Whole { st, global } => std::thread::scope(|s| {
                // three files of state/, each written on its own: side by side
                if ok {
                    s.spawn(|| node.keep_sig_cache(st));
                }
                s.spawn(|| {
                    match ok
                        .then(|| crate::node::settled::index_of(node.id_of_master(), node.id(), st, global))
                        .flatten()
                    {
                        Some(ix) => node.save_index(&ix),
                        None => node.drop_index(),
                    }
                });
                if ok {
                    super::save_checkpoint_of(node, global.head_hex(), st.frontier())?;
                }
                Ok(())
            }),
            // the signatures were recorded by the build of the index
            Verified::Streamed { ix } if ok => {
                node.save_index(ix);
                super::save_checkpoint_of(node, digest::hex(&ix.head), ix.frontier())
            }
            Verified::Streamed { .. } => {
                node.drop_index();
                Ok(())
            }
        }
    }
}

/// `--global-head`: the hash asked for, and its text as given (for the message).
pub type HeadQuery<'a> = Option<(Hash, &'a str)>;

/// Audit the home (plain `verify`): its chains, pending and fork blocks, the rollback
/// checkpoint, the master's checkpoints, its keys and stored content, and `--global-head`.
pub fn audit_home(node: &Node, head: HeadQuery, mode: Mode, report: &mut Report) -> Result<Verified> {
    if mode == Mode::Stream {
        let mut r = Report::default();
        if let Some(ix) = stream(node, head, &mut r)? {
            report.problems.append(&mut r.problems);
            report.notes.append(&mut r.notes);
            report.steps.append(&mut r.steps);
            report.blocks += r.blocks;
            report.chains += r.chains;
            return Ok(Verified::Streamed { ix: Box::new(ix) });
        }
    }
    whole(node, head, report)
}

/// The whole evaluation: every block held at once.
fn whole(node: &Node, head: HeadQuery, report: &mut Report) -> Result<Verified> {
    let st = node.load_full()?;
    // the audit of the evaluation and the global merge are independent: side by side
    let global = std::thread::scope(|s| {
        let merging = s.spawn(|| crate::merge::global::merge(&st.eval, &st.cands));
        let audited = super::verify_state(node, &st, report);
        let global = merging.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        audited.map(|()| global)
    })?;
    super::check_rollback(node, &st, &global, report)?;
    super::check_keys(node, &st.eval.members, report);
    super::check_stored_content(node, report)?;
    super::check_checkpoints(&st, &global, report);
    if let Some((h, text)) = head {
        if !global.contains_head(&h) {
            report
                .problems
                .push(head_problem(text, &global.head_hex(), global.final_count as u64));
        }
    }
    Ok(Verified::Whole {
        st: Box::new(st),
        global: Box::new(global),
    })
}

fn head_problem(text: &str, head: &str, finals: u64) -> Problem {
    Problem {
        input: "--global-head".into(),
        kind: "not-found".into(),
        message: format!(
            "{text} is not the running hash of any entry of this node's final global chain (head {head}, {finals} final)"
        ),
    }
}

/// One `checkpoint` block of the master's chain, and what its cut gives.
struct Cp {
    height: u64,
    body: CheckpointBody,
    /// Entries with a clock up to this are in its final chain.
    limit: u64,
    threshold: u64,
    /// (count, head), filled by the walk.
    got: (u64, Hash),
    /// The `files` root of its final chain and how many files it holds (when any
    /// checkpoint records a root), filled by the walk.
    files: Option<(String, usize)>,
}

/// The streamed audit; `None` when the store is not clean (the whole evaluation then
/// reports it).
fn stream(node: &Node, head: HeadQuery, report: &mut Report) -> Result<Option<Index>> {
    let home = &node.home;
    if !quiet_dir(&home.forks_dir()) {
        return Ok(None);
    }
    // the layout first, from the listings alone: a FIFO or device where a block should be
    // must be named by the whole scan, never opened (it would block)
    let Some(lens) = chain_files(node) else {
        return Ok(None);
    };
    // every block file and signature, read and checked a batch at a time
    let Some(mut ix) = node.build_index()? else {
        return Ok(None);
    };
    if ix.chains.len() != lens.len() || ix.chains.iter().any(|(c, x)| lens.get(c) != Some(&x.len())) {
        return Ok(None);
    }
    if !quiet_dir(&home.pending_dir()) {
        // pending blocks, evaluated against the index: each must still be pending
        let Some(l) = node.load_onto(ix)? else {
            return Ok(None);
        };
        for (i, s) in l.st.eval.status.iter().enumerate() {
            if l.st.places[i] != Place::Pending {
                continue;
            }
            match s {
                Status::Pending(why) => report
                    .notes
                    .push(format!("{}: pending ({why})", l.st.paths[i].display())),
                _ => return Ok(None),
            }
        }
        let Some(x) = l.index else { return Ok(None) };
        ix = x;
    }
    // the master's checkpoints: their bodies (read again, the bytes just verified) and
    // the threshold of their cuts, from the index's anchors
    let master = node.id_of_master();
    let mut cps: Vec<Cp> = Vec::new();
    if let (Some(x), Some(code)) = (ix.chains.get(master), ix.kind_code_of("checkpoint")) {
        let Some(heights) = x.heights_of_kind(code) else {
            return Ok(None);
        };
        for h in heights {
            let p = store::chain_path(home, master, h);
            let Ok(bytes) = std::fs::read(&p) else { return Ok(None) };
            if x.hash(h) != Some(digest::sha256(&bytes)) {
                return Ok(None);
            }
            let Ok(b) = crate::subchain::Block::decode(&bytes) else {
                return Ok(None);
            };
            let Ok(body) = b.body_as::<CheckpointBody>() else {
                continue;
            };
            // as global::checkpoint_body: the checkpoint itself never counts in its body
            // (the index was built in memory by this run: no segment is read)
            let bounds = finality::bounds(&ix.members, h, |id| match id == master {
                true => Some((h, b.clock)),
                false => ix.chains.get(id).and_then(|c| c.latest_in_cut(h).flatten()),
            });
            let threshold = finality::threshold(&bounds).unwrap_or(0);
            cps.push(Cp {
                height: h,
                body,
                limit: threshold.min(b.clock.saturating_sub(1)),
                threshold,
                got: (0, [0; 32]),
                files: None,
            });
        }
    }
    let cp = super::read_checkpoint(node, report)?;
    // one walk of the global order: each checkpoint's count and head (its final chain is
    // every entry with a clock up to its limit), and the heads asked about
    let mut wanted: Vec<Hash> = Vec::new();
    if let Some(g) = cp.as_ref().and_then(|c| digest::parse_hash(&c.global)) {
        wanted.push(g);
    }
    if let Some((h, _)) = head {
        wanted.push(h);
    }
    let mut found: Vec<bool> = wanted.iter().map(|h| *h == [0u8; 32]).collect();
    let mut order: Vec<usize> = (0..cps.len()).collect();
    order.sort_by_key(|&k| cps[k].limit);
    let (mut next, mut n, mut prev) = (0usize, 0u64, [0u8; 32]);
    // the files' state along the walk, for the `files` roots (only the blocks of the kinds
    // it depends on are read back, and checked against the index's hash)
    let with_files = cps.iter().any(|c| c.body.files.is_some());
    let mut at = crate::dossier::state::AsOf::new(master);
    let mut unread = false;
    ix.entries(|e, is_final| {
        while next < order.len() && e.clock > cps[order[next]].limit {
            cps[order[next]].got = (n, prev);
            if with_files {
                cps[order[next]].files = Some((digest::hex(&at.root()), at.files().len()));
            }
            next += 1;
        }
        if with_files && crate::dossier::state::FILE_KINDS.contains(&e.kind.as_str()) {
            let p = store::chain_path(home, &e.chain, e.height);
            match std::fs::read(&p).ok().filter(|b| digest::sha256(b) == e.block_hash) {
                Some(bytes) => match crate::subchain::Block::decode(&bytes) {
                    Ok(b) => at.apply_block(&b),
                    Err(_) => unread = true,
                },
                None => unread = true,
            }
        }
        if is_final {
            for (w, f) in wanted.iter().zip(found.iter_mut()) {
                *f |= e.running == *w;
            }
        }
        n += 1;
        prev = e.running;
    });
    for &k in &order[next..] {
        cps[k].got = (n, prev);
        if with_files {
            cps[k].files = Some((digest::hex(&at.root()), at.files().len()));
        }
    }
    if unread {
        // a block file changed since the build read it: the whole evaluation says how
        return Ok(None);
    }
    let mut found = found.into_iter();
    let cp_found = cp
        .as_ref()
        .filter(|c| digest::parse_hash(&c.global).is_some())
        .map(|_| found.next().expect("wanted"));
    let head_found = head.map(|_| found.next().expect("wanted"));

    // the report, in the order of the whole evaluation's
    report.chains = ix.chains.len();
    report.blocks = ix.len() as usize;
    super::check_key_modes(node, report);
    if let Some(cp) = &cp {
        rollback(node, &ix, cp, cp_found, report);
    }
    super::check_keys(node, &ix.members, report);
    super::check_stored_content(node, report)?;
    for c in &cps {
        let want = (c.got.0, digest::hex(&c.got.1), c.threshold);
        let got = (c.body.final_count, c.body.head.clone(), c.body.threshold);
        if got != want {
            report.push(
                store::chain_path(home, master, c.height).display(),
                "checkpoint",
                format!(
                    "checkpoint at master height {} records final {} head {} threshold {}, but its cut gives final {} head {} threshold {}",
                    c.height, got.0, got.1, got.2, want.0, want.1, want.2
                ),
            );
        }
        if let (Some(files), Some((root, count))) = (&c.body.files, &c.files) {
            if files != root {
                report.push(
                    store::chain_path(home, master, c.height).display(),
                    "checkpoint",
                    format!(
                        "checkpoint at master height {} records files root {files}, but the {count} files of its final chain give {root}",
                        c.height
                    ),
                );
            }
        }
    }
    if let (Some((_, text)), Some(false)) = (head, head_found) {
        report
            .problems
            .push(head_problem(text, &digest::hex(&ix.head), ix.final_count));
    }
    Ok(Some(ix))
}

/// [`super::check_rollback`] against the index (every chain file valid: no removal cuts
/// below a settled block).
fn rollback(node: &Node, ix: &Index, cp: &super::Checkpoint, global_found: Option<bool>, report: &mut Report) {
    for h in &cp.heads {
        let removed = ix.members.get(&h.chain).and_then(|m| m.removed.as_ref());
        if removed.is_some_and(|(cut, _, _)| h.height > *cut) {
            continue;
        }
        let x = ix.chains.get(&h.chain);
        match x.filter(|x| h.height < x.len()) {
            None => {
                let now = x.map_or(-1, |x| x.len() as i64 - 1);
                report.push(
                    format!("chains/{}", h.chain),
                    "rollback",
                    format!(
                        "rollback: chain now ends at height {now}, below the checkpoint height {}",
                        h.height
                    ),
                )
            }
            Some(x) if x.hash(h.height).map(|x| digest::hex(&x)).as_deref() != Some(h.hash.as_str()) => report.push(
                store::chain_path(&node.home, &h.chain, h.height).display(),
                "rollback",
                format!(
                    "rollback: block at checkpoint height {} differs from the one verified before",
                    h.height
                ),
            ),
            Some(_) => {}
        }
    }
    if global_found == Some(false) {
        report.push(
            "global chain",
            "rollback",
            format!(
                "rollback: the final global chain no longer contains the checkpointed head {}",
                cp.global
            ),
        );
    }
}

/// Each chain directory's number of blocks, when every one holds exactly the block files
/// and signatures of heights 0..n as regular files, and nothing else but temp files (what
/// the whole scan would find no layout problem in); `None` otherwise.
fn chain_files(node: &Node) -> Option<std::collections::BTreeMap<String, u64>> {
    let root = node.home.chains_dir();
    let chains: Vec<String> = crate::node::settled::list_chain_dirs(&root)?.into_iter().collect();
    let count = |chain: String| -> Option<(String, u64)> {
        let dir = root.join(&chain);
        let mut blocks: Vec<u64> = Vec::new();
        let mut sigs: Vec<u64> = Vec::new();
        for e in std::fs::read_dir(&dir).ok()? {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            if name.starts_with(".tmp-") {
                continue;
            }
            if !e.file_type().ok()?.is_file() {
                return None;
            }
            let (base, list) = match name.strip_suffix(".minisig") {
                Some(base) => (base, &mut sigs),
                None => (name.as_str(), &mut blocks),
            };
            let h = crate::subchain::parse_block_file_name(base)?;
            if crate::subchain::block_file_name(h) != base {
                return None;
            }
            list.push(h);
        }
        blocks.sort_unstable();
        sigs.sort_unstable();
        let n = blocks.len() as u64;
        let contiguous = blocks.iter().enumerate().all(|(i, &h)| h == i as u64);
        (contiguous && blocks == sigs).then_some((chain, n))
    };
    crate::par::par_map(chains, count).into_iter().collect()
}

/// True when `p` is absent, or holds nothing but empty directories named by node ids (no
/// file, nothing a scan would report).
fn quiet_dir(p: &Path) -> bool {
    let rd = match std::fs::read_dir(p) {
        Ok(rd) => rd,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    for e in rd {
        let Ok(e) = e else { return false };
        let name = e.file_name().to_string_lossy().into_owned();
        let empty = std::fs::read_dir(e.path()).is_ok_and(|mut r| r.next().is_none());
        if !(e.file_type().is_ok_and(|t| t.is_dir()) && crate::subchain::is_node_id(&name) && empty) {
            return false;
        }
    }
    true
}
