//! Minisign signature files: the input is a `.minisig` file checked against a fixed block
//! of the fixtures and its signer's public key (hq). `sign::verify` must not panic,
//! `verify_many` (the batch path) must give exactly `verify`'s result, and `is_canonical`
//! must not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::subchain::sign;
use std::sync::LazyLock;

const DATA: &[u8] = include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml");
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
    if one.is_ok() && canonical {
        // a canonical valid signature of the fixture block: only the fixture's own bytes
        assert_eq!(
            sig,
            &include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml.minisig")[..],
            "another canonical signature file verifies"
        );
    }
});
