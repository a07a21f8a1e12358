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

/// The most lines of text read around the armor (a mail's greeting, signature, quoted
/// text): more is not a mail body.
const MAX_AROUND: usize = 100_000;

/// Decode the first armored bundle in `r` onto `w`, stopping at `limit` decoded bytes.
/// See [`decode_nth`].
pub fn decode<R: BufRead, W: Write>(r: R, w: W, limit: u64) -> Result<u64, CopyError> {
    decode_nth(r, w, limit, 0)
}

/// How many armored bundles a text holds (their BEGIN lines, quoted or not).
pub fn count<R: BufRead>(mut r: R) -> io::Result<usize> {
    let mut n = 0;
    let mut l = Vec::new();
    loop {
        l.clear();
        if r.by_ref().take(MAX_LINE + 1).read_until(b'\n', &mut l)? == 0 {
            return Ok(n);
        }
        if let Ok(s) = std::str::from_utf8(&l) {
            if quote_prefix(s.trim_end_matches([' ', '\t', '\r', '\n']), BEGIN).is_some() {
                n += 1;
            }
        }
    }
}

/// The prefix before `marker` on a line, when it is a mail quote (`>`, `> `, `>> `…) or
/// nothing.
fn quote_prefix<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let p = line.strip_suffix(marker)?;
    p.bytes().all(|b| b == b'>' || b == b' ').then_some(p)
}

/// Decode armored bundle number `skip` (0 for the first) found in a text, onto `w`,
/// stopping at `limit` decoded bytes. The armor may sit inside a mail body: text before
/// its BEGIN line and after its END line is ignored (a greeting, a `-- ` signature, other
/// bundles), CRLF line ends and trailing blanks are accepted, and a quoted reply is read
/// through its quote prefix (`> `), which must then begin every armor line. Inside the
/// armor nothing else is accepted. Memory stays bounded whatever the input (lines over
/// [`MAX_LINE`] are refused, at most [`MAX_AROUND`] lines around the armor); a write error
/// is [`CopyError::Io`], not broken armor.
pub fn decode_nth<R: BufRead, W: Write>(mut r: R, mut w: W, limit: u64, skip: usize) -> Result<u64, CopyError> {
    let mut lineno = 0usize;
    // base64 is 4/3 of the data; the text around it counts too
    let raw_limit = limit.saturating_mul(4) / 3 + (64 << 20);
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
        // text around the armor need not be UTF-8 (a mail in another charset)
        let s = String::from_utf8_lossy(&l).into_owned();
        Ok(Some(s.trim_end_matches([' ', '\t', '\r']).to_string()))
    };
    let mut body = || -> Result<u64, CopyError> {
        // find the BEGIN line of bundle `skip`
        let mut seen = 0usize;
        let prefix = loop {
            match next(&mut lineno)? {
                None if seen == 0 => return Err(format!("not a secfile-bundle file: no {BEGIN} line").into()),
                None => return Err(format!("broken armor: no bundle number {} in the text", skip + 1).into()),
                Some(_) if lineno > MAX_AROUND => {
                    return Err(format!("broken armor: no {BEGIN} in the first {MAX_AROUND} lines").into());
                }
                Some(l) => {
                    if let Some(p) = quote_prefix(&l, BEGIN) {
                        if seen == skip {
                            break p.to_string();
                        }
                        seen += 1;
                    }
                }
            }
        };
        let quoted = prefix.trim_end().to_string();
        let unquote = |line: &str| -> Option<String> {
            if let Some(rest) = line.strip_prefix(prefix.as_str()) {
                return Some(rest.to_string());
            }
            // a quoted line whose content is empty keeps its `>` but may lose the blank
            (line == quoted).then(String::new)
        };
        let mut total = 0u64;
        let mut ended_short = false;
        loop {
            let Some(raw_line) = next(&mut lineno)? else {
                return Err(format!("broken armor: missing {END} (truncated?)").into());
            };
            let Some(line) = unquote(&raw_line) else {
                return Err(
                    format!("broken armor: line {lineno} lacks the quote prefix {prefix:?} of its BEGIN line").into(),
                );
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
        // whatever follows (a signature, more quoted text, other bundles) is not read
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
            (text.replace("BEGIN", "BEGUN"), "no -----BEGIN"),
            (String::new(), "no -----BEGIN"),
            (format!("{BEGIN}\n{}", "A".repeat(5000)), "over 1024 bytes"),
            (format!("{}{text}", "\n".repeat(MAX_AROUND + 1)), "no -----BEGIN"),
            (text.replacen("\n", "\nnot armor\n", 1), "bad length"),
            (text.replace("\n", "\n> ").replacen("> ", "", 1), "line 3"),
        ];
        for (t, want) in cases {
            let err = decode(t.as_bytes(), &mut Vec::new(), u64::MAX).unwrap_err().to_string();
            assert!(err.contains(want), "{err} (want {want:?} for {t:?})");
        }
    }

    /// Issue 12: an armored bundle pasted into a mail was refused as soon as anything
    /// surrounded it.
    #[test]
    fn armor_is_found_inside_a_mail_body() {
        let mut arm = Vec::new();
        let data: Vec<u8> = (0..200u32).map(|i| (i * 13) as u8).collect();
        encode(&data[..], &mut arm).unwrap();
        let text = String::from_utf8(arm).unwrap();
        let mut other = Vec::new();
        encode(&b"the second bundle"[..], &mut other).unwrap();
        let other = String::from_utf8(other).unwrap();
        let quoted: String = text.lines().map(|l| format!("> {l}\n")).collect();
        let deeper: String = text.lines().map(|l| format!(">> {l}  \r\n")).collect();
        let forms = [
            format!("Hello Bob,\n\nhere is the file.\n\n{text}\n-- \nAlice\n"),
            text.replace('\n', "\r\n"),
            text.replace('\n', "   \n"),
            format!("On Monday Alice wrote:\n{quoted}>\n> -- \n> Alice\n"),
            format!("Re:\n{deeper}"),
            format!("{text}\nand another:\n{other}"),
        ];
        for f in &forms {
            let mut back = Vec::new();
            decode(f.as_bytes(), &mut back, u64::MAX).unwrap_or_else(|e| panic!("{e}: {f:?}"));
            assert_eq!(back, data, "{f:?}");
        }
        let two = &forms[5];
        assert_eq!(count(two.as_bytes()).unwrap(), 2);
        let mut back = Vec::new();
        decode_nth(two.as_bytes(), &mut back, u64::MAX, 1).unwrap();
        assert_eq!(back, b"the second bundle");
        assert!(decode_nth(two.as_bytes(), &mut Vec::new(), u64::MAX, 2).is_err());
        // damage inside the armor is still refused, quoted or not
        let bad = forms[3].replacen("> ", "> x", 3);
        assert!(decode(bad.as_bytes(), &mut Vec::new(), u64::MAX).is_err());
        // a quoted armor line that lost its quote prefix
        let lost = forms[3].replacen("\n> ", "\n", 2);
        assert!(decode(lost.as_bytes(), &mut Vec::new(), u64::MAX).is_err());
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
