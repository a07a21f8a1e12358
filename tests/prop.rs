//! Property tests of the global-chain rules, run below the CLI on real homes: random
//! appends and random exchange schedules (with dropped and duplicated bundles) on 3–6
//! nodes. Nodes holding the same blocks print the same head; a final head stays a prefix;
//! replays change nothing.
use proptest::prelude::*;
use secfile::home::{Home, Role};
use secfile::merge::global;
use secfile::node::{self, Node, Options};
use std::collections::BTreeMap;
use std::path::PathBuf;

const NOW: i64 = 1_795_000_000;

fn opts() -> Options {
    Options {
        now: NOW,
        lock_wait: std::time::Duration::from_secs(5),
        ..Default::default()
    }
}

pub struct Sim {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
    n: usize,
}

impl Sim {
    /// A master and `members` members, all admitted and holding the master's chain.
    pub fn new(members: usize) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let mh = Home::new(dir.path().join("n0"));
        node::init(&mh, "hq", Role::Master, None, &opts()).unwrap();
        let master = Node::open(mh, opts()).unwrap();
        let mcard = master.card().unwrap().to_bytes();
        let mut nodes = vec![master];
        for i in 1..=members {
            let h = Home::new(dir.path().join(format!("n{i}")));
            node::init(
                &h,
                &format!("m{i}"),
                Role::Member,
                Some((&mcard, "master card")),
                &opts(),
            )
            .unwrap();
            let n = Node::open(h, opts()).unwrap();
            let card = n.card().unwrap().to_bytes();
            secfile::act::roster::admit(&nodes[0], &card, "card").unwrap();
            nodes.push(n);
        }
        let mut sim = Sim { dir, nodes, n: 0 };
        for i in 1..=members {
            let b = sim.export(0, i);
            sim.import(i, &b);
        }
        sim
    }

    pub fn append(&self, i: usize) {
        secfile::act::append::append(&self.nodes[i], "tick", BTreeMap::new(), &[]).unwrap();
    }

    pub fn export(&mut self, from: usize, to: usize) -> PathBuf {
        self.n += 1;
        let node = &self.nodes[from];
        // through the settled index, as `sync export` does
        let l = node.load_settled().unwrap();
        let to_id = self.nodes[to].id().to_string();
        let (tmp, _) = secfile::transport::sync::export(
            node,
            &l.st,
            l.index.as_ref(),
            Some(&to_id),
            false,
            false,
            self.dir.path(),
        )
        .unwrap();
        let p = self.dir.path().join(format!("b{}", self.n));
        tmp.persist(&p).unwrap();
        p
    }

    pub fn import(&self, to: usize, b: &std::path::Path) -> secfile::transport::ImportReport {
        secfile::transport::import(&self.nodes[to], b, "bundle").unwrap()
    }

    /// The whole merge, checked against the incremental one (through the settled index).
    pub fn global(&self, i: usize) -> global::Global {
        let st = self.nodes[i].load().unwrap();
        let g = global::merge(&st.eval, &st.cands);
        let want = (g.head(), g.final_count, g.len());
        let l = self.nodes[i].load_settled().unwrap();
        let got = (l.global.head(), l.global.final_count, l.global.len());
        assert_eq!(got, want, "incremental merge differs from the whole merge");
        assert_eq!(
            l.render(&self.nodes[i], true).unwrap(),
            global::render(&g, true),
            "merge --out differs"
        );
        // and built from nothing, batch by batch
        let ix = self.nodes[i].home.state_dir().join("index");
        let _ = std::fs::remove_file(&ix);
        let l = self.nodes[i].load_settled().unwrap();
        let got = (l.global.head(), l.global.final_count, l.global.len());
        assert_eq!(got, want, "index built from nothing differs from the whole merge");
        g
    }

    /// Everyone exchanges with everyone until nothing changes.
    pub fn flood(&mut self) {
        for _ in 0..2 {
            for a in 0..self.nodes.len() {
                for b in 0..self.nodes.len() {
                    if a != b {
                        let x = self.export(a, b);
                        self.import(b, &x);
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Send {
        from: usize,
        to: usize,
        drop: bool,
        dup: bool,
    },
}

fn ops(n: usize) -> impl Strategy<Value = Vec<Op>> {
    let op =
        prop_oneof![
            (0..n).prop_map(Op::Append),
            (0..n, 0..n, prop::bool::weighted(0.2), prop::bool::weighted(0.2))
                .prop_map(|(from, to, drop, dup)| Op::Send { from, to, drop, dup }),
        ];
    prop::collection::vec(op, 1..14)
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=5).prop_flat_map(|m| (Just(m), ops(m + 1)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("SECFILE_PROP_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_schedule_converges_on_one_head((members, schedule) in scenario()) {
        let mut sim = Sim::new(members);
        let mut seen_heads: Vec<(usize, [u8; 32])> = Vec::new();
        for op in schedule {
            match op {
                Op::Append(i) => sim.append(i),
                Op::Send { from, to, drop, dup } => {
                    if from == to { continue; }
                    let b = sim.export(from, to);
                    if drop { continue; }
                    sim.import(to, &b);
                    if dup {
                        let again = sim.import(to, &b);
                        prop_assert!(!again.changed(), "a replayed bundle changed the home");
                    }
                }
            }
            for i in 0..sim.nodes.len() {
                seen_heads.push((i, sim.global(i).head()));
            }
        }
        sim.flood();
        let globals: Vec<_> = (0..sim.nodes.len()).map(|i| sim.global(i)).collect();
        for g in &globals[1..] {
            prop_assert_eq!(g.head_hex(), globals[0].head_hex());
            prop_assert_eq!(g.final_count, globals[0].final_count);
            prop_assert_eq!(&g.entries, &globals[0].entries);
        }
        // a head once final stays a prefix of every later final chain
        for (i, h) in seen_heads {
            prop_assert!(globals[i].contains_head(&h), "node {} lost head {}", i, secfile::digest::hex(&h));
        }
    }
}

#[test]
fn a_fork_is_reported_identically_everywhere() {
    let mut sim = Sim::new(2);
    // a copied home: the same member appends twice at one height
    let copy = sim.dir.path().join("n1-copy");
    crate::common::copy_tree(&sim.nodes[1].home.root, &copy, &[]);
    let twin = Node::open(Home::new(&copy), opts()).unwrap();
    sim.append(1);
    secfile::act::append::append(&twin, "twin", BTreeMap::new(), &[]).unwrap();
    let b1 = sim.export(1, 0);
    sim.import(0, &b1);
    let st = twin.load().unwrap();
    let master = sim.nodes[0].id().to_string();
    let (tmp, _) =
        secfile::transport::sync::export(&twin, &st, None, Some(&master), false, false, sim.dir.path()).unwrap();
    let b2 = sim.dir.path().join("twin.bundle");
    tmp.persist(&b2).unwrap();
    sim.import(0, &b2);
    sim.flood();
    let forks: Vec<_> = (0..3).map(|i| sim.nodes[i].load().unwrap().eval.forks).collect();
    assert_eq!(forks[0].len(), 1, "the master sees the fork");
    assert_eq!(forks[0][0].chain, sim.nodes[1].id());
    assert_eq!(forks[0][0].height, 1);
    assert_eq!(forks[0][0].hashes.len(), 2);
    assert_eq!(forks[1], forks[0]);
    assert_eq!(forks[2], forks[0]);
    // the forked member refuses to append
    let st = sim.nodes[1].load().unwrap();
    assert!(sim.nodes[1].check_can_act(&st).is_err());
    // every node computes the same head, with the forked chain cut below the fork
    let heads: Vec<_> = (0..3).map(|i| sim.global(i).head_hex()).collect();
    assert_eq!(heads[0], heads[1]);
    assert_eq!(heads[0], heads[2]);
}

#[test]
fn pending_blocks_wait_for_their_predecessors_and_then_validate() {
    let mut sim = Sim::new(2);
    sim.append(1); // m1:1
    let a = sim.export(1, 2);
    sim.import(2, &a);
    let back = sim.export(2, 1); // m1 learns m2 holds m1:1
    sim.import(1, &back);
    sim.append(1); // m1:2
    // The master's import of m1:1 was lost: m1 wrongly believes the master holds what m2
    // holds, so its next export to the master carries only m1:2.
    let (m1, m2, hq) = (
        sim.nodes[1].id().to_string(),
        sim.nodes[2].id().to_string(),
        sim.nodes[0].id().to_string(),
    );
    let peers = sim.nodes[1].home.peers_dir();
    std::fs::copy(peers.join(format!("{m2}.yaml")), peers.join(format!("{hq}.yaml"))).unwrap();
    let only_new = sim.export(1, 0);
    let r = sim.import(0, &only_new);
    assert_eq!(r.added, 0);
    assert_eq!(r.pending.len(), 1, "{r:?}");
    assert!(r.pending[0].contains(&format!("missing {m1}:1")), "{r:?}");
    let st = sim.nodes[0].load().unwrap();
    assert!(st.eval.chains[&m1].len() == 1, "m1:2 must not be valid yet");
    // the missing block arrives (the full export m2 -> master relays it)
    let relay = sim.export(2, 0);
    let r = sim.import(0, &relay);
    assert!(r.added >= 2, "m1:1 and the pending m1:2 both land: {r:?}");
    let st = sim.nodes[0].load().unwrap();
    assert_eq!(st.eval.chains[&m1].len(), 3);
    assert!(
        std::fs::read_dir(sim.nodes[0].home.pending_dir().join(&m1))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn restored_backup_recovers_its_own_blocks_from_a_peer() {
    let mut sim = Sim::new(1);
    let backup = sim.dir.path().join("backup");
    crate::common::copy_tree(&sim.nodes[1].home.root, &backup, &[]);
    sim.append(1);
    sim.append(1);
    let b = sim.export(1, 0);
    sim.import(0, &b);
    // disaster: the member's home is restored from the old backup
    let root = sim.nodes[1].home.root.clone();
    std::fs::remove_dir_all(&root).unwrap();
    crate::common::copy_tree(&backup, &root, &[]);
    // a peer's sync hands the node its own later blocks back: the head is restored ...
    let st = sim.nodes[0].load().unwrap();
    let me = sim.nodes[1].id().to_string();
    let (tmp, _) =
        secfile::transport::sync::export(&sim.nodes[0], &st, None, Some(&me), true, false, sim.dir.path()).unwrap();
    let p = sim.dir.path().join("restore.bundle");
    tmp.persist(&p).unwrap();
    let r = sim.import(1, &p);
    assert!(r.added >= 2, "{r:?}");
    // ... and appending continues above it, with no fork
    sim.append(1);
    let st = sim.nodes[1].load().unwrap();
    assert_eq!(st.eval.chains[&me].len(), 4);
    assert!(st.eval.forks.is_empty());
}

#[test]
fn own_blocks_beyond_the_head_block_appending() {
    let sim = Sim::new(1);
    let backup = sim.dir.path().join("backup");
    crate::common::copy_tree(&sim.nodes[1].home.root, &backup, &[]);
    for _ in 0..3 {
        sim.append(1);
    }
    let me = sim.nodes[1].id().to_string();
    let root = sim.nodes[1].home.root.clone();
    // keep only the newest own block, as pending: the node knows it is behind itself
    let newest = std::fs::read(root.join(format!("chains/{me}/0000000003.yaml"))).unwrap();
    let newest_sig = std::fs::read(root.join(format!("chains/{me}/0000000003.yaml.minisig"))).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    crate::common::copy_tree(&backup, &root, &[]);
    let hash = secfile::digest::hex(&secfile::digest::sha256(&newest));
    let pend = root.join(format!("pending/{me}/0000000003-{hash}.yaml"));
    std::fs::create_dir_all(pend.parent().unwrap()).unwrap();
    std::fs::write(&pend, &newest).unwrap();
    std::fs::write(format!("{}.minisig", pend.display()), &newest_sig).unwrap();
    let st = sim.nodes[1].load().unwrap();
    let err = sim.nodes[1].check_can_act(&st).unwrap_err();
    assert!(err.to_string().contains("beyond its head"), "{err}");
}

#[test]
fn the_first_of_two_transfers_in_global_order_wins_everywhere() {
    use secfile::act::issue::Source;
    use secfile::merge::bodies::{self, TransferBody};
    use secfile::transport::files;
    let mut sim = Sim::new(3);
    let doc = sim.dir.path().join("doc.txt");
    std::fs::write(&doc, b"the content").unwrap();
    let m1 = sim.nodes[1].id().to_string();
    let (m2, m3) = (sim.nodes[2].id().to_string(), sim.nodes[3].id().to_string());
    let made = secfile::act::issue::issue(
        &sim.nodes[0],
        Source::Direct {
            to: &m1,
            attach: &doc,
            fields: BTreeMap::new(),
            event: "test",
        },
        None,
        false,
        None,
    )
    .unwrap();
    let fb = made.sent.outbox.clone();
    sim.import(1, &fb);
    // m1 transfers to m2 through the command ...
    secfile::act::op::transfer(&sim.nodes[1], &made.id, &m2, false, None).unwrap();
    let st = sim.nodes[1].load().unwrap();
    let first = st.head(sim.nodes[1].id()).unwrap().1.clone();
    // ... and a second, conflicting transfer block to m3 is signed on the same chain later
    // (as a buggy or hostile holder could): a valid block that the state must reject
    let manifest = first.body.get("manifest").and_then(|v| v.as_str()).unwrap().to_string();
    let body = TransferBody {
        file: made.id.clone(),
        to: m3.clone(),
        manifest,
    };
    let mut tx = sim.nodes[1].begin(secfile::act::Who::Acting).unwrap();
    tx.stage_block("transfer", bodies::to_value(&body)).unwrap();
    tx.commit().unwrap();
    sim.flood();
    for i in 0..sim.nodes.len() {
        sim.append(i);
    }
    sim.flood();
    // finality is anchored at the master's latest block: one that has seen everyone's
    sim.append(0);
    sim.flood();
    for i in 0..sim.nodes.len() {
        let st = sim.nodes[i].load().unwrap();
        let (g, states) = files::states_whole(&st);
        assert!(g.final_count > 0);
        let f = &states[&made.id];
        assert_eq!(f.holder, m2, "node {i}: the first transfer in global order wins");
        assert!(!f.tentative, "node {i}: settled by final blocks");
        let rejected: Vec<_> = f
            .events
            .iter()
            .filter(|e| e.kind == "transfer" && e.rejected.is_some())
            .collect();
        assert_eq!(rejected.len(), 1, "node {i}: {:?}", f.events);
        assert!(
            rejected[0].rejected.as_deref().unwrap().contains("not the holder"),
            "{:?}",
            rejected[0]
        );
        assert!(rejected[0].detail.contains(&m3));
    }
}
