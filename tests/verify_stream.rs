//! A fast path never changes a verdict: the streamed `verify` of a home (a batch at a time
//! through the settled index, falling back to the whole evaluation when the store is not
//! clean) gives exactly what the whole evaluation gives — the same `ok`, the same problems
//! in the same order — on random homes after random operations: appends and exchanges,
//! checkpoints (some with a wrong body), removals, forks, pending blocks, tampered and
//! removed block files, rollbacks below a saved checkpoint, and `--global-head` queries.
use crate::prop::Sim;
use proptest::prelude::*;
use secfile::audit::stream::{Mode, audit_home};
use secfile::audit::{Problem, Report};
use secfile::digest;
use secfile::home::Home;
use secfile::node::Node;
use secfile::subchain::store::{self, Place};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Send {
        from: usize,
        to: usize,
    },
    Checkpoint,
    WrongCheckpoint(u64),
    Remove(usize),
    /// A copy of member `i`'s home appends at the same height; its block reaches the master.
    Fork(usize),
    /// The head block of node `from`'s chain `chain`, copied into `to`'s `pending/`.
    Pend {
        from: usize,
        to: usize,
        chain: usize,
    },
    /// Flip a byte of a block file of node `node` (the `pick`-th of its files).
    Tamper {
        node: usize,
        pick: usize,
        at: usize,
    },
    /// Delete the head block of one chain of node `node` (with its signature).
    DropHead {
        node: usize,
        chain: usize,
    },
    /// A clean verify that saves its rollback checkpoint and index, as the CLI does.
    Verify(usize),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..n).prop_map(Op::Append),
        6 => (0..n, 0..n).prop_map(|(from, to)| Op::Send { from, to }),
        2 => Just(Op::Checkpoint),
        1 => (0u64..3).prop_map(Op::WrongCheckpoint),
        1 => (1..n).prop_map(Op::Remove),
        1 => (1..n).prop_map(Op::Fork),
        1 => (0..n, 0..n, 0..n).prop_map(|(from, to, chain)| Op::Pend { from, to, chain }),
        1 => (0..n, any::<usize>(), any::<usize>()).prop_map(|(node, pick, at)| Op::Tamper { node, pick, at }),
        1 => (0..n, 0..n).prop_map(|(node, chain)| Op::DropHead { node, chain }),
        2 => (0..n).prop_map(Op::Verify),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=3).prop_flat_map(|m| (Just(m), prop::collection::vec(op(m + 1), 1..16)))
}

/// The block files of a home's `chains/`, sorted.
fn block_files(home: &Home) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(home.chains_dir()).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "yaml") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// The highest height held in `chains/<chain>/`.
fn head_of(home: &Home, chain: &str) -> Option<u64> {
    std::fs::read_dir(home.chain_dir(chain))
        .ok()?
        .flatten()
        .filter_map(|f| secfile::subchain::parse_block_file_name(&f.file_name().to_string_lossy()))
        .max()
}

fn chain_ids(sim: &Sim) -> Vec<String> {
    sim.nodes.iter().map(|n| n.id().to_string()).collect()
}

fn apply(sim: &mut Sim, op: &Op) {
    let ids = chain_ids(sim);
    match *op {
        Op::Append(i) => {
            let _ = secfile::act::append::append(&sim.nodes[i], "tick", BTreeMap::new(), &[]);
        }
        Op::Send { from, to } if from != to => {
            if let Ok(b) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.export(from, to))) {
                let _ = secfile::transport::import(&sim.nodes[to], &b, "bundle");
            }
        }
        Op::Send { .. } => {}
        Op::Checkpoint => {
            let _ = secfile::act::checkpoint::checkpoint(&sim.nodes[0]);
        }
        Op::WrongCheckpoint(k) => {
            let body = secfile::merge::bodies::CheckpointBody {
                final_count: k,
                head: "ab".repeat(32),
                threshold: k,
                files: None,
            };
            if let Ok(mut tx) = sim.nodes[0].begin(secfile::act::Who::Master("append checkpoints")) {
                if tx
                    .stage_block("checkpoint", secfile::merge::bodies::to_value(&body))
                    .is_ok()
                {
                    let _ = tx.commit();
                }
            }
        }
        Op::Remove(i) => {
            let _ = secfile::act::roster::remove(&sim.nodes[0], &ids[i]);
        }
        Op::Fork(i) => {
            let copy = sim.dir.path().join(format!("fork-{i}-{}", rand_suffix()));
            crate::common::copy_tree(&sim.nodes[i].home.root, &copy, &[]);
            let Ok(twin) = Node::open(Home::new(&copy), opts()) else {
                return;
            };
            let _ = secfile::act::append::append(&sim.nodes[i], "tick", BTreeMap::new(), &[]);
            if secfile::act::append::append(&twin, "twin", BTreeMap::new(), &[]).is_err() {
                return;
            }
            let Ok(st) = twin.load() else { return };
            if let Ok((tmp, _)) =
                secfile::transport::sync::export(&twin, &st, None, Some(&ids[0]), false, false, sim.dir.path())
            {
                let b = copy.with_extension("bundle");
                if tmp.persist(&b).is_ok() {
                    let _ = secfile::transport::import(&sim.nodes[0], &b, "bundle");
                }
            }
        }
        Op::Pend { from, to, chain } => {
            let (fh, th) = (&sim.nodes[from].home, &sim.nodes[to].home);
            let Some(h) = head_of(fh, &ids[chain]) else { return };
            let p = store::chain_path(fh, &ids[chain], h);
            let (Ok(bytes), Ok(sig)) = (std::fs::read(&p), std::fs::read(format!("{}.minisig", p.display()))) else {
                return;
            };
            let dst = store::aside_path(th, Place::Pending, &ids[chain], h, &digest::sha256(&bytes));
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::write(&dst, &bytes).unwrap();
            std::fs::write(format!("{}.minisig", dst.display()), &sig).unwrap();
        }
        Op::Tamper { node, pick, at } => {
            let files = block_files(&sim.nodes[node].home);
            let p = &files[pick % files.len()];
            let bytes = std::fs::read(p).unwrap();
            std::fs::write(p, crate::common::flipped(&bytes, at % bytes.len(), 0x01)).unwrap();
        }
        Op::DropHead { node, chain } => {
            let home = &sim.nodes[node].home;
            let Some(h) = head_of(home, &ids[chain]).filter(|&h| h > 0) else {
                return;
            };
            let p = store::chain_path(home, &ids[chain], h);
            let _ = std::fs::remove_file(format!("{}.minisig", p.display()));
            let _ = std::fs::remove_file(&p);
        }
        Op::Verify(i) => {
            let node = &sim.nodes[i];
            let mut r = Report::default();
            let v = audit_home(node, None, Mode::Stream, &mut r).unwrap();
            v.save(node, r.ok()).unwrap();
        }
    }
}

fn opts() -> secfile::node::Options {
    secfile::node::Options {
        now: 1_795_000_000,
        lock_wait: std::time::Duration::from_secs(5),
        ..Default::default()
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Both audits of one home, with a `--global-head` query; the stream's must equal the
/// whole one's. Returns whether the stream streamed (did not fall back).
fn same_verdict(node: &Node, head: Option<[u8; 32]>) -> bool {
    let text = head.map(|h| digest::hex(&h));
    let query = head.zip(text.as_deref());
    let mut whole = Report::default();
    let w = audit_home(node, query, Mode::Whole, &mut whole).unwrap();
    assert!(!w.streamed());
    let mut streamed = Report::default();
    let s = audit_home(node, query, Mode::Stream, &mut streamed).unwrap();
    let show = |p: &[Problem]| {
        p.iter()
            .map(|p| format!("{} [{}] {}", p.input, p.kind, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        show(&streamed.problems),
        show(&whole.problems),
        "{}: the streamed verify (streamed: {}) differs from the whole one",
        node.home.root.display(),
        s.streamed()
    );
    assert_eq!(streamed.ok(), whole.ok());
    assert_eq!((streamed.blocks, streamed.chains), (whole.blocks, whole.chains));
    s.streamed()
}

/// Every node's verdict, with and without `--global-head` (a head some node holds, or not).
fn check_all(sim: &Sim, seed: usize) {
    for (i, node) in sim.nodes.iter().enumerate() {
        let st = node.load().unwrap();
        let g = secfile::merge::global::merge(&st.eval, &st.cands);
        let finals = g.final_entries();
        let head = match (seed + i) % 4 {
            0 => None,
            1 => Some([7u8; 32]),
            2 => Some(g.head()),
            _ => finals.first().map(|e| e.running).or(Some([0u8; 32])),
        };
        same_verdict(node, head);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SECFILE_PROP_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(32),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn streamed_verify_gives_the_whole_verdict((members, ops) in scenario(), seed in 0usize..4) {
        let mut sim = Sim::new(members);
        for (k, op) in ops.iter().enumerate() {
            apply(&mut sim, op);
            if k % 5 == 4 {
                check_all(&sim, seed + k);
            }
        }
        check_all(&sim, seed);
    }
}

/// The cases the stream answers itself, each pinned: a clean home with checkpoints (right
/// and wrong), `--global-head`, a rollback below a saved checkpoint, pending blocks.
#[test]
fn stream_answers_clean_homes_itself() {
    let mut sim = Sim::new(2);
    for i in 0..3 {
        sim.append(i);
    }
    sim.flood();
    secfile::act::checkpoint::checkpoint(&sim.nodes[0]).unwrap();
    sim.append(1);
    sim.flood();
    secfile::act::checkpoint::checkpoint(&sim.nodes[0]).unwrap();
    sim.flood();
    for node in &sim.nodes {
        assert!(same_verdict(node, None), "clean: streamed");
        let g = sim.global(0);
        assert!(same_verdict(node, Some(g.final_entries()[0].running)));
        assert!(same_verdict(node, Some([3u8; 32])), "a head not found: still streamed");
    }
    // a rollback below the checkpoint a clean verify saved
    sim.append(1); // seen by no other block: removing it leaves a clean store
    apply(&mut sim, &Op::Verify(1));
    let alice = &sim.nodes[1];
    let before = alice.home.state_dir().join("checkpoint.yaml");
    assert!(before.is_file());
    let me = alice.id().to_string();
    let h = head_of(&alice.home, &me).unwrap();
    let p = store::chain_path(&alice.home, &me, h);
    let sig = std::path::PathBuf::from(format!("{}.minisig", p.display()));
    let kept = (std::fs::read(&p).unwrap(), std::fs::read(&sig).unwrap());
    std::fs::remove_file(&sig).unwrap();
    std::fs::remove_file(&p).unwrap();
    assert!(
        same_verdict(alice, None),
        "a shorter chain is still a clean store: streamed"
    );
    let mut r = Report::default();
    audit_home(alice, None, Mode::Stream, &mut r).unwrap();
    assert!(r.problems.iter().any(|p| p.kind == "rollback"), "{:?}", r.problems);
    std::fs::write(&p, &kept.0).unwrap();
    std::fs::write(&sig, &kept.1).unwrap();
    assert!(same_verdict(alice, None));
    // a wrong checkpoint body, signed by the master: reported by the stream itself
    apply(&mut sim, &Op::WrongCheckpoint(1));
    sim.flood();
    for node in &sim.nodes {
        assert!(same_verdict(node, None));
        let mut r = Report::default();
        audit_home(node, None, Mode::Stream, &mut r).unwrap();
        assert!(r.problems.iter().any(|p| p.kind == "checkpoint"), "{:?}", r.problems);
    }
    // a pending block (its predecessor missing) streams too
    let bob = 2;
    sim.append(1);
    sim.append(1);
    let ids = chain_ids(&sim);
    apply(
        &mut sim,
        &Op::Pend {
            from: 1,
            to: bob,
            chain: 1,
        },
    );
    assert!(head_of(&sim.nodes[bob].home, &ids[1]).unwrap() + 1 < head_of(&sim.nodes[1].home, &ids[1]).unwrap());
    assert!(same_verdict(&sim.nodes[bob], None), "pending blocks: streamed");
}

/// A damaged store falls back to the whole evaluation, which names every problem.
#[test]
fn damaged_homes_fall_back_to_the_whole_evaluation() {
    let mut sim = Sim::new(2);
    sim.append(1);
    sim.flood();
    let hq: &Path = &sim.nodes[0].home.root.clone();
    let stray = hq.join("chains").join(sim.nodes[1].id()).join("notes.txt");
    std::fs::write(&stray, b"x").unwrap();
    assert!(!same_verdict(&sim.nodes[0], None), "a stray file: the whole evaluation");
    std::fs::remove_file(&stray).unwrap();
    assert!(same_verdict(&sim.nodes[0], None));
    apply(
        &mut sim,
        &Op::Tamper {
            node: 0,
            pick: 3,
            at: 40,
        },
    );
    assert!(
        !same_verdict(&sim.nodes[0], None),
        "a tampered block: the whole evaluation"
    );
}

/// The settled index is built a batch at a time in clock order; at every batch size the
/// build succeeds (the stream streams, with the whole verdict), including a member's
/// genesis that the master names before the member's first block (it waits for that block
/// unless a block names it first: it then goes with that one).
#[test]
fn the_index_builds_at_every_batch_size() {
    let mut sim = Sim::new(2);
    sim.flood();
    sim.append(0);
    sim.flood();
    for i in [1, 2, 0, 2, 1] {
        sim.append(i);
    }
    sim.flood();
    for node in &sim.nodes {
        for batch in 1..=6 {
            let twin = Node::open(
                Home::new(&node.home.root),
                secfile::node::Options {
                    settle_batch: batch,
                    ..opts()
                },
            )
            .unwrap();
            assert!(
                same_verdict(&twin, None),
                "{}: batches of {batch}: the index did not build",
                node.home.root.display()
            );
        }
    }
}
