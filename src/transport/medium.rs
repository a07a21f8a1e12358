//! A spool directory on a mounted medium (a USB stick), read and written only beneath its
//! root: every component below the root is opened relative to its parent with
//! `O_NOFOLLOW`, so a symlink planted on the medium is never followed out of it (a
//! symlinked folder or file is reported, not used), and nothing outside is written or
//! deleted. Files are written as `<name>.part`, fsynced, then renamed.
use crate::error::{Error, IoContext, Result};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The largest file FAT32 holds: 4 GiB - 1 byte.
pub const FAT32_MAX_FILE: u64 = u32::MAX as u64;

pub struct Medium {
    root: OwnedFd,
    pub path: PathBuf,
}

/// A name that may be used on the medium: no separators, not `.`/`..`, not hidden.
pub fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

fn io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

impl Medium {
    /// Open the spool's root (the path given may itself be a symlink: it is the mount
    /// point the operator chose).
    pub fn open(path: &Path) -> Result<Medium> {
        let root = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|_| {
            Error::Env(format!(
                "{}: spool directory does not exist (is the medium mounted?)",
                path.display()
            ))
        })?;
        Ok(Medium {
            root,
            path: path.to_path_buf(),
        })
    }

    /// How a path on the medium is named in messages.
    pub fn label(&self, comps: &[&str]) -> String {
        let mut p = self.path.clone();
        for c in comps {
            p.push(c);
        }
        p.display().to_string()
    }

    /// The directory `comps` beneath the root, never through a symlink; made (0700) when
    /// `create`. `Ok(None)` when it does not exist.
    pub fn dir(&self, comps: &[&str], create: bool) -> std::io::Result<Option<OwnedFd>> {
        let mut fd = rustix::fs::openat(
            &self.root,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io)?;
        for c in comps {
            if !is_plain_name(c) {
                return Err(std::io::Error::other(format!("{c:?}: not a plain name")));
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let next = match rustix::fs::openat(&fd, *c, flags, Mode::empty()) {
                Ok(f) => f,
                Err(rustix::io::Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, *c, Mode::from_bits_truncate(0o700)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(io(e)),
                    }
                    rustix::fs::openat(&fd, *c, flags, Mode::empty()).map_err(io)?
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(io(e)),
            };
            fd = next;
        }
        Ok(Some(fd))
    }

    /// The entries of a directory beneath the root: (name, is a regular file, is a
    /// directory), symlinks and other kinds reported as neither. Sorted by name.
    pub fn list(&self, comps: &[&str]) -> std::io::Result<Vec<(String, FileType)>> {
        let Some(fd) = self.dir(comps, false)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in rustix::fs::Dir::read_from(&fd).map_err(io)? {
            let e = e.map_err(io)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let mut t = e.file_type();
            if t == FileType::Unknown {
                t = rustix::fs::statat(&fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode))
                    .unwrap_or(FileType::Unknown);
            }
            out.push((name, t));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Open a regular file beneath the root for reading (no symlink, no FIFO: refused
    /// without blocking).
    pub fn open_file(&self, comps: &[&str], name: &str) -> std::io::Result<std::fs::File> {
        let dir = self
            .dir(comps, false)?
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        if !is_plain_name(name) {
            return Err(std::io::Error::other(format!("{name:?}: not a plain name")));
        }
        let fd = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io)?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(std::fs::File::from(fd))
    }

    /// A path that reopens an open file whatever happens to its name (`/proc/self/fd`).
    pub fn fd_path(f: &std::fs::File) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", f.as_fd().as_raw_fd()))
    }

    /// Copy `src` to `comps/name` as `name.part`, fsync, rename, fsync the directory.
    pub fn put(&self, comps: &[&str], name: &str, src: &Path) -> Result<()> {
        let label = self.label(&[comps, &[name]].concat());
        let dir = self.dir(comps, true).at(&label)?.expect("created");
        let part = format!("{name}.part");
        let fd = rustix::fs::openat(
            &dir,
            part.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map_err(io)
        .at(&label)?;
        let mut to = std::fs::File::from(fd);
        let from = std::fs::File::open(src).at(src)?;
        let bar = crate::progress::task(
            "writing to the medium",
            from.metadata().ok().map(|m| m.len()),
            crate::progress::Unit::Bytes,
        );
        std::io::copy(&mut crate::progress::Reader::new(from, &bar), &mut to).at(&label)?;
        to.flush().at(&label)?;
        to.sync_all().at(&label)?;
        drop(to);
        rustix::fs::renameat(&dir, part.as_str(), &dir, name)
            .map_err(io)
            .at(&label)?;
        rustix::fs::fsync(&dir).map_err(io).at(&label)?;
        Ok(())
    }

    /// Remove `comps/name` (a file, never through a symlink); absent is fine.
    pub fn remove(&self, comps: &[&str], name: &str) -> std::io::Result<()> {
        let Some(dir) = self.dir(comps, false)? else {
            return Ok(());
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// True when `comps/name` is a regular file with exactly the bytes of `want`.
    pub fn holds_copy_of(&self, comps: &[&str], name: &str, want: &Path) -> bool {
        let Ok(f) = self.open_file(comps, name) else {
            return false;
        };
        let (Ok(m), Ok(w)) = (f.metadata(), std::fs::metadata(want)) else {
            return false;
        };
        if m.len() != w.len() {
            return false;
        }
        let (Ok(a), Ok(b)) = (
            crate::digest::sha256_reader(f),
            std::fs::File::open(want).and_then(crate::digest::sha256_reader),
        ) else {
            return false;
        };
        a == b
    }

    /// True when the medium is a FAT filesystem (files at most 4 GiB - 1): the kernel's
    /// vfat/msdos, or FAT through FUSE, as `/proc/self/mountinfo` says (fusefat mounts as
    /// `fuse.fusefat`; its statfs type is FUSE's, so the fstype string decides;
    /// `tests/faults.rs` checks it on a real fusefat mount).
    pub fn is_fat(&self) -> bool {
        if rustix::fs::fstatfs(&self.root).is_ok_and(|s| s.f_type == 0x4d44) {
            return true;
        }
        let Ok(real) = std::fs::canonicalize(&self.path) else {
            return false;
        };
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return false;
        };
        // the longest mount point that contains the medium decides
        let mut best: Option<(usize, String)> = None;
        for line in info.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let Some(dash) = f.iter().position(|x| *x == "-") else {
                continue;
            };
            let (Some(mp), Some(fstype)) = (f.get(4), f.get(dash + 1)) else {
                continue;
            };
            let mp = mp.replace("\\040", " ");
            if real.starts_with(&mp) && best.as_ref().is_none_or(|(n, _)| mp.len() >= *n) {
                best = Some((mp.len(), fstype.to_string()));
            }
        }
        best.is_some_and(|(_, t)| {
            let t = t.to_ascii_lowercase();
            (t.contains("fat") || t.contains("msdos")) && !t.contains("exfat")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_follows_a_symlink_below_the_root() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("file")).unwrap();
        let m = Medium::open(d.path()).unwrap();
        assert!(m.dir(&["link"], true).is_err(), "a symlinked folder is not entered");
        assert!(m.open_file(&[], "file").is_err(), "a symlinked file is not read");
        assert!(m.put(&["link", "x"], "b", &outside.path().join("secret")).is_err());
        m.remove(&["link"], "secret").unwrap_err();
        assert!(outside.path().join("secret").exists(), "nothing deleted outside");
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            1,
            "nothing written outside"
        );
        // a plain folder works
        let src = d.path().join("src");
        std::fs::write(&src, b"data").unwrap();
        m.put(&["a", "b"], "c", &src).unwrap();
        assert!(m.holds_copy_of(&["a", "b"], "c", &src));
        assert_eq!(std::fs::read(d.path().join("a/b/c")).unwrap(), b"data");
        assert!(!d.path().join("a/b/c.part").exists());
        m.remove(&["a", "b"], "c").unwrap();
        assert!(!d.path().join("a/b/c").exists());
        assert!(m.dir(&[".."], false).is_err());
    }
}
