//! `issue`: the master generates, signs and encrypts a security file for its holder —
//! the `issue` block, the stored manifest and the file bundle, committed together.
use super::{Sent, Tx, Who, sign_block};
use crate::bundle::{self, NewBundle};
use crate::digest;
use crate::dossier::docs::Signed;
use crate::dossier::{self, ContentInfo, Manifest, RequestDoc};
use crate::error::{Error, IoContext, Result};
use crate::home::Role;
use crate::merge::bodies::{self, IssueBody};
use crate::node::Node;
use crate::subchain::sign;
use crate::transport::{files, outbox, sync};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

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

pub struct Made {
    pub id: String,
    pub holder: String,
    pub sent: Sent,
    pub height: u64,
}

/// Issue under a lock the caller holds (`issue REQUEST_BUNDLE` imports first).
pub fn issue_under(
    node: &Node,
    lock: &crate::home::Lock,
    source: Source<'_>,
    expires: Option<String>,
    armor: bool,
    out: Option<&Path>,
) -> Result<Made> {
    let tx = node.begin_under(lock, Who::Master("issue security files"))?;
    issue_in(tx, source, expires, armor, out)
}

pub fn issue(
    node: &Node,
    source: Source<'_>,
    expires: Option<String>,
    armor: bool,
    out: Option<&Path>,
) -> Result<Made> {
    let tx = node.begin_view(Who::Master("issue security files"))?;
    issue_in(tx, source, expires, armor, out)
}

fn issue_in(
    mut tx: Tx<'_>,
    source: Source<'_>,
    expires: Option<String>,
    armor: bool,
    out: Option<&Path>,
) -> Result<Made> {
    let node = tx.node;
    let st = &tx.st;
    // the attachment as the signed request describes it (name, size, SHA-256)
    let mut requested: Option<ContentInfo> = None;
    let (holder, request, event, fields, content_path, generated): (
        String,
        Option<String>,
        String,
        BTreeMap<String, String>,
        Option<PathBuf>,
        Option<Vec<u8>>,
    ) = match source {
        Source::Request(id) => {
            let d = node.home.path("requests").join(id);
            let rp = d.join("request.yaml");
            let raw = match std::fs::read(&rp) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::rejected(
                        id,
                        "not-found",
                        "no request with this id has been imported here",
                    ));
                }
                Err(e) => return Err(Error::io(&rp, e)),
            };
            let req: RequestDoc =
                dossier::docs::decode(&raw, "request").map_err(|e| Error::rejected(id, "malformed", e))?;
            let files = files::states(node, st)?;
            let issued = node
                .blocks_of_kind(st, node.id(), "issue")?
                .iter()
                .any(|b| b.body_as::<IssueBody>().is_ok_and(|x| x.request.as_deref() == Some(id)));
            if issued || files.values().any(|f| f.request.as_deref() == Some(id)) {
                return Err(Error::rejected(
                    id,
                    "duplicate",
                    "a security file was already issued for this request",
                ));
            }
            if st.eval.members.get(&req.member).is_none_or(|m| m.removed.is_some()) {
                return Err(Error::rejected(
                    id,
                    "not-authorised",
                    format!("requester {} is not an active member", req.member),
                ));
            }
            files::member(st, &req.for_member, "for")?;
            requested = req.attachment.clone();
            let (cp, gen_) = if req.attachment.is_some() {
                (Some(d.join("attachment")), None)
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
            let m = files::member(st, to, "--to")?;
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
    let serial = 1 + node.count_of_kind(st, node.id(), "issue") as u64;
    let to = files::member(st, &holder, "holder")?.clone();
    let file_id = bundle::random_id();
    let content_name = match &content_path {
        Some(p) => crate::ops::attachment_name(p)?,
        None => "security-file.txt".to_string(),
    };
    let (size, reader): (u64, Box<dyn Read>) = match (&content_path, generated) {
        (Some(p), _) => {
            let f = crate::input::open_regular(p)?;
            (f.metadata().at(p)?.len(), Box::new(f))
        }
        (None, Some(g)) => (g.len() as u64, Box::new(std::io::Cursor::new(g))),
        _ => unreachable!("one content source"),
    };
    let send = sync::select_for(node, st, std::slice::from_ref(&to.identity.id))?;
    let dir = tx.stage_dir()?.to_path_buf();
    tx.keys()?;
    let keys = tx.keys.as_ref().expect("loaded");
    let st = &tx.st;
    // One pass over the content: it is hashed while it is encrypted into the payload; the
    // manifest, its signature and the blocks (the new `issue` block last) follow it.
    let mut made: Option<(Manifest, Vec<u8>, String, super::SignedBlock)> = None;
    let key = super::rekey::signing_key(node, &st.eval.members, keys, std::slice::from_ref(&to.identity.id));
    let nb = NewBundle {
        kind: "file",
        sender: node.id(),
        key,
        recipients: vec![(to.identity.id.clone(), to.identity.recipient().map_err(Error::Env)?)],
        created: node.time(),
        armor,
        size_hint: size + super::HINT_SLACK,
    };
    let bar = crate::progress::task("issuing", Some(size), crate::progress::Unit::Bytes);
    let (tmp, header) = bundle::create(nb, &dir, |pw| {
        // hashed on the second core while this one encrypts (the payload writer reads 1 MiB
        // at a time)
        let mut hr = digest::HashingReader::background(crate::progress::Reader::new(reader.take(size), &bar));
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
            None if n != size => {
                return Err(std::io::Error::other(Error::rejected(
                    "attachment",
                    "tampered",
                    "the attachment changed while it was read",
                )));
            }
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
        let block = node
            .next_block(st, "issue", bodies::to_value(&body))
            .and_then(|b| sign_block(node, keys, b))
            .map_err(std::io::Error::other)?;
        pw.entry("manifest.yaml", &raw)?;
        pw.entry("manifest.yaml.minisig", sig.as_bytes())?;
        sync::write_blocks_and(pw, node, st, st.view.as_deref().map(|v| &v.index), &send, Some(&block))?;
        made = Some((m, raw, sig, block));
        Ok(())
    })?;
    let (m, raw, sig, block) = made.expect("filled by the payload writer");
    let height = block.block.height;
    tx.stage_signed(block)?;
    let d = dossier::store::file_dir(&node.home, &m.file);
    tx.put(&d.join("manifest.yaml.minisig"), sig.as_bytes())?;
    tx.put(&d.join("manifest.yaml"), &raw)?;
    let meta = outbox::Meta {
        bundle: header.id.clone(),
        kind: "file".into(),
        recipient: holder.clone(),
        created: header.created.clone(),
        file: Some(m.file.clone()),
        request: m.request.clone(),
        height: None,
        armor,
    };
    let sent = tx.stage_bundle(tmp, header, meta, out)?;
    tx.commit()?;
    Ok(Made {
        id: m.file,
        holder,
        sent,
        height,
    })
}
