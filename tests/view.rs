//! No staleness (issue 11): every command that reads the store through the settled index
//! gives exactly what a whole evaluation gives. Random operations on a real consortium
//! (appends, exchanges with dropped bundles so blocks wait pending, files issued and
//! transferred, a removal, a fork from a copied home); after each step the outputs of the
//! reading commands, and the block the next `append` makes, are compared between the home
//! as it is (index present) and a copy forced to evaluate everything (no index, marked
//! unclean). A damaged or missing index is rebuilt silently.
use crate::common::{Net, copy_tree, ok, run, s};
use std::path::Path;

/// Commands whose output must not depend on the index.
const READS: &[&[&str]] = &[
    &["--json", "status"],
    &["--json", "file", "list", "--all"],
    &["--json", "log"],
    &["--json", "log", "--global"],
    &["--json", "log", "--global", "--limit", "3"],
    &["--json", "log", "--limit", "4"],
    &["--json", "log", "--chain", "hq", "--limit", "2"],
    &["--json", "log", "--chain", "alice"],
    &["--json", "merge"],
];

/// Make the next command on `home` evaluate the whole store: no index, marked unclean.
fn force_whole(home: &Path) {
    let state = home.join("state");
    let _ = std::fs::remove_file(state.join("index"));
    std::fs::write(state.join("index.none"), b"").unwrap();
}

/// stdout of a command as JSON, without what names the home's own path.
fn read(home: &Path, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(home, args);
    let mut v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} exit {code}: {e}\n{out}\n{err}"));
    if let Some(o) = v.as_object_mut() {
        o.remove("home");
        if let Some(outbox) = o.get_mut("outbox").and_then(|x| x.as_array_mut()) {
            for e in outbox {
                e.as_object_mut().map(|e| e.remove("path"));
            }
        }
    }
    serde_json::json!({"code": code, "out": v})
}

/// Compare every reading command, and the next `append`, on `home` with and without the
/// index. Returns whether the home's index was in use (a clean store).
fn compare(net: &Net, name: &str, step: &str) -> bool {
    let home = net.home(name);
    let fast = net.path(&format!("{name}-fast"));
    let slow = net.path(&format!("{name}-slow"));
    for d in [&fast, &slow] {
        let _ = std::fs::remove_dir_all(d);
        copy_tree(&home, d, &[]);
    }
    // the fast copy's index brought up to date (or built), as a command that succeeds does
    ok(&fast, &["merge"]);
    let indexed = fast.join("state/index").exists();
    let files = read(&fast, &["--json", "file", "list", "--all"]);
    let ids: Vec<String> = files["out"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect();
    let mut reads: Vec<Vec<String>> = READS
        .iter()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .collect();
    for id in &ids {
        reads.push(vec!["--json".into(), "file".into(), "show".into(), id.clone()]);
        reads.push(vec!["--json".into(), "file".into(), "history".into(), id.clone()]);
    }
    for args in &reads {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let a = read(&fast, &args);
        force_whole(&slow);
        let b = read(&slow, &args);
        assert_eq!(a, b, "{step}: {name} `{}` differs through the index", args.join(" "));
    }
    // the block an append makes (clock, seen, prev) is the same
    force_whole(&slow);
    let args = ["--json", "append", "--kind", "probe", "--field", "n=1"];
    let (a, b) = (read(&fast, &args), read(&slow, &args));
    assert_eq!(a, b, "{step}: {name} append differs through the index");
    if name == "hq" {
        // the checkpoint the master makes next: count, head, threshold, files root
        force_whole(&slow);
        let (a, b) = (
            read(&fast, &["--json", "checkpoint"]),
            read(&slow, &["--json", "checkpoint"]),
        );
        assert_eq!(a, b, "{step}: the checkpoint differs through the index");
    }
    for d in [&fast, &slow] {
        std::fs::remove_dir_all(d).unwrap();
    }
    indexed
}

/// Import a bundle into `name` with and without the index: the same report, the same
/// store after (every reading command); then into the home itself.
fn import_both(net: &Net, name: &str, bundle: &Path, step: &str) {
    let home = net.home(name);
    let fast = net.path(&format!("{name}-fast"));
    let slow = net.path(&format!("{name}-slow"));
    for d in [&fast, &slow] {
        let _ = std::fs::remove_dir_all(d);
        copy_tree(&home, d, &[]);
    }
    ok(&fast, &["merge"]);
    let args = ["--json", "import", s(bundle)];
    let a = read(&fast, &args);
    force_whole(&slow);
    let b = read(&slow, &args);
    assert_eq!(a, b, "{step}: importing into {name} differs through the index");
    for args in READS {
        force_whole(&slow);
        assert_eq!(
            read(&fast, args),
            read(&slow, args),
            "{step}: {name} `{}` after the import",
            args.join(" ")
        );
    }
    for d in [&fast, &slow] {
        std::fs::remove_dir_all(d).unwrap();
    }
    let _ = run(&home, &["sync", "import", s(bundle)]);
}

/// A small deterministic generator (the schedule is reproducible from the seed).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn every_reading_command_gives_what_the_whole_evaluation_gives() {
    let seeds: u64 = std::env::var("SECFILE_VIEW_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut indexed_steps = 0;
    for seed in 1..=seeds {
        let net = Net::new(&["alice", "bob", "carol"]);
        let names = ["hq", "alice", "bob", "carol"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut removed = false;
        let mut file: Option<String> = None;
        let mut n = 0;
        for step in 0..14 {
            let what = match rng.next(9) {
                0 | 1 => {
                    let who = names[1 + rng.next(3)];
                    let _ = run(
                        &net.home(who),
                        &["append", "--kind", "note", "--field", &format!("step={step}")],
                    );
                    format!("{who} appends")
                }
                2..=4 => {
                    let (a, b) = (names[rng.next(4)], names[rng.next(4)]);
                    if a == b {
                        continue;
                    }
                    n += 1;
                    let out = net.path(&format!("x{n}.bundle"));
                    let (code, _, _) = run(&net.home(a), &["sync", "export", "--to", b, "--out", s(&out)]);
                    // a dropped bundle: the next one carries blocks that wait pending
                    if code == 0 && rng.next(4) != 0 {
                        import_both(&net, b, &out, &format!("seed {seed} step {step}"));
                    }
                    format!("{a} -> {b}")
                }
                5 if file.is_none() => {
                    let content = net.path("content.txt");
                    std::fs::write(&content, b"a security file\n").unwrap();
                    let out = net.path("issued.bundle");
                    ok(
                        &net.home("hq"),
                        &["issue", "--to", "alice", "--attach", s(&content), "--out", s(&out)],
                    );
                    let _ = run(&net.home("alice"), &["import", s(&out)]);
                    let v = crate::common::ok_json(&net.home("hq"), &["file", "list", "--all"]);
                    file = v[0]["id"].as_str().map(str::to_string);
                    "hq issues to alice".into()
                }
                5 if file.is_some() => {
                    // the holder passes it on, or endorses it (refused when it is not
                    // the holder: the same either way)
                    let id = file.clone().unwrap();
                    let who = names[1 + rng.next(3)];
                    let out = net.path("t.bundle");
                    let (code, _, _) = run(
                        &net.home(who),
                        &["op", "transfer", &id, "--to", "bob", "--out", s(&out)],
                    );
                    if code == 0 {
                        let _ = run(&net.home("bob"), &["import", s(&out)]);
                    } else {
                        let _ = run(&net.home(who), &["op", "endorse", &id]);
                    }
                    format!("{who} transfers or endorses")
                }
                6 if !removed && step > 4 => {
                    removed = true;
                    ok(&net.home("hq"), &["roster", "remove", "carol"]);
                    "hq removes carol".into()
                }
                7 => {
                    let _ = run(&net.home("hq"), &["checkpoint"]);
                    "hq checkpoints".into()
                }
                _ => {
                    let who = names[rng.next(4)];
                    let _ = run(&net.home(who), &["append", "--kind", "tick"]);
                    format!("{who} ticks")
                }
            };
            let step = format!("seed {seed} step {step} ({what})");
            for name in names {
                if compare(&net, name, &step) {
                    indexed_steps += 1;
                }
            }
        }
        // a fork: a copied home of bob appends at bob's next height too, and both reach hq
        let twin = net.path("bob-twin");
        copy_tree(&net.home("bob"), &twin, &[]);
        ok(&net.home("bob"), &["append", "--kind", "one"]);
        ok(&twin, &["append", "--kind", "other"]);
        for from in [net.home("bob"), twin.clone()] {
            n += 1;
            let out = net.path(&format!("x{n}.bundle"));
            ok(&from, &["sync", "export", "--to", "hq", "--out", s(&out)]);
            import_both(&net, "hq", &out, &format!("seed {seed} fork"));
        }
        compare(&net, "hq", &format!("seed {seed} after a fork"));
    }
    // the comparison means something only if the index was in use on most steps
    assert!(indexed_steps > 0, "the index was never in use");
}

#[test]
fn a_damaged_or_missing_index_is_rebuilt_silently() {
    let net = Net::new(&["alice"]);
    ok(&net.home("alice"), &["append", "--kind", "note"]);
    net.sync("alice", "hq");
    let home = net.home("hq");
    let want: Vec<_> = READS.iter().map(|a| read(&home, a)).collect();
    let ix = home.join("state/index");
    assert!(ix.exists(), "the reading commands keep an index");
    let good = std::fs::read(&ix).unwrap();
    for damage in [
        b"garbage".to_vec(),
        good[..good.len() / 2].to_vec(),
        crate::common::flipped(&good, good.len() / 3, 1),
        Vec::new(),
    ] {
        std::fs::write(&ix, &damage).unwrap();
        let got: Vec<_> = READS.iter().map(|a| read(&home, a)).collect();
        assert_eq!(got, want);
        // reading commands write nothing; a command that succeeds rebuilds it
        ok(&home, &["merge"]);
        assert!(
            secfile::merge::index::Index::decode(&std::fs::read(&ix).unwrap(), &home.join("state/index.d")).is_some(),
            "the index is rebuilt"
        );
    }
    // each chain's anchored prefix (state/index.d/<chain>): short, missing, garbage, or a
    // byte flipped (found only when its chunk is read) — the same answers, rebuilt after
    let segs: Vec<_> = std::fs::read_dir(home.join("state/index.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!segs.is_empty(), "the master's chain has an anchored prefix on disk");
    let reads = |home: &std::path::Path| READS.iter().map(|a| read(home, a)).collect::<Vec<_>>();
    for seg in &segs {
        for damage in 0..5 {
            // a command that changes the home saves the index (and appends to segments)
            ok(&home, &["append", "--kind", "note"]);
            let want = reads(&home);
            let good = std::fs::read(seg).unwrap();
            match damage {
                0 => std::fs::write(seg, &good[..good.len() - 1]).unwrap(),
                1 => std::fs::remove_file(seg).unwrap(),
                2 => std::fs::write(seg, b"garbage").unwrap(),
                3 => std::fs::write(seg, crate::common::flipped(&good, good.len() / 2, 1)).unwrap(),
                _ => std::fs::write(seg, crate::common::flipped(&good, 0, 1)).unwrap(),
            }
            assert!(reads(&home) == want, "{} damaged ({damage})", seg.display());
            ok(&home, &["merge"]);
            assert!(reads(&home) == want, "{} after a merge ({damage})", seg.display());
        }
    }
    let want = reads(&home);
    std::fs::remove_file(&ix).unwrap();
    assert!(reads(&home) == want, "without an index");
    ok(&home, &["verify"]);
}

/// hq, alice and bob, with twelve `note` blocks of alice's at hq (bob has none of them).
fn twelve_notes_at_hq() -> Net {
    let net = Net::new(&["alice", "bob"]);
    for k in 0..12 {
        ok(
            &net.home("alice"),
            &["append", "--kind", "note", "--field", &format!("k={k}")],
        );
    }
    net.sync("alice", "hq");
    net
}

#[test]
fn a_big_export_is_split_into_bundles_imported_in_any_order() {
    let net = twelve_notes_at_hq();
    let hq = net.home("hq");
    let out = net.path("all.bundle");
    // every block to bob, a new peer, at most 5 a bundle
    let split = |out: &str| -> Vec<String> {
        let mut a: Vec<String> = ["sync", "export", "--to", "bob", "--all", "--max-blocks", "5"]
            .map(String::from)
            .to_vec();
        a.extend(["--out".to_string(), out.to_string()]);
        a
    };
    let args = split(s(&out));
    let v = crate::common::ok_json(&hq, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let files: Vec<String> = crate::common::strings(&v["out"]);
    let n = files.len();
    assert!(n >= 3, "{v}");
    assert_eq!(v["bundles"].as_array().unwrap().len(), n);
    for (k, f) in files.iter().enumerate() {
        assert!(f.ends_with(&format!(".{:03}-of-{n:03}", k + 1)), "{f}");
    }
    // bob, a new peer, imports them last first: a later bundle whose earlier blocks are
    // not here is kept aside whole (nothing pending, so no command holds its blocks);
    // the one that brings them releases it, and so on, in order
    let bob = net.home("bob");
    let mut held = 0;
    let mut released = 0;
    for (k, f) in files.iter().enumerate().rev() {
        // a dry run says what it would do and writes nothing
        let before = crate::common::snapshot(&bob);
        let dry = crate::common::ok_json(&bob, &["import", "--dry-run", f]);
        assert_eq!(crate::common::snapshot(&bob), before);
        let v = crate::common::ok_json(&bob, &["sync", "import", f]);
        assert_eq!(v["held"].is_null(), dry["held"].is_null(), "{v} {dry}");
        if !v["held"].is_null() {
            held += 1;
            assert!(k > 0, "{v}");
            assert_eq!(v["held"]["part"], k as u64 + 1, "{v}");
            assert_eq!(v["held"]["of"], n as u64, "{v}");
            assert_eq!(v["held"]["new"], true, "{v}");
            assert!(!v["held"]["waits"].as_array().unwrap().is_empty(), "{v}");
            assert_eq!(v["added"], 0, "{v}");
            // again: already held, nothing changes
            let before = crate::common::snapshot(&bob);
            let again = crate::common::ok_json(&bob, &["sync", "import", f]);
            assert_eq!(again["held"]["new"], false, "{again}");
            assert_eq!(again["changed"], false, "{again}");
            assert_eq!(crate::common::snapshot(&bob), before);
        }
        for r in v["released"].as_array().unwrap() {
            released += 1;
            assert_eq!(r["ok"], true, "{r}");
            assert!(r["added"].as_u64().unwrap() > 0, "{r}");
            assert_eq!(r["pending"].as_array().unwrap().len(), 0, "{r}");
        }
        let st = crate::common::ok_json(&bob, &["status"]);
        assert_eq!(st["pending"].as_array().unwrap().len(), 0, "{st}");
        assert_eq!(
            st["held"]
                .as_array()
                .unwrap()
                .first()
                .map_or(0, |x| x["parts"].as_array().unwrap().len()),
            held - released,
            "{st}"
        );
    }
    assert!(held >= 2, "{held} of {n} held");
    assert_eq!(released, held);
    let want = crate::common::ok_json(&hq, &["merge"]);
    let got = crate::common::ok_json(&bob, &["merge"]);
    assert_eq!(got["head"], want["head"]);
    assert_eq!(
        (got["final"].clone(), got["pending"].clone()),
        (want["final"].clone(), want["pending"].clone())
    );
    let st = crate::common::ok_json(&bob, &["status"]);
    assert_eq!(st["pending"].as_array().unwrap().len(), 0, "{st}");
    ok(&bob, &["verify"]);
    // several bundles cannot go to stdout: refused before anything is written
    let before = crate::common::snapshot(&hq);
    let args = split("-");
    let (code, stdout, err) = run(&hq, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2, "{err}");
    assert!(stdout.is_empty());
    assert!(err.contains("--max-blocks"), "{err}");
    assert_eq!(crate::common::snapshot(&hq), before);
    // to the outbox: one entry per bundle
    let v = crate::common::ok_json(&hq, &["sync", "export", "--to", "bob", "--all", "--max-blocks", "5"]);
    assert_eq!(v["out"].as_array().unwrap().len(), n);
}

#[test]
fn a_held_bundle_is_released_by_its_blocks_from_any_route() {
    let net = twelve_notes_at_hq();
    let hq = net.home("hq");
    let bob = net.home("bob");
    let out = net.path("all.bundle");
    let v = crate::common::ok_json(
        &hq,
        &[
            "sync",
            "export",
            "--to",
            "bob",
            "--all",
            "--max-blocks",
            "5",
            "--out",
            s(&out),
        ],
    );
    let files = crate::common::strings(&v["out"]);
    let last = files.last().unwrap();
    // the last bundle reaches bob on a stick: xfer keeps it aside
    let stick = net.path("stick");
    let inbox = stick.join(net.id("bob")).join(net.id("hq"));
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(
        last,
        inbox.join(format!("{}.bundle", v["bundles"][files.len() - 1].as_str().unwrap())),
    )
    .unwrap();
    let x = crate::common::ok_json(&bob, &["xfer", s(&stick)]);
    let held: Vec<&serde_json::Value> = x["imported"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["held"].is_null())
        .collect();
    assert_eq!(held.len(), 1, "{x}");
    let st = crate::common::ok_json(&bob, &["status"]);
    assert_eq!(st["held"][0]["parts"], serde_json::json!([files.len()]), "{st}");
    let kept = crate::common::snapshot(&bob.join("held"));
    // the blocks before it come in one ordinary bundle: the held one is imported with it
    let whole = net.path("whole.bundle");
    ok(&hq, &["sync", "export", "--to", "bob", "--all", "--out", s(&whole)]);
    let bob2 = net.path("bob2");
    copy_tree(&bob, &bob2, &[]);
    let v = crate::common::ok_json(&bob, &["sync", "import", s(&whole)]);
    assert_eq!(v["released"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["released"][0]["ok"], true, "{v}");
    let st = crate::common::ok_json(&bob, &["status"]);
    assert_eq!(st["held"], serde_json::json!([]), "{st}");
    assert_eq!(st["pending"], serde_json::json!([]), "{st}");
    assert_eq!(
        crate::common::ok_json(&bob, &["merge"])["head"],
        crate::common::ok_json(&hq, &["merge"])["head"]
    );
    ok(&bob, &["verify"]);
    // a held bundle damaged in the home is refused when its turn comes, reported, dropped;
    // the bundle that brought its blocks is imported all the same
    let (path, bytes) = kept
        .iter()
        .find(|(p, _)| !p.to_string_lossy().ends_with(".waits"))
        .unwrap();
    let damaged = bob2
        .join("held")
        .join(path.strip_prefix(bob.join("held")).unwrap_or(path));
    assert!(damaged.exists(), "{}", damaged.display());
    std::fs::write(&damaged, crate::common::flipped(bytes, bytes.len() - 40, 0x01)).unwrap();
    let (code, stdout, err) = run(&bob2, &["--json", "sync", "import", s(&whole)]);
    assert_eq!(code, 1, "{stdout}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["added"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["released"][0]["ok"], false, "{v}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("secfile: error:")).collect();
    assert!(errors.len() == 1 && errors[0].contains("held part"), "{err}");
    let st = crate::common::ok_json(&bob2, &["status"]);
    assert_eq!(st["held"], serde_json::json!([]), "{st}");
}

#[test]
fn more_new_blocks_than_the_index_holds_rebuild_it_in_batches() {
    // alice's index holds the few blocks she has; then more of hq's blocks than that are
    // copied straight into her chains/ (a restore, a copied stick): rather than settle
    // them all at once (memory in proportion to them), the index is built again a batch
    // at a time (3 blocks here), and every command gives what a whole evaluation gives
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    ok(&alice, &["merge"]);
    let hq = net.home("hq");
    for k in 0..14 {
        ok(&hq, &["append", "--kind", "note", "--field", &format!("k={k}")]);
    }
    let id = net.id("hq");
    copy_tree(&hq.join("chains").join(&id), &alice.join("chains").join(&id), &[]);
    let before = std::fs::read(alice.join("state/index")).unwrap();
    let fast = net.path("alice-fast");
    let slow = net.path("alice-slow");
    copy_tree(&alice, &fast, &[]);
    copy_tree(&alice, &slow, &[]);
    let out = crate::common::at(&fast, &["--json", "merge"])
        .env("SECFILE_SETTLE_BATCH", "3")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = std::fs::read(fast.join("state/index")).unwrap();
    assert_ne!(before, after, "the index was brought up to date");
    for args in READS {
        force_whole(&slow);
        assert_eq!(
            read(&fast, args),
            read(&slow, args),
            "`{}` after the rebuild",
            args.join(" ")
        );
    }
    force_whole(&slow);
    let args = ["--json", "append", "--kind", "probe"];
    assert_eq!(read(&fast, &args), read(&slow, &args), "the next append");
}

#[test]
fn a_new_member_brought_up_by_a_split_export_keeps_its_index() {
    // carol's admission is the master's newest block, so it comes in the last bundle: until
    // then her own genesis waits (not-admitted), the one block of chains/ that may; the
    // index leaves it out instead of giving up (every import then read the whole store,
    // memory growing with each bundle of a 1M-block bring-up)
    let net = Net::new(&["alice"]);
    for k in 0..8 {
        ok(
            &net.home("alice"),
            &["append", "--kind", "note", "--field", &format!("k={k}")],
        );
    }
    net.sync("alice", "hq");
    let (hq, carol) = (net.home("hq"), net.home("carol"));
    let mcard = net.path("hq.card");
    ok(
        &carol,
        &["init", "--name", "carol", "--role", "member", "--master", s(&mcard)],
    );
    let card = net.path("carol.card");
    ok(&carol, &["card", "--out", s(&card)]);
    ok(&hq, &["roster", "admit", s(&card)]);
    let out = net.path("all.bundle");
    let v = crate::common::ok_json(
        &hq,
        &[
            "sync",
            "export",
            "--to",
            "carol",
            "--all",
            "--max-blocks",
            "4",
            "--out",
            s(&out),
        ],
    );
    let files: Vec<String> = crate::common::strings(&v["out"]);
    assert!(files.len() >= 3, "{v}");
    // before any: a not-admitted member's store is clean, and indexed
    assert!(compare(&net, "carol", "before the first bundle"));
    for (k, f) in files.iter().enumerate() {
        let step = format!("bundle {}/{}", k + 1, files.len());
        import_both(&net, "carol", Path::new(f), &step);
        assert!(compare(&net, "carol", &step), "{step}: carol's index not in use");
    }
    let want = crate::common::ok_json(&hq, &["merge"]);
    let got = crate::common::ok_json(&carol, &["merge"]);
    assert_eq!(got["head"], want["head"]);
    let st = crate::common::ok_json(&carol, &["status"]);
    assert_eq!(st["admitted"], true, "{st}");
    ok(&carol, &["verify"]);
}
