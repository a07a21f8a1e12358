//! `secfile log`
use crate::cli::{Context, Ui};
use crate::digest::Hash;
use crate::error::Error;
use crate::merge::index::Index;
use crate::node::State;
use crate::subchain::Block;
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
    let st = node.load_view()?;
    let name_of = |id: &str| {
        st.eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_else(|| "?".into())
    };
    let chain = match &a.chain {
        Some(c) => {
            let id = st
                .eval
                .find_member(c)
                .map(|m| m.identity.id.clone())
                .unwrap_or_else(|| c.clone());
            if !st.eval.chains.contains_key(&id) {
                return Err(Error::usage(format!("--chain {c}: no such chain here")));
            }
            Some(id)
        }
        None => None,
    };
    let print = |out: &mut crate::cli::ui::Stream<'_>, b: &Block, hash: &Hash| {
        let hash = crate::digest::hex(hash);
        let body = serde_json::to_value(&b.body).unwrap_or_default();
        // the body as one line of JSON, whose strings (another node's text) are then escaped
        let line = format!(
            "{}:{} clock {} {} {} {} {}",
            name_of(&b.chain).untrusted(),
            b.height,
            b.clock,
            b.time.untrusted(),
            b.kind.untrusted(),
            &hash[..16],
            serde_json::to_string(&body).unwrap_or_default().untrusted()
        );
        out.push(
            &line,
            serde_json::json!({
                "chain": b.chain, "name": name_of(&b.chain), "height": b.height, "clock": b.clock, "time": b.time,
                "kind": b.kind, "hash": hash, "prev": b.prev, "seen": b.seen, "body": body,
            }),
        );
    };
    if let Some(v) = st.view.as_deref() {
        // through the index: only the blocks shown are read, a batch at a time, and
        // printed as they are read
        let at = picked(&v.index, chain.as_deref(), a.global, a.limit).unwrap_or_default();
        let first = at.len().min(BATCH);
        let blocks = match at.is_empty() {
            // the index could not be read (an empty log goes the whole way too: it is cheap)
            true => None,
            false => node.settled_blocks(&v.index, &at[..first]),
        };
        if let Some(blocks) = blocks {
            let mut out = ui.stream();
            for (b, h) in &blocks {
                print(&mut out, b, h);
            }
            for part in at[first..].chunks(BATCH) {
                let blocks = node.settled_blocks(&v.index, part).ok_or_else(|| {
                    Error::rejected(
                        node.home.chains_dir().display(),
                        "tampered",
                        "a block file changed since it was verified: run `secfile verify`",
                    )
                })?;
                for (b, h) in &blocks {
                    print(&mut out, b, h);
                }
            }
            out.finish();
            return Ok(0);
        }
    }
    // a whole evaluation (no index, or the index's files changed under it)
    let whole_st;
    let st = match st.view {
        Some(_) => {
            whole_st = node.load()?;
            &whole_st
        }
        None => &st,
    };
    let mut out = ui.stream();
    for (b, h) in whole(st, chain.as_deref(), a.global, a.limit) {
        print(&mut out, &b, &h);
    }
    out.finish();
    Ok(0)
}

/// Blocks read and printed at a time by `log` through the index.
const BATCH: usize = 1024;

/// The blocks shown, in order, from a whole evaluation.
fn whole(st: &State, chain: Option<&str>, global: bool, limit: Option<usize>) -> Vec<(Block, Hash)> {
    let mut idx: Vec<usize> = match chain {
        Some(id) => st.eval.chains[id].clone(),
        None => st.eval.chains.values().flatten().copied().collect(),
    };
    if global {
        idx.retain(|&i| st.block(i).height > 0);
        idx.sort_by(|&x, &y| (st.block(x).clock, &st.block(x).chain).cmp(&(st.block(y).clock, &st.block(y).chain)));
    }
    if let Some(n) = limit {
        if !global && chain.is_none() {
            // every chain: the newest by clock, shown in chain order as without --limit
            let mut by_clock = idx.clone();
            by_clock.sort_by_key(|&i| std::cmp::Reverse((st.block(i).clock, st.block(i).chain.clone())));
            let keep: std::collections::BTreeSet<usize> = by_clock.into_iter().take(n).collect();
            idx.retain(|i| keep.contains(i));
        } else {
            idx.drain(..idx.len().saturating_sub(n));
        }
    }
    idx.into_iter()
        .map(|i| (st.block(i).clone(), st.cands[i].hash))
        .collect()
}

/// The (chain, height) of the blocks shown, in order, from the settled index (which holds
/// every valid block when a load went through it): the same choice as [`whole`]. With a
/// limit only the newest blocks are looked at (a k-way merge of the chains backwards from
/// their heads). `None` when a segment of the index cannot be read.
fn picked(ix: &Index, chain: Option<&str>, global: bool, limit: Option<usize>) -> Option<Vec<(String, u64)>> {
    match (chain, global, limit) {
        (Some(c), _, n) => {
            let len = ix.chains[c].len();
            let from = n.map_or(0, |n| len.saturating_sub(n as u64));
            Some((from..len).map(|h| (c.to_string(), h)).collect())
        }
        (None, true, None) => {
            let mut out = Vec::new();
            ix.entries(|e, _| out.push((e.chain.clone(), e.height)))?;
            Some(out)
        }
        // the newest n of the global order (no genesis), oldest first
        (None, true, Some(n)) => {
            let mut out = newest(ix, n, 1)?;
            out.reverse();
            Some(out)
        }
        (None, false, None) => Some(
            ix.chains
                .iter()
                .flat_map(|(c, x)| (0..x.len()).map(move |h| (c.clone(), h)))
                .collect(),
        ),
        // every chain: the newest n by (clock, chain), shown in chain order
        (None, false, Some(n)) => {
            let keep: std::collections::BTreeSet<(String, u64)> = newest(ix, n, 0)?.into_iter().collect();
            Some(keep.into_iter().collect())
        }
    }
}

/// The newest `n` settled blocks at heights `min_h` and above, by (clock, chain id),
/// newest first: a k-way merge backwards from each chain's head (each chain's clocks
/// increase with its height), reading only what it gives.
fn newest(ix: &Index, n: usize, min_h: u64) -> Option<Vec<(String, u64)>> {
    let mut heap = std::collections::BinaryHeap::new();
    for (c, x) in &ix.chains {
        if x.head() >= min_h {
            heap.push((x.rec(x.head())?.clock, c.as_str(), x.head()));
        }
    }
    let mut out = Vec::with_capacity(n.min(1 << 16));
    while out.len() < n {
        let Some((_, c, h)) = heap.pop() else { break };
        out.push((c.to_string(), h));
        if h > min_h {
            heap.push((ix.chains[c].rec(h - 1)?.clock, c, h - 1));
        }
    }
    Some(out)
}
