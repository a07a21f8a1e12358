//! ASCII armor for bundles sent in an email body: the whole binary bundle in base64,
//! 64 columns, between `-----BEGIN SECFILE BUNDLE-----` and `-----END SECFILE BUNDLE-----`.
//! Reading tolerates CRLF line ends and trailing blanks (mail clients add them) and
//! rejects anything else. Both directions stream.
use super::payload::CopyError;
use std::io::{self, BufRead, Read, Write};

pub const BEGIN: &str = "-----BEGIN SECFILE BUNDLE-----";
pub const END: &str = "-----END SECFILE BUNDLE-----";
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encode everything from `r` as an armored bundle onto `w`.
pub fn encode<R: io::Read, W: Write>(mut r: R, mut w: W) -> io::Result<()> {
    writeln!(w, "{BEGIN}")?;
    let mut buf = [0u8; 48 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        let whole = carry.len() / 48 * 48;
        for line in carry[..whole].chunks(48) {
            w.write_all(&b64_line(line))?;
        }
        carry.drain(..whole);
    }
    if !carry.is_empty() {
        w.write_all(&b64_line(&carry))?;
    }
    writeln!(w, "{END}")?;
    w.flush()
}

fn b64_line(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(66);
    for c in data.chunks(3) {
        let n = match c.len() {
            3 => (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32,
            2 => (c[0] as u32) << 16 | (c[1] as u32) << 8,
            _ => (c[0] as u32) << 16,
        };
        for k in 0..4 {
            if k <= c.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out.push(b'\n');
    out
}

fn val(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The longest armor line read (64 columns, a CR, trailing blanks): a longer one is refused
/// before more of it is held in memory.
const MAX_LINE: u64 = 1024;
/// The most blank lines read before the armor or after it.
const MAX_BLANK: usize = 10_000;

/// Decode an armored bundle from `r` onto `w`, stopping at `limit` decoded bytes. Memory
/// stays bounded whatever the input (lines over [`MAX_LINE`] are refused, blank lines
/// count towards the limit); a write error is [`CopyError::Io`], not broken armor.
pub fn decode<R: BufRead, W: Write>(mut r: R, mut w: W, limit: u64) -> Result<u64, CopyError> {
    let mut lineno = 0usize;
    // base64 is 4/3 of the data; blank lines around it count too
    let raw_limit = limit.saturating_mul(4) / 3 + (1 << 20);
    let mut raw = 0u64;
    let mut next = |lineno: &mut usize| -> Result<Option<String>, String> {
        let mut l = Vec::new();
        let n = r
            .by_ref()
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut l)
            .map_err(|e| format!("read error: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        *lineno += 1;
        raw += n as u64;
        if raw > raw_limit {
            return Err(format!("armored bundle is over the limit of {limit} bytes"));
        }
        if l.last() == Some(&b'\n') {
            l.pop();
        } else if n as u64 > MAX_LINE {
            return Err(format!("broken armor: line {lineno} is over {MAX_LINE} bytes"));
        }
        let s = String::from_utf8(l).map_err(|_| format!("broken armor: line {lineno} is not text"))?;
        Ok(Some(s.trim_end_matches([' ', '\t', '\r']).to_string()))
    };
    let mut body = || -> Result<u64, CopyError> {
        // skip leading blank lines (a few: an endless run of them is not a mail body)
        let first = loop {
            match next(&mut lineno)? {
                None => return Err("broken armor: empty".into()),
                Some(_) if lineno > MAX_BLANK => {
                    return Err(format!("broken armor: no {BEGIN} in the first {MAX_BLANK} lines").into());
                }
                Some(l) if l.is_empty() => continue,
                Some(l) => break l,
            }
        };
        if first != BEGIN {
            return Err(format!("broken armor: line {lineno} is not {BEGIN}").into());
        }
        let mut total = 0u64;
        let mut ended_short = false;
        loop {
            let Some(line) = next(&mut lineno)? else {
                return Err(format!("broken armor: missing {END} (truncated?)").into());
            };
            if line == END {
                break;
            }
            if ended_short {
                return Err(format!("broken armor: line {lineno} follows a final short line").into());
            }
            let bytes = line.as_bytes();
            if bytes.is_empty() || bytes.len() % 4 != 0 || bytes.len() > 64 {
                return Err(format!("broken armor: line {lineno} has a bad length").into());
            }
            if bytes.len() < 64 {
                ended_short = true;
            }
            let mut out = Vec::with_capacity(48);
            for (qi, q) in bytes.chunks(4).enumerate() {
                let last_quad = qi == bytes.len() / 4 - 1;
                let pads = q.iter().rev().take_while(|&&c| c == b'=').count();
                if pads > 2 || (pads > 0 && !last_quad) {
                    return Err(format!("broken armor: bad padding on line {lineno}").into());
                }
                if pads > 0 {
                    ended_short = true;
                }
                let mut n = 0u32;
                for &c in &q[..4 - pads] {
                    n = n << 6 | val(c).ok_or_else(|| format!("broken armor: bad character on line {lineno}"))?;
                }
                n <<= 6 * pads as u32;
                let b = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
                out.extend_from_slice(&b[..3 - pads]);
            }
            total += out.len() as u64;
            if total > limit {
                return Err(format!("armored bundle is over the limit of {limit} bytes").into());
            }
            w.write_all(&out).map_err(CopyError::Io)?;
        }
        let end_line = lineno;
        // only blank lines may follow
        while let Some(l) = next(&mut lineno)? {
            if !l.is_empty() || lineno > end_line + MAX_BLANK {
                return Err(format!("broken armor: unexpected text after {END}").into());
            }
        }
        Ok(total)
    };
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_lengths() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 1000, 100_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut arm = Vec::new();
            encode(&data[..], &mut arm).unwrap();
            let text = String::from_utf8(arm.clone()).unwrap();
            assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
            let mut back = Vec::new();
            decode(&arm[..], &mut back, u64::MAX).unwrap();
            assert_eq!(back, data, "len {len}");
            // CRLF survives
            let crlf = text.replace('\n', "\r\n");
            let mut back2 = Vec::new();
            decode(crlf.as_bytes(), &mut back2, u64::MAX).unwrap();
            assert_eq!(back2, data);
        }
    }

    #[test]
    fn disk_full_while_decoding_is_io_not_broken_armor() {
        let mut arm = Vec::new();
        encode(&b"hello"[..], &mut arm).unwrap();
        let e = decode(&arm[..], crate::bundle::payload::tests::Full, u64::MAX).unwrap_err();
        assert!(matches!(e, CopyError::Io(_)), "{e}");
    }

    #[test]
    fn broken_armor_is_named() {
        let mut arm = Vec::new();
        encode(&b"hello world, this is a bundle"[..], &mut arm).unwrap();
        let text = String::from_utf8(arm).unwrap();
        let cases = [
            (text.replace("-----END SECFILE BUNDLE-----\n", ""), "missing"),
            (text.replace("aGVs", "a*Vs"), "bad character"),
            (text.replace("BEGIN", "BEGUN"), "is not"),
            (format!("{text}junk\n"), "unexpected text"),
            (String::new(), "empty"),
            (format!("{BEGIN}\n{}", "A".repeat(5000)), "over 1024 bytes"),
            (format!("{}{text}", "\n".repeat(MAX_BLANK + 1)), "no -----BEGIN"),
            (format!("{text}{}", "\n".repeat(MAX_BLANK + 1)), "unexpected text after"),
        ];
        for (t, want) in cases {
            let err = decode(t.as_bytes(), &mut Vec::new(), u64::MAX).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    /// Lines were split off whole before their length was checked, so a bundle file of
    /// BEGIN and then gigabytes without a newline was held in memory (up to the 64 GiB
    /// bundle limit) before being refused. Now a line stops at MAX_LINE bytes.
    #[test]
    fn endless_line_is_refused_without_buffering_it() {
        let begin = format!("{BEGIN}\n");
        let endless = io::BufReader::new(begin.as_bytes().chain(io::repeat(b'A')));
        let err = decode(endless, &mut Vec::new(), u64::MAX).unwrap_err().to_string();
        assert!(err.contains("line 2 is over"), "{err}");
        let blanks = io::BufReader::new(io::repeat(b' '));
        assert!(
            decode(blanks, &mut Vec::new(), u64::MAX)
                .unwrap_err()
                .to_string()
                .contains("line 1 is over")
        );
        // a line of exactly MAX_LINE bytes (trailing blanks) is still read
        let mut arm = Vec::new();
        encode(&b"abc"[..], &mut arm).unwrap();
        let text = String::from_utf8(arm).unwrap().replacen(
            '\n',
            &format!("{}\n", " ".repeat(MAX_LINE as usize - BEGIN.len())),
            1,
        );
        let mut back = Vec::new();
        decode(text.as_bytes(), &mut back, u64::MAX).unwrap();
        assert_eq!(back, b"abc");
    }
}
