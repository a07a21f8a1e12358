//! Writing a large file durably without one long fsync at its end: [`SyncBehind`] asks a
//! second thread to `fdatasync` the file every [`EVERY`] bytes while the writer goes on
//! (encrypting, decrypting), so the disk writes run beside the computation. The final
//! fsync (the caller's, always) then flushes only the tail. The page cache would start
//! writing back only past `dirty_background_ratio` (gigabytes on a large machine).
use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

/// How many bytes are written between two background syncs.
pub const EVERY: u64 = 32 << 20;

/// A writer to a file that syncs behind itself on a second thread.
pub struct SyncBehind<'f> {
    file: &'f File,
    since: u64,
    tx: Option<SyncSender<()>>,
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl<'f> SyncBehind<'f> {
    pub fn new(file: &'f File) -> io::Result<Self> {
        let clone = file.try_clone()?;
        // one sync asked for at a time: a request made while one runs is dropped
        let (tx, rx) = sync_channel::<()>(1);
        let handle = std::thread::spawn(move || {
            for () in rx {
                clone.sync_data()?;
            }
            Ok(())
        });
        Ok(SyncBehind {
            file,
            since: 0,
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Wait for the background syncs and report their first error: a failed sync can
    /// clear the error the final fsync would have seen, so it must not be lost. The
    /// caller still fsyncs the whole file.
    pub fn finish(mut self) -> io::Result<()> {
        drop(self.tx.take());
        match self.handle.take().expect("joined once").join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the sync thread panicked")),
        }
    }
}

impl Write for SyncBehind<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= EVERY {
            self.since = 0;
            if let Some(tx) = &self.tx {
                let _ = tx.try_send(());
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_everything_and_finishes_clean() {
        let mut tmp = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(EVERY as usize * 2 + 4097)).map(|i| (i % 251) as u8).collect();
        let mut w = SyncBehind::new(&tmp).unwrap();
        for c in data.chunks(1 << 20) {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap();
        use std::io::Seek;
        tmp.seek(io::SeekFrom::Start(0)).unwrap();
        let mut back = Vec::new();
        tmp.read_to_end(&mut back).unwrap();
        assert!(back == data);
    }
}
