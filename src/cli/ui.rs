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
        let progress = !quiet && !no_progress && !json && std::io::stderr().is_terminal();
        Ui { json, quiet, progress }
    }

    /// Print a result built line by line: the JSON value with `--json`, else the lines.
    pub fn lines(&self, text: &Lines, json: serde_json::Value) {
        self.print(&text.0, json)
    }

    /// A list printed as it is made (`log`): the same bytes [`Ui::lines`] prints for the
    /// whole list, without holding it.
    pub fn stream(&self) -> Stream<'_> {
        Stream {
            ui: self,
            out: std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock()),
            n: 0,
        }
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
        self.error_line(e);
        if self.json {
            let v = serde_json::json!({"ok": false, "error": {"kind": e.kind(), "message": e.to_string(), "exit": super::exit::code(e)}});
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
    }

    /// The error line (and hints) on stderr only: for one input among several, whose
    /// result goes into the command's own JSON.
    pub fn error_line(&self, e: &Error) {
        eprintln!("secfile: error: {}", sanitize(&e.to_string()));
        if let Error::Busy { .. } = e {
            eprintln!("hint: another secfile process is using this home; retry when it has finished");
        }
    }
}

/// "1 block", "2 blocks".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
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

/// See [`Ui::stream`]: one entry at a time, a line of text or an element of a JSON array
/// (pretty-printed as `serde_json::to_string_pretty` prints the whole array).
pub struct Stream<'u> {
    ui: &'u Ui,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    n: usize,
}

impl Stream<'_> {
    pub fn push(&mut self, line: &str, json: serde_json::Value) {
        let r = if self.ui.json {
            let el = serde_json::to_string_pretty(&json).expect("json");
            let sep = if self.n == 0 { "[\n" } else { ",\n" };
            let indented: Vec<String> = el.lines().map(|l| format!("  {l}")).collect();
            write!(self.out, "{sep}{}", indented.join("\n"))
        } else {
            writeln!(self.out, "{}", sanitize(line))
        };
        self.n += 1;
        Self::check(r);
    }

    pub fn finish(mut self) {
        let r = if self.ui.json {
            if self.n == 0 {
                writeln!(self.out, "[]")
            } else {
                writeln!(self.out, "\n]")
            }
        } else {
            Ok(())
        };
        Self::check(r.and_then(|()| self.out.flush()));
    }

    fn check(r: std::io::Result<()>) {
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }
}

/// Draws the core's progress ([`crate::progress`]) on stderr: byte bars with rate and ETA
/// (NNCP's `-progress`), counts for block work. Installed only when progress is on.
pub struct Bars {
    mp: indicatif::MultiProgress,
}

impl Bars {
    pub fn install() {
        let mp = indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
        crate::progress::install(Box::new(Bars { mp }));
    }
}

struct Bar(indicatif::ProgressBar);

impl crate::progress::Task for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl crate::progress::Sink for Bars {
    fn start(&self, what: &str, total: Option<u64>, unit: crate::progress::Unit) -> Box<dyn crate::progress::Task> {
        use crate::progress::Unit;
        let template = match (unit, total) {
            (Unit::Bytes, Some(_)) => {
                "{msg:>12} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}"
            }
            (Unit::Bytes, None) => "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
            (Unit::Blocks, Some(_)) => "{msg:>12} [{bar:30}] {human_pos}/{human_len} blocks {per_sec} eta {eta}",
            (Unit::Blocks, None) => "{spinner} {msg} {human_pos} blocks {per_sec} {elapsed}",
        };
        let pb = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        pb.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("template")
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        let pb = self.mp.add(pb);
        Box::new(Bar(pb))
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
