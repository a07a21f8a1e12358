//! Text that came from other nodes (names, fields, notes, events, reasons, content names)
//! and how it reaches a terminal: escaped, never raw. [`Untrusted`] wraps such text so that
//! its `Display` escapes newlines, C0 and C1 controls, DEL and the bidirectional controls
//! (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line separators
//! U+2028/U+2029, as `\n`, `\r`, `\t` or `\u{202e}`. JSON output keeps the raw strings
//! (JSON escapes them itself). Text this node writes itself (`--field`, `--note`,
//! `--reason`, `--event`) is refused at input when it holds such characters
//! ([`check_own`]), so everything a node signs is printable as it is.
use std::borrow::Cow;
use std::fmt;

/// True for a character that must never reach a terminal raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL, C1
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// The text with every unsafe character escaped; borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text from another node: shown escaped by `Display`; [`Untrusted::raw`] for JSON and logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Untrusted<'a>(pub &'a str);

impl<'a> Untrusted<'a> {
    pub fn raw(self) -> &'a str {
        self.0
    }
}

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // padding (`{:<16}`) applies to the escaped form
        f.pad(&escape(self.0))
    }
}

/// `s.untrusted()`: wrap text that came from another node.
pub trait UntrustedExt {
    fn untrusted(&self) -> Untrusted<'_>;
}

impl UntrustedExt for str {
    fn untrusted(&self) -> Untrusted<'_> {
        Untrusted(self)
    }
}

impl UntrustedExt for String {
    fn untrusted(&self) -> Untrusted<'_> {
        Untrusted(self)
    }
}

/// Check text this node is about to sign (`what` names the flag): no control or
/// bidirectional characters. The error is a plain sentence for a usage error (without
/// `what` when it is empty).
pub fn check_own(what: &str, s: &str) -> Result<(), String> {
    match s.chars().find(|&c| is_unsafe(c)) {
        None => Ok(()),
        Some(c) => {
            let why = format!(
                "holds the control or bidirectional character U+{:04X}; write it without",
                c as u32
            );
            Err(if what.is_empty() { why } else { format!("{what}: {why}") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_newlines_controls_and_bidi() {
        assert_eq!(escape("a\nrevoked yes"), "a\\nrevoked yes");
        assert_eq!(escape("x\u{202e}txt.exe"), "x\\u{202e}txt.exe");
        assert_eq!(
            escape("\u{1b}[31m\u{7f}\u{85}\u{2066}\u{200f}"),
            "\\u{1b}[31m\\u{7f}\\u{85}\\u{2066}\\u{200f}"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(format!("{:<6}|", "a\tb".untrusted()), "a\\tb  |");
    }

    #[test]
    fn own_text_with_controls_is_refused() {
        assert!(check_own("--note", "fine text, ünïcode").is_ok());
        assert!(check_own("--note", "two\nlines").unwrap_err().contains("U+000A"));
        assert!(check_own("--field", "a\u{202e}b").unwrap_err().contains("U+202E"));
    }
}
