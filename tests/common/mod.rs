//! Shared test helpers: sealed homes in temp dirs, a fixed clock, and a consortium builder.
#![allow(dead_code)]
use assert_cmd::Command;
use std::path::{Path, PathBuf};
pub mod craft;

/// A `secfile` command with a cleared environment and a fixed clock.
pub fn secfile() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secfile"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .env("SECFILE_LOCK_TIMEOUT", "2");
    c
}

/// `secfile --home HOME args…`
pub fn at(home: &Path, args: &[&str]) -> Command {
    let mut c = secfile();
    c.arg("--home").arg(home).args(args);
    c
}

/// Run and return stdout, asserting success.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = at(home, args).output().expect("run secfile");
    assert!(
        out.status.success(),
        "secfile {args:?} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// Run and return (exit code, stdout, stderr).
pub fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = at(home, args).output().expect("run secfile");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A consortium in a temp dir: a master `hq` and members, all admitted and synced.
pub struct Net {
    pub dir: tempfile::TempDir,
}

impl Net {
    /// Master `hq` plus the named members, each admitted; every member has imported the
    /// master's sync bundle (so it has seen its admission).
    pub fn new(members: &[&str]) -> Net {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = Net { dir };
        let m = n.home("hq");
        ok(&m, &["init", "--name", "hq", "--role", "master"]);
        let mcard = n.path("hq.card");
        ok(&m, &["card", "--out", mcard.to_str().unwrap()]);
        for name in members {
            let h = n.home(name);
            ok(
                &h,
                &[
                    "init",
                    "--name",
                    name,
                    "--role",
                    "member",
                    "--master",
                    mcard.to_str().unwrap(),
                ],
            );
            let card = n.path(&format!("{name}.card"));
            ok(&h, &["card", "--out", card.to_str().unwrap()]);
            ok(&m, &["roster", "admit", card.to_str().unwrap()]);
        }
        for name in members {
            n.sync("hq", name);
        }
        n
    }

    pub fn home(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Export from `from` to `to` and import at `to`; returns the bundle path.
    pub fn sync(&self, from: &str, to: &str) -> PathBuf {
        let b = self.path(&format!("{from}-to-{to}-{}.bundle", rand_suffix()));
        ok(
            &self.home(from),
            &["sync", "export", "--to", to, "--out", b.to_str().unwrap()],
        );
        ok(&self.home(to), &["sync", "import", b.to_str().unwrap()]);
        b
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Every file under a directory with its bytes, for byte-identical comparisons.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "lock")
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// Helpers for tests/cli.rs and tests/bad_input.rs (end-to-end and bad-input tests).
// ---------------------------------------------------------------------------------------

/// Run a prepared command and return (exit code, stdout, stderr).
pub fn output(mut c: Command) -> (i32, String, String) {
    let out = c.output().expect("run secfile");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parse a `--json` document from stdout.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

/// A JSON array of strings (`out`, `left`, `confirmed`…) as strings; panics on anything else.
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    let a = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    a.iter()
        .map(|x| x.as_str().unwrap_or_else(|| panic!("not a string: {x}")).to_string())
        .collect()
}

/// `secfile --json --home HOME args…`, asserting success, parsed.
pub fn ok_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    json(&ok(home, &a))
}

/// Assert that stderr is one `secfile: error:` line (plus optional `hint:` lines) and that
/// the line mentions every one of `needles`.
pub fn assert_one_error_line(stderr: &str, needles: &[&str]) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("hint: ")).collect();
    assert_eq!(lines.len(), 1, "want one error line (plus hints), got:\n{stderr}");
    assert!(lines[0].starts_with("secfile: error: "), "not an error line: {stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "error line does not mention {n:?}: {}", lines[0]);
    }
}

/// Assert a run failed with exactly `code`, one error line mentioning `needles`, and left
/// `home` byte-identical to `before`.
pub fn assert_refused(
    r: (i32, String, String),
    code: i32,
    needles: &[&str],
    home: &Path,
    before: &[(PathBuf, Vec<u8>)],
) {
    let (c, _out, err) = r;
    assert_eq!(c, code, "want exit {code} for {needles:?}, got {c}; stderr:\n{err}");
    assert_one_error_line(&err, needles);
    let after = snapshot(home);
    let changed: Vec<_> = after
        .iter()
        .filter(|x| !before.contains(x))
        .chain(before.iter().filter(|x| !after.contains(x)))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        changed.is_empty(),
        "home {} changed ({needles:?}): {changed:?}",
        home.display()
    );
}

/// Put a directory back to a [`snapshot`]: files not in it are removed, the others rewritten.
pub fn restore(dir: &Path, snap: &[(PathBuf, Vec<u8>)]) {
    for (p, _) in snapshot(dir) {
        if !snap.iter().any(|(q, _)| *q == p) {
            std::fs::remove_file(&p).unwrap();
        }
    }
    for (p, b) in snap {
        std::fs::write(p, b).unwrap();
    }
}

/// A copy of `bytes` with the byte at `at` XOR `mask`.
pub fn flipped(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= mask;
    b
}

/// True when the tests run as root (which ignores file permissions).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A path as &str (temp paths are UTF-8 here).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Net {
    /// Make a sync bundle from `from` to `to` at `file` (in the net's dir) without importing it.
    pub fn export(&self, from: &str, to: &str, file: &str) -> PathBuf {
        let b = self.path(file);
        ok(&self.home(from), &["sync", "export", "--to", to, "--out", s(&b)]);
        b
    }

    /// The node id of a home.
    pub fn id(&self, name: &str) -> String {
        ok_json(&self.home(name), &["status"])["id"]
            .as_str()
            .expect("status --json has id")
            .to_string()
    }
}

// ---- fixtures helpers (fixtures/ and the tamper tables) ----

/// The committed `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copy a directory tree: regular files and directories, symlinks as symlinks. Entries whose
/// path relative to `src` is in `skip` (e.g. `lock`, `tmp`) and `.tmp-*` files are left out.
pub fn copy_tree(src: &Path, dst: &Path, skip: &[&str]) {
    std::fs::create_dir_all(dst).expect("create dir");
    for e in walkdir::WalkDir::new(src).min_depth(1).sort_by_file_name() {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(src).expect("under src");
        if skip.iter().any(|s| rel.starts_with(s)) || e.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let to = dst.join(rel);
        let ft = e.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&to).expect("create dir");
        } else if ft.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).expect("readlink"), &to).expect("symlink");
        } else if ft.is_file() {
            std::fs::copy(e.path(), &to).unwrap_or_else(|err| panic!("copy {}: {err}", e.path().display()));
        } else {
            panic!("{}: cannot copy a special file", e.path().display());
        }
    }
}

/// Copy a committed fixture home to `dst` (never work in `fixtures/` itself) and restore
/// what git does not keep: secret keys mode 0600 and `keys/` mode 0700.
pub fn copy_fixture_home(src: &Path, dst: &Path) {
    copy_tree(src, dst, &["lock", "tmp"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys = dst.join("keys");
        if keys.is_dir() {
            std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            for name in ["age.key", "minisign.key"] {
                let p = keys.join(name);
                if p.exists() {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
                }
            }
        }
    }
}

// ---- stock tools and the docs/formats.md recipes (interop tests) ----

/// True when every tool is on PATH. Outside CI a missing tool skips (prints the reason);
/// with `CI=true` it fails.
pub fn stock_tools(names: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for t in names {
        if !std::env::split_paths(&path).any(|d| d.join(t).is_file()) {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{t} not installed, and CI=true: the interop tests need it (.ci/run installs minisign and age)");
            }
            println!("skipping: {t} not installed");
            return false;
        }
    }
    true
}

/// docs/formats.md.
pub fn formats_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/formats.md")).expect("docs/formats.md")
}

/// The shell block that follows `<!-- recipe:NAME -->` in docs/formats.md.
pub fn recipe(name: &str) -> String {
    let doc = formats_md();
    let marker = format!("<!-- recipe:{name} -->\n```sh\n");
    assert_eq!(
        doc.matches(&marker).count(),
        1,
        "docs/formats.md: recipe {name} must appear once"
    );
    let start = doc.find(&marker).unwrap() + marker.len();
    let len = doc[start..].find("\n```\n").expect("recipe fence closes");
    doc[start..start + len + 1].to_string()
}

/// Run a recipe with `sh -c` in `cwd` with its input variables.
pub fn run_recipe(name: &str, cwd: &Path, vars: &[(&str, &Path)]) -> std::process::Output {
    std::fs::create_dir_all(cwd).unwrap();
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(recipe(name))
        .current_dir(cwd)
        .stdin(std::process::Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().expect("run sh")
}

/// Give a file mode 0600 (as the home's files are).
pub fn set_private(p: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}
