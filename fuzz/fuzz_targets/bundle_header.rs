//! Bundle framing: `envelope::read_prologue`, `envelope::read_small`, `bundle::Header::decode`
//! of whatever follows the prologue, and `bundle::parse` of the input as a bundle file.
//! A decoded header must re-encode to its bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::bundle::{self, Header};
use secfile::envelope;
use std::path::PathBuf;
use std::sync::LazyLock;

/// One temp file per process, rewritten for each input (bundle::parse reads a path).
static FILE: LazyLock<(tempfile::TempDir, PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.bundle");
    (dir, path)
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
    let (_, path) = &*FILE;
    std::fs::write(path, data).expect("write temp file");
    if let Ok(parsed) = bundle::parse(path, "fuzz") {
        assert_eq!(parsed.header.encode(), parsed.header_bytes);
        assert!(parsed.payload_offset <= data.len() as u64);
    }
});
