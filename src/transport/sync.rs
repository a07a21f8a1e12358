//! Sync export: the blocks a peer lacks (own and relayed), judged by the frontier last
//! received from that peer, plus this node's frontier and any fork evidence.
use crate::bundle::{self, Header, NewBundle};
use crate::digest;
use crate::error::{Error, IoContext, Result};
use crate::home::Home;
use crate::merge::Status;
use crate::merge::index::Index;
use crate::node::{Node, State};
use crate::subchain::codec;
use crate::subchain::{SeenRef, store::Place};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::Path;
use tempfile::NamedTempFile;

/// The largest frontier entry accepted.
pub const MAX_FRONTIER: usize = 4 << 20;

/// A node's frontier as carried in sync bundles and kept in `peers/<id>.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frontier {
    pub node: String,
    pub heads: Vec<SeenRef>,
}

impl Frontier {
    pub fn encode(&self) -> Vec<u8> {
        let heads = self
            .heads
            .iter()
            .map(|r| {
                let mut e = Mapping::new();
                e.insert("chain".into(), r.chain.clone().into());
                e.insert("height".into(), r.height.into());
                e.insert("hash".into(), r.hash.clone().into());
                Value::Mapping(e)
            })
            .collect();
        let mut m = Mapping::new();
        m.insert("node".into(), self.node.clone().into());
        m.insert("heads".into(), Value::Sequence(heads));
        codec::emit(&Value::Mapping(m)).expect("frontier emits").into_bytes()
    }
    /// True when this frontier already says everything `other` says: every head of `other`
    /// is at or below a head of the same chain here (the same block when at the same height).
    pub fn covers(&self, other: &Frontier) -> bool {
        self.node == other.node
            && other.heads.iter().all(|o| {
                self.heads
                    .iter()
                    .any(|h| h.chain == o.chain && (h.height > o.height || (h.height == o.height && h.hash == o.hash)))
            })
    }

    pub fn decode(bytes: &[u8]) -> Result<Frontier, String> {
        let v = codec::parse_strict(bytes, MAX_FRONTIER)?;
        let f: Frontier = serde_yaml::from_value(v).map_err(|e| format!("bad frontier: {e}"))?;
        if !crate::subchain::is_node_id(&f.node)
            || f.heads
                .iter()
                .any(|h| !crate::subchain::is_node_id(&h.chain) || digest::parse_hash(&h.hash).is_none())
        {
            return Err("bad frontier entry".into());
        }
        Ok(f)
    }
}

/// The largest `series.yaml` entry accepted.
pub const MAX_SERIES: usize = 1024;

/// The most bundles one split export may make.
pub const MAX_SERIES_PARTS: u64 = 100_000;

/// Where a bundle of a split `sync export` stands: `series.yaml` in its payload (signed
/// with it). A recipient keeps a later bundle of the series aside until the blocks before
/// it are there, rather than holding its blocks pending (see [`super::import`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Random, shared by the bundles of one export (32 hex digits).
    pub series: String,
    /// This bundle's place, from 1.
    pub part: u64,
    /// How many bundles the export made.
    pub of: u64,
}

impl Series {
    pub fn encode(&self) -> Vec<u8> {
        let mut m = Mapping::new();
        m.insert("series".into(), self.series.clone().into());
        m.insert("part".into(), self.part.into());
        m.insert("of".into(), self.of.into());
        codec::emit(&Value::Mapping(m)).expect("series emits").into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Series, String> {
        let v = codec::parse_strict(bytes, MAX_SERIES)?;
        let s: Series = serde_yaml::from_value(v).map_err(|e| format!("bad series entry: {e}"))?;
        if s.series.len() != 32 || !digest::is_lower_hex(&s.series) {
            return Err("bad series id".into());
        }
        if s.part == 0 || s.part > s.of || s.of > MAX_SERIES_PARTS {
            return Err(format!("bad series place: part {} of {}", s.part, s.of));
        }
        Ok(s)
    }
}

pub fn peer_path(home: &Home, id: &str) -> std::path::PathBuf {
    home.peers_dir().join(format!("{id}.yaml"))
}

/// `peers/<id>.heard`: the creation time (the sender's clock) of the newest bundle
/// imported from that peer.
pub fn heard_path(home: &Home, id: &str) -> std::path::PathBuf {
    home.peers_dir().join(format!("{id}.heard"))
}

/// When a bundle from `id` was last imported here (its `created` time), if ever.
pub fn last_heard(home: &Home, id: &str) -> Option<String> {
    let b = std::fs::read(heard_path(home, id)).ok()?;
    let s = String::from_utf8(b).ok()?;
    let t = s.trim();
    crate::timefmt::parse_rfc3339(t).map(|_| t.to_string())
}

/// The frontier last received from a peer, if any.
pub fn peer_frontier(home: &Home, id: &str) -> Result<Option<Frontier>> {
    let p = peer_path(home, id);
    match std::fs::read(&p) {
        Ok(b) => Frontier::decode(&b)
            .map(Some)
            .map_err(|e| Error::rejected(p.display(), "malformed", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Block entry names: `blocks/<chain>/<height>-<hash>.yaml` and `.minisig`.
pub fn entry_name(chain: &str, height: u64, hash: &str) -> String {
    format!("blocks/{chain}/{height:010}-{hash}.yaml")
}

/// Parse a block entry name back.
pub fn parse_entry_name(name: &str) -> Option<(String, u64, String, bool)> {
    let rest = name.strip_prefix("blocks/")?;
    let (chain, file) = rest.split_once('/')?;
    let (file, is_sig) = match file.strip_suffix(".minisig") {
        Some(f) => (f, true),
        None => (file, false),
    };
    let stem = file.strip_suffix(".yaml")?;
    let (h, hash) = stem.split_once('-')?;
    if !crate::subchain::is_node_id(chain)
        || h.len() != 10
        || !h.bytes().all(|b| b.is_ascii_digit())
        || digest::parse_hash(hash).is_none()
    {
        return None;
    }
    Some((chain.to_string(), h.parse().ok()?, hash.to_string(), is_sig))
}

/// What a sync export carried.
#[derive(Debug)]
pub struct Exported {
    pub header: Header,
    pub blocks: usize,
    pub recipients: Vec<String>,
    /// This node's chain height as the bundle carries it.
    pub height: u64,
    /// Receipts and acknowledgements it carries.
    pub receipts: usize,
}

/// A block to send: from memory (a candidate of the state) or from its file in `chains/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Outgoing {
    pub chain: String,
    pub height: u64,
    pub hash: digest::Hash,
    pub cand: Option<usize>,
    /// The block's clock (the order a split export sends in).
    pub clock: u64,
}

/// Make a sync bundle in a temp file in `dir`. With the settled index (`ix`, which then
/// holds every valid block), only the files sent are read.
pub fn export(
    node: &Node,
    st: &State,
    ix: Option<&Index>,
    to: Option<&str>,
    all: bool,
    armor: bool,
    dir: &Path,
) -> Result<(NamedTempFile, Exported)> {
    let (recipients, ids, send) = selection(node, st, ix, to, all)?;
    check_entry_limit(send.len())?;
    let mut made = make_bundles(node, st, ix, &recipients, &ids, armor, dir, vec![&send[..]])?;
    Ok(made.pop().expect("one bundle"))
}

/// The recipients of a sync export (their roster entries and ids) and the blocks to send.
#[allow(clippy::type_complexity)]
fn selection<'a>(
    node: &Node,
    st: &'a State,
    ix: Option<&Index>,
    to: Option<&str>,
    all: bool,
) -> Result<(Vec<&'a crate::merge::validate::Member>, Vec<String>, Vec<Outgoing>)> {
    let recipients = recipients_of(node, st, to)?;
    let ids: Vec<String> = recipients.iter().map(|m| m.identity.id.clone()).collect();
    let send = match ix {
        Some(ix) => select_settled(node, ix, &ids, all)?,
        None => select(node, st, &ids, all)?,
    };
    Ok((recipients, ids, send))
}

/// Blocks per sync bundle by default when an export is split ([`export_split`]): ~20 MB
/// of bundle. The importing peer holds a bundle's blocks as it judges them, and the
/// previous bundle's as it settles them, ~5 KB a block (measured at 1M blocks: 491-553 MiB
/// an import with 100,000-block bundles, 210 MiB with 20,000), whatever the history.
pub const BLOCKS_PER_BUNDLE: usize = 20_000;

/// [`export`], split into several bundles of at most `per` blocks each when there are more:
/// the blocks in global order (clock, chain id), so that each bundle's blocks name only
/// blocks of the same or earlier bundles (their predecessors and `seen` have smaller
/// clocks), fork evidence in the last. Imported in order, every block is valid on arrival;
/// in any other order, blocks wait pending until the earlier bundles arrive. Every bundle
/// carries the frontier and the receipts.
#[allow(clippy::too_many_arguments)]
pub fn export_split(
    node: &Node,
    st: &State,
    ix: Option<&Index>,
    to: Option<&str>,
    all: bool,
    armor: bool,
    dir: &Path,
    per: usize,
) -> Result<Vec<(NamedTempFile, Exported)>> {
    let per = per.clamp(1, (bundle::payload::MAX_ENTRIES as usize - 1) / 2);
    let (recipients, ids, mut send) = selection(node, st, ix, to, all)?;
    if send.len() <= per {
        return make_bundles(node, st, ix, &recipients, &ids, armor, dir, vec![&send[..]]);
    }
    let key = |o: &Outgoing| -> (bool, u64) {
        match (o.cand, ix) {
            // fork evidence last
            (Some(i), _)
                if st.places[i] != crate::subchain::store::Place::Chains || st.eval.status[i] != Status::Valid =>
            {
                (true, 0)
            }
            (Some(_), _) | (None, Some(_)) => (false, o.clock),
            (None, None) => (true, 0),
        }
    };
    if send.len().div_ceil(per) as u64 > MAX_SERIES_PARTS {
        return Err(Error::usage(format!(
            "--max-blocks {per}: {} blocks would make more than {MAX_SERIES_PARTS} bundles",
            send.len()
        )));
    }
    // compared in place: a cached key would copy every chain id (1M strings at 1M blocks)
    send.sort_by(|a, b| (key(a), &a.chain, a.height).cmp(&(key(b), &b.chain, b.height)));
    // slices of the one list: splitting it off a chunk at a time kept, in each chunk, the
    // capacity of everything after it (quadratic: 2.2 GiB for 51 bundles at 1M blocks)
    make_bundles(node, st, ix, &recipients, &ids, armor, dir, send.chunks(per).collect())
}

fn recipients_of<'a>(node: &Node, st: &'a State, to: Option<&str>) -> Result<Vec<&'a crate::merge::validate::Member>> {
    let me = node.id();
    let recipients: Vec<&crate::merge::validate::Member> = match to {
        Some(who) => {
            let m = st
                .eval
                .find_member(who)
                .ok_or_else(|| Error::usage(format!("--to {who}: no such node in the roster")))?;
            if m.identity.id == me {
                return Err(Error::usage(format!("--to {who}: that is this node")));
            }
            if m.removed.is_some() {
                return Err(Error::rejected(who, "not-authorised", "removed from the roster"));
            }
            vec![m]
        }
        None => st.eval.active().filter(|m| m.identity.id != me).collect(),
    };
    if recipients.is_empty() {
        return Err(Error::usage("no recipients: the roster has no other active node yet"));
    }
    Ok(recipients)
}

/// One sync bundle per list of blocks.
#[allow(clippy::too_many_arguments)]
fn make_bundles(
    node: &Node,
    st: &State,
    ix: Option<&Index>,
    recipients: &[&crate::merge::validate::Member],
    ids: &[String],
    armor: bool,
    dir: &Path,
    chunks: Vec<&[Outgoing]>,
) -> Result<Vec<(NamedTempFile, Exported)>> {
    let me = node.id();
    let keys = node.keys()?;
    let recips = recipients
        .iter()
        .map(|m| Ok((m.identity.id.clone(), m.identity.recipient().map_err(Error::Env)?)))
        .collect::<Result<Vec<_>>>()?;
    let carried = super::receipts::Receipts::load(&node.home).carried_for(ids);
    let height = match ix {
        Some(ix) => ix.chains.get(me).map_or(0, |x| x.head()),
        None => st.head(me).map_or(0, |(_, b)| b.height),
    };
    let mut out = Vec::with_capacity(chunks.len());
    let series = bundle::random_id();
    let of = chunks.len() as u64;
    for (k, send) in chunks.into_iter().enumerate() {
        // the bundles of a split export say where each stands, so the recipient can keep a
        // later one aside until the earlier ones are there
        let place = (of > 1).then(|| Series {
            series: series.clone(),
            part: k as u64 + 1,
            of,
        });
        let nb = NewBundle {
            kind: "sync",
            sender: me,
            key: crate::act::rekey::signing_key(node, &st.eval.members, &keys, ids),
            recipients: recips.clone(),
            created: node.time(),
            armor,
            size_hint: 0,
        };
        let (tmp, header) = bundle::create(nb, dir, |pw| {
            write_blocks(pw, node, st, ix, send)?;
            if let Some(p) = &place {
                pw.entry("series.yaml", &p.encode())?;
            }
            if let Some(c) = &carried {
                pw.entry("receipts.yaml", &c.encode())?;
            }
            Ok(())
        })?;
        out.push((
            tmp,
            Exported {
                header,
                blocks: send.len(),
                recipients: ids.to_vec(),
                height,
                receipts: carried.as_ref().map_or(0, |c| c.receipts.len() + c.acks.len()),
            },
        ));
    }
    Ok(out)
}

fn frontiers(node: &Node, recipients: &[String], all: bool) -> Result<Vec<Option<Frontier>>> {
    if all {
        return Ok(vec![None]);
    }
    recipients.iter().map(|id| peer_frontier(&node.home, id)).collect()
}

/// A bundle the recipient would refuse is not made: a block is two entries (block and
/// signature), plus the frontier.
pub fn check_entry_limit(blocks: usize) -> Result<()> {
    let entries = 2 * blocks as u64 + 1;
    if entries > bundle::payload::MAX_ENTRIES {
        return Err(Error::rejected(
            "sync export",
            "limit",
            format!(
                "{blocks} blocks make {entries} entries, over the {} a bundle may carry",
                bundle::payload::MAX_ENTRIES
            ),
        ));
    }
    Ok(())
}

/// What a bundle to `recipients` carries besides its documents: [`select`] on a whole
/// state; through the index for a state loaded with a view, plus the blocks held in full
/// beyond it (those a transaction staged).
pub fn select_for(node: &Node, st: &State, recipients: &[String]) -> Result<Vec<Outgoing>> {
    let Some(v) = st.view.as_deref() else {
        return select(node, st, recipients, false);
    };
    let mut send = select_settled(node, &v.index, recipients, false)?;
    for (chain, seq) in &st.eval.chains {
        let len = v.index.chains.get(chain).map_or(0, |x| x.len());
        for &i in seq {
            let c = &st.cands[i];
            if c.settled.is_none() && c.height() >= len && st.places[i] == Place::Chains {
                send.push(Outgoing {
                    chain: chain.clone(),
                    height: c.height(),
                    hash: c.hash,
                    cand: Some(i),
                    clock: st.block(i).clock,
                });
            }
        }
    }
    Ok(send)
}

/// [`select`] from the settled index alone (which holds no fork evidence).
pub fn select_settled(node: &Node, ix: &Index, recipients: &[String], all: bool) -> Result<Vec<Outgoing>> {
    let frontiers = frontiers(node, recipients, all)?;
    let mut send = Vec::new();
    for (chain, x) in &ix.chains {
        let mut lowest = u64::MAX;
        for f in &frontiers {
            let start = f
                .as_ref()
                .and_then(|f| f.heads.iter().find(|h| &h.chain == chain))
                .filter(|h| {
                    h.height < x.len() && digest::parse_hash(&h.hash).is_some_and(|w| x.hash(h.height) == Some(w))
                })
                .map_or(0, |h| h.height + 1);
            lowest = lowest.min(start);
        }
        for h in lowest..x.len() {
            // a segment of the index found damaged under the command (its files were
            // checked when it was read): it is dropped, and the next run rebuilds it
            let Some(r) = x.rec(h) else {
                node.forget_index();
                return Err(Error::rejected(
                    node.home.state_dir().join("index.d").join(chain).display(),
                    "damaged",
                    "the settled index changed under this command; it was removed: run the command again",
                ));
            };
            send.push(Outgoing {
                chain: chain.clone(),
                height: h,
                hash: r.hash,
                cand: None,
                clock: r.clock,
            });
        }
    }
    Ok(send)
}

/// The blocks any of `recipients` may lack (all with `all`), judged by the frontiers last
/// received from them, plus all fork evidence.
pub fn select(node: &Node, st: &State, recipients: &[String], all: bool) -> Result<Vec<Outgoing>> {
    let mut from: BTreeMap<String, u64> = BTreeMap::new();
    let frontiers = frontiers(node, recipients, all)?;
    for (chain, seq) in &st.eval.chains {
        let mut lowest = u64::MAX;
        for f in &frontiers {
            let start = f
                .as_ref()
                .and_then(|f| f.heads.iter().find(|h| &h.chain == chain))
                .and_then(|h| {
                    let &i = seq.get(h.height as usize)?;
                    (digest::hex(&st.cands[i].hash) == h.hash).then_some(h.height + 1)
                })
                .unwrap_or(0);
            lowest = lowest.min(start);
        }
        from.insert(chain.clone(), lowest);
    }
    let mut send: Vec<usize> = Vec::new();
    for (chain, seq) in &st.eval.chains {
        send.extend(seq.iter().copied().filter(|&i| st.block(i).height >= from[chain]));
    }
    // fork evidence always travels, so every node learns of it
    for (i, s) in st.eval.status.iter().enumerate() {
        if *s == Status::Cut || (st.places[i] == Place::Forks && !matches!(s, Status::Duplicate(_))) {
            send.push(i);
        }
    }
    send.sort();
    send.dedup();
    Ok(send
        .into_iter()
        .map(|i| Outgoing {
            chain: st.cands[i].chain().to_string(),
            height: st.cands[i].height(),
            hash: st.cands[i].hash,
            cand: Some(i),
            clock: st.cands[i].block.as_ref().map_or(0, |b| b.clock),
        })
        .collect())
}

/// Write this node's frontier and the given blocks as payload entries.
pub fn write_blocks(
    pw: &mut bundle::PayloadWriter<&mut dyn std::io::Write>,
    node: &Node,
    st: &State,
    ix: Option<&Index>,
    send: &[Outgoing],
) -> std::io::Result<()> {
    write_blocks_and(pw, node, st, ix, send, None)
}

/// [`write_blocks`], plus one block of this node's own chain made on top of `st` and not
/// in it yet (`issue` signs its block inside the payload's single pass).
pub fn write_blocks_and(
    pw: &mut bundle::PayloadWriter<&mut dyn std::io::Write>,
    node: &Node,
    st: &State,
    ix: Option<&Index>,
    send: &[Outgoing],
    own: Option<&crate::act::SignedBlock>,
) -> std::io::Result<()> {
    // the state's heads: the index's, and blocks staged since (a transaction's own)
    let mut heads = match ix {
        Some(ix) if st.eval.chains.is_empty() => ix.frontier(),
        _ => st.frontier(),
    };
    if let Some(b) = own {
        heads.retain(|h| h.chain != b.block.chain);
        heads.push(SeenRef {
            chain: b.block.chain.clone(),
            height: b.block.height,
            hash: digest::hex(&b.hash),
        });
        heads.sort_by(|x, y| x.chain.cmp(&y.chain));
    }
    let frontier = Frontier {
        node: node.id().to_string(),
        heads,
    };
    pw.entry("frontier.yaml", &frontier.encode())?;
    let bar = crate::progress::task("exporting", Some(send.len() as u64), crate::progress::Unit::Blocks);
    for o in send {
        bar.inc(1);
        let name = entry_name(&o.chain, o.height, &digest::hex(&o.hash));
        match o.cand {
            Some(i) => {
                let c = &st.cands[i];
                pw.entry(&name, &c.bytes)?;
                pw.entry(&format!("{name}.minisig"), c.sig.as_deref().unwrap_or_default())?;
            }
            None => {
                // a settled block: read its files, which must still be what was settled
                let p = crate::subchain::store::chain_path(&node.home, &o.chain, o.height);
                let bytes = std::fs::read(&p)?;
                let sig = std::fs::read(format!("{}.minisig", p.display()))?;
                if digest::sha256(&bytes) != o.hash {
                    return Err(std::io::Error::other(format!(
                        "{} changed since it was verified: run `secfile verify`",
                        p.display()
                    )));
                }
                pw.entry(&name, &bytes)?;
                pw.entry(&format!("{name}.minisig"), &sig)?;
            }
        }
    }
    if let Some(b) = own {
        let name = entry_name(&b.block.chain, b.block.height, &digest::hex(&b.hash));
        pw.entry(&name, &b.bytes)?;
        pw.entry(&format!("{name}.minisig"), &b.sig)?;
    }
    Ok(())
}

/// Write a bundle temp file to its destination: a path (atomic), or stdout for `-`.
pub fn deliver(tmp: NamedTempFile, out: &Path, stdout: &mut dyn std::io::Write) -> Result<()> {
    if out == Path::new("-") {
        let mut f = std::fs::File::open(tmp.path()).at(tmp.path())?;
        std::io::copy(&mut f, stdout).at("stdout")?;
        stdout.flush().at("stdout")?;
        return Ok(());
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Env(format!(
            "{}: directory does not exist (--out never creates one)",
            dir.display()
        )));
    }
    // a rename when the temp file is on the same filesystem, else a copy
    // the mode before the rename: a failure after it would report an error for a
    // bundle already delivered
    crate::home::set_mode_outside(tmp.path(), 0o644)?;
    match tmp.persist(out) {
        Ok(_) => crate::home::fsync_dir(dir),
        Err(e) => {
            let tmp = e.file;
            let mut f = std::fs::File::open(tmp.path()).at(tmp.path())?;
            crate::home::write_out_with(out, |w| std::io::copy(&mut f, w).map(|_| ()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_entry_round_trips_and_bad_ones_are_refused() {
        let s = Series {
            series: "0123456789abcdef0123456789abcdef".into(),
            part: 2,
            of: 3,
        };
        assert_eq!(Series::decode(&s.encode()), Ok(s.clone()));
        let id = &s.series;
        for (text, why) in [
            (format!("series: {id}\npart: 0\nof: 3\n"), "part 0"),
            (format!("series: {id}\npart: 4\nof: 3\n"), "past the count"),
            (format!("series: {id}\npart: 1\nof: 100001\n"), "too many"),
            (
                format!("series: {}\npart: 1\nof: 3\n", id.to_uppercase()),
                "upper-case id",
            ),
            ("series: abc\npart: 1\nof: 3\n".to_string(), "short id"),
            (format!("series: {id}\npart: 1\nof: 3\nextra: 1\n"), "unknown key"),
            (format!("series: {id}\npart: -1\nof: 3\n"), "negative"),
            (
                format!("series: {id}\npart: 1\nof: 3\n{}", "#".repeat(MAX_SERIES)),
                "over the limit",
            ),
        ] {
            assert!(Series::decode(text.as_bytes()).is_err(), "{why}: {text}");
        }
    }

    fn f(heads: &[(&str, u64, char)]) -> Frontier {
        Frontier {
            node: "0123456789abcdef".into(),
            heads: heads
                .iter()
                .map(|&(c, h, x)| SeenRef {
                    chain: c.into(),
                    height: h,
                    hash: x.to_string().repeat(64),
                })
                .collect(),
        }
    }

    #[test]
    fn export_refuses_what_import_would() {
        let most = (bundle::payload::MAX_ENTRIES as usize - 1) / 2;
        assert!(check_entry_limit(most).is_ok());
        let e = check_entry_limit(most + 1).unwrap_err();
        assert_eq!((e.class(), e.kind()), (crate::error::Class::Rejected, "limit"));
    }

    #[test]
    fn newer_frontier_covers_older_not_the_reverse() {
        let old = f(&[("aaaaaaaaaaaaaaaa", 2, 'a')]);
        let new = f(&[("aaaaaaaaaaaaaaaa", 3, 'b'), ("bbbbbbbbbbbbbbbb", 0, 'c')]);
        assert!(new.covers(&old) && new.covers(&new));
        assert!(!old.covers(&new));
        assert!(
            !f(&[("aaaaaaaaaaaaaaaa", 2, 'd')]).covers(&old),
            "same height, other block"
        );
    }
}
