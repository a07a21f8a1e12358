//! SHA-256 helpers: hashing in a read loop (sha2 0.11 has no `io::Write`) and lowercase hex.
pub mod fastmap;
pub mod merkle;

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};

/// A raw SHA-256 digest.
pub type Hash = [u8; 32];

/// SHA-256 of a byte slice.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// Lowercase hex of any byte slice.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parse 64 lowercase hex digits into a hash; `None` for anything else.
pub fn parse_hash(s: &str) -> Option<Hash> {
    if s.len() != 64 || !is_lower_hex(s) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// True when every character is one of `0-9a-f`.
pub fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of everything a reader yields, and how many bytes that was.
pub fn sha256_reader<R: Read>(mut r: R) -> io::Result<(Hash, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize().into(), n))
}

/// SHA-256 on a second thread: `update` hands the bytes over and returns at once, so
/// hashing runs beside encryption, decryption or copying on the other core.
pub struct BackgroundHasher {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Buffers the hashing thread has finished with, reused so large chunks do not cost a
    /// fresh allocation (and its page faults) each time.
    free: std::sync::mpsc::Receiver<Vec<u8>>,
    handle: Option<std::thread::JoinHandle<Hash>>,
}

impl BackgroundHasher {
    pub fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (back_tx, free) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let handle = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for chunk in rx {
                h.update(&chunk);
                let _ = back_tx.try_send(chunk);
            }
            h.finalize().into()
        });
        BackgroundHasher {
            tx: Some(tx),
            free,
            handle: Some(handle),
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        if let Some(tx) = &self.tx {
            let mut buf = self.free.try_recv().unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(data);
            tx.send(buf).expect("hasher thread alive");
        }
    }
    /// Hand over a buffer whole (no copy); it comes back through [`Self::spare`].
    pub fn update_owned(&mut self, buf: Vec<u8>) {
        if let Some(tx) = &self.tx {
            tx.send(buf).expect("hasher thread alive");
        }
    }
    /// An empty buffer of at least `cap` bytes: one the thread has finished with, or new.
    pub fn spare(&mut self, cap: usize) -> Vec<u8> {
        let mut b = self.free.try_recv().unwrap_or_default();
        b.clear();
        b.reserve(cap);
        b
    }
    pub fn finish(mut self) -> Hash {
        drop(self.tx.take());
        self.handle.take().expect("joined once").join().expect("hasher thread")
    }
}

impl Default for BackgroundHasher {
    fn default() -> Self {
        Self::new()
    }
}

enum Hasher {
    Inline(Sha256),
    Background(BackgroundHasher),
}

/// A writer that hashes and counts what passes through it to an inner writer. Put a large
/// `BufWriter` in front of a [`HashingWriter::background`] so it sees big chunks.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::Inline(Sha256::new()),
            count: 0,
        }
    }
    /// Hash on a second thread.
    pub fn background(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::Background(BackgroundHasher::new()),
            count: 0,
        }
    }
    /// The inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Hash, u64) {
        let h = match self.hasher {
            Hasher::Inline(h) => h.finalize().into(),
            Hasher::Background(b) => b.finish(),
        };
        (self.inner, h, self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        match &mut self.hasher {
            Hasher::Inline(h) => h.update(&buf[..n]),
            Hasher::Background(b) => b.update(&buf[..n]),
        }
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A buffered writer that hashes what it writes on a second thread without copying it
/// again: each full buffer is written to the inner writer, then handed whole to the
/// hashing thread, which gives it back for reuse. `BufWriter` in front of
/// [`HashingWriter::background`] copies every byte twice before the write.
pub struct HashingBufWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    cap: usize,
    hasher: BackgroundHasher,
    count: u64,
}

impl<W: Write> HashingBufWriter<W> {
    pub fn with_capacity(cap: usize, inner: W) -> Self {
        HashingBufWriter {
            inner,
            buf: Vec::with_capacity(cap),
            cap,
            hasher: BackgroundHasher::new(),
            count: 0,
        }
    }

    fn write_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.inner.write_all(&self.buf)?;
        self.count += self.buf.len() as u64;
        let next = self.hasher.spare(self.cap);
        let full = std::mem::replace(&mut self.buf, next);
        self.hasher.update_owned(full);
        Ok(())
    }

    /// Write what is buffered; the inner writer, the digest and the byte count.
    pub fn finish(mut self) -> io::Result<(W, Hash, u64)> {
        self.write_buf()?;
        self.inner.flush()?;
        Ok((self.inner, self.hasher.finish(), self.count))
    }
}

impl<W: Write> Write for HashingBufWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.cap {
            self.write_buf()?;
        }
        let n = data.len().min(self.cap);
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.write_buf()?;
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through it. Read it in large chunks (its
/// caller's buffer is what the hasher sees).
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::Inline(Sha256::new()),
            count: 0,
        }
    }
    /// Hash on a second thread, beside whatever the reader's caller does with the bytes.
    pub fn background(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::Background(BackgroundHasher::new()),
            count: 0,
        }
    }
    /// The digest and byte count of everything read so far.
    pub fn finish(self) -> (Hash, u64) {
        let h = match self.hasher {
            Hasher::Inline(h) => h.finalize().into(),
            Hasher::Background(b) => b.finish(),
        };
        (h, self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match &mut self.hasher {
            Hasher::Inline(h) => h.update(&buf[..n]),
            Hasher::Background(b) => b.update(&buf[..n]),
        }
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = sha256(b"abc");
        assert_eq!(
            hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(&hex(&h)), Some(h));
        assert_eq!(
            parse_hash("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
            None
        );
        assert_eq!(parse_hash("abc"), None);
    }

    #[test]
    fn background_hasher_agrees() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31) as u8).collect();
        let mut w = HashingWriter::background(Vec::new());
        for c in data.chunks(70_001) {
            w.write_all(c).unwrap();
        }
        let (out, h, n) = w.finish();
        assert_eq!((h, n), (sha256(&data), data.len() as u64));
        assert_eq!(out, data);
        let mut w = HashingBufWriter::with_capacity(100_000, Vec::new());
        for c in data.chunks(70_001).chain([&data[..0]]) {
            w.write_all(c).unwrap();
        }
        let big = vec![5u8; 250_001];
        w.write_all(&big).unwrap();
        let (out, h, n) = w.finish().unwrap();
        let mut all = data.clone();
        all.extend_from_slice(&big);
        assert_eq!((h, n), (sha256(&all), all.len() as u64));
        assert_eq!(out, all);
        let mut r = HashingReader::background(&data[..]);
        let mut back = Vec::new();
        let mut buf = vec![0u8; 65_537];
        loop {
            let k = r.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            back.extend_from_slice(&buf[..k]);
        }
        assert_eq!(r.finish(), (sha256(&data), data.len() as u64));
        assert_eq!(back, data);
    }

    #[test]
    fn reader_and_writer_agree() {
        let data = vec![7u8; 1_000_000];
        let (h, n) = sha256_reader(&data[..]).unwrap();
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(&data).unwrap();
        let (out, h2, n2) = w.finish();
        assert_eq!((h, n), (h2, n2));
        assert_eq!(out, data);
        assert_eq!(h, sha256(&data));
    }
}
