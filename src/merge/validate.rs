//! Validity of blocks (DESIGN §5), as one pure function over every block a node holds or
//! is offered: signatures by the chain owner's key from the roster, contiguous heights,
//! `prev` links, clocks, `seen` presence, membership in the causal past, removal cutoffs,
//! roles, and forks. Blocks are decided in clock order, so the result does not depend on
//! the order they arrived in.
use super::bodies::{self, AdmitBody, RekeyBody, RemoveBody};
use super::rules::keys::KeyChange;
use super::rules::{self, seen::Cutoffs};
use super::sigcache::{self, SigCache};
use crate::digest::fastmap::{FastMap, Seeded};
use crate::digest::{self, Hash};
use crate::home::Role;
use crate::identity::{Card, Identity};
use crate::subchain::{Block, sign};
use std::collections::{BTreeMap, HashMap};

/// A block offered for evaluation.
#[derive(Debug, Clone)]
pub struct Cand {
    /// Where it came from, for messages (a path or `bundle entry …`).
    pub origin: String,
    /// True when it comes from outside (a bundle being imported).
    pub incoming: bool,
    /// For blocks stored in `chains/`: the chain named by the directory and the height named
    /// by the file, which must agree with the content.
    pub location: Option<(String, Option<u64>)>,
    pub bytes: Vec<u8>,
    pub sig: Option<Vec<u8>>,
    pub hash: Hash,
    pub block: Result<Block, String>,
    /// A block settled before (from the node's index, see [`super::index`]): valid, not
    /// re-checked, and carrying no signature (and, for most, no bytes).
    pub settled: Option<Settled>,
}

/// What the index says of a settled block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// The highest master-chain height in its causal past.
    pub master_seen: u64,
    /// The master height that anchors it ([`NO_ANCHOR`]: none yet).
    pub anchor: u64,
}

pub use super::rules::NO_ANCHOR;

impl Cand {
    pub fn new(
        origin: String,
        incoming: bool,
        location: Option<(String, Option<u64>)>,
        bytes: Vec<u8>,
        sig: Option<Vec<u8>>,
    ) -> Cand {
        let hash = digest::sha256(&bytes);
        Cand::hashed(origin, incoming, location, bytes, sig, hash)
    }
    /// [`Cand::new`] when the SHA-256 of `bytes` is already known.
    pub fn hashed(
        origin: String,
        incoming: bool,
        location: Option<(String, Option<u64>)>,
        bytes: Vec<u8>,
        sig: Option<Vec<u8>>,
        hash: Hash,
    ) -> Cand {
        debug_assert_eq!(hash, digest::sha256(&bytes));
        let block = Block::decode(&bytes);
        Cand {
            origin,
            incoming,
            location,
            bytes,
            sig,
            hash,
            block,
            settled: None,
        }
    }
    /// A stand-in for a settled block: what later blocks need of it (position, hash,
    /// clock, kind, master-seen height, anchor).
    pub fn settled(chain: &str, height: u64, hash: Hash, clock: u64, settled: Settled, kind: &str) -> Cand {
        Cand {
            origin: format!("{chain}:{height} (settled)"),
            incoming: false,
            location: None,
            bytes: Vec::new(),
            sig: None,
            hash,
            block: Ok(Block {
                chain: chain.to_string(),
                height,
                prev: None,
                clock,
                time: String::new(),
                seen: Vec::new(),
                kind: kind.to_string(),
                body: serde_yaml::Value::Null,
            }),
            settled: Some(settled),
        }
    }
    /// A settled block read back in full (its `prev` and `seen` are followed when anchors
    /// are computed): not re-checked, its signature not needed.
    pub fn settled_full(mut c: Cand, settled: Settled) -> Cand {
        c.sig = None;
        c.settled = Some(settled);
        c
    }
    pub fn chain(&self) -> &str {
        self.block.as_ref().map(|b| b.chain.as_str()).unwrap_or("")
    }
    pub fn height(&self) -> u64 {
        self.block.as_ref().map(|b| b.height).unwrap_or(0)
    }
}

/// What was decided for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Valid,
    /// Waiting for blocks that have not arrived.
    Pending(String),
    /// Invalid, with a stable kind word and a reason.
    Invalid(&'static str, String),
    /// Same bytes as an earlier candidate (index).
    Duplicate(usize),
    /// Validly signed, but at or above a fork height of its chain: kept as evidence only.
    Cut,
    Undecided,
}

/// A fork: several validly signed blocks at one (chain, height).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    pub chain: String,
    pub height: u64,
    pub hashes: Vec<String>,
}

/// A roster entry, derived from the master's valid chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Name, role, id and the keys in force now (after the latest `rekey`): bundles are
    /// encrypted to this `age`. The id stays the one derived from the card's keys.
    pub identity: Identity,
    /// Height of the admission block on the master's chain (0 for the master itself).
    pub admitted_at: u64,
    pub admit_clock: u64,
    /// The hash of its card (its genesis block).
    pub card: String,
    /// The removal's cutoff (height, hash) and the removal block's height, if removed.
    pub removed: Option<(u64, String, u64)>,
    /// Its key history: the card's keys from height 0, then each `rekey` that bound new
    /// ones (see [`rules::keys`]); never empty.
    pub keys: Vec<KeyChange>,
    /// The highest height of its chain that a `seen` entry of the master's valid chain
    /// names (what the master held of it): a `rekey` must bind keys beyond it.
    pub master_saw: u64,
}

impl Member {
    /// A roster entry with its card's keys only.
    pub fn new(identity: Identity, admitted_at: u64, admit_clock: u64, card: String) -> Member {
        let keys = vec![KeyChange {
            from: 0,
            at: admitted_at,
            age: identity.age.clone(),
            minisign: identity.minisign.clone(),
        }];
        Member {
            identity,
            admitted_at,
            admit_clock,
            card,
            removed: None,
            keys,
            master_saw: 0,
        }
    }
    /// The keys in force at a height of its chain.
    pub fn key_at(&self, height: u64) -> &KeyChange {
        &self.keys[rules::keys::in_force(&self.keys, height)]
    }
    /// Every minisign public key it ever signed with, the current one first (documents
    /// and bundle headers carry no height: they are checked with any of them).
    pub fn public_keys(&self) -> Vec<minisign::PublicKey> {
        self.keys
            .iter()
            .rev()
            .filter_map(|k| minisign::PublicKey::from_base64(&k.minisign).ok())
            .collect()
    }
    /// Record a rotation: the keys in force from `from` on, bound at master height `at`.
    pub fn rotate(&mut self, r: &RekeyBody, at: u64) {
        self.keys.push(KeyChange {
            from: r.from,
            at,
            age: r.age.clone(),
            minisign: r.minisign.clone(),
        });
        self.identity.age = r.age.clone();
        self.identity.minisign = r.minisign.clone();
    }
}

/// The result of [`evaluate`].
#[derive(Debug, Default)]
pub struct Evaluation {
    pub master: String,
    pub status: Vec<Status>,
    /// For each chain, the indices of its valid blocks, heights 0.. contiguous.
    pub chains: BTreeMap<String, Vec<usize>>,
    pub forks: Vec<Fork>,
    /// The roster: the master and every admitted member.
    pub members: BTreeMap<String, Member>,
    /// Per candidate: the highest master-chain height in its causal past.
    pub master_seen: Vec<u64>,
    /// Per candidate: the master height that anchors it, the lowest valid master block
    /// whose causal past holds it ([`NO_ANCHOR`]: none).
    pub anchor: Vec<u64>,
    /// Cache keys of every good signature (see [`SigCache`]).
    pub sig_keys: Vec<Hash>,
    /// How many of them were verified here rather than taken from the cache.
    pub fresh_sigs: usize,
}

impl Evaluation {
    /// The valid head of a chain: (index, height).
    pub fn head(&self, chain: &str) -> Option<usize> {
        self.chains.get(chain).and_then(|v| v.last().copied())
    }
    /// A roster entry by name or id.
    pub fn find_member(&self, name_or_id: &str) -> Option<&Member> {
        self.members
            .get(name_or_id)
            .or_else(|| self.members.values().find(|m| m.identity.name == name_or_id))
    }
    /// Active members (admitted, not removed), excluding nothing.
    pub fn active(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.removed.is_none())
    }
}

/// A node's keys as the signature checks of one pass know them.
struct Ring {
    changes: Vec<KeyChange>,
    /// The parsed public key of each change (a key that does not parse: the card's).
    pks: Vec<minisign::PublicKey>,
    card: String,
    removed: bool,
    saw: u64,
}

impl Ring {
    fn of(m: &Member) -> Ring {
        let mut r = Ring {
            changes: Vec::new(),
            pks: Vec::new(),
            card: m.card.clone(),
            removed: m.removed.is_some(),
            saw: m.master_saw,
        };
        for k in &m.keys {
            r.add(k.clone());
        }
        r
    }
    fn add(&mut self, k: KeyChange) {
        if let Ok(pk) = minisign::PublicKey::from_base64(&k.minisign) {
            self.pks.push(pk);
            self.changes.push(k);
        }
    }
    fn push(&mut self, r: &RekeyBody, at: u64) {
        self.add(KeyChange {
            from: r.from,
            at,
            age: r.age.clone(),
            minisign: r.minisign.clone(),
        });
    }
    fn key_at(&self, height: u64) -> &minisign::PublicKey {
        &self.pks[rules::keys::in_force(&self.changes, height)]
    }
}

fn invalid(kind: &'static str, reason: impl Into<String>) -> Status {
    Status::Invalid(kind, reason.into())
}

/// Evaluate every candidate against the pinned master card, verifying every signature.
pub fn evaluate(master_card: &Card, cands: &[Cand]) -> Evaluation {
    evaluate_with(master_card, cands, None)
}

/// Signature checks of one evaluation pass. Those found in `trusted` pass without Ed25519;
/// the others are verified one by one on every core with the signature rule
/// ([`sign::verify_many`]; only its verdicts enter the cache): at once, or, when
/// `background` is set, on background threads while the pass goes on assuming they verify
/// (see [`evaluate_on`]: the pass is then kept only if every one of them did).
struct Verifier<'scope, 'env> {
    trusted: Option<&'env SigCache>,
    background: Option<&'scope std::thread::Scope<'scope, 'env>>,
    running: Vec<std::thread::ScopedJoinHandle<'scope, Vec<Checked>>>,
}

/// The outcome of one signature check: its cache key, whether `trusted` vouched for it,
/// and the result.
type Checked = (Hash, bool, Result<(), String>);

/// Fewer signatures than this are checked at once, not in the background.
pub(crate) const BACKGROUND_MIN: usize = 256;

impl<'scope, 'env> Verifier<'scope, 'env> {
    fn new(trusted: Option<&'env SigCache>, background: Option<&'scope std::thread::Scope<'scope, 'env>>) -> Self {
        Verifier {
            trusted,
            background,
            running: Vec::new(),
        }
    }

    /// Check the signature of each job `(candidate, owner's key)`. The keys of all good ones
    /// go to `verified`; `fresh` counts those not vouched for by `trusted`. In the
    /// background, every result is `Ok` for now and [`Verifier::settle`] records them.
    fn check(
        &mut self,
        cands: &'env [Cand],
        jobs: &[(usize, &minisign::PublicKey)],
        verified: &mut Vec<Hash>,
        fresh: &mut usize,
    ) -> Vec<Result<(), String>> {
        // the distinct public keys, owned (a background check outlives this pass's roster),
        // each job pointing at its key: one decompressed point per key
        let mut pks: Vec<minisign::PublicKey> = Vec::new();
        let mut pk_at: HashMap<*const minisign::PublicKey, usize> = HashMap::new();
        let todo: Vec<(usize, usize)> = jobs
            .iter()
            .map(|&(i, pk)| {
                let k = *pk_at.entry(pk as *const _).or_insert_with(|| {
                    pks.push(pk.clone());
                    pks.len() - 1
                });
                (i, k)
            })
            .collect();
        let trusted = self.trusted;
        // the cache key of every job (SHA-256 of its signature, on every core), then the
        // signature rule on each signature the cache does not vouch for
        let run = move || -> Vec<Checked> {
            let b64: Vec<String> = pks.iter().map(|pk| pk.to_base64()).collect();
            let keys: Vec<Hash> = crate::par::par_chunks(&todo, 1024, |part| {
                part.iter()
                    .map(|&(i, k)| {
                        sigcache::key_b64(&cands[i].hash, cands[i].sig.as_deref().unwrap_or_default(), &b64[k])
                    })
                    .collect()
            });
            let cached: Vec<bool> = keys.iter().map(|k| trusted.is_some_and(|t| t.contains(k))).collect();
            let comments: Vec<(usize, String)> = (0..todo.len())
                .filter(|&j| !cached[j])
                .map(|j| {
                    let b = cands[todo[j].0].block.as_ref().expect("parsed");
                    (j, sign::block_comment(&b.chain, b.height))
                })
                .collect();
            let items: Vec<sign::SigCheck<'_>> = comments
                .iter()
                .map(|(j, comment)| {
                    let (i, k) = todo[*j];
                    let c = &cands[i];
                    (
                        &pks[k],
                        &c.bytes[..],
                        c.sig.as_deref().unwrap_or_default(),
                        &comment[..],
                    )
                })
                .collect();
            let mut checked = sign::verify_many(&items).into_iter();
            keys.into_iter()
                .zip(cached)
                .map(|(k, cached)| {
                    let r = match cached {
                        true => Ok(()),
                        false => checked.next().expect("one result per item"),
                    };
                    (k, cached, r)
                })
                .collect()
        };
        match self.background {
            Some(scope) if jobs.len() >= BACKGROUND_MIN => {
                self.running.push(scope.spawn(run));
                vec![Ok(()); jobs.len()]
            }
            _ => record(run(), verified, fresh),
        }
    }

    /// Wait for the background checks. When every signature verified (the pass that
    /// assumed so stands): their cache keys and how many were fresh, for the evaluation.
    /// Else the cache keys of `trusted` and of those that did verify, to evaluate again.
    fn settle(self) -> std::result::Result<(Vec<Hash>, usize), SigCache> {
        let outcomes: Vec<Checked> = self
            .running
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        if outcomes.iter().all(|(.., r)| r.is_ok()) {
            let (mut keys, mut fresh) = (Vec::with_capacity(outcomes.len()), 0);
            record(outcomes, &mut keys, &mut fresh);
            return Ok((keys, fresh));
        }
        let mut good = self.trusted.cloned().unwrap_or_default();
        for (k, ..) in outcomes.into_iter().filter(|(.., r)| r.is_ok()) {
            good.insert(k);
        }
        Err(good)
    }
}

/// The results of checks, their good keys added to `verified`, the fresh ones counted.
fn record(outcomes: Vec<Checked>, verified: &mut Vec<Hash>, fresh: &mut usize) -> Vec<Result<(), String>> {
    outcomes
        .into_iter()
        .map(|(k, cached, r)| {
            if r.is_ok() {
                verified.push(k);
                *fresh += usize::from(!cached);
            }
            r
        })
        .collect()
}

/// What an incremental evaluation starts from: the roster and each chain's head height as
/// settled before. The candidates then hold stand-ins ([`Cand::settled`]) for those heads
/// and for the settled blocks the others have seen, and each chain's valid sequence
/// starts at its settled head.
#[derive(Debug, Clone, Default)]
pub struct Base {
    pub members: BTreeMap<String, Member>,
    pub heads: BTreeMap<String, u64>,
}

/// [`evaluate`], trusting the signatures recorded in `trusted` (see [`SigCache`]).
pub fn evaluate_with(master_card: &Card, cands: &[Cand], trusted: Option<&SigCache>) -> Evaluation {
    evaluate_on(master_card, cands, trusted, None)
}

/// [`evaluate_with`], continuing from a settled [`Base`].
///
/// With few signatures trusted, most of the time is Ed25519 and the rest is one serial
/// pass. So the pass runs assuming the untrusted signatures verify while they are verified
/// on background threads. When all of them did, its result is exactly what verifying them
/// first gives: the same roster, so the same checks, with the same results. When any did
/// not, the pass runs again trusting exactly those that verified, and checks the rest.
pub fn evaluate_on(master_card: &Card, cands: &[Cand], trusted: Option<&SigCache>, base: Option<&Base>) -> Evaluation {
    let (mut eval, settled) = std::thread::scope(|s| {
        let mut sigs = Verifier::new(trusted, Some(s));
        let eval = pass(master_card, cands, base, &mut sigs);
        (eval, sigs.settle())
    });
    let good = match settled {
        Ok((keys, fresh)) => {
            eval.sig_keys.extend(keys);
            eval.fresh_sigs += fresh;
            return eval;
        }
        Err(good) => good,
    };
    let mut eval = pass(master_card, cands, base, &mut Verifier::new(Some(&good), None));
    // fresh: verified by this evaluation, as if nothing had been assumed
    eval.fresh_sigs = eval
        .sig_keys
        .iter()
        .filter(|k| !trusted.is_some_and(|t| t.contains(k)))
        .count();
    eval
}

/// [`evaluate_with`] verifying every untrusted signature before going on (what
/// [`evaluate_on`] must agree with).
#[cfg(test)]
pub(crate) fn evaluate_checking_first(master_card: &Card, cands: &[Cand], trusted: Option<&SigCache>) -> Evaluation {
    pass(master_card, cands, None, &mut Verifier::new(trusted, None))
}

/// One evaluation pass (see [`evaluate_on`]), signatures checked by `sigs`.
fn pass<'scope, 'env>(
    master_card: &Card,
    cands: &'env [Cand],
    base: Option<&Base>,
    sigs: &mut Verifier<'scope, 'env>,
) -> Evaluation {
    let master = master_card.identity.id.clone();
    let n = cands.len();
    let mut status = vec![Status::Undecided; n];
    let mut master_seen = vec![0u64; n];
    let mut anchor = vec![NO_ANCHOR; n];

    // 1. locations, duplicates, parse errors, missing signatures
    let mut by_hash: FastMap<Hash, usize> = FastMap::with_capacity_and_hasher(n, Seeded::default());
    for (i, c) in cands.iter().enumerate() {
        if let Some(x) = c.settled {
            by_hash.entry(c.hash).or_insert(i);
            master_seen[i] = x.master_seen;
            anchor[i] = x.anchor;
            continue;
        }
        if let (Some((dir_chain, name_height)), Ok(b)) = (&c.location, &c.block) {
            if *dir_chain != b.chain {
                status[i] = invalid(
                    "misplaced",
                    format!("block of chain {} found in the directory of chain {dir_chain}", b.chain),
                );
                continue;
            }
            if let Some(h) = name_height {
                if *h != b.height {
                    status[i] = invalid(
                        "misplaced",
                        format!("file name says height {h}, the block says {}", b.height),
                    );
                    continue;
                }
            }
        }
        if let Some(&first) = by_hash.get(&c.hash) {
            status[i] = Status::Duplicate(first);
            continue;
        }
        by_hash.insert(c.hash, i);
        if let Err(e) = &c.block {
            status[i] = invalid("malformed", e.clone());
            continue;
        }
        if c.sig.is_none() {
            status[i] = invalid("missing-signature", "missing signature (.minisig)");
        }
    }

    // 2. keys: the key in force at each (chain, height) (DESIGN §5 "Keys"): the pinned
    // master card's, then the master's chain in height order — admissions, removals and
    // `rekey` blocks found in validly signed master blocks — so that each master block is
    // checked with the key its own earlier blocks put in force
    let mut keys: HashMap<String, Ring> = HashMap::new();
    let mut master_member = Member::new(master_card.identity.clone(), 0, 0, master_card.hash_hex());
    if let Some(m) = base.and_then(|b| b.members.get(&master)) {
        master_member = m.clone();
    }
    keys.insert(master.clone(), Ring::of(&master_member));
    for m in base.iter().flat_map(|b| b.members.values()) {
        if !keys.contains_key(&m.identity.id) {
            keys.insert(m.identity.id.clone(), Ring::of(m));
        }
    }
    let mut sig_ok: Vec<bool> = cands.iter().map(|c| c.settled.is_some()).collect();
    let mut sig_keys = Vec::new();
    let mut fresh_sigs = 0;
    let mut master_idx: Vec<usize> = (0..n)
        .filter(|&i| status[i] == Status::Undecided && !sig_ok[i] && cands[i].chain() == master)
        .collect();
    master_idx.sort_by_key(|&i| (cands[i].height(), cands[i].hash));
    let self_rekey = |i: usize| -> Option<RekeyBody> {
        let b = cands[i].block.as_ref().ok()?;
        (b.kind == "rekey" && bodies::check_body(b, Role::Master).is_ok())
            .then(|| b.body_as::<RekeyBody>().ok())
            .flatten()
    };
    // A signature that fails with the key in force as known here is bad, even where a
    // master block not held yet might bind another key: a copy of a block with a forged
    // signature must never be kept in place of the real one. Sync bundles carry the
    // master blocks a peer lacks, so a `rekey` block travels with the blocks it keys.
    let mut k = 0;
    while k < master_idx.len() {
        // a segment up to the next rotation of the master's own key
        let end = master_idx[k..]
            .iter()
            .position(|&i| self_rekey(i).is_some_and(|r| r.node == master))
            .map_or(master_idx.len(), |p| k + p + 1);
        let results = {
            let ring = &keys[&master];
            let jobs: Vec<(usize, &minisign::PublicKey)> = master_idx[k..end]
                .iter()
                .map(|&i| (i, ring.key_at(cands[i].height())))
                .collect();
            sigs.check(cands, &jobs, &mut sig_keys, &mut fresh_sigs)
        };
        for (&i, r) in master_idx[k..end].iter().zip(results) {
            let b = cands[i].block.as_ref().expect("parsed");
            if let Err(e) = r {
                status[i] = invalid("bad-signature", e);
                continue;
            }
            sig_ok[i] = true;
            for r in &b.seen {
                if let Some(ring) = keys.get_mut(&r.chain) {
                    ring.saw = ring.saw.max(r.height);
                }
            }
            match b.kind.as_str() {
                "admit" => {
                    if let Ok(a) = b.body_as::<AdmitBody>() {
                        if let (Ok(_), false) = (a.identity().public_key(), keys.contains_key(&a.id)) {
                            let m = Member::new(a.identity(), b.height, b.clock, a.card.clone());
                            keys.insert(a.id.clone(), Ring::of(&m));
                        }
                    }
                }
                "remove" => {
                    if let Ok(r) = b.body_as::<RemoveBody>() {
                        if let Some(ring) = keys.get_mut(&r.id).filter(|_| r.id != master) {
                            ring.removed = true;
                        }
                    }
                }
                "rekey" => {
                    if let Some(r) = self_rekey(i) {
                        let ring = keys.get_mut(&r.node);
                        let ok = rules::keys::admissible(
                            ring.as_ref().map(|x| &x.changes[..]),
                            ring.as_ref().is_some_and(|x| x.removed),
                            r.node == master,
                            b.height,
                            r.from,
                            ring.as_ref().map_or(0, |x| x.saw),
                        );
                        if let (Some(ring), Ok(())) = (ring, ok) {
                            ring.push(&r, b.height);
                        }
                    }
                }
                _ => {}
            }
        }
        k = end;
    }
    let mut jobs: Vec<(usize, &minisign::PublicKey)> = Vec::new();
    for i in 0..n {
        if status[i] != Status::Undecided || sig_ok[i] {
            continue;
        }
        let chain = cands[i].chain().to_string();
        match keys.get(&chain) {
            None if cands[i].incoming || cands[i].location.is_none() => {
                status[i] = Status::Pending(format!("awaiting the admission of {chain} by the master"));
            }
            None => {
                status[i] = invalid(
                    "not-admitted",
                    format!("chain {chain} belongs to a node the master never admitted"),
                )
            }
            Some(ring) => jobs.push((i, ring.key_at(cands[i].height()))),
        }
    }
    let results = sigs.check(cands, &jobs, &mut sig_keys, &mut fresh_sigs);
    for (&(i, _), r) in jobs.iter().zip(results) {
        match r {
            Ok(()) => sig_ok[i] = true,
            Err(e) => status[i] = invalid("bad-signature", e),
        }
    }

    // 3. forks: several validly signed blocks at one position. Chains are numbered in id
    // order from here on (`rank`), so that orders by number are orders by id.
    let mut ids: Vec<&str> = (0..n).filter(|&i| sig_ok[i]).map(|i| cands[i].chain()).collect();
    ids.sort_unstable();
    ids.dedup();
    let rank: Vec<u32> = (0..n)
        .map(|i| match sig_ok[i] {
            true => ids.binary_search(&cands[i].chain()).map_or(u32::MAX, |r| r as u32),
            false => u32::MAX,
        })
        .collect();
    let mut at: Vec<(u32, u64, usize)> = (0..n)
        .filter(|&i| sig_ok[i])
        .map(|i| (rank[i], cands[i].height(), i))
        .collect();
    at.sort_unstable();
    let mut forks = Vec::new();
    let mut cut: Vec<Option<u64>> = vec![None; ids.len()];
    let mut pos: FastMap<(u32, u64), usize> = FastMap::with_capacity_and_hasher(at.len(), Seeded::default());
    // the branches of member chains are decided on their own, then one is kept by its
    // anchor (see `rules::fork`); a fork of the master's chain cuts it for good
    let mut forked: FastMap<(u32, u64), Vec<usize>> = FastMap::default();
    let master_rank = ids.binary_search(&master.as_str()).map_or(u32::MAX, |r| r as u32);
    for group in at.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        let (r, height, first) = group[0];
        if group.len() == 1 {
            pos.insert((r, height), first);
            continue;
        }
        if r != master_rank {
            forked.insert((r, height), group.iter().map(|&(.., i)| i).collect());
        }
        let mut hashes: Vec<String> = group.iter().map(|&(.., i)| digest::hex(&cands[i].hash)).collect();
        hashes.sort();
        forks.push(Fork {
            chain: ids[r as usize].to_string(),
            height,
            hashes,
        });
        if r == master_rank {
            let e = cut[r as usize].get_or_insert(height);
            *e = (*e).min(height);
        }
    }
    for i in (0..n).filter(|&i| sig_ok[i]) {
        if cut[rank[i] as usize].is_some_and(|h| cands[i].height() >= h) {
            status[i] = Status::Cut;
        }
    }

    // 4. decide in (clock, chain, height) order
    for i in 0..n {
        if cands[i].settled.is_some() && status[i] == Status::Undecided {
            status[i] = Status::Valid;
        }
    }
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| sig_ok[i] && status[i] == Status::Undecided)
        .collect();
    // no two share a (chain, height): those are forks, cut above
    order.sort_unstable_by_key(|&i| {
        (
            cands[i].block.as_ref().map_or(0, |b| b.clock),
            rank[i],
            cands[i].height(),
        )
    });
    let mut members: BTreeMap<String, Member> = base.map(|b| b.members.clone()).unwrap_or_default();
    members
        .entry(master.clone())
        .or_insert_with(|| Member::new(master_card.identity.clone(), 0, 0, master_card.hash_hex()));
    // removals already settled still cut the blocks that arrive after them
    // bodies are checked by kind and role alone: all at once, on every core
    let body_check: HashMap<usize, String> = crate::par::par_map(order.clone(), |i| {
        let b = cands[i].block.as_ref().expect("parsed");
        let role = if b.chain == master { Role::Master } else { Role::Member };
        (b.height > 0)
            .then(|| bodies::check_body(b, role).err())
            .flatten()
            .map(|e| (i, e))
    })
    .into_iter()
    .flatten()
    .collect();
    // the removals held (validly signed on the master's chain): a `seen` entry naming a
    // block past one of their cutoffs is ignored, whatever order they arrived in
    let mut cutoffs: Cutoffs = members
        .iter()
        .filter_map(|(id, m)| m.removed.as_ref().map(|(h, x, _)| (id.clone(), (*h, x.clone()))))
        .collect();
    let mut held: Vec<(u64, RemoveBody)> = (0..n)
        .filter(|&i| sig_ok[i] && status[i] == Status::Undecided && rank[i] == master_rank)
        .filter_map(|i| {
            let b = cands[i].block.as_ref().ok()?;
            (b.kind == "remove").then(|| Some((b.height, b.body_as::<RemoveBody>().ok()?)))?
        })
        .collect();
    held.sort_by_key(|(h, _)| *h);
    for (_, r) in held {
        cutoffs.entry(r.id).or_insert((r.cutoff.height, r.cutoff.hash));
    }
    let mut removals: Vec<(String, u64, String, u64)> = members
        .iter()
        .filter_map(|(id, m)| m.removed.clone().map(|(h, x, at)| (id.clone(), h, x, at)))
        .collect();
    for &i in &order {
        let b = cands[i].block.as_ref().unwrap();
        let st = decide(
            i,
            b,
            cands,
            &status,
            &mut master_seen,
            rank[i],
            &pos,
            &forked,
            &by_hash,
            &cutoffs,
            &master,
            &keys,
            &members,
            body_check.get(&i),
        );
        if st == Status::Valid && b.chain == master {
            for r in &b.seen {
                if let Some(m) = members.get_mut(&r.chain) {
                    m.master_saw = m.master_saw.max(r.height);
                }
            }
            match b.kind.as_str() {
                "admit" => {
                    let a: AdmitBody = b.body_as().expect("checked");
                    if members.contains_key(&a.id) {
                        status[i] = invalid("not-authorised", format!("{} is already admitted", a.id));
                        continue;
                    }
                    members.insert(
                        a.id.clone(),
                        Member::new(a.identity(), b.height, b.clock, a.card.clone()),
                    );
                }
                "rekey" => {
                    let r: RekeyBody = b.body_as().expect("checked");
                    let m = members.get_mut(&r.node);
                    let ok = rules::keys::admissible(
                        m.as_ref().map(|m| &m.keys[..]),
                        m.as_ref().is_some_and(|m| m.removed.is_some()),
                        r.node == master,
                        b.height,
                        r.from,
                        m.as_ref().map_or(0, |m| m.master_saw),
                    );
                    match (m, ok) {
                        (Some(m), Ok(())) => m.rotate(&r, b.height),
                        (_, Err(e)) => {
                            status[i] = invalid("not-authorised", e);
                            continue;
                        }
                        (None, Ok(())) => unreachable!("admissible needs a history"),
                    }
                }
                "remove" => {
                    let r: RemoveBody = b.body_as().expect("checked");
                    match members.get_mut(&r.id) {
                        Some(m) if r.id != master && m.removed.is_none() => {
                            m.removed = Some((r.cutoff.height, r.cutoff.hash.clone(), b.height));
                            removals.push((r.id, r.cutoff.height, r.cutoff.hash, b.height));
                        }
                        _ => {
                            status[i] = invalid("not-authorised", format!("{} is not an admitted member", r.id));
                            continue;
                        }
                    }
                }
                _ => {}
            }
        }
        status[i] = st;
    }
    for s in status.iter_mut() {
        if *s == Status::Undecided {
            *s = Status::Pending("waiting for blocks it depends on".into());
        }
    }

    // 5. anchors: the causal past of each valid master block, in height order
    let named = |k: usize, chain: &str, height: u64| {
        sig_ok[k]
            && cands[k]
                .block
                .as_ref()
                .is_ok_and(|x| x.chain == chain && x.height == height)
    };
    let lookup = |hash: &str, chain: &str, height: u64| {
        digest::parse_hash(hash)
            .and_then(|h| by_hash.get(&h).copied())
            .filter(|&k| named(k, chain, height))
    };
    let mut masters: Vec<(usize, u64)> = (0..n)
        .filter(|&i| rank[i] == master_rank && status[i] == Status::Valid)
        .map(|i| (i, cands[i].height()))
        .collect();
    masters.sort_unstable_by_key(|&(_, h)| h);
    let start = base.and_then(|b| b.heads.get(&master)).copied().unwrap_or(0);
    let contiguous = masters
        .iter()
        .skip_while(|(_, h)| *h < start)
        .enumerate()
        .take_while(|(k, (_, h))| *h == start + *k as u64)
        .count();
    let first = masters.iter().position(|(_, h)| *h >= start).unwrap_or(masters.len());
    masters = masters[first..first + contiguous].to_vec();
    rules::anchor::anchors(&mut anchor, &masters, |j, m, out| {
        let Ok(b) = &cands[j].block else { return };
        if b.height > 0 {
            if let Some(k) = b.prev.as_deref().and_then(|p| lookup(p, &b.chain, b.height - 1)) {
                out.push(k);
            }
        }
        for r in &b.seen {
            let ignored = removals.iter().any(|(id, h, x, at)| {
                *id == r.chain && *at <= m && rules::removal::past_cutoff(r.height, &r.hash, *h, x)
            });
            if let (false, Some(k)) = (ignored, lookup(&r.hash, &r.chain, r.height)) {
                out.push(k);
            }
        }
    });

    // 6. forks of members' chains: the branch anchored first stays
    for group in at.chunk_by(|x, y| x.0 == y.0) {
        let r = group[0].0;
        if r == master_rank || !forked.keys().any(|&(fr, _)| fr == r) {
            continue;
        }
        let idx: Vec<usize> = group
            .iter()
            .map(|&(.., i)| i)
            .filter(|&i| !matches!(status[i], Status::Duplicate(_)))
            .collect();
        let local: HashMap<usize, usize> = idx.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let branches: Vec<rules::fork::Branch> = idx
            .iter()
            .map(|&i| {
                let b = cands[i].block.as_ref().expect("signed blocks parse");
                let prev = (b.height > 0)
                    .then(|| b.prev.as_deref().and_then(|p| lookup(p, &b.chain, b.height - 1)))
                    .flatten()
                    .and_then(|k| local.get(&k).copied());
                rules::fork::Branch {
                    height: b.height,
                    anchor: anchor[i],
                    prev,
                }
            })
            .collect();
        for (k, dead) in rules::fork::cut(&branches).into_iter().enumerate() {
            if dead {
                status[idx[k]] = Status::Cut;
            }
        }
    }

    // 7. valid sequences, then removal cutoffs (order-independent: applied last)
    let mut chains: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_chain: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in (0..n).filter(|&i| status[i] == Status::Valid) {
        by_chain.entry(cands[i].chain()).or_default().push(i);
    }
    for (chain, mut v) in by_chain {
        // with a base, a settled chain's sequence starts at its settled head
        let start = base.and_then(|b| b.heads.get(chain)).copied().unwrap_or(0);
        v.retain(|&i| cands[i].height() >= start);
        v.sort_by_key(|&i| cands[i].height());
        let mut seq = Vec::new();
        for i in v {
            if cands[i].height() != start + seq.len() as u64 {
                break;
            }
            seq.push(i);
        }
        chains.insert(chain.to_string(), seq);
    }
    for (id, ch, chash, _) in &removals {
        if let Some(seq) = chains.get_mut(id) {
            let keep = seq
                .iter()
                .position(|&i| {
                    cands[i].height() > *ch || (cands[i].height() == *ch && digest::hex(&cands[i].hash) != *chash)
                })
                .unwrap_or(seq.len());
            for &i in &seq[keep..] {
                status[i] = invalid("removed", format!("past the removal cutoff of {id} at height {ch}"));
            }
            seq.truncate(keep);
        }
    }
    Evaluation {
        master,
        status,
        chains,
        forks,
        members,
        master_seen,
        anchor,
        sig_keys,
        fresh_sigs,
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    i: usize,
    b: &Block,
    cands: &[Cand],
    status: &[Status],
    master_seen: &mut [u64],
    rank: u32,
    pos: &FastMap<(u32, u64), usize>,
    forked: &FastMap<(u32, u64), Vec<usize>>,
    by_hash: &FastMap<Hash, usize>,
    cutoffs: &Cutoffs,
    master: &str,
    keys: &HashMap<String, Ring>,
    members: &BTreeMap<String, Member>,
    body_error: Option<&String>,
) -> Status {
    let is_master = b.chain == master;
    if b.height == 0 {
        if b.kind != "genesis" || b.clock != 0 || !b.seen.is_empty() {
            return invalid(
                "malformed",
                "height 0 must be a genesis block with clock 0 and nothing seen",
            );
        }
        let want = &keys.get(&b.chain).expect("key known").card;
        if digest::hex(&cands[i].hash) != *want {
            return invalid(
                "not-admitted",
                if is_master {
                    "genesis does not match the pinned master card"
                } else {
                    "genesis does not match the admitted card"
                },
            );
        }
        return Status::Valid;
    }
    let mut ms = 0u64;
    let prev = b.prev.as_deref().and_then(digest::parse_hash);
    let p = match (pos.get(&(rank, b.height - 1)), forked.get(&(rank, b.height - 1))) {
        (Some(&p), _) => p,
        // below a fork: the branch it builds on
        (None, Some(v)) => match v.iter().find(|&&j| Some(cands[j].hash) == prev) {
            Some(&j) => j,
            None => {
                return invalid(
                    "broken-link",
                    format!("prev does not match the hash of {}:{}", b.chain, b.height - 1),
                );
            }
        },
        (None, None) => return Status::Pending(format!("missing {}:{}", b.chain, b.height - 1)),
    };
    let pb = cands[p].block.as_ref().unwrap();
    match &status[p] {
        Status::Valid => {
            if prev != Some(cands[p].hash) {
                return invalid(
                    "broken-link",
                    format!("prev does not match the hash of {}:{}", b.chain, b.height - 1),
                );
            }
            if !rules::clock::follows(b.clock, pb.clock) {
                return invalid(
                    "clock",
                    format!("clock {} is not greater than its predecessor's {}", b.clock, pb.clock),
                );
            }
            ms = ms.max(master_seen[p]);
        }
        Status::Pending(why) => return Status::Pending(why.clone()),
        Status::Undecided => {
            return invalid(
                "clock",
                format!("clock {} is not greater than its predecessor's {}", b.clock, pb.clock),
            );
        }
        _ => {
            return invalid(
                "after-invalid",
                format!("its predecessor {}:{} is invalid", b.chain, b.height - 1),
            );
        }
    }
    for r in &b.seen {
        if rules::seen::ignored(cutoffs, &r.chain, r.height, &r.hash) {
            continue;
        }
        let found = digest::parse_hash(&r.hash)
            .and_then(|h| by_hash.get(&h))
            .copied()
            .filter(|&s| {
                cands[s]
                    .block
                    .as_ref()
                    .is_ok_and(|sb| sb.chain == r.chain && sb.height == r.height)
            });
        let Some(s) = found else {
            return Status::Pending(format!("missing {}:{}", r.chain, r.height));
        };
        let sb = cands[s].block.as_ref().unwrap();
        match &status[s] {
            Status::Pending(why) => return Status::Pending(why.clone()),
            Status::Undecided => {
                return invalid(
                    "clock",
                    format!(
                        "clock {} is not greater than that of seen block {}:{}",
                        b.clock, r.chain, r.height
                    ),
                );
            }
            _ => {}
        }
        if !rules::clock::follows(b.clock, sb.clock) {
            return invalid(
                "clock",
                format!(
                    "clock {} is not greater than that of seen block {}:{}",
                    b.clock, r.chain, r.height
                ),
            );
        }
        ms = ms.max(master_seen[s]);
        if r.chain == master {
            ms = ms.max(r.height);
        }
    }
    if is_master {
        ms = b.height;
    }
    master_seen[i] = ms;
    if !is_master {
        match members.get(&b.chain) {
            Some(m) if rules::admission::admitted(Some(m.admitted_at), ms) => {}
            _ => {
                return invalid(
                    "not-admitted",
                    format!("its admission is not in the causal past of {}:{}", b.chain, b.height),
                );
            }
        }
    }
    // the body, for its kind and its author's role (checked beforehand, see `body_check`)
    if let Some(e) = body_error.cloned() {
        return invalid(
            if e.starts_with("only") {
                "not-authorised"
            } else {
                "malformed"
            },
            e,
        );
    }
    Status::Valid
}
