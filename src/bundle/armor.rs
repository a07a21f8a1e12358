//! ASCII armor for bundles sent in an email body: the whole binary bundle in base64,
//! 64 columns, between `-----BEGIN SECFILE BUNDLE-----` and `-----END SECFILE BUNDLE-----`.
//! Reading tolerates CRLF line ends and trailing blanks (mail clients add them) and
//! rejects anything else. Both directions stream.
use std::io::{self, BufRead, Read, Write};

pub const BEGIN: &str = "-----BEGIN SECFILE BUNDLE-----";
pub const END: &str = "-----END SECFILE BUNDLE-----";
/// The longest line read: 64 base64 digits, or a marker, and whatever blanks a mail client
/// adds, with room to spare.
const MAX_LINE: usize = 1024;
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

/// Decode an armored bundle from `r` onto `w`, stopping at `limit` decoded bytes.
pub fn decode<R: BufRead, W: Write>(mut r: R, mut w: W, limit: u64) -> Result<u64, String> {
    let mut lineno = 0usize;
    // each line is read up to MAX_LINE bytes: a line with no end is an error, not a buffer
    // growing with the input
    let mut next = |lineno: &mut usize| -> Result<Option<String>, String> {
        let mut l = Vec::new();
        let n = (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut l)
            .map_err(|e| format!("read error: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        *lineno += 1;
        if l.last() == Some(&b'\n') {
            l.pop();
        } else if l.len() > MAX_LINE {
            return Err(format!("broken armor: line {lineno} is over {MAX_LINE} bytes"));
        }
        let s = String::from_utf8(l).map_err(|_| format!("broken armor: line {lineno} is not text"))?;
        Ok(Some(s.trim_end_matches([' ', '\t', '\r']).to_string()))
    };
    // skip leading blank lines
    let first = loop {
        match next(&mut lineno)? {
            None => return Err("broken armor: empty".into()),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    if first != BEGIN {
        return Err(format!("broken armor: line {lineno} is not {BEGIN}"));
    }
    let mut total = 0u64;
    let mut ended_short = false;
    loop {
        let Some(line) = next(&mut lineno)? else {
            return Err(format!("broken armor: missing {END} (truncated?)"));
        };
        if line == END {
            break;
        }
        if ended_short {
            return Err(format!("broken armor: line {lineno} follows a final short line"));
        }
        let bytes = line.as_bytes();
        if bytes.is_empty() || bytes.len() % 4 != 0 || bytes.len() > 64 {
            return Err(format!("broken armor: line {lineno} has a bad length"));
        }
        if bytes.len() < 64 {
            ended_short = true;
        }
        let mut out = Vec::with_capacity(48);
        for (qi, q) in bytes.chunks(4).enumerate() {
            let last_quad = qi == bytes.len() / 4 - 1;
            let pads = q.iter().rev().take_while(|&&c| c == b'=').count();
            if pads > 2 || (pads > 0 && !last_quad) {
                return Err(format!("broken armor: bad padding on line {lineno}"));
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
            return Err(format!("armored bundle is over the limit of {limit} bytes"));
        }
        w.write_all(&out).map_err(|e| format!("write error: {e}"))?;
    }
    // only blank lines may follow
    while let Some(l) = next(&mut lineno)? {
        if !l.is_empty() {
            return Err(format!("broken armor: unexpected text after {END}"));
        }
    }
    Ok(total)
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
        ];
        for (t, want) in cases {
            let err = decode(t.as_bytes(), &mut Vec::new(), u64::MAX).unwrap_err();
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
        let err = decode(endless, &mut Vec::new(), u64::MAX).unwrap_err();
        assert!(err.contains("line 2 is over"), "{err}");
        let blanks = io::BufReader::new(io::repeat(b' '));
        assert!(
            decode(blanks, &mut Vec::new(), u64::MAX)
                .unwrap_err()
                .contains("line 1 is over")
        );
        // a line of exactly MAX_LINE bytes (trailing blanks) is still read
        let mut arm = Vec::new();
        encode(&b"abc"[..], &mut arm).unwrap();
        let text =
            String::from_utf8(arm)
                .unwrap()
                .replacen('\n', &format!("{}\n", " ".repeat(MAX_LINE - BEGIN.len())), 1);
        let mut back = Vec::new();
        decode(text.as_bytes(), &mut back, u64::MAX).unwrap();
        assert_eq!(back, b"abc");
    }
}
