//! One file per command; each holds its `Args` (doc comment = help text) and `run`.
pub mod append;
pub mod card;
pub mod checkpoint;
pub mod completions;
pub mod file;
pub mod import;
pub mod init;
pub mod issue;
pub mod log;
pub mod merge;
pub mod op;
pub mod request;
pub mod roster;
pub mod status;
pub mod sync;
pub mod verify;
pub mod xfer;

/// Deliver a bundle made by a command — to `--out` (a path or `-`), else to the outbox of
/// its recipient — then say where it went on stderr and, unless the bundle itself went to
/// stdout, print `json` with `out`, `bundle`, `height` and `recipient` added.
pub fn deliver_made(
    node: &crate::node::Node,
    ui: &crate::cli::Ui,
    made: crate::transport::files::Made,
    out: Option<&std::path::Path>,
    armor: bool,
    what: &str,
    mut json: serde_json::Value,
) -> Result<(), crate::Error> {
    let crate::transport::files::Made {
        tmp,
        header,
        recipient,
        block,
        ..
    } = made;
    let dest = match out {
        Some(p) => {
            crate::transport::sync::deliver(tmp, p, &mut std::io::stdout().lock())?;
            p.display().to_string()
        }
        None => {
            let ext = if armor { "bundle.asc" } else { "bundle" };
            let p = node
                .home
                .outbox_dir()
                .join(&recipient)
                .join(format!("{}.{ext}", header.id));
            crate::transport::sync::deliver(tmp, &p, &mut std::io::sink())?;
            p.display().to_string()
        }
    };
    ui.status(&format!("{what} -> {dest}"));
    if out == Some(std::path::Path::new("-")) {
        return Ok(());
    }
    json["out"] = dest.into();
    json["bundle"] = header.id.into();
    json["height"] = block.height.into();
    json["recipient"] = recipient.into();
    ui.result("", json);
    Ok(())
}

/// Where a bundle is built: beside its `--out` file (so delivering it is a rename), else in
/// the home's tmp/ (same filesystem as the outbox).
pub fn bundle_dir(node: &crate::node::Node, out: Option<&std::path::Path>) -> std::path::PathBuf {
    match out {
        Some(p) if p != std::path::Path::new("-") => p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(".")),
        _ => node.home.tmp_dir(),
    }
}
