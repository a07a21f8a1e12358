//! `secfile init`
use crate::cli::{Context, Ui, label, read_input};
use crate::error::Error;
use crate::home::Role;
use crate::identity::grouped;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Master,
    Member,
}

/// Create a node: keys, home layout and genesis block
///
/// A member pins the master's card given with --master and prints its fingerprint:
/// compare it with the master's own `secfile status` over a trusted channel.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// This node's name in the roster (1-64 of A-Z a-z 0-9 . _ -)
    #[arg(long)]
    pub name: String,
    /// The node's role
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The master's card (members only; - for stdin)
    #[arg(long, value_name = "CARD")]
    pub master: Option<PathBuf>,
}

pub fn run(ctx: &Context, ui: &Ui, a: InitArgs) -> Result<i32, Error> {
    let role = match a.role {
        RoleArg::Master => Role::Master,
        RoleArg::Member => Role::Member,
    };
    let card = match &a.master {
        Some(p) => Some((read_input(p, 1 << 20)?, label(p))),
        None => None,
    };
    let home = ctx.home()?;
    let info = crate::node::init(
        home,
        &a.name,
        role,
        card.as_ref().map(|(b, l)| (b.as_slice(), l.as_str())),
        &ctx.options(),
    )?;
    let mut text = crate::cli::ui::Lines::new();
    text.line(format!(
        "initialised {} {} (id {}) in {}",
        role.as_str(),
        info.name,
        info.id,
        home.root.display()
    ));
    text.line(format!("fingerprint: {}", grouped(&info.fingerprint)));
    if role == Role::Member {
        text.line(format!("pinned master {} with fingerprint:", info.master_id));
        text.line(format!("  {}", grouped(&info.master_fingerprint)));
        text.line("compare it with the master's fingerprint over a trusted channel");
    }
    ui.lines(
        &text,
        serde_json::json!({
            "id": info.id, "name": info.name, "role": role.as_str(), "fingerprint": info.fingerprint,
            "home": home.root.display().to_string(),
            "master": {"id": info.master_id, "fingerprint": info.master_fingerprint},
        }),
    );
    Ok(0)
}
