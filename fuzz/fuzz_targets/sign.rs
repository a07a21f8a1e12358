//! Minisign signature files: the input is a `.minisig` file checked against a fixed block
//! of the fixtures and its signer's public key (hq). `sign::verify` must not panic,
//! `verify_many` (the batch path) must give exactly `verify`'s result, a file that verifies
//! must have the line sizes stock minisign requires, and `is_canonical` must take no valid
//! file but the fixture's own (the unsigned layout cannot change unnoticed).
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::subchain::sign;
use std::sync::LazyLock;

const DATA: &[u8] = include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml");
const FIXTURE_SIG: &[u8] = include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml.minisig");
const COMMENT: &str = "secfile block 9dd1e07a3c19a0c0 1";
static PK: LazyLock<minisign::PublicKey> = LazyLock::new(|| {
    minisign::PublicKey::from_base64("RWT2UfM9pDTt5czZ/1i8rRe9JJ7HpXu9XYJpqgj7acJocFv6BKphrO9U").expect("hq key")
});

fuzz_target!(|sig: &[u8]| {
    let pk = &*PK;
    let one = sign::verify(pk, DATA, sig, COMMENT);
    let many = sign::verify_many(&[(pk, DATA, sig, COMMENT)]);
    assert_eq!(many, vec![one.clone()], "verify_many and verify disagree");
    let canonical = sign::is_canonical(sig);
    if one.is_ok() {
        // stock minisign reads exactly 74 bytes of signature line and 64 of global signature
        let text = std::str::from_utf8(sig).expect("a valid signature file is text");
        let len = |n: usize| {
            text.lines()
                .nth(n)
                .map(|l| l.trim().trim_end_matches('=').len() * 6 / 8)
        };
        assert_eq!(
            (len(1), len(3)),
            (Some(74), Some(64)),
            "verifies where stock minisign refuses"
        );
        if canonical {
            // a canonical valid signature of the fixture block: only the fixture's own bytes
            assert!(
                sig == FIXTURE_SIG,
                "another canonical signature file verifies: {text:?}"
            );
        }
    }
});
