//! `secfile request`
use crate::cli::{Context, Ui};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Ask the master for a security file (member): a request bundle plus a `request` block
///
/// The event is the trigger and goes on the chain; fields and the attachment travel
/// encrypted to the master only. Without --out the bundle goes to outbox/<master>/.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The trigger event (A-Z a-z 0-9 . _ -)
    #[arg(long, value_parser = crate::cli::own_text)]
    pub event: String,
    /// A field KEY=VALUE (repeatable)
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = crate::cli::own_text)]
    pub fields: Vec<String>,
    /// A file to send to the master with the request (- for stdin)
    #[arg(long, value_name = "FILE")]
    pub attach: Option<PathBuf>,
    /// The member the file is for [default: this node]
    #[arg(long = "for", value_name = "MEMBER", add = clap_complete::engine::ArgValueCompleter::new(crate::cli::complete::nodes))]
    pub for_member: Option<String>,
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

pub fn run(ctx: &Context, ui: &Ui, a: RequestArgs) -> Result<i32, Error> {
    crate::cli::check_out(a.out.as_deref(), crate::cli::bundle_out(a.armor))?;
    let fields = crate::ops::parse_fields(&a.fields)?;
    let node = ctx.node()?;
    let (attach, _guard) = match &a.attach {
        Some(p) => {
            let (p, g) = crate::cli::spool_stdin(&node, p)?;
            (Some(p), g)
        }
        None => (None, None),
    };
    let made = crate::act::request::request(
        &node,
        crate::act::request::Request {
            event: &a.event,
            fields,
            attach: attach.as_deref(),
            for_member: a.for_member.as_deref(),
            armor: a.armor,
            out: if a.max_size.is_some() { None } else { a.out.as_deref() },
            remember: None,
        },
    )?;
    super::report_sent(
        ui,
        &made.sent,
        made.height,
        &format!("request {} for event {}", made.id, a.event),
        serde_json::json!({"request": made.id}),
        &node,
        a.out.as_deref().zip(a.max_size),
    )?;
    Ok(0)
}
