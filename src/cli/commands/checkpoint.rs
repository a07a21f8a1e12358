//! `secfile checkpoint`
use crate::cli::{Context, Ui};
use crate::error::Error;
use crate::merge::bodies::{self, CheckpointBody};
use crate::merge::global;
use clap::Args;

/// Append a checkpoint block: the final chain's count, head and threshold at this block
///
/// Master only. The block records the final chain of its own cut (every block the master
/// holds); every node recomputes it, and `verify` reports one that disagrees.
#[derive(Debug, Args)]
pub struct CheckpointArgs {}

pub fn run(ctx: &Context, ui: &Ui, _a: CheckpointArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    if node.config.role != crate::home::Role::Master {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            "only the master may append checkpoints; this node is a member",
        ));
    }
    let _lock = node.lock()?;
    let st = node.load()?;
    node.check_can_act(&st)?;
    let g = global::merge(&st.eval, &st.cands);
    let (height, clock, (count, head, threshold)) = global::next_checkpoint_body(&st.eval, &st.cands, &g)
        .ok_or_else(|| Error::rejected(node.id(), "malformed", "the master's chain has no valid head"))?;
    let body = CheckpointBody {
        final_count: count,
        head: crate::digest::hex(&head),
        threshold,
        files: None,
    };
    let keys = node.keys()?;
    let (b, hash) = node.append(&st, &keys, "checkpoint", bodies::to_value(&body))?;
    debug_assert_eq!(
        (b.height, b.clock),
        (height, clock),
        "the block the body was computed for"
    );
    node.keep_sig_cache(&st);
    ui.result(
        &format!(
            "checkpoint {}:{} clock {} {hash}\nfinal {count}\nhead {}\nthreshold {threshold}",
            b.chain, b.height, b.clock, body.head
        ),
        serde_json::json!({
            "chain": b.chain, "height": b.height, "clock": b.clock, "hash": hash,
            "final": count, "head": body.head, "threshold": threshold,
        }),
    );
    Ok(0)
}
