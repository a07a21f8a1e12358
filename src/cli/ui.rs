//! Output: results on stdout (text or `--json`), status and errors on stderr, progress
//! only on a terminal. Text that came from another node is escaped before it is printed:
//! results are built with [`Lines`] (each line escaped whole, so a field holding a newline
//! cannot forge a line of its own), status and error lines are escaped whole, and
//! [`crate::text::Untrusted`] escapes a single value. JSON output stays raw (JSON escapes).
use crate::error::Error;
use std::io::{IsTerminal, Write};

pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub progress: bool,
}

impl Ui {
    pub fn new(json: bool, quiet: bool, no_progress: bool) -> Ui {
        let progress = !quiet && !no_progress && std::io::stderr().is_terminal();
        Ui { json, quiet, progress }
    }

    /// Print a result built line by line: the JSON value with `--json`, else the lines.
    pub fn lines(&self, text: &Lines, json: serde_json::Value) {
        self.print(&text.0, json)
    }

    /// Print a one-line result: the JSON value with `--json`, else the line, escaped whole
    /// (a newline in it, from another node's text, is shown as `\n`: it cannot add a line).
    /// Results of several lines are built with [`Lines`] and printed with [`Ui::lines`].
    pub fn result(&self, line: &str, json: serde_json::Value) {
        self.print(&sanitize(line.trim_end_matches('\n')), json)
    }

    fn print(&self, text: &str, json: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let r = if self.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&json).expect("json"))
        } else if text.is_empty() {
            Ok(())
        } else {
            writeln!(out, "{}", text.trim_end_matches('\n'))
        };
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }

    /// Status lines on stderr (suppressed by `-q`), each escaped.
    pub fn status(&self, msg: &str) {
        if !self.quiet {
            for line in msg.split('\n') {
                eprintln!("{}", sanitize(line));
            }
        }
    }

    /// A warning on stderr (suppressed by `-q`).
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("secfile: warning: {}", sanitize(msg));
        }
    }

    /// An error: one line on stderr (with hints), and with `--json` an error document.
    pub fn error(&self, e: &Error) {
        eprintln!("secfile: error: {}", sanitize(&e.to_string()));
        if let Error::Busy { .. } = e {
            eprintln!("hint: another secfile process is using this home; retry when it has finished");
        }
        if self.json {
            let v = serde_json::json!({"ok": false, "error": {"kind": e.kind(), "message": e.to_string(), "exit": super::exit::code(e)}});
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
    }

    /// A spinner on stderr for long work (only on a terminal, never with -q/--no-progress);
    /// it clears itself when dropped.
    pub fn spinner(&self, msg: &str) -> Spinner {
        if !self.progress {
            return Spinner(indicatif::ProgressBar::hidden());
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("template"));
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Spinner(pb)
    }
}

/// Escape newlines, control and bidirectional characters (see [`crate::text`]).
pub fn sanitize(s: &str) -> String {
    crate::text::escape(s).into_owned()
}

/// A result text built one line at a time; every line is escaped whole when it is added,
/// so text from other nodes interpolated into it can neither add lines nor reorder them.
#[derive(Debug, Default)]
pub struct Lines(String);

impl Lines {
    pub fn new() -> Lines {
        Lines::default()
    }
    /// Add one line (escaped).
    pub fn line(&mut self, s: impl AsRef<str>) {
        self.0.push_str(&sanitize(s.as_ref()));
        self.0.push('\n');
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A spinner that clears itself when dropped.
pub struct Spinner(indicatif::ProgressBar);

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(super::sanitize("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(super::sanitize("a\nrevoked yes (by hq)"), "a\\nrevoked yes (by hq)");
    }

    #[test]
    fn lines_escape_each_line_whole() {
        let mut l = super::Lines::new();
        l.line(format!("field note={}", "x\nrevoked yes (by hq)"));
        l.line("state final");
        assert_eq!(l.as_str(), "field note=x\\nrevoked yes (by hq)\nstate final\n");
    }
}
