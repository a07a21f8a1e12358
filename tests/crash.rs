//! The kill -9 harness (docs/transactions.md): every mutating command is killed at random
//! points, and after each kill the next command must find the home whole — it verifies,
//! no temp file survives, every committed block that goes with a bundle has its bundle in
//! the outbox (or its recipient already holds what it carried), every outbox bundle has
//! its block committed, and every outbox bundle imports at its recipient.
//!
//! `SECFILE_CRASH_ITERATIONS` (default 200) and `SECFILE_CRASH_SEED` pick the run:
//! `SECFILE_CRASH_ITERATIONS=1000 cargo test --test integration kill_9 -- --nocapture`.
use crate::common::{Net, at, json, ok, s};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const NODES: [&str; 3] = ["hq", "alice", "bob"];

/// Temp files a dead process may leave: none may survive the next command.
fn temp_files(home: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(home)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            let in_tmp = e.path().strip_prefix(home).is_ok_and(|r| r.starts_with("tmp")) && e.depth() > 1;
            n.starts_with(".tmp-") || n.ends_with(".part") || in_tmp || n == "tx"
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// Own blocks that go with a bundle: (kind, file or request id, recipient).
fn bundle_blocks(home: &Path, id: &str) -> Vec<(String, String, String)> {
    let log = json(&ok(home, &["--json", "log", "--chain", id]));
    let mut out = Vec::new();
    for b in log.as_array().unwrap() {
        let body = &b["body"];
        let str_of = |k: &str| body[k].as_str().unwrap_or_default().to_string();
        match b["kind"].as_str().unwrap() {
            "request" => out.push(("request".into(), str_of("request"), String::new())),
            "issue" => out.push(("file".into(), str_of("file"), str_of("holder"))),
            "transfer" => out.push(("transfer".into(), str_of("file"), str_of("to"))),
            _ => {}
        }
    }
    out
}

fn outbox(home: &Path) -> Vec<serde_json::Value> {
    json(&ok(home, &["--json", "outbox"])).as_array().unwrap().clone()
}

#[test]
fn kill_9_anywhere_loses_nothing() {
    let iterations: usize = std::env::var("SECFILE_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("SECFILE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5ec_f11e);
    let mut rng = Rng(seed | 1);
    let net = Net::new(&["alice", "bob"]);
    let ids: BTreeMap<&str, String> = NODES.iter().map(|n| (*n, net.id(n))).collect();
    let name_of = |id: &str| *NODES.iter().find(|n| ids[**n] == id).unwrap();
    let stick = net.path("stick");
    std::fs::create_dir(&stick).unwrap();
    let doc = net.path("doc.bin");
    std::fs::write(&doc, vec![7u8; 200_000]).unwrap();
    // a first exchange so that every member knows every other
    for n in ["hq", "alice", "bob", "hq", "alice", "bob"] {
        ok(&net.home(n), &["xfer", s(&stick)]);
    }
    // how long each command takes unkilled (ms): kills land within that span
    let mut took: BTreeMap<&str, f64> = BTreeMap::new();
    let (mut killed, mut stranded, mut imported) = (0usize, 0usize, 0usize);
    let mut checked: BTreeSet<String> = BTreeSet::new();
    let started = Instant::now();
    for it in 0..iterations {
        let who = NODES[rng.below(3) as usize];
        let home = net.home(who);
        let member = if rng.below(2) == 0 { "alice" } else { "bob" };
        let other = if member == "alice" { "bob" } else { "alice" };
        // a file `member` holds, if any
        let held: Vec<String> = json(&ok(&net.home(member), &["--json", "file", "list"]))
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["state"] == "final" || f["state"] == "tentative")
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        let (op, home, args): (&str, PathBuf, Vec<String>) = match rng.below(8) {
            0 => ("append", home, vec!["append".into(), "--kind".into(), "tick".into()]),
            1 => (
                "request",
                net.home(member),
                vec![
                    "request".into(),
                    "--event".into(),
                    "scan".into(),
                    "--attach".into(),
                    s(&doc).into(),
                ],
            ),
            2 => (
                "issue",
                net.home("hq"),
                vec![
                    "issue".into(),
                    "--to".into(),
                    member.into(),
                    "--attach".into(),
                    s(&doc).into(),
                ],
            ),
            3 if !held.is_empty() => (
                "transfer",
                net.home(member),
                vec![
                    "op".into(),
                    "transfer".into(),
                    held[rng.below(held.len() as u64) as usize].clone(),
                    "--to".into(),
                    other.into(),
                ],
            ),
            4 if !held.is_empty() => (
                "endorse",
                net.home(member),
                vec!["op".into(), "endorse".into(), held[0].clone()],
            ),
            5 if who == "hq" && rng.below(2) == 0 => ("checkpoint", home, vec!["checkpoint".into()]),
            5 => (
                "sync-export",
                home,
                vec![
                    "sync".into(),
                    "export".into(),
                    "--to".into(),
                    if who == "hq" { member } else { "hq" }.into(),
                ],
            ),
            _ => ("xfer", home, vec!["xfer".into(), s(&stick).into()]),
        };
        let est = *took.get(op).unwrap_or(&0.0);
        let delay = if est > 0.0 {
            Duration::from_micros(rng.below((est * 1000.0) as u64 + 1))
        } else {
            Duration::MAX
        };
        let t0 = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SECFILE_LOCK_TIMEOUT", "5")
            .arg("--home")
            .arg(&home)
            .arg("-q")
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut was_killed = false;
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if t0.elapsed() >= delay {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                was_killed = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if was_killed {
            killed += 1;
        } else {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            let e = took.entry(op).or_insert(ms);
            *e = 0.7 * *e + 0.3 * ms;
        }
        // the next command finishes or undoes the interrupted work
        ok(&home, &["status"]);
        let left = temp_files(&home);
        assert!(left.is_empty(), "iteration {it} ({op}): temp files survive: {left:?}");
        let v = at(&home, &["verify"]).output().unwrap();
        assert!(
            v.status.success(),
            "iteration {it} ({op}, killed {was_killed}): verify failed:\n{}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        // every block that goes with a bundle has it (or its recipient holds what it carried);
        // every outbox bundle has its block
        let id = &ids[name_of_home(&net, &home)];
        let blocks = bundle_blocks(&home, id);
        let ob = outbox(&home);
        for (kind, doc_id, to) in &blocks {
            let in_outbox = ob.iter().any(|e| {
                e["kind"] == kind.as_str()
                    && (e["file"] == doc_id.as_str() || e["request"] == doc_id.as_str())
                    && (to.is_empty() || e["recipient"] == to.as_str())
            });
            let delivered = match kind.as_str() {
                "request" => net
                    .home("hq")
                    .join("requests")
                    .join(doc_id)
                    .join("request.yaml")
                    .exists(),
                _ => net
                    .home(name_of(to))
                    .join("files")
                    .join(doc_id)
                    .join("manifest.yaml")
                    .exists(),
            };
            if !in_outbox && !delivered {
                eprintln!("iteration {it} ({op}): a committed {kind} block for {doc_id} has no bundle");
                stranded += 1;
            }
        }
        for e in &ob {
            if e["kind"] == "sync" {
                continue;
            }
            let doc_id = e["file"].as_str().or(e["request"].as_str()).unwrap();
            assert!(
                blocks
                    .iter()
                    .any(|(k, d, _)| k == e["kind"].as_str().unwrap() && d == doc_id),
                "iteration {it} ({op}): outbox bundle {} has no committed block",
                e["bundle"]
            );
            // importable by its recipient (once each)
            let bundle = e["bundle"].as_str().unwrap().to_string();
            if checked.insert(bundle.clone()) {
                let rhome = net.home(name_of(e["recipient"].as_str().unwrap()));
                let out = at(&rhome, &["--json", "import", e["path"].as_str().unwrap()])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "iteration {it} ({op}): outbox bundle {bundle} does not import at its recipient:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                imported += 1;
            }
        }
    }
    println!(
        "kill -9 harness: {iterations} iterations, {killed} commands killed mid-run, {imported} outbox bundles imported by their recipients, {stranded} deliveries stranded, in {:.1} s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stranded, 0, "deliveries stranded");
    assert!(killed > iterations / 4, "too few kills landed: {killed}");
    // and the consortium still converges
    for _ in 0..2 {
        for n in NODES {
            ok(&net.home(n), &["xfer", s(&stick)]);
        }
    }
    for n in NODES {
        ok(&net.home(n), &["verify"]);
    }
}

fn name_of_home<'a>(net: &Net, home: &Path) -> &'a str {
    NODES.iter().find(|n| net.home(n) == home).copied().unwrap()
}
