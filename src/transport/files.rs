//! Security-file operations that make bundles: a member's request to the master, the
//! master's issue to a holder, a holder's transfer to another member; and the plain
//! operations (endorse, annotate, revoke) that are blocks only.
use super::sync;
use crate::bundle::{self, Header, NewBundle};
use crate::digest::{self, HashingWriter};
use crate::dossier::docs::Signed;
use crate::dossier::{self, ContentInfo, Manifest, RequestDoc, state::FileState};
use crate::error::{Error, IoContext, Result};
use crate::home::Role;
use crate::merge::bodies::{self, IssueBody, NoteBody, RequestBody, TransferBody};
use crate::merge::global;
use crate::node::{Node, State};
use crate::subchain::{Block, sign};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use tempfile::NamedTempFile;

/// A bundle made by one of these operations, not yet delivered.
pub struct Made {
    pub tmp: NamedTempFile,
    pub header: Header,
    pub recipient: String,
    pub block: Block,
    pub id: String,
}

fn member<'a>(st: &'a State, who: &str, flag: &str) -> Result<&'a crate::merge::validate::Member> {
    let m = st
        .eval
        .find_member(who)
        .ok_or_else(|| Error::usage(format!("{flag} {who}: no such member in the roster")))?;
    if m.removed.is_some() {
        return Err(Error::rejected(who, "not-authorised", "removed from the roster"));
    }
    Ok(m)
}

/// File state from this node's global chain (final and tentative).
pub fn states(st: &State) -> (global::Global, BTreeMap<String, FileState>) {
    let g = global::merge(&st.eval, &st.cands);
    let f = dossier::state::derive(&g, &st.eval, &st.cands);
    (g, f)
}

fn bundle_to(
    node: &Node,
    kind: &str,
    to: &crate::merge::validate::Member,
    armor: bool,
    dir: &Path,
    entries: impl FnOnce(&mut bundle::PayloadWriter<&mut dyn Write>) -> std::io::Result<()>,
) -> Result<(NamedTempFile, Header)> {
    let st = node.load()?;
    let send = sync::select(node, &st, std::slice::from_ref(&to.identity.id), false)?;
    let keys = node.keys()?;
    let recipient = to.identity.recipient().map_err(Error::Env)?;
    let nb = NewBundle {
        kind,
        sender: node.id(),
        key: &keys.sign,
        recipients: vec![(to.identity.id.clone(), recipient)],
        created: node.time(),
        armor,
    };
    bundle::create(nb, dir, |pw| {
        entries(pw)?;
        sync::write_blocks(pw, node, &st, None, &send)
    })
}

/// `request`: a member asks the master for a security file.
pub fn request(
    node: &Node,
    event: &str,
    fields: BTreeMap<String, String>,
    attach: Option<&Path>,
    for_member: Option<&str>,
    armor: bool,
    dir: &Path,
) -> Result<Made> {
    if node.config.role != Role::Member {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            "only members request security files",
        ));
    }
    if !dossier::docs::is_event(event) {
        return Err(Error::usage(format!("--event {event:?}: 1-64 of A-Z a-z 0-9 . _ -")));
    }
    let st = node.load()?;
    node.check_can_act(&st)?;
    let for_id = match for_member {
        Some(w) => member(&st, w, "--for")?.identity.id.clone(),
        None => node.id().to_string(),
    };
    if st
        .eval
        .members
        .get(&for_id)
        .is_some_and(|m| m.identity.role == Role::Master)
    {
        return Err(Error::usage("--for: security files are for members"));
    }
    let attachment = attach.map(crate::ops::attachment).transpose()?;
    let doc = RequestDoc {
        format: 1,
        id: bundle::random_id(),
        member: node.id().to_string(),
        for_member: for_id.clone(),
        event: event.to_string(),
        fields,
        attachment,
        created: node.time(),
    };
    let raw = dossier::docs::encode(&doc);
    let keys = node.keys()?;
    let sig = sign::sign(&keys.sign, &raw, &doc.comment()).map_err(Error::Env)?;
    let body = RequestBody {
        request: doc.id.clone(),
        event: event.to_string(),
        for_member: for_id,
        digest: digest::hex(&digest::sha256(&raw)),
    };
    let (block, _) = node.append(&st, &keys, "request", bodies::to_value(&body))?;
    // the roster did not change with this node's own block: the first load still tells
    let master = st.eval.members[&node.config.master].clone();
    let (tmp, header) = bundle_to(node, "request", &master, armor, dir, |pw| {
        pw.entry("request.yaml", &raw)?;
        pw.entry("request.yaml.minisig", sig.as_bytes())?;
        if let Some(p) = attach {
            let f = std::fs::File::open(p)?;
            let size = f.metadata()?.len();
            pw.entry_from("content", size, std::io::BufReader::new(f))?;
        }
        Ok(())
    })?;
    Ok(Made {
        tmp,
        header,
        recipient: master.identity.id.clone(),
        block,
        id: doc.id,
    })
}

/// Where the content of a new security file comes from.
pub enum Source<'a> {
    /// A stored request (imported from its bundle); content = its attachment, else a
    /// generated text document.
    Request(&'a str),
    /// `issue --to MEMBER --attach F`.
    Direct {
        to: &'a str,
        attach: &'a Path,
        fields: BTreeMap<String, String>,
        event: &'a str,
    },
}

/// `issue`: the master generates, signs and encrypts a security file for its holder.
pub fn issue(node: &Node, source: Source<'_>, expires: Option<String>, armor: bool, dir: &Path) -> Result<Made> {
    if node.config.role != Role::Master {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            "only the master issues security files",
        ));
    }
    let st = node.load()?;
    node.check_can_act(&st)?;
    // the attachment as the signed request describes it (name, size, SHA-256)
    let mut requested: Option<ContentInfo> = None;
    let (holder, request, event, fields, content_path, generated): (
        String,
        Option<String>,
        String,
        BTreeMap<String, String>,
        Option<std::path::PathBuf>,
        Option<Vec<u8>>,
    ) = match source {
        Source::Request(id) => {
            let d = node.home.path("requests").join(id);
            let raw = std::fs::read(d.join("request.yaml")).at(d.join("request.yaml"))?;
            let req: RequestDoc =
                dossier::docs::decode(&raw, "request").map_err(|e| Error::rejected(id, "malformed", e))?;
            let (_, files) = states(&st);
            let issued = st.eval.chains[node.id()].iter().any(|&i| {
                let b = st.block(i);
                b.kind == "issue" && b.body_as::<IssueBody>().is_ok_and(|x| x.request.as_deref() == Some(id))
            });
            if issued || files.values().any(|f| f.request.as_deref() == Some(id)) {
                return Err(Error::rejected(
                    id,
                    "duplicate",
                    "a security file was already issued for this request",
                ));
            }
            let requester = st.eval.members.get(&req.member).filter(|m| m.removed.is_none());
            if requester.is_none() {
                return Err(Error::rejected(
                    id,
                    "not-authorised",
                    format!("requester {} is not an active member", req.member),
                ));
            }
            member(&st, &req.for_member, "for")?;
            let att = d.join("attachment");
            requested = req.attachment.clone();
            let (cp, gen_) = if req.attachment.is_some() {
                (Some(att), None)
            } else {
                let mut text = format!(
                    "secfile security electronic file\nevent: {}\nrequested by: {}\n",
                    req.event, req.member
                );
                for (k, v) in &req.fields {
                    text.push_str(&format!("{k}: {v}\n"));
                }
                (None, Some(text.into_bytes()))
            };
            (
                req.for_member.clone(),
                Some(req.id.clone()),
                req.event.clone(),
                req.fields.clone(),
                cp,
                gen_,
            )
        }
        Source::Direct {
            to,
            attach,
            fields,
            event,
        } => {
            let m = member(&st, to, "--to")?;
            if m.identity.role == Role::Master {
                return Err(Error::usage("--to: security files are for members"));
            }
            (
                m.identity.id.clone(),
                None,
                event.to_string(),
                fields,
                Some(attach.to_path_buf()),
                None,
            )
        }
    };
    let serial = 1 + st.eval.chains[node.id()]
        .iter()
        .filter(|&&i| st.block(i).kind == "issue")
        .count() as u64;
    let keys = node.keys()?;
    let to = member(&st, &holder, "holder")?.clone();
    let file_id = bundle::random_id();
    let content_name = match &content_path {
        Some(p) => crate::ops::attachment_name(p)?,
        None => "security-file.txt".to_string(),
    };
    let (size, reader): (u64, Box<dyn Read>) = match (&content_path, generated) {
        (Some(p), _) => {
            let f = std::fs::File::open(p).at(p)?;
            (
                f.metadata().at(p)?.len(),
                Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            )
        }
        (None, Some(g)) => (g.len() as u64, Box::new(std::io::Cursor::new(g))),
        _ => unreachable!("one content source"),
    };
    // One pass over the content: it is hashed while it is encrypted into the payload; the
    // manifest, its signature and the blocks follow it in the payload.
    let mut made: Option<(Manifest, Block)> = None;
    let nb = NewBundle {
        kind: "file",
        sender: node.id(),
        key: &keys.sign,
        recipients: vec![(to.identity.id.clone(), to.identity.recipient().map_err(Error::Env)?)],
        created: node.time(),
        armor,
    };
    let (tmp, header) = bundle::create(nb, dir, |pw| {
        let mut hr = digest::HashingReader::new(reader);
        pw.entry_from("content", size, &mut hr)?;
        let (h, n) = hr.finish();
        // content from a request keeps the name the member gave it; the stored copy must
        // still be what the member signed
        let content = match &requested {
            Some(r) if r.size != n || r.sha256 != digest::hex(&h) => {
                return Err(std::io::Error::other(Error::rejected(
                    "attachment",
                    "tampered",
                    "the stored attachment does not match the signed request",
                )));
            }
            Some(r) => r.clone(),
            None => ContentInfo {
                name: content_name.clone(),
                size: n,
                sha256: digest::hex(&h),
            },
        };
        let m = Manifest {
            format: 1,
            file: file_id.clone(),
            serial,
            issuer: node.id().to_string(),
            holder: holder.clone(),
            request: request.clone(),
            event: event.clone(),
            fields: fields.clone(),
            content,
            issued: node.time(),
            expires: expires.clone(),
        };
        let raw = dossier::docs::encode(&m);
        let sig = sign::sign(&keys.sign, &raw, &m.comment()).map_err(std::io::Error::other)?;
        let body = IssueBody {
            file: m.file.clone(),
            serial,
            holder: holder.clone(),
            request: m.request.clone(),
            manifest: digest::hex(&digest::sha256(&raw)),
            expires: expires.clone(),
        };
        let (block, _) = node
            .append(&st, &keys, "issue", bodies::to_value(&body))
            .map_err(std::io::Error::other)?;
        dossier::store::save(&node.home, &m.file, &raw, sig.as_bytes(), None).map_err(std::io::Error::other)?;
        pw.entry("manifest.yaml", &raw)?;
        pw.entry("manifest.yaml.minisig", sig.as_bytes())?;
        let st2 = node.load().map_err(std::io::Error::other)?;
        let send =
            sync::select(node, &st2, std::slice::from_ref(&to.identity.id), false).map_err(std::io::Error::other)?;
        sync::write_blocks(pw, node, &st2, None, &send)?;
        made = Some((m, block));
        Ok(())
    })?;
    let (m, block) = made.expect("filled by the payload writer");
    Ok(Made {
        tmp,
        header,
        recipient: holder,
        block,
        id: m.file,
    })
}

/// Load a stored manifest and check the master's signature on it.
pub fn stored_manifest(node: &Node, id: &str) -> Result<(Manifest, Vec<u8>, Vec<u8>)> {
    // ids become paths under files/: check the alphabet first (DESIGN §4)
    if !dossier::docs::is_doc_id(id) {
        return Err(Error::usage(format!("{id:?}: not a file id (32 lowercase hex digits)")));
    }
    let (raw, sig) = dossier::store::load(&node.home, id)?
        .ok_or_else(|| Error::rejected(id, "unknown", "this node never received that file"))?;
    let m: Manifest = dossier::docs::open_signed(&raw, &sig, &node.master_card.identity, id, "manifest")?;
    Ok((m, raw, sig))
}

fn holder_checks(node: &Node, f: &FileState, what: &str) -> Result<()> {
    if f.holder != node.id() {
        return Err(Error::rejected(
            &f.id,
            "not-authorised",
            format!("only the current holder may {what} it; the holder is {}", f.holder),
        ));
    }
    if f.revoked.is_some() {
        return Err(Error::rejected(
            &f.id,
            "revoked",
            format!(
                "the file is revoked; it cannot be {}",
                if what == "transfer" { "transferred" } else { "endorsed" }
            ),
        ));
    }
    Ok(())
}

fn find_file<'a>(files: &'a BTreeMap<String, FileState>, id: &str) -> Result<&'a FileState> {
    files
        .get(id)
        .ok_or_else(|| Error::rejected(id, "unknown", "no such security file in this node's chain"))
}

/// `op transfer ID --to MEMBER`: the holder passes the file on, re-encrypted to the new holder.
pub fn transfer(node: &Node, id: &str, to: &str, armor: bool, dir: &Path) -> Result<Made> {
    let st = node.load()?;
    node.check_can_act(&st)?;
    let (_, files) = states(&st);
    let f = find_file(&files, id)?;
    holder_checks(node, f, "transfer")?;
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
    let target = member(&st, to, "--to")?.clone();
    if target.identity.id == node.id() || target.identity.role == Role::Master {
        return Err(Error::usage(format!("--to {to}: transfer to another member")));
    }
    let (m, raw, sig) = stored_manifest(node, id)?;
    let cp = dossier::store::content_path(&node.home, id);
    if !cp.exists() {
        return Err(Error::rejected(
            id,
            "unknown",
            "this node does not hold the content of that file",
        ));
    }
    let mhash = digest::hex(&digest::sha256(&raw));
    let keys = node.keys()?;
    let body = TransferBody {
        file: id.to_string(),
        to: target.identity.id.clone(),
        manifest: mhash,
    };
    let (block, _) = node.append(&st, &keys, "transfer", bodies::to_value(&body))?;
    let (tmp, header) = bundle_to(node, "transfer", &target, armor, dir, |pw| {
        pw.entry("manifest.yaml", &raw)?;
        pw.entry("manifest.yaml.minisig", &sig)?;
        let f = std::fs::File::open(&cp)?;
        pw.entry_from("content", m.content.size, std::io::BufReader::new(f))
    })?;
    Ok(Made {
        tmp,
        header,
        recipient: target.identity.id.clone(),
        block,
        id: id.to_string(),
    })
}

/// `op endorse|annotate|revoke ID`: an operation that is a block only.
pub fn note(node: &Node, kind: &str, id: &str, note: &str) -> Result<Block> {
    if note.len() > crate::subchain::MAX_FIELD {
        return Err(Error::usage(format!(
            "note is over the limit of {} bytes",
            crate::subchain::MAX_FIELD
        )));
    }
    let st = node.load()?;
    node.check_can_act(&st)?;
    let (_, files) = states(&st);
    let f = find_file(&files, id)?;
    match kind {
        "endorse" => holder_checks(node, f, "endorse")?,
        "revoke" => {
            if node.config.role != Role::Master {
                return Err(Error::rejected(
                    node.id(),
                    "not-authorised",
                    "only the master revokes security files",
                ));
            }
            if f.revoked.is_some() {
                return Err(Error::rejected(id, "duplicate", "already revoked"));
            }
        }
        _ => {}
    }
    let keys = node.keys()?;
    let body = NoteBody {
        file: id.to_string(),
        note: note.to_string(),
    };
    Ok(node.append(&st, &keys, kind, bodies::to_value(&body))?.0)
}

/// `file extract`: copy the content out, checking its SHA-256 against the manifest.
pub fn extract(node: &Node, id: &str, out: &mut dyn Write) -> Result<ContentInfo> {
    let (m, _, _) = stored_manifest(node, id)?;
    let cp = dossier::store::content_path(&node.home, id);
    let f = std::fs::File::open(&cp)
        .map_err(|_| Error::rejected(id, "unknown", "this node never received the content of that file"))?;
    let mut w = HashingWriter::background(out);
    std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, f).take(m.content.size + 1),
        &mut w,
    )
    .at(&cp)?;
    let (_, h, n) = w.finish();
    if n != m.content.size || digest::hex(&h) != m.content.sha256 {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content does not match the manifest's SHA-256",
        ));
    }
    Ok(m.content)
}

/// `file extract --out FILE`: check the stored content against the manifest's SHA-256, then
/// copy it File to File (the kernel copies: copy_file_range), so the data crosses user
/// space once, for the hash.
pub fn extract_to_file(node: &Node, id: &str, dest: &mut std::fs::File) -> Result<ContentInfo> {
    let (m, _, _) = stored_manifest(node, id)?;
    let cp = dossier::store::content_path(&node.home, id);
    let mut f = std::fs::File::open(&cp)
        .map_err(|_| Error::rejected(id, "unknown", "this node never received the content of that file"))?;
    let (h, n) = digest::sha256_reader(&mut f).at(&cp)?;
    if n != m.content.size || digest::hex(&h) != m.content.sha256 {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content does not match the manifest's SHA-256",
        ));
    }
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0)).at(&cp)?;
    let copied = std::io::copy(&mut f, dest).at(&cp)?;
    if copied != n {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content changed while it was extracted",
        ));
    }
    Ok(m.content)
}
