//! The plaintext inside a bundle's age payload: a flat archive of named entries,
//! `secfile-payload 1\n`, then per entry `<name> <size>\n<bytes>\n`, then `end <count>\n`.
//! Names come from a fixed alphabet and are never used as paths unchecked.
use std::io::{self, BufRead, Read, Write};

pub const MAGIC: &str = "secfile-payload 1";
/// The read size when a large entry is streamed in.
const COPY_BUF: usize = 1 << 20;
/// The most entries in one payload.
pub const MAX_ENTRIES: u64 = 2_000_000;

/// True for an entry name: 1–200 of `A-Za-z0-9._-/`, no `..`, no leading `/`.
pub fn is_entry_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with('/')
        && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
}

/// Writes entries.
pub struct PayloadWriter<W: Write> {
    w: W,
    count: u64,
}

impl<W: Write> PayloadWriter<W> {
    pub fn new(mut w: W) -> io::Result<Self> {
        writeln!(w, "{MAGIC}")?;
        Ok(PayloadWriter { w, count: 0 })
    }
    pub fn entry(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.entry_from(name, data.len() as u64, data)
    }
    /// An entry streamed from a reader of known size.
    pub fn entry_from<R: Read>(&mut self, name: &str, size: u64, r: R) -> io::Result<()> {
        assert!(is_entry_name(name), "entry name {name:?}");
        writeln!(self.w, "{name} {size}")?;
        let copied = if size <= COPY_BUF as u64 / 16 {
            io::copy(&mut r.take(size), &mut self.w)?
        } else {
            // large content: big reads, so a hashing reader's thread and the age stream see
            // large chunks (io::copy would read 8 KiB at a time)
            let mut buf = vec![0u8; COPY_BUF.min(size as usize)];
            let mut r = r.take(size);
            let mut n = 0u64;
            loop {
                let k = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                self.w.write_all(&buf[..k])?;
                n += k as u64;
            }
            n
        };
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: source shrank while reading"),
            ));
        }
        self.w.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }
    pub fn finish(mut self) -> io::Result<W> {
        writeln!(self.w, "end {}", self.count)?;
        Ok(self.w)
    }
}

/// Reads entries one at a time.
pub struct PayloadReader<R: BufRead> {
    r: R,
    count: u64,
    done: bool,
}

/// One entry's header; its bytes must be consumed with [`PayloadReader::read_small`] or
/// [`PayloadReader::copy_to`] before the next call to `next`.
#[derive(Debug, Clone)]
pub struct EntryHead {
    pub name: String,
    pub size: u64,
}

fn read_line<R: BufRead>(r: &mut R) -> Result<String, String> {
    let mut line = Vec::new();
    r.by_ref()
        .take(256)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("payload read error: {e}"))?;
    if line.last() != Some(&b'\n') {
        return Err("malformed payload: truncated or overlong line".into());
    }
    line.pop();
    String::from_utf8(line).map_err(|_| "malformed payload: line is not text".into())
}

impl<R: BufRead> PayloadReader<R> {
    pub fn new(mut r: R) -> Result<Self, String> {
        if read_line(&mut r)? != MAGIC {
            return Err("malformed payload: bad magic line".into());
        }
        Ok(PayloadReader {
            r,
            count: 0,
            done: false,
        })
    }

    /// The next entry, or `None` after a correct end line.
    pub fn next_entry(&mut self) -> Result<Option<EntryHead>, String> {
        if self.done {
            return Ok(None);
        }
        let line = read_line(&mut self.r)?;
        let (a, b) = line.split_once(' ').ok_or("malformed payload: bad entry line")?;
        // digits as PayloadWriter writes them: no sign, no leading zero
        let canonical = !b.is_empty() && b.len() <= 20 && (b == "0" || !b.starts_with('0'));
        let num: u64 = (canonical && b.bytes().all(|c| c.is_ascii_digit()))
            .then(|| b.parse().ok())
            .flatten()
            .ok_or("malformed payload: bad number")?;
        if a == "end" {
            if num != self.count {
                return Err("malformed payload: entry count mismatch".into());
            }
            let mut rest = [0u8; 1];
            if self.r.read(&mut rest).map_err(|e| e.to_string())? != 0 {
                return Err("malformed payload: data after the end".into());
            }
            self.done = true;
            return Ok(None);
        }
        if !is_entry_name(a) {
            return Err(format!("malformed payload: bad entry name {a:?}"));
        }
        self.count += 1;
        if self.count > MAX_ENTRIES {
            return Err(format!("payload has over {MAX_ENTRIES} entries"));
        }
        Ok(Some(EntryHead {
            name: a.to_string(),
            size: num,
        }))
    }

    fn trailer(&mut self) -> Result<(), String> {
        let mut nl = [0u8; 1];
        self.r
            .read_exact(&mut nl)
            .map_err(|_| "malformed payload: truncated entry".to_string())?;
        if nl[0] != b'\n' {
            return Err("malformed payload: entry not followed by a newline".into());
        }
        Ok(())
    }

    /// Read an entry's bytes into memory, refusing sizes over `limit`.
    pub fn read_small(&mut self, e: &EntryHead, limit: usize) -> Result<Vec<u8>, String> {
        if e.size > limit as u64 {
            return Err(format!(
                "entry {} is {} bytes, over the limit of {limit}",
                e.name, e.size
            ));
        }
        let mut buf = vec![0u8; e.size as usize];
        self.r
            .read_exact(&mut buf)
            .map_err(|_| format!("malformed payload: truncated entry {}", e.name))?;
        self.trailer()?;
        Ok(buf)
    }

    /// Stream an entry's bytes to a writer. A read error is the payload's fault
    /// ([`CopyError::Bad`]: a damaged or truncated stream); a write error is the
    /// destination's ([`CopyError::Io`]: a full disk is I/O, exit 3, not a malformed bundle).
    pub fn copy_to<W: Write>(&mut self, e: &EntryHead, w: &mut W) -> Result<u64, CopyError> {
        let mut src = self.r.by_ref().take(e.size);
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        loop {
            let k = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(er) if er.kind() == io::ErrorKind::Interrupted => continue,
                Err(er) => return Err(CopyError::Bad(format!("payload error in {}: {er}", e.name))),
            };
            w.write_all(&buf[..k]).map_err(CopyError::Io)?;
            n += k as u64;
        }
        if n != e.size {
            return Err(CopyError::Bad(format!("malformed payload: truncated entry {}", e.name)));
        }
        self.trailer().map_err(CopyError::Bad)?;
        Ok(n)
    }
}

/// Why [`PayloadReader::copy_to`] failed.
#[derive(Debug)]
pub enum CopyError {
    /// The payload is damaged.
    Bad(String),
    /// Writing failed (disk full, permissions): not the payload's fault.
    Io(io::Error),
}

impl From<String> for CopyError {
    fn from(s: String) -> Self {
        CopyError::Bad(s)
    }
}

impl From<&str> for CopyError {
    fn from(s: &str) -> Self {
        CopyError::Bad(s.to_string())
    }
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Bad(s) => f.write_str(s),
            CopyError::Io(e) => write!(f, "write error: {e}"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut w = PayloadWriter::new(Vec::new()).unwrap();
        w.entry("a/b.yaml", b"hello\n").unwrap();
        w.entry("c", b"").unwrap();
        let bytes = w.finish().unwrap();
        let mut r = PayloadReader::new(&bytes[..]).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(r.read_small(&e, 100).unwrap(), b"hello\n");
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(r.read_small(&e, 100).unwrap(), b"");
        assert!(r.next_entry().unwrap().is_none());
        // truncated
        let mut r = PayloadReader::new(&bytes[..bytes.len() - 3]).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        r.read_small(&e, 100).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        r.read_small(&e, 100).unwrap();
        assert!(r.next_entry().is_err());
        assert!(!is_entry_name("../x") && !is_entry_name("/x") && !is_entry_name("a b"));
    }

    /// A writer whose disk is full.
    pub(crate) struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn regression_disk_full_while_importing_content_was_malformed() {
        let mut w = PayloadWriter::new(Vec::new()).unwrap();
        w.entry("content", b"some content").unwrap();
        let bytes = w.finish().unwrap();
        let mut r = PayloadReader::new(&bytes[..]).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        match r.copy_to(&e, &mut Full) {
            Err(CopyError::Io(e)) => assert_eq!(e.raw_os_error(), Some(28)),
            other => panic!("want an I/O error, got {other:?}"),
        }
        // a truncated payload is still the payload's fault
        let mut r = PayloadReader::new(&bytes[..bytes.len() - 12]).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        assert!(matches!(r.copy_to(&e, &mut Vec::new()), Err(CopyError::Bad(_))));
    }

    /// Found by the round-trip property of `fuzz/fuzz_targets/payload.rs` (a payload that
    /// reads cleanly is rewritten byte for byte): sizes and the end count were read with
    /// leading zeros, so `end 00` or `a 007` read as the payload PayloadWriter writes with
    /// `end 0` and `a 7` — two encodings of one archive.
    #[test]
    fn payload_numbers_with_leading_zeros_are_refused() {
        let crash: &[u8] = b"secfile-payload 1\nend 00\n";
        let mut r = PayloadReader::new(crash).unwrap();
        assert_eq!(r.next_entry().unwrap_err(), "malformed payload: bad number");
        let mut r = PayloadReader::new(&b"secfile-payload 1\na 007\nabcdefg\nend 1\n"[..]).unwrap();
        assert_eq!(r.next_entry().unwrap_err(), "malformed payload: bad number");
        let mut r = PayloadReader::new(&b"secfile-payload 1\na 0\n\nend 1\n"[..]).unwrap();
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(r.read_small(&e, 10).unwrap(), b"");
        assert!(r.next_entry().unwrap().is_none());
    }
}
