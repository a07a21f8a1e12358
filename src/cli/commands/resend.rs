//! `secfile resend`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Write a bundle kept in the outbox again
///
/// For a lost stick, a bad sector or a deleted email: the bundle is written again byte for
/// byte (it stays in the outbox until its recipient acknowledges it). Without --out it
/// is only checked to be there.
#[derive(Debug, Args)]
pub struct ResendArgs {
    /// The bundle id (see `secfile outbox`)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::bundles))]
    pub bundle: String,
    /// Write the bundle to FILE (- for stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write it ASCII-armored (fit for an email body), whatever form it is kept in
    #[arg(long)]
    pub armor: bool,
    /// Write it as signed parts of at most SIZE bytes beside --out (FILE.p001-of-NNN…)
    #[arg(long, value_name = "SIZE", requires = "out", conflicts_with = "armor", value_parser = crate::cli::parse_max_size)]
    pub max_size: Option<u64>,
    /// With --max-size, write only part K (a part that was lost or damaged)
    #[arg(long, value_name = "K", requires = "max_size")]
    pub part: Option<u64>,
}

pub fn run(ctx: &Context, ui: &Ui, a: ResendArgs) -> Result<i32, Error> {
    if !crate::dossier::docs::is_doc_id(&a.bundle) {
        return Err(Error::usage(format!(
            "{:?}: not a bundle id (32 lowercase hex digits)",
            a.bundle
        )));
    }
    crate::cli::check_out(a.out.as_deref(), crate::cli::bundle_out(a.armor))?;
    let node = ctx.node()?;
    let e = crate::transport::outbox::find(&node.home, &a.bundle)?.ok_or_else(|| {
        Error::rejected(
            &a.bundle,
            "not-found",
            "no such bundle in the outbox (acknowledged already, or never made here)",
        )
    })?;
    if let (Some(max), Some(out)) = (a.max_size, &a.out) {
        let keys = node.keys()?;
        let whose = crate::bundle::parts::Whose {
            id: e.meta.bundle.clone(),
            sender: node.id().to_string(),
            recipients: vec![e.meta.recipient.clone()],
        };
        let written = crate::bundle::parts::split(
            &e.path,
            &whose,
            crate::act::rekey::key_of_bundle(&keys, &e.path),
            max,
            a.part,
            |i, n| crate::bundle::parts::part_name(out, i, n),
        )?;
        if written.is_empty() {
            return Err(Error::usage(format!(
                "--part {}: the bundle has fewer parts at --max-size {max}",
                a.part.unwrap_or(0)
            )));
        }
        ui.status(&format!(
            "{} bundle {} for {} -> {}",
            e.meta.kind,
            e.meta.bundle,
            e.meta.recipient,
            crate::cli::ui::plural(written.len(), "part")
        ));
        ui.result(
            "",
            serde_json::json!({"bundle": e.meta.bundle, "kind": e.meta.kind, "recipient": e.meta.recipient,
                "out": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()}),
        );
        return Ok(0);
    }
    let src = if a.armor && !e.meta.armor {
        // armor a copy in tmp/
        let dir = node.home.tmp_dir();
        crate::home::ensure_dir(&dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(|er| Error::io(&dir, er))?;
        let f = std::fs::File::open(&e.path).map_err(|er| Error::io(&e.path, er))?;
        crate::bundle::armor::encode(std::io::BufReader::new(f), tmp.as_file_mut())
            .map_err(|er| Error::io(tmp.path(), er))?;
        Some(tmp)
    } else {
        None
    };
    let from = src.as_ref().map_or(e.path.clone(), |t| t.path().to_path_buf());
    let dest = match &a.out {
        None => e.path.display().to_string(),
        Some(out) => {
            match std::fs::metadata(out) {
                Ok(m) if !m.is_file() => crate::act::write_copy(&from, out)?,
                _ if out == std::path::Path::new("-") => crate::act::write_copy(&from, out)?,
                _ => {
                    // never makes the directory (checked first by check_out)
                    let mut f = std::fs::File::open(&from).map_err(|er| Error::io(&from, er))?;
                    crate::home::write_out_with(out, |w| std::io::copy(&mut f, w).map(|_| ()))?;
                }
            }
            out.display().to_string()
        }
    };
    ui.status(&format!(
        "{} bundle {} for {} -> {dest}",
        e.meta.kind, e.meta.bundle, e.meta.recipient
    ));
    if a.out.as_deref() != Some(std::path::Path::new("-")) {
        ui.result(
            "",
            serde_json::json!({"bundle": e.meta.bundle, "kind": e.meta.kind, "recipient": e.meta.recipient, "out": dest}),
        );
    }
    Ok(0)
}
