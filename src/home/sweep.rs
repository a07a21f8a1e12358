//! Temp files never outlive the next command (DESIGN §4): [`sweep_temps`] removes what a
//! killed process left behind — `.tmp-*` files and folders beside store targets and in
//! `tmp/`, and `.secfile-init-*` folders of an `init` that did not finish (they hold secret
//! keys). It runs under the home's lock (today from `Node::lock`; the transaction layer's
//! recovery calls it too). Commands that do not take the lock only write derived caches
//! in `state/`; losing such a temp file to a sweep costs them the cache write, nothing else.
//!
//! An `init` builds the new home in a sibling `.secfile-init-*` folder and holds a `flock`
//! on [`INIT_LOCK`] inside it while it works: a folder whose lock can be taken belongs to
//! no live process and is removed (a folder without the lock file, only once it is older
//! than [`INIT_GRACE`], so an init that has just made its folder is left alone).
use super::Home;
use crate::error::Result;
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

/// The prefix of every temp file and folder in a home.
pub const TMP_PREFIX: &str = ".tmp-";
/// The prefix of the folder an `init` builds the home in.
pub const INIT_PREFIX: &str = ".secfile-init-";
/// The lock file inside an init folder, held (flock) while init runs.
pub const INIT_LOCK: &str = ".init-lock";
/// How old an init folder without its lock file must be before it counts as stale.
pub const INIT_GRACE: Duration = Duration::from_secs(60);

/// Directories of a home where store writes leave temp files beside their targets.
fn temp_dirs(home: &Home) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![
        home.root.clone(),
        home.tmp_dir(),
        home.state_dir(),
        home.peers_dir(),
        home.keys_dir(),
        home.chains_dir(),
        home.pending_dir(),
        home.forks_dir(),
        home.outbox_dir(),
        home.path("files"),
        home.path("requests"),
    ];
    for parent in ["chains", "pending", "forks", "outbox", "files", "requests"] {
        if let Ok(rd) = std::fs::read_dir(home.path(parent)) {
            dirs.extend(
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    dirs
}

/// Remove leftover temp files of `home` (the caller holds the lock), make sure `tmp/`
/// exists (0700), and remove stale `.secfile-init-*` folders beside the home. Returns how
/// many entries were removed. Best effort: an entry that cannot be removed is left.
pub fn sweep_temps(home: &Home) -> Result<usize> {
    let mut removed = 0;
    for d in temp_dirs(home) {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            if !e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                continue;
            }
            let p = e.path();
            let ok = match e.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p).is_ok(),
                _ => std::fs::remove_file(&p).is_ok(),
            };
            removed += usize::from(ok);
        }
    }
    if home.root.is_dir() {
        super::ensure_dir(&home.tmp_dir())?;
    }
    if let Some(parent) = home.root.parent().filter(|p| !p.as_os_str().is_empty()) {
        removed += sweep_init_dirs(parent);
    }
    Ok(removed)
}

/// Remove `.secfile-init-*` folders in `parent` that no live `init` holds.
pub fn sweep_init_dirs(parent: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(parent) else { return 0 };
    let mut removed = 0;
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with(INIT_PREFIX) || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let p = e.path();
        let stale = match OpenOptions::new().write(true).open(p.join(INIT_LOCK)) {
            // the kernel releases the lock when its init dies
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > INIT_GRACE),
        };
        if stale && std::fs::remove_dir_all(&p).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Take the lock of an init folder (held for as long as the file lives).
pub fn lock_init_dir(dir: &Path) -> Result<File> {
    let p = dir.join(INIT_LOCK);
    let mut o = OpenOptions::new();
    o.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = crate::error::IoContext::at(o.open(&p), &p)?;
    crate::error::IoContext::at(f.try_lock().map_err(std::io::Error::from), &p)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_temps_go_and_store_files_stay() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path().join("home"));
        home.create_layout().unwrap();
        let keep = home.chain_dir("0123456789abcdef").join("0000000000.yaml");
        for f in [
            keep.clone(),
            home.chain_dir("0123456789abcdef").join(".tmp-abc"),
            home.path("files/f1/.tmp-x"),
            home.state_dir().join(".tmp-q"),
            home.root.join(".tmp-r"),
            home.tmp_dir().join(".tmp-dir/stdin"),
            home.path("outbox/0123456789abcdef/.tmp-b"),
        ] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, b"x").unwrap();
        }
        assert_eq!(sweep_temps(&home).unwrap(), 6);
        assert!(keep.exists());
        let left: Vec<_> = walkdir::WalkDir::new(&home.root)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn init_folders_go_unless_their_init_lives() {
        let d = tempfile::tempdir().unwrap();
        let dead = d.path().join(".secfile-init-dead");
        let live = d.path().join(".secfile-init-live");
        let young = d.path().join(".secfile-init-young");
        for p in [&dead, &live, &young] {
            std::fs::create_dir(p).unwrap();
        }
        std::fs::write(dead.join(INIT_LOCK), b"").unwrap();
        std::fs::write(dead.join("age.key"), b"secret").unwrap();
        let _held = lock_init_dir(&live).unwrap();
        assert_eq!(sweep_init_dirs(d.path()), 1);
        assert!(!dead.exists() && live.exists() && young.exists());
    }
}
