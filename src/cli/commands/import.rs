//! `secfile import` and the report shared with `sync import`.
use crate::cli::{Context, Ui, label};
use crate::error::Error;
use crate::transport::ImportReport;
use clap::Args;
use std::path::PathBuf;

/// Import bundles of any kind (idempotent; verifies everything before writing)
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle files (- for stdin); armored or binary
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
}

pub fn run(ctx: &Context, ui: &Ui, a: ImportArgs) -> Result<i32, Error> {
    import_all(ctx, ui, &a.bundles)
}

pub fn import_all(ctx: &Context, ui: &Ui, bundles: &[PathBuf]) -> Result<i32, Error> {
    let node = ctx.node()?;
    let _lock = node.lock()?;
    let _spin = ui.spinner("importing");
    let mut reports = Vec::new();
    for b in bundles {
        let r = crate::transport::import(&node, b, &label(b))?;
        ui.status(&describe(&label(b), &r));
        reports.push(r);
    }
    let json: Vec<_> = reports.iter().map(to_json).collect();
    let json = if json.len() == 1 {
        json.into_iter().next().unwrap()
    } else {
        serde_json::Value::Array(json)
    };
    ui.result("", json);
    Ok(0)
}

pub fn describe(label: &str, r: &ImportReport) -> String {
    if !r.changed() {
        return format!("{label}: nothing new ({} blocks already held); home unchanged", r.known);
    }
    let plural = if r.added == 1 { "" } else { "s" };
    let mut s = format!(
        "{label}: {} bundle from {}: {} new block{plural}",
        r.kind, r.sender_name, r.added
    );
    if r.stored {
        match (r.kind.as_str(), &r.file) {
            ("request", Some(id)) => s.push_str(&format!(", request {id} stored (issue it with `secfile issue {id}`)")),
            (_, Some(id)) => s.push_str(&format!(", security file {id} received and accepted")),
            _ => {}
        }
    }
    if !r.pending.is_empty() {
        s.push_str(&format!(", {} pending", r.pending.len()));
        for p in &r.pending {
            s.push_str(&format!("\n  pending {p}"));
        }
    }
    if r.forks > 0 {
        s.push_str(&format!(", {} fork evidence blocks kept", r.forks));
    }
    s
}

pub fn to_json(r: &ImportReport) -> serde_json::Value {
    serde_json::json!({
        "bundle": r.bundle, "kind": r.kind, "sender": r.sender, "sender_name": r.sender_name, "added": r.added,
        "file": r.file, "stored": r.stored,
        "pending": r.pending, "forks": r.forks, "known": r.known, "ignored": r.ignored, "changed": r.changed(),
    })
}
