//! The outbox: every bundle this node made, kept until it is acknowledged —
//! request, file and transfer bundles by their recipient's signed receipt (see
//! [`super::receipts`]), sync bundles by the recipient's frontier.
//!
//! ```text
//! outbox/<recipient id>/<bundle id>.bundle      (or .bundle.asc)
//! outbox/<recipient id>/<bundle id>.yaml        what it is (Meta): the sender cannot read
//!                                               its own bundle's payload, encrypted to the
//!                                               recipient
//! ```
use crate::error::Result;
use crate::home::Home;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What an outbox bundle is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub bundle: String,
    pub kind: String,
    pub recipient: String,
    pub created: String,
    /// The security file it carries (file, transfer bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The request it carries (request bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// For sync bundles: this node's chain height when it was made (acknowledged once the
    /// recipient's frontier holds this node's chain that far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(default)]
    pub armor: bool,
}

impl Meta {
    pub fn encode(&self) -> Vec<u8> {
        serde_yaml::to_string(self).expect("meta serialises").into_bytes()
    }
    pub fn decode(bytes: &[u8]) -> Option<Meta> {
        if bytes.len() > 64 << 10 {
            return None;
        }
        let m: Meta = serde_yaml::from_slice(bytes).ok()?;
        (crate::dossier::docs::is_doc_id(&m.bundle) && crate::subchain::is_node_id(&m.recipient)).then_some(m)
    }
    /// True for bundles kept until a receipt (not sync bundles).
    pub fn wants_receipt(&self) -> bool {
        self.kind != "sync"
    }
}

pub fn dir(home: &Home, recipient: &str) -> PathBuf {
    home.outbox_dir().join(recipient)
}

pub fn bundle_path(home: &Home, recipient: &str, id: &str, armor: bool) -> PathBuf {
    dir(home, recipient).join(format!("{id}.{}", if armor { "bundle.asc" } else { "bundle" }))
}

pub fn meta_path(home: &Home, recipient: &str, id: &str) -> PathBuf {
    dir(home, recipient).join(format!("{id}.yaml"))
}

/// An outbox entry: what it is and where its bundle is.
#[derive(Debug, Clone)]
pub struct Entry {
    pub meta: Meta,
    pub path: PathBuf,
}

/// Every entry of the outbox, oldest first (by creation time, then id). Entries whose
/// metadata or bundle is missing or unreadable are left out.
pub fn list(home: &Home) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(home.outbox_dir()) else {
        return Ok(out);
    };
    for r in rd.flatten() {
        let rname = r.file_name().to_string_lossy().into_owned();
        if !crate::subchain::is_node_id(&rname) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(r.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".yaml") else { continue };
            if !crate::dossier::docs::is_doc_id(id) {
                continue;
            }
            let Some(meta) = crate::input::read_bounded(&f.path(), 64 << 10, "outbox entry")
                .ok()
                .and_then(|b| Meta::decode(&b))
            else {
                continue;
            };
            if meta.bundle != id || meta.recipient != rname {
                continue;
            }
            let path = bundle_path(home, &rname, id, meta.armor);
            if path.is_file() {
                out.push(Entry { meta, path });
            }
        }
    }
    out.sort_by(|a, b| (&a.meta.created, &a.meta.bundle).cmp(&(&b.meta.created, &b.meta.bundle)));
    Ok(out)
}

/// The entry of a bundle id, if this node keeps it.
pub fn find(home: &Home, id: &str) -> Result<Option<Entry>> {
    Ok(list(home)?.into_iter().find(|e| e.meta.bundle == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_refuses_bad_ids() {
        let m = Meta {
            bundle: "0123456789abcdef0123456789abcdef".into(),
            kind: "file".into(),
            recipient: "0123456789abcdef".into(),
            created: "2026-01-01T00:00:00Z".into(),
            file: Some("fedcba9876543210fedcba9876543210".into()),
            request: None,
            height: None,
            armor: false,
        };
        assert_eq!(Meta::decode(&m.encode()), Some(m.clone()));
        let bad = Meta {
            recipient: "../../etc".into(),
            ..m
        };
        assert_eq!(Meta::decode(&bad.encode()), None);
        assert_eq!(Meta::decode(b"garbage: ["), None);
    }
}
