//! Chain operations that need only the node itself: roster admissions and removals on the
//! master's chain, and generic script blocks.
use crate::digest;
use crate::error::{Error, IoContext, Result};
use crate::home::Role;
use crate::identity::Card;
use crate::merge::bodies::{self, AdmitBody, Attachment, Cutoff, GenericBody, RemoveBody};
use crate::node::Node;
use crate::subchain::{self, Block, store};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn master_only(node: &Node, what: &str) -> Result<()> {
    if node.config.role != Role::Master {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            format!("only the master may {what}; this node is a member"),
        ));
    }
    Ok(())
}

/// `roster admit CARD`: an `admit` block on the master's chain, and the member's genesis
/// (its card) stored as the first block of its chain.
pub fn admit(node: &Node, card_bytes: &[u8], label: &str) -> Result<(Block, Card)> {
    master_only(node, "admit members")?;
    let card = Card::parse(card_bytes).map_err(|e| Error::rejected(label, "malformed", e))?;
    if card.identity.role != Role::Member {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!(
                "card of {} has role master; only members are admitted",
                card.identity.name
            ),
        ));
    }
    let st = node.load()?;
    node.check_can_act(&st)?;
    if st.eval.members.contains_key(&card.identity.id) {
        return Err(Error::rejected(
            label,
            "duplicate",
            format!("{} ({}) is already in the roster", card.identity.name, card.identity.id),
        ));
    }
    if st.eval.members.values().any(|m| m.identity.name == card.identity.name) {
        return Err(Error::rejected(
            label,
            "duplicate",
            format!("the name {} is already taken in the roster", card.identity.name),
        ));
    }
    let keys = node.keys()?;
    let i = &card.identity;
    let body = AdmitBody {
        name: i.name.clone(),
        role: i.role,
        id: i.id.clone(),
        age: i.age.clone(),
        minisign: i.minisign.clone(),
        card: card.hash_hex(),
    };
    let (b, _) = node.append(&st, &keys, "admit", body.to_value())?;
    let gp = store::chain_path(&node.home, &i.id, 0);
    if !gp.exists() {
        store::write_block(&gp, &card.block, &card.sig)?;
    }
    Ok((b, card))
}

/// `roster remove NAME|ID`: a `remove` block whose cutoff is the member's latest block held here.
pub fn remove(node: &Node, who: &str) -> Result<(Block, String)> {
    master_only(node, "remove members")?;
    let st = node.load()?;
    node.check_can_act(&st)?;
    let m = st
        .eval
        .find_member(who)
        .ok_or_else(|| Error::rejected(who, "unknown", "no such member in the roster"))?;
    if m.identity.role == Role::Master {
        return Err(Error::rejected(
            who,
            "not-authorised",
            "the master cannot remove itself",
        ));
    }
    if m.removed.is_some() {
        return Err(Error::rejected(who, "duplicate", "already removed"));
    }
    let id = m.identity.id.clone();
    let (hi, hb) = st
        .head(&id)
        .ok_or_else(|| Error::rejected(who, "malformed", "no block of this member is held here"))?;
    let body = RemoveBody {
        id: id.clone(),
        cutoff: Cutoff {
            height: hb.height,
            hash: digest::hex(&st.cands[hi].hash),
        },
    };
    let keys = node.keys()?;
    let (b, _) = node.append(&st, &keys, "remove", body.to_value())?;
    Ok((b, id))
}

/// Parse `K=V` flags into a field map.
pub fn parse_fields(raw: &[String]) -> Result<BTreeMap<String, String>> {
    let mut fields = BTreeMap::new();
    for f in raw {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--field {f:?}: expected KEY=VALUE")))?;
        if !subchain::is_field_key(k) {
            return Err(Error::usage(format!(
                "--field {k:?}: names are 1-64 of A-Z a-z 0-9 . _ -"
            )));
        }
        crate::text::check_own(&format!("--field {k}"), v).map_err(Error::usage)?;
        if fields.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Error::usage(format!("--field {k}: given twice")));
        }
    }
    bodies::check_fields(&fields).map_err(Error::usage)?;
    Ok(fields)
}

/// The name an attachment is recorded under: its file name.
pub fn attachment_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::usage(format!("{}: attachment needs a file name", path.display())))
}

/// Hash an attachment by streaming it (its content never enters the chain).
pub fn attachment(path: &Path) -> Result<Attachment> {
    let f = crate::input::open_regular(path)?;
    let (hash, size) =
        digest::sha256_reader(std::io::BufReader::new(f).take(crate::input::MAX_ATTACHMENT + 1)).at(path)?;
    if size > crate::input::MAX_ATTACHMENT {
        return Err(Error::rejected(
            path.display(),
            "limit",
            format!("over the attachment limit of {} bytes", crate::input::MAX_ATTACHMENT),
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::usage(format!("{}: attachment needs a file name", path.display())))?;
    Ok(Attachment {
        name,
        size,
        sha256: digest::hex(&hash),
    })
}

/// `append --kind K [--field K=V]… [--attach F]…`: a generic block.
pub fn append_generic(
    node: &Node,
    kind: &str,
    fields: BTreeMap<String, String>,
    attach: &[std::path::PathBuf],
) -> Result<(Block, String)> {
    if !subchain::is_kind_name(kind) {
        return Err(Error::usage(format!(
            "--kind {kind:?}: kinds are 1-64 of a-z 0-9 . _ -, starting with a letter"
        )));
    }
    if bodies::BUILTIN_KINDS.contains(&kind) {
        return Err(Error::usage(format!(
            "--kind {kind}: a built-in kind; use its own command"
        )));
    }
    let attachments = attach.iter().map(|p| attachment(p)).collect::<Result<Vec<_>>>()?;
    let st = node.load()?;
    node.check_can_act(&st)?;
    let keys = node.keys()?;
    node.append(&st, &keys, kind, GenericBody { fields, attachments }.to_value())
}
