//! One lock per home: `flock` on a dedicated lock file, released by the kernel when the
//! process dies. A bounded wait, then [`Error::Busy`].
use crate::error::{Error, IoContext, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Held for as long as it lives. A marker file, when set, exists exactly while a
/// process holds the lock: found by the next holder, it says the last one died.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    marker: Option<std::path::PathBuf>,
}

impl Lock {
    /// Create `marker` now and remove it when the lock is released.
    pub fn mark(&mut self, marker: std::path::PathBuf) {
        if std::fs::write(&marker, b"").is_ok() {
            self.marker = Some(marker);
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(m) = self.marker.take() {
            let _ = std::fs::remove_file(m);
        }
    }
}

impl Lock {
    pub fn acquire(path: &Path, home: &Path, wait: Duration) -> Result<Lock> {
        let mut o = OpenOptions::new();
        o.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(path).at(path)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Lock {
                        _file: file,
                        marker: None,
                    });
                }
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait {
                        return Err(Error::Busy {
                            home: home.display().to_string(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_busy_until_first_drops() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let a = Lock::acquire(&p, d.path(), Duration::ZERO).unwrap();
        let b = Lock::acquire(&p, d.path(), Duration::from_millis(60));
        assert!(matches!(b, Err(Error::Busy { .. })));
        drop(a);
        Lock::acquire(&p, d.path(), Duration::ZERO).unwrap();
    }
}
