//! `append`: a generic block for scripts (attachments by name, size and SHA-256 only).
use super::Who;
use crate::error::{Error, Result};
use crate::merge::bodies::{self, GenericBody};
use crate::node::Node;
use crate::subchain::{self, Block};
use std::collections::BTreeMap;

pub fn append(
    node: &Node,
    kind: &str,
    fields: BTreeMap<String, String>,
    attach: &[std::path::PathBuf],
) -> Result<(Block, String)> {
    if !subchain::is_kind_name(kind) {
        return Err(Error::usage(format!(
            "--kind {kind:?}: kinds are 1-64 of a-z 0-9 . _ -, starting with a letter"
        )));
    }
    if bodies::BUILTIN_KINDS.contains(&kind) {
        return Err(Error::usage(format!(
            "--kind {kind}: a built-in kind; use its own command"
        )));
    }
    let attachments = attach
        .iter()
        .map(|p| crate::ops::attachment(p))
        .collect::<Result<Vec<_>>>()?;
    let mut tx = node.begin_view(Who::Acting)?;
    let (b, hash) = tx.stage_block(kind, GenericBody { fields, attachments }.to_value())?;
    tx.commit()?;
    Ok((b, crate::digest::hex(&hash)))
}
