//! `secfile outbox`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;

/// List the bundles this node made that await acknowledgement
///
/// Request, file and transfer bundles stay in the outbox until their recipient's signed
/// receipt arrives (in a sync bundle from it); sync bundles until its frontier shows it
/// holds what they carried. `xfer` leaves them on the medium on every visit until then;
/// `resend` writes one again.
#[derive(Debug, Args)]
pub struct OutboxArgs {}

pub fn run(ctx: &Context, ui: &Ui, _a: OutboxArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let st = node.load()?;
    let name = |id: &str| st.name_of(id);
    let mut text = String::new();
    let mut rows = Vec::new();
    for e in crate::transport::outbox::list(&node.home)? {
        let m = &e.meta;
        let what = match (&m.file, &m.request) {
            (Some(f), _) => format!(" file {f}"),
            (None, Some(r)) => format!(" request {r}"),
            _ => String::new(),
        };
        let awaits = if m.wants_receipt() { "receipt" } else { "frontier" };
        text.push_str(&format!(
            "{} {:<8} to {:<16} {}{what} (awaits {awaits})\n",
            m.bundle,
            m.kind,
            crate::cli::ui::sanitize(&name(&m.recipient)),
            m.created
        ));
        rows.push(serde_json::json!({
            "bundle": m.bundle, "kind": m.kind, "recipient": m.recipient, "recipient_name": name(&m.recipient),
            "created": m.created, "path": e.path.display().to_string(), "file": m.file, "request": m.request,
            "awaits": awaits,
        }));
    }
    if rows.is_empty() {
        text.push_str("the outbox is empty: every bundle made here was acknowledged");
    }
    ui.result(&text, serde_json::Value::Array(rows));
    Ok(0)
}
