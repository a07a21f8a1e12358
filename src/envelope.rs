//! The framing shared by cards and bundles: one ASCII prologue line
//! `<magic> <version> <doc-len> <sig-len>\n`, then the signed YAML document, then its
//! minisign signature file, then (bundles only) the payload. Lengths make the parts
//! easy to cut out with `head -c`/`tail -c` for stock `minisign` (see docs/formats.md).
use std::io::{self, Read};

/// The longest prologue line accepted.
pub const MAX_PROLOGUE: usize = 128;
/// The longest signature file accepted (a minisign signature with our trusted comment is ~330 bytes).
pub const MAX_SIG: usize = 4096;

/// A parsed prologue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prologue {
    pub magic: String,
    pub version: u32,
    pub doc_len: usize,
    pub sig_len: usize,
}

impl Prologue {
    pub fn line(&self) -> String {
        format!("{} {} {} {}\n", self.magic, self.version, self.doc_len, self.sig_len)
    }
}

/// Read the prologue line from a reader byte by byte (it is short), checking the magic,
/// the version and both limits before anything else is read.
pub fn read_prologue<R: Read>(r: &mut R, magic: &str, max_doc: usize) -> Result<Prologue, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) => {
                return Err(if line.is_empty() {
                    "empty input".into()
                } else {
                    "truncated before the end of the first line".into()
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read error: {e}")),
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        if line.len() > MAX_PROLOGUE {
            return Err(format!("not a {magic} file (no prologue line)"));
        }
    }
    let text = std::str::from_utf8(&line).map_err(|_| format!("not a {magic} file"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    if parts.len() != 4 || parts[0] != magic {
        return Err(format!("not a {magic} file"));
    }
    let num = |s: &str| -> Result<usize, String> {
        if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(format!("bad length {s:?} in the first line"));
        }
        s.parse().map_err(|_| format!("bad length {s:?}"))
    };
    // compared as read: a cast to u32 first made version 2^32 + 1 read as 1
    let version = num(parts[1])?;
    if version != 1 {
        return Err(format!("unsupported {magic} format version {version}"));
    }
    let version = 1;
    let doc_len = num(parts[2])?;
    let sig_len = num(parts[3])?;
    if doc_len > max_doc {
        return Err(format!("document of {doc_len} bytes is over the limit of {max_doc}"));
    }
    if sig_len > MAX_SIG {
        return Err(format!("signature of {sig_len} bytes is over the limit of {MAX_SIG}"));
    }
    Ok(Prologue {
        magic: magic.to_string(),
        version,
        doc_len,
        sig_len,
    })
}

/// Read exactly `n` bytes or report truncation.
pub fn read_exact_part<R: Read>(r: &mut R, n: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("truncated inside the {what}")
        } else {
            format!("read error in the {what}: {e}")
        }
    })?;
    Ok(buf)
}

/// Read a whole small envelope (doc + sig, nothing after).
pub fn read_small(bytes: &[u8], magic: &str, max_doc: usize) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut r = bytes;
    let p = read_prologue(&mut r, magic, max_doc)?;
    let doc = read_exact_part(&mut r, p.doc_len, "document")?;
    let sig = read_exact_part(&mut r, p.sig_len, "signature")?;
    if !r.is_empty() {
        return Err(format!("{} unexpected bytes after the signature", r.len()));
    }
    Ok((doc, sig))
}

/// Frame a small envelope.
pub fn write_small(magic: &str, doc: &[u8], sig: &[u8]) -> Vec<u8> {
    let p = Prologue {
        magic: magic.into(),
        version: 1,
        doc_len: doc.len(),
        sig_len: sig.len(),
    };
    let mut out = p.line().into_bytes();
    out.extend_from_slice(doc);
    out.extend_from_slice(sig);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_round_trip_and_errors() {
        let b = write_small("secfile-card", b"doc\n", b"sig\n");
        assert_eq!(
            read_small(&b, "secfile-card", 100).unwrap(),
            (b"doc\n".to_vec(), b"sig\n".to_vec())
        );
        assert!(
            read_small(&b[..b.len() - 1], "secfile-card", 100)
                .unwrap_err()
                .contains("truncated")
        );
        assert!(read_small(b"", "secfile-card", 100).unwrap_err().contains("empty"));
        assert!(
            read_small(b"garbage\n", "secfile-card", 100)
                .unwrap_err()
                .contains("not a")
        );
        assert!(
            read_small(&b, "secfile-card", 2)
                .unwrap_err()
                .contains("over the limit")
        );
        assert!(
            read_small(b"secfile-card 2 1 1\nab", "secfile-card", 9)
                .unwrap_err()
                .contains("version")
        );
        let mut extra = b.clone();
        extra.push(b'x');
        assert!(
            read_small(&extra, "secfile-card", 100)
                .unwrap_err()
                .contains("unexpected")
        );
    }

    /// The version field was cast to u32 before the check, so 4294967297 (2^32 + 1) passed
    /// as version 1: a file of an unknown version read as this one.
    #[test]
    fn prologue_version_does_not_wrap() {
        for v in ["4294967297", "8589934593", "4294967296"] {
            let b = format!("secfile-card {v} 4 4\ndoc\nsig\n");
            let err = read_small(b.as_bytes(), "secfile-card", 100).unwrap_err();
            assert!(err.contains(&format!("version {v}")), "{v}: {err}");
        }
        assert!(read_small(b"secfile-card 1 4 4\ndoc\nsig\n", "secfile-card", 100).is_ok());
    }
}
