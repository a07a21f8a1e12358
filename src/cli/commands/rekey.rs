//! `secfile rekey`
use crate::act::rekey::Rotated;
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Rotate this node's keys, keeping its node id (planned rotation, not revocation)
///
/// On a member: make new keys (kept aside until bound) and a rekey request signed by the
/// old and the new key, naming this node's next height, for the master (`roster rekey`);
/// the member appends nothing until a sync bundle from the master brings the `rekey`
/// block, which switches the keys. Without --out the bundle goes to outbox/<master>/. On
/// the master: a `rekey` block on its own chain, signed by its old key, and the switch, at
/// once. Old age keys are kept (keys/retired/) so older bundles still decrypt. A
/// compromised key is not rotated: remove the node and admit a fresh one.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Write the request bundle to FILE (- for stdout; member)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write ASCII armor fit for an email body
    #[arg(long)]
    pub armor: bool,
    /// Split the bundle written to --out into signed parts of at most SIZE bytes (e.g. 20M), FILE.p001-of-NNN…
    #[arg(long, value_name = "SIZE", requires = "out", conflicts_with = "armor", value_parser = crate::cli::parse_max_size)]
    pub max_size: Option<u64>,
}

pub fn run(ctx: &Context, ui: &Ui, a: RekeyArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::bundle_out(a.armor))?;
    let node = ctx.node()?;
    if node.config.role == crate::home::Role::Master && (a.out.is_some() || a.armor) {
        return Err(Error::usage(
            "--out and --armor are for a member's request: the master's rotation is a block on its own chain",
        ));
    }
    let out = if a.max_size.is_some() { None } else { a.out.as_deref() };
    match crate::act::rekey::rekey(&node, a.armor, out)? {
        Rotated::Requested { id, from, sent } => {
            super::report_sent(
                ui,
                &sent,
                from.saturating_sub(1),
                &format!(
                    "rekey request {id}: new keys from height {from}, pending until the master's rekey block arrives"
                ),
                serde_json::json!({"request": id, "from": from, "pending": true}),
                &node,
                a.out.as_deref().zip(a.max_size),
            )?;
        }
        Rotated::Master { height, from } => {
            ui.result(
                &format!("rotated the master's keys: rekey block at height {height}, new keys from height {from}"),
                serde_json::json!({"id": node.id(), "height": height, "from": from, "pending": false}),
            );
        }
    }
    Ok(0)
}
