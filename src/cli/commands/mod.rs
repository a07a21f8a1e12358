//! One file per command; each holds its `Args` (doc comment = help text) and `run`.
pub mod append;
pub mod card;
pub mod checkpoint;
pub mod completions;
pub mod file;
pub mod import;
pub mod init;
pub mod inspect;
pub mod issue;
pub mod log;
pub mod merge;
pub mod op;
pub mod outbox;
pub mod prove;
pub mod rekey;
pub mod request;
pub mod resend;
pub mod roster;
pub mod status;
pub mod sync;
pub mod verify;
pub mod watch;
pub mod xfer;

/// Report a bundle a command committed: write it to an `--out` the commit could not
/// (stdout, a device), say where it went on stderr and, unless the bundle itself went to
/// stdout, print `json` with `out`, `bundle`, `height`, `recipient` and `outbox` added.
pub fn report_sent(
    ui: &crate::cli::Ui,
    sent: &crate::act::Sent,
    height: u64,
    what: &str,
    mut json: serde_json::Value,
    node: &crate::node::Node,
    parts: Option<(&std::path::Path, u64)>,
) -> Result<(), crate::Error> {
    if let Some((out, max)) = parts {
        let written = write_parts(node, &sent.outbox, &sent.header, out, max, None)?;
        ui.status(&format!(
            "{what} -> {} (kept whole in the outbox until {} gives a receipt)",
            crate::cli::ui::plural(written.len(), "part"),
            sent.recipient
        ));
        json["out"] = written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .into();
        json["parts"] = written.len().into();
        json["bundle"] = sent.header.id.clone().into();
        json["height"] = height.into();
        json["recipient"] = sent.recipient.clone().into();
        json["outbox"] = sent.outbox.display().to_string().into();
        ui.result("", json);
        return Ok(());
    }
    sent.write_direct()?;
    let dest = match &sent.out {
        Some(p) if p.as_os_str() == "-" => "stdout".to_string(),
        Some(p) => p.display().to_string(),
        None => sent.outbox.display().to_string(),
    };
    ui.status(&format!(
        "{what} -> {dest} (kept in the outbox until {} gives a receipt)",
        sent.recipient
    ));
    if sent.out.as_deref() == Some(std::path::Path::new("-")) {
        return Ok(());
    }
    json["out"] = dest.into();
    json["bundle"] = sent.header.id.clone().into();
    json["height"] = height.into();
    json["recipient"] = sent.recipient.clone().into();
    json["outbox"] = sent.outbox.display().to_string().into();
    ui.result("", json);
    Ok(())
}

/// Where a bundle for `--out FILE` is built: beside it, so delivering it is a rename.
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

/// Split a kept bundle into signed parts of at most `max` bytes beside `out`
/// (`OUT.p001-of-NNN`…), all of them or only part `only`.
pub fn write_parts(
    node: &crate::node::Node,
    bundle: &std::path::Path,
    header: &crate::bundle::Header,
    out: &std::path::Path,
    max: u64,
    only: Option<u64>,
) -> Result<Vec<std::path::PathBuf>, crate::Error> {
    if out == std::path::Path::new("-") {
        return Err(crate::Error::usage(
            "--max-size writes part files: give --out FILE, not -",
        ));
    }
    let keys = node.keys()?;
    let whose = crate::bundle::parts::Whose {
        id: header.id.clone(),
        sender: header.sender.clone(),
        recipients: header.recipients.clone(),
    };
    crate::bundle::parts::split(
        bundle,
        &whose,
        crate::act::rekey::key_of_bundle(&keys, bundle),
        max,
        only,
        |i, n| crate::bundle::parts::part_name(out, i, n),
    )
}
