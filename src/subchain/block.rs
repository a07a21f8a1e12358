//! A block: its typed fields, its canonical YAML encoding, and strict decoding that checks
//! the bytes re-encode exactly (see [`super::codec`]).
use super::codec;
use crate::digest::{self, Hash};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

/// A reference to another block: `{chain, height, hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenRef {
    pub chain: String,
    pub height: u64,
    pub hash: String,
}

/// A block as written in `chains/<id>/<height>.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub chain: String,
    pub height: u64,
    pub prev: Option<String>,
    pub clock: u64,
    pub time: String,
    pub seen: Vec<SeenRef>,
    pub kind: String,
    pub body: Value,
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

impl Block {
    /// The canonical bytes of this block.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut m = Mapping::new();
        m.insert(s("chain"), s(&self.chain));
        m.insert(s("height"), Value::from(self.height));
        m.insert(s("prev"), self.prev.as_deref().map(s).unwrap_or(Value::Null));
        m.insert(s("clock"), Value::from(self.clock));
        m.insert(s("time"), s(&self.time));
        let seen = self
            .seen
            .iter()
            .map(|r| {
                let mut e = Mapping::new();
                e.insert(s("chain"), s(&r.chain));
                e.insert(s("height"), Value::from(r.height));
                e.insert(s("hash"), s(&r.hash));
                Value::Mapping(e)
            })
            .collect();
        m.insert(s("seen"), Value::Sequence(seen));
        m.insert(s("kind"), s(&self.kind));
        m.insert(s("body"), self.body.clone());
        codec::emit(&Value::Mapping(m)).map(String::into_bytes)
    }

    /// Strictly decode block bytes. Checks the subset, the field syntax, and that the
    /// bytes are exactly the canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Block, String> {
        let v = codec::parse_strict(bytes, super::MAX_BLOCK)?;
        let b: Block = serde_yaml::from_value(v).map_err(|e| format!("not a block: {e}"))?;
        b.check_syntax()?;
        if b.encode()? != bytes {
            return Err("block keys are not in canonical order".into());
        }
        Ok(b)
    }

    fn check_syntax(&self) -> Result<(), String> {
        if !super::is_node_id(&self.chain) {
            return Err(format!("bad chain id {:?}", self.chain));
        }
        match (&self.prev, self.height) {
            (None, 0) => {}
            (Some(_), 0) => return Err("genesis block (height 0) has a prev".into()),
            (None, _) => return Err("prev missing above height 0".into()),
            (Some(p), _) if digest::parse_hash(p).is_none() => return Err(format!("bad prev hash {p:?}")),
            _ => {}
        }
        if crate::timefmt::parse_rfc3339(&self.time).is_none() || self.time.len() != 20 {
            return Err(format!("bad time {:?} (want RFC 3339 UTC)", self.time));
        }
        if !super::is_kind_name(&self.kind) {
            return Err(format!("bad kind {:?}", self.kind));
        }
        if !matches!(self.body, Value::Mapping(_)) {
            return Err("body is not a mapping".into());
        }
        let mut chains = std::collections::BTreeSet::new();
        for r in &self.seen {
            if !super::is_node_id(&r.chain) || digest::parse_hash(&r.hash).is_none() {
                return Err(format!("bad seen entry {}:{}", r.chain, r.height));
            }
            if r.chain == self.chain {
                return Err("seen names the block's own chain".into());
            }
            if !chains.insert(&r.chain) {
                return Err(format!("seen names chain {} twice", r.chain));
            }
        }
        Ok(())
    }

    /// Body field as a string.
    pub fn body_str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// Typed view of the body.
    pub fn body_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_yaml::from_value(self.body.clone()).map_err(|e| format!("bad {} body: {e}", self.kind))
    }
}

/// The hash of block bytes, as used in `prev`, `seen` and the global chain.
pub fn block_hash(bytes: &[u8]) -> Hash {
    digest::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Block {
        let mut body = Mapping::new();
        body.insert(s("note"), s("hello & *world* #1"));
        Block {
            chain: "0123456789abcdef".into(),
            height: 2,
            prev: Some("ab".repeat(32)),
            clock: 7,
            time: "2026-11-23T10:00:00Z".into(),
            seen: vec![SeenRef {
                chain: "fedcba9876543210".into(),
                height: 4,
                hash: "cd".repeat(32),
            }],
            kind: "note".into(),
            body: Value::Mapping(body),
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let b = sample();
        let bytes = b.encode().unwrap();
        assert_eq!(Block::decode(&bytes).unwrap(), b);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("chain: \"0123456789abcdef\"\nheight: 2\nprev: \""),
            "{text}"
        );
    }

    #[test]
    fn decode_rejects_bad_fields() {
        let mut b = sample();
        b.prev = None;
        assert!(
            Block::decode(&b.encode().unwrap())
                .unwrap_err()
                .contains("prev missing")
        );
        let mut b = sample();
        b.seen[0].chain = b.chain.clone();
        assert!(Block::decode(&b.encode().unwrap()).unwrap_err().contains("own chain"));
        let mut b = sample();
        b.time = "yesterday".into();
        assert!(Block::decode(&b.encode().unwrap()).unwrap_err().contains("bad time"));
        // reordered keys
        let text = String::from_utf8(sample().encode().unwrap()).unwrap();
        let swapped = text
            .replacen("height: 2\n", "", 1)
            .replacen("clock: 7\n", "clock: 7\nheight: 2\n", 1);
        assert!(Block::decode(swapped.as_bytes()).unwrap_err().contains("canonical"));
        // unknown key
        let extra = format!("{text}extra: 1\n");
        assert!(Block::decode(extra.as_bytes()).unwrap_err().contains("unknown field"));
    }
}
