//! `secfile card`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Export this node's card (its self-signed public identity)
#[derive(Debug, Args)]
pub struct CardArgs {
    /// Write the card to FILE (- for stdout, the default)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Context, ui: &Ui, a: CardArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::OutKind::Text)?;
    let node = ctx.node()?;
    let card = node.card()?;
    let bytes = card.to_bytes();
    let id = &card.identity;
    let info =
        serde_json::json!({"id": id.id, "name": id.name, "role": id.role.as_str(), "fingerprint": id.fingerprint()});
    match a.out.as_deref() {
        Some(p) if p != std::path::Path::new("-") => {
            crate::home::write_out_with(p, |w| std::io::Write::write_all(w, &bytes))?;
            ui.status(&format!("wrote card of {} to {}", id.name, p.display()));
            let mut j = info;
            j["out"] = p.display().to_string().into();
            if ui.json {
                ui.result("", j);
            }
        }
        _ if ui.json => {
            let mut j = info;
            j["card"] = String::from_utf8_lossy(&bytes).into_owned().into();
            ui.result("", j);
        }
        _ => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(&bytes)
                .and_then(|_| o.flush())
                .map_err(|e| Error::io("stdout", e))?;
        }
    }
    Ok(0)
}
