//! `secfile roster admit|remove|list`
use crate::cli::{Context, Ui, label, read_input};
use crate::error::Error;
use clap::Subcommand;
use std::path::PathBuf;

/// Manage and show the roster (membership is recorded on the master's chain)
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Admit a member from its card (master only): an `admit` block
    Admit {
        /// The member's card (- for stdin)
        card: PathBuf,
    },
    /// Remove a member (master only): a `remove` block with the member's cutoff
    Remove {
        /// The member's name or node id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
        member: String,
    },
    /// List the roster as derived from the master's chain held here
    List,
}

pub fn run(ctx: &Context, ui: &Ui, c: RosterCommand) -> Result<i32, Error> {
    let node = ctx.node()?;
    match c {
        RosterCommand::Admit { card } => {
            let bytes = read_input(&card, 1 << 20)?;
            let (b, card) = crate::act::roster::admit(&node, &bytes, &label(&card))?;
            ui.result(
                &format!("admitted {} (id {}) at master height {}", card.identity.name, card.identity.id, b.height),
                serde_json::json!({"id": card.identity.id, "name": card.identity.name, "height": b.height, "clock": b.clock}),
            );
        }
        RosterCommand::Remove { member } => {
            let (b, id, name) = crate::act::roster::remove(&node, &member)?;
            let cutoff = b
                .body
                .get("cutoff")
                .and_then(|c| c.get("height"))
                .and_then(|h| h.as_u64());
            ui.result(
                &format!(
                    "removed {name} (id {id}) at master height {}; cutoff height {}",
                    b.height,
                    cutoff.unwrap_or(0)
                ),
                serde_json::json!({"id": id, "name": name, "height": b.height, "cutoff": cutoff}),
            );
        }
        RosterCommand::List => {
            let st = node.load()?;
            let mut text = crate::cli::ui::Lines::new();
            text.line("NAME             ID                ROLE    STATUS");
            let mut rows = Vec::new();
            for m in st.eval.members.values() {
                let status = if m.removed.is_some() { "removed" } else { "active" };
                text.line(format!(
                    "{:<16} {} {:<7} {}",
                    crate::text::Untrusted(&m.identity.name),
                    m.identity.id,
                    m.identity.role.as_str(),
                    status
                ));
                rows.push(serde_json::json!({
                    "name": m.identity.name, "id": m.identity.id, "role": m.identity.role.as_str(),
                    "status": status, "admitted_at": m.admitted_at,
                    "fingerprint": m.identity.fingerprint(),
                    "cutoff": m.removed.as_ref().map(|r| r.0),
                }));
            }
            ui.lines(&text, serde_json::Value::Array(rows));
        }
    }
    Ok(0)
}
