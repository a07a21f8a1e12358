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
        #[arg(long, value_name = "PEER", add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
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
        /// Write signed parts of at most SIZE bytes (FILE.p001-of-NNN…) instead of one file
        #[arg(long, value_name = "SIZE", requires = "out", conflicts_with = "armor", value_parser = crate::cli::parse_max_size)]
        max_size: Option<u64>,
        /// At most N blocks per bundle: more make several bundles (FILE.001-of-NNN…, in
        /// global order; the peer imports them in any order)
        #[arg(long, value_name = "N", default_value_t = crate::transport::sync::BLOCKS_PER_BUNDLE as u64, value_parser = clap::value_parser!(u64).range(1..))]
        max_blocks: u64,
    },
    /// Import a sync bundle (idempotent; nothing is written unless every block checks)
    Import {
        /// The bundle (- for stdin); armored or binary
        bundle: PathBuf,
    },
}

pub fn run(ctx: &Context, ui: &Ui, c: SyncCommand) -> Result<i32, Error> {
    match c {
        SyncCommand::Export {
            to,
            all,
            out,
            armor,
            max_size,
            max_blocks,
        } => {
            crate::cli::check_out(out.as_deref(), crate::cli::bundle_out(armor))?;
            let node = ctx.node()?;
            let lock = node.lock()?;
            node.defer_caches();
            let loaded = node.load_settled()?;
            let st = &loaded.st;
            let mut written = Vec::new();
            // a sync bundle to --out is not kept (a new export regenerates it); without
            // --out it goes to the outbox, a copy per recipient, until its frontier shows it
            // arrived
            let mut tx = out.is_none().then(|| node.begin_loaded(&lock));
            let dir = match tx.as_mut() {
                Some(tx) => tx.stage_dir()?.to_path_buf(),
                None => super::bundle_dir(&node, out.as_deref()),
            };
            let made = crate::transport::sync::export_split(
                &node,
                st,
                loaded.index.as_ref(),
                to.as_deref(),
                all,
                armor,
                &dir,
                usize::try_from(max_blocks).unwrap_or(usize::MAX),
            )?;
            let n = made.len();
            if n > 1 && out.as_deref() == Some(std::path::Path::new("-")) {
                return Err(Error::usage(format!(
                    "--out -: the export makes {n} bundles (over --max-blocks {max_blocks} blocks each); give --out FILE or no --out (the outbox)"
                )));
            }
            // several bundles to --out FILE: FILE.001-of-NNN…
            let name = |p: &std::path::Path, k: usize| -> PathBuf {
                if n == 1 {
                    return p.to_path_buf();
                }
                let mut s = p.as_os_str().to_owned();
                s.push(format!(".{:03}-of-{n:03}", k + 1));
                PathBuf::from(s)
            };
            let (mut ids, mut blocks) = (Vec::new(), 0);
            let recipients = made[0].1.recipients.clone();
            let receipts = made[0].1.receipts;
            for (k, (tmp, ex)) in made.into_iter().enumerate() {
                ids.push(ex.header.id.clone());
                blocks += ex.blocks;
                match (&out, max_size, tx.as_mut()) {
                    (Some(p), Some(max), _) => {
                        let parts = super::write_parts(&node, tmp.path(), &ex.header, &name(p, k), max, None)?;
                        written.extend(parts.iter().map(|x| x.display().to_string()));
                    }
                    (Some(p), None, _) => {
                        let to = name(p, k);
                        crate::transport::sync::deliver(tmp, &to, &mut std::io::stdout().lock())?;
                        written.push(to.display().to_string());
                    }
                    (None, _, Some(tx)) => {
                        for r in &ex.recipients {
                            let meta = crate::transport::outbox::Meta {
                                bundle: ex.header.id.clone(),
                                kind: "sync".into(),
                                recipient: r.clone(),
                                created: ex.header.created.clone(),
                                file: None,
                                request: None,
                                height: Some(ex.height),
                                armor,
                            };
                            let copy = tempfile::Builder::new()
                                .prefix(".tmp-")
                                .tempfile_in(&dir)
                                .map_err(|e| Error::io(&dir, e))?;
                            std::fs::copy(tmp.path(), copy.path()).map_err(|e| Error::io(copy.path(), e))?;
                            let sent = tx.stage_bundle(copy, ex.header.clone(), meta, None)?;
                            written.push(sent.outbox.display().to_string());
                        }
                    }
                    (None, _, None) => unreachable!("a transaction without --out"),
                }
            }
            if let Some(tx) = tx {
                tx.commit()?;
            }
            node.keep_sig_cache(st);
            let first = &ids[0];
            ui.status(&format!(
                "sync bundle {}: {} for {} -> {}",
                if n == 1 {
                    first.clone()
                } else {
                    format!("{first} and {} more", n - 1)
                },
                crate::cli::ui::plural(blocks, "block"),
                recipients.join(", "),
                written.join(", ")
            ));
            let json = serde_json::json!({
                "bundle": first, "bundles": ids, "kind": "sync", "blocks": blocks,
                "recipients": recipients, "out": written, "receipts": receipts,
            });
            if ui.json && out_is_stdout(&written) {
                return Ok(0);
            }
            ui.result("", json);
            Ok(0)
        }
        SyncCommand::Import { bundle } => super::import::import_all(ctx, ui, &[bundle], false),
    }
}

fn out_is_stdout(w: &[String]) -> bool {
    w.len() == 1 && w[0] == "-"
}
