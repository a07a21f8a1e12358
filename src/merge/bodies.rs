//! Typed bodies of the built-in block kinds, and the generic body of script kinds.
use crate::home::Role;
use crate::subchain::{self, Block};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

/// Kinds with a fixed meaning; `append --kind` may not use them.
pub const BUILTIN_KINDS: &[&str] = &[
    "genesis",
    "admit",
    "remove",
    "request",
    "issue",
    "accept",
    "endorse",
    "annotate",
    "transfer",
    "revoke",
    "return",
    "reject",
    "checkpoint",
    "rekey",
];

/// `checkpoint` (master chain): the final chain computed at this very block (its own cut,
/// DESIGN §5 "Checkpoints"): how many entries are final, the running hash of the last one,
/// and the threshold T. `files` (the Merkle root over the files' states) may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointBody {
    #[serde(rename = "final")]
    pub final_count: u64,
    pub head: String,
    pub threshold: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
}

/// `admit` (master chain): the admitted card's identity and the hash of its genesis block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmitBody {
    pub name: String,
    pub role: Role,
    pub id: String,
    pub age: String,
    pub minisign: String,
    pub card: String,
}

/// `remove` (master chain): the removed node and the cutoff: its last block that stays valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    pub id: String,
    pub cutoff: Cutoff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cutoff {
    pub height: u64,
    pub hash: String,
}

/// `rekey` (master chain): node `node` signs its chain with new keys from height `from` on
/// (DESIGN §5 "Keys"). `age` and `minisign` are the new public keys, written as a card's
/// identity writes them (`age1…`, minisign base64 `RW…`). For a member the block binds
/// the keys of its rekey request; for the master (`node` = the master's id) it is the
/// master's own rotation, signed by its old key, and `from` is the block's height + 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RekeyBody {
    pub node: String,
    pub from: u64,
    pub age: String,
    pub minisign: String,
}

/// An attachment recorded by hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The body of a script kind (`append --kind K`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericBody {
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<Attachment>,
}

impl GenericBody {
    pub fn to_value(&self) -> Value {
        let mut fields = Mapping::new();
        for (k, v) in &self.fields {
            fields.insert(k.clone().into(), v.clone().into());
        }
        let atts = self
            .attachments
            .iter()
            .map(|a| {
                let mut m = Mapping::new();
                m.insert("name".into(), a.name.clone().into());
                m.insert("size".into(), a.size.into());
                m.insert("sha256".into(), a.sha256.clone().into());
                Value::Mapping(m)
            })
            .collect();
        let mut m = Mapping::new();
        m.insert("fields".into(), Value::Mapping(fields));
        m.insert("attachments".into(), Value::Sequence(atts));
        Value::Mapping(m)
    }
}

impl AdmitBody {
    pub fn to_value(&self) -> Value {
        let mut m = Mapping::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("role".into(), self.role.as_str().into());
        m.insert("id".into(), self.id.clone().into());
        m.insert("age".into(), self.age.clone().into());
        m.insert("minisign".into(), self.minisign.clone().into());
        m.insert("card".into(), self.card.clone().into());
        Value::Mapping(m)
    }
    pub fn identity(&self) -> crate::identity::Identity {
        crate::identity::Identity {
            name: self.name.clone(),
            role: self.role,
            id: self.id.clone(),
            age: self.age.clone(),
            minisign: self.minisign.clone(),
        }
    }
}

impl RemoveBody {
    pub fn to_value(&self) -> Value {
        let mut c = Mapping::new();
        c.insert("height".into(), self.cutoff.height.into());
        c.insert("hash".into(), self.cutoff.hash.clone().into());
        let mut m = Mapping::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("cutoff".into(), Value::Mapping(c));
        Value::Mapping(m)
    }
}

/// `request` (member chain): a request sent to the master; its fields travel encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    pub request: String,
    pub event: String,
    #[serde(rename = "for")]
    pub for_member: String,
    pub digest: String,
}

/// `issue` (master chain): a security file generated for a holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    pub file: String,
    pub serial: u64,
    pub holder: String,
    pub request: Option<String>,
    pub manifest: String,
    pub expires: Option<String>,
}

/// `transfer` (holder's chain): the file passes to another member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub file: String,
    pub to: String,
    pub manifest: String,
}

/// `accept` (receiver's chain): a received file or transfer, checked and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub file: String,
    pub manifest: String,
    pub from: String,
}

/// `endorse`, `annotate` and `revoke`: an operation on a file with a note or reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub file: String,
    pub note: String,
}

/// Encode a body struct as a block body value (field order = struct order).
pub fn to_value<T: Serialize>(t: &T) -> Value {
    serde_yaml::to_value(t).expect("body serialises")
}

fn hex_ok(s: &str, what: &str) -> Result<(), String> {
    crate::digest::parse_hash(s)
        .map(|_| ())
        .ok_or_else(|| format!("bad {what} hash"))
}

fn file_ok(s: &str) -> Result<(), String> {
    if crate::dossier::docs::is_doc_id(s) {
        Ok(())
    } else {
        Err(format!("bad file id {s:?}"))
    }
}

fn note_ok(s: &str) -> Result<(), String> {
    if s.len() > subchain::MAX_FIELD {
        Err(format!("note is over the limit of {} bytes", subchain::MAX_FIELD))
    } else {
        Ok(())
    }
}

/// Check a field map (keys, value sizes, count).
pub fn check_fields(fields: &BTreeMap<String, String>) -> Result<(), String> {
    if fields.len() > subchain::MAX_FIELDS {
        return Err(format!(
            "{} fields is over the limit of {}",
            fields.len(),
            subchain::MAX_FIELDS
        ));
    }
    for (k, v) in fields {
        if !subchain::is_field_key(k) {
            return Err(format!("bad field name {k:?}"));
        }
        if v.len() > subchain::MAX_FIELD {
            return Err(format!(
                "field {k} is {} bytes, over the limit of {}",
                v.len(),
                subchain::MAX_FIELD
            ));
        }
    }
    Ok(())
}

/// Check a block's body against its kind and its author's role. `author_role` is the role
/// of the chain's owner.
pub fn check_body(b: &Block, author_role: Role) -> Result<(), String> {
    match b.kind.as_str() {
        "genesis" => Err("genesis block above height 0".into()),
        "admit" | "remove" if author_role != Role::Master => Err(format!("only the master may {} members", b.kind)),
        "checkpoint" if author_role != Role::Master => Err("only the master may append checkpoints".into()),
        "rekey" if author_role != Role::Master => Err("only the master may bind new keys (rekey)".into()),
        "rekey" => {
            let r: RekeyBody = b.body_as()?;
            if !subchain::is_node_id(&r.node) {
                return Err(format!("bad node id {:?}", r.node));
            }
            if r.from == 0 {
                return Err("rekey from height 0: a chain's genesis keys are its card's".into());
            }
            std::str::FromStr::from_str(&r.age)
                .map(|_: age::x25519::Recipient| ())
                .map_err(|e| format!("bad age recipient: {e}"))?;
            minisign::PublicKey::from_base64(&r.minisign).map_err(|e| format!("bad minisign public key: {e}"))?;
            Ok(())
        }
        "checkpoint" => {
            let c: CheckpointBody = b.body_as()?;
            hex_ok(&c.head, "head")?;
            if let Some(f) = &c.files {
                hex_ok(f, "files")?;
            }
            Ok(())
        }
        "admit" => {
            let a: AdmitBody = b.body_as()?;
            a.identity().check()?;
            if a.role != Role::Member {
                return Err("only members can be admitted".into());
            }
            crate::digest::parse_hash(&a.card).ok_or("bad card hash")?;
            Ok(())
        }
        "remove" => {
            let r: RemoveBody = b.body_as()?;
            if !subchain::is_node_id(&r.id) {
                return Err(format!("bad node id {:?}", r.id));
            }
            crate::digest::parse_hash(&r.cutoff.hash).ok_or("bad cutoff hash")?;
            Ok(())
        }
        "request" if author_role != Role::Member => Err("only members request security files".into()),
        "issue" | "revoke" if author_role != Role::Master => {
            Err(format!("only the master may {} security files", b.kind))
        }
        "request" => {
            let r: RequestBody = b.body_as()?;
            file_ok(&r.request)?;
            hex_ok(&r.digest, "request")?;
            if !subchain::is_node_id(&r.for_member) || !subchain::is_field_key(&r.event) {
                return Err("bad request body".into());
            }
            Ok(())
        }
        "issue" => {
            let i: IssueBody = b.body_as()?;
            file_ok(&i.file)?;
            hex_ok(&i.manifest, "manifest")?;
            if let Some(r) = &i.request {
                file_ok(r)?;
            }
            if !subchain::is_node_id(&i.holder) {
                return Err("bad holder id".into());
            }
            if i.expires
                .as_deref()
                .is_some_and(|e| crate::timefmt::parse_rfc3339(e).is_none())
            {
                return Err("bad expiry".into());
            }
            Ok(())
        }
        "transfer" => {
            let t: TransferBody = b.body_as()?;
            file_ok(&t.file)?;
            hex_ok(&t.manifest, "manifest")?;
            if !subchain::is_node_id(&t.to) {
                Err("bad recipient id".into())
            } else {
                Ok(())
            }
        }
        "accept" => {
            let a: AcceptBody = b.body_as()?;
            file_ok(&a.file)?;
            hex_ok(&a.manifest, "manifest")?;
            if !subchain::is_node_id(&a.from) {
                Err("bad sender id".into())
            } else {
                Ok(())
            }
        }
        "return" | "reject" if author_role != Role::Member => Err(format!("only members {} security files", b.kind)),
        "endorse" | "annotate" | "revoke" | "return" | "reject" => {
            let n: NoteBody = b.body_as()?;
            file_ok(&n.file)?;
            note_ok(&n.note)
        }
        k if BUILTIN_KINDS.contains(&k) => Err(format!("block kind {k} is not supported by this version")),
        _ => {
            let g: GenericBody = b.body_as()?;
            check_fields(&g.fields)?;
            for a in &g.attachments {
                crate::digest::parse_hash(&a.sha256).ok_or("bad attachment hash")?;
                if a.name.is_empty() || a.name.len() > 255 || a.name.contains('/') {
                    return Err(format!("bad attachment name {:?}", a.name));
                }
            }
            Ok(())
        }
    }
}
