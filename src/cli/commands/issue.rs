//! `secfile issue`
use crate::cli::{Context, Ui, label};
use crate::error::Error;
use crate::transport::files::Source;
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
    #[arg(long, value_name = "MEMBER", requires = "attach")]
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
    /// Expiry date (YYYY-MM-DD or RFC 3339 UTC)
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Write the bundle to FILE (- for stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write ASCII armor fit for an email body
    #[arg(long)]
    pub armor: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: IssueArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::bundle_out(a.armor))?;
    let expires = match &a.expires {
        None => None,
        Some(d) => {
            let t = crate::timefmt::parse_rfc3339(d)
                .ok_or_else(|| Error::usage(format!("--expires {d:?}: want YYYY-MM-DD or RFC 3339 UTC")))?;
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
    let _lock = node.lock()?;
    let _spin = ui.spinner("issuing");
    if node.config.role != crate::home::Role::Master {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            "only the master issues security files; this node is a member",
        ));
    }
    let dir = super::bundle_dir(&node, a.out.as_deref());
    let made = match (&a.request, &a.to) {
        (Some(r), _) if !r.exists() && r.to_str().is_some_and(crate::dossier::docs::is_doc_id) => {
            let id = r.to_str().expect("checked").to_string();
            if !node.home.path("requests").join(&id).join("request.yaml").exists() {
                return Err(Error::rejected(
                    &id,
                    "unknown",
                    "no request with this id has been imported here",
                ));
            }
            crate::transport::files::issue(&node, Source::Request(&id), expires, a.armor, &dir)?
        }
        (Some(r), _) => {
            let rep = crate::transport::import(&node, r, &label(r))?;
            let id = match (rep.kind.as_str(), rep.file) {
                ("request", Some(id)) => id,
                _ => {
                    return Err(Error::rejected(
                        label(r),
                        "malformed",
                        format!("a {} bundle, not a request", rep.kind),
                    ));
                }
            };
            crate::transport::files::issue(&node, Source::Request(&id), expires, a.armor, &dir)?
        }
        (None, Some(to)) => {
            let (attach, _guard) =
                crate::cli::spool_stdin(&node, a.attach.as_deref().expect("clap requires --attach"))?;
            let attach = attach.as_path();
            crate::transport::files::issue(
                &node,
                Source::Direct {
                    to,
                    attach,
                    fields,
                    event: &a.event,
                },
                expires,
                a.armor,
                &dir,
            )?
        }
        _ => unreachable!("clap requires one"),
    };
    let (what, json) = (
        format!("issued file {} to {}", made.id, made.recipient),
        serde_json::json!({"file": made.id, "id": made.id, "holder": made.recipient}),
    );
    super::deliver_made(&node, ui, made, a.out.as_deref(), a.armor, &what, json)?;
    Ok(0)
}
