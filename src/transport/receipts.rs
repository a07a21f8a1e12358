//! Receipts (DESIGN §4): a node that imports a request, file or transfer bundle owes its
//! sender a receipt for that bundle id. The sync bundles it sends to that sender carry
//! the receipts it owes (signed with the bundle); the sender then drops the bundle from
//! its outbox and answers with an acknowledgement in its own sync bundles, after which
//! the receipt is no longer carried. A frontier never counts as a receipt.
//!
//! Every step repeats until it is answered, so lost or damaged bundles only delay it: a
//! receipt is carried until its acknowledgement arrives; an acknowledgement is carried
//! while the other node still sends the receipt (and is sent again whenever the receipt
//! comes again).
//!
//! `receipts.yaml` in the home keeps both lists; the `receipts.yaml` entry of a sync
//! bundle carries the part for its recipients.
use crate::home::Home;
use crate::subchain::codec;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::path::PathBuf;

/// The largest receipts entry accepted in a bundle, and the most items in it.
pub const MAX_ENTRY: usize = 4 << 20;
pub const MAX_ITEMS: usize = 50_000;

/// One receipt or acknowledgement: a bundle id and the other node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub node: String,
    pub bundle: String,
}

/// `receipts.yaml`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipts {
    /// Bundles imported here, by sender: receipts to carry to `node`.
    #[serde(default)]
    pub owed: Vec<Item>,
    /// Receipts received here: acknowledgements to carry to `node`.
    #[serde(default)]
    pub acks: Vec<Item>,
    #[serde(skip)]
    pub dirty: bool,
}

/// What a sync bundle carries: receipts and acknowledgements, each addressed `to` a node.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carried {
    #[serde(default)]
    pub receipts: Vec<To>,
    #[serde(default)]
    pub acks: Vec<To>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct To {
    pub to: String,
    pub bundle: String,
}

pub fn path(home: &Home) -> PathBuf {
    home.path("receipts.yaml")
}

fn good(node: &str, bundle: &str) -> bool {
    crate::subchain::is_node_id(node) && crate::dossier::docs::is_doc_id(bundle)
}

impl Receipts {
    /// The ledger of a home; a missing or unreadable one is empty (what it loses comes
    /// back: a sender resends until it has a receipt, and a re-import owes it again).
    pub fn load(home: &Home) -> Receipts {
        crate::input::read_bounded(&path(home), 64 << 20, "receipts")
            .ok()
            .and_then(|b| serde_yaml::from_slice::<Receipts>(&b).ok())
            .filter(|r| r.owed.iter().chain(&r.acks).all(|i| good(&i.node, &i.bundle)))
            .unwrap_or_default()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_yaml::to_string(self).expect("receipts serialise").into_bytes()
    }

    /// Owe `sender` a receipt for `bundle`.
    pub fn owe(&mut self, sender: &str, bundle: &str) {
        let it = Item {
            node: sender.into(),
            bundle: bundle.into(),
        };
        if !self.owed.contains(&it) {
            self.owed.push(it);
            self.dirty = true;
        }
    }

    /// The entry for a sync bundle to `recipients`, if there is anything to carry.
    pub fn carried_for(&self, recipients: &[String]) -> Option<Carried> {
        let pick = |v: &[Item]| -> Vec<To> {
            v.iter()
                .filter(|i| recipients.contains(&i.node))
                .take(MAX_ITEMS)
                .map(|i| To {
                    to: i.node.clone(),
                    bundle: i.bundle.clone(),
                })
                .collect()
        };
        let c = Carried {
            receipts: pick(&self.owed),
            acks: pick(&self.acks),
        };
        (!c.receipts.is_empty() || !c.acks.is_empty()).then_some(c)
    }

    /// Take in what a sync bundle from `sender` carried for `me`: returns the bundle ids
    /// it gives receipts for (to drop from the outbox).
    pub fn receive(&mut self, me: &str, sender: &str, c: &Carried) -> Vec<String> {
        let receipted: Vec<String> = c
            .receipts
            .iter()
            .filter(|t| t.to == me)
            .map(|t| t.bundle.clone())
            .collect();
        let before = (self.owed.len(), self.acks.clone());
        for a in c.acks.iter().filter(|t| t.to == me) {
            self.owed.retain(|i| !(i.node == sender && i.bundle == a.bundle));
        }
        // acknowledgements to `sender`: exactly the receipts it still sends
        self.acks.retain(|i| i.node != sender);
        for b in &receipted {
            self.acks.push(Item {
                node: sender.into(),
                bundle: b.clone(),
            });
        }
        self.acks.sort();
        self.acks.dedup();
        if (self.owed.len(), &self.acks) != (before.0, &before.1) {
            self.dirty = true;
        }
        receipted
    }
}

impl Carried {
    pub fn encode(&self) -> Vec<u8> {
        let list = |v: &[To]| {
            Value::Sequence(
                v.iter()
                    .map(|t| {
                        let mut m = Mapping::new();
                        m.insert("to".into(), t.to.clone().into());
                        m.insert("bundle".into(), t.bundle.clone().into());
                        Value::Mapping(m)
                    })
                    .collect(),
            )
        };
        let mut m = Mapping::new();
        m.insert("receipts".into(), list(&self.receipts));
        m.insert("acks".into(), list(&self.acks));
        codec::emit(&Value::Mapping(m)).expect("receipts emit").into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Carried, String> {
        let v = codec::parse_strict(bytes, MAX_ENTRY)?;
        let c: Carried = serde_yaml::from_value(v).map_err(|e| format!("bad receipts: {e}"))?;
        if c.receipts.len() + c.acks.len() > 2 * MAX_ITEMS {
            return Err("too many receipts".into());
        }
        if !c.receipts.iter().chain(&c.acks).all(|t| good(&t.to, &t.bundle)) {
            return Err("bad receipt entry".into());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbb";
    const K: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_receipt_is_carried_until_acknowledged_and_acknowledged_while_carried() {
        // B imported A's bundle K
        let (mut a, mut b) = (Receipts::default(), Receipts::default());
        b.owe(A, K);
        assert!(b.carried_for(&[B.into()]).is_none(), "only to the sender");
        let to_a = b.carried_for(&[A.into()]).unwrap();
        assert_eq!(Carried::decode(&to_a.encode()).unwrap(), to_a);
        // a lost bundle changes nothing: B carries it again
        assert_eq!(a.receive(A, B, &to_a), vec![K.to_string()]);
        assert_eq!(a.receive(A, B, &to_a), vec![K.to_string()], "idempotent");
        let to_b = a.carried_for(&[B.into()]).unwrap();
        assert_eq!(to_b.acks.len(), 1);
        assert!(b.receive(B, A, &to_b).is_empty());
        assert!(b.owed.is_empty() && b.carried_for(&[A.into()]).is_none());
        // B no longer sends it: A stops acknowledging
        a.receive(A, B, &Carried::default());
        assert!(a.acks.is_empty());
        // and if B sends it again (a late copy), A acknowledges again
        a.receive(A, B, &to_a);
        assert_eq!(a.acks.len(), 1);
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(Carried::decode(b"receipts:\n- to: ../x\n  bundle: y\nacks: []\n").is_err());
        assert!(Carried::decode(b"garbage").is_err());
    }
}
