//! `rekey` and `roster rekey`: planned key rotation under the same node id (DESIGN §3,
//! §5 "Keys").
//!
//! A member makes new keys (kept in `keys/next/` until they are bound) and a *rekey
//! request* signed by its current key and by the new one, naming its next height, for the
//! master. The master checks it and appends a `rekey` block on its chain. The member
//! appends nothing meanwhile; the transaction that brings it the `rekey` block binding
//! its new keys switches them (`keys/` ← `keys/next/`, the old set to
//! `keys/retired/<n>/`). The master rotates its own keys with a `rekey` block signed by
//! its old key, switching them in the same transaction.
use super::{Sent, Tx, Who};
use crate::bundle;
use crate::dossier::docs::{self, Signed};
use crate::error::{Error, Result};
use crate::home::Role;
use crate::identity::keys::{KeyFiles, Keys, NEXT, Protection, RETIRED, SigningKey};
use crate::merge::bodies::{self, RekeyBody};
use crate::merge::validate::Member;
use crate::node::Node;
use crate::subchain::sign;
use crate::transport::outbox;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The request document and its two signatures, as bundle entries.
pub const DOC: &str = "rekey.yaml";
/// Its signature by the node's current key.
pub const SIG_OLD: &str = "rekey.yaml.minisig";
/// Its signature by the new key.
pub const SIG_NEW: &str = "rekey.yaml.new.minisig";

/// A member's rekey request: from height `from` of its chain on, it signs with
/// `minisign` and receives with `age`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RekeyRequest {
    pub format: u32,
    pub id: String,
    pub node: String,
    pub from: u64,
    pub age: String,
    pub minisign: String,
    pub created: String,
}

impl Signed for RekeyRequest {
    const WHAT: &'static str = "rekey request";
    fn comment(&self) -> String {
        format!("secfile rekey {} {} from {}", self.id, self.node, self.from)
    }
}

/// What `rekey` did.
pub enum Rotated {
    /// A member: the request bundle for the master; `from` its next height.
    Requested { id: String, from: u64, sent: Box<Sent> },
    /// The master: its `rekey` block's height; `from` = height + 1.
    Master { height: u64, from: u64 },
}

fn next_dir(node: &Node) -> PathBuf {
    node.home.keys_dir().join(NEXT)
}

/// True while a member's rotation awaits the master's `rekey` block.
pub fn pending(node: &Node) -> bool {
    node.config.role == Role::Member && next_dir(node).join("minisign.pub").exists()
}

/// The public key of the new keys waiting in `keys/next/`.
fn next_public(node: &Node) -> Option<String> {
    let t = std::fs::read_to_string(next_dir(node).join("minisign.pub")).ok()?;
    minisign::PublicKeyBox::from_string(&t)
        .and_then(|b| b.into_public_key())
        .ok()
        .map(|pk| pk.to_base64())
}

/// The refusal of an append while a rotation is pending.
pub fn pending_error(node: &Node) -> Error {
    Error::rejected(
        node.id(),
        "rekey-pending",
        "this node's key rotation awaits the master's rekey block: it appends nothing until a sync bundle from the master brings it",
    )
}

/// `rekey`: a member's request, or the master's own rotation.
pub fn rekey(node: &Node, armor: bool, out: Option<&Path>) -> Result<Rotated> {
    match node.config.role {
        Role::Master => master_self(node),
        Role::Member => request(node, armor, out),
    }
}

fn protection(node: &Node) -> Result<Protection> {
    if node.config.encrypted_keys && node.opts.passphrase.is_none() {
        return Err(Error::usage(
            "the keys are passphrase-protected: pass --passphrase-file (the new keys are protected with it too)",
        ));
    }
    Ok(Protection {
        passphrase: node.opts.passphrase.clone(),
        age_work_factor: node.opts.age_work_factor,
    })
}

fn request(node: &Node, armor: bool, out: Option<&Path>) -> Result<Rotated> {
    let mut tx = node.begin(Who::Member("request a key rotation"))?;
    if pending(node) {
        return Err(Error::rejected(
            node.id(),
            "rekey-pending",
            "a key rotation is already pending: the master's rekey block has not arrived (resend the request from the outbox)",
        ));
    }
    let me = node.id().to_string();
    let from = tx
        .st
        .head(&me)
        .map(|(_, b)| b.height + 1)
        .expect("an acting node has a head");
    let (new, files) = Keys::generate_files(&node.time(), &protection(node)?)?;
    let doc = RekeyRequest {
        format: 1,
        id: bundle::random_id(),
        node: me.clone(),
        from,
        age: new.age_recipient(),
        minisign: new.sign.public_base64(),
        created: node.time(),
    };
    let raw = docs::encode(&doc);
    let old_sig = sign::sign(&tx.keys()?.sign, &raw, &doc.comment()).map_err(Error::Env)?;
    let new_sig = sign::sign(&new.sign, &raw, &doc.comment()).map_err(Error::Env)?;
    let dir = next_dir(node);
    for (name, bytes) in files.files() {
        tx.put(&dir.join(name), bytes)?;
    }
    tx.put(&dir.join(DOC), &raw)?;
    let master = tx.st.eval.members[&node.config.master].clone();
    let (tmp, header) = tx.make_bundle("rekey", &master, armor, 0, |pw| {
        pw.entry(DOC, &raw)?;
        pw.entry(SIG_OLD, old_sig.as_bytes())?;
        pw.entry(SIG_NEW, new_sig.as_bytes())
    })?;
    let meta = outbox::Meta {
        bundle: header.id.clone(),
        kind: "rekey".into(),
        recipient: master.identity.id.clone(),
        created: header.created.clone(),
        file: None,
        request: Some(doc.id.clone()),
        height: None,
        armor,
    };
    let sent = tx.stage_bundle(tmp, header, meta, out)?;
    tx.commit()?;
    Ok(Rotated::Requested {
        id: doc.id,
        from,
        sent: Box::new(sent),
    })
}

/// Stage the switch of this node's keys: the current set to `keys/retired/<position>/`,
/// `new` into `keys/`.
fn stage_switch(tx: &mut Tx<'_>, position: usize, new: &KeyFiles) -> Result<()> {
    let dir = tx.node.home.keys_dir();
    let current = KeyFiles::read(&dir)?;
    let retired = dir.join(RETIRED).join(position.to_string());
    for (name, bytes) in current.files() {
        tx.put(&retired.join(name), bytes)?;
    }
    for (name, bytes) in new.files() {
        tx.put(&dir.join(name), bytes)?;
    }
    Ok(())
}

fn master_self(node: &Node) -> Result<Rotated> {
    let mut tx = node.begin(Who::Master("rotate the master's keys"))?;
    let me = node.id().to_string();
    let position = tx.st.eval.members[&me].keys.len() - 1;
    let (new, files) = Keys::generate_files(&node.time(), &protection(node)?)?;
    let height = tx
        .st
        .head(&me)
        .map(|(_, b)| b.height + 1)
        .expect("the master has a head");
    let body = RekeyBody {
        node: me,
        from: height + 1,
        age: new.age_recipient(),
        minisign: new.sign.public_base64(),
    };
    // signed by the old key (loaded by the transaction), then the keys switch
    let (b, _) = tx.stage_block("rekey", bodies::to_value(&body))?;
    stage_switch(&mut tx, position, &files)?;
    tx.commit()?;
    Ok(Rotated::Master {
        height: b.height,
        from: body.from,
    })
}

impl Tx<'_> {
    /// For a member whose rotation is pending: when [`Tx::st`] now holds the master's
    /// `rekey` block binding the new keys, stage the switch and sign with the new keys from
    /// here on. Returns whether the rotation is (now) done or none is pending.
    pub fn adopt_keys(&mut self) -> Result<bool> {
        let node = self.node;
        if !pending(node) || self.adopted {
            return Ok(true);
        }
        let Some(m) = self.st.eval.members.get(node.id()) else {
            return Ok(false);
        };
        if Some(&m.identity.minisign) != next_public(node).as_ref() || m.keys.len() < 2 {
            return Ok(false);
        }
        let position = m.keys.len() - 2;
        let dir = next_dir(node);
        let files = KeyFiles::read(&dir)?;
        let mut keys = Keys::load_dir(&dir, node.config.encrypted_keys, node.opts.passphrase.as_ref())?;
        stage_switch(self, position, &files)?;
        for name in ["age.key", "minisign.key", "minisign.pub", DOC] {
            self.remove(&dir.join(name));
        }
        let old = Keys::load(&node.home, node.config.encrypted_keys, node.opts.passphrase.as_ref())?;
        let mut retired = old.retired;
        retired.push((
            position,
            Keys {
                age: old.age,
                sign: old.sign,
                retired: Vec::new(),
                next_age: None,
            },
        ));
        keys.retired = retired;
        self.keys = Some(keys);
        self.adopted = true;
        Ok(true)
    }
}

/// Check a rekey request bundle's documents against the roster held in `tx` (its blocks
/// already staged) and stage the `rekey` block binding the new keys. Returns the block's
/// height and the request.
pub fn bind(
    tx: &mut Tx<'_>,
    sender: &str,
    entries: &BTreeMap<String, Vec<u8>>,
    label: &str,
) -> Result<(u64, RekeyRequest)> {
    let node = tx.node;
    if node.config.role != Role::Master {
        return Err(Error::rejected(
            label,
            "not-authorised",
            "a rekey request is for the master (`roster rekey`)",
        ));
    }
    let get = |name: &str| {
        entries.get(name).ok_or_else(|| {
            Error::rejected(
                label,
                "malformed",
                match name {
                    SIG_OLD | SIG_NEW => {
                        format!("no {name}: a rekey request is signed by both the old and the new key")
                    }
                    _ => format!("no {name} in the bundle"),
                },
            )
        })
    };
    let raw = get(DOC)?;
    let (old_sig, new_sig) = (get(SIG_OLD)?, get(SIG_NEW)?);
    let req: RekeyRequest =
        docs::decode(raw, RekeyRequest::WHAT).map_err(|e| Error::rejected(label, "malformed", e))?;
    if req.node != sender {
        return Err(Error::rejected(
            label,
            "not-authorised",
            "the rekey request is not the sender's own",
        ));
    }
    let m: Member = tx
        .st
        .eval
        .members
        .get(&req.node)
        .cloned()
        .ok_or_else(|| Error::rejected(label, "not-admitted", format!("{} is not in the roster", req.node)))?;
    if m.identity.role == Role::Master {
        return Err(Error::rejected(
            label,
            "not-authorised",
            "the master rotates its own keys with `secfile rekey`",
        ));
    }
    if m.removed.is_some() {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!(
                "{} has been removed from the roster: a removed node is admitted afresh, not rotated",
                m.identity.name
            ),
        ));
    }
    age::x25519::Recipient::from_str(&req.age)
        .map_err(|e| Error::rejected(label, "malformed", format!("bad age recipient: {e}")))?;
    let new_pk = minisign::PublicKey::from_base64(&req.minisign)
        .map_err(|e| Error::rejected(label, "malformed", format!("bad minisign public key: {e}")))?;
    if let Some(k) = m.keys.iter().find(|k| k.minisign == req.minisign || k.age == req.age) {
        return Err(Error::rejected(
            label,
            "duplicate",
            format!(
                "these keys are already bound to {} (from height {}, master height {}): a replayed request",
                m.identity.name, k.from, k.at
            ),
        ));
    }
    // signed by the key in force now, and by the new key
    let current = m
        .identity
        .public_key()
        .map_err(|e| Error::rejected(label, "malformed", e))?;
    sign::verify(&current, raw, old_sig, &req.comment()).map_err(|e| {
        Error::rejected(
            label,
            "bad-signature",
            format!("rekey request: not signed by the node's current key: {e}"),
        )
    })?;
    sign::verify(&new_pk, raw, new_sig, &req.comment()).map_err(|e| {
        Error::rejected(
            label,
            "bad-signature",
            format!("rekey request: not signed by the new key: {e}"),
        )
    })?;
    let held = tx.st.head(&req.node).map_or(0, |(_, b)| b.height);
    if req.from <= held {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!(
                "rekey from height {} is not beyond {}'s chain held here (height {held}): its blocks there are signed already",
                req.from, m.identity.name
            ),
        ));
    }
    let body = RekeyBody {
        node: req.node.clone(),
        from: req.from,
        age: req.age.clone(),
        minisign: req.minisign.clone(),
    };
    let master = tx.st.eval.master.clone();
    let at = tx.st.head(&master).map_or(0, |(_, b)| b.height + 1);
    crate::merge::rules::keys::admissible(Some(&m.keys), false, false, at, req.from, m.master_saw)
        .map_err(|e| Error::rejected(label, "not-authorised", e))?;
    let (b, _) = tx.stage_block("rekey", bodies::to_value(&body))?;
    Ok((b.height, req))
}

/// The key a bundle to `recipients` is signed with: the current one, unless a recipient
/// is not known (by the frontier it last sent) to hold the `rekey` block that bound it;
/// then the newest key that every recipient knows.
pub fn signing_key<'k>(
    node: &Node,
    members: &BTreeMap<String, Member>,
    keys: &'k Keys,
    recipients: &[String],
) -> &'k SigningKey {
    let Some(m) = members.get(node.id()) else {
        return &keys.sign;
    };
    if keys.retired.is_empty() || m.keys.len() < 2 {
        return &keys.sign;
    }
    let master = node.id_of_master();
    let mut position = m.keys.len() - 1;
    for r in recipients {
        if r == master && node.id() != master {
            // the master made the block: it knows
            continue;
        }
        let known = crate::transport::sync::peer_frontier(&node.home, r)
            .ok()
            .flatten()
            .and_then(|f| f.heads.iter().find(|h| h.chain == master).map(|h| h.height));
        let knows = m
            .keys
            .iter()
            .rposition(|k| known.is_some_and(|h| k.at <= h))
            .unwrap_or(0);
        position = position.min(knows);
    }
    match position + 1 == m.keys.len() {
        true => &keys.sign,
        false => &keys.by_position(position).sign,
    }
}

/// `roster rekey BUNDLE`: import a rekey request bundle (its blocks, then the `rekey`
/// block), in one transaction.
pub fn roster_rekey(node: &Node, input: &Path, label: &str) -> Result<crate::transport::import::ImportReport> {
    let mut tx = node.begin(Who::Master("bind members' new keys"))?;
    // imported in this transaction, committed only when it is a rekey request bound
    let r = crate::transport::import::import_in(&mut tx, input, label)?;
    if r.parts.is_none() && r.kind != "rekey" {
        return Err(Error::rejected(
            label,
            "malformed",
            format!("a {} bundle, not a rekey request", r.kind),
        ));
    }
    if r.rekey.is_none() {
        return Err(Error::rejected(
            label,
            "malformed",
            "not a complete rekey request (a part kept until the others arrive?)",
        ));
    }
    tx.commit()?;
    Ok(r)
}

/// The key (current or retired) that signed a bundle this node made, so that its parts are
/// signed with the key its recipient knows, as the bundle is ([`signing_key`]); the current
/// one when none verifies (an armored bundle, read as such by nobody here).
pub fn key_of_bundle<'k>(keys: &'k Keys, path: &Path) -> &'k SigningKey {
    let Ok(parsed) = crate::bundle::parse(path, "outbox") else {
        return &keys.sign;
    };
    std::iter::once(keys)
        .chain(keys.retired.iter().rev().map(|(_, k)| k))
        .map(|k| &k.sign)
        .find(|k| sign::verify(&k.pk, &parsed.header_bytes, &parsed.sig, &parsed.header.comment()).is_ok())
        .unwrap_or(&keys.sign)
}
