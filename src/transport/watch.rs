//! `watch DIR`: the trigger event made real. A file is *complete* when two looks an
//! interval apart find it with the same size and modification time (a file renamed into
//! DIR is complete at once by that rule too); each complete file becomes one request
//! with that attachment, queued in the outbox. `watched.yaml` in the home remembers every
//! (name, SHA-256) made into a request, written in the same transaction as the request,
//! so a file is never requested twice, whatever the crash.
use crate::error::{Error, IoContext, Result};
use crate::home::Home;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub request: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watched {
    pub done: Vec<Done>,
}

pub fn path(home: &Home) -> PathBuf {
    home.path("watched.yaml")
}

impl Watched {
    /// The record of a home. An unreadable one is an error, not an empty list: an empty
    /// list would request every file again.
    pub fn load(home: &Home) -> Result<Watched> {
        let p = path(home);
        match std::fs::read(&p) {
            Ok(b) => serde_yaml::from_slice(&b)
                .map_err(|e| Error::rejected(p.display(), "malformed", format!("bad watch record: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Watched::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        serde_yaml::to_string(self)
            .expect("watch record serialises")
            .into_bytes()
    }
    pub fn contains(&self, name: &str, sha256: &str) -> bool {
        self.done.iter().any(|d| d.name == name && d.sha256 == sha256)
    }
}

/// What one look at DIR found: the regular files (name → size, mtime in ns) and the
/// entries that cannot be read as files (name → why). Hidden files and names ending in
/// `.part`, `.tmp` or `~` (files still being written by their maker) are ignored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Look {
    pub files: BTreeMap<String, (u64, i128)>,
    pub problems: BTreeMap<String, String>,
}

pub fn look(dir: &Path) -> Result<Look> {
    let mut l = Look::default();
    for e in std::fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp") || name.ends_with('~') {
            continue;
        }
        match std::fs::symlink_metadata(e.path()) {
            Ok(m) if m.is_file() => {
                use std::os::unix::fs::MetadataExt;
                let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
                l.files.insert(name, (m.len(), mtime));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                l.problems.insert(
                    name,
                    "not a regular file (symlinks, FIFOs and devices are not read)".into(),
                );
            }
            Err(er) => {
                l.problems.insert(name, er.to_string());
            }
        }
    }
    Ok(l)
}

/// The files complete by the rule: found with the same size and mtime by both looks.
pub fn complete(before: &Look, now: &Look) -> Vec<String> {
    now.files
        .iter()
        .filter(|(n, v)| before.files.get(*n) == Some(v))
        .map(|(n, _)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_complete_when_two_looks_agree() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.pdf"), b"one").unwrap();
        std::fs::write(d.path().join(".hidden"), b"x").unwrap();
        std::fs::write(d.path().join("b.part"), b"x").unwrap();
        let first = look(d.path()).unwrap();
        assert_eq!(first.files.keys().collect::<Vec<_>>(), ["a.pdf"]);
        std::fs::write(d.path().join("b.pdf"), b"new").unwrap();
        let second = look(d.path()).unwrap();
        assert_eq!(
            complete(&first, &second),
            ["a.pdf"],
            "b.pdf was not there the first time"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("a.pdf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b" more"))
            .unwrap();
        let third = look(d.path()).unwrap();
        assert_eq!(complete(&second, &third), ["b.pdf"], "a.pdf grew");
    }
}
