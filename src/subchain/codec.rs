//! The strict YAML subset of blocks and other signed documents.
//!
//! secfile writes YAML in one canonical form (block style, two-space indent, every string
//! double-quoted, only unsigned integers, no comments). Reading is strict: size capped
//! before parsing; BOM, CR, control characters, anchors, aliases, tags, merge keys and
//! duplicate keys are refused with a reason naming them; and a document must re-emit to
//! exactly its own bytes, so two readers can never disagree about what was signed.
//! Hashes and signatures are always over the raw bytes, never a re-serialisation.
//!
//! [`parse_canonical`] is the fast way in: a one-pass reader of exactly what [`emit`]
//! writes, which answers only when the bytes are the emission of the value it returns (so
//! [`parse_strict`] would return the same value) and otherwise leaves the document to
//! [`parse_strict`] and its error messages.
use serde_yaml::{Mapping, Value};
use std::fmt::Write;

/// Emit a value in canonical form. Top level must be a mapping.
pub fn emit(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    match v {
        Value::Mapping(m) => emit_mapping(&mut out, m, 0)?,
        _ => return Err("top level must be a mapping".into()),
    }
    Ok(out)
}

fn emit_mapping(out: &mut String, m: &Mapping, indent: usize) -> Result<(), String> {
    for (i, (k, v)) in m.iter().enumerate() {
        // In a sequence item the first key follows "- " on the same line.
        if i > 0 || indent == 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        let Value::String(k) = k else {
            return Err("mapping keys must be strings".into());
        };
        emit_key(out, k);
        out.push(':');
        emit_value_after_key(out, v, indent)?;
    }
    Ok(())
}

fn emit_value_after_key(out: &mut String, v: &Value, indent: usize) -> Result<(), String> {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            emit_mapping(out, m, indent + 2)
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            emit_sequence(out, s, indent)
        }
        _ => {
            out.push(' ');
            emit_scalar(out, v)?;
            out.push('\n');
            Ok(())
        }
    }
}

fn emit_sequence(out: &mut String, s: &[Value], indent: usize) -> Result<(), String> {
    for item in s {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Mapping(m) if !m.is_empty() => emit_mapping(out, m, indent + 2)?,
            Value::Sequence(s) if !s.is_empty() => return Err("nested sequences are not allowed".into()),
            _ => {
                emit_scalar(out, item)?;
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn emit_scalar(out: &mut String, v: &Value) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_u64() {
            Some(u) => write!(out, "{u}").expect("write to string"),
            None => return Err(format!("only unsigned integers are allowed, found {n}")),
        },
        Value::String(s) => quote(out, s),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Tagged(_) => return Err("YAML tags are not allowed".into()),
    }
    Ok(())
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

const RESERVED_WORDS: &[&str] = &["null", "true", "false", "yes", "no", "on", "off"];

fn emit_key(out: &mut String, k: &str) {
    if plain_key(k) {
        out.push_str(k);
    } else {
        quote(out, k);
    }
}

/// Double-quote a string with YAML escapes for everything that is not printable.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f || (0x80..0xa0).contains(&(c as u32)) => {
                write!(out, "\\x{:02x}", c as u32).expect("write to string")
            }
            '\u{feff}' => out.push_str("\\ufeff"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Check raw bytes before any parsing: size, UTF-8, BOM, control characters, and the
/// YAML features outside the subset (anchors, aliases, tags, merge keys, comments).
pub fn check_raw(bytes: &[u8], limit: usize) -> Result<&str, String> {
    if bytes.len() > limit {
        return Err(format!("{} bytes is over the limit of {limit}", bytes.len()));
    }
    if bytes.is_empty() {
        return Err("empty document".into());
    }
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return Err("starts with a byte-order mark (BOM)".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if let Some(pos) = text.find('\u{feff}') {
        return Err(format!("byte-order mark (BOM) at byte {pos}"));
    }
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\r' {
            return Err(format!("carriage return at byte {i}"));
        }
        if (*b < 0x20 && *b != b'\n') || *b == 0x7f {
            return Err(format!("control character 0x{b:02x} at byte {i}"));
        }
    }
    if !text.ends_with('\n') {
        return Err("does not end with a newline (truncated?)".into());
    }
    for (n, line) in text.lines().enumerate() {
        scan_line(line).map_err(|e| format!("line {}: {e}", n + 1))?;
    }
    Ok(text)
}

/// Look at a line outside double-quoted strings for YAML features outside the subset.
fn scan_line(line: &str) -> Result<(), String> {
    let mut in_str = false;
    let mut escaped = false;
    let mut prev = ' ';
    for c in line.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else {
            let token_start = prev == ' ' || prev == '-' || prev == ':' || prev == '[' || prev == ',';
            match c {
                '"' => in_str = true,
                '&' if token_start => return Err("YAML anchor (&) is not allowed".into()),
                '*' if token_start => return Err("YAML alias (*) is not allowed".into()),
                '!' if token_start => return Err("YAML tag (!) is not allowed".into()),
                '#' if token_start => return Err("YAML comment (#) is not allowed".into()),
                '\'' if token_start => return Err("single-quoted strings are not allowed".into()),
                '<' if line.trim_start().starts_with("<<") => {
                    return Err("YAML merge key (<<) is not allowed".into());
                }
                '|' | '>' if token_start => return Err("block scalars are not allowed".into()),
                _ => {}
            }
        }
        prev = c;
    }
    Ok(())
}

/// Check and parse a document of the strict subset into a [`Value`], then make sure the
/// canonical emission of that value is exactly the input.
pub fn parse_strict(bytes: &[u8], limit: usize) -> Result<Value, String> {
    let text = check_raw(bytes, limit)?;
    let v: Value = serde_yaml::from_str(text).map_err(|e| {
        let m = e.to_string();
        if m.contains("duplicate") {
            format!("duplicate key: {m}")
        } else {
            format!("not valid YAML: {m}")
        }
    })?;
    let again = emit(&v)?;
    if again.as_bytes() != bytes {
        return Err("not in secfile's canonical YAML form".into());
    }
    Ok(v)
}

/// Deepest nesting of block mappings and sequences the fast reader accepts; the YAML
/// deserializer gives up at 128, so anything deeper goes to the slow path.
const CANON_MAX_DEPTH: usize = 64;
/// Longest key (as written, quotes included) the fast reader accepts; libyaml refuses an
/// implicit key longer than 1024 bytes, so anything longer goes to the slow path.
const CANON_MAX_KEY: usize = 1000;

/// Fast reader of exactly the canonical form [`emit`] writes: `Some(v)` only when `bytes`
/// is `emit(&v)` byte for byte (and within `limit`, and inside the limits of the YAML
/// reader), so [`parse_strict`] would return the same `v`. Anything else, including
/// everything it is unsure of, is `None`: the caller then runs [`parse_strict`], which also
/// says what is wrong. No YAML parser, no re-emission: one pass over the bytes.
pub fn parse_canonical(bytes: &[u8], limit: usize) -> Option<Value> {
    let mut r = Canon::new(bytes, limit)?;
    let mut m = Mapping::new();
    r.mapping_rest(0, &mut m)?;
    r.end()?;
    (!m.is_empty()).then_some(Value::Mapping(m))
}

/// The cursor of [`parse_canonical`], also used directly by the block decoder. Each method
/// reads exactly what the matching emit function writes for the value it returns, so the
/// bytes read are that value's emission.
pub(crate) struct Canon<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Canon<'a> {
    /// A cursor at the start of a document whose top level is a mapping at indent 0.
    pub(crate) fn new(bytes: &'a [u8], limit: usize) -> Option<Canon<'a>> {
        if bytes.len() > limit {
            return None;
        }
        let s = std::str::from_utf8(bytes).ok()?;
        Some(Canon {
            s,
            b: bytes,
            pos: 0,
            depth: 1,
        })
    }

    /// `Some` when everything has been read.
    pub(crate) fn end(&self) -> Option<()> {
        (self.pos == self.b.len()).then_some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= CANON_MAX_DEPTH).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Read `lit`, if it is next.
    pub(crate) fn eat(&mut self, lit: &[u8]) -> Option<()> {
        if self.b[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Some(())
        } else {
            None
        }
    }

    /// `ind` spaces at the cursor, then `next` true for the byte after them.
    fn line_at(&self, ind: usize, next: impl Fn(u8) -> bool) -> bool {
        let rest = &self.b[self.pos..];
        rest.len() > ind && rest[..ind].iter().all(|&c| c == b' ') && next(rest[ind])
    }

    /// The entries of a mapping at `ind`, each on its own line (emit_mapping's padded keys).
    fn mapping_rest(&mut self, ind: usize, m: &mut Mapping) -> Option<()> {
        while self.line_at(ind, |c| c == b'"' || c.is_ascii_lowercase()) {
            self.pos += ind;
            let k = self.key()?;
            let v = self.value_after_key(ind)?;
            if m.insert(Value::String(k), v).is_some() {
                return None;
            }
        }
        Some(())
    }

    /// A key as emit_key writes it, and the `:` after it.
    fn key(&mut self) -> Option<String> {
        let start = self.pos;
        let k = if self.peek()? == b'"' {
            self.quoted()?
        } else {
            self.word().to_string()
        };
        self.key_end(start, k)
    }

    /// Check that `k`, read from `start` to the cursor, is written as emit_key writes it
    /// and is short enough, then read the `:`.
    fn key_end(&mut self, start: usize, k: String) -> Option<String> {
        let quoted = self.b[start] == b'"';
        if quoted == plain_key(&k) || self.pos - start > CANON_MAX_KEY {
            return None;
        }
        self.eat(b":")?;
        Some(k)
    }

    /// `[a-z0-9_]*` at the cursor.
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_') {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// What emit_value_after_key writes after the `:` of a key at `ind`.
    pub(crate) fn value_after_key(&mut self, ind: usize) -> Option<Value> {
        match self.peek()? {
            b' ' => {
                self.pos += 1;
                let v = self.scalar()?;
                self.eat(b"\n")?;
                Some(v)
            }
            b'\n' => {
                self.pos += 1;
                if self.line_at(ind, |c| c == b'-') {
                    self.sequence(ind)
                } else {
                    let mut m = Mapping::new();
                    self.enter()?;
                    self.mapping_rest(ind + 2, &mut m)?;
                    self.depth -= 1;
                    (!m.is_empty()).then_some(Value::Mapping(m))
                }
            }
            _ => None,
        }
    }

    /// A non-empty sequence at `ind` (emit_sequence): `- ` items at the key's indent.
    fn sequence(&mut self, ind: usize) -> Option<Value> {
        self.enter()?;
        let mut items = Vec::new();
        while self.line_at(ind, |c| c == b'-') {
            self.pos += ind;
            self.eat(b"- ")?;
            items.push(self.item(ind)?);
        }
        self.depth -= 1;
        (!items.is_empty()).then_some(Value::Sequence(items))
    }

    /// One sequence item after its `- `: a scalar line, or a mapping whose first key is
    /// on this line and whose other keys are at `ind + 2`.
    fn item(&mut self, ind: usize) -> Option<Value> {
        let start = self.pos;
        let first = match self.peek()? {
            b'"' => {
                let s = self.quoted()?;
                if self.peek()? != b':' {
                    self.eat(b"\n")?;
                    return Some(Value::String(s));
                }
                s
            }
            c if c.is_ascii_lowercase() => {
                let w = self.word();
                if self.peek()? != b':' {
                    let v = match w {
                        "null" => Value::Null,
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => return None,
                    };
                    self.eat(b"\n")?;
                    return Some(v);
                }
                w.to_string()
            }
            _ => {
                let v = self.scalar()?;
                self.eat(b"\n")?;
                return Some(v);
            }
        };
        let k = self.key_end(start, first)?;
        self.enter()?;
        let mut m = Mapping::new();
        let v = self.value_after_key(ind + 2)?;
        m.insert(Value::String(k), v);
        self.mapping_rest(ind + 2, &mut m)?;
        self.depth -= 1;
        Some(Value::Mapping(m))
    }

    /// What emit_scalar writes (the newline after it is the caller's).
    fn scalar(&mut self) -> Option<Value> {
        Some(match self.peek()? {
            b'"' => Value::String(self.quoted()?),
            b'n' => self.eat(b"null").map(|_| Value::Null)?,
            b't' => self.eat(b"true").map(|_| Value::Bool(true))?,
            b'f' => self.eat(b"false").map(|_| Value::Bool(false))?,
            b'{' => self.eat(b"{}").map(|_| Value::Mapping(Mapping::new()))?,
            b'[' => self.eat(b"[]").map(|_| Value::Sequence(Vec::new()))?,
            b'0'..=b'9' => Value::from(self.uint()?),
            _ => return None,
        })
    }

    /// An unsigned integer as emit_scalar writes it: no sign, no leading zero.
    pub(crate) fn uint(&mut self) -> Option<u64> {
        if self.peek()? == b'0' {
            self.pos += 1;
            return Some(0);
        }
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            self.pos += 1;
        }
        (self.pos > start).then_some(n)
    }

    /// A double-quoted string exactly as [`quote`] writes it.
    pub(crate) fn quoted(&mut self) -> Option<String> {
        self.eat(b"\"")?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' {
                    self.pos += 1;
                } else if c >= 0x80 {
                    let ch = self.s[self.pos..].chars().next()?;
                    if !raw_in_quote(ch) {
                        return None;
                    }
                    self.pos += ch.len_utf8();
                } else {
                    break;
                }
            }
            out.push_str(&self.s[start..self.pos]);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let e = self.peek()?;
                    self.pos += 1;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'n' => '\n',
                        b't' => '\t',
                        b'N' => '\u{85}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        b'x' => {
                            let h = self.b.get(self.pos..self.pos + 2)?;
                            let hex = |d: u8| match d {
                                b'0'..=b'9' => Some(d - b'0'),
                                b'a'..=b'f' => Some(d - b'a' + 10),
                                _ => None,
                            };
                            let c = (hex(h[0])? << 4) | hex(h[1])?;
                            self.pos += 2;
                            if !hex_escaped(c) {
                                return None;
                            }
                            char::from(c)
                        }
                        b'u' => {
                            self.eat(b"feff")?;
                            '\u{feff}'
                        }
                        _ => return None,
                    });
                }
                _ => return None,
            }
        }
    }
}

/// True when emit_key writes `k` bare.
fn plain_key(k: &str) -> bool {
    k.len() >= 2
        && k.as_bytes()[0].is_ascii_lowercase()
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED_WORDS.contains(&k)
}

/// True for a byte value [`quote`] writes as `\xHH`.
fn hex_escaped(c: u8) -> bool {
    (c < 0x20 && c != b'\n' && c != b'\t') || c == 0x7f || ((0x80..0xa0).contains(&c) && c != 0x85)
}

/// True for a non-ASCII character [`quote`] writes as itself and the YAML reader accepts
/// (it refuses U+FFFE and U+FFFF).
fn raw_in_quote(c: char) -> bool {
    !matches!(
        c,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round(doc: &str) -> Result<Value, String> {
        parse_strict(doc.as_bytes(), 1 << 16)
    }

    #[test]
    fn canonical_documents_round_trip() {
        let doc = "chain: \"ab\"\nheight: 3\nprev: null\nseen:\n- chain: \"x\"\n  height: 1\n- chain: \"y\"\n  height: 2\nempty: []\nmap: {}\nbody:\n  \"Odd Key\": \"a \\\"q\\\" & *b #c\\n\"\n  nn:\n    deep: true\n  list:\n  - \"one\"\n";
        let v = round(doc).unwrap();
        assert_eq!(emit(&v).unwrap(), doc);
    }

    #[test]
    fn rejects_what_is_outside_the_subset() {
        let cases = [
            ("\u{feff}a: 1\n", "BOM"),
            ("a: 1\r\n", "carriage return"),
            ("a: \"x\u{1}\"\n", "control character"),
            ("a: &x 1\nb: *x\n", "anchor"),
            ("a: 1\nb: *x\n", "alias"),
            ("a: !!str 1\n", "tag"),
            ("<<: {}\n", "merge key"),
            ("a: 1\na: 2\n", "duplicate key"),
            ("a: 1 # hi\n", "comment"),
            ("a: 'x'\n", "single-quoted"),
            ("a: x\n", "canonical"),
            ("a:   1\n", "canonical"),
            ("a: 1", "newline"),
            ("a: -1\n", "unsigned"),
        ];
        for (doc, want) in cases {
            let err = round(doc).unwrap_err();
            assert!(err.contains(want), "{doc:?}: {err}");
        }
    }

    /// The slow reader and the fast one on the same bytes: when the fast one answers, it
    /// is exactly the slow one's value and re-emits to the bytes; when the slow one accepts,
    /// the fast one answers.
    fn agree(bytes: &[u8]) -> Result<Option<Value>, String> {
        let fast = parse_canonical(bytes, 1 << 20);
        let slow = parse_strict(bytes, 1 << 20);
        if let Some(f) = &fast {
            let again = emit(f).map_err(|e| format!("fast value does not emit: {e}"))?;
            if again.as_bytes() != bytes {
                return Err(format!("fast value re-emits differently: {again:?}"));
            }
            if slow.as_ref() != Ok(f) {
                return Err(format!("fast {f:?} but slow {slow:?}"));
            }
        } else if let Ok(s) = &slow {
            return Err(format!("slow accepts {s:?} but fast does not"));
        }
        Ok(fast)
    }

    #[test]
    fn fast_reader_takes_canonical_documents() {
        let doc = "chain: \"ab\"\nheight: 3\nprev: null\nseen:\n- chain: \"x\"\n  height: 1\n- chain: \"y\"\n  height: 2\nempty: []\nmap: {}\nbody:\n  \"Odd Key\": \"a \\\"q\\\" & *b #c\\n\\x01\\x7f\\x9f\\N\\L\\P\\ufeff\\t\\\\\"\n  nn:\n    deep: true\n  list:\n  - \"one\"\n  - null\n  - 0\n  - 18446744073709551615\n  - {}\n  - []\n  - \"k\": false\n  - first:\n    - \"x\"\n    second:\n      third: \"\"\n  - \"\"\n  last: \"é \u{a0}\u{1F600}\"\n";
        let v = agree(doc.as_bytes()).unwrap().expect("fast path");
        assert_eq!(emit(&v).unwrap(), doc);
        assert_eq!(parse_canonical(doc.as_bytes(), doc.len() - 1), None);
    }

    #[test]
    fn fast_reader_leaves_the_rest_to_the_slow_one() {
        let long_key = format!("{}: 1\n", "k".repeat(1100));
        let quoted_long_key = format!("\"{}\": 1\n", "K".repeat(1100));
        let mut deep = String::new();
        for i in 0..200 {
            deep.push_str(&" ".repeat(2 * i));
            deep.push_str("kk:\n");
        }
        deep.push_str(&" ".repeat(400));
        deep.push_str("kk: 1\n");
        let cases = [
            "",
            "a: 1\n",
            "\"ab\": 1\n",
            "null: 1\n",
            "yes: 1\n",
            "ab: 01\n",
            "ab: 18446744073709551616\n",
            "ab: -1\n",
            "ab: 1.5\n",
            "ab: x\n",
            "ab: \"\\x0a\"\n",
            "ab: \"\\x09\"\n",
            "ab: \"\\x85\"\n",
            "ab: \"\\x41\"\n",
            "ab: \"\\x1B\"\n",
            "ab: \"\\u0041\"\n",
            "ab: \"\\e\"\n",
            "ab: \"\u{85}\"\n",
            "ab: \"\u{2028}\"\n",
            "ab: \"\u{feff}\"\n",
            "ab: \"\u{fffe}\"\n",
            "ab: \"\u{ffff}\"\n",
            "ab: \"\t\"\n",
            "ab: 1",
            "ab:  1\n",
            "ab: 1 \n",
            "ab:\n- - 1\n",
            "ab:\n  - 1\n",
            "ab:\n   cd: 1\n",
            "ab:\n- cd: 1\n   ef: 2\n",
            "ab:\n-\n  cd: 1\n",
            "ab: {}\nab: 1\n",
            "ab:\n- cd: 1\n  cd: 2\n",
            "ab: 1\n\n",
            "\nab: 1\n",
            "ab: 1\n# c\n",
            "ab: 1\r\n",
            " ab: 1\n",
            "ab: \"\"\"\n",
            "ab: { }\n",
            "ab:\n",
            "ab: ~\n",
            "ab: True\n",
            &long_key,
            &quoted_long_key,
            &deep,
        ];
        for doc in cases {
            assert_eq!(agree(doc.as_bytes()), Ok(None), "{doc:?}");
        }
        // the longest key the fast reader takes
        let key = format!("{}: 1\n", "k".repeat(CANON_MAX_KEY));
        assert!(agree(key.as_bytes()).unwrap().is_some());
        for doc in [
            "\"null\": 1\n\"yes\": 2\n\"a\": 3\n\"A\": 4\n\"<<\": {}\n\"\": []\n",
            "ab:\n- cd:\n  - 1\n  - \"2\"\n- 3\n- ef:\n    gh: []\n  ij: null\nkl: 0\n",
        ] {
            assert!(agree(doc.as_bytes()).unwrap().is_some(), "{doc:?}");
        }
    }

    /// Strings with a bias to what quote escapes and what YAML reads specially.
    fn text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '"',
            '\\',
            '\n',
            '\t',
            '\r',
            '\0',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{a0}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{1F600}',
            'é',
            ' ',
            ':',
            '#',
            '-',
            '&',
            '*',
            '!',
            '\'',
            '{',
            '[',
            '~',
            '0',
            '<',
            '|',
            '>',
            '%',
            '@',
            '`',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special, prop::char::range('a', 'z')], 0..10)
            .prop_map(String::from_iter)
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9_]{0,6}",
            prop::sample::select(vec![
                "null", "true", "false", "yes", "no", "on", "off", "inf", "nan", "y"
            ])
            .prop_map(String::from),
            text(),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            (0u64..20).prop_map(Value::from),
            text().prop_map(Value::String),
            Just(Value::Mapping(Mapping::new())),
            Just(Value::Sequence(Vec::new())),
        ];
        leaf.prop_recursive(5, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec((key(), inner.clone()), 0..5)
                    .prop_map(|kv| Value::Mapping(kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
                prop::collection::vec(inner, 0..5).prop_map(|items| {
                    // emit refuses a non-empty sequence directly in a sequence
                    let items = items.into_iter().map(|v| match v {
                        Value::Sequence(s) if !s.is_empty() => {
                            let mut m = Mapping::new();
                            m.insert(Value::String("seq".into()), Value::Sequence(s));
                            Value::Mapping(m)
                        }
                        v => v,
                    });
                    Value::Sequence(items.collect())
                }),
            ]
        })
    }

    fn document() -> impl Strategy<Value = Value> {
        prop::collection::vec((key(), value()), 1..6)
            .prop_map(|kv| Value::Mapping(kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn fast_reader_round_trips_emit(v in document()) {
            let doc = emit(&v).unwrap();
            let fast = agree(doc.as_bytes()).map_err(TestCaseError::fail)?;
            if fast.is_some() {
                prop_assert_eq!(fast, Some(v));
            } else {
                // only strings the YAML reader refuses keep a document off the fast path
                prop_assert!(doc.contains(['\u{fffe}', '\u{ffff}']), "{:?}", doc);
            }
        }
    }

    #[test]
    fn size_is_checked_first() {
        let err = parse_strict(&[b'a'; 100], 10).unwrap_err();
        assert!(err.contains("over the limit"));
    }

    #[test]
    fn awkward_strings_survive() {
        for s in [
            "",
            "null",
            "true",
            "0123",
            "1e5",
            "a: b",
            "- x",
            "é ü \u{2028} \u{85}",
            "\t\\\"",
            "~",
            "\u{7f}\u{1b}",
        ] {
            let mut m = Mapping::new();
            m.insert(Value::String(s.to_string()), Value::String(s.to_string()));
            let doc = emit(&Value::Mapping(m.clone())).unwrap();
            let back = round(&doc).unwrap_or_else(|e| panic!("{s:?} -> {doc:?}: {e}"));
            assert_eq!(back, Value::Mapping(m), "{doc}");
        }
    }
}
