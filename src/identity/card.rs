//! Cards: a node's public identity. A card *is* the node's genesis block (height 0, kind
//! `genesis`, body = name, role, id, age recipient, minisign public key) with its detached
//! self-signature, framed as `secfile-card 1 <block-len> <sig-len>\n<block><sig>`.
//! So the card a master admits is exactly the first block of the member's sub-chain.
use crate::digest::{self, Hash};
use crate::envelope;
use crate::home::Role;
use crate::subchain::{self, Block, block::block_hash, sign};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::str::FromStr;

pub const CARD_MAGIC: &str = "secfile-card";

/// The public identity carried in a genesis block body and in admissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    pub id: String,
    pub age: String,
    pub minisign: String,
}

impl Identity {
    pub fn to_value(&self) -> Value {
        let mut m = Mapping::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("role".into(), self.role.as_str().into());
        m.insert("id".into(), self.id.clone().into());
        m.insert("age".into(), self.age.clone().into());
        m.insert("minisign".into(), self.minisign.clone().into());
        Value::Mapping(m)
    }

    /// Check names, keys and that the id derives from the keys.
    pub fn check(&self) -> Result<(), String> {
        if !subchain::is_node_name(&self.name) {
            return Err(format!("bad node name {:?}", self.name));
        }
        age::x25519::Recipient::from_str(&self.age).map_err(|e| format!("bad age recipient: {e}"))?;
        self.public_key()?;
        let want = super::node_id(&self.age, &self.minisign);
        if self.id != want {
            return Err(format!("node id {} does not match its keys (expected {want})", self.id));
        }
        Ok(())
    }

    pub fn public_key(&self) -> Result<minisign::PublicKey, String> {
        minisign::PublicKey::from_base64(&self.minisign).map_err(|e| format!("bad minisign public key: {e}"))
    }

    pub fn recipient(&self) -> Result<age::x25519::Recipient, String> {
        age::x25519::Recipient::from_str(&self.age).map_err(|e| format!("bad age recipient: {e}"))
    }

    pub fn fingerprint(&self) -> String {
        super::fingerprint(&self.age, &self.minisign)
    }
}

/// A verified card: the genesis block, its signature, and the identity in it.
#[derive(Debug, Clone)]
pub struct Card {
    pub block: Vec<u8>,
    pub sig: Vec<u8>,
    pub identity: Identity,
    pub hash: Hash,
}

impl Card {
    /// Make the genesis block for an identity and sign it.
    pub fn create(identity: Identity, key: &super::SigningKey, time: &str) -> Result<Card, String> {
        let b = Block {
            chain: identity.id.clone(),
            height: 0,
            prev: None,
            clock: 0,
            time: time.to_string(),
            seen: vec![],
            kind: "genesis".into(),
            body: identity.to_value(),
        };
        let bytes = b.encode()?;
        let sig = sign::sign(key, &bytes, &sign::block_comment(&identity.id, 0))?;
        Card::from_parts(bytes, sig.into_bytes())
    }

    /// Check a genesis block and its signature: strict decode, shape, identity, self-signature.
    pub fn from_parts(block: Vec<u8>, sig: Vec<u8>) -> Result<Card, String> {
        let b = Block::decode(&block)?;
        if b.kind != "genesis" || b.height != 0 || b.clock != 0 || !b.seen.is_empty() {
            return Err("not a genesis block (height 0, clock 0, kind genesis, nothing seen)".into());
        }
        let identity: Identity = b.body_as()?;
        identity.check()?;
        if identity.id != b.chain {
            return Err(format!("card id {} is not its chain {}", identity.id, b.chain));
        }
        let pk = identity.public_key()?;
        sign::verify(&pk, &block, &sig, &sign::block_comment(&b.chain, 0))
            .map_err(|e| format!("card self-signature: {e}"))?;
        let hash = block_hash(&block);
        Ok(Card {
            block,
            sig,
            identity,
            hash,
        })
    }

    /// Parse a card file.
    pub fn parse(bytes: &[u8]) -> Result<Card, String> {
        let (block, sig) = envelope::read_small(bytes, CARD_MAGIC, subchain::MAX_BLOCK)?;
        Card::from_parts(block, sig)
    }

    /// The card file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        envelope::write_small(CARD_MAGIC, &self.block, &self.sig)
    }

    pub fn hash_hex(&self) -> String {
        digest::hex(&self.hash)
    }
}
