//! `secfile file list|show|extract|history`
use crate::cli::{Context, Ui, ui::Lines};
use crate::error::Error;
use crate::text::UntrustedExt;
use crate::transport::files;
use clap::Subcommand;
use std::path::PathBuf;

/// Security files: the ones held here, their manifests, content and life on the chain
#[derive(Debug, Subcommand)]
pub enum FileCommand {
    /// List the security files this node holds (the master: every file it issued; --all: every file the chain knows)
    List {
        /// Every file in the global chain, whoever holds it
        #[arg(long)]
        all: bool,
    },
    /// Show a file's manifest and its state from the global chain
    Show {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
    },
    /// Write a file's content, checked against the manifest's SHA-256
    Extract {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
        /// Where to write the content (- or none: stdout, never a terminal)
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
    },
    /// A file's life from the global chain: final, tentative and rejected events
    History {
        /// The file id
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::files))]
        id: String,
    },
}

fn state_json(f: &crate::dossier::state::FileState, names: &dyn Fn(&str) -> String) -> serde_json::Value {
    serde_json::json!({
        "id": f.id, "serial": f.serial, "holder": f.holder, "holder_name": names(&f.holder),
        "revoked": f.revoked.is_some(), "revoke_reason": f.revoked, "expires": f.expires,
        "request": f.request, "endorsements": f.endorsements, "notes": f.notes, "surrendered": f.surrendered,
        "state": if f.tentative { "tentative" } else { "final" },
    })
}

pub fn run(ctx: &Context, ui: &Ui, c: FileCommand) -> Result<i32, Error> {
    if let FileCommand::Extract { out, .. } = &c {
        crate::cli::check_out(Some(out), crate::cli::OutKind::Binary)?;
    }
    let node = ctx.node()?;
    let st = node.load_view()?;
    let all_files = files::states(&node, &st)?;
    let names = |id: &str| {
        st.eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let get = |id: &str| {
        all_files
            .get(id)
            .ok_or_else(|| Error::rejected(id, "not-found", "no such security file in this node's chain"))
    };
    match c {
        FileCommand::List { all } => {
            let mut text = Lines::new();
            let mut rows = Vec::new();
            // the master lists every file it issued; a member those it holds
            let every = all || node.config.role == crate::home::Role::Master;
            for f in all_files.values().filter(|f| every || f.holder == node.id()) {
                let flag = if f.revoked.is_some() { " REVOKED" } else { "" };
                let tent = if f.tentative { " (tentative)" } else { "" };
                text.line(format!(
                    "{} serial {} holder {}{flag}{tent}",
                    f.id,
                    f.serial,
                    names(&f.holder).untrusted()
                ));
                rows.push(state_json(f, &names));
            }
            ui.lines(&text, serde_json::Value::Array(rows));
        }
        FileCommand::Show { id } => {
            let f = get(&id)?;
            let mut j = state_json(f, &names);
            let mut text = Lines::new();
            text.line(format!("file {}", f.id));
            text.line(format!("serial {}", f.serial));
            text.line(format!("holder {} ({})", names(&f.holder).untrusted(), f.holder));
            text.line(match f.revoked.as_deref() {
                Some(r) => format!("revoked yes: {}", r.untrusted()),
                None => "revoked no".into(),
            });
            text.line(if f.surrendered {
                "surrendered yes (returned to the master)"
            } else {
                "surrendered no"
            });
            text.line(if f.tentative {
                "state tentative (not final yet)"
            } else {
                "state final"
            });
            for n in &f.notes {
                text.line(format!("note {}", n.untrusted()));
            }
            if let Ok((m, _, _)) = files::stored_manifest(&node, &id) {
                text.line(format!("event {}", m.event.untrusted()));
                text.line(format!("issued {}", m.issued.untrusted()));
                text.line(format!(
                    "expires {}",
                    m.expires.as_deref().unwrap_or("never").untrusted()
                ));
                text.line(format!(
                    "content {} ({} bytes, sha256 {})",
                    m.content.name.untrusted(),
                    m.content.size,
                    m.content.sha256.untrusted()
                ));
                for (k, v) in &m.fields {
                    text.line(format!("field {}={}", k.untrusted(), v.untrusted()));
                }
                j["manifest"] = serde_json::to_value(&m).unwrap_or_default();
            }
            ui.lines(&text, j);
        }
        FileCommand::Extract { id, out } => {
            let _ = get(&id);
            let info = if out == std::path::Path::new("-") {
                // stdout cannot be taken back: check the stored copy first, then stream it
                files::extract(&node, &id, &mut std::io::sink())?;
                let mut o = std::io::stdout().lock();
                files::extract(&node, &id, &mut o)?
            } else {
                let dir = out
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                let mut tmp = tempfile::Builder::new()
                    .prefix(".tmp-")
                    .tempfile_in(dir)
                    .map_err(|e| Error::io(dir, e))?;
                let info = files::extract_to_file(&node, &id, tmp.as_file_mut())?;
                // outside the home: atomic by rename, no fsync (as `age -o`)
                // the mode before the rename (a failure after it would report an error
                // for a file written); FAT has none to set
                crate::home::set_mode_outside(tmp.path(), 0o600)?;
                tmp.persist(&out).map_err(|e| Error::io(&out, e.error))?;
                ui.status(&format!(
                    "extracted {} ({} bytes, sha256 checked) to {}",
                    id,
                    info.size,
                    out.display()
                ));
                info
            };
            if out != std::path::Path::new("-") {
                ui.result("", serde_json::json!({"id": id, "name": info.name, "size": info.size, "sha256": info.sha256, "out": out.display().to_string()}));
            }
        }
        FileCommand::History { id } => {
            let f = get(&id)?;
            let mut text = Lines::new();
            let mut rows = Vec::new();
            for e in &f.events {
                let outcome = match &e.rejected {
                    None => e.status.to_string(),
                    Some(why) => format!("REJECTED ({})", why.untrusted()),
                };
                let detail = st
                    .eval
                    .members
                    .iter()
                    .fold(e.detail.clone(), |d, (id, m)| d.replace(id.as_str(), &m.identity.name));
                text.line(format!(
                    "{:<9} {} by {} at {}:{} clock {} {} [{}]",
                    e.kind.untrusted(),
                    e.time.untrusted(),
                    names(&e.by).untrusted(),
                    names(&e.chain).untrusted(),
                    e.height,
                    e.clock,
                    detail.untrusted(),
                    outcome
                ));
                rows.push(serde_json::json!({
                    "kind": e.kind, "by": e.by, "by_name": names(&e.by), "height": e.height, "clock": e.clock,
                    "time": e.time, "detail": e.detail, "status": if e.rejected.is_some() { "rejected" } else { &e.status },
                    "final": e.status == "final", "reason": e.rejected,
                }));
            }
            ui.lines(&text, serde_json::json!({"id": id, "holder": f.holder, "events": rows}));
        }
    }
    Ok(0)
}
