//! Atomic writes: temp file in the target directory, fsync, rename, fsync the directory.
use crate::error::{IoContext, Result};
use std::io::Write;
use std::path::Path;

/// Write `data` to `path` atomically. Files are created mode 0600 (tempfile's mode, which
/// no umask widens) and stay so: the home is private (DESIGN §4). Missing directories are
/// made 0700 ([`super::ensure_dir`]).
pub fn atomic_write(path: &Path, data: &[u8]) -> Result<()> {
    atomic_write_with(path, |w| w.write_all(data))
}

/// Like [`atomic_write`], but the content is produced by a closure writing to the temp file.
pub fn atomic_write_with(path: &Path, f: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    let (dir, mut tmp) = temp_beside(path)?;
    f(tmp.as_file_mut()).at(path)?;
    tmp.as_file_mut().flush().at(path)?;
    tmp.as_file().sync_all().at(path)?;
    tmp.persist(path).map_err(|e| crate::Error::io(path, e.error))?;
    fsync_dir(dir)
}

/// Write a file outside the home (`--out F`) atomically, as [`atomic_write_with`] but
/// never creating its directory: a missing one is an I/O error naming it (exit 3).
pub fn write_out_with(path: &Path, f: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(crate::Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory (for --out; secfile never creates it)",
            ),
        ));
    }
    atomic_write_with(path, f)
}

/// Replace a derived cache file (`state/sigcache`, `state/index`): temp file and rename,
/// so readers see the old or the new file whole, but no fsync — after a crash the cache
/// may be the old one, or empty, which only costs the next command time (an index carries
/// its own checksum; an empty or shorter signature cache trusts less, never more).
pub fn write_cache(path: &Path, data: &[u8]) -> Result<()> {
    let (_, mut tmp) = temp_beside(path)?;
    tmp.as_file_mut().write_all(data).at(path)?;
    tmp.persist(path).map_err(|e| crate::Error::io(path, e.error))?;
    Ok(())
}

/// A temp file in `path`'s directory (made if need be), and that directory.
fn temp_beside(path: &Path) -> Result<(&Path, tempfile::NamedTempFile)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    super::ensure_dir(dir)?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).at(dir)?;
    Ok((dir, tmp))
}

/// fsync a directory so a rename in it is durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir).and_then(|f| f.sync_all()).at(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b.txt");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // no temp files left behind
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn out_never_creates_its_directory() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing/x.bundle");
        let e = write_out_with(&p, |w| w.write_all(b"x")).unwrap_err();
        assert_eq!(e.class(), crate::error::Class::Io);
        assert!(e.to_string().contains("missing"), "{e}");
        assert!(!d.path().join("missing").exists());
        write_out_with(&d.path().join("x"), |w| w.write_all(b"x")).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn every_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("files/x/manifest.yaml");
        atomic_write(&p, b"s").unwrap();
        write_cache(&d.path().join("state/index"), b"i").unwrap();
        for f in [p, d.path().join("state/index")] {
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let dm = std::fs::metadata(d.path().join("files/x"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dm, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn keys_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keys/secret");
        atomic_write(&p, b"s").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
