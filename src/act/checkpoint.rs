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
    let tx = node.begin(Who::Master("append checkpoints"))?;
    checkpoint_in(tx)
}

/// Under a lock the caller holds (`xfer` on the master, after it imported new blocks).
pub fn checkpoint_under(node: &Node, lock: &Lock) -> Result<Made> {
    let tx = node.begin_under(lock, Who::Master("append checkpoints"))?;
    checkpoint_in(tx)
}

/// The `files` root of the final chain of `count` entries of the merge `g`.
fn files_root(st: &crate::node::State, g: &global::Global, count: u64) -> Hash {
    let mut at = crate::dossier::state::AsOf::new(&st.eval.master);
    at.advance(&g.entries, count as usize, &st.cands);
    at.root()
}

fn checkpoint_in(mut tx: Tx<'_>) -> Result<Made> {
    let node = tx.node;
    let g = global::merge(&tx.st.eval, &tx.st.cands);
    let (height, clock, (count, head, threshold)) = global::next_checkpoint_body(&tx.st.eval, &tx.st.cands, &g)
        .ok_or_else(|| Error::rejected(node.id(), "malformed", "the master's chain has no valid head"))?;
    let body = CheckpointBody {
        final_count: count,
        head: crate::digest::hex(&head),
        threshold,
        files: Some(crate::digest::hex(&files_root(&tx.st, &g, count))),
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
