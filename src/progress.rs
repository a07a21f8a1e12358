//! Progress of long work, reported by the core and drawn by the CLI. The core never
//! prints: it reports to the sink the CLI installs once ([`install`]); without one (a
//! library user, tests), reporting costs one atomic load.
//!
//! [`task`] starts a piece of work — bytes moved (content, bundles) or items counted
//! (blocks) — with its total when known; [`Reader`] and [`Writer`] count bytes as they
//! pass.
use std::io::{Read, Write};
use std::sync::OnceLock;

/// What a task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Blocks,
}

/// One piece of work being drawn.
pub trait Task: Send + Sync {
    fn inc(&self, n: u64);
    fn finish(&self);
}

/// What the CLI installs.
pub trait Sink: Send + Sync {
    fn start(&self, what: &str, total: Option<u64>, unit: Unit) -> Box<dyn Task>;
}

static SINK: OnceLock<Box<dyn Sink>> = OnceLock::new();

/// Install the process's sink (the first call wins).
pub fn install(sink: Box<dyn Sink>) {
    let _ = SINK.set(sink);
}

/// A task in progress; finished when dropped.
pub struct Guard(Option<Box<dyn Task>>);

impl Guard {
    pub fn inc(&self, n: u64) {
        if let Some(t) = &self.0 {
            t.inc(n);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.finish();
        }
    }
}

/// Start a task (a no-op without a sink).
pub fn task(what: &str, total: Option<u64>, unit: Unit) -> Guard {
    Guard(SINK.get().map(|s| s.start(what, total, unit)))
}

/// A reader that reports the bytes it reads.
pub struct Reader<'g, R> {
    inner: R,
    guard: &'g Guard,
}

impl<'g, R> Reader<'g, R> {
    pub fn new(inner: R, guard: &'g Guard) -> Self {
        Reader { inner, guard }
    }
}

impl<R: Read> Read for Reader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.guard.inc(n as u64);
        Ok(n)
    }
}

/// A writer that reports the bytes it writes.
pub struct Writer<'g, W> {
    inner: W,
    guard: &'g Guard,
}

impl<'g, W> Writer<'g, W> {
    pub fn new(inner: W, guard: &'g Guard) -> Self {
        Writer { inner, guard }
    }
}

impl<W: Write> Write for Writer<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.guard.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
