//! `secfile inspect`
use crate::cli::{Context, Ui, label, ui::sanitize};
use crate::error::Error;
use clap::Args;
use std::path::PathBuf;

/// Show what a bundle is and carries, writing nothing
///
/// For anyone: the signed header (kind, id, sender, recipients, created, payload digest).
/// With a home: whether the sender's signature holds; for a recipient, the blocks it
/// carries per chain (new here or already held), the security file or request inside,
/// and receipts. `import --dry-run` says what importing it would do.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle (- for stdin); armored or binary
    pub bundle: PathBuf,
}

pub fn run(ctx: &Context, ui: &Ui, a: InspectArgs) -> Result<i32, Error> {
    let node = ctx.node().ok();
    let l = label(&a.bundle);
    let r = crate::transport::inspect::inspect(node.as_ref(), &a.bundle, &l)?;
    let h = &r.header;
    let mut text = format!(
        "bundle {}\nkind {}\nsender {}{}\nrecipients {}\ncreated {}\npayload {} bytes, sha256 {}\nsignature {}\n",
        h.id,
        h.kind,
        h.sender,
        r.sender_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
        h.recipients.join(", "),
        sanitize(&h.created),
        h.payload.size,
        h.payload.sha256,
        sanitize(&r.signature),
    );
    if !r.addressed {
        text.push_str("not addressed to this node: its payload cannot be read here\n");
    }
    if let Some(c) = &r.contents {
        let new = c.blocks.iter().filter(|b| !b.held).count();
        text.push_str(&format!(
            "{} ({} new here, {} already held)\n",
            crate::cli::ui::plural(c.blocks.len(), "block"),
            new,
            c.blocks.len() - new
        ));
        let mut chains: Vec<&str> = c.blocks.iter().map(|b| b.chain.as_str()).collect();
        chains.dedup();
        for ch in chains {
            let bs: Vec<_> = c.blocks.iter().filter(|b| b.chain == ch).collect();
            let (lo, hi) = (bs[0].height, bs[bs.len() - 1].height);
            let kinds: Vec<String> = bs
                .iter()
                .map(|b| format!("{}:{}{}", b.height, sanitize(&b.kind), if b.held { "" } else { "*" }))
                .collect();
            text.push_str(&format!("  chain {ch} heights {lo}..{hi}: {}\n", kinds.join(" ")));
        }
        if let Some(m) = &c.manifest {
            text.push_str(&format!(
                "security file {} serial {} for {} event {}, content {} ({} bytes)\n",
                m.file,
                m.serial,
                m.holder,
                sanitize(&m.event),
                sanitize(&m.content.name),
                m.content.size
            ));
        }
        if let Some(q) = &c.request {
            text.push_str(&format!(
                "request {} by {} for {} event {}\n",
                q.id,
                q.member,
                q.for_member,
                sanitize(&q.event)
            ));
        }
        if let Some(rc) = &c.receipts {
            text.push_str(&format!(
                "receipts {}, acknowledgements {}\n",
                rc.receipts.len(),
                rc.acks.len()
            ));
        }
    }
    ui.result(&text, serde_json::to_value(&r).unwrap_or_default());
    Ok(0)
}
