//! One file per command; each holds its `Args` (doc comment = help text) and `run`.
pub mod append;
pub mod card;
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

/// Deliver a bundle made by a command: to `--out` (a path or `-`), else to the outbox of
/// its recipient. Returns where it went.
pub fn deliver_made(
    node: &crate::node::Node,
    tmp: tempfile::NamedTempFile,
    header: &crate::bundle::Header,
    recipient: &str,
    out: Option<&std::path::Path>,
    armor: bool,
) -> Result<String, crate::Error> {
    match out {
        Some(p) => {
            crate::transport::sync::deliver(tmp, p, &mut std::io::stdout().lock())?;
            Ok(p.display().to_string())
        }
        None => {
            let ext = if armor { "bundle.asc" } else { "bundle" };
            let p = node
                .home
                .outbox_dir()
                .join(recipient)
                .join(format!("{}.{ext}", header.id));
            crate::transport::sync::deliver(tmp, &p, &mut std::io::sink())?;
            Ok(p.display().to_string())
        }
    }
}

/// Print a JSON result unless the bundle itself went to stdout.
pub fn result_unless_stdout(ui: &crate::cli::Ui, out: Option<&std::path::Path>, json: serde_json::Value) {
    if out == Some(std::path::Path::new("-")) {
        return;
    }
    ui.result("", json);
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
