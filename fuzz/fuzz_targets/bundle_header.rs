//! Bundle framing: `envelope::read_prologue`, `envelope::read_small`, `bundle::Header::decode`
//! of whatever follows the prologue, `bundle::parse` of the input as a bundle file, then
//! `bundle::authenticate` of what parses (signature by the fixtures' hq, payload digest).
//! A decoded header must re-encode to its bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::bundle::{self, Header};
use secfile::envelope;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// One unlinked temp file per process, rewritten for each input, and a path that opens it
/// (bundle::parse reads a path): in memory (/dev/shm) where there is one, several times the
/// executions of a disk; unlinked, so nothing is left behind when libFuzzer exits.
static FILE: LazyLock<(File, PathBuf)> = LazyLock::new(|| {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let f = tempfile::tempfile_in(dir).expect("temp file");
    let path = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
    (f, path)
});

/// The minisign key of `hq` in fixtures/homes/, which signed the fixture bundles.
static HQ: LazyLock<minisign::PublicKey> = LazyLock::new(|| {
    minisign::PublicKey::from_base64("RWT2UfM9pDTt5czZ/1i8rRe9JJ7HpXu9XYJpqgj7acJocFv6BKphrO9U").expect("hq key")
});

fuzz_target!(|data: &[u8]| {
    // the header alone
    if let Ok(h) = Header::decode(data) {
        assert_eq!(h.encode(), data, "a decoded header re-encodes differently");
    }
    // the framing
    let mut r = data;
    if let Ok(p) = envelope::read_prologue(&mut r, bundle::MAGIC, bundle::MAX_HEADER) {
        assert!(p.doc_len <= bundle::MAX_HEADER && p.sig_len <= envelope::MAX_SIG);
        assert_eq!(
            p.line().as_bytes(),
            &data[..data.len() - r.len()],
            "prologue line re-encodes differently"
        );
        if let Ok(doc) = envelope::read_exact_part(&mut r, p.doc_len, "header") {
            let _ = Header::decode(&doc);
        }
    }
    let _ = envelope::read_small(data, bundle::MAGIC, bundle::MAX_HEADER);
    // the file reader
    let (mut f, path) = (&FILE.0, &FILE.1);
    f.set_len(0).expect("truncate temp file");
    f.seek(SeekFrom::Start(0)).expect("seek temp file");
    f.write_all(data).expect("write temp file");
    if let Ok(parsed) = bundle::parse(path, "fuzz") {
        assert_eq!(parsed.header.encode(), parsed.header_bytes);
        assert!(parsed.payload_offset <= data.len() as u64);
        // the checks before decryption, as if hq (the fixtures' master) sent it
        let _ = bundle::authenticate(path, "fuzz", &parsed, &HQ);
    }
});
