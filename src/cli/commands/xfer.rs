//! `secfile xfer`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Exchange through a spool directory on a mounted medium (USB stick)
///
/// Imports every bundle under DIR/<this node>/, leaves a fresh incremental sync bundle for
/// every peer and everything in the outbox under DIR/<recipient>/<this node>/, and keeps
/// what it left until the recipient's frontier shows it arrived. Damaged files on the
/// medium are reported and skipped.
#[derive(Debug, Args)]
pub struct XferArgs {
    /// The spool directory (e.g. the mounted stick)
    pub dir: PathBuf,
    /// Leave ASCII-armored bundles
    #[arg(long)]
    pub armor: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: XferArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let _lock = node.lock()?;
    let _spin = ui.spinner("exchanging with the spool");
    let r = crate::transport::xfer::xfer(&node, &a.dir, a.armor)?;
    for i in &r.imported {
        ui.status(&super::import::describe(&format!("imported {}", i.bundle), i));
    }
    for (f, why) in &r.skipped {
        ui.warn(&format!("{f}: skipped, not imported: {why}"));
    }
    ui.status(&format!(
        "left {} bundles on {}; {} confirmed by their recipients and removed; {} awaiting confirmation",
        r.left.len(),
        a.dir.display(),
        r.confirmed.len(),
        r.kept
    ));
    ui.result(
        "",
        serde_json::json!({
            "imported": r.imported.iter().map(super::import::to_json).collect::<Vec<_>>(),
            "skipped": r.skipped.iter().map(|(f, w)| serde_json::json!({"input": f, "problem": w})).collect::<Vec<_>>(),
            "left": r.left, "confirmed": r.confirmed, "awaiting": r.kept,
        }),
    );
    Ok(0)
}
