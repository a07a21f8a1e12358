//! `op transfer|endorse|annotate|revoke`: operations on a security file, each a block; a
//! transfer also makes the bundle re-encrypting the file to the new holder, committed
//! with its block.
use super::{Sent, Who};
use crate::digest;
use crate::error::{Error, Result};
use crate::home::Role;
use crate::merge::bodies::{self, NoteBody, TransferBody};
use crate::node::Node;
use crate::subchain::Block;
use crate::transport::{files, outbox};
use std::path::Path;

pub struct Transferred {
    pub to: String,
    pub sent: Sent,
    pub height: u64,
}

/// `op transfer ID --to MEMBER`: the holder passes the file on, re-encrypted to the new
/// holder.
pub fn transfer(node: &Node, id: &str, to: &str, armor: bool, out: Option<&Path>) -> Result<Transferred> {
    let mut tx = node.begin_view(Who::Acting)?;
    let all = files::states(node, &tx.st)?;
    let f = files::find_file(&all, id)?;
    files::holder_checks(node, f, "transfer")?;
    if f.expires
        .as_deref()
        .and_then(crate::timefmt::parse_rfc3339)
        .is_some_and(|x| node.opts.now > x)
    {
        return Err(Error::rejected(
            id,
            "expired",
            "the file has expired; it cannot be transferred",
        ));
    }
    let target = files::member(&tx.st, to, "--to")?.clone();
    if target.identity.id == node.id() || target.identity.role == Role::Master {
        return Err(Error::usage(format!("--to {to}: transfer to another member")));
    }
    let (m, raw, sig) = files::stored_manifest(node, id)?;
    let cp = crate::dossier::store::content_path(&node.home, id);
    let content = crate::input::open_regular(&cp)
        .map_err(|_| Error::rejected(id, "not-found", "this node does not hold the content of that file"))?;
    let body = TransferBody {
        file: id.to_string(),
        to: target.identity.id.clone(),
        manifest: digest::hex(&digest::sha256(&raw)),
    };
    let (block, _) = tx.stage_block("transfer", bodies::to_value(&body))?;
    let bar = crate::progress::task("transferring", Some(m.content.size), crate::progress::Unit::Bytes);
    let (tmp, header) = tx.make_bundle("transfer", &target, armor, m.content.size + super::HINT_SLACK, |pw| {
        pw.entry("manifest.yaml", &raw)?;
        pw.entry("manifest.yaml.minisig", &sig)?;
        // the stored content must still be what the manifest says: checked as it is sent
        let mut hr = digest::HashingReader::background(crate::progress::Reader::new(
            std::io::Read::take(content, m.content.size),
            &bar,
        ));
        pw.entry_from("content", m.content.size, &mut hr)?;
        let (h, n) = hr.finish();
        if n != m.content.size || digest::hex(&h) != m.content.sha256 {
            return Err(std::io::Error::other(Error::rejected(
                cp.display(),
                "tampered",
                "stored content does not match the manifest's SHA-256",
            )));
        }
        Ok(())
    })?;
    let meta = outbox::Meta {
        bundle: header.id.clone(),
        kind: "transfer".into(),
        recipient: target.identity.id.clone(),
        created: header.created.clone(),
        file: Some(id.to_string()),
        request: None,
        height: None,
        armor,
    };
    let sent = tx.stage_bundle(tmp, header, meta, out)?;
    tx.commit()?;
    Ok(Transferred {
        to: target.identity.id,
        sent,
        height: block.height,
    })
}

/// `op endorse|annotate|revoke|return|reject ID`: an operation that is a block only.
pub fn note(node: &Node, kind: &str, id: &str, note: &str) -> Result<Block> {
    if note.len() > crate::subchain::MAX_FIELD {
        return Err(Error::usage(format!(
            "note is over the limit of {} bytes",
            crate::subchain::MAX_FIELD
        )));
    }
    let who = match kind {
        "revoke" => Who::Master("revoke security files"),
        "return" => Who::Member("return security files"),
        "reject" => Who::Member("reject transfers"),
        _ => Who::Acting,
    };
    let mut tx = node.begin_view(who)?;
    let all = files::states(node, &tx.st)?;
    let f = files::find_file(&all, id)?;
    match kind {
        "endorse" | "return" | "reject" => files::holder_checks(node, f, kind)?,
        "revoke" if f.revoked.is_some() => return Err(Error::rejected(id, "duplicate", "already revoked")),
        "annotate" if f.surrendered => {
            return Err(Error::rejected(
                id,
                "surrendered",
                "the file was returned to the master; only a revocation may follow",
            ));
        }
        _ => {}
    }
    if kind == "reject" && f.rejectable_to.is_none() {
        return Err(Error::rejected(
            id,
            "not-authorised",
            "no transfer to reject: this node received the file by issue, or endorsed, transferred or returned it since",
        ));
    }
    let body = NoteBody {
        file: id.to_string(),
        note: note.to_string(),
    };
    let (b, _) = tx.stage_block(kind, bodies::to_value(&body))?;
    tx.commit()?;
    Ok(b)
}
