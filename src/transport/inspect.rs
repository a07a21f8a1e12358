//! `inspect BUNDLE`: what a bundle is and carries, nothing written. Its plaintext header
//! for anyone; whether its signature holds when the sender is in this node's roster; and,
//! when this node is a recipient, what the payload carries — the blocks per chain (new
//! here or already held), the security file or request, receipts — read as a stream
//! (the content is hashed, never stored).
use super::receipts::Carried;
use super::sync::{self, Frontier};
use crate::bundle::{self, Header, PayloadReader};
use crate::digest::{self, HashingWriter};
use crate::dossier::{self, Manifest, RequestDoc};
use crate::error::{Error, Result};
use crate::node::Node;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct BlockInfo {
    pub chain: String,
    pub height: u64,
    pub kind: String,
    pub hash: String,
    /// Already held in this node's chains.
    pub held: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Contents {
    pub frontier: Vec<crate::subchain::SeenRef>,
    pub blocks: Vec<BlockInfo>,
    pub manifest: Option<Manifest>,
    pub request: Option<RequestDoc>,
    /// The content: size and SHA-256.
    pub content: Option<(u64, String)>,
    pub receipts: Option<Carried>,
}

#[derive(Debug, Serialize)]
pub struct Inspected {
    pub header: Header,
    pub sender_name: Option<String>,
    /// `good`, `bad: …`, or `unknown sender` (not in this node's roster, or no home).
    pub signature: String,
    /// This node is a recipient.
    pub addressed: bool,
    pub contents: Option<Contents>,
}

pub fn inspect(node: Option<&Node>, input: &Path, label: &str) -> Result<Inspected> {
    let tmp_dir = std::env::temp_dir();
    let (path, _guard) = bundle::materialise(input, label, &tmp_dir)?;
    let parsed = bundle::parse(&path, label)?;
    let h = parsed.header.clone();
    let Some(node) = node else {
        return Ok(Inspected {
            header: h,
            sender_name: None,
            signature: "unknown sender (no home)".into(),
            addressed: false,
            contents: None,
        });
    };
    let st = node.load()?;
    let sender = st.eval.members.get(&h.sender);
    let signature = match sender {
        None => "unknown sender: not in this node's roster".to_string(),
        Some(_) => match super::import::authenticate_sender(&st, &path, label, &parsed) {
            Ok(_) => "good".into(),
            Err(e) => format!("bad: {e}"),
        },
    };
    let addressed = h.recipients.iter().any(|r| r == node.id());
    let mut out = Inspected {
        header: h,
        sender_name: sender.map(|m| m.identity.name.clone()),
        signature,
        addressed,
        contents: None,
    };
    if !addressed || out.signature != "good" {
        return Ok(out);
    }
    let held: BTreeSet<digest::Hash> = st.eval.chains.values().flatten().map(|&i| st.cands[i].hash).collect();
    let keys = node.keys()?;
    let reader = bundle::decrypt_stream(&path, label, &parsed, &keys.age_identities())?;
    let bad = |e: String| Error::rejected(label, "malformed", e);
    let mut r = PayloadReader::new(reader).map_err(bad)?;
    let mut c = Contents::default();
    while let Some(e) = r.next_entry().map_err(bad)? {
        match e.name.as_str() {
            "frontier.yaml" => {
                let b = r.read_small(&e, sync::MAX_FRONTIER).map_err(bad)?;
                c.frontier = Frontier::decode(&b).map_err(bad)?.heads;
            }
            "receipts.yaml" => {
                let b = r.read_small(&e, super::receipts::MAX_ENTRY).map_err(bad)?;
                c.receipts = Some(Carried::decode(&b).map_err(bad)?);
            }
            "manifest.yaml" => {
                let b = r.read_small(&e, dossier::docs::MAX_DOC).map_err(bad)?;
                c.manifest = Some(dossier::docs::decode(&b, "manifest").map_err(bad)?);
            }
            "request.yaml" => {
                let b = r.read_small(&e, dossier::docs::MAX_DOC).map_err(bad)?;
                c.request = Some(dossier::docs::decode(&b, "request").map_err(bad)?);
            }
            "content" => {
                let mut w = HashingWriter::new(std::io::sink());
                r.copy_to(&e, &mut w).map_err(|er| match er {
                    crate::bundle::payload::CopyError::Bad(m) => bad(m),
                    crate::bundle::payload::CopyError::Io(io) => Error::io(label, io),
                })?;
                let (_, hash, n) = w.finish();
                c.content = Some((n, digest::hex(&hash)));
            }
            name => match sync::parse_entry_name(name) {
                Some((chain, height, hash, false)) => {
                    let b = r.read_small(&e, crate::subchain::MAX_BLOCK).map_err(bad)?;
                    let kind = crate::subchain::Block::decode(&b).map_or_else(|_| "?".into(), |b| b.kind);
                    let held = digest::parse_hash(&hash).is_some_and(|x| held.contains(&x));
                    c.blocks.push(BlockInfo {
                        chain,
                        height,
                        kind,
                        hash,
                        held,
                    });
                }
                _ => {
                    r.read_small(&e, crate::envelope::MAX_SIG.max(dossier::docs::MAX_DOC))
                        .map_err(bad)?;
                }
            },
        }
    }
    out.contents = Some(c);
    Ok(out)
}
