//! Table-driven tamper tests over the committed fixtures (issue 2, items 7 and 10, and the
//! bundle cases of "Bad input"): every row of `fixtures/tampered/cases.tsv` and
//! `fixtures/bundles/cases.tsv` is run against a copy of its home (nothing is ever written
//! into `fixtures/`). Failures of all cases are collected and reported together.
use crate::common::{at, copy_fixture_home, copy_tree, fixtures_dir, snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// `{name}` placeholders of the tables, from `fixtures/ids.tsv`.
fn ids() -> BTreeMap<String, String> {
    table(&fixtures_dir().join("ids.tsv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn expand(s: &str, ids: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (n, id) in ids {
        out = out.replace(&format!("{{{n}}}"), id);
    }
    assert!(!out.contains('{'), "unknown placeholder in {s:?}");
    out
}

/// Rows of a TSV file, `#` lines skipped.
fn table(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

/// A row of `fixtures/tampered/cases.tsv`: one expected problem of one case.
#[derive(Debug, Clone)]
struct Row {
    case: String,
    made: String,
    exit: i32,
    kind: String,
    input: String,
    message: String,
    others: String,
    status: String,
}

fn rows() -> Vec<Row> {
    let ids = ids();
    table(&fixtures_dir().join("tampered/cases.tsv"))
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), 9, "tampered/cases.tsv row {r:?}");
            Row {
                case: r[0].clone(),
                made: r[1].clone(),
                exit: r[2].parse().unwrap(),
                kind: r[3].clone(),
                input: expand(&r[4], &ids),
                message: expand(&r[5], &ids),
                others: r[6].clone(),
                status: r[7].clone(),
            }
        })
        .collect()
}

/// The cases, in table order, each with its rows.
fn cases() -> Vec<(String, Vec<Row>)> {
    let mut out: Vec<(String, Vec<Row>)> = Vec::new();
    for r in rows() {
        match out.iter_mut().find(|(c, _)| *c == r.case) {
            Some((_, v)) => v.push(r),
            None => out.push((r.case.clone(), vec![r])),
        }
    }
    out
}

fn bob_id() -> String {
    ids()["bob"].clone()
}

/// Make a `test-time` case in a clean copy of bob's home: special files that git cannot
/// carry (or that do not survive every checkout).
fn make_at_test_time(case: &str, home: &Path, scratch: &Path) {
    let b3 = home.join(format!("chains/{}/0000000003.yaml", bob_id()));
    match case {
        "symlink-in-chains" => {
            let outside = scratch.join("outside.yaml");
            fs::rename(&b3, &outside).unwrap();
            std::os::unix::fs::symlink(&outside, &b3).unwrap();
        }
        "fifo-in-chains" => {
            fs::remove_file(&b3).unwrap();
            let st = std::process::Command::new("mkfifo").arg(&b3).status().expect("mkfifo");
            assert!(st.success(), "mkfifo failed");
        }
        "dir-in-chains" => {
            fs::remove_file(&b3).unwrap();
            fs::create_dir(&b3).unwrap();
        }
        "oversized-block" => {
            let mut b = fs::read(&b3).unwrap();
            b.resize(64 * 1024 + 1, b' ');
            fs::write(&b3, b).unwrap();
        }
        other => panic!("no test-time recipe for case {other}: add one in tests/tamper.rs"),
    }
}

/// Run `verify --json` and plain `verify` at a home and check them against the rows.
fn check_home(home: &Path, want_exit: i32, rows: &[Row]) -> Result<(), String> {
    let out = at(home, &["--json", "verify"]).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if code != want_exit {
        return Err(format!(
            "verify --json exited {code}, want {want_exit}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value = serde_json::from_str(&stdout).map_err(|e| format!("verify --json: {e}: {stdout}"))?;
    if v["ok"] != Value::Bool(want_exit == 0) {
        return Err(format!("ok is {} with exit {code}", v["ok"]));
    }
    let problems = v["problems"].as_array().ok_or("no problems array")?;
    // every input is named as a path under the home, like the --home given
    let names = |p: &Value, rel: &str| Path::new(p["input"].as_str().unwrap_or("")) == home.join(rel);
    let mut matched = vec![false; problems.len()];
    for r in rows {
        let hit = problems.iter().position(|p| {
            p["kind"] == r.kind.as_str()
                && names(p, &r.input)
                && p["message"].as_str().unwrap_or("").contains(&r.message)
        });
        match hit {
            Some(i) => matched[i] = true,
            None => {
                return Err(format!(
                    "no problem of kind {} naming {} with message containing {:?}; problems:\n{}",
                    r.kind,
                    r.input,
                    r.message,
                    serde_json::to_string_pretty(problems).unwrap()
                ));
            }
        }
    }
    let others: BTreeSet<&str> = rows.iter().flat_map(|r| r.others.split(',')).collect();
    for (i, p) in problems.iter().enumerate() {
        if !matched[i] && !others.contains(p["kind"].as_str().unwrap_or("")) {
            return Err(format!("unexpected problem {p}"));
        }
    }
    // the plain report: same exit, one line per problem naming the input and the kind
    let out = at(home, &["verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(want_exit) {
        return Err(format!("plain verify exited {:?}, want {want_exit}", out.status.code()));
    }
    for r in rows {
        let line = text
            .lines()
            .find(|l| l.contains(&r.input) && l.ends_with(&format!("[{}]", r.kind)));
        if !line.is_some_and(|l| l.contains(&r.message)) {
            return Err(format!(
                "plain verify has no line for {} [{}]:\n{text}",
                r.input, r.kind
            ));
        }
    }
    let want_summary = match problems.len() {
        1 => "FAILED: 1 problem".to_string(),
        n => format!("FAILED: {n} problems"),
    };
    if want_exit != 0 && !text.contains(&want_summary) {
        return Err(format!("plain verify summary is wrong:\n{text}"));
    }
    Ok(())
}

/// Files (relative paths) that differ between two trees: added, removed or changed.
fn diff_trees(a: &Path, b: &Path) -> BTreeSet<PathBuf> {
    let rel = |root: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(root)
            .into_iter()
            .map(|(p, bytes)| (p.strip_prefix(root).unwrap().to_path_buf(), bytes))
            .collect()
    };
    let (x, y) = (rel(a), rel(b));
    x.keys()
        .chain(y.keys())
        .filter(|k| x.get(*k) != y.get(*k))
        .cloned()
        .collect()
}

fn copy_bob(dst: &Path) {
    copy_fixture_home(&fixtures_dir().join("homes/bob"), dst);
}

#[test]
fn clean_fixture_homes_verify() {
    let tmp = tempfile::tempdir().unwrap();
    for n in ["hq", "alice", "bob"] {
        let home = tmp.path().join(n);
        copy_fixture_home(&fixtures_dir().join("homes").join(n), &home);
        check_home(&home, 0, &[]).unwrap_or_else(|e| panic!("{n}: {e}"));
        // every home holds all three chains
        let chains = fs::read_dir(home.join("chains")).unwrap().count();
        assert_eq!(chains, 3, "{n}: chains/");
    }
}

/// Every tampered case: a copy of its folder (or a clean copy of bob's home tampered now)
/// must fail `verify` with the problems of its rows.
#[test]
fn tampered_homes_fail_verify_naming_the_problem() {
    let root = fixtures_dir().join("tampered");
    let tmp = tempfile::tempdir().unwrap();
    let clean_bob = fixtures_dir().join("homes/bob");
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 15, "the table lost cases: {}", all.len());
    for (case, rows) in &all {
        let made = rows[0].made.as_str();
        let home = tmp.path().join(case);
        let scratch = tmp.path().join(format!("{case}.scratch"));
        fs::create_dir_all(&scratch).unwrap();
        match made {
            "fixture" => {
                let dir = root.join(case);
                assert!(dir.is_dir(), "{case}: no folder {}", dir.display());
                // a copy of bob's home (same keys), tampered only in the store
                assert_eq!(
                    fs::read(dir.join("node.yaml")).unwrap(),
                    fs::read(clean_bob.join("node.yaml")).unwrap(),
                    "{case}: not a copy of fixtures/homes/bob"
                );
                let d = diff_trees(&clean_bob, &dir);
                assert!(!d.is_empty(), "{case}: identical to the clean home");
                assert!(
                    d.iter().all(|p| p.starts_with("chains") || p.starts_with("forks")),
                    "{case}: tampered outside the store: {d:?}"
                );
                copy_fixture_home(&dir, &home);
            }
            "test-time" => {
                copy_bob(&home);
                make_at_test_time(case, &home, &scratch);
            }
            m => panic!("{case}: unknown `made` {m}"),
        }
        let res = check_home(&home, rows[0].exit, rows);
        match (rows[0].status.as_str(), res) {
            ("ok", Ok(())) | ("expected-fail", Err(_)) => {}
            ("ok", Err(e)) => failures.push(format!("{case}: {e}")),
            ("expected-fail", Ok(())) => failures.push(format!(
                "{case}: passes now: mark it ok in tests/fixtures_gen.rs and run regenerate_tables"
            )),
            (s, _) => failures.push(format!("{case}: unknown status {s}")),
        }
    }
    // every folder has rows
    for e in fs::read_dir(&root).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                all.iter().any(|(c, r)| *c == name && r[0].made == "fixture"),
                "tampered/{name} has no row in cases.tsv"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `verify` reports every problem, not the first: several tamperings in one home (each
/// case's changes applied onto one copy) give every case's problems.
#[test]
fn verify_reports_every_problem() {
    let combined = [
        "flipped-byte",
        "truncated-block",
        "never-admitted-chain",
        "copied-from-other-chain",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let clean = fixtures_dir().join("homes/bob");
    copy_bob(&home);
    let all = cases();
    let mut rows = Vec::new();
    let mut touched = BTreeSet::new();
    for name in combined {
        let dir = fixtures_dir().join("tampered").join(name);
        for rel in diff_trees(&clean, &dir) {
            assert!(
                touched.insert(rel.clone()),
                "{name} overlaps another case at {}",
                rel.display()
            );
            let (from, to) = (dir.join(&rel), home.join(&rel));
            if from.exists() {
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::copy(from, to).unwrap();
            } else {
                fs::remove_file(to).unwrap();
            }
        }
        rows.extend(all.iter().find(|(c, _)| c == name).expect("case in table").1.clone());
    }
    check_home(&home, 1, &rows).unwrap();
    let out = at(&home, &["--json", "verify"]).output().unwrap();
    let v: Value = serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(v["problems"].as_array().unwrap().len() >= combined.len());
}

/// A row of `fixtures/bundles/cases.tsv`.
struct BundleRow {
    case: String,
    file: String,
    at: String,
    exit: i32,
    kind: String,
    message: String,
    verify: i32,
    verify_kind: String,
    status: String,
}

fn bundle_rows() -> Vec<BundleRow> {
    let ids = ids();
    table(&fixtures_dir().join("bundles/cases.tsv"))
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), 10, "bundles/cases.tsv row {r:?}");
            BundleRow {
                case: r[0].clone(),
                file: r[1].clone(),
                at: r[2].clone(),
                exit: r[3].parse().unwrap(),
                kind: r[4].clone(),
                message: expand(&r[5], &ids),
                verify: r[6].parse().unwrap(),
                verify_kind: if r[7] == "=" { r[4].clone() } else { r[7].clone() },
                status: r[8].clone(),
            }
        })
        .collect()
}

/// `import FILE` (plain and --json) at a home: exit code, the one stderr line, the kind, and
/// the home byte-identical.
fn check_import(r: &BundleRow, home: &Path) -> Result<(), String> {
    let bundle = fixtures_dir().join("bundles").join(&r.file);
    let bs = bundle.to_str().unwrap();
    let before = snapshot(home);
    // plain: exit code, and on failure one line on stderr naming the bundle and the reason
    let out = at(home, &["import", bs]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(r.exit) {
        return Err(format!(
            "import exited {:?}, want {}: {stderr}",
            out.status.code(),
            r.exit
        ));
    }
    if r.exit != 0 {
        let lines: Vec<&str> = stderr.lines().collect();
        if lines.len() != 1 || !lines[0].starts_with("secfile: error: ") || !lines[0].contains(bs) {
            return Err(format!("want one error line naming {bs}, got:\n{stderr}"));
        }
    }
    if !stderr.contains(&r.message) {
        return Err(format!("stderr lacks {:?}:\n{stderr}", r.message));
    }
    if snapshot(home) != before {
        return Err("import changed the home".into());
    }
    // --json: the error document carries the kind and the exit code
    let out = at(home, &["--json", "import", bs]).output().unwrap();
    if out.status.code() != Some(r.exit) {
        return Err(format!("import --json exited {:?}", out.status.code()));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("import --json: {e}"))?;
    if r.exit != 0 {
        if v["error"]["kind"] != r.kind.as_str() || v["error"]["exit"] != r.exit {
            return Err(format!("import --json error is {}, want kind {}", v["error"], r.kind));
        }
    } else if v["changed"] != false {
        return Err(format!("a replayed valid bundle changed something: {v}"));
    }
    if snapshot(home) != before {
        return Err("import --json changed the home".into());
    }
    Ok(())
}

/// The auditor's view, `verify FILE` at a home: exit code and the problem naming the file.
fn check_verify_file(r: &BundleRow, home: &Path) -> Result<(), String> {
    let bundle = fixtures_dir().join("bundles").join(&r.file);
    let bs = bundle.to_str().unwrap();
    let before = snapshot(home);
    let out = at(home, &["--json", "verify", bs]).output().unwrap();
    if out.status.code() != Some(r.verify) {
        return Err(format!(
            "verify FILE exited {:?}, want {}: {}{}",
            out.status.code(),
            r.verify,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if r.verify == 1 {
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("verify --json: {e}"))?;
        let same = r.verify_kind == r.kind;
        let hit = v["problems"].as_array().into_iter().flatten().any(|p| {
            p["input"] == bs
                && p["kind"] == r.verify_kind.as_str()
                && (!same || p["message"].as_str().unwrap_or("").contains(&r.message))
        });
        if !hit {
            return Err(format!(
                "verify FILE does not report {} {:?}: {v}",
                r.verify_kind, r.message
            ));
        }
    }
    if snapshot(home) != before {
        return Err("verify FILE changed the home".into());
    }
    Ok(())
}

/// Every bundle case: imported at a copy of its home, it exits with its code, says what is
/// wrong with which file in one line, and leaves the home byte-identical.
#[test]
fn tampered_bundles_are_rejected_and_leave_the_home_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = bundle_rows();
    assert!(rows.len() >= 12, "the table lost cases: {}", rows.len());
    let mut failures = Vec::new();
    for r in &rows {
        let home = tmp.path().join(&r.case);
        copy_fixture_home(&fixtures_dir().join("homes").join(&r.at), &home);
        if let Err(e) = check_import(r, &home) {
            failures.push(format!("{}: {e}", r.case));
        }
        match (r.status.as_str(), check_verify_file(r, &home)) {
            ("ok", Ok(())) | ("expected-fail", Err(_)) => {}
            ("ok", Err(e)) => failures.push(format!("{}: {e}", r.case)),
            ("expected-fail", Ok(())) => failures.push(format!(
                "{}: verify FILE passes now: mark it ok in tests/fixtures_gen.rs and run regenerate_tables",
                r.case
            )),
            (s, _) => failures.push(format!("{}: unknown status {s}", r.case)),
        }
    }
    for e in fs::read_dir(fixtures_dir().join("bundles")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == "cases.tsv" || rows.iter().any(|r| r.file == name),
            "bundles/{name} has no row in cases.tsv"
        );
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The fixtures stay small (the issue asks for a few hundred KB at most).
#[test]
fn fixtures_are_small() {
    let total: u64 = walkdir::WalkDir::new(fixtures_dir())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(total < 400 * 1024, "fixtures/ holds {total} bytes");
}

/// A fixture home copied with git's modes (keys 0644) fails verify on the key modes: the
/// copy helper must restore them, and verify must keep checking them.
#[test]
fn fixture_keys_need_their_modes_restored() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("alice");
    copy_tree(&fixtures_dir().join("homes/alice"), &home, &[]);
    let k = home.join("keys/minisign.key");
    fs::set_permissions(&k, fs::Permissions::from_mode(0o644)).unwrap();
    let row = Row {
        case: "key-mode".into(),
        made: "test-time".into(),
        exit: 1,
        kind: "permissions".into(),
        input: "keys/minisign.key".into(),
        message: "want 600".into(),
        others: "permissions".into(),
        status: "ok".into(),
    };
    check_home(&home, 1, &[row]).unwrap();
}

/// Git keeps no empty directory, so a fresh clone's fixture homes lack `pending/`, `forks/`,
/// `outbox/`, `state/` and `tmp/`: every command must cope (and `peers/` may be missing too).
#[test]
fn fixture_homes_work_without_their_empty_dirs() {
    use crate::common::ok;
    let tmp = tempfile::tempdir().unwrap();
    for n in ["hq", "alice", "bob"] {
        for d in ["pending", "forks", "outbox", "state", "tmp", "lock"] {
            assert!(
                !fixtures_dir().join("homes").join(n).join(d).exists(),
                "fixtures/homes/{n}/{d}"
            );
        }
    }
    let (hq, alice) = (tmp.path().join("hq"), tmp.path().join("alice"));
    copy_fixture_home(&fixtures_dir().join("homes/hq"), &hq);
    copy_fixture_home(&fixtures_dir().join("homes/alice"), &alice);
    fs::remove_dir_all(hq.join("peers")).unwrap();
    ok(&alice, &["append", "--kind", "note", "--field", "text=after-clone"]);
    ok(&alice, &["sync", "export", "--to", "hq"]);
    let outbox: Vec<_> = walkdir::WalkDir::new(alice.join("outbox"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "bundle"))
        .collect();
    assert_eq!(outbox.len(), 1, "one bundle in alice's outbox");
    let out = ok(&hq, &["--json", "import", outbox[0].path().to_str().unwrap()]);
    assert!(out.contains("\"added\": 1"), "{out}");
    let b = tmp.path().join("hq-to-alice.bundle.asc");
    ok(
        &hq,
        &[
            "sync",
            "export",
            "--to",
            "alice",
            "--armor",
            "--out",
            b.to_str().unwrap(),
        ],
    );
    ok(&alice, &["import", b.to_str().unwrap()]);
    for h in [&hq, &alice] {
        ok(h, &["verify"]);
        ok(h, &["status"]);
        ok(h, &["log"]);
    }
}
