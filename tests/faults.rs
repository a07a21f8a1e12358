//! Fault tests (issue 9 item 7; the kill -9 harness of every command is `tests/crash.rs`):
//!
//! - **disk full**: a home copied onto a small tmpfs filled almost full, at several fill
//!   levels, for every command that writes to a home; `--out` on a full tmpfs;
//! - **hostile media** for `xfer`: symlinks, a FIFO, `.part` leftovers, a bundle for
//!   someone else, a damaged file bundle that a frontier must not confirm;
//! - **a real FAT32 medium** (`mkfs.vfat` + `fusefat`): a round trip, kill -9 in the middle
//!   of an `xfer`, and a bundle over FAT32's 4 GiB limit.
//!
//! Mounting needs root. Without root and without `CI` these tests print why and skip; with
//! `CI=true` a missing capability or tool fails them (`.ci/run` installs dosfstools and
//! fusefat and runs as root).
use crate::common::{Net, assert_one_error_line, copy_tree, is_root, json, ok, ok_json, run, s, snapshot};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers: skip rule, mounts, fill levels, comparable snapshots.
// ---------------------------------------------------------------------------------------

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// True when the test may mount. Not root: skip (printing why) unless `CI=true`, where it
/// fails.
fn may_mount(what: &str) -> bool {
    if is_root() {
        return true;
    }
    if in_ci() {
        panic!("{what}: needs root to mount, and CI=true");
    }
    println!("skipping {what}: needs root to mount (runs in CI as root)");
    false
}

/// A mount point, unmounted when dropped (also on panic).
struct Mount {
    dir: PathBuf,
    /// The FUSE daemon (fusefat in the foreground), waited for after the unmount: it
    /// writes the image until it exits.
    fuse: Option<std::process::Child>,
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut child) = self.fuse.take() {
            let ok = tool_cmd("fusermount")
                .arg("-u")
                .arg(&self.dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = tool_cmd("umount")
            .arg("-l")
            .arg(&self.dir)
            .stderr(Stdio::null())
            .status();
    }
}

fn sh(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// A tmpfs of `kib` KiB at `dir` (made). As root, a failure to mount fails the test.
fn tmpfs(dir: &Path, kib: u64) -> Mount {
    std::fs::create_dir_all(dir).unwrap();
    let out = sh(tool_cmd("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0700"), "tmpfs"])
        .arg(dir));
    assert!(
        out.status.success(),
        "mount tmpfs on {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Mount {
        dir: dir.to_path_buf(),
        fuse: None,
    }
}

fn avail(dir: &Path) -> u64 {
    let st = rustix::fs::statvfs(dir).unwrap();
    st.f_bavail * st.f_frsize
}

/// Fill the filesystem of `dir` so that about `leave` bytes stay free (the filler is
/// `dir/filler`, written with real pages: tmpfs counts them).
fn fill(dir: &Path, leave: u64) {
    let f = dir.join("filler");
    let _ = std::fs::remove_file(&f);
    let n = avail(dir).saturating_sub(leave);
    let mut file = std::fs::File::create(&f).unwrap();
    use std::io::Write;
    let chunk = vec![0x5au8; 64 << 10];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        if file.write_all(&chunk[..k]).is_err() {
            break;
        }
        left -= k as u64;
    }
    let _ = file.sync_all();
}

/// Empty a directory (the tmpfs between fill levels).
fn clear(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
}

/// A home's files for a byte-identical comparison. Left out: `lock` (the flock file,
/// created by any command) and the read caches `state/sigcache` and `state/index`, which
/// any reader (`status`) may rebuild; everything else — chains, pending, outbox,
/// receipts, stored files, `state/xfer-sent.yaml`, `tmp/` — must be identical.
fn home_snap(home: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot(home)
        .into_iter()
        .filter(|(p, _)| {
            let rel = p.strip_prefix(home).unwrap();
            !(rel.starts_with("state/sigcache") || rel.starts_with("state/index") || rel.starts_with("state/index.d"))
        })
        .collect()
}

fn diff(a: &[(PathBuf, Vec<u8>)], b: &[(PathBuf, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (p, x) in a {
        match b.iter().find(|(q, _)| q == p) {
            None => out += &format!("  gone: {}\n", p.display()),
            Some((_, y)) if x != y => out += &format!("  changed: {}\n", p.display()),
            _ => {}
        }
    }
    for (p, _) in b {
        if !a.iter().any(|(q, _)| q == p) {
            out += &format!("  new: {}\n", p.display());
        }
    }
    out
}

/// Files under the home's `tmp/` and `.tmp-*` files anywhere in it: what a failed command
/// must not leave behind.
fn temp_files(home: &Path) -> Vec<String> {
    walkdir::WalkDir::new(home)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let rel = e.path().strip_prefix(home).unwrap();
            rel.starts_with("tmp") || e.file_name().to_string_lossy().starts_with(".tmp-")
        })
        .map(|e| e.path().display().to_string())
        .collect()
}

/// Where a disk-full error struck, from the path it names: a staged file, the journal
/// (the commit point), a temp file of the home, a cache, …
fn where_(err: &str) -> String {
    let p = err.split(": ").nth(2).unwrap_or(err);
    let p = p.split("/home/").nth(1).unwrap_or(p);
    if p.starts_with("tmp/tx/s") {
        "staged file".into()
    } else {
        p.split('/')
            .map(|c| if c.starts_with(".tmp-") { ".tmp-*" } else { c })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Free space left for the command, in bytes: every page up to 32, then growing by half,
/// so the failure hits staging, the journal and the commit in turn.
fn levels() -> impl Iterator<Item = u64> {
    let mut pages = 0u64;
    std::iter::from_fn(move || {
        let cur = pages;
        pages = if pages < 32 { pages + 1 } else { pages + pages / 2 };
        (cur <= 256).then_some(cur * 4096)
    })
}

/// Run `args` at `name`'s home copied onto a full tmpfs, for rising fill levels until the
/// command succeeds. Each failure must be exit 3 with one error line, and after a
/// `secfile status` (which recovers) the home must be byte-identical to before. Returns
/// how many levels failed.
fn disk_full(net: &Net, name: &str, what: &str, args: &[String], prep: &dyn Fn(&Path)) -> usize {
    let mnt = net.path(&format!("tmpfs-{what}").replace(' ', "-"));
    let _m = tmpfs(&mnt, 4096);
    let home = mnt.join("home");
    let mut wheres = std::collections::BTreeSet::<String>::new();
    for (failed, leave) in levels().enumerate() {
        clear(&mnt);
        copy_tree(&net.home(name), &home, &["lock"]);
        prep(&home);
        let before = home_snap(&home);
        fill(&mnt, leave);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&home, &argv);
        if code == 0 {
            assert!(failed > 0, "{what}: succeeded with no room at all?");
            let _ = std::fs::remove_file(mnt.join("filler"));
            ok(&home, &["verify"]);
            println!("{what}: failed at {failed} fill levels (writing {wheres:?}), succeeded with {leave} bytes free");
            return failed;
        }
        wheres.insert(where_(&err));
        assert_eq!(code, 3, "{what} with {leave} bytes free: want exit 3 (I/O)\n{out}{err}");
        assert_one_error_line(&err, &[]);
        assert!(
            err.contains("No space left") || err.contains("space"),
            "{what}: the error says the disk is full: {err}"
        );
        let left = temp_files(&home);
        assert!(left.is_empty(), "{what} ({leave} free) left temp files: {left:?}");
        // the next command (disk still full) recovers; the home is as it was
        let (c, _, e) = run(&home, &["status"]);
        assert_eq!(c, 0, "{what} ({leave} free): status after the failure: {e}");
        let after = home_snap(&home);
        assert!(
            after == before,
            "{what} with {leave} bytes free: the home changed:\n{}",
            diff(&before, &after)
        );
    }
    panic!("{what}: never succeeded with up to 1 MiB free");
}

/// A consortium where hq issued a file to alice (imported), with everything the disk-full
/// cases need prepared in normal temp dirs.
struct World {
    net: Net,
    file: String,
}

fn noise(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn world() -> World {
    let net = Net::new(&["alice", "bob"]);
    let doc = net.path("doc.bin");
    std::fs::write(&doc, noise(12_000, 3)).unwrap();
    let fb = net.path("file1.bundle");
    let j = ok_json(
        &net.home("hq"),
        &["issue", "--to", "alice", "--attach", s(&doc), "--out", s(&fb)],
    );
    let file = j["file"].as_str().unwrap().to_string();
    ok(&net.home("alice"), &["import", s(&fb)]);
    net.sync("alice", "hq");
    net.sync("hq", "bob");
    net.sync("hq", "alice");
    World { net, file }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Disk full.
// ---------------------------------------------------------------------------------------

#[test]
fn disk_full_in_the_home_fails_with_exit_3_and_leaves_it_unchanged() {
    if !may_mount("disk-full tests") {
        return;
    }
    let w = world();
    let net = &w.net;
    let doc = net.path("doc.bin");
    // inputs made beforehand, outside the tmpfs
    let fb2 = net.path("file2.bundle");
    ok(
        &net.home("hq"),
        &["issue", "--to", "alice", "--attach", s(&doc), "--out", s(&fb2)],
    );
    ok(&net.home("hq"), &["append", "--kind", "note", "--field", "x=hq"]);
    let sb = net.export("hq", "alice", "hq-to-alice.bundle");
    let carol = net.home("carol");
    ok(
        &carol,
        &[
            "init",
            "--name",
            "carol",
            "--role",
            "member",
            "--master",
            s(&net.path("hq.card")),
        ],
    );
    let carol_card = net.path("carol.card");
    ok(&carol, &["card", "--out", s(&carol_card)]);
    // a spool holding a file bundle for alice (hq's outbox, left by hq's xfer)
    let spool = net.path("spool");
    std::fs::create_dir(&spool).unwrap();
    let xfer_file = ok_json(&net.home("hq"), &["issue", "--to", "alice", "--attach", s(&doc)])["file"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&net.home("hq"), &["xfer", s(&spool)]);
    // only the file bundle stays in alice's inbox: one import, one transaction
    let kept: Vec<String> = ok_json(&net.home("hq"), &["outbox"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["file"] == xfer_file.as_str())
        .map(|e| e["bundle"].as_str().unwrap().to_string())
        .collect();
    let inbox = spool.join(net.id("alice")).join(net.id("hq"));
    for e in std::fs::read_dir(&inbox).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !kept.iter().any(|k| name.starts_with(k.as_str())) {
            std::fs::remove_file(&p).unwrap();
        }
    }
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 1);
    let spool_tpl = net.path("spool-template");
    copy_tree(&spool, &spool_tpl, &[]);

    let f = w.file.as_str();
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("append", "alice", strs(&["append", "--kind", "note", "--field", "k=v"])),
        (
            "request",
            "alice",
            strs(&["request", "--event", "audit", "--field", "who=alice"]),
        ),
        ("issue", "hq", strs(&["issue", "--to", "alice", "--attach", s(&doc)])),
        ("op transfer", "alice", strs(&["op", "transfer", f, "--to", "bob"])),
        ("op endorse", "alice", strs(&["op", "endorse", f])),
        ("op annotate", "alice", strs(&["op", "annotate", f, "--note", "seen"])),
        ("op revoke", "hq", strs(&["op", "revoke", f])),
        ("roster admit", "hq", strs(&["roster", "admit", s(&carol_card)])),
        ("roster remove", "hq", strs(&["roster", "remove", "bob"])),
        ("import", "alice", strs(&["import", s(&fb2)])),
        ("sync import", "alice", strs(&["sync", "import", s(&sb)])),
        ("sync export", "alice", strs(&["sync", "export", "--to", "hq"])),
    ];
    let started = Instant::now();
    for (what, who, args) in &cases {
        disk_full(net, who, what, args, &|_| {});
    }
    // xfer with the home on the tmpfs: a fresh copy of the spool at every level
    let spool_run = net.path("spool-run");
    let args = strs(&["xfer", s(&spool_run)]);
    let prep = |_: &Path| {
        let _ = std::fs::remove_dir_all(&spool_run);
        copy_tree(&spool_tpl, &spool_run, &[]);
    };
    disk_full_xfer(net, &args, &prep, &xfer_file);
    println!("disk-full cases took {:?}", started.elapsed());
}

/// `xfer` with alice's home on a full tmpfs, one file bundle in her inbox. One visit is
/// several transactions (one per imported bundle, one for what it leaves), so a failure
/// after the import committed leaves that import whole, and only it: the home then
/// verifies, holds the file's content, and a second visit with room completes.
fn disk_full_xfer(net: &Net, args: &[String], prep: &dyn Fn(&Path), file: &str) {
    let mnt = net.path("tmpfs-xfer");
    let _m = tmpfs(&mnt, 4096);
    let home = mnt.join("home");
    let mut half = 0;
    let mut wheres = std::collections::BTreeSet::<String>::new();
    for (failed, leave) in levels().enumerate() {
        clear(&mnt);
        copy_tree(&net.home("alice"), &home, &["lock"]);
        prep(&home);
        let before = home_snap(&home);
        fill(&mnt, leave);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&home, &argv);
        if code == 0 {
            assert!(failed > 0, "xfer: succeeded with no room at all?");
            println!(
                "xfer: failed at {failed} fill levels (writing {wheres:?}; {half} after its import), succeeded with {leave} bytes free"
            );
            return;
        }
        wheres.insert(where_(&err));
        assert_eq!(code, 3, "xfer with {leave} bytes free: want exit 3 (I/O)\n{out}{err}");
        assert_one_error_line(&err, &["space"]);
        let left = temp_files(&home);
        assert!(left.is_empty(), "xfer ({leave} free) left temp files: {left:?}");
        let (c, _, e) = run(&home, &["status"]);
        assert_eq!(c, 0, "xfer ({leave} free): status after the failure: {e}");
        let after = home_snap(&home);
        if after != before {
            // the import's transaction committed whole, the visit's own one did not
            half += 1;
            let _ = std::fs::remove_file(mnt.join("filler"));
            ok(&home, &["verify"]);
            let got = mnt.join("got.bin");
            let (c, _, e) = run(&home, &["file", "extract", file, "--out", s(&got)]);
            assert_eq!(
                c,
                0,
                "xfer ({leave} free): a partial import:\n{e}\n{}",
                diff(&before, &after)
            );
            ok(&home, &argv);
        }
    }
    panic!("xfer: never succeeded with up to 1 MiB free");
}

#[test]
fn out_on_a_full_disk_fails_with_exit_3_and_leaves_no_temp_file() {
    if !may_mount("--out on a full disk") {
        return;
    }
    let net = Net::new(&["alice"]);
    let doc = net.path("doc.bin");
    std::fs::write(&doc, noise(20_000, 9)).unwrap();
    let mnt = net.path("out-tmpfs");
    let _m = tmpfs(&mnt, 512);
    let hq = net.home("hq");
    let alice = net.home("alice");
    // free space below each bundle's size (the sync bundle is small)
    let cases: Vec<(&Path, Vec<&str>, Vec<u64>)> = vec![
        (
            &hq,
            vec!["issue", "--to", "alice", "--attach", s(&doc), "--out"],
            vec![0, 4096, 8192],
        ),
        (&alice, vec!["sync", "export", "--to", "hq", "--out"], vec![0]),
        (
            &alice,
            vec!["request", "--event", "e", "--attach", s(&doc), "--out"],
            vec![0, 8192],
        ),
    ];
    for (home, args, levels) in cases {
        for leave in levels {
            clear(&mnt);
            let target = mnt.join("x.bundle");
            let before = home_snap(home);
            fill(&mnt, leave);
            let mut a = args.clone();
            a.push(s(&target));
            let (code, out, err) = run(home, &a);
            assert_eq!(code, 3, "{a:?} with {leave} free: want 3\n{out}{err}");
            assert_one_error_line(&err, &["space"]);
            let left: Vec<_> = std::fs::read_dir(&mnt)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(left, vec!["filler".to_string()], "{a:?}: nothing beside the target");
            assert!(temp_files(home).is_empty(), "{a:?}: {:?}", temp_files(home));
            ok(home, &["status"]);
            let after = home_snap(home);
            assert!(after == before, "{a:?}: the home changed:\n{}", diff(&before, &after));
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Hostile media.
// ---------------------------------------------------------------------------------------

/// Files under a directory (relative paths), for "nothing outside changed".
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot(dir)
}

fn skipped_of(out: &str) -> Vec<serde_json::Value> {
    json(out)["skipped"].as_array().cloned().unwrap_or_default()
}

fn left_of(out: &str) -> Vec<String> {
    crate::common::strings(&json(out)["left"])
}

#[test]
fn xfer_never_follows_symlinks_out_of_the_medium() {
    let net = Net::new(&["alice", "bob"]);
    let (hq_id, alice_id, bob_id) = (net.id("hq"), net.id("alice"), net.id("bob"));
    let alice = net.home("alice");
    // outside: a folder that looks like a sender's, with a real bundle for alice in it
    let outside = net.path("outside");
    std::fs::create_dir_all(outside.join(&hq_id)).unwrap();
    ok(&net.home("hq"), &["append", "--kind", "note", "--field", "x=1"]);
    ok(
        &net.home("hq"),
        &[
            "sync",
            "export",
            "--to",
            "alice",
            "--out",
            s(&outside.join(&hq_id).join("a.bundle")),
        ],
    );
    let outside_before = tree(&outside);
    let chains_before = snapshot(&alice.join("chains"));

    // DIR/<my id> is a symlink to the outside folder
    let usb = net.path("usb1");
    std::fs::create_dir(&usb).unwrap();
    std::os::unix::fs::symlink(&outside, usb.join(&alice_id)).unwrap();
    let (code, out, err) = run(&alice, &["--json", "xfer", s(&usb)]);
    assert_eq!(code, 1, "{out}{err}");
    let sk = skipped_of(&out);
    assert_eq!(sk.len(), 1, "{out}");
    assert_eq!(sk[0]["kind"], "unsafe", "{out}");
    assert!(sk[0]["input"].as_str().unwrap().ends_with(&alice_id), "{out}");
    assert!(
        tree(&outside) == outside_before,
        "nothing outside read away, written or deleted"
    );
    assert!(snapshot(&alice.join("chains")) == chains_before, "nothing imported");
    let left = left_of(&out);
    for peer in [&hq_id, &bob_id] {
        assert!(
            left.iter().any(|l| l.starts_with(&format!("{peer}/{alice_id}/"))),
            "everything else was done: {out}"
        );
    }

    // DIR/<peer>/<my id> is a symlink to the outside folder: alice's bundles for hq are
    // not written there (reported), bob's are
    let usb = net.path("usb2");
    std::fs::create_dir_all(usb.join(&hq_id)).unwrap();
    std::os::unix::fs::symlink(&outside, usb.join(&hq_id).join(&alice_id)).unwrap();
    ok(&alice, &["request", "--event", "audit"]);
    let (code, out, err) = run(&alice, &["--json", "xfer", s(&usb)]);
    assert_eq!(code, 1, "{out}{err}");
    let sk = skipped_of(&out);
    assert!(!sk.is_empty(), "{out}");
    for x in &sk {
        assert!(
            x["input"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{hq_id}/{alice_id}/")),
            "{out}"
        );
        assert_eq!(x["kind"], "unsafe", "{out}");
        assert!(x["message"].as_str().unwrap().contains("symlink"), "{out}");
    }
    assert!(tree(&outside) == outside_before, "nothing outside written or deleted");
    assert!(
        left_of(&out)
            .iter()
            .any(|l| l.starts_with(&format!("{bob_id}/{alice_id}/"))),
        "{out}"
    );
    assert!(err.lines().filter(|l| l.contains("skipped")).count() >= 1, "{err}");
}

/// Run `secfile` with a deadline (a FIFO must not block): (code, stdout, stderr).
fn run_with_timeout(home: &Path, args: &[&str], secs: u64) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secfile"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .env("SECFILE_LOCK_TIMEOUT", "2")
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("secfile {args:?} blocked for {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn xfer_skips_symlinked_and_fifo_bundles_part_files_and_bundles_for_others() {
    let net = Net::new(&["alice", "bob"]);
    let (hq_id, alice_id) = (net.id("hq"), net.id("alice"));
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    ok(&hq, &["append", "--kind", "note", "--field", "x=1"]);
    let outside = net.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let real = outside.join("real.bundle");
    ok(&hq, &["sync", "export", "--to", "alice", "--out", s(&real)]);
    let outside_before = tree(&outside);
    let chains_before = snapshot(&alice.join("chains"));

    let usb = net.path("usb");
    let inbox = usb.join(&alice_id).join(&hq_id);
    std::fs::create_dir_all(&inbox).unwrap();
    std::os::unix::fs::symlink(&real, inbox.join("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bundle")).unwrap();
    let st = sh(Command::new("mkfifo").arg(inbox.join("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bundle")));
    assert!(st.status.success());
    // a bundle for bob in alice's inbox
    let for_bob = inbox.join("cccccccccccccccccccccccccccccccc.bundle");
    ok(&hq, &["sync", "export", "--to", "bob", "--out", s(&for_bob)]);
    // a .part of a good bundle for alice: an interrupted visit of hq's, never imported
    std::fs::copy(&real, inbox.join("dddddddddddddddddddddddddddddddd.bundle.part")).unwrap();
    // and a .part alice's own interrupted visit left for hq
    let mine = usb.join(&hq_id).join(&alice_id);
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.bundle.part"), b"half").unwrap();

    let (code, out, err) = run_with_timeout(&alice, &["--json", "xfer", s(&usb)], 30);
    assert_eq!(code, 1, "{out}{err}");
    let sk = skipped_of(&out);
    let kind_of = |needle: &str| -> String {
        sk.iter()
            .find(|x| x["input"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle} not skipped: {out}"))["kind"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(kind_of("aaaaaaaa"), "unsafe");
    assert_eq!(kind_of("bbbbbbbb"), "unsafe");
    assert_eq!(kind_of("cccccccc"), "not-addressed");
    assert!(!out.contains("dddddddd"), "a .part is not an input: {out}");
    assert_eq!(sk.len(), 3, "{out}");
    assert!(snapshot(&alice.join("chains")) == chains_before, "nothing imported");
    assert!(tree(&outside) == outside_before, "the symlink's target untouched");
    assert!(
        !mine.join("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.bundle.part").exists(),
        "own .part removed"
    );
    assert_eq!(json(&out)["cleaned"], 1, "{out}");
    assert!(
        json(&out)["left"].as_array().unwrap().len() >= 2,
        "everything else done: {out}"
    );
    // hq's next visit removes its own .part from alice's inbox
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    assert!(j["cleaned"].as_u64().unwrap() >= 1, "{j}");
    assert!(!inbox.join("dddddddddddddddddddddddddddddddd.bundle.part").exists());
}

#[test]
fn a_damaged_file_bundle_is_kept_until_the_receipt_not_the_frontier() {
    let net = Net::new(&["alice"]);
    let (hq_id, alice_id) = (net.id("hq"), net.id("alice"));
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let usb = net.path("usb");
    std::fs::create_dir(&usb).unwrap();
    for h in [&hq, &alice, &hq] {
        ok(h, &["xfer", s(&usb)]);
    }
    let doc = net.path("doc.bin");
    std::fs::write(&doc, noise(30_000, 5)).unwrap();
    let j = ok_json(&hq, &["issue", "--to", "alice", "--attach", s(&doc)]);
    let file = j["file"].as_str().unwrap().to_string();
    let kept = PathBuf::from(j["out"].as_str().unwrap());
    let bundle = kept.file_name().unwrap().to_string_lossy().into_owned();
    let bid = bundle.strip_suffix(".bundle").unwrap().to_string();
    ok(&hq, &["xfer", s(&usb)]);
    let on_usb = usb.join(&alice_id).join(&hq_id).join(&bundle);
    assert!(on_usb.is_file());
    // damaged on the medium
    let bytes = std::fs::read(&on_usb).unwrap();
    std::fs::write(&on_usb, &bytes[..bytes.len() - 100]).unwrap();
    let (code, out, err) = run(&alice, &["--json", "xfer", s(&usb)]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        skipped_of(&out)
            .iter()
            .any(|x| x["input"].as_str().unwrap().contains(&bid)),
        "{out}"
    );
    let got = net.path("got.bin");
    let (c, _, e) = run(&alice, &["file", "extract", &file, "--out", s(&got)]);
    assert_ne!(c, 0, "the content did not arrive: {e}");
    // alice's sync bundle now shows hq's chain (the issue block) in her frontier: that is
    // not a receipt for the file bundle
    let j = ok_json(&hq, &["xfer", s(&usb)]);
    assert_eq!(j["awaiting"], 1, "{j}");
    let ob = ok_json(&hq, &["outbox"]);
    let ob = ob.as_array().unwrap();
    assert_eq!(ob.len(), 1, "kept in the outbox: {ob:?}");
    let e = &ob[0];
    for k in ["bundle", "kind", "recipient", "created", "path", "file"] {
        assert!(!e[k].is_null(), "outbox --json has {k}: {e}");
    }
    assert_eq!(e["bundle"], bid.as_str());
    assert_eq!(e["kind"], "file");
    assert_eq!(e["recipient"], alice_id.as_str());
    assert_eq!(e["file"], file.as_str());
    assert_eq!(e["path"], s(&kept));
    let again = net.path("again.bundle");
    ok(&hq, &["resend", &bid, "--out", s(&again)]);
    assert!(
        std::fs::read(&again).unwrap() == std::fs::read(&kept).unwrap(),
        "resend is byte-identical"
    );
    // the damaged copy on the medium was replaced by the kept one
    assert!(
        std::fs::read(&on_usb).unwrap() == std::fs::read(&kept).unwrap(),
        "replaced on the medium"
    );
    // alice imports it now, and her receipt empties hq's outbox
    ok(&alice, &["xfer", s(&usb)]);
    ok(&alice, &["file", "extract", &file, "--out", s(&got)]);
    assert!(
        std::fs::read(&got).unwrap() == std::fs::read(&doc).unwrap(),
        "the content arrived"
    );
    assert!(kept.exists(), "still kept until the receipt arrives");
    ok(&hq, &["xfer", s(&usb)]);
    assert!(!kept.exists(), "receipted: dropped from the outbox");
    assert!(ok_json(&hq, &["outbox"]).as_array().unwrap().is_empty());
    assert!(!on_usb.exists(), "and from the medium");
}

// ---------------------------------------------------------------------------------------
// 3. A real FAT32 medium through fusefat.
// ---------------------------------------------------------------------------------------

/// A tool on PATH, or in /usr/sbin or /sbin (mkfs.vfat lives there, off a user's PATH).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn tool_cmd(name: &str) -> Command {
    Command::new(tool(name).unwrap_or_else(|| PathBuf::from(name)))
}

/// True when FAT32 tests can run; skip rule as for the mounts, and a missing tool skips
/// outside CI (prints why) and fails in CI.
fn may_fat(what: &str) -> bool {
    if !may_mount(what) {
        return false;
    }
    for t in ["mkfs.vfat", "fsck.vfat", "fusefat", "fusermount"] {
        if tool(t).is_none() {
            if in_ci() {
                panic!("{what}: {t} not installed, and CI=true (.ci/run installs dosfstools and fusefat)");
            }
            println!("skipping {what}: {t} not installed (apt-get install dosfstools fusefat)");
            return false;
        }
    }
    true
}

/// A 64 MiB FAT32 image at `img`, formatted.
fn fat_image(img: &Path) {
    let f = std::fs::File::create(img).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let o = sh(tool_cmd("mkfs.vfat").args(["-F", "32"]).arg(img));
    assert!(o.status.success(), "mkfs.vfat: {}", String::from_utf8_lossy(&o.stderr));
}

/// Mount a FAT image read-write through fusefat (in the foreground, so that the unmount
/// can wait until it has written everything to the image).
fn fat_mount(img: &Path, dir: &Path) -> Mount {
    std::fs::create_dir_all(dir).unwrap();
    let child = tool_cmd("fusefat")
        .args(["-f", "-o", "rw+"])
        .arg(img)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run fusefat");
    let m = Mount {
        dir: dir.to_path_buf(),
        fuse: Some(child),
    };
    let needle = format!(" {} ", s(dir));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(&needle)
    {
        assert!(Instant::now() < deadline, "fusefat did not mount {}", dir.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    m
}

fn outbox_len(home: &Path) -> usize {
    ok_json(home, &["outbox"]).as_array().unwrap().len()
}

#[test]
fn fat32_round_trip_survives_remounts_and_kill_9() {
    if !may_fat("FAT32 medium") {
        return;
    }
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let img = net.path("stick.img");
    fat_image(&img);
    let mnt = net.path("stick");
    let mut m = Some(fat_mount(&img, &mnt));
    for h in [&hq, &alice, &hq] {
        ok(h, &["xfer", s(&mnt)]);
    }
    let doc = net.path("doc.bin");
    std::fs::write(&doc, noise(50_000, 1)).unwrap();
    let j = ok_json(&hq, &["issue", "--to", "alice", "--attach", s(&doc)]);
    let file = j["file"].as_str().unwrap().to_string();
    ok(&hq, &["xfer", s(&mnt)]);
    // out and in again between the visits
    drop(m.take());
    let m2 = fat_mount(&img, &mnt);
    ok(&alice, &["xfer", s(&mnt)]);
    let held = ok_json(&alice, &["file", "list"]);
    assert!(held.to_string().contains(&file), "{held}");
    assert_eq!(outbox_len(&hq), 1);
    ok(&hq, &["xfer", s(&mnt)]);
    assert_eq!(outbox_len(&hq), 0, "alice's receipt came back through the stick");

    // kill -9 in the middle of an xfer, at several delays (fractions of a whole visit,
    // plus jitter): the next visit completes, the home verifies, no temp file survives
    let t0 = Instant::now();
    ok(&hq, &["xfer", s(&mnt)]);
    let visit = t0.elapsed().as_millis() as u64;
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        % 7;
    let mut issued = vec![file];
    let mut interrupted = 0;
    for (i, pct) in [10u64, 30, 50, 70, 90].into_iter().enumerate() {
        let j = ok_json(
            &hq,
            &[
                "issue",
                "--to",
                "alice",
                "--attach",
                s(&doc),
                "--field",
                &format!("n={i}"),
            ],
        );
        issued.push(j["file"].as_str().unwrap().to_string());
        // alternately kill the sender's visit (leaving) and the recipient's (importing)
        let victim = if i % 2 == 0 { &hq } else { &alice };
        if i % 2 == 1 {
            ok(&hq, &["xfer", s(&mnt)]);
        }
        let delay = visit * pct / 100 + jitter;
        let mut c = Command::new(env!("CARGO_BIN_EXE_secfile"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
            .arg("--home")
            .arg(victim)
            .args(["xfer", s(&mnt)])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        ok(victim, &["xfer", s(&mnt)]);
        assert_eq!(run(victim, &["verify"]).0, 0, "verifies after a kill at {delay} ms");
        let tmp: Vec<_> = walkdir::WalkDir::new(victim.join("tmp"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().display().to_string())
            .collect();
        assert!(tmp.is_empty(), "temp files outlived the next command: {tmp:?}");
    }
    println!("FAT32: a visit takes {visit} ms; {interrupted} of 5 kills struck a running xfer");
    assert!(
        interrupted > 0,
        "no kill struck a running xfer (a visit takes {visit} ms)"
    );
    // the last rounds deliver everything; nothing was lost
    for h in [&hq, &alice, &hq, &alice, &hq] {
        ok(h, &["xfer", s(&mnt)]);
    }
    for (k, f) in issued.iter().enumerate() {
        let got = net.path(&format!("got{k}.bin"));
        ok(&alice, &["file", "extract", f, "--out", s(&got)]);
        assert!(
            std::fs::read(&got).unwrap() == std::fs::read(&doc).unwrap(),
            "{f} reached alice whole"
        );
    }
    assert_eq!(outbox_len(&hq), 0, "every receipt came back");
    for h in [&hq, &alice] {
        ok(h, &["verify"]);
    }
    // nothing half-written stays on the stick
    for e in walkdir::WalkDir::new(&mnt).into_iter().filter_map(Result::ok) {
        assert!(
            !e.file_name().to_string_lossy().ends_with(".part"),
            "{}",
            e.path().display()
        );
    }
    drop(m2);
    let o = sh(tool_cmd("fsck.vfat").arg("-n").arg(&img));
    assert!(
        o.status.success(),
        "the FAT image is consistent: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_bundle_over_4_gib_fails_on_fat32_before_anything_is_consumed() {
    if !may_fat("FAT32 4 GiB limit") {
        return;
    }
    let net = Net::new(&["alice"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let (hq_id, alice_id) = (net.id("hq"), net.id("alice"));
    let img = net.path("stick.img");
    fat_image(&img);
    let mnt = net.path("stick");
    let _m = fat_mount(&img, &mnt);
    // a real bundle for hq on the medium
    ok(&alice, &["append", "--kind", "note", "--field", "a=1"]);
    let dir = mnt.join(&hq_id).join(&alice_id);
    std::fs::create_dir_all(&dir).unwrap();
    let real = dir.join("0123456789abcdef0123456789abcdef.bundle");
    ok(&alice, &["sync", "export", "--to", "hq", "--out", s(&real)]);
    let real_bytes = std::fs::read(&real).unwrap();
    // a fake outbox entry over 4 GiB (sparse: no data written)
    let id = "fedcba9876543210fedcba9876543210";
    let ob = hq.join("outbox").join(&alice_id);
    std::fs::create_dir_all(&ob).unwrap();
    let big = ob.join(format!("{id}.bundle"));
    std::fs::File::create(&big)
        .unwrap()
        .set_len((4u64 << 30) + (100 << 20))
        .unwrap();
    std::fs::write(
        ob.join(format!("{id}.yaml")),
        format!("bundle: {id}\nkind: file\nrecipient: {alice_id}\ncreated: 2026-11-23T12:00:00Z\narmor: false\n"),
    )
    .unwrap();
    assert_eq!(outbox_len(&hq), 1, "the fake entry is listed");
    let chains = snapshot(&hq.join("chains"));
    let (code, out, err) = run(&hq, &["--json", "xfer", s(&mnt)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(json(&out)["error"]["kind"], "limit", "{out}");
    assert_one_error_line(&err, &[id, "4 GiB"]);
    assert_eq!(
        std::fs::read(&real).unwrap(),
        real_bytes,
        "the bundle for hq is still there"
    );
    assert!(snapshot(&hq.join("chains")) == chains, "nothing imported");
    std::fs::remove_file(&big).unwrap();
    std::fs::remove_file(ob.join(format!("{id}.yaml"))).unwrap();
    // with it gone, the visit works
    ok(&hq, &["xfer", s(&mnt)]);
    assert!(!real.exists(), "imported and removed");
}

#[test]
fn is_fat_recognises_a_fusefat_mount() {
    if !may_fat("FAT detection") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("img");
    fat_image(&img);
    let mnt = d.path().join("mnt");
    let _m = fat_mount(&img, &mnt);
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info.lines().find(|l| l.contains(s(&mnt))).unwrap();
    assert!(
        line.contains(" - fuse.fusefat "),
        "fusefat's fstype in mountinfo: {line}"
    );
}
