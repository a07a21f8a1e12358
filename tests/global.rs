//! End-to-end tests of the global chain (issue 3): `merge`, `verify --global-head`,
//! rollback, removal cutoffs and finality, forks and the self-fork guard, the `xfer` spool,
//! pending blocks, and an outsider's bundle. Every test drives the real binary.
use crate::common::{Net, copy_tree, json, ok, ok_json, restore, run, s, snapshot};
use std::path::{Path, PathBuf};

const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn append(home: &Path, note: &str) -> serde_json::Value {
    ok_json(home, &["append", "--kind", "note", "--field", &format!("n={note}")])
}

fn merge(home: &Path) -> serde_json::Value {
    ok_json(home, &["merge"])
}

/// Every block hash in a home's `log --json`.
fn hashes(home: &Path) -> Vec<String> {
    ok_json(home, &["log"])
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["hash"].as_str().unwrap().to_string())
        .collect()
}

/// The newest block file (and its signature) of a chain in a home.
fn newest_block(home: &Path, chain: &str) -> (PathBuf, PathBuf) {
    let dir = home.join("chains").join(chain);
    let mut ys: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    ys.sort();
    let y = ys.pop().expect("a block");
    let sig = PathBuf::from(format!("{}.minisig", y.display()));
    (y, sig)
}

/// Files under a spool directory, relative to it, sorted.
fn spool_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_none_or(|x| x != "yaml"))
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// hq, alice and bob where every node holds every block, and alice's and bob's latest
/// blocks (a2, b2) are past the master's latest clock (so they are a tentative tail).
fn converged_with_tail() -> Net {
    let net = Net::new(&["alice", "bob"]);
    append(&net.home("alice"), "a1");
    append(&net.home("bob"), "b1");
    net.sync("alice", "hq");
    net.sync("bob", "hq");
    append(&net.home("hq"), "h1"); // has seen a1 and b1
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    append(&net.home("alice"), "a2"); // has seen h1: past the master's clock
    append(&net.home("bob"), "b2");
    net.sync("alice", "hq");
    net.sync("bob", "hq");
    net.sync("hq", "bob");
    net.sync("hq", "alice");
    net
}

#[test]
fn merge_prints_head_final_pending_and_identical_files() {
    let net = converged_with_tail();
    let (alice, bob) = (net.home("alice"), net.home("bob"));
    assert_eq!(hashes(&alice), hashes(&bob), "alice and bob hold the same blocks");

    let ja = merge(&alice);
    let jb = merge(&bob);
    for k in ["head", "final", "pending"] {
        assert!(!ja[k].is_null(), "merge --json lacks {k}: {ja}");
    }
    let head = ja["head"].as_str().unwrap();
    assert_eq!(head.len(), 64);
    assert!(head.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(head, ZERO, "something is final: {ja}");
    assert_eq!(ja["head"], jb["head"]);
    assert_eq!(ja["final"], jb["final"]);
    // anchored finality: the final chain is that of the cut of hq's latest block h1, whose
    // threshold is the smallest latest clock in it (a1's and b1's): h1 itself waits for a
    // later master block
    assert_eq!(ja["final"], 4, "two admits, a1, b1 are final: {ja}");
    assert_eq!(ja["anchor"], 3, "the final chain of hq's block 3 (h1): {ja}");
    assert_eq!(
        ja["pending"], 3,
        "h1, and a2 and b2 past the master's latest block: {ja}"
    );

    // --out: byte-identical on two nodes holding the same blocks, with or without the tail
    for (flag, name) in [(None, "g"), (Some("--include-pending"), "gp")] {
        let mut outs = Vec::new();
        for n in ["alice", "bob"] {
            let f = net.path(&format!("{name}-{n}.txt"));
            let mut args = vec!["merge", "--out", s(&f)];
            args.extend(flag);
            ok(&net.home(n), &args);
            outs.push(std::fs::read(&f).unwrap());
        }
        assert!(outs[0] == outs[1], "merge --out {flag:?} differs between alice and bob");
        let text = String::from_utf8(outs[0].clone()).unwrap();
        assert!(text.contains(head), "the file names the head:\n{text}");
        assert_eq!(text.contains("tentative"), flag.is_some(), "{text}");
    }
    // `--out -` writes the same bytes to stdout
    let stdout = ok(&alice, &["merge", "--out", "-"]);
    assert_eq!(stdout.as_bytes(), std::fs::read(net.path("g-alice.txt")).unwrap());
    // the master, which holds the same blocks, agrees too
    assert_eq!(merge(&net.home("hq"))["head"], ja["head"]);

    // --include-pending lists the tentative tail: a2 and b2, in text and JSON
    let text = ok(&alice, &["merge", "--include-pending"]);
    assert!(text.contains("tentative alice:2"), "{text}");
    assert!(text.contains("tentative bob:2"), "{text}");
    assert_eq!(ok(&alice, &["merge"]).matches("tentative").count(), 0);
    let j = ok_json(&alice, &["merge", "--include-pending"]);
    let tail = j["tentative_entries"].as_array().unwrap();
    assert_eq!(tail.len(), 3, "{j}");
    assert_eq!(tail[0]["chain"], net.id("hq").as_str(), "h1 first: {j}");
    let mut want: Vec<(String, String)> = ["alice", "bob"]
        .into_iter()
        .map(|who| {
            let last = ok_json(&alice, &["log", "--chain", who])
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            (
                last["chain"].as_str().unwrap().into(),
                last["hash"].as_str().unwrap().into(),
            )
        })
        .collect();
    want.sort(); // same clock: ordered by chain id
    let got: Vec<(String, String)> = tail[1..]
        .iter()
        .map(|e| (e["chain"].as_str().unwrap().into(), e["hash"].as_str().unwrap().into()))
        .collect();
    assert_eq!(got, want, "the tail in (clock, chain id) order: {j}");
}

#[test]
fn merge_before_anything_is_final_prints_zero_head() {
    let dir = tempfile::tempdir().unwrap();
    let hq = dir.path().join("hq");
    ok(&hq, &["init", "--name", "hq", "--role", "master"]);
    let j = merge(&hq);
    assert_eq!(j["head"], ZERO);
    assert_eq!(j["final"], 0);
    assert_eq!(j["pending"], 0);
}

#[test]
fn verify_global_head_accepts_an_earlier_head_and_refuses_others() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    append(&alice, "a1");
    net.sync("alice", "hq");
    append(&hq, "h1");
    net.sync("hq", "alice");
    let earlier = merge(&alice)["head"].as_str().unwrap().to_string();
    assert_ne!(earlier, ZERO);
    // the chain grows on both nodes
    for i in 0..2 {
        append(&alice, &format!("a{}", i + 2));
        net.sync("alice", "hq");
        append(&hq, &format!("h{}", i + 2));
        net.sync("hq", "alice");
    }
    let now = merge(&alice)["head"].as_str().unwrap().to_string();
    assert_ne!(now, earlier, "the final chain grew");
    for home in [&hq, &alice] {
        for h in [&earlier, &now] {
            let (code, out, err) = run(home, &["verify", "--global-head", h]);
            assert_eq!(code, 0, "{h} is in the final chain:\n{out}{err}");
        }
        // a random hash: exit 1, reported
        let random = "5e".repeat(32);
        let (code, out, err) = run(home, &["verify", "--global-head", &random]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.contains(&random), "names the hash:\n{out}");
        let j = json(&run(home, &["--json", "verify", "--global-head", &random]).1);
        assert_eq!(j["ok"], false);
        assert!(
            j["problems"][0]["input"].as_str().unwrap().contains("global-head"),
            "{j}"
        );
        // malformed: usage error
        for bad in ["xyz", &earlier[..63], &earlier.to_uppercase(), &format!("{earlier}0")] {
            let (code, _, err) = run(home, &["verify", "--global-head", bad]);
            assert_eq!(code, 2, "--global-head {bad:?}: {err}");
            assert!(err.contains("global-head"), "{err}");
        }
    }
    // a head of another consortium is not in this one
    let other = converged_with_tail();
    let foreign = merge(&other.home("hq"))["head"].as_str().unwrap().to_string();
    assert_eq!(run(&alice, &["verify", "--global-head", &foreign]).0, 1);
}

#[test]
fn verify_reports_a_rollback_below_its_checkpoint() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    append(&alice, "a1");
    append(&alice, "a2");
    net.sync("alice", "hq");
    append(&hq, "h1");
    let (code, out, err) = run(&hq, &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(hq.join("state/checkpoint.yaml").is_file(), "verify keeps a checkpoint");

    // restore an older copy of alice's chain: her newest block disappears (both files)
    let alice_id = net.id("alice");
    let (y, sig) = newest_block(&hq, &alice_id);
    assert!(y.ends_with("0000000002.yaml"), "{}", y.display());
    std::fs::remove_file(&y).unwrap();
    std::fs::remove_file(&sig).unwrap();
    let (code, out, err) = run(&hq, &["verify"]);
    assert_eq!(code, 1, "a rollback is a failure:\n{out}{err}");
    assert!(out.contains("rollback"), "{out}");
    assert!(out.contains(&alice_id), "names the chain:\n{out}");
    let j = json(&run(&hq, &["--json", "verify"]).1);
    assert!(
        j["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "rollback"),
        "{j}"
    );
    // the failed verify did not move the checkpoint: still reported
    assert_eq!(run(&hq, &["verify"]).0, 1);
    // getting the block back (from alice) clears it
    let b = net.path("again.bundle");
    ok(&alice, &["sync", "export", "--to", "hq", "--all", "--out", s(&b)]);
    ok(&hq, &["sync", "import", s(&b)]);
    let (code, out, err) = run(&hq, &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn verify_reports_a_changed_block_below_its_checkpoint() {
    let net = Net::new(&["alice"]);
    let hq = net.home("hq");
    append(&hq, "h1");
    append(&hq, "h2");
    assert_eq!(run(&hq, &["verify"]).0, 0);
    // an older master chain: drop its newest block, then append a different one there
    let (y, sig) = newest_block(&hq, &net.id("hq"));
    std::fs::remove_file(&y).unwrap();
    std::fs::remove_file(&sig).unwrap();
    append(&hq, "other h2");
    let (code, out, _) = run(&hq, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rollback"), "{out}");
}

#[test]
fn removed_member_is_cut_off_everywhere_and_stops_holding_back_finality() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    let alice_id = net.id("alice");
    append(&alice, "a1");
    net.sync("alice", "hq");
    // alice stalls from here on: her a2 leaves only in bundles nobody has imported yet
    let a2 = append(&alice, "a2")["hash"].as_str().unwrap().to_string();
    let to_bob = net.export("alice", "bob", "late-bob.bundle");
    let to_hq = net.export("alice", "hq", "late-hq.bundle");
    // hq and bob keep working, each after seeing the other
    for i in 0..3 {
        append(&hq, &format!("h{i}"));
        net.sync("hq", "bob");
        append(&bob, &format!("b{i}"));
        net.sync("bob", "hq");
    }
    let stalled = merge(&hq);
    let a1_clock = ok_json(&hq, &["log", "--chain", "alice"]).as_array().unwrap()[1]["clock"]
        .as_u64()
        .unwrap();
    assert_eq!(
        stalled["threshold"], a1_clock,
        "alice's latest clock is the minimum: {stalled}"
    );
    assert!(
        stalled["pending"].as_u64().unwrap() >= 6,
        "held back by alice: {stalled}"
    );

    // the master removes her; the cutoff is a1, the latest of her blocks hq holds
    let r = ok_json(&hq, &["roster", "remove", "alice"]);
    assert!(r.to_string().contains("cutoff"), "{r}");
    let after = merge(&hq);
    assert_ne!(after["threshold"], a1_clock, "{after}");
    assert!(
        after["final"].as_u64().unwrap() >= stalled["final"].as_u64().unwrap() + 6,
        "finality advances once alice stops counting: {stalled} -> {after}"
    );

    // bob imports alice's late bundle before he learns of the removal: a2 is valid there
    // for now; once the removal arrives it is past the cutoff, whatever the order
    ok(&bob, &["sync", "import", s(&to_bob)]);
    assert!(hashes(&bob).contains(&a2));
    net.sync("hq", "bob");
    assert!(!hashes(&bob).contains(&a2), "bob still counts a2 after the removal");
    let (code, out, err) = run(&bob, &["verify"]);
    assert_eq!(
        code, 0,
        "a block past a cutoff is a note, not a problem:
{out}{err}"
    );
    assert!(
        err.contains("removal cutoff"),
        "verify notes it:
{err}"
    );
    net.sync("bob", "hq");
    // hq refuses the late bundle of a removed sender outright, home unchanged
    let before = snapshot(&hq);
    let (code, _, err) = run(&hq, &["sync", "import", s(&to_hq)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("removed"), "{err}");
    assert!(snapshot(&hq) == before);
    // and nobody sends to her any more
    let (code, _, err) = run(
        &hq,
        &["sync", "export", "--to", "alice", "--out", s(&net.path("no.bundle"))],
    );
    assert_ne!(code, 0, "{err}");
    for (name, home) in [("hq", &hq), ("bob", &bob)] {
        assert!(!hashes(home).contains(&a2), "{name} counts alice's a2 as valid");
        let out = ok(home, &["merge", "--include-pending", "--out", "-"]);
        assert!(!out.contains(&a2), "{name}'s global chain has a2:\n{out}");
        let chains = ok_json(home, &["status"])["chains"].clone();
        let alice_chain = chains
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == alice_id.as_str())
            .unwrap();
        assert_eq!(alice_chain["height"], 1, "{name}: alice's chain ends at the cutoff");
    }
    assert_eq!(merge(&hq)["head"], merge(&bob)["head"]);
}

#[test]
fn a_copied_home_forks_and_every_node_reports_it() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    let copy = net.path("alice-copy");
    copy_tree(&alice, &copy, &["lock", "tmp"]);
    std::fs::create_dir_all(copy.join("tmp")).unwrap();
    let x = append(&alice, "from the original")["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let y = append(&copy, "from the copy")["hash"].as_str().unwrap().to_string();
    assert_ne!(x, y);
    // both reach the master, which relays the evidence to everyone
    net.sync("alice", "hq");
    let b = net.path("copy.bundle");
    ok(&copy, &["sync", "export", "--to", "hq", "--out", s(&b)]);
    let (code, _, err) = run(&hq, &["sync", "import", s(&b)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("fork"), "import says it kept fork evidence: {err}");
    net.sync("hq", "bob");
    net.sync("hq", "alice");
    let alice_id = net.id("alice");
    for (name, home) in [("hq", &hq), ("bob", &bob), ("alice", &alice)] {
        let (code, out, err) = run(home, &["verify"]);
        assert_eq!(code, 1, "{name}:\n{out}{err}");
        let line = out
            .lines()
            .find(|l| l.contains("fork"))
            .unwrap_or_else(|| panic!("{name}: no fork:\n{out}"));
        assert!(line.contains(&x) && line.contains(&y), "{name}: both hashes:\n{line}");
        assert!(line.contains(&alice_id), "{name}: names the chain:\n{line}");
        let st = ok_json(home, &["status"]);
        let forks = st["forks"].as_array().unwrap();
        assert_eq!(forks.len(), 1, "{name}: {st}");
        assert_eq!(forks[0]["chain"], alice_id.as_str());
        assert_eq!(forks[0]["height"], 1);
        let mut want = vec![x.clone(), y.clone()];
        want.sort();
        assert_eq!(forks[0]["hashes"], serde_json::json!(want));
        // the chain is cut before the fork height everywhere
        let log = ok_json(home, &["log", "--chain", "alice"]);
        assert_eq!(
            log.as_array().unwrap().len(),
            1,
            "{name}: only alice's genesis stays valid"
        );
    }
    assert_eq!(merge(&hq)["head"], merge(&bob)["head"]);
    assert_eq!(merge(&hq)["head"], merge(&alice)["head"]);
    // the forked node refuses to append (self-fork guard), and nothing is written
    let before = snapshot(&alice);
    let (code, _, err) = run(&alice, &["append", "--kind", "note"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("fork") && err.contains("Recovering a node"), "{err}");
    assert!(snapshot(&alice) == before);
}

#[test]
fn a_restored_backup_refuses_to_append_until_it_recovers_from_a_peer() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let backup = snapshot(&alice);
    append(&alice, "a1");
    net.sync("alice", "bob"); // bob learns alice holds a1
    append(&alice, "a2");
    net.sync("alice", "hq");
    net.sync("hq", "bob"); // bob gets a2
    // the disk dies; the backup is restored; bob's incremental bundle brings a2 only
    restore(&alice, &backup);
    std::fs::create_dir_all(alice.join("tmp")).unwrap();
    net.sync("bob", "alice");
    let alice_id = net.id("alice");
    let st = ok(&alice, &["status"]);
    assert!(st.contains(&format!("missing {alice_id}:1")), "{st}");
    let before = snapshot(&alice);
    let (code, _, err) = run(&alice, &["append", "--kind", "note"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("beyond its head") && err.contains("Recovering a node"),
        "{err}"
    );
    assert!(snapshot(&alice) == before);
    // recovery as the README says: everything a peer holds, then append again
    let b = net.path("recover.bundle");
    ok(&hq, &["sync", "export", "--to", "alice", "--all", "--out", s(&b)]);
    ok(&alice, &["sync", "import", s(&b)]);
    let j = append(&alice, "a3");
    assert_eq!(j["height"], 3, "appends on top of the recovered head: {j}");
    assert_eq!(run(&alice, &["verify"]).0, 0);
}

#[test]
fn xfer_round_trip_keeps_what_it_left_until_confirmed_and_skips_damage() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    let (hq_id, alice_id, bob_id) = (net.id("hq"), net.id("alice"), net.id("bob"));
    let usb = net.path("usb");
    std::fs::create_dir(&usb).unwrap();
    let xfer = |home: &Path| ok_json(home, &["xfer", s(&usb)]);
    // the spool must exist
    let (code, _, err) = run(&hq, &["xfer", s(&net.path("not-mounted"))]);
    assert_eq!(code, 3, "{err}");

    // a first round so every member holds every member's admission
    for h in [&hq, &alice, &bob] {
        xfer(h);
    }
    let a1 = append(&alice, "a1")["hash"].as_str().unwrap().to_string();
    let j = xfer(&alice);
    let left: Vec<String> = crate::common::strings(&j["left"]);
    assert_eq!(left.len(), 2, "one bundle for each peer: {j}");
    for peer in [&hq_id, &bob_id] {
        assert!(
            left.iter().any(|l| l.starts_with(&format!("{peer}/{alice_id}/"))),
            "{left:?}"
        );
    }
    for l in &left {
        assert!(usb.join(l).is_file());
    }
    assert!(spool_files(&usb).iter().all(|f| !f.ends_with(".part")));
    let ledger = std::fs::read_to_string(alice.join("state/xfer-sent.yaml")).unwrap();
    for l in &left {
        assert!(ledger.contains(l.as_str()), "{ledger}");
    }

    // the bundle for bob is damaged on the medium (truncated)
    let for_bob = usb.join(left.iter().find(|l| l.starts_with(&bob_id)).unwrap());
    let bytes = std::fs::read(&for_bob).unwrap();
    std::fs::write(&for_bob, &bytes[..bytes.len() / 2]).unwrap();
    let (code, out, err) = run(&bob, &["--json", "xfer", s(&usb)]);
    assert_eq!(code, 1, "done, then 1 for what was skipped: {err}");
    let j = json(&out);
    let skipped = j["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{j}");
    let name = for_bob.file_name().unwrap().to_string_lossy().into_owned();
    assert!(skipped[0]["input"].as_str().unwrap().contains(&name), "{j}");
    assert!(
        err.contains(&name) && err.contains("skipped"),
        "reported on stderr: {err}"
    );
    assert!(
        !hashes(&bob).contains(&a1),
        "nothing of the damaged bundle was imported"
    );
    assert!(for_bob.exists(), "a damaged file is left where it is");

    // alice again before anyone confirmed: nothing is confirmed; each peer gets a fresh
    // bundle carrying at least what the one it replaces did (the damaged one among them)
    let j = xfer(&alice);
    assert_eq!(j["confirmed"].as_array().unwrap().len(), 0, "{j}");
    let left: Vec<String> = crate::common::strings(&j["left"]);
    assert_eq!(left.len(), 2, "{j}");
    for l in &left {
        assert!(usb.join(l).exists(), "{l}");
    }
    assert!(!for_bob.exists(), "the damaged copy is replaced by a fresh bundle");
    // hq imports (and removes) its copy; bob imports alice's fresh bundle
    xfer(&hq);
    assert!(hashes(&hq).contains(&a1));
    xfer(&bob);
    assert!(hashes(&bob).contains(&a1), "the fresh bundle brought a1 to bob");
    // their answers confirm: alice drops everything she left for them
    let j = xfer(&alice);
    let confirmed: Vec<String> = crate::common::strings(&j["confirmed"]);
    for l in &left {
        assert!(confirmed.contains(l), "{l} not confirmed: {j}");
        assert!(!usb.join(l).exists(), "{l}");
    }
    let ledger = std::fs::read_to_string(alice.join("state/xfer-sent.yaml")).unwrap();
    for l in &left {
        assert!(!ledger.contains(l.as_str()), "{ledger}");
    }
    // and all three agree
    for h in [&hq, &bob, &alice, &hq, &bob] {
        xfer(h);
    }
    assert_eq!(hashes(&hq), hashes(&alice));
    assert_eq!(hashes(&hq), hashes(&bob));
    assert_eq!(merge(&hq)["head"], merge(&alice)["head"]);
    assert_eq!(merge(&hq)["head"], merge(&bob)["head"]);
}

#[test]
fn xfer_carries_the_outbox_and_empties_it_once_confirmed() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let usb = net.path("usb");
    std::fs::create_dir(&usb).unwrap();
    append(&hq, "h1");
    let j = ok_json(&hq, &["sync", "export", "--to", "alice"]);
    let out = j["out"].to_string();
    assert!(out.contains("outbox"), "{j}");
    let outbox = hq.join("outbox");
    assert_eq!(spool_files(&outbox).len(), 1);
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    assert_eq!(
        j["left"].as_array().unwrap().len(),
        2,
        "a fresh bundle plus the outbox one: {j}"
    );
    assert_eq!(spool_files(&outbox).len(), 1, "kept in the outbox until confirmed");
    ok(&alice, &["xfer", s(&usb)]);
    ok(&hq, &["xfer", s(&usb)]);
    assert!(spool_files(&outbox).is_empty(), "confirmed: the outbox is emptied");
}

#[test]
fn a_block_whose_predecessor_is_missing_is_pending_until_it_arrives() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let alice_id = net.id("alice");
    let before = snapshot(&hq);
    append(&alice, "a1");
    let b1 = net.sync("alice", "hq"); // a1
    net.sync("hq", "alice"); // alice learns hq holds a1
    let a2 = append(&alice, "a2")["hash"].as_str().unwrap().to_string();
    let b2 = net.export("alice", "hq", "a2-only.bundle");
    // hq as it was before a1 arrived gets the bundle with a2 only
    restore(&hq, &before);
    let (code, out, err) = run(&hq, &["sync", "import", s(&b2)]);
    assert_eq!(code, 0, "pending is a success:\n{out}{err}");
    let missing = format!("missing {alice_id}:1");
    assert!(err.contains(&missing), "import says what is missing: {err}");
    let st = ok(&hq, &["status"]);
    assert!(st.contains(&missing), "{st}");
    let j = ok_json(&hq, &["status"]);
    assert!(j["pending"].to_string().contains(&missing), "{j}");
    assert!(!hashes(&hq).contains(&a2), "a pending block is not in the chains");
    assert!(!ok(&hq, &["merge", "--out", "-", "--include-pending"]).contains(&a2));
    let m = merge(&hq);
    assert!(m["pending"].as_u64().unwrap() >= 1, "{m}");
    // the predecessor arrives: both become valid, nothing is pending
    ok(&hq, &["sync", "import", s(&b1)]);
    assert!(hashes(&hq).contains(&a2));
    assert_eq!(ok_json(&hq, &["status"])["pending"], serde_json::json!([]));
    assert_eq!(run(&hq, &["verify"]).0, 0);
}

#[test]
fn an_outsiders_bundle_is_refused_and_the_home_is_unchanged() {
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    // another consortium whose master admitted alice's card and addresses her
    let other = Net::new(&["mallory"]);
    let ohq = other.home("hq");
    ok(&ohq, &["roster", "admit", s(&net.path("alice.card"))]);
    let b = other.path("outsider.bundle");
    ok(&ohq, &["sync", "export", "--to", &net.id("alice"), "--out", s(&b)]);
    let before = snapshot(&alice);
    for cmd in [vec!["sync", "import", s(&b)], vec!["import", s(&b)]] {
        let (code, out, err) = run(&alice, &cmd);
        assert_eq!(code, 1, "{cmd:?}: {out}{err}");
        assert!(err.contains("outside"), "{err}");
        assert!(snapshot(&alice) == before, "{cmd:?} changed the home");
    }
    let (code, out, _) = run(&alice, &["--json", "import", s(&b)]);
    assert_eq!(code, 1);
    assert_eq!(json(&out)["error"]["kind"], "outsider");
    // through the spool as well: reported, skipped, nothing imported
    let usb = net.path("usb");
    let dir = usb.join(net.id("alice")).join(other.id("hq"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&b, dir.join("x.bundle")).unwrap();
    let before_chains = snapshot(&alice.join("chains"));
    let (code, out, err) = run(&alice, &["--json", "xfer", s(&usb)]);
    assert_eq!(code, 1, "xfer does all else, then exits 1 for what it skipped: {err}");
    let skipped = &json(&out)["skipped"];
    assert_eq!(skipped.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(skipped[0]["kind"], "outsider", "{out}");
    assert!(skipped[0]["input"].as_str().unwrap().ends_with("x.bundle"), "{out}");
    assert!(snapshot(&alice.join("chains")) == before_chains);
}

// Anchored finality (DESIGN §5, issue 10): the final chain is a function of the master's
// latest block, so neither fork evidence that arrives after the forked block became final
// nor a removal whose cutoff is below a block another node held as final rewrites it.

/// No problem about `--global-head` and no rollback in a `verify --json`.
fn head_still_final(home: &Path, head: &str) {
    let (_, out, err) = run(home, &["--json", "verify", "--global-head", head]);
    let j = json(&out);
    for p in j["problems"].as_array().unwrap() {
        assert!(
            !p["input"].as_str().unwrap_or("").contains("global-head") && p["kind"] != "rollback",
            "the final prefix was rewritten: {p}\n{out}{err}"
        );
    }
}

#[test]
fn fork_evidence_after_finality_keeps_the_final_prefix() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    let copy = net.path("alice-copy");
    copy_tree(&alice, &copy, &["lock", "tmp"]);
    std::fs::create_dir_all(copy.join("tmp")).unwrap();
    let x = append(&alice, "x")["hash"].as_str().unwrap().to_string();
    net.sync("alice", "hq");
    net.sync("hq", "bob");
    append(&bob, "b");
    net.sync("bob", "hq");
    append(&hq, "h"); // anchors x
    net.sync("hq", "alice");
    append(&alice, "x2");
    net.sync("alice", "hq");
    append(&hq, "h2");
    net.sync("hq", "bob");
    let before = merge(&hq);
    let head = before["head"].as_str().unwrap().to_string();
    assert_ne!(head, ZERO);
    let out = ok(&hq, &["merge", "--out", "-"]);
    assert!(out.contains(&x), "x is final before the fork shows up:\n{out}");
    assert_eq!(run(&hq, &["verify"]).0, 0, "a checkpoint of the heads before the fork");
    // the copy's block at x's height: anchored by no master block, it loses to x
    let y = append(&copy, "y")["hash"].as_str().unwrap().to_string();
    let b = net.path("copy.bundle");
    ok(&copy, &["sync", "export", "--to", "hq", "--out", s(&b)]);
    let (code, _, err) = run(&hq, &["sync", "import", s(&b)]);
    assert_eq!(code, 0, "{err}");
    net.sync("hq", "bob");
    for (name, home) in [("hq", &hq), ("bob", &bob)] {
        let st = ok_json(home, &["status"]);
        assert_eq!(
            st["forks"].as_array().unwrap().len(),
            1,
            "{name}: the fork is reported: {st}"
        );
        head_still_final(home, &head);
        let now = merge(home);
        assert!(
            now["final"].as_u64() >= before["final"].as_u64(),
            "{name}: {before} -> {now}"
        );
        let log = ok_json(home, &["log", "--chain", "alice"]);
        let hashes: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["hash"].as_str().unwrap())
            .collect();
        assert!(hashes.contains(&x.as_str()), "{name}: x stays valid (anchored first)");
        assert!(!hashes.contains(&y.as_str()), "{name}: y is the losing branch");
        assert_eq!(hashes.len(), 3, "{name}: genesis, x and x2 stay valid: {log}");
    }
    assert_eq!(merge(&hq)["head"], merge(&bob)["head"]);
}

#[test]
fn removal_below_a_final_block_keeps_the_final_prefix() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    append(&alice, "a1");
    net.sync("alice", "hq");
    net.sync("alice", "bob");
    let a2 = append(&alice, "a2")["hash"].as_str().unwrap().to_string();
    net.sync("alice", "bob"); // only bob holds a2
    for i in 0..4 {
        append(&hq, &format!("h{i}"));
    }
    net.sync("hq", "bob");
    append(&bob, "b");
    let before = merge(&bob);
    let head = before["head"].as_str().unwrap().to_string();
    assert_ne!(head, ZERO, "{before}");
    // a2 is valid at bob but in no master block's cut: not final, whatever its clock
    let out = ok(&bob, &["merge", "--out", "-"]);
    assert!(!out.contains(&a2), "a2 is not final at bob:\n{out}");
    assert_eq!(run(&bob, &["verify"]).0, 0);
    ok(&hq, &["roster", "remove", "alice"]); // cutoff a1: hq never saw a2
    net.sync("hq", "bob");
    let (code, out, err) = run(&bob, &["verify", "--global-head", &head]);
    assert_eq!(code, 0, "{out}{err}");
    let after = merge(&bob);
    assert!(
        after["final"].as_u64() >= before["final"].as_u64(),
        "{before} -> {after}"
    );
    assert!(!hashes(&bob).contains(&a2), "a2 is past the cutoff");
}

#[test]
fn removal_below_blocks_others_saw_leaves_nothing_pending_for_good() {
    let net = Net::new(&["alice", "bob", "dave"]);
    let (hq, alice, bob, dave) = (net.home("hq"), net.home("alice"), net.home("bob"), net.home("dave"));
    append(&dave, "d1");
    net.sync("dave", "hq");
    let d2 = append(&dave, "d2")["hash"].as_str().unwrap().to_string();
    net.sync("dave", "bob"); // only bob holds d2
    let b1 = append(&bob, "b1")["hash"].as_str().unwrap().to_string(); // has seen d2
    ok(&hq, &["roster", "remove", "dave"]); // cutoff d1: below d2, which b1 saw
    // b1 reaches hq (d2 with it is past the cutoff and dropped): its seen entry for d2 is
    // ignored, so b1 is valid, not pending for a block that never travels
    net.sync("bob", "hq");
    assert!(hashes(&hq).contains(&b1), "b1 is valid at hq");
    assert!(!hashes(&hq).contains(&d2));
    assert_eq!(ok_json(&hq, &["status"])["pending"], serde_json::json!([]));
    // alice gets b1 and the removal together, without d2
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    for (name, home) in [("alice", &alice), ("bob", &bob)] {
        assert!(hashes(home).contains(&b1), "{name}: b1 is valid");
        assert!(!hashes(home).contains(&d2), "{name}: d2 is past the cutoff");
        assert_eq!(ok_json(home, &["status"])["pending"], serde_json::json!([]), "{name}");
    }
    // one more round: b1 becomes final everywhere, the same final chain on every node
    append(&alice, "a1");
    net.sync("alice", "hq");
    append(&hq, "h");
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    let heads: Vec<_> = [&hq, &alice, &bob].iter().map(|h| merge(h)).collect();
    for j in &heads[1..] {
        assert_eq!(j["head"], heads[0]["head"], "{heads:?}");
        assert_eq!(j["final"], heads[0]["final"]);
    }
    for home in [&hq, &alice, &bob] {
        let out = ok(home, &["merge", "--out", "-"]);
        assert!(out.contains(&b1), "b1 is final:\n{out}");
    }
}

#[test]
fn xfer_first_round_imports_members_after_the_admissions_in_the_same_run() {
    // Built by hand: members learn their admissions only from the stick. A member's bundle
    // may sort before the master's (which brings the admissions) in the same run.
    let dir = tempfile::tempdir().unwrap();
    let home = |n: &str| dir.path().join(n);
    let usb = home("usb");
    std::fs::create_dir(&usb).unwrap();
    let hq = home("hq");
    ok(&hq, &["init", "--name", "hq", "--role", "master"]);
    let mcard = home("hq.card");
    ok(&hq, &["card", "--out", s(&mcard)]);
    let members = ["alice", "bob", "carol", "dave"];
    for m in members {
        ok(
            &home(m),
            &["init", "--name", m, "--role", "member", "--master", s(&mcard)],
        );
        let card = home(&format!("{m}.card"));
        ok(&home(m), &["card", "--out", s(&card)]);
        ok(&hq, &["roster", "admit", s(&card)]);
    }
    ok(&hq, &["xfer", s(&usb)]);
    for m in members {
        let j = ok_json(&home(m), &["xfer", s(&usb)]);
        assert_eq!(j["skipped"], serde_json::json!([]), "{m}: {j}");
    }
}

#[test]
fn a_restored_home_that_sees_a_peer_ahead_of_it_refuses_to_append() {
    let net = crate::common::Net::new(&["alice"]);
    let alice = net.home("alice");
    let backup = net.path("alice-backup");
    crate::common::copy_tree(&alice, &backup, &["lock", "tmp"]);
    crate::common::ok(&alice, &["append", "--kind", "note"]);
    crate::common::ok(&alice, &["append", "--kind", "note"]);
    net.sync("alice", "hq");
    // restore the old backup; an ordinary incremental bundle from hq carries hq's frontier,
    // which shows alice's chain beyond the restored head
    std::fs::remove_dir_all(&alice).unwrap();
    crate::common::copy_tree(&backup, &alice, &[]);
    let b = net.path("hq-incremental.bundle");
    crate::common::ok(
        &net.home("hq"),
        &["sync", "export", "--to", "alice", "--out", b.to_str().unwrap()],
    );
    crate::common::ok(&alice, &["sync", "import", b.to_str().unwrap()]);
    let (code, _, err) = crate::common::run(&alice, &["append", "--kind", "note"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("beyond this home's head"), "{err}");
    // recovery: the peer's full export gives the node its own blocks back
    let all = net.path("hq-all.bundle");
    crate::common::ok(
        &net.home("hq"),
        &[
            "sync",
            "export",
            "--to",
            "alice",
            "--all",
            "--out",
            all.to_str().unwrap(),
        ],
    );
    crate::common::ok(&alice, &["sync", "import", all.to_str().unwrap()]);
    crate::common::ok(&alice, &["append", "--kind", "note"]);
    crate::common::ok(&alice, &["verify"]);
}

#[test]
fn fork_evidence_file_verifies_on_its_own() {
    let net = crate::common::Net::new(&["alice"]);
    let alice = net.home("alice");
    let twin = net.path("alice-twin");
    crate::common::copy_tree(&alice, &twin, &["lock", "tmp"]);
    crate::common::ok(&alice, &["append", "--kind", "note"]);
    crate::common::ok(&twin, &["append", "--kind", "other"]);
    net.sync("alice", "hq");
    let b = net.path("twin.bundle");
    crate::common::ok(&twin, &["sync", "export", "--to", "hq", "--out", b.to_str().unwrap()]);
    crate::common::ok(&net.home("hq"), &["sync", "import", b.to_str().unwrap()]);
    let hq = net.home("hq");
    let id = crate::common::ok_json(&alice, &["status"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let evidence: Vec<_> = std::fs::read_dir(hq.join("forks").join(&id))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    assert_eq!(evidence.len(), 2, "both blocks kept as evidence");
    let (code, out, err) = crate::common::run(&hq, &["verify", evidence[0].to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("fork at"), "{out}");
    // a block file that conflicts with nothing checks on its own
    let genesis = hq.join("chains").join(&id).join("0000000000.yaml");
    crate::common::ok(&hq, &["verify", genesis.to_str().unwrap()]);
}

/// An auditor verifies a copy of a home on read-only media: no lock, no checkpoint, still a
/// full check. Needs a read-only bind mount (root); skips with a reason otherwise.
#[test]
fn verify_works_on_a_read_only_home() {
    let net = crate::common::Net::new(&["alice"]);
    let home = net.home("alice");
    let mnt = net.path("ro-mount");
    std::fs::create_dir_all(&mnt).unwrap();
    let sh = |cmd: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let (h, m) = (home.display(), mnt.display());
    if !sh(&format!(
        "mount --bind '{h}' '{m}' 2>/dev/null && mount -o remount,ro,bind '{m}' 2>/dev/null"
    )) {
        sh(&format!("umount '{m}' 2>/dev/null"));
        println!("skipping: cannot make a read-only bind mount here (needs root)");
        return;
    }
    let (code, out, err) = crate::common::run(&mnt, &["verify"]);
    sh(&format!("umount '{m}'"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("verifying without the lock"), "{err}");
}

/// `state/index` (the settled index): `merge` and `sync export` read only what is new
/// beyond it, with the same result as a merge from nothing; `verify` rebuilds it after a
/// clean run and drops it when it finds a problem, so that no command trusts it then.
#[test]
fn settled_index_gives_the_same_merge_and_verify_drops_it_on_damage() {
    let net = converged_with_tail();
    let alice = net.home("alice");
    let index = alice.join("state/index");
    let out = |home: &Path, name: &str| {
        let f = net.path(name);
        ok(home, &["merge", "--include-pending", "--out", s(&f)]);
        std::fs::read(f).unwrap()
    };
    let first = out(&alice, "first.txt");
    assert!(index.exists(), "merge keeps the settled index");
    // more blocks arrive: the merge through the index equals one from nothing
    append(&net.home("hq"), "h2");
    append(&net.home("bob"), "b3");
    net.sync("hq", "alice");
    net.sync("bob", "alice");
    append(&alice, "a3");
    let through_index = out(&alice, "inc.txt");
    let j_inc = merge(&alice);
    let fresh = net.path("fresh");
    copy_tree(&alice, &fresh, &["state"]);
    assert!(!fresh.join("state/index").exists());
    let from_nothing = out(&fresh, "fresh.txt");
    assert_eq!(
        String::from_utf8_lossy(&through_index),
        String::from_utf8_lossy(&from_nothing)
    );
    assert_ne!(first, through_index, "the new blocks are in it");
    assert_eq!(j_inc, merge(&fresh));
    // sync export through the index sends what a full evaluation sends
    let (b1, b2) = (net.path("x1.bundle"), net.path("x2.bundle"));
    let j1 = ok_json(&alice, &["sync", "export", "--to", "bob", "--all", "--out", s(&b1)]);
    std::fs::remove_file(&index).unwrap();
    std::fs::write(&index, b"damaged").unwrap();
    let j2 = ok_json(&alice, &["sync", "export", "--to", "bob", "--all", "--out", s(&b2)]);
    assert_eq!(j1["blocks"], j2["blocks"], "a damaged index is rebuilt, not trusted");
    // verify rebuilds it; after damage to a settled block, verify fails and drops it
    ok(&alice, &["verify"]);
    assert!(index.exists());
    let me = ok_json(&alice, &["status"])["id"].as_str().unwrap().to_string();
    let old = alice.join("chains").join(&me).join("0000000001.yaml");
    let text = std::fs::read_to_string(&old)
        .unwrap()
        .replacen("time: \"", "time: \"1", 1);
    std::fs::write(&old, text).unwrap();
    let (code, _, _) = run(&alice, &["verify"]);
    assert_eq!(code, 1);
    assert!(!index.exists(), "verify drops the index when it finds a problem");
    let unclean = alice.join("state/index.none");
    assert!(unclean.exists(), "and notes that the store needs a whole evaluation");
    // without it, merge evaluates everything: alice's chain is cut at the damaged block
    let j = merge(&alice);
    assert_ne!(j["head"], j_inc["head"], "{j}");
    assert!(j["final"].as_u64() < j_inc["final"].as_u64(), "{j} vs {j_inc}");
    assert!(!index.exists(), "no index is kept for a store that is not clean");
    // once the damage is undone, a whole evaluation finds the store clean again
    let text = std::fs::read_to_string(&old)
        .unwrap()
        .replacen("time: \"1", "time: \"", 1);
    std::fs::write(&old, text).unwrap();
    assert_eq!(merge(&alice), j_inc);
    assert!(index.exists() && !unclean.exists());
}

/// `secfile checkpoint` (master only) records the final chain of its own cut; every node
/// recomputes it; a checkpoint the master signed with a wrong body is a `verify` problem of
/// kind `checkpoint`.
#[test]
fn checkpoint_records_its_cut_and_every_node_recomputes_it() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice, bob) = (net.home("hq"), net.home("alice"), net.home("bob"));
    append(&alice, "a1");
    append(&bob, "b1");
    net.sync("alice", "hq");
    net.sync("bob", "hq");
    let (code, _, err) = run(&alice, &["checkpoint"]);
    assert_eq!(code, 1, "only the master: {err}");
    assert!(err.contains("only the master"), "{err}");
    let cp = ok_json(&hq, &["checkpoint"]);
    for k in ["final", "head", "threshold", "height"] {
        assert!(!cp[k].is_null(), "checkpoint --json lacks {k}: {cp}");
    }
    // a1 and b1 are in its cut, and both members' latest: everything but the checkpoint
    // itself is final under it
    assert_eq!(cp["final"], 4, "two admits, a1, b1: {cp}");
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    for (name, home) in [("hq", &hq), ("alice", &alice), ("bob", &bob)] {
        let m = merge(home);
        assert_eq!(m["anchor"], cp["height"], "{name}: {m}");
        assert_eq!(
            m["head"], cp["head"],
            "{name}: the checkpoint's head is the final head: {m}"
        );
        assert_eq!(m["final"], cp["final"], "{name}");
        let (code, out, err) = run(home, &["verify"]);
        assert_eq!(code, 0, "{name}: the checkpoint recomputes:\n{out}{err}");
    }
    // a checkpoint with a wrong body, signed by the master (as a buggy master could)
    let node = secfile::node::Node::open(secfile::home::Home::new(&hq), Default::default()).unwrap();
    let body = secfile::merge::bodies::CheckpointBody {
        final_count: 99,
        head: "ab".repeat(32),
        threshold: 1,
        files: None,
    };
    let mut tx = node.begin(secfile::act::Who::Master("append checkpoints")).unwrap();
    tx.stage_block("checkpoint", secfile::merge::bodies::to_value(&body))
        .unwrap();
    tx.commit().unwrap();
    net.sync("hq", "bob");
    for home in [&hq, &bob] {
        let j = json(&run(home, &["--json", "verify"]).1);
        assert_eq!(j["ok"], false, "{j}");
        assert!(
            j["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == "checkpoint"),
            "{j}"
        );
    }
}

#[test]
fn xfer_leaves_a_bundle_only_when_the_peer_lacks_something_and_explains_the_medium() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let usb = net.path("usb");
    std::fs::create_dir(&usb).unwrap();
    for h in [&hq, &alice, &hq, &alice, &hq] {
        ok_json(h, &["xfer", s(&usb)]);
    }
    // everything exchanged and acknowledged: another round leaves nothing new
    let j = ok_json(&alice, &["xfer", s(&usb)]);
    assert_eq!(j["left"].as_array().unwrap().len(), 0, "{j}");
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    assert_eq!(j["left"].as_array().unwrap().len(), 0, "{j}");
    // a new block: a bundle again
    append(&alice, "a9");
    let j = ok_json(&alice, &["xfer", s(&usb)]);
    assert_eq!(j["left"].as_array().unwrap().len(), 1, "{j}");
    // the medium says what its folders are, names beside ids
    let readme = std::fs::read_to_string(usb.join("README.txt")).unwrap();
    for n in ["hq", "alice"] {
        assert!(readme.contains(&format!("{}  {n}", net.id(n))), "{readme}");
    }
}

/// DESIGN §5: `xfer` on the master appends a checkpoint whenever it imported new blocks,
/// before it leaves bundles; a visit that imports nothing appends none.
#[test]
fn xfer_on_the_master_checkpoints_what_it_imported() {
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let usb = net.path("usb");
    std::fs::create_dir(&usb).unwrap();
    ok_json(&hq, &["xfer", s(&usb)]);
    append(&alice, "a1");
    ok_json(&alice, &["xfer", s(&usb)]);
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    let cp = &j["checkpoint"];
    assert!(cp["height"].is_u64(), "a checkpoint after importing a1: {j}");
    let log = ok_json(&hq, &["log", "--chain", "hq", "--limit", "1"]);
    assert_eq!(log[0]["kind"], "checkpoint");
    assert_eq!(log[0]["height"], cp["height"]);
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    assert!(j["checkpoint"].is_null(), "nothing imported, no checkpoint: {j}");
    // the checkpoint travels to alice in the bundle left after it, and recomputes there
    ok_json(&alice, &["xfer", s(&usb)]);
    assert_eq!(run(&alice, &["verify"]).0, 0);
    assert_eq!(merge(&alice)["anchor"], cp["height"]);
}
