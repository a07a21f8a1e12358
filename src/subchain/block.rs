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
    ///
    /// A good block takes the fast path (a one-pass reader of exactly the canonical bytes,
    /// several times faster); anything it does not take, the slow path decides and explains,
    /// so results and error messages are those of the slow path alone.
    pub fn decode(bytes: &[u8]) -> Result<Block, String> {
        match Block::decode_fast(bytes) {
            Some(b) => Ok(b),
            None => Block::decode_slow(bytes),
        }
    }

    /// The block in `bytes` when they are the canonical encoding of a block that passes
    /// [`Block::check_syntax`]; `None` for everything else. Reads the fields in the order
    /// [`Block::encode`] writes them, each exactly as it writes it, so the bytes are the
    /// encoding of the result without having to encode it again.
    fn decode_fast(bytes: &[u8]) -> Option<Block> {
        let mut r = codec::Canon::new(bytes, super::MAX_BLOCK)?;
        let chain = str_line(&mut r, b"chain: ")?;
        let height = uint_line(&mut r, b"height: ")?;
        let prev = match r.eat(b"prev: null\n") {
            Some(()) => None,
            None => Some(str_line(&mut r, b"prev: ")?),
        };
        let clock = uint_line(&mut r, b"clock: ")?;
        let time = str_line(&mut r, b"time: ")?;
        let mut seen = Vec::new();
        if r.eat(b"seen: []\n").is_none() {
            r.eat(b"seen:\n")?;
            while r.eat(b"- chain: ").is_some() {
                let chain = r.quoted()?;
                r.eat(b"\n  height: ")?;
                let height = r.uint()?;
                r.eat(b"\n  hash: ")?;
                let hash = r.quoted()?;
                r.eat(b"\n")?;
                seen.push(SeenRef { chain, height, hash });
            }
            if seen.is_empty() {
                return None;
            }
        }
        let kind = str_line(&mut r, b"kind: ")?;
        r.eat(b"body:")?;
        let body = r.value_after_key(0)?;
        r.end()?;
        let b = Block {
            chain,
            height,
            prev,
            clock,
            time,
            seen,
            kind,
            body,
        };
        b.check_syntax().ok()?;
        Some(b)
    }

    /// The general decoder: the strict YAML reader, serde, and a re-encoding compared with
    /// the bytes. Its errors are the ones reported. Public for the fuzz target that checks
    /// the fast path against it (`fuzz/fuzz_targets/block.rs`); use [`Block::decode`].
    #[doc(hidden)]
    pub fn decode_slow(bytes: &[u8]) -> Result<Block, String> {
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
        // deserialised from a borrow: no copy of the body
        T::deserialize(&self.body).map_err(|e| format!("bad {} body: {e}", self.kind))
    }
}

/// `key`, a quoted string and a newline.
fn str_line(r: &mut codec::Canon, key: &[u8]) -> Option<String> {
    r.eat(key)?;
    let s = r.quoted()?;
    r.eat(b"\n")?;
    Some(s)
}

/// `key`, an unsigned integer and a newline.
fn uint_line(r: &mut codec::Canon, key: &[u8]) -> Option<u64> {
    r.eat(key)?;
    let n = r.uint()?;
    r.eat(b"\n")?;
    Some(n)
}

/// The hash of block bytes, as used in `prev`, `seen` and the global chain.
pub fn block_hash(bytes: &[u8]) -> Hash {
    digest::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

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

    /// Blocks to mutate: the sample, a genesis, and bodies with nested lists and escapes.
    fn bases() -> Vec<Vec<u8>> {
        let mut genesis = sample();
        genesis.height = 0;
        genesis.prev = None;
        genesis.seen.clear();
        genesis.kind = "genesis".into();
        let mut nested = sample();
        nested.seen.push(SeenRef {
            chain: "0000000000000001".into(),
            height: 0,
            hash: "00".repeat(32),
        });
        nested.body = codec::parse_strict(
            b"fields:\n  note: \"a\\tb \\\"c\\\" \\x01\\N \xc3\xa9\"\n  round: \"4\"\nattachments:\n- name: \"x.txt\"\n  size: 12\n  tags:\n  - \"t\"\n- {}\nempty: {}\nflag: true\nnothing: null\n",
            1 << 16,
        )
        .unwrap();
        let mut own = sample();
        own.seen[0].chain = own.chain.clone();
        [sample(), genesis, nested, own]
            .iter()
            .map(|b| b.encode().unwrap())
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Set(Index, u8),
        Insert(Index, u8),
        Delete(Index),
        Indent(Index, usize),
        Unindent(Index),
        SwapLines(Index, Index),
        DupLine(Index),
        DropLine(Index),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let byte = prop_oneof![prop::sample::select(b" -:\"\\\n\tax0129{}[]#&\r".to_vec()), any::<u8>()];
        prop_oneof![
            (any::<Index>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
            (any::<Index>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<Index>().prop_map(Mutation::Delete),
            (any::<Index>(), 1usize..=2).prop_map(|(i, n)| Mutation::Indent(i, n)),
            any::<Index>().prop_map(Mutation::Unindent),
            (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::SwapLines(i, j)),
            any::<Index>().prop_map(Mutation::DupLine),
            any::<Index>().prop_map(Mutation::DropLine),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
        let mut lines: Vec<Vec<u8>> = bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        if lines.is_empty() {
            lines.push(Vec::new());
        }
        let n = lines.len();
        match m {
            Mutation::Set(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Mutation::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Indent(i, k) => lines[i.index(n)]
                .splice(0..0, std::iter::repeat_n(b' ', *k))
                .for_each(drop),
            Mutation::Unindent(i) => {
                let l = &mut lines[i.index(n)];
                if l.first() == Some(&b' ') {
                    l.remove(0);
                }
            }
            Mutation::SwapLines(i, j) => lines.swap(i.index(n), j.index(n)),
            Mutation::DupLine(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Mutation::DropLine(i) => {
                lines.remove(i.index(n));
            }
            _ => {}
        }
        if matches!(
            m,
            Mutation::Indent(..)
                | Mutation::Unindent(_)
                | Mutation::SwapLines(..)
                | Mutation::DupLine(_)
                | Mutation::DropLine(_)
        ) {
            *bytes = lines.concat();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn fast_decode_agrees_with_slow_on_mutations(
            base in any::<Index>(),
            muts in prop::collection::vec(mutation(), 0..4),
        ) {
            let bases = bases();
            let mut bytes = bases[base.index(bases.len())].clone();
            for m in &muts {
                apply(&mut bytes, m);
            }
            let fast = codec::parse_canonical(&bytes, super::super::MAX_BLOCK);
            let slow = codec::parse_strict(&bytes, super::super::MAX_BLOCK);
            match &fast {
                Some(f) => {
                    prop_assert_eq!(codec::emit(f).unwrap().into_bytes(), bytes.clone());
                    prop_assert_eq!(slow.as_ref(), Ok(f));
                }
                None => prop_assert!(slow.is_err(), "slow accepts what fast does not: {:?}", slow),
            }
            prop_assert_eq!(Block::decode(&bytes), Block::decode_slow(&bytes));
        }
    }

    #[test]
    fn fast_decode_takes_good_blocks_only() {
        let bases = bases();
        for bytes in &bases[..3] {
            let b = Block::decode_fast(bytes).expect("fast path");
            assert_eq!(Ok(&b), Block::decode_slow(bytes).as_ref());
            assert_eq!(&b.encode().unwrap(), bytes);
        }
        // a canonical document but not a good block: the slow path explains
        assert_eq!(Block::decode_fast(&bases[3]), None);
        assert!(Block::decode(&bases[3]).unwrap_err().contains("own chain"));
    }

    /// Decoding speed of the fast and slow paths over real block files:
    /// `cargo test --release --lib decode_speed -- --ignored --nocapture`, with the chains
    /// folder of a home in SECFILE_BENCH_CHAINS.
    #[test]
    #[ignore]
    fn decode_speed() {
        let root = std::env::var("SECFILE_BENCH_CHAINS")
            .unwrap_or_else(|_| "/tmp/secfile-bench/k16n6250/master/chains".into());
        let Ok(dirs) = std::fs::read_dir(&root) else {
            eprintln!("no chains at {root}");
            return;
        };
        let mut dirs: Vec<_> = dirs.map(|d| d.unwrap().path()).collect();
        dirs.sort();
        let mut files = Vec::new();
        'all: for d in dirs {
            let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
            names.sort();
            for p in names {
                if p.extension().is_some_and(|e| e == "yaml") {
                    files.push(std::fs::read(&p).unwrap());
                    if files.len() == 20_000 {
                        break 'all;
                    }
                }
            }
        }
        let n = files.len() as f64;
        for f in &files {
            assert_eq!(Block::decode_fast(f).as_ref(), Block::decode_slow(f).as_ref().ok());
        }
        let time = |decode: &dyn Fn(&[u8])| {
            let t = std::time::Instant::now();
            for f in &files {
                decode(f);
            }
            t.elapsed().as_secs_f64() * 1e6 / n
        };
        let slow_us = time(&|f| drop(std::hint::black_box(Block::decode_slow(f).unwrap())));
        let fast_us = time(&|f| drop(std::hint::black_box(Block::decode(f).unwrap())));
        let parse_us = time(&|f| drop(std::hint::black_box(codec::parse_canonical(f, 1 << 16).unwrap())));
        eprintln!(
            "{} blocks: slow {slow_us:.2} µs/block, fast {fast_us:.2} µs/block ({:.1}x; generic parse_canonical {parse_us:.2})",
            files.len(),
            slow_us / fast_us
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
