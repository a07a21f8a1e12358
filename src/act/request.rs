//! `request`: a member asks the master for a security file — a `request` block and the
//! request bundle (the signed request document, its fields and attachment encrypted to
//! the master), committed together.
use super::{Sent, Who};
use crate::bundle;
use crate::digest;
use crate::dossier::docs::Signed;
use crate::dossier::{self, RequestDoc};
use crate::error::{Error, Result};
use crate::home::Role;
use crate::merge::bodies::{self, RequestBody};
use crate::node::Node;
use crate::subchain::sign;
use crate::transport::{files, outbox};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Request<'a> {
    pub event: &'a str,
    pub fields: BTreeMap<String, String>,
    pub attach: Option<&'a Path>,
    pub for_member: Option<&'a str>,
    pub armor: bool,
    pub out: Option<&'a Path>,
    /// A file of the home to write in the same transaction, given the request id (`watch`
    /// remembers the files it made requests of: never twice, whatever the crash).
    pub remember: Option<&'a dyn Fn(&str) -> (std::path::PathBuf, Vec<u8>)>,
}

/// What `request` made: the request id and the bundle.
pub struct Made {
    pub id: String,
    pub sent: Sent,
    pub height: u64,
}

pub fn request(node: &Node, r: Request<'_>) -> Result<Made> {
    if !dossier::docs::is_event(r.event) {
        return Err(Error::usage(format!(
            "--event {:?}: 1-64 of A-Z a-z 0-9 . _ -",
            r.event
        )));
    }
    let attachment = r.attach.map(crate::ops::attachment).transpose()?;
    let mut tx = node.begin_view(Who::Member("request security files"))?;
    let for_id = match r.for_member {
        Some(w) => files::member(&tx.st, w, "--for")?.identity.id.clone(),
        None => node.id().to_string(),
    };
    if tx
        .st
        .eval
        .members
        .get(&for_id)
        .is_some_and(|m| m.identity.role == Role::Master)
    {
        return Err(Error::usage("--for: security files are for members"));
    }
    let doc = RequestDoc {
        format: 1,
        id: bundle::random_id(),
        member: node.id().to_string(),
        for_member: for_id.clone(),
        event: r.event.to_string(),
        fields: r.fields,
        attachment,
        created: node.time(),
    };
    let raw = dossier::docs::encode(&doc);
    let sig = sign::sign(&tx.keys()?.sign, &raw, &doc.comment()).map_err(Error::Env)?;
    let body = RequestBody {
        request: doc.id.clone(),
        event: r.event.to_string(),
        for_member: for_id,
        digest: digest::hex(&digest::sha256(&raw)),
    };
    let (block, _) = tx.stage_block("request", bodies::to_value(&body))?;
    let master = tx.st.eval.members[&node.config.master].clone();
    let want = doc.attachment.clone();
    let bar = crate::progress::task(
        "requesting",
        want.as_ref().map(|a| a.size),
        crate::progress::Unit::Bytes,
    );
    let (tmp, header) = tx.make_bundle(
        "request",
        &master,
        r.armor,
        want.as_ref().map_or(0, |a| a.size + super::HINT_SLACK),
        |pw| {
            pw.entry("request.yaml", &raw)?;
            pw.entry("request.yaml.minisig", sig.as_bytes())?;
            if let (Some(p), Some(a)) = (r.attach, &want) {
                // the attachment as hashed: a file that changed since is refused, not sent
                let f = std::fs::File::open(p)?;
                let mut hr = digest::HashingReader::background(crate::progress::Reader::new(
                    std::io::Read::take(f, a.size),
                    &bar,
                ));
                pw.entry_from("content", a.size, &mut hr)?;
                let (h, n) = hr.finish();
                if n != a.size || digest::hex(&h) != a.sha256 {
                    return Err(std::io::Error::other(Error::rejected(
                        p.display(),
                        "tampered",
                        "the attachment changed while it was read",
                    )));
                }
            }
            Ok(())
        },
    )?;
    let meta = outbox::Meta {
        bundle: header.id.clone(),
        kind: "request".into(),
        recipient: master.identity.id.clone(),
        created: header.created.clone(),
        file: None,
        request: Some(doc.id.clone()),
        height: None,
        armor: r.armor,
    };
    let sent = tx.stage_bundle(tmp, header, meta, r.out)?;
    if let Some(f) = r.remember {
        let (p, bytes) = f(&doc.id);
        tx.put(&p, &bytes)?;
    }
    tx.commit()?;
    Ok(Made {
        id: doc.id,
        sent,
        height: block.height,
    })
}
