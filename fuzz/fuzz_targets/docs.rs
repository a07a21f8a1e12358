//! Security file documents: `dossier::docs::decode` of a manifest and of a request. What
//! decodes must encode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::dossier::docs::{self, Manifest, RequestDoc};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = docs::decode::<Manifest>(data, "manifest") {
        assert_eq!(docs::encode(&m), data);
        let _ = m.expires_at();
    }
    if let Ok(r) = docs::decode::<RequestDoc>(data, "request") {
        assert_eq!(docs::encode(&r), data);
    }
});
