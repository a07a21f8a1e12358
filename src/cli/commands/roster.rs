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
    /// Bind a member's new keys from its rekey request bundle (master only): a `rekey` block
    ///
    /// Checks the request's two signatures (the member's current key and its new key), that
    /// the member is in the roster and not removed, and that the height it names lies
    /// beyond its chain held here; the bundle's blocks are imported first.
    Rekey {
        /// The rekey request bundle (- for stdin)
        bundle: PathBuf,
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
        RosterCommand::Rekey { bundle } => {
            let (input, _guard) = crate::cli::spool_stdin(&node, &bundle)?;
            let r = crate::act::rekey::roster_rekey(&node, &input, &label(&bundle))?;
            let (id, from, height) = r.rekey.clone().expect("a bound request");
            let name = crate::text::Untrusted(&r.sender_name).to_string();
            ui.result(
                &format!(
                    "rekeyed {name} (id {id}): new keys from its height {from}, rekey block at master height {height}"
                ),
                serde_json::json!({"id": id, "name": r.sender_name, "from": from, "height": height, "request": r.file}),
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
                    // the card's (its node id derives from it), whatever rotations followed
                    "fingerprint": crate::identity::fingerprint(&m.keys[0].age, &m.keys[0].minisign),
                    "rotations": m.keys.len() - 1, "minisign": m.identity.minisign, "age": m.identity.age,
                    "cutoff": m.removed.as_ref().map(|r| r.0),
                }));
            }
            ui.lines(&text, serde_json::Value::Array(rows));
        }
    }
    Ok(0)
}
