//! `secfile xfer`
use crate::cli::{Context, Ui, ui::sanitize};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Exchange through a spool directory on a mounted medium (USB stick)
///
/// Imports every bundle under DIR/<this node>/; leaves under DIR/<recipient>/<this node>/
/// every outbox bundle still awaiting its recipient's receipt (replacing a missing or
/// damaged copy) and a fresh incremental sync bundle for every peer; removes what its
/// recipients acknowledged. Nothing beneath DIR is followed through a symlink. Damaged,
/// refused or unsafe inputs are reported and skipped: the exit status is then 1, after
/// everything else was done.
#[derive(Debug, Args)]
pub struct XferArgs {
    /// The spool directory (e.g. the mounted stick)
    pub dir: PathBuf,
    /// Leave ASCII-armored bundles
    #[arg(long)]
    pub armor: bool,
    /// Leave outbox bundles over SIZE bytes as signed parts of at most SIZE (e.g. 1G)
    #[arg(long, value_name = "SIZE", value_parser = crate::cli::parse_max_size)]
    pub max_size: Option<u64>,
}

pub fn run(ctx: &Context, ui: &Ui, a: XferArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let r = crate::transport::xfer::xfer(&node, &a.dir, a.armor, a.max_size)?;
    for i in &r.imported {
        ui.status(&super::import::describe(&format!("imported {}", i.bundle), i));
    }
    for s in &r.skipped {
        ui.warn(&format!("skipped [{}]: {}", s.kind, sanitize(&s.message)));
    }
    if let Some((h, f)) = r.checkpoint {
        ui.status(&format!("checkpoint at master height {h}: {f} final"));
    }
    ui.status(&format!(
        "left {} on {}; {} acknowledged by their recipients and removed; {} awaiting a receipt",
        crate::cli::ui::plural(r.left.len(), "bundle"),
        a.dir.display(),
        r.confirmed.len(),
        r.awaiting
    ));
    ui.result(
        "",
        serde_json::json!({
            "imported": r.imported.iter().map(super::import::to_json).collect::<Vec<_>>(),
            "skipped": r.skipped,
            "left": r.left, "confirmed": r.confirmed, "awaiting": r.awaiting, "cleaned": r.cleaned,
            "checkpoint": r.checkpoint.map(|(h, f)| serde_json::json!({"height": h, "final": f})),
            "ok": r.skipped.is_empty(),
        }),
    );
    Ok(if r.skipped.is_empty() { 0 } else { 1 })
}
