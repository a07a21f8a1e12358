//! `secfile sync export|import`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Subcommand;
use std::path::PathBuf;

/// Exchange blocks with other nodes in sync bundles
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Export the blocks a peer lacks (own and relayed) as a sync bundle
    ///
    /// With --to, only what PEER lacks judged by the last frontier received from it; without
    /// --to, encrypted to every active roster member, with what any of them may lack.
    /// Without --out the bundle goes to outbox/<recipient>/ for each recipient.
    Export {
        /// The peer (name or node id)
        #[arg(long, value_name = "PEER")]
        to: Option<String>,
        /// Send every block, not just what the peer lacks (for a new peer)
        #[arg(long)]
        all: bool,
        /// Write the bundle to FILE (- for stdout)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write ASCII armor fit for an email body
        #[arg(long)]
        armor: bool,
    },
    /// Import a sync bundle (idempotent; nothing is written unless every block checks)
    Import {
        /// The bundle (- for stdin); armored or binary
        bundle: PathBuf,
    },
}

pub fn run(ctx: &Context, ui: &Ui, c: SyncCommand) -> Result<i32, Error> {
    match c {
        SyncCommand::Export { to, all, out, armor } => {
            crate::cli::check_out(out.as_deref(), crate::cli::bundle_out(armor))?;
            let node = ctx.node()?;
            let _lock = node.lock()?;
            let loaded = node.load_settled()?;
            let st = &loaded.st;
            let dir = match out.as_deref() {
                Some(p) if p != std::path::Path::new("-") => p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(".")),
                _ => node.home.tmp_dir(),
            };
            let (tmp, ex) =
                crate::transport::sync::export(&node, st, loaded.index.as_ref(), to.as_deref(), all, armor, &dir)?;
            node.keep_sig_cache(st);
            let ext = if armor { "bundle.asc" } else { "bundle" };
            let mut written = Vec::new();
            match out {
                Some(p) => {
                    crate::transport::sync::deliver(tmp, &p, &mut std::io::stdout().lock())?;
                    written.push(p.display().to_string());
                }
                None => {
                    for r in &ex.recipients {
                        let p = node.home.outbox_dir().join(r).join(format!("{}.{ext}", ex.header.id));
                        let mut f = std::fs::File::open(tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
                        crate::home::atomic_write_with(&p, |w| std::io::copy(&mut f, w).map(|_| ()))?;
                        written.push(p.display().to_string());
                    }
                }
            }
            ui.status(&format!(
                "sync bundle {}: {} blocks for {} -> {}",
                ex.header.id,
                ex.blocks,
                ex.recipients.join(", "),
                written.join(", ")
            ));
            let json = serde_json::json!({
                "bundle": ex.header.id, "kind": "sync", "blocks": ex.blocks,
                "recipients": ex.recipients, "out": written,
            });
            if ui.json && out_is_stdout(&written) {
                return Ok(0);
            }
            ui.result("", json);
            Ok(0)
        }
        SyncCommand::Import { bundle } => super::import::import_all(ctx, ui, &[bundle]),
    }
}

fn out_is_stdout(w: &[String]) -> bool {
    w.len() == 1 && w[0] == "-"
}
