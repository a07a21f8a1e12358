//! `secfile verify`
use crate::audit::{self, Report};
use crate::cli::{Context, Ui, ui::Lines, ui::sanitize};
use crate::error::Error;
use crate::text::UntrustedExt;
use clap::Args;
use std::path::PathBuf;

/// Audit the home, or the bundles, cards, homes and proofs given, and report every problem
///
/// Exits 0 when everything checks, 1 when any problem is found. A proof file (from `prove`)
/// is checked with the master's card alone, no home needed: `verify P --master CARD`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Bundles, cards, node homes or proofs to check instead of the home
    pub paths: Vec<PathBuf>,
    /// The master's card to check proofs with (default: the card this home pinned)
    #[arg(long, value_name = "CARD")]
    pub master: Option<PathBuf>,
    /// Also require HASH to be the running hash of an entry of this node's final global chain
    #[arg(long, value_name = "HASH")]
    pub global_head: Option<String>,
}

pub fn run(ctx: &Context, ui: &Ui, a: VerifyArgs) -> Result<i32, Error> {
    let mut report = Report::default();
    let mut head = None;
    if let Some(h) = &a.global_head {
        head = Some(
            crate::digest::parse_hash(h)
                .ok_or_else(|| Error::usage(format!("--global-head {h:?}: want 64 lowercase hex digits")))?,
        );
    }
    if a.paths.is_empty() || head.is_some() {
        let node = ctx.node()?;
        // An auditor may verify a copy on read-only media: then there is no lock to take and
        // no checkpoint to write, and verify still checks everything.
        let lock = match node.lock() {
            Ok(l) => Some(l),
            Err(Error::Io { input, source }) => {
                ui.warn(&format!(
                    "{input}: {source}: verifying without the lock; the checkpoint is not updated"
                ));
                None
            }
            Err(e) => return Err(e),
        };
        // streamed (memory bounded by the settled index) unless the store is not clean;
        // SECFILE_VERIFY_WHOLE=1 evaluates everything at once, as before (for comparison)
        let mode = match std::env::var_os("SECFILE_VERIFY_WHOLE").is_some_and(|v| v == "1") {
            true => audit::stream::Mode::Whole,
            false => audit::stream::Mode::Stream,
        };
        let query = head.zip(a.global_head.as_deref());
        let verified = audit::stream::audit_home(&node, query, mode, &mut report)?;
        if lock.is_some() {
            verified.save(&node, report.ok())?;
        }
        // the whole evaluation holds every block: the process is about to exit
        std::mem::forget(verified);
    }
    if !a.paths.is_empty() {
        let node = ctx.node().ok();
        let master = match &a.master {
            Some(c) => {
                let bytes = crate::input::read_bounded(c, crate::input::MAX_CARD, "card")?;
                Some(crate::identity::Card::parse(&bytes).map_err(|e| Error::rejected(c.display(), "malformed", e))?)
            }
            None => node.as_ref().map(|n| n.master_card.clone()),
        };
        for p in &a.paths {
            if !p.is_dir() && audit::proof::is_proof(p) {
                let card = master.as_ref().ok_or_else(|| {
                    Error::usage(format!(
                        "{}: checking a proof needs --master CARD (the master's card)",
                        p.display()
                    ))
                })?;
                audit::proof::verify_proof(p, card, ctx.options().now, &mut report)?;
            } else if p.is_dir() && p.join("manifest.yaml").exists() {
                let node = node
                    .as_ref()
                    .ok_or_else(|| Error::Env(format!("{}: verifying a security file needs a home", p.display())))?;
                audit::verify_stored_file(node, p, &mut report)?;
            } else if p.is_dir() {
                let sub = crate::node::Node::open(crate::home::Home::new(p), ctx.options())?;
                audit::verify_home(&sub, &mut report)?;
            } else {
                if p == std::path::Path::new("-") {
                    // stdin: keep a copy in the home's tmp/ so it can be read twice
                    let n = node
                        .as_ref()
                        .ok_or_else(|| Error::Env("verify -: needs a home".into()))?;
                    // a bundle: its first bytes are checked before anything is spooled,
                    // and no more than its signed size is kept (bounded input)
                    let (path, tmp) = match crate::bundle::materialise(p, "stdin", &n.home.tmp_dir()) {
                        Ok(x) => x,
                        Err(Error::Rejected { kind, detail, .. }) => {
                            report.push("stdin", kind, detail);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    let tmp = tmp.expect("stdin is always spooled");
                    debug_assert_eq!(path, tmp.path());
                    let before = report.problems.len();
                    audit::verify_path(node.as_ref(), tmp.path(), &mut report)?;
                    let tp = tmp.path().display().to_string();
                    for pr in &mut report.problems[before..] {
                        pr.input = pr.input.replace(&tp, "stdin");
                    }
                    for st in &mut report.steps {
                        st.input = st.input.replace(&tp, "stdin");
                    }
                } else {
                    audit::verify_path(node.as_ref(), p, &mut report)?;
                }
            }
        }
    }
    let mut text = Lines::new();
    for p in &report.problems {
        text.line(format!(
            "{}: {} [{}]",
            p.input.untrusted(),
            p.message.untrusted(),
            p.kind
        ));
    }
    for st in &report.steps {
        text.line(format!(
            "{}: {:<20} {} {}",
            st.input.untrusted(),
            st.step,
            if st.ok { "ok  " } else { "FAIL" },
            st.detail.untrusted()
        ));
    }
    for n in &report.notes {
        ui.status(&sanitize(n));
    }
    let summary = if report.ok() {
        use crate::cli::ui::plural;
        match report.proofs {
            0 => format!(
                "ok: {} in {}, {} checked",
                plural(report.blocks, "block"),
                plural(report.chains, "chain"),
                plural(report.bundles, "bundle")
            ),
            n => format!(
                "ok: {} in {}, {}, {} checked",
                plural(report.blocks, "block"),
                plural(report.chains, "chain"),
                plural(report.bundles, "bundle"),
                plural(n, "proof")
            ),
        }
    } else {
        format!("FAILED: {}", crate::cli::ui::plural(report.problems.len(), "problem"))
    };
    text.line(summary);
    ui.lines(
        &text,
        serde_json::json!({
            "ok": report.ok(), "problems": report.problems, "notes": report.notes,
            "blocks": report.blocks, "chains": report.chains, "bundles": report.bundles, "proofs": report.proofs, "steps": report.steps,
        }),
    );
    Ok(if report.ok() { 0 } else { 1 })
}
