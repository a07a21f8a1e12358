//! Import of bundles of every kind. Everything is checked before anything is written: the
//! header, the addressing, the sender's place in the roster, the signature, the payload
//! digest, the whole age stream (content goes to a temp file until then), the signed
//! documents, and every block under its author's key and the rules of DESIGN §5.
//! A rejected bundle leaves the home unchanged.
use super::sync::{self, Frontier};
use crate::act::{Tx, Who};
use crate::bundle::{self, PayloadReader};
use crate::digest::{self, Hash};
use crate::dossier::{self, Manifest, RequestDoc};
use crate::error::{Error, IoContext, Result};
use crate::merge::{Cand, Evaluation, Status, evaluate_on, evaluate_with};
use crate::node::{Node, State};
use crate::subchain::store::{self, Place};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub bundle: String,
    pub kind: String,
    pub sender: String,
    /// Blocks added to chains (including pending blocks that became valid).
    pub added: usize,
    /// Blocks kept as pending, and what each waits for.
    pub pending: Vec<String>,
    /// Fork evidence newly kept.
    pub forks: usize,
    /// Blocks already held.
    pub known: usize,
    /// Relayed blocks ignored as past a removal cutoff.
    pub ignored: usize,
    /// The request or file this bundle carried, if any.
    pub file: Option<String>,
    /// True when a document (request, security file) was newly stored.
    pub stored: bool,
    /// Blocks that would be added (read-only checks).
    pub added_planned: usize,
    /// The sender's name in the roster.
    pub sender_name: String,
    /// Bundles of this node's outbox that this bundle's sender gave receipts for (dropped
    /// from the outbox).
    pub receipted: Vec<String>,
    /// For a part of a chunked bundle: (parts held, parts in all). When all are held the
    /// bundle was imported and the rest of the report is its.
    pub parts: Option<(u64, u64)>,
    /// A rekey request bound: (node, from, master height of the `rekey` block).
    pub rekey: Option<(String, u64, u64)>,
    /// This node's pending key rotation was bound by a block this bundle brought: the
    /// import switches to the new keys.
    pub keys_switched: bool,
    /// A later bundle of a split export kept aside in `held/` (not imported yet) until the
    /// blocks before it are here: where it stands, the blocks it waits for
    /// (`chain:height`), and whether this import newly kept it.
    pub held: Option<Held>,
}

/// See [`ImportReport::held`].
#[derive(Debug, Clone)]
pub struct Held {
    pub series: sync::Series,
    pub waits: Vec<String>,
    pub new: bool,
}

impl ImportReport {
    pub fn changed(&self) -> bool {
        self.added > 0
            || !self.pending.is_empty()
            || self.forks > 0
            || self.stored
            || self.held.as_ref().is_some_and(|h| h.new)
    }
}

/// Block entries of a payload: (chain, height, hash) → (block, signature).
pub type BlockEntries = BTreeMap<(String, u64, String), (Option<Vec<u8>>, Option<Vec<u8>>)>;

/// A decrypted payload: small entries in memory, the content in a temp file.
#[derive(Default)]
pub struct Payload {
    pub frontier: Option<Frontier>,
    pub blocks: BlockEntries,
    pub docs: BTreeMap<String, Vec<u8>>,
    pub content: Option<(tempfile::NamedTempFile, Hash, u64)>,
    /// Receipts and acknowledgements a sync bundle carries.
    pub receipts: Option<super::receipts::Carried>,
    /// Where a bundle of a split export stands.
    pub series: Option<sync::Series>,
}

const DOC_ENTRIES: &[&str] = &[
    "request.yaml",
    "request.yaml.minisig",
    "manifest.yaml",
    "manifest.yaml.minisig",
    crate::act::rekey::DOC,
    crate::act::rekey::SIG_OLD,
    crate::act::rekey::SIG_NEW,
];

fn read_payload<R: BufRead>(r: R, label: &str, header: &bundle::Header, tmp_dir: &Path) -> Result<Payload> {
    let bad = |e: String| Error::rejected(label, "malformed", e);
    let mut r = PayloadReader::new(r).map_err(bad)?;
    let mut p = Payload::default();
    while let Some(e) = r.next_entry().map_err(bad)? {
        if e.name == "frontier.yaml" {
            let b = r.read_small(&e, sync::MAX_FRONTIER).map_err(bad)?;
            let f = Frontier::decode(&b).map_err(|er| bad(format!("frontier: {er}")))?;
            if f.node != header.sender {
                return Err(bad("frontier is not the sender's".into()));
            }
            p.frontier = Some(f);
        } else if e.name == "receipts.yaml" && header.kind == "sync" && p.receipts.is_none() {
            let b = r
                .read_small(&e, super::receipts::MAX_ENTRY)
                .map_err(|er| Error::rejected(label, "limit", er))?;
            p.receipts = Some(super::receipts::Carried::decode(&b).map_err(|er| bad(format!("receipts: {er}")))?);
        } else if e.name == "series.yaml" && header.kind == "sync" && p.series.is_none() {
            let b = r
                .read_small(&e, sync::MAX_SERIES)
                .map_err(|er| Error::rejected(label, "limit", er))?;
            p.series = Some(sync::Series::decode(&b).map_err(bad)?);
        } else if DOC_ENTRIES.contains(&e.name.as_str()) && header.kind != "sync" {
            let b = r
                .read_small(&e, dossier::docs::MAX_DOC)
                .map_err(|er| Error::rejected(label, "limit", er))?;
            p.docs.insert(e.name.clone(), b);
        } else if e.name == "content" && header.kind != "sync" && p.content.is_none() {
            crate::home::ensure_dir(tmp_dir)?;
            let tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(tmp_dir)
                .at(tmp_dir)?;
            // synced behind as it is written: the commit's fsync flushes only the tail
            let sb = crate::home::durable::SyncBehind::new(tmp.as_file()).at(tmp_dir)?;
            let mut w = crate::digest::HashingBufWriter::with_capacity(1 << 20, sb);
            r.copy_to(&e, &mut w).map_err(|er| match er {
                bundle::payload::CopyError::Bad(s) => bad(s),
                bundle::payload::CopyError::Io(io) => Error::io(tmp_dir, io),
            })?;
            let (sb, hash, size) = w.finish().map_err(|e| Error::io(tmp.path(), e))?;
            sb.finish().map_err(|e| Error::io(tmp.path(), e))?;
            p.content = Some((tmp, hash, size));
        } else if let Some((chain, height, hash, is_sig)) = sync::parse_entry_name(&e.name) {
            let limit = if is_sig {
                crate::envelope::MAX_SIG
            } else {
                crate::subchain::MAX_BLOCK
            };
            let data = r
                .read_small(&e, limit)
                .map_err(|er| Error::rejected(label, "limit", er))?;
            let slot = p.blocks.entry((chain, height, hash)).or_default();
            if is_sig {
                slot.1 = Some(data)
            } else {
                slot.0 = Some(data)
            }
        } else {
            return Err(bad(format!("unexpected entry {} in a {} bundle", e.name, header.kind)));
        }
    }
    if p.frontier.is_none() {
        return Err(bad("no frontier entry".into()));
    }
    Ok(p)
}

/// The blocks of a bundle evaluated together with the store, and the writes they need.
pub struct Plan {
    pub cands: Vec<Cand>,
    pub eval: Evaluation,
    writes: Vec<(usize, Place)>,
    removes: Vec<std::path::PathBuf>,
    /// Where the store's candidates (those before the incoming ones) are.
    places: Vec<Place>,
    paths: Vec<std::path::PathBuf>,
    /// The index the store was loaded through, when it was (the candidates then lack the
    /// settled blocks).
    view: Option<Box<crate::node::View>>,
}

fn plan_blocks(node: &Node, st: State, blocks: BlockEntries, label: &str, report: &mut ImportReport) -> Result<Plan> {
    if st.view.is_some() {
        let before = report.clone();
        if let Some(plan) = plan_through_view(node, st, &blocks, label, report)? {
            return Ok(plan);
        }
        // something out of the ordinary (fork evidence, an invalid block, a removal below a
        // settled block): judged on the whole store, as without the index
        *report = before;
        return plan_whole(node, node.load()?, blocks, label, report);
    }
    plan_whole(node, st, blocks, label, report)
}

/// The incoming blocks as candidates, each checked against its entry name and hash.
fn incoming(blocks: &BlockEntries, label: &str) -> Result<Vec<Cand>> {
    let bad = |e: String| Error::rejected(label, "malformed", e);
    let mut out = Vec::with_capacity(blocks.len());
    for ((chain, height, hash), (bytes, sig)) in blocks {
        let name = sync::entry_name(chain, *height, hash);
        let bytes = bytes
            .clone()
            .ok_or_else(|| bad(format!("{name}: signature without block")))?;
        if digest::hex(&digest::sha256(&bytes)) != *hash {
            return Err(Error::rejected(
                label,
                "tampered",
                format!("{name}: content does not match its hash"),
            ));
        }
        let c = Cand::new(format!("{label}: {name}"), true, None, bytes, sig.clone());
        if c.block.as_ref().is_ok_and(|b| b.chain != *chain || b.height != *height) {
            return Err(bad(format!("{name}: entry name does not match the block")));
        }
        out.push(c);
    }
    Ok(out)
}

/// [`plan_whole`] through the settled index of a state loaded with a view: the incoming
/// blocks already settled are counted as known, the others are evaluated with the blocks
/// beyond the index and stand-ins for the settled ones they name. `None` when the whole
/// store must judge: an incoming block that differs from a settled one, a block that is
/// not valid or pending, a removal whose cutoff lies below a settled block.
fn plan_through_view(
    node: &Node,
    mut st: State,
    blocks: &BlockEntries,
    label: &str,
    report: &mut ImportReport,
) -> Result<Option<Plan>> {
    let view = st.view.take().expect("a view");
    let ix = &view.index;
    // the blocks of chains/ the load found beyond the index are in it now: settled blocks
    // read in full, as the evaluation against the index's heads expects
    let me = node.id();
    for (i, (c, place)) in st.cands.iter_mut().zip(&st.places).enumerate() {
        // this node's genesis still waiting for its admission stays a block in full
        if crate::node::settled::waiting_genesis(me, c, *place, &st.eval.status[i]) {
            continue;
        }
        if *place == Place::Chains && c.settled.is_none() {
            let (chain, h) = (c.chain().to_string(), c.height());
            if ix.chains.get(&chain).is_none_or(|x| h >= x.len()) {
                return Ok(None);
            }
            // what Cand::settled_full does, in place
            c.sig = None;
            let Some(s) = ix.settled(&chain, h) else {
                return Ok(None);
            };
            c.settled = Some(s);
        }
    }
    let mut news = Vec::new();
    let mut known = 0;
    for c in incoming(blocks, label)? {
        let Ok(b) = &c.block else { return Ok(None) };
        match ix.chains.get(&b.chain).filter(|x| b.height < x.len()) {
            Some(x) if x.hash(b.height) == Some(c.hash) => known += 1,
            Some(_) => return Ok(None),
            None => news.push(c),
        }
    }
    // stand-ins for the settled blocks the new ones name that the state lacks
    let held: std::collections::BTreeSet<(String, u64)> = st
        .cands
        .iter()
        .zip(&st.places)
        .filter(|(_, p)| **p == Place::Chains)
        .map(|(c, _)| (c.chain().to_string(), c.height()))
        .collect();
    let mut stand = std::collections::BTreeSet::new();
    for c in &news {
        for r in &c.block.as_ref().expect("checked").seen {
            if let Some(x) = ix.chains.get(&r.chain) {
                if r.height < x.len() {
                    if x.hash(r.height).is_none() || digest::parse_hash(&r.hash) != x.hash(r.height) {
                        return Ok(None);
                    }
                    if !held.contains(&(r.chain.clone(), r.height)) {
                        stand.insert((r.chain.clone(), r.height));
                    }
                }
            }
        }
    }
    for (chain, h) in stand {
        let Some(r) = ix.chains[&chain].rec(h) else {
            return Ok(None);
        };
        st.cands
            .push(Cand::settled(&chain, h, r.hash, r.clock, r.settled(), ix.kind(r.kind)));
        st.places.push(Place::Chains);
        st.paths.push(store::chain_path(&node.home, &chain, h));
    }
    let base = st.cands.len();
    let mut cands = std::mem::take(&mut st.cands);
    cands.extend(news);
    // fresh blocks: their signatures are verified here (the whole cache is not read)
    let eval = evaluate_on(
        &node.master_card,
        &cands,
        Some(&crate::merge::sigcache::SigCache::default()),
        Some(&ix.base()),
    );
    for (i, s) in eval.status.iter().enumerate() {
        let fine = if i < base {
            match st.places[i] {
                Place::Chains if crate::node::settled::waiting_genesis(me, &cands[i], Place::Chains, s) => true,
                Place::Chains => *s == Status::Valid,
                _ => matches!(s, Status::Valid | Status::Pending(_)),
            }
        } else {
            matches!(
                s,
                Status::Valid | Status::Pending(_) | Status::Duplicate(_) | Status::Invalid("removed", _)
            )
        };
        if !fine {
            return Ok(None);
        }
    }
    if ix.rewritten_by(&eval.members) {
        return Ok(None);
    }
    report.known += known;
    let mut plan = decide_writes(cands, eval, base, st.places, st.paths, label, report)?;
    // the state after the import still lacks the settled blocks: keep saying so
    plan.view = Some(view);
    Ok(Some(plan))
}

fn plan_whole(node: &Node, st: State, blocks: BlockEntries, label: &str, report: &mut ImportReport) -> Result<Plan> {
    let base = st.cands.len();
    let mut cands = st.cands;
    cands.extend(incoming(&blocks, label)?);
    let cache = node.sig_cache();
    let eval = evaluate_with(&node.master_card, &cands, Some(&cache));
    decide_writes(cands, eval, base, st.places, st.paths, label, report)
}

/// The writes an evaluation of the store (`cands[..base]`, placed as `st` says) and the
/// incoming blocks (`cands[base..]`) needs; an invalid incoming block refuses the bundle.
fn decide_writes(
    cands: Vec<Cand>,
    eval: Evaluation,
    base: usize,
    places: Vec<Place>,
    paths: Vec<std::path::PathBuf>,
    label: &str,
    report: &mut ImportReport,
) -> Result<Plan> {
    let mut writes: Vec<(usize, Place)> = Vec::new();
    let mut removes = Vec::new();
    for i in base..cands.len() {
        let c = &cands[i];
        match &eval.status[i] {
            Status::Duplicate(_) => report.known += 1,
            Status::Valid => writes.push((i, Place::Chains)),
            Status::Pending(why) => {
                report
                    .pending
                    .push(format!("{}:{} waits: {why}", c.chain(), c.height()));
                writes.push((i, Place::Pending));
            }
            Status::Cut => writes.push((i, Place::Forks)),
            Status::Invalid("removed", _) => report.ignored += 1,
            Status::Invalid(kind, why) => {
                return Err(Error::rejected(
                    label,
                    kind,
                    format!("block {}:{}: {why}", c.chain(), c.height()),
                ));
            }
            Status::Undecided => unreachable!("evaluate decides every block"),
        }
    }
    for (i, s) in eval.status.iter().enumerate().take(base) {
        match (places[i], s) {
            (Place::Pending, Status::Valid) => {
                writes.push((i, Place::Chains));
                removes.push(paths[i].clone());
            }
            (Place::Chains, Status::Cut) => writes.push((i, Place::Forks)),
            // fork evidence whose branch is now anchored first: a valid block again
            (Place::Forks, Status::Valid) => writes.push((i, Place::Chains)),
            _ => {}
        }
    }
    writes.sort_by_key(|&(i, _)| (cands[i].chain().to_string(), cands[i].height()));
    Ok(Plan {
        cands,
        eval,
        writes,
        removes,
        places,
        paths,
        view: None,
    })
}

/// Check a bundle's blocks against the store without writing anything. Returns the state
/// as it would be after the import (the bundle's blocks evaluated with the store's), so a
/// verifier can judge a bundle's documents by the blocks that travel with them.
pub fn check_blocks(
    node: &Node,
    st: State,
    blocks: BlockEntries,
    label: &str,
    report: &mut ImportReport,
) -> Result<State> {
    let layout = st.layout.clone();
    let plan = plan_blocks(node, st, blocks, label, report)?;
    report.added_planned = plan.writes.iter().filter(|(_, p)| *p == Place::Chains).count();
    let mut st = state_after(plan, label);
    st.layout = layout;
    // a hypothetical state: never written back to the signature cache
    Ok(st)
}

fn stage_blocks(tx: &mut Tx<'_>, plan: &Plan, report: &mut ImportReport) -> Result<()> {
    let home = tx.node.home.clone();
    for &(i, place) in &plan.writes {
        let c = &plan.cands[i];
        let path = match place {
            Place::Chains => store::chain_path(&home, c.chain(), c.height()),
            p => store::aside_path(&home, p, c.chain(), c.height(), &c.hash),
        };
        if path.exists() {
            continue;
        }
        tx.put_block(&path, &c.bytes, c.sig.as_deref().unwrap_or_default())?;
        match place {
            Place::Chains => report.added += 1,
            Place::Forks => report.forks += 1,
            Place::Pending => {}
        }
    }
    for p in &plan.removes {
        tx.remove_block(p);
    }
    Ok(())
}

/// The store as it is once a plan is committed (for blocks staged after it).
fn state_after(plan: Plan, label: &str) -> State {
    let (mut places, mut paths) = (plan.places, plan.paths);
    let extra = plan.cands.len() - places.len();
    places.extend(std::iter::repeat_n(Place::Pending, extra));
    paths.extend(std::iter::repeat_n(std::path::PathBuf::from(label), extra));
    for &(i, place) in &plan.writes {
        places[i] = place;
    }
    State {
        cands: plan.cands,
        places,
        paths,
        layout: Vec::new(),
        eval: plan.eval,
        cache_len: usize::MAX,
        view: plan.view,
    }
}

/// Check that a parsed bundle's sender is in the roster and that its signature and payload
/// digest are good; returns the sender's roster entry.
pub fn authenticate_sender<'a>(
    st: &'a State,
    path: &Path,
    label: &str,
    parsed: &bundle::Parsed,
) -> Result<&'a crate::merge::validate::Member> {
    let (sender, pks) = sender_key(st, &parsed.header.sender, label)?;
    any_key(&pks, |pk| bundle::authenticate(path, label, parsed, pk))?;
    Ok(sender)
}

/// The first of `pks` that `check` accepts; else the error of the first (the current key).
fn any_key(pks: &[minisign::PublicKey], check: impl Fn(&minisign::PublicKey) -> Result<()>) -> Result<()> {
    let mut first = None;
    for pk in pks {
        match check(pk) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// The roster entry and public keys of a signer (every key of its history, the current
/// one first: a bundle header carries no height, and a peer that has not seen a rotation
/// yet is sent bundles signed with the key it knows), or `outsider`.
fn sender_key<'a>(
    st: &'a State,
    id: &str,
    label: &str,
) -> Result<(&'a crate::merge::validate::Member, Vec<minisign::PublicKey>)> {
    let sender = st
        .eval
        .members
        .get(id)
        .ok_or_else(|| Error::rejected(label, "outsider", format!("signed by {id}, a node outside this roster")))?;
    let pks = sender.public_keys();
    if pks.is_empty() {
        return Err(Error::rejected(
            label,
            "malformed",
            "the sender has no readable public key",
        ));
    }
    Ok((sender, pks))
}

/// Authenticate and decrypt a bundle addressed to this node, its temp files in `tmp` (a
/// transaction's staging directory, which recovery clears after a kill). The caller holds
/// the lock.
pub fn open(node: &Node, st: &State, input: &Path, label: &str, tmp: &Path) -> Result<(bundle::Header, Payload)> {
    open_nth(node, st, input, label, tmp, 0)
}

/// [`open`] of the armored bundle number `nth` of a text (a mail may carry several).
pub fn open_nth(
    node: &Node,
    st: &State,
    input: &Path,
    label: &str,
    tmp: &Path,
    nth: usize,
) -> Result<(bundle::Header, Payload)> {
    open_kept(node, st, input, label, tmp, nth).map(|(h, p, _)| (h, p))
}

/// The bundle file itself (or the copy made of an armored one or of stdin).
type Kept = (std::path::PathBuf, Option<tempfile::NamedTempFile>);

/// [`open_nth`], keeping the bundle file it read.
fn open_kept(
    node: &Node,
    st: &State,
    input: &Path,
    label: &str,
    tmp: &Path,
    nth: usize,
) -> Result<(bundle::Header, Payload, Kept)> {
    let (path, guard) = bundle::materialise_nth(input, label, tmp, nth)?;
    let parsed = bundle::parse(&path, label)?;
    let h = &parsed.header;
    let me = node.id();
    if !h.recipients.iter().any(|r| r == me) {
        return Err(Error::rejected(
            label,
            "not-addressed",
            format!(
                "bundle is addressed to {}, not to this node ({me})",
                h.recipients.join(", ")
            ),
        ));
    }
    let sender = authenticate_sender(st, &path, label, &parsed)?;
    if sender.removed.is_some() {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!("sender {} has been removed from the roster", sender.identity.name),
        ));
    }
    let keys = node.keys()?;
    let reader = bundle::decrypt_stream(&path, label, &parsed, &keys.age_identities())?;
    let bar = crate::progress::task(
        "importing",
        Some(parsed.header.payload.size),
        crate::progress::Unit::Bytes,
    );
    let reader = std::io::BufReader::new(crate::progress::Reader::new(reader, &bar));
    let payload = read_payload(reader, label, &parsed.header, tmp)?;
    Ok((parsed.header, payload, (path, guard)))
}

/// Import one bundle in a transaction of its own.
pub fn import(node: &Node, input: &Path, label: &str) -> Result<ImportReport> {
    let mut tx = node.begin_view(Who::Anyone)?;
    let r = import_in(&mut tx, input, label)?;
    tx.commit()?;
    Ok(r)
}

/// Import one bundle into a transaction: nothing is visible until it commits. A part of
/// a chunked bundle is kept aside until all parts are there, then the bundle is imported.
pub fn import_in(tx: &mut Tx<'_>, input: &Path, label: &str) -> Result<ImportReport> {
    import_nth(tx, input, label, 0)
}

/// [`import_in`] of the armored bundle number `nth` of a text.
pub fn import_nth(tx: &mut Tx<'_>, input: &Path, label: &str, nth: usize) -> Result<ImportReport> {
    if bundle::parts::is_part(input) {
        return import_part(tx, input, label);
    }
    let node = tx.node;
    let tmp = tx.stage_dir()?.to_path_buf();
    let st = std::mem::take(&mut tx.st);
    let (header, mut payload, kept) = match open_kept(node, &st, input, label, &tmp, nth) {
        Ok(x) => x,
        Err(e) => {
            tx.st = st;
            return Err(e);
        }
    };
    let mut report = ImportReport {
        bundle: header.id.clone(),
        kind: header.kind.clone(),
        sender: header.sender.clone(),
        sender_name: st
            .eval
            .members
            .get(&header.sender)
            .map(|m| m.identity.name.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    let frontier = payload.frontier.take().expect("checked");
    let blocks = std::mem::take(&mut payload.blocks);
    // a file, transfer or request is judged through the index too (the blocks it looks
    // for are read back by kind); a key rotation against the whole store
    let st = if header.kind == "rekey" && st.view.is_some() {
        node.load()?
    } else {
        st
    };
    match header.kind.as_str() {
        "sync" => {
            // a later bundle of a split export whose earlier blocks are not here: kept
            // aside whole (its blocks pending would be held by every command until then)
            if let Some(series) = payload.series.clone().filter(|s| s.part > 1) {
                let waits = waiting_for(node, &blocks);
                if !waits.is_empty() {
                    tx.st = st;
                    hold(tx, &kept.0, label, series, waits, &mut report)?;
                    return Ok(report);
                }
            }
            let plan = plan_blocks(node, st, blocks, label, &mut report)?;
            stage_blocks(tx, &plan, &mut report)?;
            tx.st = state_after(plan, label);
            let carried = payload.receipts.take().unwrap_or_default();
            let me = node.id().to_string();
            report.receipted = tx.receipts().receive(&me, &header.sender, &carried);
            for id in report.receipted.clone() {
                let home = node.home.clone();
                let m = super::outbox::meta_path(&home, &header.sender, &id);
                let meta = crate::input::read_bounded(&m, 64 << 10, "outbox entry")
                    .ok()
                    .and_then(|b| super::outbox::Meta::decode(&b));
                if let Some(meta) = meta.filter(|x| x.wants_receipt()) {
                    tx.remove(&super::outbox::bundle_path(&home, &header.sender, &id, meta.armor));
                    tx.remove(&m);
                }
            }
        }
        "request" => import_request(tx, st, &header, payload, blocks, label, &mut report)?,
        "rekey" => {
            // the member's blocks first (its chain up to the request), then the `rekey` block
            let plan = plan_blocks(node, st, blocks, label, &mut report)?;
            stage_blocks(tx, &plan, &mut report)?;
            tx.st = state_after(plan, label);
            let (height, req) = crate::act::rekey::bind(tx, &header.sender, &payload.docs, label)?;
            report.file = Some(req.id);
            report.rekey = Some((req.node, req.from, height));
            report.stored = true;
        }
        "file" | "transfer" => import_file(tx, st, &header, payload, blocks, label, &mut report)?,
        k => {
            return Err(Error::rejected(
                label,
                "unsupported",
                format!("bundle kind {k} is not supported"),
            ));
        }
    }
    // the `rekey` block of this node's pending rotation: switch keys in this transaction
    if crate::act::rekey::pending(node) {
        tx.adopt_keys()?;
        report.keys_switched = tx.adopted();
    }
    if header.kind != "sync" {
        // a receipt is owed for every request, file or transfer bundle imported (again)
        tx.receipts().owe(&header.sender, &header.id);
    }
    // a replayed older bundle must not roll back what we know the sender holds
    let known = sync::peer_frontier(&node.home, &header.sender).ok().flatten();
    let news = !known.is_some_and(|k| k.covers(&frontier));
    if news {
        tx.put(&sync::peer_path(&node.home, &header.sender), &frontier.encode())?;
    }
    // when the sender was last heard from: the newest bundle that brought anything (a
    // replayed bundle changes nothing, not even this)
    let created = crate::timefmt::parse_rfc3339(&header.created);
    let heard = sync::last_heard(&node.home, &header.sender).and_then(|t| crate::timefmt::parse_rfc3339(&t));
    let brought = news || report.changed() || !report.receipted.is_empty();
    if brought && created.is_some_and(|c| heard.is_none_or(|h| c > h)) {
        tx.put(
            &sync::heard_path(&node.home, &header.sender),
            format!("{}\n", header.created).as_bytes(),
        )?;
    }
    Ok(report)
}

fn doc<'a>(p: &'a Payload, name: &str, label: &str) -> Result<&'a [u8]> {
    p.docs
        .get(name)
        .map(Vec::as_slice)
        .ok_or_else(|| Error::rejected(label, "malformed", format!("no {name} in the bundle")))
}

/// True when a valid block of `kind` on `chain` has a body that satisfies `pred`: among
/// the plan's blocks, and, when the store was loaded through the index, among the settled
/// blocks of that kind (the index says which heights: only they are read back). A settled
/// block file that no longer matches the index is an error (as `log` says it).
fn find_block(
    node: &Node,
    plan: &Plan,
    chain: &str,
    kind: &str,
    pred: impl Fn(&serde_yaml::Value) -> bool,
) -> Result<bool> {
    let seq = plan.eval.chains.get(chain).map_or(&[][..], Vec::as_slice);
    if seq.iter().any(|&i| {
        // stand-ins for settled blocks carry no body: those are looked up below
        let b = plan.cands[i].block.as_ref().expect("valid");
        b.kind == kind && pred(&b.body)
    }) {
        return Ok(true);
    }
    let Some(v) = plan.view.as_deref() else {
        return Ok(false);
    };
    let (Some(x), Some(code)) = (v.index.chains.get(chain), v.index.kind_code_of(kind)) else {
        return Ok(false);
    };
    let tampered = || {
        Error::rejected(
            node.home.chains_dir().display(),
            "tampered",
            "a block file changed since it was verified: run `secfile verify`",
        )
    };
    let heights = x.heights_of_kind(code).ok_or_else(tampered)?;
    for part in heights.chunks(1024) {
        let at: Vec<(String, u64)> = part.iter().map(|&h| (chain.to_string(), h)).collect();
        let blocks = node.settled_blocks(&v.index, &at).ok_or_else(tampered)?;
        if blocks.iter().any(|(b, _)| b.kind == kind && pred(&b.body)) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn body_str<'a>(v: &'a serde_yaml::Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(serde_yaml::Value::as_str)
}

fn import_request(
    tx: &mut Tx<'_>,
    st: State,
    header: &bundle::Header,
    payload: Payload,
    blocks: BlockEntries,
    label: &str,
    report: &mut ImportReport,
) -> Result<()> {
    let raw = doc(&payload, "request.yaml", label)?.to_vec();
    let sig = doc(&payload, "request.yaml.minisig", label)?.to_vec();
    let (raw, sig) = (raw.as_slice(), sig.as_slice());
    let req: RequestDoc = dossier::docs::decode(raw, "request").map_err(|e| Error::rejected(label, "malformed", e))?;
    if req.member != header.sender {
        return Err(Error::rejected(
            label,
            "not-authorised",
            "the request is not the sender's own",
        ));
    }
    let sender = st.eval.members[&header.sender].public_keys();
    dossier::docs::check_signed_keys(&req, raw, sig, &sender, label, "request signature")?;
    match (&req.attachment, &payload.content) {
        (Some(a), Some((_, h, n))) if a.sha256 == digest::hex(h) && a.size == *n => {}
        (None, None) => {}
        _ => {
            return Err(Error::rejected(
                label,
                "tampered",
                "the attachment does not match the signed request",
            ));
        }
    }
    let digest_hex = digest::hex(&digest::sha256(raw));
    let node = tx.node;
    let plan = plan_blocks(node, st, blocks, label, report)?;
    if !find_block(node, &plan, &req.member, "request", |b| {
        body_str(b, "request") == Some(req.id.as_str()) && body_str(b, "digest") == Some(digest_hex.as_str())
    })? {
        return Err(Error::rejected(
            label,
            "not-authorised",
            "no valid request block on the member's chain matches this request",
        ));
    }
    stage_blocks(tx, &plan, report)?;
    tx.st = state_after(plan, label);
    let d = node.home.path("requests").join(&req.id);
    report.file = Some(req.id.clone());
    if !d.join("request.yaml").exists() {
        if let Some((tmp, _, _)) = payload.content {
            tx.put_temp(tmp, &d.join("attachment"))?;
        }
        tx.put(&d.join("request.yaml.minisig"), sig)?;
        tx.put(&d.join("request.yaml"), raw)?;
        report.stored = true;
    }
    Ok(())
}

fn import_file(
    tx: &mut Tx<'_>,
    st: State,
    header: &bundle::Header,
    payload: Payload,
    blocks: BlockEntries,
    label: &str,
    report: &mut ImportReport,
) -> Result<()> {
    let node = tx.node;
    let raw = doc(&payload, "manifest.yaml", label)?.to_vec();
    let sig = doc(&payload, "manifest.yaml.minisig", label)?.to_vec();
    let m: Manifest = dossier::docs::decode(&raw, "manifest").map_err(|e| Error::rejected(label, "malformed", e))?;
    let Some((tmp, h, n)) = payload.content else {
        return Err(Error::rejected(label, "malformed", "no content in the bundle"));
    };
    if digest::hex(&h) != m.content.sha256 || n != m.content.size {
        return Err(Error::rejected(
            label,
            "tampered",
            "content does not match the manifest's SHA-256 and size",
        ));
    }
    let mhash = digest::hex(&digest::sha256(&raw));
    let me = node.id().to_string();
    node.check_can_act(&st)?;
    let plan = plan_blocks(node, st, blocks, label, report)?;
    // the master's keys as the store and the bundle's blocks know them (a rotation the
    // bundle carries included)
    let master_keys = plan
        .eval
        .members
        .get(node.id_of_master())
        .map(|m| m.public_keys())
        .unwrap_or_default();
    dossier::docs::check_signed_keys(&m, &raw, &sig, &master_keys, label, "manifest signature (master)")?;
    let found = if header.kind == "file" {
        if m.holder != me {
            return Err(Error::rejected(
                label,
                "not-addressed",
                format!("security file is for {}, not this node", m.holder),
            ));
        }
        find_block(node, &plan, &m.issuer, "issue", |b| {
            body_str(b, "file") == Some(m.file.as_str()) && body_str(b, "manifest") == Some(mhash.as_str())
        })?
    } else {
        find_block(node, &plan, &header.sender, "transfer", |b| {
            body_str(b, "file") == Some(m.file.as_str())
                && body_str(b, "to") == Some(me.as_str())
                && body_str(b, "manifest") == Some(mhash.as_str())
        })?
    };
    if !found {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!(
                "no valid {} block for file {} to this node",
                if header.kind == "file" { "issue" } else { "transfer" },
                m.file
            ),
        ));
    }
    report.file = Some(m.file.clone());
    let already = dossier::store::content_path(&node.home, &m.file).exists()
        && find_block(node, &plan, &me, "accept", |b| {
            body_str(b, "file") == Some(m.file.as_str()) && body_str(b, "from") == Some(header.sender.as_str())
        })?;
    stage_blocks(tx, &plan, report)?;
    tx.st = state_after(plan, label);
    if already {
        return Ok(());
    }
    let d = dossier::store::file_dir(&node.home, &m.file);
    tx.put_temp(tmp, &d.join("content"))?;
    tx.put(&d.join("manifest.yaml.minisig"), &sig)?;
    tx.put(&d.join("manifest.yaml"), &raw)?;
    let body = crate::merge::bodies::AcceptBody {
        file: m.file.clone(),
        manifest: mhash,
        from: header.sender.clone(),
    };
    tx.stage_block("accept", crate::merge::bodies::to_value(&body))?;
    report.stored = true;
    Ok(())
}

/// The folder where the parts of an incomplete chunked bundle wait.
pub fn parts_dir(node: &Node) -> std::path::PathBuf {
    node.home.path("parts")
}

/// The parts kept for each incomplete bundle: id → (index → part file).
pub fn kept_parts(node: &Node) -> BTreeMap<String, BTreeMap<u64, std::path::PathBuf>> {
    kept_sets(&parts_dir(node), crate::dossier::docs::is_doc_id)
}

/// The files kept under `root/<id>/<index, 5 digits>` (parts of chunked bundles, held
/// bundles of split exports): id → (index → file), for the folders whose name `is_id`
/// accepts.
fn kept_sets(root: &Path, is_id: impl Fn(&str) -> bool) -> BTreeMap<String, BTreeMap<u64, std::path::PathBuf>> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for d in rd.flatten() {
        let id = d.file_name().to_string_lossy().into_owned();
        if !is_id(&id) || !d.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let mut set = BTreeMap::new();
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            let n = f.file_name().to_string_lossy().into_owned();
            if let Some(i) = n.parse::<u64>().ok().filter(|_| n.len() == 5) {
                set.insert(i, f.path());
            }
        }
        if !set.is_empty() {
            out.insert(id, set);
        }
    }
    out
}

/// Stage a copy of `from` (a bundle or a part as received) to be kept at `dest`.
fn keep_copy(tx: &mut Tx<'_>, from: &Path, dest: &Path) -> Result<()> {
    let tmp_dir = tx.stage_dir()?.to_path_buf();
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(&tmp_dir)
        .at(&tmp_dir)?;
    std::io::copy(&mut crate::input::open_regular(from)?, tmp.as_file_mut()).at(tmp.path())?;
    tx.put_temp(tmp, dest)
}

fn import_part(tx: &mut Tx<'_>, input: &Path, label: &str) -> Result<ImportReport> {
    use bundle::parts;
    let node = tx.node;
    let part = parts::parse(input, label)?;
    let h = part.header.clone();
    let me = node.id();
    if !h.recipients.iter().any(|r| r == me) {
        return Err(Error::rejected(
            label,
            "not-addressed",
            format!("part of a bundle for {}, not this node", h.recipients.join(", ")),
        ));
    }
    let (sender, pks) = sender_key(&tx.st, &h.sender, label)?;
    any_key(&pks, |pk| parts::authenticate(input, label, &part, pk))?;
    let kept = kept_parts(node);
    let mut have = kept.get(&h.bundle).cloned().unwrap_or_default();
    // a part of another split of the same bundle, or a forged set: refused alone
    if let Some((_, p)) = have.iter().next() {
        let other = parts::parse(p, &p.display().to_string())?.header;
        if (other.count, other.total, &other.sha256, &other.sender) != (h.count, h.total, &h.sha256, &h.sender) {
            return Err(Error::rejected(
                label,
                "tampered",
                format!(
                    "part {} of {} does not belong with the parts of bundle {} kept here",
                    h.index, h.count, h.bundle
                ),
            ));
        }
    } else if kept.len() >= parts::MAX_SETS {
        return Err(Error::rejected(
            label,
            "limit",
            format!(
                "{} incomplete chunked bundles are kept already (the limit)",
                parts::MAX_SETS
            ),
        ));
    }
    let mut report = ImportReport {
        bundle: h.bundle.clone(),
        kind: "part".into(),
        sender: h.sender.clone(),
        sender_name: sender.identity.name.clone(),
        ..Default::default()
    };
    let dir = parts_dir(node).join(&h.bundle);
    let is_new = !have.contains_key(&h.index);
    if is_new {
        have.insert(h.index, input.to_path_buf());
    }
    if (have.len() as u64) < h.count {
        if is_new {
            keep_copy(tx, input, &dir.join(format!("{:05}", h.index)))?;
            report.stored = true;
        }
        report.parts = Some((have.len() as u64, h.count));
        return Ok(report);
    }
    // all there: join them, check the whole, import the bundle in this same transaction
    let tmp_dir = tx.stage_dir()?.to_path_buf();
    let mut whole = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(&tmp_dir)
        .at(&tmp_dir)?;
    {
        use std::io::{Read, Seek, Write};
        let mut w = std::io::BufWriter::new(whole.as_file_mut());
        for (i, p) in &have {
            let pp = parts::parse(p, &p.display().to_string())?;
            if pp.header.index != *i {
                return Err(Error::rejected(
                    p.display(),
                    "tampered",
                    "a kept part is not where it belongs",
                ));
            }
            let mut f = crate::input::open_regular(p)?;
            f.seek(std::io::SeekFrom::Start(pp.data_offset)).at(p)?;
            std::io::copy(&mut f.take(pp.header.size), &mut w).at(p)?;
        }
        w.flush().at(&tmp_dir)?;
    }
    let (sum, len) = digest::sha256_reader(std::fs::File::open(whole.path()).at(whole.path())?).at(whole.path())?;
    if len != h.total || digest::hex(&sum) != h.sha256 {
        return Err(Error::rejected(
            label,
            "tampered",
            format!(
                "the {} parts of bundle {} do not join into the bundle they name",
                h.count, h.bundle
            ),
        ));
    }
    let mut r = import_in(tx, whole.path(), label)?;
    for (i, p) in &have {
        if *i != h.index || !is_new {
            tx.remove(p);
        }
    }
    r.parts = Some((h.count, h.count));
    Ok(r)
}

/// The folder where later bundles of split exports wait: `held/<series>/<part>` (the
/// bundle as received) and `<part>.waits` (the blocks it waits for, `chain height` lines).
pub fn held_dir(node: &Node) -> std::path::PathBuf {
    node.home.path("held")
}

/// The bundles held for each series: series → (part → bundle file).
pub fn kept_series(node: &Node) -> BTreeMap<String, BTreeMap<u64, std::path::PathBuf>> {
    kept_sets(&held_dir(node), |id| id.len() == 32 && digest::is_lower_hex(id))
}

/// The blocks a sync bundle's blocks need that this home has neither in `chains/` nor in
/// `pending/`: the one before each chain's lowest block in the bundle.
fn waiting_for(node: &Node, blocks: &BlockEntries) -> Vec<(String, u64)> {
    let mut lowest: BTreeMap<&str, u64> = BTreeMap::new();
    for (chain, h, _) in blocks.keys() {
        lowest.entry(chain.as_str()).or_insert(*h);
    }
    lowest
        .into_iter()
        .filter(|&(_, h)| h > 0)
        .map(|(c, h)| (c.to_string(), h - 1))
        .filter(|(c, h)| !has_block(node, c, *h))
        .collect()
}

/// Whether this home holds a block at `chain`, `height`: in `chains/`, or pending.
fn has_block(node: &Node, chain: &str, height: u64) -> bool {
    if std::fs::symlink_metadata(store::chain_path(&node.home, chain, height)).is_ok() {
        return true;
    }
    let prefix = format!("{height:010}-");
    std::fs::read_dir(node.home.pending_dir().join(chain))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
}

/// Keep a later bundle of a split export aside until the blocks it waits for are here.
fn hold(
    tx: &mut Tx<'_>,
    bundle_file: &Path,
    label: &str,
    series: sync::Series,
    waits: Vec<(String, u64)>,
    report: &mut ImportReport,
) -> Result<()> {
    let node = tx.node;
    let kept = kept_series(node);
    let new = !kept.get(&series.series).is_some_and(|s| s.contains_key(&series.part));
    if new && !kept.contains_key(&series.series) && kept.len() >= bundle::parts::MAX_SETS {
        return Err(Error::rejected(
            label,
            "limit",
            format!("{} split exports are held already (the limit)", bundle::parts::MAX_SETS),
        ));
    }
    if new {
        let dir = held_dir(node).join(&series.series);
        keep_copy(tx, bundle_file, &dir.join(format!("{:05}", series.part)))?;
        let lines: String = waits.iter().map(|(c, h)| format!("{c} {h}\n")).collect();
        tx.put(&dir.join(format!("{:05}.waits", series.part)), lines.as_bytes())?;
    }
    report.held = Some(Held {
        series,
        waits: waits.iter().map(|(c, h)| format!("{c}:{h}")).collect(),
        new,
    });
    Ok(())
}

/// Whether a held bundle may be imported now: the blocks its `.waits` file names are
/// here (an unreadable list: try it, the import holds it again if it must).
fn held_ready(node: &Node, bundle_file: &Path) -> bool {
    let mut w = bundle_file.as_os_str().to_owned();
    w.push(".waits");
    let Ok(b) = crate::input::read_bounded(Path::new(&w), 16 << 20, "held list") else {
        return true;
    };
    String::from_utf8_lossy(&b).lines().all(|l| {
        let mut it = l.split(' ');
        match (it.next(), it.next().and_then(|h| h.parse::<u64>().ok())) {
            (Some(c), Some(h)) if crate::subchain::is_node_id(c) => has_block(node, c, h),
            _ => true,
        }
    })
}

/// Import every held bundle whose earlier blocks are here now, each in a transaction of
/// its own that also drops it from `held/`, until none is ready. A held bundle refused
/// now is dropped too (and reported). Returns (label, result) per bundle tried.
pub fn release_held(node: &Node, lock: &crate::home::Lock) -> Result<Vec<(String, Result<ImportReport>)>> {
    let mut out = Vec::new();
    loop {
        let mut progress = false;
        for (series, parts) in kept_series(node) {
            for (part, path) in parts {
                if !held_ready(node, &path) {
                    continue;
                }
                let label = format!("held part {part} of split export {series}");
                let mut waits = path.as_os_str().to_owned();
                waits.push(".waits");
                // the held files go in the same transaction as the import (or alone, when
                // the bundle is refused)
                let drop_held = |mut tx: Tx<'_>| {
                    tx.remove(&path);
                    tx.remove(Path::new(&waits));
                    tx.commit()
                };
                let mut tx = node.begin_view_under(lock, Who::Anyone)?;
                match import_in(&mut tx, &path, &label) {
                    // still waiting (its list was stale): left as it is
                    Ok(r) if r.held.is_some() => continue,
                    Ok(r) => {
                        drop_held(tx)?;
                        out.push((label, Ok(r)));
                    }
                    Err(e @ Error::Rejected { .. }) => {
                        drop(tx);
                        drop_held(node.begin_view_under(lock, Who::Anyone)?)?;
                        out.push((label, Err(e)));
                    }
                    Err(e) => return Err(e),
                }
                progress = true;
            }
        }
        if !progress {
            return Ok(out);
        }
    }
}
