//! `secfile checkpoint`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;

/// Append a checkpoint block: the final chain's count, head and threshold at this block
///
/// Master only. The block records the final chain of its own cut (every block the master
/// holds); every node recomputes it, and `verify` reports one that disagrees.
#[derive(Debug, Args)]
pub struct CheckpointArgs {}

pub fn run(ctx: &Context, ui: &Ui, _a: CheckpointArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let m = crate::act::checkpoint::checkpoint(&node)?;
    let (b, body) = (&m.block, &m.body);
    let hash = crate::digest::hex(&m.hash);
    let mut text = crate::cli::ui::Lines::new();
    text.line(format!("checkpoint {}:{} clock {} {hash}", b.chain, b.height, b.clock));
    text.line(format!("final {}", body.final_count));
    text.line(format!("head {}", body.head));
    text.line(format!("threshold {}", body.threshold));
    ui.lines(
        &text,
        serde_json::json!({
            "chain": b.chain, "height": b.height, "clock": b.clock, "hash": hash,
            "final": body.final_count, "head": body.head, "threshold": body.threshold,
        }),
    );
    Ok(0)
}
