//! `secfile issue`
use crate::act::issue::Source;
use crate::cli::{Context, Ui, label};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Issue a security file (master): from a member's request bundle, or directly with --to
///
/// Verifies the request (signature, requester admitted, not already issued), generates the
/// manifest signed by the master and the content, encrypts both to the holder, and writes
/// an `issue` block. Without --out the bundle goes to outbox/<holder>/.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The member's request bundle (- for stdin), or the id of a request already imported (e.g. by xfer)
    #[arg(required_unless_present = "to", conflicts_with = "to")]
    pub request: Option<PathBuf>,
    /// Issue without a request, to this member
    #[arg(long, value_name = "MEMBER", requires = "attach", add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
    pub to: Option<String>,
    /// The content (with --to; - for stdin)
    #[arg(long, value_name = "FILE")]
    pub attach: Option<PathBuf>,
    /// A field KEY=VALUE (with --to; repeatable)
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = crate::cli::own_text)]
    pub fields: Vec<String>,
    /// The event recorded in the manifest (with --to)
    #[arg(long, default_value = "direct", value_parser = crate::cli::own_text)]
    pub event: String,
    /// Expiry: YYYY-MM-DD, RFC 3339 (Z or +hh:mm), or a duration from now (30d, 12h, 2w)
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Write the bundle to FILE (- for stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write ASCII armor fit for an email body
    #[arg(long)]
    pub armor: bool,
    /// Split the bundle written to --out into signed parts of at most SIZE bytes (e.g. 20M), FILE.p001-of-NNN…
    #[arg(long, value_name = "SIZE", requires = "out", conflicts_with = "armor", value_parser = crate::cli::parse_max_size)]
    pub max_size: Option<u64>,
}

pub fn run(ctx: &Context, ui: &Ui, a: IssueArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::bundle_out(a.armor))?;
    let expires = match &a.expires {
        None => None,
        Some(d) => {
            let t = crate::timefmt::parse_when(d, ctx.now).ok_or_else(|| {
                Error::usage(format!(
                    "--expires {d:?}: want YYYY-MM-DD, RFC 3339 (Z or an offset such as +02:00) or a duration such as 30d, 12h"
                ))
            })?;
            if t < ctx.now {
                ui.warn(&format!(
                    "--expires {d}: that is in the past; the file is issued already expired"
                ));
            }
            Some(crate::timefmt::rfc3339(t))
        }
    };
    let fields = crate::ops::parse_fields(&a.fields)?;
    if a.request.is_some() && (a.attach.is_some() || !fields.is_empty()) {
        return Err(Error::usage(
            "--attach and --field go with --to; a request carries its own",
        ));
    }
    let node = ctx.node()?;
    // with --max-size the commit keeps the bundle whole in the outbox; its parts go to --out
    let out = if a.max_size.is_some() { None } else { a.out.as_deref() };
    let made = match (&a.request, &a.to) {
        (Some(r), _) if !r.exists() && r.to_str().is_some_and(crate::dossier::docs::is_doc_id) => {
            let id = r.to_str().expect("checked");
            crate::act::issue::issue(&node, Source::Request(id), expires, a.armor, out)?
        }
        (Some(r), _) => {
            // import the request, then issue it: two transactions under one lock
            let lock = node.lock()?;
            let rep = {
                let mut tx = node.begin_view_under(&lock, crate::act::Who::Master("issue security files"))?;
                let rep = crate::transport::import::import_in(&mut tx, r, &label(r))?;
                if rep.kind != "request" {
                    return Err(Error::rejected(
                        label(r),
                        "malformed",
                        format!("a {} bundle, not a request", rep.kind),
                    ));
                }
                tx.commit()?;
                rep
            };
            let id = rep.file.expect("a request import names its request");
            crate::act::issue::issue_under(&node, &lock, Source::Request(&id), expires, a.armor, out)?
        }
        (None, Some(to)) => {
            let (attach, _guard) =
                crate::cli::spool_stdin(&node, a.attach.as_deref().expect("clap requires --attach"))?;
            crate::act::issue::issue(
                &node,
                Source::Direct {
                    to,
                    attach: &attach,
                    fields,
                    event: &a.event,
                },
                expires,
                a.armor,
                out,
            )?
        }
        _ => unreachable!("clap requires one"),
    };
    super::report_sent(
        ui,
        &made.sent,
        made.height,
        &format!("issued file {} to {}", made.id, made.holder),
        serde_json::json!({"file": made.id, "id": made.id, "holder": made.holder}),
        &node,
        a.out.as_deref().zip(a.max_size),
    )?;
    Ok(0)
}
