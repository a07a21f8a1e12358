//! An opened home: its config, pinned master card, keys on demand, the evaluated store,
//! and the one way new blocks are made (clock and `seen` frontier as DESIGN §5 says).
use crate::digest;
use crate::error::{Error, IoContext, Result};
use crate::home::{Home, Lock, NodeConfig, Role, atomic_write};
use crate::identity::keys::Protection;
use crate::identity::{Card, Identity, Keys};
use crate::merge::sigcache::SigCache;
use crate::merge::{Cand, Evaluation, Status, evaluate_with};
use crate::subchain::store::{self, Place};
use crate::subchain::{Block, SeenRef};
use age::secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Settings the CLI decides (the core reads no environment).
#[derive(Default)]
pub struct Options {
    /// Unix time used for `time`/`created` fields.
    pub now: i64,
    pub lock_wait: Duration,
    pub passphrase: Option<SecretString>,
    pub age_work_factor: Option<u8>,
    /// Blocks settled per batch when the settled index is built (0: 8192). Tests set a
    /// few to reach the batch boundaries with few blocks (`SECFILE_SETTLE_BATCH`).
    pub settle_batch: usize,
}

pub mod settled;
pub use settled::Loaded;

/// An opened, initialised home.
pub struct Node {
    pub home: Home,
    pub config: NodeConfig,
    pub master_card: Card,
    pub opts: Options,
    /// Cache writes (the settled index, the signature cache, the files cache) held back
    /// until the command succeeds ([`Node::flush_caches`]): a refused command leaves the
    /// home byte for byte as it was. `None`: written at once.
    pub(crate) deferred: std::sync::Mutex<Option<Vec<Deferred>>>,
}

/// A cache write held back (see [`Node::flush_caches`]).
pub(crate) enum Deferred {
    Index(Box<crate::merge::index::Index>),
    DropIndex,
    SigKeys(Vec<crate::digest::Hash>),
    SigCache(Vec<u8>),
    Files(Vec<u8>),
}

/// Everything the store holds, evaluated.
#[derive(Default)]
pub struct State {
    pub cands: Vec<Cand>,
    pub places: Vec<Place>,
    pub paths: Vec<PathBuf>,
    pub layout: Vec<store::LayoutProblem>,
    pub eval: Evaluation,
    /// Entries of the signature cache this load trusted (`usize::MAX`: none read).
    pub cache_len: usize,
    /// When loaded through the settled index ([`Node::load_view`]): the index and the
    /// global chain beyond its final prefix. The candidates then hold only the blocks
    /// beyond the index plus stand-ins for the settled ones they refer to (every chain's
    /// head among them); `None` when the candidates are the whole store.
    pub view: Option<Box<View>>,
}

/// The settled part of a [`State`] loaded through the index.
pub struct View {
    pub index: crate::merge::index::Index,
    pub global: crate::merge::global::Global,
}

impl State {
    pub fn block(&self, i: usize) -> &Block {
        self.cands[i].block.as_ref().expect("evaluated blocks parse")
    }
    /// The valid head block of a chain.
    pub fn head(&self, chain: &str) -> Option<(usize, &Block)> {
        self.eval.head(chain).map(|i| (i, self.block(i)))
    }
    /// How a node is named to the operator: its roster name, else its id.
    pub fn name_of(&self, id: &str) -> String {
        self.eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
    /// The frontier: every valid chain head as a seen-ref.
    pub fn frontier(&self) -> Vec<SeenRef> {
        self.eval
            .chains
            .iter()
            .filter_map(|(c, v)| {
                v.last().map(|&i| SeenRef {
                    chain: c.clone(),
                    height: self.block(i).height,
                    hash: digest::hex(&self.cands[i].hash),
                })
            })
            .collect()
    }
}

impl Node {
    pub fn open(home: Home, opts: Options) -> Result<Node> {
        let config = home.config()?;
        let mc = home.master_card();
        let bytes = std::fs::read(&mc).at(&mc)?;
        let master_card = Card::parse(&bytes).map_err(|e| Error::rejected(mc.display(), "malformed", e))?;
        // a change a dead process left is finished or undone before anything reads the
        // store; when another process holds the lock, it is that process's own change
        if home.path(crate::act::journal::STAGE).exists() || crate::act::journal::in_use_marker(&home).exists() {
            if let Ok(_lock) = home.lock(Duration::ZERO) {
                crate::act::journal::recover_all(&home)?;
            }
        }
        Ok(Node {
            home,
            config,
            master_card,
            opts,
            deferred: Default::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// The master's node id (from the pinned card).
    pub fn id_of_master(&self) -> &str {
        &self.master_card.identity.id
    }

    pub fn time(&self) -> String {
        crate::timefmt::rfc3339(self.opts.now)
    }

    /// Take the home's lock, then finish or undo whatever change a dead process left (see
    /// [`crate::act::journal::recover`]) and remove the temp files it left
    /// ([`crate::act::journal::recover_all`]): temp files never outlive the next command.
    pub fn lock(&self) -> Result<Lock> {
        let mut lock = self.home.lock(self.opts.lock_wait)?;
        crate::act::journal::recover_all(&self.home)?;
        lock.mark(crate::act::journal::in_use_marker(&self.home));
        Ok(lock)
    }

    pub fn keys(&self) -> Result<Keys> {
        Keys::load(&self.home, self.config.encrypted_keys, self.opts.passphrase.as_ref())
    }

    /// Scan and evaluate the store, trusting signatures this node verified before
    /// (`state/sigcache`, keyed by the exact bytes: see [`SigCache`]).
    pub fn load(&self) -> Result<State> {
        self.load_with(true)
    }

    /// Scan and evaluate the store, re-verifying every signature from the bytes read
    /// (`verify`). The cache is refreshed afterwards.
    pub fn load_full(&self) -> Result<State> {
        self.load_with(false)
    }

    fn sig_cache_path(&self) -> PathBuf {
        self.home.state_dir().join("sigcache")
    }

    /// The signature cache; an absent, unreadable or malformed one is empty.
    pub fn sig_cache(&self) -> SigCache {
        std::fs::read(self.sig_cache_path())
            .ok()
            .and_then(|b| SigCache::decode(&b))
            .unwrap_or_default()
    }

    /// Record the good signatures of an evaluation as the cache, when it changed. Best
    /// effort: a read-only home or a full disk only costs the next command time.
    pub fn save_sig_cache(&self, eval: &Evaluation, previous: usize) {
        if eval.fresh_sigs == 0 && eval.sig_keys.len() == previous {
            return;
        }
        let mut keys = eval.sig_keys.clone();
        let _ = crate::home::write_cache(&self.sig_cache_path(), &SigCache::encode_keys(&mut keys));
    }

    /// Keep the signatures a load verified for the next command. Called by commands that
    /// succeeded (a failed or refused command leaves the home unchanged).
    pub fn keep_sig_cache(&self, st: &State) {
        self.flush_caches();
        self.save_sig_cache(&st.eval, st.cache_len);
    }

    fn load_with(&self, trust_cache: bool) -> Result<State> {
        let bar = crate::progress::task("reading blocks", None, crate::progress::Unit::Blocks);
        // hashing and strict decoding are pure: done on the core that read the file
        let make = |r: store::RawBlock| {
            bar.inc(1);
            let location = (r.place == Place::Chains).then(|| (r.dir_chain.clone(), r.name_height));
            let c = Cand::hashed(
                r.path.display().to_string(),
                r.place != Place::Chains,
                location,
                r.bytes,
                r.sig,
                r.hash,
            );
            (c, r.place, r.path)
        };
        let scan = store::scan_map(&self.home, &make)?;
        // chains/ first (as scanned) so duplicates resolve to the stored copy
        let made = scan.blocks;
        let mut cands = Vec::with_capacity(made.len());
        let mut places = Vec::with_capacity(made.len());
        let mut paths = Vec::with_capacity(made.len());
        for (c, place, path) in made {
            cands.push(c);
            places.push(place);
            paths.push(path);
        }
        let cache = if trust_cache {
            self.sig_cache()
        } else {
            SigCache::default()
        };
        let eval = evaluate_with(&self.master_card, &cands, Some(&cache));
        Ok(State {
            cands,
            places,
            paths,
            layout: scan.problems,
            eval,
            cache_len: if trust_cache { cache.len() } else { usize::MAX },
            view: None,
        })
    }

    /// Refuse to act when this node may not: a member before its admission, or when the
    /// home holds blocks of this node's own chain beyond its head (a restored backup).
    pub fn check_can_act(&self, st: &State) -> Result<()> {
        let me = self.id();
        if self.config.role == Role::Member && !st.eval.members.contains_key(me) {
            return Err(Error::rejected(
                me,
                "not-admitted",
                "this member has not seen its admission yet: import a sync bundle from the master first",
            ));
        }
        if let Some(m) = st.eval.members.get(me) {
            if m.removed.is_some() {
                return Err(Error::rejected(
                    me,
                    "not-authorised",
                    "this node has been removed from the roster",
                ));
            }
        }
        if st.eval.forks.iter().any(|f| f.chain == me) {
            return Err(Error::rejected(
                me,
                "fork",
                "this node's own chain is forked: see README, \"Recovering a node\"",
            ));
        }
        let head = st.head(me).map(|(_, b)| b.height);
        let beyond = st.cands.iter().enumerate().any(|(i, c)| {
            c.chain() == me
                && head.is_none_or(|h| c.height() > h)
                && matches!(st.eval.status[i], Status::Pending(_) | Status::Valid)
        });
        if beyond || head.is_none() {
            return Err(Error::rejected(
                me,
                "fork",
                "this home holds blocks of its own chain beyond its head (restored backup or copied home?): refusing to append; see README, \"Recovering a node\"",
            ));
        }
        // A peer's frontier that shows this node's own chain beyond its head, or a different
        // block at its head: this home is behind itself (a restored backup).
        let my_hash = st.head(me).map(|(i, _)| crate::digest::hex(&st.cands[i].hash));
        if let Ok(rd) = std::fs::read_dir(self.home.peers_dir()) {
            for e in rd.flatten() {
                let Ok(bytes) = std::fs::read(e.path()) else { continue };
                let Ok(f) = crate::transport::sync::Frontier::decode(&bytes) else {
                    continue;
                };
                if let Some(h) = f.heads.iter().find(|h| h.chain == me) {
                    let (hh, mine) = (head.unwrap_or(0), my_hash.as_deref());
                    if h.height > hh || (h.height == hh && Some(h.hash.as_str()) != mine) {
                        return Err(Error::rejected(
                            me,
                            "fork",
                            format!(
                                "peer {} holds this node's chain up to height {}, beyond this home's head {hh} (restored backup?): refusing to append; import `sync export --to {} --all` from that peer first (README, \"Recovering a node\")",
                                f.node, h.height, self.config.name
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The next block of this node's chain on top of its valid head in `st`: height,
    /// `prev`, the `seen` frontier and the clock as DESIGN §5 says. Not signed or stored:
    /// see [`crate::act::Tx::stage_block`].
    pub fn next_block(&self, st: &State, kind: &str, body: serde_yaml::Value) -> Result<Block> {
        let me = self.id();
        let (pi, pred) = st
            .head(me)
            .ok_or_else(|| Error::rejected(me, "malformed", "own chain has no valid head"))?;
        // what this chain has already seen, per other chain: its latest blocks name every
        // chain whose head moved, so walking back a bounded number of them finds it; a
        // chain not found there is named again (harmless, and the same on every path)
        let others = st.eval.chains.len().saturating_sub(1);
        let mut already: BTreeMap<String, u64> = BTreeMap::new();
        let mut h = pred.height;
        for _ in 0..SEEN_LOOKBACK {
            if h == 0 || already.len() >= others {
                break;
            }
            for r in self.own_block(st, h)?.seen {
                already.entry(r.chain).or_insert(r.height);
            }
            h -= 1;
        }
        let mut seen = Vec::new();
        let mut clock = pred.clock;
        for (chain, seq) in &st.eval.chains {
            if chain == me {
                continue;
            }
            let Some(&hi) = seq.last() else { continue };
            let hb = st.block(hi);
            if already.get(chain).is_some_and(|&h| h >= hb.height) {
                continue;
            }
            clock = clock.max(hb.clock);
            seen.push(SeenRef {
                chain: chain.clone(),
                height: hb.height,
                hash: digest::hex(&st.cands[hi].hash),
            });
        }
        Ok(Block {
            chain: me.to_string(),
            height: pred.height + 1,
            prev: Some(digest::hex(&st.cands[pi].hash)),
            clock: clock + 1,
            time: self.time(),
            seen,
            kind: kind.to_string(),
            body,
        })
    }
}

/// How many of its own latest blocks [`Node::next_block`] reads to learn what its chain
/// has already named in `seen`.
const SEEN_LOOKBACK: usize = 256;

impl Node {
    /// This node's own valid block at height `h`: from the loaded state when it holds it
    /// in full, else read from `chains/` (a settled block, trusted as the index is).
    fn own_block(&self, st: &State, h: u64) -> Result<Block> {
        let me = self.id();
        if let Some(seq) = st.eval.chains.get(me) {
            if let Some(&first) = seq.first() {
                let base = st.cands[first].height();
                if let Some(&i) = h.checked_sub(base).and_then(|k| seq.get(k as usize)) {
                    if st.cands[i].settled.is_none() {
                        return Ok(st.block(i).clone());
                    }
                }
            }
        }
        let p = store::chain_path(&self.home, me, h);
        let bytes = crate::input::read_bounded(&p, crate::subchain::MAX_BLOCK as u64, "block")?;
        Block::decode(&bytes).map_err(|e| Error::rejected(p.display(), "malformed", e))
    }
}

/// What `init` made.
#[derive(Debug, Clone)]
pub struct InitInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub fingerprint: String,
    pub master_id: String,
    pub master_fingerprint: String,
}

/// Create a new home: keys, layout, genesis block; a member pins the master's card.
pub fn init(
    home: &Home,
    name: &str,
    role: Role,
    master_card: Option<(&[u8], &str)>,
    opts: &Options,
) -> Result<InitInfo> {
    if !crate::subchain::is_node_name(name) {
        return Err(Error::usage(format!(
            "bad node name {name:?}: use 1-64 of A-Z a-z 0-9 . _ - (and not 16 hex digits)"
        )));
    }
    let pinned = match (role, master_card) {
        (Role::Master, Some(_)) => return Err(Error::usage("--master is for members; a master is its own trust root")),
        (Role::Member, None) => return Err(Error::usage("a member needs --master CARD (the master's card)")),
        (Role::Member, Some((bytes, label))) => {
            let c = Card::parse(bytes).map_err(|e| Error::rejected(label, "malformed", e))?;
            if c.identity.role != Role::Master {
                return Err(Error::rejected(
                    label,
                    "not-authorised",
                    format!(
                        "card of {} has role {}, not master",
                        c.identity.name,
                        c.identity.role.as_str()
                    ),
                ));
            }
            Some(c)
        }
        (Role::Master, None) => None,
    };
    if home.is_initialised() {
        return Err(Error::Env(format!(
            "{}: a secfile home already exists here",
            home.root.display()
        )));
    }
    if let Ok(mut rd) = std::fs::read_dir(&home.root) {
        if rd.next().is_some() {
            return Err(Error::Env(format!("{}: directory is not empty", home.root.display())));
        }
    }
    // Build the home in a sibling temp directory, then rename it into place.
    let parent = home
        .root
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent).at(parent)?;
    // an init killed before its rename left a folder with secret keys: remove every one
    // whose init is gone; this one is locked while it is built (see home::sweep)
    crate::home::sweep::sweep_init_dirs(parent);
    let tmp = tempfile::Builder::new()
        .prefix(crate::home::sweep::INIT_PREFIX)
        .tempdir_in(parent)
        .at(parent)?;
    let init_lock = crate::home::sweep::lock_init_dir(tmp.path())?;
    let th = Home::new(tmp.path());
    th.create_layout()?;
    let prot = Protection {
        passphrase: opts.passphrase.clone(),
        age_work_factor: opts.age_work_factor,
    };
    let created = crate::timefmt::rfc3339(opts.now);
    let keys = Keys::create(&th, &created, &prot)?;
    let age = keys.age_recipient();
    let ms = keys.sign.public_base64();
    let identity = Identity {
        name: name.to_string(),
        role,
        id: crate::identity::node_id(&age, &ms),
        age,
        minisign: ms,
    };
    let card = Card::create(identity.clone(), &keys.sign, &created).map_err(Error::Env)?;
    store::write_block(&store::chain_path(&th, &identity.id, 0), &card.block, &card.sig)?;
    let master = pinned.unwrap_or_else(|| card.clone());
    if master.identity.id != identity.id {
        store::write_block(
            &store::chain_path(&th, &master.identity.id, 0),
            &master.block,
            &master.sig,
        )?;
    }
    atomic_write(&th.master_card(), &master.to_bytes())?;
    th.write_config(&NodeConfig {
        format: 1,
        name: name.to_string(),
        role,
        id: identity.id.clone(),
        master: master.identity.id.clone(),
        encrypted_keys: opts.passphrase.is_some(),
    })?;
    // the lock file goes before the rename (the open file keeps the lock until then)
    let lock_file = tmp.path().join(crate::home::sweep::INIT_LOCK);
    std::fs::remove_file(&lock_file).at(&lock_file)?;
    let tmp_path = tmp.keep();
    if home.root.exists() {
        std::fs::remove_dir(&home.root).at(&home.root)?;
    }
    std::fs::rename(&tmp_path, &home.root).at(&home.root)?;
    drop(init_lock);
    crate::home::fsync_dir(parent)?;
    Ok(InitInfo {
        id: identity.id.clone(),
        name: name.to_string(),
        role,
        fingerprint: identity.fingerprint(),
        master_id: master.identity.id.clone(),
        master_fingerprint: master.identity.fingerprint(),
    })
}

impl Node {
    /// Every minisign key the master has signed with, as the master's chain held here
    /// binds them (DESIGN §5 "Keys"), the current one first.
    pub fn master_keys(&self) -> Result<Vec<minisign::PublicKey>> {
        let l = self.load_settled()?;
        Ok(l.st
            .eval
            .members
            .get(self.id_of_master())
            .map(|m| m.public_keys())
            .unwrap_or_default())
    }

    /// This node's own minisign public keys: the current one (`keys/minisign.pub`), those it
    /// retired by rotating, and its card's.
    pub fn own_public_keys(&self) -> Vec<minisign::PublicKey> {
        let read = |p: PathBuf| {
            std::fs::read_to_string(p).ok().and_then(|t| {
                minisign::PublicKeyBox::from_string(&t)
                    .and_then(|b| b.into_public_key())
                    .ok()
            })
        };
        let dir = self.home.keys_dir();
        let mut out: Vec<minisign::PublicKey> = read(dir.join("minisign.pub")).into_iter().collect();
        if let Ok(rd) = std::fs::read_dir(dir.join(crate::identity::keys::RETIRED)) {
            out.extend(rd.flatten().filter_map(|e| read(e.path().join("minisign.pub"))));
        }
        out.extend(self.card().ok().and_then(|c| c.identity.public_key().ok()));
        out
    }

    /// This node's card (its genesis block and signature).
    pub fn card(&self) -> Result<Card> {
        let p = store::chain_path(&self.home, self.id(), 0);
        let block = std::fs::read(&p).at(&p)?;
        let sp = PathBuf::from(format!("{}.minisig", p.display()));
        let sig = std::fs::read(&sp).at(&sp)?;
        Card::from_parts(block, sig).map_err(|e| Error::rejected(p.display(), "malformed", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::sigcache;
    use crate::subchain::sign;

    fn master_with_blocks(dir: &std::path::Path) -> Node {
        master_with(dir, 3)
    }

    /// A master home with genesis and `n` blocks.
    fn master_with(dir: &std::path::Path, n: usize) -> Node {
        let home = Home::new(dir.join("hq"));
        let opts = || Options {
            now: 1_767_225_600,
            ..Options::default()
        };
        init(&home, "hq", Role::Master, None, &opts()).unwrap();
        let node = Node::open(home, opts()).unwrap();
        for _ in 0..n {
            let mut tx = node.begin(crate::act::Who::Acting).unwrap();
            let body = crate::merge::bodies::GenericBody {
                fields: Default::default(),
                attachments: vec![],
            };
            tx.stage_block("bench", body.to_value()).unwrap();
            tx.commit().unwrap();
        }
        node
    }

    /// Replace the signature of block 2 by a well-formed one from another key.
    fn forge_sig(node: &Node) -> (PathBuf, Vec<u8>) {
        let p = store::chain_path(&node.home, node.id(), 2);
        let bytes = std::fs::read(&p).unwrap();
        let other = tempfile::tempdir().unwrap();
        let stranger = master_with_blocks(other.path()).keys().unwrap();
        let sig = sign::sign(&stranger.sign, &bytes, &sign::block_comment(node.id(), 2)).unwrap();
        std::fs::write(format!("{}.minisig", p.display()), &sig).unwrap();
        (p, sig.into_bytes())
    }

    fn status_of(st: &State, p: &std::path::Path) -> Status {
        let i = st.paths.iter().position(|q| q == p).unwrap();
        st.eval.status[i].clone()
    }

    #[test]
    fn sig_cache_never_trusts_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let node = master_with_blocks(dir.path());
        node.keep_sig_cache(&node.load().unwrap());
        assert_eq!(node.sig_cache().len(), 4, "every good signature is cached");
        assert_eq!(
            node.load().unwrap().eval.fresh_sigs,
            0,
            "the second load verifies nothing"
        );
        assert_eq!(node.load_full().unwrap().eval.fresh_sigs, 4, "verify checks everything");
        let (p, _) = forge_sig(&node);
        for st in [node.load().unwrap(), node.load_full().unwrap()] {
            assert!(matches!(status_of(&st, &p), Status::Invalid("bad-signature", _)));
        }
        // a changed block file misses the cache too
        std::fs::write(&p, b"chain: tampered\n").unwrap();
        assert!(matches!(status_of(&node.load().unwrap(), &p), Status::Invalid(..)));
    }

    /// Past [`crate::merge::validate::BACKGROUND_MIN`] unverified signatures, an evaluation
    /// checks them on background threads while it goes on as if they were good. With a bad
    /// one among them, it must come out exactly as checking them first does.
    #[test]
    fn signatures_checked_in_the_background_give_what_checking_first_gives() {
        let dir = tempfile::tempdir().unwrap();
        let n = crate::merge::validate::BACKGROUND_MIN + 40;
        let node = master_with(dir.path(), n);
        let clean = node.load_full().unwrap();
        assert_eq!(clean.eval.fresh_sigs, n + 1);
        assert!(clean.eval.status.iter().all(|s| *s == Status::Valid));
        let (p, _) = forge_sig(&node);
        let cache = node.sig_cache();
        for (st, trusted) in [(node.load_full().unwrap(), None), (node.load().unwrap(), Some(&cache))] {
            let first = crate::merge::validate::evaluate_checking_first(&node.master_card, &st.cands, trusted);
            assert!(matches!(status_of(&st, &p), Status::Invalid("bad-signature", _)));
            assert_eq!(st.eval.status, first.status);
            assert_eq!(st.eval.chains, first.chains);
            assert_eq!(st.eval.members, first.members);
            assert_eq!(st.eval.master_seen, first.master_seen);
            assert_eq!(st.eval.forks, first.forks);
            let sorted = |k: &[digest::Hash]| {
                let mut k = k.to_vec();
                k.sort();
                k
            };
            assert_eq!(sorted(&st.eval.sig_keys), sorted(&first.sig_keys));
            assert_eq!(st.eval.fresh_sigs, first.fresh_sigs);
        }
        let st = node.load_full().unwrap();
        assert_eq!(st.eval.fresh_sigs, n, "every good signature, verified by this load");
        assert_eq!(
            st.eval.chains[node.id()].len(),
            2,
            "the chain stops before the forged block"
        );
    }

    #[test]
    fn verify_ignores_a_poisoned_sig_cache() {
        let dir = tempfile::tempdir().unwrap();
        let node = master_with_blocks(dir.path());
        let (p, sig) = forge_sig(&node);
        // an attacker who can write state/ adds the forged signature to the cache
        let mut cache = node.sig_cache();
        let pk = node.master_card.identity.public_key().unwrap();
        cache.insert(sigcache::key(&digest::sha256(&std::fs::read(&p).unwrap()), &sig, &pk));
        atomic_write(&node.sig_cache_path(), &cache.encode()).unwrap();
        assert!(matches!(
            status_of(&node.load_full().unwrap(), &p),
            Status::Invalid("bad-signature", _)
        ));
        // a garbled cache is ignored, not an error
        std::fs::write(node.sig_cache_path(), b"garbage").unwrap();
        assert!(matches!(
            status_of(&node.load().unwrap(), &p),
            Status::Invalid("bad-signature", _)
        ));
    }
}
