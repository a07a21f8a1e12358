//! Shared test helpers: sealed homes in temp dirs, a fixed clock, and a consortium builder.
#![allow(dead_code)]
use assert_cmd::Command;
use std::path::{Path, PathBuf};

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
        "secfile {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
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
