//! `secfile append`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Append a generic block to this node's chain (for scripts)
///
/// Attachments are recorded by name, size and SHA-256 only; their content stays local.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The block kind (a-z 0-9 . _ -, not a built-in kind)
    #[arg(long)]
    pub kind: String,
    /// A field KEY=VALUE (repeatable)
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = crate::cli::own_text)]
    pub fields: Vec<String>,
    /// A file recorded by hash (repeatable; - for stdin)
    #[arg(long = "attach", value_name = "FILE")]
    pub attach: Vec<PathBuf>,
}

pub fn run(ctx: &Context, ui: &Ui, a: AppendArgs) -> Result<i32, Error> {
    let fields = crate::ops::parse_fields(&a.fields)?;
    let node = ctx.node()?;
    let mut guards = Vec::new();
    let mut attach = Vec::new();
    for p in &a.attach {
        let (p, g) = crate::cli::spool_stdin(&node, p)?;
        attach.push(p);
        guards.push(g);
    }
    let (b, hash) = crate::act::append::append(&node, &a.kind, fields, &attach)?;
    ui.result(
        &format!("appended {}:{} clock {} {}", b.chain, b.height, b.clock, hash),
        serde_json::json!({"chain": b.chain, "height": b.height, "clock": b.clock, "kind": b.kind, "hash": hash}),
    );
    Ok(0)
}
