//! `secfile prove`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Write a proof of a file's state that an outsider checks with the master's card alone
///
/// The proof holds the file's manifest and signature, its leaf and Merkle path under the
/// `files` root of the master's latest checkpoint held here whose final chain includes the
/// file, that checkpoint block and signature, and the master's rekey blocks below it.
/// Check it anywhere, with no home, with `secfile verify P --master CARD`. Only the file's
/// holder (as of that checkpoint) or the master may prove it.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The security file's id
    pub id: String,
    /// Where to write the proof (`-`: stdout)
    #[arg(long, value_name = "P")]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, ui: &Ui, a: ProveArgs) -> Result<i32, Error> {
    crate::cli::check_out(Some(&a.out), crate::cli::OutKind::Text)?;
    let node = ctx.node()?;
    let made = crate::act::prove::prove(&node, &a.id)?;
    let bytes = made.proof.to_bytes();
    let info = serde_json::json!({
        "id": a.id, "checkpoint": made.checkpoint, "time": made.time, "holder": made.holder,
        "revoked": made.revoked, "size": bytes.len(), "tree_size": made.proof.size,
        "siblings": made.proof.siblings.len(),
    });
    if crate::input::is_stdin(&a.out) {
        use std::io::Write;
        let mut o = std::io::stdout().lock();
        o.write_all(&bytes)
            .and_then(|_| o.flush())
            .map_err(|e| Error::io("stdout", e))?;
        return Ok(0);
    }
    crate::home::write_out_with(&a.out, |w| std::io::Write::write_all(w, &bytes))?;
    ui.status(&format!(
        "proof of {} as of checkpoint {} ({} bytes, {} of {} leaves' path) -> {}",
        a.id,
        made.checkpoint,
        bytes.len(),
        made.proof.siblings.len(),
        made.proof.size,
        a.out.display()
    ));
    let mut j = info;
    j["out"] = a.out.display().to_string().into();
    ui.result("", j);
    Ok(0)
}
