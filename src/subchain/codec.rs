//! The strict YAML subset of blocks and other signed documents.
//!
//! secfile writes YAML in one canonical form (block style, two-space indent, every string
//! double-quoted, only unsigned integers, no comments). Reading is strict: size capped
//! before parsing; BOM, CR, control characters, anchors, aliases, tags, merge keys and
//! duplicate keys are refused with a reason naming them; and a document must re-emit to
//! exactly its own bytes, so two readers can never disagree about what was signed.
//! Hashes and signatures are always over the raw bytes, never a re-serialisation.
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
    let plain = k.len() >= 2
        && k.as_bytes()[0].is_ascii_lowercase()
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED_WORDS.contains(&k);
    if plain {
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

#[cfg(test)]
mod tests {
    use super::*;

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
