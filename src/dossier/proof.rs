//! Proofs of a file's state (DESIGN §3 `prove`, §5 "Checkpoints"): the file format, read
//! and written side by side, and its check with nothing but the master's card — the
//! manifest and its signature, the leaf, its Merkle audit path, the master checkpoint that
//! records the root and its signature, and the master's `rekey` blocks that lead from the
//! card's key to the key in force at the checkpoint. Pure: bytes in, named steps out.
//!
//! The file (docs/formats.md "Proofs") is ASCII lines, with the signed documents framed
//! by their byte length so they are cut out exactly:
//!
//! ```text
//! secfile-proof 1
//! leaf file <id> holder <node id> revoked <0|1> expires <RFC 3339 or -> manifest <sha256>
//! index <leaf index>
//! size <tree size>
//! sibling <hex>                     (zero or more, from the leaf up)
//! manifest <len>\n<bytes>\n
//! manifest.minisig <len>\n<bytes>\n
//! rekey <len>\n<bytes>\n            (zero or more pairs, in height order)
//! rekey.minisig <len>\n<bytes>\n
//! checkpoint <len>\n<bytes>\n
//! checkpoint.minisig <len>\n<bytes>\n
//! end
//! ```
use crate::digest::{self, Hash, merkle};
use crate::dossier::docs::{self, Manifest, Signed};
use crate::identity::Card;
use crate::merge::bodies::CheckpointBody;
use crate::subchain::{self, Block, sign};

/// The first word of a proof file.
pub const MAGIC: &str = "secfile-proof";
/// The longest proof file accepted.
pub const MAX_PROOF: u64 = 1024 * 1024;
/// The most sibling hashes (a tree of 2^64 leaves needs 64).
pub const MAX_SIBLINGS: usize = 64;
/// The most master `rekey` blocks a proof may carry.
pub const MAX_REKEYS: usize = 256;

/// A proof, as carried in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub leaf: String,
    pub index: u64,
    pub size: u64,
    pub siblings: Vec<Hash>,
    pub manifest: Vec<u8>,
    pub manifest_sig: Vec<u8>,
    /// The master's `rekey` blocks below the checkpoint's height, each with its signature.
    pub rekeys: Vec<(Vec<u8>, Vec<u8>)>,
    pub checkpoint: Vec<u8>,
    pub checkpoint_sig: Vec<u8>,
}

impl Proof {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{MAGIC} 1\nleaf {}\nindex {}\nsize {}\n",
            self.leaf, self.index, self.size
        )
        .into_bytes();
        for s in &self.siblings {
            out.extend_from_slice(format!("sibling {}\n", digest::hex(s)).as_bytes());
        }
        let mut part = |name: &str, bytes: &[u8]| {
            out.extend_from_slice(format!("{name} {}\n", bytes.len()).as_bytes());
            out.extend_from_slice(bytes);
            out.push(b'\n');
        };
        part("manifest", &self.manifest);
        part("manifest.minisig", &self.manifest_sig);
        for (b, s) in &self.rekeys {
            part("rekey", b);
            part("rekey.minisig", s);
        }
        part("checkpoint", &self.checkpoint);
        part("checkpoint.minisig", &self.checkpoint_sig);
        out.extend_from_slice(b"end\n");
        out
    }

    /// Parse a proof file strictly: the lines in their order, decimal numbers without
    /// leading zeros, every framed part within its limit, nothing after `end`.
    pub fn parse(bytes: &[u8]) -> Result<Proof, String> {
        if bytes.len() as u64 > MAX_PROOF {
            return Err(format!("{} bytes, over the proof limit of {MAX_PROOF}", bytes.len()));
        }
        let mut r = Reader { rest: bytes };
        if r.line()? != format!("{MAGIC} 1") {
            return Err(format!("not a {MAGIC} 1 file"));
        }
        let leaf = r.field("leaf")?.to_string();
        if leaf.len() > 1024 || !leaf.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err("the leaf is not one printable ASCII line".into());
        }
        let index = number(r.field("index")?)?;
        let size = number(r.field("size")?)?;
        let mut siblings = Vec::new();
        while r.peek_word() == Some("sibling") {
            let h = r.field("sibling")?;
            siblings.push(digest::parse_hash(h).ok_or_else(|| format!("bad sibling hash {h:?}"))?);
            if siblings.len() > MAX_SIBLINGS {
                return Err(format!("more than {MAX_SIBLINGS} sibling hashes"));
            }
        }
        let manifest = r.part("manifest", docs::MAX_DOC)?;
        let manifest_sig = r.part("manifest.minisig", crate::envelope::MAX_SIG)?;
        let mut rekeys = Vec::new();
        while r.peek_word() == Some("rekey") {
            let b = r.part("rekey", subchain::MAX_BLOCK)?;
            let s = r.part("rekey.minisig", crate::envelope::MAX_SIG)?;
            rekeys.push((b, s));
            if rekeys.len() > MAX_REKEYS {
                return Err(format!("more than {MAX_REKEYS} rekey blocks"));
            }
        }
        let checkpoint = r.part("checkpoint", subchain::MAX_BLOCK)?;
        let checkpoint_sig = r.part("checkpoint.minisig", crate::envelope::MAX_SIG)?;
        if r.line()? != "end" {
            return Err("no end line after the checkpoint's signature".into());
        }
        if !r.rest.is_empty() {
            return Err(format!("{} unexpected bytes after the end line", r.rest.len()));
        }
        Ok(Proof {
            leaf,
            index,
            size,
            siblings,
            manifest,
            manifest_sig,
            rekeys,
            checkpoint,
            checkpoint_sig,
        })
    }
}

fn number(s: &str) -> Result<u64, String> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(format!("bad number {s:?}"));
    }
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn line(&mut self) -> Result<&'a str, String> {
        let n = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated: a line without its newline")?;
        let line = std::str::from_utf8(&self.rest[..n]).map_err(|_| "a line that is not text")?;
        self.rest = &self.rest[n + 1..];
        Ok(line)
    }
    fn peek_word(&self) -> Option<&'a str> {
        let n = self.rest.iter().position(|&b| b == b' ' || b == b'\n')?;
        std::str::from_utf8(&self.rest[..n]).ok()
    }
    /// A line `<name> <value>`: the value.
    fn field(&mut self, name: &str) -> Result<&'a str, String> {
        let line = self.line()?;
        line.strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .ok_or_else(|| format!("expected a {name} line, found {:?}", crate::text::escape(line)))
    }
    /// A framed part `<name> <len>\n<bytes>\n`.
    fn part(&mut self, name: &str, limit: usize) -> Result<Vec<u8>, String> {
        let len = number(self.field(name)?)?;
        if len > limit as u64 {
            return Err(format!("the {name} part of {len} bytes is over its limit of {limit}"));
        }
        let len = len as usize;
        if self.rest.len() < len + 1 || self.rest[len] != b'\n' {
            return Err(format!("truncated inside the {name} part"));
        }
        let bytes = self.rest[..len].to_vec();
        self.rest = &self.rest[len + 1..];
        Ok(bytes)
    }
}

/// A parsed leaf line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub file: String,
    pub holder: String,
    pub revoked: bool,
    pub expires: Option<i64>,
    pub manifest: String,
}

impl Leaf {
    /// Parse `file <id> holder <node id> revoked <0|1> expires <RFC 3339 or -> manifest
    /// <sha256>` strictly: it must be the exact line `dossier::state::leaf_line` writes.
    pub fn parse(line: &str) -> Result<Leaf, String> {
        let w: Vec<&str> = line.split(' ').collect();
        let bad = || format!("not a leaf line: {:?}", crate::text::escape(line));
        if w.len() != 10
            || w[0] != "file"
            || w[2] != "holder"
            || w[4] != "revoked"
            || w[6] != "expires"
            || w[8] != "manifest"
        {
            return Err(bad());
        }
        let revoked = match w[5] {
            "0" => false,
            "1" => true,
            _ => return Err(bad()),
        };
        let expires = match w[7] {
            "-" => None,
            t => {
                let s = crate::timefmt::parse_rfc3339(t).ok_or_else(bad)?;
                if crate::timefmt::rfc3339(s) != t {
                    return Err(bad());
                }
                Some(s)
            }
        };
        if !docs::is_doc_id(w[1]) || !subchain::is_node_id(w[3]) || digest::parse_hash(w[9]).is_none() {
            return Err(bad());
        }
        Ok(Leaf {
            file: w[1].into(),
            holder: w[3].into(),
            revoked,
            expires,
            manifest: w[9].into(),
        })
    }
}

/// The body of a master `rekey` block, as far as a proof needs it: the node it rekeys,
/// the first height of that node's chain signed with the new key, the new keys.
#[derive(Debug, Clone, serde::Deserialize)]
struct RekeyBody {
    node: String,
    from: u64,
    #[allow(dead_code)]
    age: String,
    minisign: String,
}

/// The master's keys over its chain's heights: the card's key from height 0, then each
/// rotation's new key from its `from` height.
#[derive(Debug, Clone)]
pub struct KeyHistory {
    /// (first height, key), in increasing height order.
    pub keys: Vec<(u64, minisign::PublicKey)>,
}

impl KeyHistory {
    /// The key in force at `height` of the master's chain.
    pub fn at(&self, height: u64) -> &minisign::PublicKey {
        &self
            .keys
            .iter()
            .rev()
            .find(|(from, _)| *from <= height)
            .expect("the card's key is in force from 0")
            .1
    }

    /// Follow the master's `rekey` blocks from the card's key: each must be a `rekey`
    /// block of the master's chain naming the master, below `below`, in increasing height
    /// order, signed by the key in force at its height, naming a later height for its key.
    pub fn follow(card: &Card, rekeys: &[(Vec<u8>, Vec<u8>)], below: u64) -> Result<KeyHistory, String> {
        let master = &card.identity.id;
        if card.identity.role != crate::home::Role::Master {
            return Err(format!(
                "the card given is {}'s, a {} card, not the master's",
                card.identity.name,
                card.identity.role.as_str()
            ));
        }
        let mut h = KeyHistory {
            keys: vec![(0, card.identity.public_key()?)],
        };
        let mut last = 0;
        for (n, (bytes, sig)) in rekeys.iter().enumerate() {
            let what = format!("rekey block {}", n + 1);
            let b = Block::decode(bytes).map_err(|e| format!("{what}: {e}"))?;
            if b.chain != *master || b.kind != "rekey" {
                return Err(format!(
                    "{what} is {} block {}:{}, not a rekey of the master {master}",
                    b.kind, b.chain, b.height
                ));
            }
            if b.height <= last || b.height >= below {
                return Err(format!(
                    "{what} at height {} is out of order (after {last}, below {below})",
                    b.height
                ));
            }
            sign::verify(h.at(b.height), bytes, sig, &sign::block_comment(&b.chain, b.height))
                .map_err(|e| format!("{what} at height {}: {e}", b.height))?;
            let body: RekeyBody = b.body_as().map_err(|e| format!("{what}: {e}"))?;
            if body.node != *master {
                return Err(format!("{what} rekeys {}, not the master", body.node));
            }
            if body.from <= b.height {
                return Err(format!(
                    "{what} at height {} names its new key from height {}",
                    b.height, body.from
                ));
            }
            let pk = minisign::PublicKey::from_base64(&body.minisign)
                .map_err(|e| format!("{what}: bad minisign key: {e}"))?;
            h.keys.push((body.from, pk));
            last = b.height;
        }
        Ok(h)
    }
}

/// The outcome of checking a proof: the named steps in order, each with its detail or
/// what failed, and the facts proven (when every step passed).
#[derive(Debug, Clone)]
pub struct Checked {
    pub steps: Vec<(&'static str, Result<String, String>)>,
    pub file: Option<String>,
    pub checkpoint_height: Option<u64>,
}

impl Checked {
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|(_, r)| r.is_ok())
    }
}

/// Check a proof with the master's card alone, at time `now` (seconds since the epoch,
/// for the expiry step). Every step is reported, failed or not.
pub fn check(p: &Proof, card: &Card, now: i64) -> Checked {
    let master = &card.identity.id;
    let mut steps: Vec<(&'static str, Result<String, String>)> = Vec::new();
    let mut out = Checked {
        steps: vec![],
        file: None,
        checkpoint_height: None,
    };
    // the checkpoint block first: its height bounds the key history
    let cp = Block::decode(&p.checkpoint)
        .map_err(|e| format!("checkpoint block: {e}"))
        .and_then(|b| {
            if b.chain != *master {
                Err(format!(
                    "the checkpoint is a block of {}, not of the master {master} whose card was given",
                    b.chain
                ))
            } else if b.kind != "checkpoint" {
                Err(format!(
                    "block {}:{} is a {} block, not a checkpoint",
                    b.chain, b.height, b.kind
                ))
            } else {
                let body: CheckpointBody = b.body_as().map_err(|e| format!("checkpoint body: {e}"))?;
                let files = body
                    .files
                    .as_deref()
                    .and_then(digest::parse_hash)
                    .ok_or("the checkpoint records no files root")?;
                Ok((b, body, files))
            }
        });
    let keys = match &cp {
        Ok((b, _, _)) => KeyHistory::follow(card, &p.rekeys, b.height),
        Err(_) => KeyHistory::follow(card, &p.rekeys, u64::MAX),
    };
    steps.push((
        "master-key",
        keys.as_ref()
            .map(|k| {
                format!(
                    "master {} (card fingerprint {}), {} key{}",
                    master,
                    card.identity.fingerprint(),
                    k.keys.len(),
                    if k.keys.len() == 1 {
                        " (never rotated)"
                    } else {
                        "s (rotated)"
                    }
                )
            })
            .map_err(|e| e.clone()),
    ));
    let cp_ok = match (&cp, &keys) {
        (Err(e), _) => Err(e.clone()),
        (_, Err(_)) => Err("no master key to check it with".to_string()),
        (Ok((b, _, _)), Ok(k)) => sign::verify(
            k.at(b.height),
            &p.checkpoint,
            &p.checkpoint_sig,
            &sign::block_comment(&b.chain, b.height),
        )
        .map(|()| {
            format!(
                "checkpoint at master height {} signed by the master's key in force there",
                b.height
            )
        })
        .map_err(|e| format!("checkpoint signature: {e}")),
    };
    let cp_good = cp_ok.is_ok();
    steps.push(("checkpoint-signature", cp_ok));
    let manifest: Result<Manifest, String> = docs::decode(&p.manifest, "manifest");
    let ms = match (&manifest, &keys, &cp) {
        (Err(e), _, _) => Err(e.clone()),
        (_, Err(_), _) => Err("no master key to check it with".to_string()),
        (Ok(m), Ok(k), _) => {
            // the manifest was signed when issued, under the key in force then: any key of
            // the history up to the checkpoint
            let c = m.comment();
            if k.keys
                .iter()
                .any(|(_, pk)| sign::verify(pk, &p.manifest, &p.manifest_sig, &c).is_ok())
            {
                Ok(format!("manifest of file {} signed by the master", m.file))
            } else {
                Err(format!(
                    "manifest signature: {}",
                    sign::verify(&k.keys[0].1, &p.manifest, &p.manifest_sig, &c)
                        .err()
                        .unwrap_or_default()
                ))
            }
        }
    };
    let ms_good = ms.is_ok();
    steps.push(("manifest-signature", ms));
    let leaf = Leaf::parse(&p.leaf).and_then(|l| {
        let m = manifest
            .as_ref()
            .map_err(|_| "no manifest to match it with".to_string())?;
        let mh = digest::hex(&digest::sha256(&p.manifest));
        if l.file != m.file {
            Err(format!("the leaf is for file {}, the manifest for {}", l.file, m.file))
        } else if l.manifest != mh {
            Err(format!(
                "the leaf names manifest {}, the manifest's sha256 is {mh}",
                l.manifest
            ))
        } else if l.expires != m.expires_at() {
            Err("the leaf's expiry is not the manifest's".to_string())
        } else {
            Ok(l)
        }
    });
    steps.push((
        "leaf",
        leaf.as_ref()
            .map(|l| format!("file {} manifest sha256 {}", l.file, l.manifest))
            .map_err(|e| e.clone()),
    ));
    let incl = match (&leaf, &cp) {
        (Err(_), _) => Err("no valid leaf".to_string()),
        (_, Err(_)) => Err("no valid checkpoint".to_string()),
        (Ok(_), Ok((b, _, files))) => {
            let lh = merkle::leaf_hash(p.leaf.as_bytes());
            match merkle::root_from_path(&lh, p.index, p.size, &p.siblings) {
                Some(r) if r == *files => Ok(format!(
                    "leaf {} of {} under the files root {} of checkpoint {}",
                    p.index,
                    p.size,
                    digest::hex(files),
                    b.height
                )),
                Some(r) => Err(format!(
                    "the path gives root {}, the checkpoint records {}",
                    digest::hex(&r),
                    digest::hex(files)
                )),
                None => Err(format!(
                    "{} sibling hashes do not fit leaf {} of a tree of {}",
                    p.siblings.len(),
                    p.index,
                    p.size
                )),
            }
        }
    };
    let proven = incl.is_ok() && cp_good && ms_good;
    steps.push(("inclusion", incl));
    let fact = |f: &dyn Fn(&Leaf) -> Result<String, String>| match (&leaf, proven) {
        (Ok(l), true) => f(l),
        _ => Err("not proven (see the steps above)".to_string()),
    };
    steps.push(("holder", fact(&|l| Ok(format!("held by {}", l.holder)))));
    steps.push((
        "revocation",
        fact(&|l| match l.revoked {
            true => Err(format!("file {} is revoked", l.file)),
            false => Ok("not revoked".into()),
        }),
    ));
    steps.push((
        "expiry",
        fact(&|l| match l.expires {
            None => Ok("no expiry".into()),
            Some(x) if now > x => Err(format!("expired on {}", crate::timefmt::rfc3339(x))),
            Some(x) => Ok(format!("valid until {}", crate::timefmt::rfc3339(x))),
        }),
    ));
    steps.push((
        "as-of",
        match (&cp, proven) {
            (Ok((b, body, _)), true) => Ok(format!(
                "as of checkpoint {} at time {} (final chain of {} entries, head {})",
                b.height, b.time, body.final_count, body.head
            )),
            _ => Err("not proven (see the steps above)".to_string()),
        },
    ));
    out.steps = steps;
    if out.ok() {
        out.file = leaf.ok().map(|l| l.file);
        out.checkpoint_height = cp.ok().map(|(b, _, _)| b.height);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Proof {
        Proof {
            leaf: format!(
                "file 0123456789abcdef0123456789abcdef holder 0123456789abcdef revoked 0 expires - manifest {}",
                "ab".repeat(32)
            ),
            index: 3,
            size: 5,
            siblings: vec![[1u8; 32], [2u8; 32]],
            manifest: b"manifest\nbytes\n".to_vec(),
            manifest_sig: b"sig\n".to_vec(),
            rekeys: vec![(b"rekey block".to_vec(), b"rk sig".to_vec())],
            checkpoint: b"cp\n\nbytes end\n".to_vec(),
            checkpoint_sig: b"cp sig".to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let bytes = p.to_bytes();
        assert!(bytes.starts_with(b"secfile-proof 1\nleaf file "));
        assert_eq!(Proof::parse(&bytes).unwrap(), p);
        let mut q = p.clone();
        q.siblings.clear();
        q.rekeys.clear();
        assert_eq!(Proof::parse(&q.to_bytes()).unwrap(), q);
    }

    #[test]
    fn refuses_bad_framing() {
        let good = String::from_utf8(sample().to_bytes()).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (
                good.replacen("secfile-proof 1", "secfile-proof 2", 1),
                "not a secfile-proof 1",
            ),
            (good.replacen("index 3", "index 03", 1), "bad number"),
            (good.replacen("size 5", "size x", 1), "bad number"),
            (
                good.replacen("manifest 15", "manifest 16", 1),
                "truncated inside the manifest",
            ),
            (good.replacen("manifest 15", "manifest 99999999", 1), "over its limit"),
            (format!("{good}x"), "unexpected bytes"),
            (good.replacen("end\n", "", 1), "truncated"),
            (good.replacen("sibling 01", "sibling 0G", 1), "bad sibling"),
            (good.replacen("leaf file", "leaf\tfile", 1), "expected a leaf line"),
            (String::new(), "truncated"),
        ];
        for (text, want) in cases {
            let e = Proof::parse(text.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{want:?} not in {e:?}");
        }
        assert!(
            Proof::parse(&vec![b'a'; MAX_PROOF as usize + 1])
                .unwrap_err()
                .contains("over the proof limit")
        );
    }

    #[test]
    fn leaf_lines_parse_strictly() {
        let m = "ab".repeat(32);
        let good = format!(
            "file 0123456789abcdef0123456789abcdef holder 0123456789abcdef revoked 1 expires 2030-01-02T03:04:05Z manifest {m}"
        );
        let l = Leaf::parse(&good).unwrap();
        assert!(l.revoked);
        assert_eq!(l.expires, crate::timefmt::parse_rfc3339("2030-01-02T03:04:05Z"));
        for bad in [
            good.replace("revoked 1", "revoked 2"),
            good.replace("2030-01-02T03:04:05Z", "2030-01-02T03:04:05+00:00"),
            good.replace(&m, &"AB".repeat(32)),
            format!("{good} "),
            good.replace("holder ", "holder  "),
            good.replace("file 0123456789abcdef0123456789abcdef", "file ../x"),
        ] {
            assert!(Leaf::parse(&bad).is_err(), "{bad}");
        }
    }

    /// The size of a proof for one file among 1M: a path of 20 sibling hashes (73 bytes
    /// each as a line) on top of what a proof always carries. The signed parts are sized
    /// as in a three-node consortium (a 315-byte manifest, a checkpoint block naming two
    /// other chains in `seen`, ~300-byte signatures); README and docs/formats.md quote it.
    #[test]
    fn a_proof_among_one_million_files_is_about_three_kilobytes() {
        let n = 1_000_000usize;
        let m = "ab".repeat(32);
        let lines: Vec<String> = (0..n)
            .map(|i| format!("file {i:032x} holder 0123456789abcdef revoked 0 expires - manifest {m}"))
            .collect();
        let leaves: Vec<Hash> = lines.iter().map(|l| merkle::leaf_hash(l.as_bytes())).collect();
        let root = merkle::root(&leaves);
        let index = 654_321;
        let path = merkle::path(&leaves, index).unwrap();
        assert_eq!(path.len(), 20);
        assert_eq!(
            merkle::root_from_path(&leaves[index], index as u64, n as u64, &path),
            Some(root)
        );
        let p = Proof {
            leaf: lines[index].clone(),
            index: index as u64,
            size: n as u64,
            siblings: path,
            manifest: vec![b'm'; 315],
            manifest_sig: vec![b's'; 299],
            rekeys: vec![],
            checkpoint: vec![b'c'; 586],
            checkpoint_sig: vec![b's'; 282],
        };
        let size = p.to_bytes().len();
        assert!((3200..3300).contains(&size), "{size} bytes");
    }

    /// The master's key history: a rekey block of the master's chain, signed by the key in
    /// force at its height, puts its new key in force from its `from` height; anything
    /// else is refused.
    #[test]
    fn key_history_follows_the_masters_rekey_blocks() {
        use crate::identity::{Identity, Keys};
        use serde_yaml::{Mapping, Value};
        let k0 = Keys::generate().unwrap();
        let k1 = Keys::generate().unwrap();
        let k2 = Keys::generate().unwrap();
        let id = crate::identity::node_id(&k0.age_recipient(), &k0.sign.public_base64());
        let identity = |name: &str, role, keys: &Keys, id: &str| Identity {
            name: name.into(),
            role,
            id: id.into(),
            age: keys.age_recipient(),
            minisign: keys.sign.public_base64(),
        };
        let t = "2026-11-23T12:00:00Z";
        let card = Card::create(identity("hq", crate::home::Role::Master, &k0, &id), &k0.sign, t).unwrap();
        let rekey = |chain: &str, height: u64, node: &str, from: u64, new: &Keys, signer: &Keys| {
            let mut body = Mapping::new();
            let s = |v: &str| Value::String(v.into());
            body.insert(s("node"), s(node));
            body.insert(s("from"), Value::Number(from.into()));
            body.insert(s("age"), s(&new.age_recipient()));
            body.insert(s("minisign"), s(&new.sign.public_base64()));
            let b = Block {
                chain: chain.into(),
                height,
                prev: Some("ab".repeat(32)),
                clock: height,
                time: t.into(),
                seen: vec![],
                kind: "rekey".into(),
                body: Value::Mapping(body),
            };
            let bytes = b.encode().unwrap();
            let sig = sign::sign(&signer.sign, &bytes, &sign::block_comment(chain, height)).unwrap();
            (bytes, sig.into_bytes())
        };
        let pk = |k: &Keys| k.sign.public_base64();
        let h = KeyHistory::follow(&card, &[], 10).unwrap();
        assert_eq!(h.at(9).to_base64(), pk(&k0));
        // two rotations: k0 signs the first (height 3, k1 from 4), k1 the second
        let good = [rekey(&id, 3, &id, 4, &k1, &k0), rekey(&id, 6, &id, 7, &k2, &k1)];
        let h = KeyHistory::follow(&card, &good, 10).unwrap();
        let at: Vec<String> = [0, 3, 4, 6, 7, 9].iter().map(|&n| h.at(n).to_base64()).collect();
        assert_eq!(at, [pk(&k0), pk(&k0), pk(&k1), pk(&k1), pk(&k2), pk(&k2)]);
        let cases: Vec<(Vec<(Vec<u8>, Vec<u8>)>, u64, &str)> = vec![
            (vec![rekey(&id, 3, &id, 4, &k1, &k1)], 10, "signature"),
            (vec![good[1].clone()], 10, "signature"),
            (
                vec![good[0].clone(), rekey(&id, 2, &id, 5, &k2, &k0)],
                10,
                "out of order",
            ),
            (vec![good[0].clone()], 3, "out of order"),
            (
                vec![rekey(&id, 3, &id, 3, &k1, &k0)],
                10,
                "names its new key from height 3",
            ),
            (
                vec![rekey(&id, 3, "0123456789abcdef", 4, &k1, &k0)],
                10,
                "not the master",
            ),
            (
                vec![rekey("0123456789abcdef", 3, &id, 4, &k1, &k0)],
                10,
                "not a rekey of the master",
            ),
        ];
        for (rekeys, below, want) in cases {
            let e = KeyHistory::follow(&card, &rekeys, below).unwrap_err();
            assert!(e.contains(want), "{want:?} not in {e:?}");
        }
        let mid = crate::identity::node_id(&k1.age_recipient(), &k1.sign.public_base64());
        let member = Card::create(identity("alice", crate::home::Role::Member, &k1, &mid), &k1.sign, t).unwrap();
        assert!(
            KeyHistory::follow(&member, &[], 10)
                .unwrap_err()
                .contains("not the master's")
        );
    }
}
