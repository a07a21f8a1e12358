//! `checkpoint` (master): a block stating the final chain computed at this very block —
//! its count, head and threshold, and the `files` Merkle root over the files' states in
//! that final chain (DESIGN §5 "Checkpoints"). Every node recomputes it.
use super::{Tx, Who};
use crate::digest::Hash;
use crate::error::{Error, Result};
use crate::home::Lock;
use crate::merge::bodies::{self, CheckpointBody};
use crate::merge::global;
use crate::node::Node;
use crate::subchain::Block;

pub struct Made {
    pub block: Block,
    pub hash: Hash,
    pub body: CheckpointBody,
}

pub fn checkpoint(node: &Node) -> Result<Made> {
    let tx = node.begin_view(Who::Master("append checkpoints"))?;
    checkpoint_in(tx)
}

/// Under a lock the caller holds (`xfer` on the master, after it imported new blocks).
pub fn checkpoint_under(node: &Node, lock: &Lock) -> Result<Made> {
    let tx = node.begin_view_under(lock, Who::Master("append checkpoints"))?;
    checkpoint_in(tx)
}

/// The next checkpoint's (height, clock, body) through the settled index: each chain's
/// head from the index, the count and head from the merge's entries after the final
/// prefix, the `files` root from `state/files` advanced to that count. `None` when the
/// body's final chain would end inside the index's final prefix, or the index's files
/// cannot be read (the whole store is evaluated then): the same body as
/// [`global::next_checkpoint_body`] on the whole store (tests/view.rs compares them).
fn next_through_view(tx: &Tx<'_>) -> Option<(u64, u64, CheckpointBody)> {
    let st = &tx.st;
    let v = st.view.as_deref()?;
    let (ix, g) = (&v.index, &v.global);
    let master = &st.eval.master;
    // the state holds nothing beyond the index: every valid block is in it
    if st
        .eval
        .chains
        .iter()
        .any(|(c, seq)| seq.len() as u64 > ix.chains.get(c).map_or(0, |x| x.len()))
    {
        return None;
    }
    let head = |id: &str| {
        let x = ix.chains.get(id)?;
        Some((x.head(), x.rec(x.head())?.clock))
    };
    let (m, _) = head(master)?;
    let clock = ix.chains.keys().filter_map(|id| head(id)).map(|(_, c)| c).max()? + 1;
    let (threshold, limit) = global::checkpoint_limit(master, &st.eval.members, m + 1, clock, head);
    // every final entry (clock up to the merge's threshold) is inside the body's chain
    if g.threshold.is_some_and(|t| t > limit) {
        return None;
    }
    let n = g.entries.partition_point(|e| e.clock <= limit);
    let count = (g.skipped + n) as u64;
    let head = n.checked_sub(1).map_or(g.skipped_head, |k| g.entries[k].running);
    let root = crate::transport::files::root_through_view(tx.node, st, count)?;
    let body = CheckpointBody {
        final_count: count,
        head: crate::digest::hex(&head),
        threshold,
        files: Some(crate::digest::hex(&root)),
    };
    Some((m + 1, clock, body))
}

/// The next checkpoint on the whole store.
fn whole_body(st: &crate::node::State) -> Option<(u64, u64, CheckpointBody)> {
    let g = global::merge(&st.eval, &st.cands);
    let (height, clock, (count, head, threshold)) = global::next_checkpoint_body(&st.eval, &st.cands, &g)?;
    let body = CheckpointBody {
        final_count: count,
        head: crate::digest::hex(&head),
        threshold,
        files: Some(crate::digest::hex(&files_root(st, &g, count))),
    };
    Some((height, clock, body))
}

/// The `files` root of the final chain of `count` entries of the merge `g`.
fn files_root(st: &crate::node::State, g: &global::Global, count: u64) -> Hash {
    let mut at = crate::dossier::state::AsOf::new(&st.eval.master);
    at.advance(&g.entries, count as usize, &st.cands);
    at.root()
}

fn checkpoint_in(mut tx: Tx<'_>) -> Result<Made> {
    let node = tx.node;
    let (height, clock, body) = match next_through_view(&tx) {
        Some(x) => x,
        None => {
            if tx.st.view.is_some() {
                tx.st = node.load()?;
            }
            whole_body(&tx.st)
                .ok_or_else(|| Error::rejected(node.id(), "malformed", "the master's chain has no valid head"))?
        }
    };
    let (block, hash) = tx.stage_block("checkpoint", bodies::to_value(&body))?;
    if (block.height, block.clock) != (height, clock) {
        return Err(Error::Env(format!(
            "internal: the checkpoint was computed for {height}/{clock}, the block is {}/{}",
            block.height, block.clock
        )));
    }
    tx.commit()?;
    Ok(Made { block, hash, body })
}
