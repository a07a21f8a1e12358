//! An in-memory adversarial simulation of the rules of DESIGN §5 (no disk): a master and
//! three members exchange blocks in any order and any split; member 1 has a twin (a copied
//! home) that forks its chain; the master removes members at any point and appends
//! checkpoints; forged blocks (signed by the wrong key) and crafted signatures (a good
//! block's bytes under a damaged signature) are delivered too. Signatures made here go to
//! a signature cache that the evaluation trusts (the oracle); the forged ones are verified
//! and refused. Every node keeps what an import would keep (valid, pending and fork
//! evidence). At every step, on every node: the same final chain for the same master
//! block; every final head reached stays a prefix of the later final chains; every
//! checkpoint recomputes. After a full exchange, the honest nodes agree. The master also
//! rotates keys (DESIGN §5 "Keys"): its own, with a `rekey` block signed by its old key,
//! and members' (2 and 3: member 1 has a twin) as `rekey` does it — the member's request
//! names its next height and carries its chain, and it appends nothing until it holds the
//! master's block; every node signs with the key in force for its next height as it knows.
use super::bodies::{self, AdmitBody, CheckpointBody, Cutoff, GenericBody, RekeyBody, RemoveBody};
use super::global::{self, Cuts};
use super::sigcache::{self, SigCache};
use super::{Cand, Evaluation, Status, evaluate_with};
use crate::digest::{self, Hash};
use crate::home::Role;
use crate::identity::{Card, Identity, Keys};
use crate::subchain::{Block, SeenRef, sign};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

const TIME: &str = "2026-11-23T12:00:00Z";
/// Nodes: 0 the master, 1..=3 members, 4 the twin of member 1.
const NODES: usize = 5;
const TWIN: usize = 4;

struct Actor {
    keys: Keys,
    card: Card,
    /// Key sets for rotations, used in turn.
    spare: Vec<Keys>,
}

thread_local! {
    static ACTORS: Vec<Actor> = (0..4).map(actor).collect();
}

fn actor(i: usize) -> Actor {
    let keys = Keys::generate().expect("keys");
    let age = keys.age_recipient();
    let minisign = keys.sign.public_base64();
    let identity = Identity {
        name: format!("n{i}"),
        role: if i == 0 { Role::Master } else { Role::Member },
        id: crate::identity::node_id(&age, &minisign),
        age,
        minisign,
    };
    let card = Card::create(identity, &keys.sign, TIME).expect("card");
    let spare = (0..3).map(|_| Keys::generate().expect("keys")).collect();
    Actor { keys, card, spare }
}

/// One node's holdings: candidates, decoded once.
#[derive(Clone, Default)]
struct Held {
    cands: Vec<Cand>,
    hashes: HashSet<(Hash, Vec<u8>)>,
}

struct Sim {
    cache: SigCache,
    nodes: Vec<Held>,
    /// per node: the final count and head last seen
    last: Vec<(usize, Hash)>,
    /// master block hash -> (final count, head)
    by_anchor: HashMap<Hash, (usize, Hash)>,
    /// per node: how many blocks it held at the last check
    checked: Vec<usize>,
    /// the forged blocks delivered, which no node may keep
    forged: Vec<(Vec<u8>, Vec<u8>)>,
    /// per actor: while its rotation is pending, the length its key history will have
    pending: Vec<Option<usize>>,
}

fn actor_of(node: usize) -> usize {
    if node == TWIN { 1 } else { node }
}

fn cand(bytes: Vec<u8>, sig: Vec<u8>) -> Cand {
    Cand::new("sim".into(), false, None, bytes, Some(sig))
}

impl Sim {
    fn new() -> Sim {
        let mut sim = Sim {
            cache: SigCache::default(),
            nodes: vec![Held::default(); NODES],
            last: vec![(0, [0; 32]); NODES],
            by_anchor: HashMap::new(),
            checked: vec![usize::MAX; NODES],
            forged: Vec::new(),
            pending: vec![None; 4],
        };
        ACTORS.with(|a| {
            let mut start = Vec::new();
            for x in a {
                start.push((x.card.block.clone(), x.card.sig.clone()));
            }
            for n in 0..NODES {
                for (b, s) in &start {
                    sim.hold(n, b.clone(), s.clone());
                }
            }
            for (i, x) in a.iter().enumerate().skip(1) {
                let id = &x.card.identity;
                let body = AdmitBody {
                    name: id.name.clone(),
                    role: Role::Member,
                    id: id.id.clone(),
                    age: id.age.clone(),
                    minisign: id.minisign.clone(),
                    card: x.card.hash_hex(),
                };
                let (b, s) = sim
                    .make(0, "admit", bodies::to_value(&body))
                    .unwrap_or_else(|| panic!("admit {i}"));
                for n in 0..NODES {
                    sim.hold(n, b.clone(), s.clone());
                }
            }
        });
        sim
    }

    fn hold(&mut self, n: usize, bytes: Vec<u8>, sig: Vec<u8>) {
        let c = cand(bytes, sig.clone());
        if self.nodes[n].hashes.insert((c.hash, sig)) {
            self.nodes[n].cands.push(c);
        }
    }

    fn eval(&self, n: usize) -> Evaluation {
        let master = ACTORS.with(|a| a[0].card.clone());
        evaluate_with(&master, &self.nodes[n].cands, Some(&self.cache))
    }

    /// What node `n` would append (as `Node::append` does), signed by its owner and
    /// trusted by the oracle; `None` when the node may not act.
    fn make(&mut self, n: usize, kind: &str, body: serde_yaml::Value) -> Option<(Vec<u8>, Vec<u8>)> {
        let eval = self.eval(n);
        let cands = &self.nodes[n].cands;
        let me = ACTORS.with(|a| a[actor_of(n)].card.identity.id.clone());
        let member = eval.members.get(&me)?;
        if member.removed.is_some() || eval.forks.iter().any(|f| f.chain == me) {
            return None;
        }
        // a pending rotation: nothing until the master's `rekey` block is here
        if self.pending[actor_of(n)].is_some_and(|k| member.keys.len() < k) {
            return None;
        }
        let head = eval.head(&me)?;
        let beyond = cands.iter().enumerate().any(|(i, c)| {
            c.chain() == me
                && c.height() > cands[head].height()
                && matches!(eval.status[i], Status::Pending(_) | Status::Valid)
        });
        if beyond {
            return None;
        }
        let block = |i: usize| cands[i].block.as_ref().expect("valid");
        let mut already: BTreeMap<&str, u64> = BTreeMap::new();
        for &i in &eval.chains[&me] {
            for r in &block(i).seen {
                let e = already.entry(r.chain.as_str()).or_insert(0);
                *e = (*e).max(r.height);
            }
        }
        let mut seen = Vec::new();
        let mut clock = block(head).clock;
        for (chain, seq) in &eval.chains {
            let Some(&hi) = seq.last() else { continue };
            if *chain == me || already.get(chain.as_str()).is_some_and(|&h| h >= block(hi).height) {
                continue;
            }
            clock = clock.max(block(hi).clock);
            seen.push(SeenRef {
                chain: chain.clone(),
                height: block(hi).height,
                hash: digest::hex(&cands[hi].hash),
            });
        }
        let b = Block {
            chain: me.clone(),
            height: block(head).height + 1,
            prev: Some(digest::hex(&cands[head].hash)),
            clock: clock + 1,
            time: TIME.into(),
            seen,
            kind: kind.into(),
            body,
        };
        let bytes = b.encode().expect("encode");
        // the key in force at the new height, as this node knows its key history
        let want = member.key_at(b.height).minisign.clone();
        let (sig, pk) = ACTORS.with(|a| {
            let x = &a[actor_of(n)];
            let k = std::iter::once(&x.keys)
                .chain(&x.spare)
                .map(|k| &k.sign)
                .find(|k| k.public_base64() == want)
                .expect("a key of this actor");
            let sig = sign::sign(k, &bytes, &sign::block_comment(&me, b.height)).expect("sign");
            (sig.into_bytes(), k.pk.clone())
        });
        self.cache.insert(sigcache::key(&digest::sha256(&bytes), &sig, &pk));
        Some((bytes, sig))
    }

    fn append(&mut self, n: usize, kind: &str, body: serde_yaml::Value) {
        if let Some((b, s)) = self.make(n, kind, body) {
            self.hold(n, b, s);
        }
    }

    fn tick(&mut self, n: usize) {
        let body = GenericBody {
            fields: BTreeMap::new(),
            attachments: vec![],
        };
        self.append(n, "tick", body.to_value());
    }

    fn remove(&mut self, victim: usize) {
        let eval = self.eval(0);
        let id = ACTORS.with(|a| a[victim].card.identity.id.clone());
        let Some(h) = eval.head(&id) else { return };
        if eval.members.get(&id).is_none_or(|m| m.removed.is_some()) {
            return;
        }
        let c = &self.nodes[0].cands[h];
        let body = RemoveBody {
            id,
            cutoff: Cutoff {
                height: c.height(),
                hash: digest::hex(&c.hash),
            },
        };
        self.append(0, "remove", bodies::to_value(&body));
    }

    /// A rotation of `who`'s keys (0: the master's own, at once; a member: its request,
    /// which carries its chain and names its next height, then the master's block).
    fn rekey(&mut self, who: usize) {
        let id = ACTORS.with(|a| a[who].card.identity.id.clone());
        let own = self.eval(who);
        if let Some(k) = self.pending[who] {
            if own.members.get(&id).is_none_or(|m| m.keys.len() < k) {
                return;
            }
            self.pending[who] = None;
        }
        let Some(m) = own.members.get(&id) else { return };
        let Some(h) = own.head(&id) else { return };
        let used = m.keys.len() - 1;
        if m.removed.is_some() || used >= 3 {
            return;
        }
        let from = self.nodes[who].cands[h].height() + if who == 0 { 2 } else { 1 };
        if who != 0 {
            // the request bundle carries the member's chain
            self.send(who, 0, &[]);
            let eval = self.eval(0);
            let held = eval.head(&id).map_or(0, |i| self.nodes[0].cands[i].height());
            let bound = eval.members.get(&id).map_or(0, |m| m.keys.len());
            if held >= from || bound != used + 1 {
                return;
            }
        }
        let (age, minisign) = ACTORS.with(|a| {
            let k = &a[who].spare[used];
            (k.age_recipient(), k.sign.public_base64())
        });
        let body = RekeyBody {
            node: id,
            from,
            age,
            minisign,
        };
        let before = self.nodes[0].cands.len();
        self.append(0, "rekey", bodies::to_value(&body));
        if who != 0 && self.nodes[0].cands.len() > before {
            self.pending[who] = Some(used + 2);
        }
    }

    fn checkpoint(&mut self) {
        let eval = self.eval(0);
        let g = global::merge(&eval, &self.nodes[0].cands);
        let Some((_, _, (count, head, threshold))) = global::next_checkpoint_body(&eval, &self.nodes[0].cands, &g)
        else {
            return;
        };
        let body = CheckpointBody {
            final_count: count,
            head: digest::hex(&head),
            threshold,
            files: None,
        };
        self.append(0, "checkpoint", bodies::to_value(&body));
    }

    /// A block of member `victim`'s chain signed with another actor's key, or one of its
    /// blocks under a damaged signature: delivered to `to`, which must refuse it.
    fn forge(&mut self, victim: usize, to: usize, damage: bool) {
        let mine: Vec<(Vec<u8>, Vec<u8>)> = {
            let id = ACTORS.with(|a| a[victim].card.identity.id.clone());
            self.nodes[victim]
                .cands
                .iter()
                .filter(|c| c.chain() == id && c.height() > 0)
                .map(|c| (c.bytes.clone(), c.sig.clone().unwrap_or_default()))
                .collect()
        };
        let Some((bytes, sig)) = mine.last().cloned() else {
            return;
        };
        let sig = if damage {
            let mut s = sig;
            let k = s.len() / 3;
            s[k] = if s[k] == b'A' { b'B' } else { b'A' };
            s
        } else {
            let b = Block::decode(&bytes).expect("decodes");
            ACTORS.with(|a| {
                let wrong = &a[if victim == 3 { 2 } else { victim + 1 }].keys.sign;
                sign::sign(wrong, &bytes, &sign::block_comment(&b.chain, b.height))
                    .expect("sign")
                    .into_bytes()
            })
        };
        self.forged.push((bytes.clone(), sig.clone()));
        self.deliver_blocks(to, vec![cand(bytes, sig)]);
    }

    /// Deliver blocks to node `to` as an import would: keep those valid, pending or kept as
    /// fork evidence in the evaluation with them; refuse the rest.
    fn deliver_blocks(&mut self, to: usize, blocks: Vec<Cand>) {
        let node = &mut self.nodes[to];
        let before = node.cands.len();
        for c in blocks {
            let k = (c.hash, c.sig.clone().unwrap_or_default());
            if !node.hashes.contains(&k)
                && !node.cands[before..]
                    .iter()
                    .any(|x| (x.hash, x.sig.as_ref()) == (k.0, Some(&k.1)))
            {
                node.cands.push(c);
            }
        }
        if node.cands.len() == before {
            return;
        }
        let master = ACTORS.with(|a| a[0].card.clone());
        let eval = evaluate_with(&master, &node.cands, Some(&self.cache));
        let fresh = node.cands.split_off(before);
        for (k, c) in fresh.into_iter().enumerate() {
            if matches!(
                eval.status[before + k],
                Status::Valid | Status::Pending(_) | Status::Cut
            ) {
                node.hashes.insert((c.hash, c.sig.clone().unwrap_or_default()));
                node.cands.push(c);
            }
        }
    }

    /// Node `from` sends `to` a subset of its blocks (`mask` picks, cyclically).
    fn send(&mut self, from: usize, to: usize, mask: &[bool]) {
        let blocks: Vec<Cand> = self.nodes[from]
            .cands
            .iter()
            .enumerate()
            .filter(|(k, _)| mask.is_empty() || mask[k % mask.len()])
            .map(|(_, c)| c.clone())
            .collect();
        self.deliver_blocks(to, blocks);
    }

    /// A full exchange: every node is offered everything any node holds.
    fn flood(&mut self) {
        let mut all: Vec<Cand> = Vec::new();
        let mut seen = HashSet::new();
        for h in &self.nodes {
            for c in &h.cands {
                if seen.insert((c.hash, c.sig.clone().unwrap_or_default())) {
                    all.push(c.clone());
                }
            }
        }
        for n in 0..NODES {
            self.deliver_blocks(n, all.clone());
        }
    }

    /// The properties, on every node.
    fn check(&mut self) -> Result<(), TestCaseError> {
        for n in 0..NODES {
            // unchanged since the last check: nothing to see
            if self.checked[n] == self.nodes[n].cands.len() {
                continue;
            }
            self.checked[n] = self.nodes[n].cands.len();
            let eval = self.eval(n);
            let cands = &self.nodes[n].cands;
            let g = global::merge(&eval, cands);
            let fin = g.final_entries();
            let head = g.head();
            // a final head once reached stays a prefix
            let (count, old) = self.last[n];
            prop_assert!(
                g.final_count >= count,
                "node {n}: final count fell {count} -> {}",
                g.final_count
            );
            if count > 0 {
                prop_assert_eq!(
                    fin[count - 1].running,
                    old,
                    "node {}: the final prefix was rewritten",
                    n
                );
            }
            self.last[n] = (g.final_count, head);
            // the same final chain for the same master block
            let master = eval.head(&eval.master).map(|i| cands[i].hash).expect("master genesis");
            let mine = (g.final_count, head);
            let first = *self.by_anchor.entry(master).or_insert(mine);
            prop_assert_eq!(first, mine, "node {}: another final chain for the same master block", n);
            // every checkpoint recomputes
            let cuts = Cuts::of(&eval, cands);
            for &i in &eval.chains[&eval.master] {
                let b = cands[i].block.as_ref().expect("valid");
                if b.kind == "checkpoint" {
                    let body: CheckpointBody = b.body_as().expect("checked");
                    let (c, h, t) = global::checkpoint_body_at(&eval, cands, &cuts, &g, i);
                    prop_assert_eq!(
                        (body.final_count, body.head.clone(), body.threshold),
                        (c, digest::hex(&h), t)
                    );
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Tick(usize),
    Send { from: usize, to: usize, mask: Vec<bool> },
    Remove(usize),
    Checkpoint,
    Forge { victim: usize, to: usize, damage: bool },
    Rekey(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..NODES).prop_map(Op::Tick),
        6 => (0..NODES, 0..NODES, prop::collection::vec(prop::bool::weighted(0.7), 0..4))
            .prop_map(|(from, to, mask)| Op::Send { from, to, mask }),
        1 => (1usize..=3).prop_map(Op::Remove),
        1 => Just(Op::Checkpoint),
        1 => (1usize..=3, 0..NODES, any::<bool>()).prop_map(|(victim, to, damage)| Op::Forge { victim, to, damage }),
        1 => prop_oneof![Just(0usize), Just(2), Just(3)].prop_map(Op::Rekey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_shrink_iters: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn anchored_finality_holds_under_forks_removals_and_forgeries(ops in prop::collection::vec(op(), 1..20)) {
        let mut sim = Sim::new();
        for op in ops {
            match op {
                Op::Tick(n) => sim.tick(n),
                Op::Send { from, to, mask } if from != to => sim.send(from, to, &mask),
                Op::Send { .. } => {}
                Op::Remove(v) => sim.remove(v),
                Op::Checkpoint => sim.checkpoint(),
                Op::Forge { victim, to, damage } => sim.forge(victim, to, damage),
                Op::Rekey(who) => sim.rekey(who),
            }
            sim.check()?;
        }
        // full exchange, then a round in which everyone appends after seeing everyone
        sim.flood();
        for n in 0..NODES {
            sim.tick(n);
        }
        sim.flood();
        sim.tick(0);
        sim.flood();
        sim.check()?;
        let honest = [0usize, 1, 2, 3];
        let merged: Vec<_> = honest
            .iter()
            .map(|&n| {
                let e = sim.eval(n);
                let g = global::merge(&e, &sim.nodes[n].cands);
                let entries: Vec<Hash> = g.entries.iter().map(|x| x.block_hash).collect();
                (g.head(), g.final_count, entries)
            })
            .collect();
        for m in &merged[1..] {
            prop_assert_eq!(m, &merged[0], "honest nodes disagree after a full exchange");
        }
        // forged blocks were refused everywhere
        for n in 0..NODES {
            for (b, s) in &sim.forged {
                let h = digest::sha256(b);
                prop_assert!(!sim.nodes[n].hashes.contains(&(h, s.clone())), "node {} kept a forged block", n);
            }
        }
    }
}

#[test]
fn rotations_are_followed_by_every_node() {
    let mut sim = Sim::new();
    let ops = [
        Op::Tick(2),
        Op::Rekey(0),
        Op::Tick(0),
        Op::Rekey(2),
        Op::Tick(2), // pending: nothing
        Op::Send {
            from: 0,
            to: 2,
            mask: vec![],
        },
        Op::Tick(2), // the new key
        Op::Rekey(2),
        Op::Send {
            from: 0,
            to: 2,
            mask: vec![],
        },
        Op::Tick(2), // the third key
        Op::Rekey(0),
        Op::Tick(0),
    ];
    for op in ops {
        match op {
            Op::Tick(n) => sim.tick(n),
            Op::Send { from, to, mask } => sim.send(from, to, &mask),
            Op::Rekey(who) => sim.rekey(who),
            _ => unreachable!(),
        }
    }
    sim.flood();
    for n in 0..NODES {
        let e = sim.eval(n);
        let (m, two) = ACTORS.with(|a| (a[0].card.identity.id.clone(), a[2].card.identity.id.clone()));
        assert_eq!(e.members[&m].keys.len(), 3, "node {n}: the master rotated twice");
        assert_eq!(e.members[&two].keys.len(), 3, "node {n}: member 2 rotated twice");
        assert_eq!(e.chains[&two].len(), 4, "node {n}: member 2's blocks under three keys");
        assert_eq!(
            e.chains[&m].len(),
            1 + 3 + 4 + 2,
            "node {n}: genesis, admits, rekeys, ticks"
        );
        assert!(
            e.status.iter().all(|s| matches!(s, Status::Valid)),
            "node {n}: {:?}",
            e.status
        );
    }
}

#[test]
fn rekey_blocks_that_do_not_bind_are_invalid_on_every_node() {
    // (who, from, removed first): an unknown node, a removed one, a `from` not beyond the
    // previous rotation, the master's own not at its next height
    let unknown = "0123456789abcdef".to_string();
    // (who, from, removed first, a second rekey, the master saw member 2 up to height 2)
    let cases: [(Option<usize>, u64, bool, bool, bool); 7] = [
        (None, 5, false, false, false),
        (Some(3), 5, true, false, false),
        (Some(2), 3, false, true, false),
        (Some(0), 99, false, false, false),
        (Some(2), 2, false, false, true),
        (Some(2), 3, false, false, true),  // binds: beyond what the master saw
        (Some(2), 7, false, false, false), // binds
    ];
    for (who, from, remove_first, second, saw) in cases {
        let mut sim = Sim::new();
        if saw {
            sim.tick(2);
            sim.tick(2);
            sim.send(2, 0, &[]);
            sim.tick(0);
        }
        if remove_first {
            sim.remove(3);
        }
        let (id, age, minisign) = ACTORS.with(|a| {
            let k = &a[2].spare[0];
            let id = who.map_or(unknown.clone(), |w| a[w].card.identity.id.clone());
            (id, k.age_recipient(), k.sign.public_base64())
        });
        let mut body = RekeyBody {
            node: id.clone(),
            from,
            age,
            minisign,
        };
        if second {
            // a first rotation from 3, then a second one for the same `from`
            sim.append(0, "rekey", bodies::to_value(&body));
            body.minisign = ACTORS.with(|a| a[2].spare[1].sign.public_base64());
        }
        sim.flood();
        let (b, s) = sim
            .make(0, "rekey", bodies::to_value(&body))
            .expect("the master may append");
        let hash = digest::sha256(&b);
        for n in 0..NODES {
            sim.hold(n, b.clone(), s.clone());
            let e = sim.eval(n);
            let i = sim.nodes[n].cands.iter().position(|c| c.hash == hash).unwrap();
            let binds = who == Some(2) && (from == 7 || (from == 3 && saw));
            match &e.status[i] {
                Status::Valid => assert!(binds, "{who:?} from {from}: bound on node {n}"),
                Status::Invalid("not-authorised", _) => assert!(!binds, "{who:?} from {from}: refused"),
                s => panic!("{who:?} from {from}: {s:?}"),
            }
        }
    }
}
