//! `roster admit|remove`: membership, as blocks on the master's chain.
use super::Who;
use crate::digest;
use crate::error::{Error, Result};
use crate::home::Role;
use crate::identity::Card;
use crate::merge::bodies::{AdmitBody, Cutoff, RemoveBody};
use crate::node::Node;
use crate::subchain::{Block, store};

/// `roster admit CARD`: an `admit` block on the master's chain, and the member's genesis
/// (its card) stored as the first block of its chain, committed together.
pub fn admit(node: &Node, card_bytes: &[u8], label: &str) -> Result<(Block, Card)> {
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
    let mut tx = node.begin_view(Who::Master("admit members"))?;
    if tx.st.eval.members.contains_key(&card.identity.id) {
        return Err(Error::rejected(
            label,
            "duplicate",
            format!("{} ({}) is already in the roster", card.identity.name, card.identity.id),
        ));
    }
    if tx
        .st
        .eval
        .members
        .values()
        .any(|m| m.identity.name == card.identity.name)
    {
        return Err(Error::rejected(
            label,
            "duplicate",
            format!("the name {} is already taken in the roster", card.identity.name),
        ));
    }
    let i = &card.identity;
    let body = AdmitBody {
        name: i.name.clone(),
        role: i.role,
        id: i.id.clone(),
        age: i.age.clone(),
        minisign: i.minisign.clone(),
        card: card.hash_hex(),
    };
    let (b, _) = tx.stage_block("admit", body.to_value())?;
    let gp = store::chain_path(&node.home, &i.id, 0);
    if !gp.exists() {
        tx.put_block(&gp, &card.block, &card.sig)?;
    }
    tx.commit()?;
    Ok((b, card))
}

/// `roster remove NAME|ID`: a `remove` block whose cutoff is the member's latest block
/// held here. Returns the block, the member's id and name.
pub fn remove(node: &Node, who: &str) -> Result<(Block, String, String)> {
    let mut tx = node.begin_view(Who::Master("remove members"))?;
    let m = tx
        .st
        .eval
        .find_member(who)
        .ok_or_else(|| Error::rejected(who, "not-found", "no such member in the roster"))?;
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
    let (id, name) = (m.identity.id.clone(), m.identity.name.clone());
    let (hi, hb) = tx
        .st
        .head(&id)
        .ok_or_else(|| Error::rejected(who, "malformed", "no block of this member is held here"))?;
    let body = RemoveBody {
        id: id.clone(),
        cutoff: Cutoff {
            height: hb.height,
            hash: digest::hex(&tx.st.cands[hi].hash),
        },
    };
    let (b, _) = tx.stage_block("remove", body.to_value())?;
    tx.commit()?;
    Ok((b, id, name))
}
