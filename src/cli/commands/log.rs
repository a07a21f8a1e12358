//! `secfile log`
use crate::cli::{Context, Ui, ui::Lines};
use crate::error::Error;
use crate::text::UntrustedExt;
use clap::Args;

/// Show blocks: one chain, every chain, or the global order
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this chain (node name or id)
    #[arg(long, value_name = "NAME|ID", conflicts_with = "global", add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
    pub chain: Option<String>,
    /// All valid blocks in global order (clock, chain id)
    #[arg(long)]
    pub global: bool,
    /// Only the newest N entries (the last N of the order shown)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &Context, ui: &Ui, a: LogArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let st = node.load()?;
    let name_of = |id: &str| {
        st.eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_else(|| "?".into())
    };
    let mut idx: Vec<usize> = match &a.chain {
        Some(c) => {
            let id = st
                .eval
                .find_member(c)
                .map(|m| m.identity.id.clone())
                .unwrap_or_else(|| c.clone());
            st.eval
                .chains
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::usage(format!("--chain {c}: no such chain here")))?
        }
        None => st.eval.chains.values().flatten().copied().collect(),
    };
    if a.global {
        idx.retain(|&i| st.block(i).height > 0);
        idx.sort_by(|&x, &y| (st.block(x).clock, &st.block(x).chain).cmp(&(st.block(y).clock, &st.block(y).chain)));
    }
    if let Some(n) = a.limit {
        if !a.global && a.chain.is_none() {
            // every chain: the newest by clock, shown in chain order as without --limit
            let mut by_clock = idx.clone();
            by_clock.sort_by_key(|&i| std::cmp::Reverse((st.block(i).clock, st.block(i).chain.clone())));
            let keep: std::collections::BTreeSet<usize> = by_clock.into_iter().take(n).collect();
            idx.retain(|i| keep.contains(i));
        } else {
            idx.drain(..idx.len().saturating_sub(n));
        }
    }
    let mut text = Lines::new();
    let mut rows = Vec::new();
    for i in idx {
        let b = st.block(i);
        let hash = crate::digest::hex(&st.cands[i].hash);
        let body = serde_json::to_value(&b.body).unwrap_or_default();
        // the body as one line of JSON, whose strings (another node's text) are then escaped
        text.line(format!(
            "{}:{} clock {} {} {} {} {}",
            name_of(&b.chain).untrusted(),
            b.height,
            b.clock,
            b.time.untrusted(),
            b.kind.untrusted(),
            &hash[..16],
            serde_json::to_string(&body).unwrap_or_default().untrusted()
        ));
        rows.push(serde_json::json!({
            "chain": b.chain, "name": name_of(&b.chain), "height": b.height, "clock": b.clock, "time": b.time,
            "kind": b.kind, "hash": hash, "prev": b.prev, "seen": b.seen, "body": body,
        }));
    }
    ui.lines(&text, serde_json::Value::Array(rows));
    Ok(0)
}
