//! `secfile merge`
use crate::cli::{Context, Ui};
use crate::error::Error;
use crate::merge::Status;
use clap::Args;
use std::path::PathBuf;

/// Compute the global chain: valid blocks of every sub-chain ordered by (clock, chain id)
///
/// Prints the head (running hash of the last final entry), and the final and pending
/// counts. The file written by --out is identical on every node holding the same blocks.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Write the global chain to FILE (- for stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also list the tentative tail (valid blocks not yet final)
    #[arg(long)]
    pub include_pending: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: MergeArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::OutKind::Text)?;
    let node = ctx.node()?;
    node.defer_caches();
    let loaded = node.load_settled()?;
    let (st, g) = (&loaded.st, &loaded.global);
    node.keep_sig_cache(st);
    let waiting = st
        .eval
        .status
        .iter()
        .filter(|s| matches!(s, Status::Pending(_)))
        .count();
    let tentative = g.tentative().len();
    let pending = tentative + waiting;
    let rendered = || loaded.render(&node, a.include_pending);
    match a.out.as_deref() {
        Some(p) if p == std::path::Path::new("-") => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(rendered()?.as_bytes())
                .map_err(|e| Error::io("stdout", e))?;
            return Ok(0);
        }
        Some(p) => {
            let text = rendered()?;
            crate::home::write_out_with(p, |w| std::io::Write::write_all(w, text.as_bytes()))?
        }
        None => {}
    }
    let mut text = crate::cli::ui::Lines::new();
    text.line(format!("head {}", g.head_hex()));
    text.line(format!("final {}", g.final_count));
    text.line(format!("pending {pending}"));
    if let Some(m) = g.anchor {
        text.line(format!("anchor {m} (the final chain of the master's block {m})"));
    }
    if a.include_pending {
        for e in g.tentative() {
            let name = st
                .eval
                .members
                .get(&e.chain)
                .map(|m| m.identity.name.as_str())
                .unwrap_or("?");
            text.line(format!(
                "  tentative {}:{} clock {} {}",
                crate::text::Untrusted(name),
                e.height,
                e.clock,
                crate::text::Untrusted(&e.kind)
            ));
        }
        for (i, s) in st.eval.status.iter().enumerate() {
            if let Status::Pending(why) = s {
                text.line(format!(
                    "  waiting {}:{} ({why})",
                    st.cands[i].chain(),
                    st.cands[i].height()
                ));
            }
        }
    }
    let tentative_json: Vec<_> = if a.include_pending {
        g.tentative()
            .iter()
            .map(|e| serde_json::json!({"chain": e.chain, "height": e.height, "clock": e.clock, "kind": e.kind, "hash": crate::digest::hex(&e.block_hash)}))
            .collect()
    } else {
        vec![]
    };
    ui.lines(
        &text,
        serde_json::json!({
            "head": g.head_hex(), "final": g.final_count, "pending": pending,
            "tentative": tentative, "waiting": waiting, "threshold": g.threshold,
            "anchor": g.anchor,
            "entries": g.len(), "tentative_entries": tentative_json,
        }),
    );
    Ok(0)
}
