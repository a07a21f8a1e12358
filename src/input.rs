//! Inputs named on the command line (bundles, cards, attachments, passphrase files) and
//! stdin, held to documented limits while they are read (DESIGN §4 "Bounded input").
//!
//! A path is opened with `O_NONBLOCK` and then `fstat`ed: anything but a regular file (a
//! FIFO, a device such as `/dev/zero`, a socket) is refused at once, without blocking on
//! a FIFO that has no writer and without reading an endless device. Stdin (`-`) may be a
//! pipe: it is read counting bytes, and nothing is kept past the limit.
use crate::error::{Error, IoContext, Result};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// The largest card accepted (`init --master`, `roster admit`).
pub const MAX_CARD: u64 = 1 << 20;
/// The largest passphrase file accepted (`--passphrase-file`).
pub const MAX_PASSPHRASE_FILE: u64 = 4096;
/// The largest attachment (`append`, `request`, `issue --attach`), from a file or stdin.
pub const MAX_ATTACHMENT: u64 = 32 << 30;

/// True for the `-` that means stdin.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// How a path given on the command line is named in messages.
pub fn label(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// What a file type is called in the refusal.
fn what(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Open a path given as input, refusing (exit 1, kind `malformed`) anything that is not a
/// regular file before reading a byte, and without blocking on a FIFO.
pub fn open_regular(path: &Path) -> Result<File> {
    #[cfg(unix)]
    let f = {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| Error::io(path, e.into()))?;
        File::from(fd)
    };
    #[cfg(not(unix))]
    let f = File::open(path).at(path)?;
    let meta = f.metadata().at(path)?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta.file_type()));
    }
    Ok(f)
}

fn not_regular(path: &Path, ft: &std::fs::FileType) -> Error {
    Error::rejected(
        path.display(),
        "malformed",
        format!("{}, not a regular file: give a file, or - to read stdin", what(ft)),
    )
}

fn over(label: &str, what: &str, limit: u64) -> Error {
    Error::rejected(label, "limit", format!("over the {what} limit of {limit} bytes"))
}

/// Read a small input (a card, a passphrase file) whole: a regular file or stdin (`-`),
/// refusing more than `limit` bytes (`what` names the limit in the message).
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if is_stdin(path) {
        io::stdin().lock().take(limit + 1).read_to_end(&mut buf).at("stdin")?;
    } else {
        let f = open_regular(path)?;
        if f.metadata().at(path)?.len() > limit {
            return Err(over(&label(path), what, limit));
        }
        f.take(limit + 1).read_to_end(&mut buf).at(path)?;
    }
    if buf.len() as u64 > limit {
        return Err(over(&label(path), what, limit));
    }
    Ok(buf)
}

/// Check that a path input is a regular file within `limit` bytes, without reading it
/// (it is read later, streaming).
pub fn check_file(path: &Path, limit: u64, what: &str) -> Result<()> {
    let f = open_regular(path)?;
    if f.metadata().at(path)?.len() > limit {
        return Err(over(&label(path), what, limit));
    }
    Ok(())
}

/// Copy `r` to `w`, counting: at most `limit` bytes are copied, and more is an error
/// (`limit`, exit 1) found as soon as byte `limit + 1` is read. Read errors name `from`,
/// write errors `to` (a full disk stays an I/O error, exit 3).
pub fn copy_bounded(r: &mut dyn Read, w: &mut dyn Write, limit: u64, from: &str, to: &Path, what: &str) -> Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(from, e)),
        };
        if n + k as u64 > limit {
            return Err(over(from, what, limit));
        }
        w.write_all(&buf[..k]).at(to)?;
        n += k as u64;
    }
    w.flush().at(to)?;
    Ok(n)
}

/// Spool stdin into a new temp file in `dir` (mode 0600), within `limit` bytes. The temp
/// file is removed when dropped, and by the next command's sweep after a crash.
pub fn spool_stdin(dir: &Path, limit: u64, what: &str) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).at(dir)?;
    let p = tmp.path().to_path_buf();
    copy_bounded(&mut io::stdin().lock(), tmp.as_file_mut(), limit, "stdin", &p, what)?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_stops_at_the_limit_byte() {
        let d = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let e = copy_bounded(&mut io::repeat(0), &mut out, 1000, "stdin", d.path(), "attachment").unwrap_err();
        assert_eq!(e.kind(), "limit");
        assert!(out.len() <= 1000, "nothing kept past the limit: {}", out.len());
        let mut out = Vec::new();
        assert_eq!(
            copy_bounded(&mut &[7u8; 1000][..], &mut out, 1000, "s", d.path(), "x").unwrap(),
            1000
        );
    }

    #[test]
    fn full_disk_while_copying_is_io() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = copy_bounded(&mut &b"abc"[..], &mut Full, 10, "stdin", Path::new("t"), "x").unwrap_err();
        assert_eq!(e.class(), crate::error::Class::Io);
    }

    #[cfg(unix)]
    #[test]
    fn fifo_and_devices_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(e.kind(), "malformed");
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = read_bounded(Path::new("/dev/zero"), 10, "card").unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        assert!(open_regular(d.path()).unwrap_err().to_string().contains("directory"));
        let f = d.path().join("f");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read_bounded(&f, 5, "card").unwrap(), b"hello");
        assert_eq!(read_bounded(&f, 4, "card").unwrap_err().kind(), "limit");
    }
}
