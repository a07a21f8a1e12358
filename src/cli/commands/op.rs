//! `secfile op endorse|annotate|transfer|revoke`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Subcommand;
use std::path::PathBuf;

/// Operate on a security file: each operation is a block, settled by the global chain
#[derive(Debug, Subcommand)]
pub enum OpCommand {
    /// Endorse a file you hold
    Endorse {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// An optional note
        #[arg(long, default_value = "", value_parser = crate::cli::own_text)]
        note: String,
    },
    /// Annotate a file with a note
    Annotate {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// The note
        #[arg(long, value_parser = crate::cli::own_text)]
        note: String,
    },
    /// Transfer a file you hold to another member (re-encrypted to the new holder)
    Transfer {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// The new holder (name or id)
        #[arg(long, value_name = "MEMBER", add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
        to: String,
        /// Write the bundle to FILE (- for stdout) [default: outbox/<member>/]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write ASCII armor fit for an email body
        #[arg(long)]
        armor: bool,
        /// Split the bundle written to --out into signed parts of at most SIZE bytes (e.g. 20M)
        #[arg(long, value_name = "SIZE", requires = "out", conflicts_with = "armor", value_parser = crate::cli::parse_max_size)]
        max_size: Option<u64>,
    },
    /// Give a file you hold back to the master (it is surrendered: nothing but a revocation may follow)
    Return {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// An optional note
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Refuse a transfer made to this node: the sender holds the file again
    ///
    /// Only before this node endorses, transfers or returns the file.
    Reject {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// Why
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Revoke a file (master only)
    Revoke {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// Why
        #[arg(long, default_value = "", value_parser = crate::cli::own_text)]
        reason: String,
    },
}

pub fn run(ctx: &Context, ui: &Ui, c: OpCommand) -> Result<i32, Error> {
    if let OpCommand::Transfer { out, armor, .. } = &c {
        crate::cli::check_out(out.as_deref(), crate::cli::bundle_out(*armor))?;
    }
    let node = ctx.node()?;
    let (kind, id, note) = match c {
        OpCommand::Transfer {
            id,
            to,
            out,
            armor,
            max_size,
        } => {
            let whole_out = if max_size.is_some() { None } else { out.as_deref() };
            let t = crate::act::op::transfer(&node, &id, &to, armor, whole_out)?;
            super::report_sent(
                ui,
                &t.sent,
                t.height,
                &format!("transferred {id} to {to} (tentative until final)"),
                serde_json::json!({"id": id, "kind": "transfer", "to": t.to}),
                &node,
                out.as_deref().zip(max_size),
            )?;
            return Ok(0);
        }
        OpCommand::Endorse { id, note } => ("endorse", id, note),
        OpCommand::Annotate { id, note } => ("annotate", id, note),
        OpCommand::Revoke { id, reason } => ("revoke", id, reason),
        OpCommand::Return { id, note } => ("return", id, note),
        OpCommand::Reject { id, reason } => ("reject", id, reason),
    };
    let b = crate::act::op::note(&node, kind, &id, &note)?;
    ui.result(
        &format!("{kind} {id}: block {}:{} clock {}", b.chain, b.height, b.clock),
        serde_json::json!({"id": id, "kind": kind, "chain": b.chain, "height": b.height, "clock": b.clock}),
    );
    Ok(0)
}
