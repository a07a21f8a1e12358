//! Keys, cards and the public identity of a node.
pub mod card;
pub mod keys;

pub use card::{Card, Identity};
pub use keys::{Keys, SigningKey};

use crate::digest;

/// The node id: the first 16 hex digits of the key fingerprint.
pub fn node_id(age_recipient: &str, minisign_pk: &str) -> String {
    fingerprint(age_recipient, minisign_pk)[..16].to_string()
}

/// The full fingerprint over both public keys (64 hex digits), for out-of-band checks.
pub fn fingerprint(age_recipient: &str, minisign_pk: &str) -> String {
    digest::hex(&digest::sha256(
        format!("secfile node v1\n{age_recipient}\n{minisign_pk}\n").as_bytes(),
    ))
}

/// A fingerprint grouped in fours for reading aloud.
pub fn grouped(fp: &str) -> String {
    fp.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex"))
        .collect::<Vec<_>>()
        .join(" ")
}
