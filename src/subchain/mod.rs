//! Sub-chains on disk: the block codec over exact bytes, detached minisign signatures,
//! the per-node store of `chains/<id>/`, and the `seen` frontier.
pub mod block;
pub mod codec;
pub mod sign;
pub mod store;

pub use block::{Block, SeenRef};

/// The largest block file accepted, checked before parsing.
pub const MAX_BLOCK: usize = 64 * 1024;
/// The largest field value (`--field K=V`, notes).
pub const MAX_FIELD: usize = 4096;
/// The most fields in one block.
pub const MAX_FIELDS: usize = 64;

/// True for a node id: 16 lowercase hex digits.
pub fn is_node_id(s: &str) -> bool {
    s.len() == 16 && crate::digest::is_lower_hex(s)
}

/// True for a node name: 1–64 of `A-Za-z0-9._-`, starting with a letter or digit.
pub fn is_node_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && !is_node_id(s)
}

/// True for a block kind: 1–64 of `a-z0-9_.-`, starting with a letter.
pub fn is_kind_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-')
}

/// True for a field key: 1–64 of `A-Za-z0-9_.-`.
pub fn is_field_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The file name of a block at a height.
pub fn block_file_name(height: u64) -> String {
    format!("{height:010}.yaml")
}

/// Parse a block file name back to its height (exactly ten digits + `.yaml`).
pub fn parse_block_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".yaml")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
