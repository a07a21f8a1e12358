//! Chunked bundles: a bundle split into signed *parts* no larger than a size (mail size
//! limits, small media). Each part is a file of its own:
//!
//! ```text
//! secfile-part 1 <header-len> <sig-len>\n
//! <header: canonical YAML — format, bundle, sender, recipients, index, count, total,
//!          sha256 (of the whole bundle), offset, size, part (SHA-256 of this slice)>
//! <minisign signature of the header by the sender, trusted comment
//!  "secfile part <bundle id> <index>/<count>">
//! <size bytes of the bundle from offset>
//! ```
//!
//! A receiver checks each part alone (sender in the roster, signature, the slice's
//! SHA-256) before it keeps it, so a damaged part is refused alone and can be resent
//! alone; once all parts are there it joins them, checks the whole bundle's SHA-256, and
//! imports the bundle as if it had come whole.
use crate::digest;
use crate::envelope;
use crate::error::{Error, IoContext, Result};
use crate::identity::SigningKey;
use crate::subchain::{codec, sign};
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &str = "secfile-part";
/// The largest part header accepted.
pub const MAX_HEADER: usize = 32 * 1024;
/// The most parts one bundle may be split into.
pub const MAX_PARTS: u64 = 10_000;
/// The smallest `--max-size` (a part carries about 1.5 KiB of header and signature).
pub const MIN_SIZE: u64 = 8 * 1024;
/// The most incomplete sets a home keeps aside.
pub const MAX_SETS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartHeader {
    pub format: u32,
    pub bundle: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub index: u64,
    pub count: u64,
    pub total: u64,
    pub sha256: String,
    pub offset: u64,
    pub size: u64,
    pub part: String,
}

impl PartHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut m = Mapping::new();
        m.insert("format".into(), u64::from(self.format).into());
        m.insert("bundle".into(), self.bundle.clone().into());
        m.insert("sender".into(), self.sender.clone().into());
        m.insert(
            "recipients".into(),
            Value::Sequence(self.recipients.iter().map(|r| r.clone().into()).collect()),
        );
        m.insert("index".into(), self.index.into());
        m.insert("count".into(), self.count.into());
        m.insert("total".into(), self.total.into());
        m.insert("sha256".into(), self.sha256.clone().into());
        m.insert("offset".into(), self.offset.into());
        m.insert("size".into(), self.size.into());
        m.insert("part".into(), self.part.clone().into());
        codec::emit(&Value::Mapping(m)).expect("part header emits").into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<PartHeader, String> {
        let v = codec::parse_strict(bytes, MAX_HEADER)?;
        let h: PartHeader = serde_yaml::from_value(v).map_err(|e| format!("bad part header: {e}"))?;
        if h.format != 1 {
            return Err(format!("unsupported part format {}", h.format));
        }
        if !crate::dossier::docs::is_doc_id(&h.bundle)
            || !crate::subchain::is_node_id(&h.sender)
            || h.recipients.is_empty()
            || h.recipients.len() > super::MAX_RECIPIENTS
            || h.recipients.iter().any(|r| !crate::subchain::is_node_id(r))
        {
            return Err("bad ids in the part header".into());
        }
        digest::parse_hash(&h.sha256).ok_or("bad bundle digest")?;
        digest::parse_hash(&h.part).ok_or("bad part digest")?;
        if h.count == 0 || h.count > MAX_PARTS || h.index == 0 || h.index > h.count {
            return Err(format!("part {} of {}: out of range", h.index, h.count));
        }
        if h.total > super::MAX_BUNDLE || h.offset.checked_add(h.size).is_none_or(|end| end > h.total) {
            return Err("part lies outside its bundle".into());
        }
        if h.encode() != bytes {
            return Err("part header keys are not in canonical order".into());
        }
        Ok(h)
    }

    pub fn comment(&self) -> String {
        format!("secfile part {} {}/{}", self.bundle, self.index, self.count)
    }
}

/// A part whose header has been read and syntax-checked.
#[derive(Debug, Clone)]
pub struct Part {
    pub header: PartHeader,
    pub header_bytes: Vec<u8>,
    pub sig: Vec<u8>,
    /// Where the slice starts in the part file.
    pub data_offset: u64,
}

/// True when the file starts like a part.
pub fn is_part(path: &Path) -> bool {
    let mut head = [0u8; 13];
    crate::input::open_regular(path)
        .ok()
        .and_then(|mut f| f.read_exact(&mut head).ok())
        .is_some_and(|()| head == *b"secfile-part ")
}

/// Read and check a part file's header and length.
pub fn parse(path: &Path, label: &str) -> Result<Part> {
    let f = crate::input::open_regular(path)?;
    let len = f.metadata().at(path)?.len();
    let mut r = std::io::BufReader::new(f);
    let bad = |e: String| Error::rejected(label, "malformed", e);
    let p = envelope::read_prologue(&mut r, MAGIC, MAX_HEADER).map_err(bad)?;
    let header_bytes = envelope::read_exact_part(&mut r, p.doc_len, "part header").map_err(bad)?;
    let sig = envelope::read_exact_part(&mut r, p.sig_len, "signature").map_err(bad)?;
    let header = PartHeader::decode(&header_bytes).map_err(bad)?;
    let data_offset = (p.line().len() + p.doc_len + p.sig_len) as u64;
    if len != data_offset + header.size {
        return Err(Error::rejected(
            label,
            "tampered",
            format!(
                "part {} of {} holds {} bytes, its signed header says {}",
                header.index,
                header.count,
                len.saturating_sub(data_offset),
                header.size
            ),
        ));
    }
    Ok(Part {
        header,
        header_bytes,
        sig,
        data_offset,
    })
}

/// Check a parsed part: the sender's signature on its header, then its slice's SHA-256.
pub fn authenticate(path: &Path, label: &str, part: &Part, pk: &minisign::PublicKey) -> Result<()> {
    sign::verify(pk, &part.header_bytes, &part.sig, &part.header.comment())
        .map_err(|e| Error::rejected(label, "bad-signature", format!("part header signature: {e}")))?;
    let mut f = crate::input::open_regular(path)?;
    f.seek(SeekFrom::Start(part.data_offset)).at(path)?;
    let (h, n) = digest::sha256_reader(f.take(part.header.size)).at(path)?;
    if n != part.header.size || digest::hex(&h) != part.header.part {
        return Err(Error::rejected(
            label,
            "tampered",
            format!(
                "part {} of {}: its bytes do not match its signed digest",
                part.header.index, part.header.count
            ),
        ));
    }
    Ok(())
}

/// The slice size that keeps every part of a bundle within `max_size` bytes.
fn slice_size(max_size: u64) -> Result<u64> {
    if max_size < MIN_SIZE {
        return Err(Error::usage(format!(
            "--max-size {max_size}: parts must be at least {MIN_SIZE} bytes"
        )));
    }
    // header (~600 bytes with one recipient; 17 bytes more per recipient, capped) and
    // signature (~330 bytes): a generous allowance, checked on every part written
    Ok(max_size - 4096)
}

/// Whose a split bundle is: its id, its sender and its recipients.
#[derive(Debug, Clone)]
pub struct Whose {
    pub id: String,
    pub sender: String,
    pub recipients: Vec<String>,
}

/// The parts of a bundle file: `(index, count)` → where to write, called per part.
/// Each part is streamed (memory does not grow with the part size).
pub fn split(
    bundle: &Path,
    header: &Whose,
    key: &SigningKey,
    max_size: u64,
    only: Option<u64>,
    mut dest: impl FnMut(u64, u64) -> PathBuf,
) -> Result<Vec<PathBuf>> {
    let total = std::fs::metadata(bundle).at(bundle)?.len();
    let slice = slice_size(max_size)?;
    let count = total.div_ceil(slice).max(1);
    if count > MAX_PARTS {
        return Err(Error::usage(format!(
            "--max-size {max_size}: {count} parts, over the {MAX_PARTS} a bundle may be split into"
        )));
    }
    let (whole, _) = digest::sha256_reader(std::fs::File::open(bundle).at(bundle)?).at(bundle)?;
    let mut out = Vec::new();
    for index in 1..=count {
        if only.is_some_and(|k| k != index) {
            continue;
        }
        let offset = (index - 1) * slice;
        let size = slice.min(total - offset);
        let mut f = std::fs::File::open(bundle).at(bundle)?;
        f.seek(SeekFrom::Start(offset)).at(bundle)?;
        let (part, _) = digest::sha256_reader((&mut f).take(size)).at(bundle)?;
        let ph = PartHeader {
            format: 1,
            bundle: header.id.clone(),
            sender: header.sender.clone(),
            recipients: header.recipients.clone(),
            index,
            count,
            total,
            sha256: digest::hex(&whole),
            offset,
            size,
            part: digest::hex(&part),
        };
        let hb = ph.encode();
        let sig = sign::sign(key, &hb, &ph.comment()).map_err(Error::Env)?;
        let head_len = (envelope::Prologue {
            magic: MAGIC.into(),
            version: 1,
            doc_len: hb.len(),
            sig_len: sig.len(),
        })
        .line()
        .len() as u64
            + hb.len() as u64
            + sig.len() as u64;
        if head_len + size > max_size {
            return Err(Error::usage(format!(
                "--max-size {max_size}: too small for a part's header with {} recipients",
                header.recipients.len()
            )));
        }
        let path = dest(index, count);
        f.seek(SeekFrom::Start(offset)).at(bundle)?;
        crate::home::write_out_with(&path, |w| {
            w.write_all(envelope::write_small(MAGIC, &hb, sig.as_bytes()).as_slice())?;
            std::io::copy(&mut (&mut f).take(size), w)?;
            Ok(())
        })?;
        out.push(path);
    }
    Ok(out)
}

/// Parse a size: bytes, or with a suffix `k`, `M`, `G` (powers of 1024; `KiB`, `MB`… also).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// The name of part `index` of `count` of a bundle written to `out`.
pub fn part_name(out: &Path, index: u64, count: u64) -> PathBuf {
    let mut s = out.as_os_str().to_os_string();
    s.push(format!(".p{index:03}-of-{count:03}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("25M"), Some(25 << 20));
        assert_eq!(parse_size("25MB"), Some(25 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn part_headers_are_strict() {
        let h = PartHeader {
            format: 1,
            bundle: "0123456789abcdef0123456789abcdef".into(),
            sender: "0123456789abcdef".into(),
            recipients: vec!["fedcba9876543210".into()],
            index: 2,
            count: 3,
            total: 100,
            sha256: "ab".repeat(32),
            offset: 40,
            size: 40,
            part: "cd".repeat(32),
        };
        assert_eq!(PartHeader::decode(&h.encode()).unwrap(), h);
        for bad in [
            PartHeader { index: 0, ..h.clone() },
            PartHeader { index: 4, ..h.clone() },
            PartHeader {
                offset: 90,
                ..h.clone()
            },
            PartHeader {
                count: MAX_PARTS + 1,
                ..h.clone()
            },
            PartHeader {
                recipients: vec![],
                ..h.clone()
            },
        ] {
            assert!(PartHeader::decode(&bad.encode()).is_err(), "{bad:?}");
        }
    }
}
