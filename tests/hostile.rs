//! Hostile input (issue 9 items 3, 5, 6): endless and blocking inputs, `--out` into a
//! missing directory, binary output to a terminal, modes under umask 000, leftover temp
//! files, forged lines and bidi controls in text from other nodes, garbage derived state,
//! garbage keys and tampered content. Tests are named after the bug they pin.
use crate::common::{Net, assert_refused, at, ok, run, s, snapshot};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Wait for a child at most `limit`; kill it and fail when it blocks.
fn wait_bounded(mut c: Child, limit: Duration, what: &str) -> (i32, String, String) {
    let start = Instant::now();
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            let out = c.wait_with_output().unwrap();
            return (
                st.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if start.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            panic!("{what}: still running after {limit:?} (blocked or spooling)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(home: &Path, args: &[&str], stdin: Stdio) -> Child {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .env("SECFILE_LOCK_TIMEOUT", "2")
        .arg("--home")
        .arg(home)
        .args(args);
    c.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn mkfifo(p: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

fn dev_zero() -> Stdio {
    Stdio::from(std::fs::File::open("/dev/zero").unwrap())
}

/// Bytes of everything under `dir` (temp usage).
fn du(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn regression_dev_zero_on_stdin_import_spooled_gigabytes_under_the_lock() {
    let net = Net::new(&["alice"]);
    let home = net.home("alice");
    let before = snapshot(&home);
    for args in [&["import", "-"][..], &["sync", "import", "-"], &["verify", "-"]] {
        let c = spawn(&home, args, dev_zero());
        let (code, _, err) = wait_bounded(c, Duration::from_secs(10), &format!("{args:?} </dev/zero"));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("not a secfile-bundle file") || args[0] == "verify",
            "{args:?}: {err}"
        );
        assert!(du(&home.join("tmp")) < 1 << 20, "{args:?}: temp usage bounded");
        assert_eq!(snapshot(&home), before, "{args:?}: home unchanged");
    }
    // an armored prologue, then an endless line: refused, memory and disk bounded
    let mut c = spawn(&home, &["import", "-"], Stdio::piped());
    let mut w = c.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = w.write_all(b"-----BEGIN SECFILE BUNDLE-----\n");
        let chunk = vec![b'A'; 1 << 16];
        for _ in 0..4096 {
            if w.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let (code, _, err) = wait_bounded(c, Duration::from_secs(10), "endless armor line");
    feeder.join().unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("over 1024 bytes"), "{err}");
    assert_eq!(snapshot(&home), before);
}

#[test]
fn regression_a_stdin_bundle_longer_than_its_header_says_is_not_spooled_past_it() {
    let net = Net::new(&["alice"]);
    let b = net.path("b.bundle");
    ok(&net.home("hq"), &["sync", "export", "--to", "alice", "--out", s(&b)]);
    let home = net.home("alice");
    let before = snapshot(&home);
    let mut bytes = std::fs::read(&b).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 3 << 20));
    let (code, _, err) = crate::common::output({
        let mut c = at(&home, &["import", "-"]);
        c.write_stdin(bytes);
        c
    });
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("longer than its signed header says"), "{err}");
    assert_eq!(snapshot(&home), before);
}

#[test]
fn regression_fifo_and_device_inputs_blocked_forever() {
    let net = Net::new(&["alice"]);
    let fifo = net.path("fifo");
    mkfifo(&fifo);
    let f = s(&fifo);
    let hq = net.home("hq");
    let alice = net.home("alice");
    let fresh = net.path("fresh");
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&alice, vec!["import", f]),
        (&alice, vec!["sync", "import", f]),
        (&hq, vec!["issue", f]),
        (&alice, vec!["verify", f]),
        (&hq, vec!["roster", "admit", f]),
        (&fresh, vec!["init", "--name", "x", "--role", "member", "--master", f]),
        (&alice, vec!["append", "--kind", "note", "--attach", f]),
        (&alice, vec!["request", "--event", "e", "--attach", f]),
        (&hq, vec!["issue", "--to", "alice", "--attach", f]),
        (&alice, vec!["--passphrase-file", f, "append", "--kind", "note"]),
        (&alice, vec!["append", "--kind", "note", "--attach", "/dev/zero"]),
        (&alice, vec!["request", "--event", "e", "--attach", "/dev/zero"]),
        (&alice, vec!["import", "/dev/zero"]),
    ];
    for (home, args) in cases {
        let before = snapshot(home);
        let c = spawn(home, &args, Stdio::null());
        let (code, out, err) = wait_bounded(c, Duration::from_secs(10), &format!("{args:?}"));
        if args[0] == "verify" {
            // verify reports the problem and exits 1
            assert_eq!(code, 1, "{args:?}: {out}{err}");
            assert!(out.contains("not a regular file"), "{args:?}: {out}");
            continue;
        }
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
        assert!(err.contains("a FIFO") || err.contains("a device"), "{args:?}: {err}");
        assert_eq!(snapshot(home), before, "{args:?}: home unchanged");
    }
    assert!(!fresh.exists(), "init refused before making the home");
}

#[test]
fn regression_out_into_a_missing_directory_created_it() {
    let net = Net::new(&["alice"]);
    let missing = net.path("no/such/dir");
    let out = missing.join("x.bundle");
    let o = s(&out);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&hq, vec!["sync", "export", "--to", "alice", "--out", o]),
        (&hq, vec!["sync", "export", "--to", "alice", "--armor", "--out", o]),
        (&alice, vec!["request", "--event", "e", "--out", o]),
        (&hq, vec!["card", "--out", o]),
        (&hq, vec!["merge", "--out", o]),
        (
            &alice,
            vec!["file", "extract", "0123456789abcdef0123456789abcdef", "--out", o],
        ),
    ];
    for (home, args) in cases {
        let before = snapshot(home);
        assert_refused(
            run(home, &args),
            3,
            &["no/such/dir", "no such directory"],
            home,
            &before,
        );
        assert!(!net.path("no").exists(), "{args:?} made the directory");
    }
}

/// Run `secfile …` with a terminal as stdout (`script` gives it a pty).
fn on_terminal(home: &Path, args: &str) -> (i32, String) {
    let cmd = format!(
        "SECFILE_TIME=2026-11-23T12:00:00Z {} --home {} {args}",
        env!("CARGO_BIN_EXE_secfile"),
        home.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn regression_binary_bundle_written_to_a_terminal() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give a terminal");
        return;
    }
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    for (home, args) in [
        (&hq, "sync export --to alice --out -"),
        (&alice, "request --event e --out -"),
        (&alice, "file extract 0123456789abcdef0123456789abcdef --out -"),
    ] {
        let before = snapshot(home);
        let (code, out) = on_terminal(home, args);
        assert_eq!(code, 2, "{args}: {out}");
        assert!(
            out.contains("refusing to write binary output to a terminal"),
            "{args}: {out}"
        );
        assert_eq!(snapshot(home), before, "{args}: home unchanged");
    }
    // armored output to a terminal is fine
    let (code, out) = on_terminal(&hq, "sync export --to alice --armor --out -");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("BEGIN SECFILE BUNDLE"), "{out}");
}

/// Run secfile under `umask 000`.
fn umask0(home: &Path, args: &str) {
    let cmd = format!(
        "umask 000; SECFILE_TIME=2026-11-23T12:00:00Z exec {} --home {} {args}",
        env!("CARGO_BIN_EXE_secfile"),
        home.display()
    );
    let out = std::process::Command::new("sh").args(["-c", &cmd]).output().unwrap();
    assert!(out.status.success(), "{args}: {}", String::from_utf8_lossy(&out.stderr));
}

#[cfg(unix)]
#[test]
fn regression_home_was_0777_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (hq, alice) = (dir.path().join("hq"), dir.path().join("alice"));
    let card = dir.path().join("hq.card");
    let acard = dir.path().join("alice.card");
    let b = dir.path().join("b.bundle");
    umask0(&hq, "init --name hq --role master");
    umask0(&hq, &format!("card --out {}", card.display()));
    umask0(
        &alice,
        &format!("init --name alice --role member --master {}", card.display()),
    );
    umask0(&alice, &format!("card --out {}", acard.display()));
    umask0(&hq, &format!("roster admit {}", acard.display()));
    umask0(&hq, "sync export --to alice");
    umask0(&hq, &format!("sync export --to alice --out {}", b.display()));
    umask0(&alice, &format!("import {}", b.display()));
    umask0(&alice, "append --kind note --field x=1");
    umask0(&alice, "request --event e");
    umask0(&alice, "verify");
    for home in [&hq, &alice] {
        for e in walkdir::WalkDir::new(home) {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let want = if e.file_type().is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "{}: mode {mode:o}", e.path().display());
        }
    }
}

#[test]
fn regression_kill_9_left_temp_files_and_init_folders_with_secret_keys() {
    let net = Net::new(&["alice"]);
    let home = net.home("alice");
    let chain = std::fs::read_dir(home.join("chains"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let leftovers = [
        home.join("tmp/.tmp-abc"),
        home.join("tmp/.tmp-dir1/stdin"),
        chain.join(".tmp-123"),
        home.join(".tmp-root"),
        home.join("state/.tmp-cache"),
        home.join("files/0123456789abcdef0123456789abcdef/.tmp-content"),
    ];
    for p in &leftovers {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"decrypted secret").unwrap();
    }
    // what a killed lock holder leaves beside them: its marker (tests/crash.rs kills for real)
    std::fs::write(home.join("tmp/.in-use"), b"").unwrap();
    // an init killed before its rename: a sibling folder holding secret keys, lock not held
    let dead = net.path(".secfile-init-dead");
    std::fs::create_dir_all(dead.join("keys")).unwrap();
    std::fs::write(dead.join(".init-lock"), b"").unwrap();
    std::fs::write(dead.join("keys/minisign.key"), b"secret").unwrap();
    ok(&home, &["append", "--kind", "note"]);
    for p in &leftovers {
        assert!(!p.exists(), "{} outlived the next command", p.display());
    }
    assert!(!dead.exists(), "stale init folder outlived the next command");
    // and init sweeps its siblings too
    std::fs::create_dir_all(dead.join("keys")).unwrap();
    std::fs::write(dead.join(".init-lock"), b"").unwrap();
    ok(&net.home("carol"), &["init", "--name", "carol", "--role", "master"]);
    assert!(!dead.exists());
    let stray: Vec<_> = std::fs::read_dir(net.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".secfile-init-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Issue a file from `hq` to `alice` through the library, with fields the CLI would
/// refuse (a hostile or buggy master), and import it at alice; returns the file id.
fn issue_hostile(net: &Net, fields: &[(&str, &str)]) -> String {
    use secfile::node::{Node, Options};
    let content = net.path("content.txt");
    std::fs::write(&content, b"hello").unwrap();
    let opts = Options {
        now: 1_795_000_000,
        lock_wait: Duration::from_secs(2),
        ..Default::default()
    };
    let node = Node::open(secfile::home::Home::new(net.home("hq")), opts).unwrap();
    let made = secfile::act::issue::issue(
        &node,
        secfile::act::issue::Source::Direct {
            to: "alice",
            attach: &content,
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            event: "direct",
        },
        None,
        false,
        None,
    )
    .unwrap();
    ok(&net.home("alice"), &["import", s(&made.sent.outbox)]);
    made.id
}

#[test]
fn regression_forged_newline_and_rlo_in_fields_printed_raw() {
    let net = Net::new(&["alice"]);
    let id = issue_hostile(
        &net,
        &[("note", "x\nrevoked yes (by hq)"), ("name", "invoice\u{202e}fdp.exe")],
    );
    let alice = net.home("alice");
    // a note from alice's chain with a bidi control, made through the library too
    {
        use secfile::node::{Node, Options};
        let node = Node::open(secfile::home::Home::new(&alice), Options::default()).unwrap();
        secfile::act::op::note(&node, "annotate", &id, "see\u{2066}\u{1b}[2Jnote\nfinal").unwrap();
    }
    for args in [
        vec!["file", "show", id.as_str()],
        vec!["file", "history", id.as_str()],
        vec!["file", "list"],
        vec!["log"],
        vec!["status"],
        vec!["roster", "list"],
    ] {
        let out = ok(&alice, &args);
        for bad in ['\u{202e}', '\u{2066}', '\u{1b}'] {
            assert!(!out.contains(bad), "{args:?} printed {bad:?} raw:\n{out}");
        }
        assert!(
            !out.lines().any(|l| l.starts_with("revoked yes") || l == "final"),
            "{args:?} printed a forged line:\n{out}"
        );
    }
    let show = ok(&alice, &["file", "show", &id]);
    assert!(show.contains("field note=x\\nrevoked yes (by hq)"), "{show}");
    assert!(show.contains("field name=invoice\\u{202e}fdp.exe"), "{show}");
    assert!(show.contains("revoked no"), "{show}");
    let hist = ok(&alice, &["file", "history", &id]);
    assert!(hist.contains("see\\u{2066}\\u{1b}[2Jnote\\nfinal"), "{hist}");
    let log = ok(&alice, &["log"]);
    assert!(log.contains("\\u{2066}"), "{log}");
    // JSON keeps the raw strings (JSON escapes them itself)
    let j = crate::common::ok_json(&alice, &["file", "show", &id]);
    assert_eq!(j["manifest"]["fields"]["note"], "x\nrevoked yes (by hq)");
}

#[test]
fn regression_own_text_with_controls_was_signed() {
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    let before = snapshot(&alice);
    for args in [
        vec!["append", "--kind", "note", "--field", "x=a\nb"],
        vec!["append", "--kind", "note", "--field", "x=a\u{202e}b"],
        vec!["request", "--event", "e", "--field", "k=\u{1b}[31m"],
        vec![
            "op",
            "annotate",
            "0123456789abcdef0123456789abcdef",
            "--note",
            "two\nlines",
        ],
        vec![
            "op",
            "endorse",
            "0123456789abcdef0123456789abcdef",
            "--note",
            "\u{200f}",
        ],
    ] {
        let (code, _, err) = run(&alice, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("control or bidirectional character"), "{args:?}: {err}");
        assert!(!err.contains('\u{202e}') && !err.contains('\u{1b}'), "{err}");
        assert_eq!(snapshot(&alice), before);
    }
}

#[test]
fn regression_garbage_state_files_were_fatal() {
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    ok(&alice, &["append", "--kind", "note", "--field", "x=1"]);
    ok(&alice, &["verify"]);
    for name in ["sigcache", "index", "index.none", "checkpoint.yaml", "unknown"] {
        let p = alice.join("state").join(name);
        for garbage in [&b"\x00\xff garbage \x1b[2J"[..], b"", b"secfile-sigcache 1\n\xff\xff"] {
            let merged = ok(&alice, &["merge"]);
            let log = ok(&alice, &["log"]);
            std::fs::write(&p, garbage).unwrap();
            assert_eq!(ok(&alice, &["merge"]), merged, "state/{name}");
            assert_eq!(ok(&alice, &["log"]), log, "state/{name}");
            ok(&alice, &["status"]);
            ok(&alice, &["verify"]);
            ok(&alice, &["append", "--kind", "note"]);
        }
    }
}

fn verify_problems(home: &Path) -> (i32, serde_json::Value) {
    let (code, out, _) = run(home, &["--json", "verify"]);
    (code, crate::common::json(&out))
}

fn has_problem(v: &serde_json::Value, kind: &str, input: &str) -> bool {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == kind && p["input"].as_str().unwrap().contains(input))
}

#[test]
fn regression_plain_verify_passed_garbage_keys_and_tampered_content() {
    let net = Net::new(&["alice"]);
    let id = issue_hostile(&net, &[]);
    let alice = net.home("alice");
    ok(&alice, &["verify"]);
    let keys = alice.join("keys");
    let cases: Vec<(PathBuf, Vec<u8>, &str)> = vec![
        (keys.join("minisign.pub"), b"garbage".to_vec(), "minisign.pub"),
        (keys.join("age.key"), b"# nothing\n".to_vec(), "age.key"),
        (
            keys.join("age.key"),
            b"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n".to_vec(),
            "age.key",
        ),
        (
            keys.join("minisign.key"),
            b"untrusted comment: x\nAAAA\n".to_vec(),
            "minisign.key",
        ),
        (keys.join("junk"), b"x".to_vec(), "junk"),
    ];
    for (p, bytes, name) in cases {
        let old = std::fs::read(&p).ok();
        std::fs::write(&p, &bytes).unwrap();
        crate::common::set_private(&p);
        let (code, v) = verify_problems(&alice);
        assert_eq!(code, 1, "{name}: {v}");
        assert!(has_problem(&v, "keys", name), "{name}: {v}");
        match old {
            Some(b) => std::fs::write(&p, b).unwrap(),
            None => std::fs::remove_file(&p).unwrap(),
        }
    }
    // another node's (valid) key in place of this node's
    let hq_pub = std::fs::read(net.home("hq").join("keys/minisign.pub")).unwrap();
    let old = std::fs::read(keys.join("minisign.pub")).unwrap();
    std::fs::write(keys.join("minisign.pub"), hq_pub).unwrap();
    let (code, v) = verify_problems(&alice);
    assert_eq!(code, 1);
    assert!(has_problem(&v, "keys", "minisign.pub"), "{v}");
    std::fs::write(keys.join("minisign.pub"), old).unwrap();
    ok(&alice, &["verify"]);
    // tampered content
    let c = alice.join("files").join(&id).join("content");
    let good = std::fs::read(&c).unwrap();
    std::fs::write(&c, b"jello").unwrap();
    let (code, v) = verify_problems(&alice);
    assert_eq!(code, 1);
    assert!(has_problem(&v, "tampered", &format!("{id}/content")), "{v}");
    std::fs::write(&c, &good[..good.len() - 1]).unwrap();
    let (code, v) = verify_problems(&alice);
    assert_eq!(code, 1);
    assert!(has_problem(&v, "tampered", &format!("{id}/content")), "{v}");
    std::fs::write(&c, good).unwrap();
    crate::common::set_private(&c);
    ok(&alice, &["verify"]);
}

#[test]
fn regression_init_killed_mid_way_left_a_folder_with_secret_keys() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "passphrase\n").unwrap();
    let slow = dir.path().join("slow");
    // a passphrase with a costly scrypt keeps init busy long enough to be killed
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
        .env_clear()
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .env("SECFILE_SCRYPT_LOG_N", "18")
        .arg("--home")
        .arg(&slow)
        .arg("--passphrase-file")
        .arg(&pw)
        .args(["init", "--name", "slow", "--role", "master"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let init_dirs = || -> Vec<PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".secfile-init-"))
            .map(|e| e.path())
            .collect()
    };
    while init_dirs().is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();
    if slow.exists() {
        eprintln!("skipped: init finished before it could be killed");
        return;
    }
    assert_eq!(init_dirs().len(), 1, "the killed init left its folder");
    ok(
        &dir.path().join("next"),
        &["init", "--name", "next", "--role", "master"],
    );
    assert!(init_dirs().is_empty(), "{:?} outlived the next init", init_dirs());
}
