//! The journal of a transaction (see `docs/transactions.md`): what a commit makes visible,
//! written whole before anything is, so that whatever point a process dies at, the next
//! command finishes the commit (journal present) or undoes it (journal absent).
//!
//! ```text
//! tmp/tx/                 the one staging directory of a home (the lock is held)
//! tmp/tx/s<N>             staged files, fsynced
//! tmp/tx/outside.json     temp files this transaction made outside the home (beside a
//!                         --out target), recorded before they are made
//! tmp/tx/journal.json     the commit point: written atomically once everything is staged
//! ```
use crate::error::{Error, IoContext, Result};
use crate::home::Home;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const STAGE: &str = "tmp/tx";
pub const JOURNAL: &str = "journal.json";
pub const OUTSIDE: &str = "outside.json";

/// One effect of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Op {
    /// Rename the staged file `staged` (a name in the staging directory) to `dest`, a path
    /// relative to the home.
    Put { staged: String, dest: String },
    /// Remove `path` (relative to the home) if it exists.
    Remove { path: String },
    /// Rename a temp file made beside an outside target into place (paths as hex of
    /// their bytes: an outside path need not be UTF-8).
    Out { staged: String, dest: String },
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub ops: Vec<Op>,
}

/// A path relative to the home is safe to join: plain components only, none hidden.
pub fn is_home_rel(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

pub fn path_hex(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    crate::digest::hex(p.as_os_str().as_bytes())
}

pub fn path_from_hex(s: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if !s.len().is_multiple_of(2) || !crate::digest::is_lower_hex(s) {
        return None;
    }
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect::<Option<_>>()?;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
}

impl Journal {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("journal serialises")
    }
    pub fn decode(bytes: &[u8]) -> Option<Journal> {
        let j: Journal = serde_json::from_slice(bytes).ok()?;
        let ok = j.ops.iter().all(|op| match op {
            Op::Put { staged, dest } => is_home_rel(staged) && !staged.contains('/') && is_home_rel(dest),
            Op::Remove { path } => is_home_rel(path),
            Op::Out { staged, dest } => path_from_hex(staged).is_some() && path_from_hex(dest).is_some(),
        });
        ok.then_some(j)
    }
}

/// Make visible what `journal` says. Every step may already have been done (a commit that
/// a crash interrupted): a staged file that is gone was renamed before.
pub fn apply(home: &Home, journal: &Journal) -> Result<()> {
    let stage = home.path(STAGE);
    let mut dirs: Vec<PathBuf> = Vec::new();
    for op in &journal.ops {
        match op {
            Op::Put { staged, dest } => {
                let from = stage.join(staged);
                let to = home.path(dest);
                if from.exists() {
                    let dir = to.parent().expect("home paths have parents").to_path_buf();
                    crate::home::ensure_dir(&dir)?;
                    std::fs::rename(&from, &to).at(&to)?;
                    dirs.push(dir);
                }
            }
            Op::Remove { path } => {
                let p = home.path(path);
                match std::fs::remove_file(&p) {
                    Ok(()) => dirs.push(p.parent().expect("home paths have parents").to_path_buf()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
            Op::Out { staged, dest } => {
                let (from, to) = (
                    path_from_hex(staged).expect("checked"),
                    path_from_hex(dest).expect("checked"),
                );
                if from.exists() {
                    std::fs::rename(&from, &to).at(&to)?;
                    let dir = to.parent().filter(|p| !p.as_os_str().is_empty());
                    dirs.push(dir.map_or_else(|| ".".into(), Path::to_path_buf));
                }
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        crate::home::fsync_dir(d)?;
    }
    Ok(())
}

/// The file that exists while a process holds the home's lock (see
/// [`crate::home::Lock::mark`]): found by the next holder, the last one died.
pub fn in_use_marker(home: &Home) -> PathBuf {
    home.tmp_dir().join(".in-use")
}

/// [`recover`], then, when the last holder of the lock died (its marker is still there),
/// remove the temp files it may have left ([`crate::home::sweep_temps`]). A sweep lists
/// every store directory, so it runs only then, not on every command. The caller holds
/// the lock.
pub fn recover_all(home: &Home) -> Result<Option<&'static str>> {
    let done = recover(home)?;
    let marker = in_use_marker(home);
    if marker.exists() {
        let _ = crate::home::sweep_temps(home);
        let _ = std::fs::remove_file(marker);
    }
    Ok(done)
}

/// Finish or undo whatever transaction a dead process left (the caller holds the lock).
/// Returns what was done, for a status line.
pub fn recover(home: &Home) -> Result<Option<&'static str>> {
    let stage = home.path(STAGE);
    if !stage.exists() {
        return Ok(None);
    }
    let jp = stage.join(JOURNAL);
    let done = match std::fs::read(&jp) {
        Ok(bytes) => match Journal::decode(&bytes) {
            Some(j) => {
                apply(home, &j)?;
                "finished an interrupted change of this home"
            }
            None => "undid an interrupted change of this home (unreadable journal)",
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // not committed: the temp files it made outside the home go too
            if let Ok(b) = std::fs::read(stage.join(OUTSIDE)) {
                if let Ok(list) = serde_json::from_slice::<Vec<String>>(&b) {
                    for p in list.iter().filter_map(|h| path_from_hex(h)) {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
            "undid an interrupted change of this home"
        }
        Err(e) => return Err(Error::io(&jp, e)),
    };
    std::fs::remove_dir_all(&stage).at(&stage)?;
    crate::home::fsync_dir(&home.tmp_dir())?;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_refuses_escapes() {
        let j = Journal {
            ops: vec![
                Op::Put {
                    staged: "s1".into(),
                    dest: "chains/0123456789abcdef/0000000001.yaml".into(),
                },
                Op::Remove {
                    path: "pending/x/0000000001-ab.yaml".into(),
                },
                Op::Out {
                    staged: path_hex(Path::new("/tmp/.x.tmp")),
                    dest: path_hex(Path::new("/tmp/x")),
                },
            ],
        };
        assert_eq!(Journal::decode(&j.encode()), Some(j));
        for bad in [
            r#"{"ops":[{"op":"put","staged":"s1","dest":"../etc/passwd"}]}"#,
            r#"{"ops":[{"op":"put","staged":"a/b","dest":"chains/x"}]}"#,
            r#"{"ops":[{"op":"remove","path":"/etc/passwd"}]}"#,
            r#"{"ops":[{"op":"remove","path":"chains/.."}]}"#,
            r#"{"ops":[{"op":"out","staged":"zz","dest":"00"}]}"#,
        ] {
            assert_eq!(Journal::decode(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(
            path_from_hex(&path_hex(Path::new("/a b/ü"))).unwrap(),
            Path::new("/a b/ü")
        );
    }

    #[test]
    fn recover_finishes_a_journal_and_undoes_without_one() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        let stage = home.path(STAGE);
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::write(stage.join("s0"), b"one").unwrap();
        std::fs::write(home.path("old"), b"old").unwrap();
        let j = Journal {
            ops: vec![
                Op::Put {
                    staged: "s0".into(),
                    dest: "a/b/c".into(),
                },
                Op::Remove { path: "old".into() },
            ],
        };
        std::fs::write(stage.join(JOURNAL), j.encode()).unwrap();
        assert!(recover(&home).unwrap().is_some());
        assert_eq!(std::fs::read(home.path("a/b/c")).unwrap(), b"one");
        assert!(!home.path("old").exists() && !stage.exists());
        // applied twice (a crash during recovery): the same result
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::write(stage.join(JOURNAL), j.encode()).unwrap();
        recover(&home).unwrap();
        assert_eq!(std::fs::read(home.path("a/b/c")).unwrap(), b"one");
        // no journal: staged files and outside temps are dropped, nothing is made visible
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::write(stage.join("s0"), b"two").unwrap();
        let outside = d.path().join("out.tmp");
        std::fs::write(&outside, b"x").unwrap();
        std::fs::write(stage.join(OUTSIDE), serde_json::to_vec(&[path_hex(&outside)]).unwrap()).unwrap();
        recover(&home).unwrap();
        assert_eq!(std::fs::read(home.path("a/b/c")).unwrap(), b"one");
        assert!(!outside.exists() && !stage.exists());
        assert_eq!(recover(&home).unwrap(), None);
    }
}
