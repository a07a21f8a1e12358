//! The state of every security file as a pure function of the global chain: operations
//! are applied in global order (final entries, then the tentative tail); the first valid
//! conflicting operation wins and later ones are reported as rejected, with the reason.
//! A `return` makes the master holder and the file surrendered (nothing but `revoke`
//! after it); a `reject` by a transfer's new holder, before it endorses, transfers or
//! returns the file, makes the sender holder again.
use crate::merge::bodies::{AcceptBody, IssueBody, NoteBody, RemoveBody, TransferBody};
use crate::merge::global::{Entry, Global};
use crate::merge::{Cand, Evaluation};
use crate::subchain::Block;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One operation on a file, as the chain tells it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub by: String,
    pub chain: String,
    pub height: u64,
    pub clock: u64,
    pub time: String,
    pub detail: String,
    /// `final` or `tentative`.
    pub status: String,
    /// `None` when applied; the reason when rejected.
    pub rejected: Option<String>,
}

/// A file's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileState {
    pub id: String,
    pub serial: u64,
    pub holder: String,
    pub revoked: Option<String>,
    pub expires: Option<String>,
    pub request: Option<String>,
    pub manifest: String,
    pub endorsements: Vec<String>,
    pub notes: Vec<String>,
    /// Returned to the master: no further operation but `revoke`.
    pub surrendered: bool,
    /// The sender of the transfer that made the current holder, while the holder may
    /// still reject it (before endorsing, transferring or returning it).
    pub rejectable_to: Option<String>,
    /// True when some applied event is not final yet.
    pub tentative: bool,
    pub events: Vec<Event>,
}

/// The block kinds a file's state depends on: the file operations, and the roster's
/// admissions and removals ([`Deriver::apply`] ignores every other kind).
pub const FILE_KINDS: &[&str] = &[
    "issue", "transfer", "accept", "endorse", "annotate", "revoke", "return", "reject", "admit", "remove",
];

/// Derive every file's state from the merged global chain.
pub fn derive(global: &Global, eval: &Evaluation, cands: &[Cand]) -> BTreeMap<String, FileState> {
    let mut d = Deriver::default();
    for (n, e) in global.entries.iter().enumerate() {
        let b = cands[e.cand].block.as_ref().expect("valid blocks parse");
        let status = if n < global.final_count { "final" } else { "tentative" };
        d.apply(&eval.master, b, status);
    }
    d.finish()
}

/// The state of every file as a fold over the global chain, one entry at a time in
/// global order: what [`derive`] computes, kept between entries (the settled view keeps
/// it for the final prefix, `state/files`, and applies only what is new).
///
/// A member counts as active for an operation when its admission precedes the operation
/// in global order and no removal of it does: the state after an entry is a function of
/// the chain up to that entry, so the final prefix's state never changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Deriver {
    pub files: BTreeMap<String, FileState>,
    /// Operations on files not issued (yet): attached if the file is issued later.
    orphans: Vec<(String, Event)>,
    /// The active members so far, in global order: admitted by an `admit` block of the
    /// master's chain, until a `remove` block (the master is always one).
    active: BTreeSet<String>,
}

impl Deriver {
    /// The states, with the operations on files issued after them attached.
    pub fn finish(self) -> BTreeMap<String, FileState> {
        let mut files = self.files;
        for (file, ev) in self.orphans {
            if let Some(f) = files.get_mut(&file) {
                f.events.push(ev);
            }
        }
        files
    }

    /// Apply the next entry of the global chain (`status`: `final` or `tentative`).
    pub fn apply(&mut self, master: &str, b: &Block, status: &'static str) {
        use crate::merge::bodies::AdmitBody;
        let Deriver { files, orphans, active } = self;
        if b.chain == master {
            match b.kind.as_str() {
                "admit" => {
                    if let Ok(a) = b.body_as::<AdmitBody>() {
                        active.insert(a.id);
                    }
                    return;
                }
                "remove" => {
                    if let Ok(r) = b.body_as::<RemoveBody>() {
                        active.remove(&r.id);
                    }
                    return;
                }
                _ => {}
            }
        }
        let member_ok = |id: &str| id == master || active.contains(id);
        let mut ev = Event {
            kind: b.kind.clone(),
            by: b.chain.clone(),
            chain: b.chain.clone(),
            height: b.height,
            clock: b.clock,
            time: b.time.clone(),
            detail: String::new(),
            status: status.to_string(),
            rejected: None,
        };
        let block_time = crate::timefmt::parse_rfc3339(&b.time).unwrap_or(0);
        let (file, outcome): (String, Result<(), String>) = match b.kind.as_str() {
            "issue" => {
                let Ok(i) = b.body_as::<IssueBody>() else { return };
                ev.detail = format!("serial {} to {}", i.serial, i.holder);
                if files.contains_key(&i.file) {
                    orphans.push((
                        i.file.clone(),
                        Event {
                            rejected: Some("already issued".into()),
                            ..ev
                        },
                    ));
                    return;
                }
                if !member_ok(&i.holder) {
                    orphans.push((
                        i.file.clone(),
                        Event {
                            rejected: Some("holder is not an active member".into()),
                            ..ev
                        },
                    ));
                    return;
                }
                files.insert(
                    i.file.clone(),
                    FileState {
                        id: i.file.clone(),
                        serial: i.serial,
                        holder: i.holder.clone(),
                        revoked: None,
                        expires: i.expires.clone(),
                        request: i.request.clone(),
                        manifest: i.manifest.clone(),
                        endorsements: vec![],
                        notes: vec![],
                        surrendered: false,
                        rejectable_to: None,
                        tentative: status == "tentative",
                        events: vec![],
                    },
                );
                (i.file, Ok(()))
            }
            "transfer" => {
                let Ok(t) = b.body_as::<TransferBody>() else { return };
                ev.detail = format!("to {}", t.to);
                let r = match files.get_mut(&t.file) {
                    None => Err("no such file issued".to_string()),
                    Some(f) if f.holder != b.chain => Err(format!("{} is not the holder ({} is)", b.chain, f.holder)),
                    Some(f) if f.revoked.is_some() => Err("the file is revoked".into()),
                    Some(f) if f.surrendered => Err("the file was returned to the master".into()),
                    Some(f)
                        if f.expires
                            .as_deref()
                            .and_then(crate::timefmt::parse_rfc3339)
                            .is_some_and(|x| block_time > x) =>
                    {
                        Err("the file has expired".into())
                    }
                    Some(_) if !member_ok(&t.to) || t.to == b.chain => {
                        Err(format!("{} is not another active member", t.to))
                    }
                    Some(f) => {
                        f.rejectable_to = Some(f.holder.clone());
                        f.holder = t.to.clone();
                        Ok(())
                    }
                };
                (t.file, r)
            }
            "accept" => {
                let Ok(a) = b.body_as::<AcceptBody>() else { return };
                ev.detail = format!("from {}", a.from);
                let r = match files.get(&a.file) {
                    None => Err("no such file issued".to_string()),
                    Some(f) if f.holder != b.chain => Err(format!("{} is not the holder ({} is)", b.chain, f.holder)),
                    Some(_) => Ok(()),
                };
                (a.file, r)
            }
            "endorse" | "annotate" | "revoke" | "return" | "reject" => {
                let Ok(nb) = b.body_as::<NoteBody>() else { return };
                ev.detail = nb.note.clone();
                let kind = b.kind.as_str();
                let r = match files.get_mut(&nb.file) {
                    None => Err("no such file issued".to_string()),
                    Some(f) if kind == "revoke" && f.revoked.is_some() => Err("already revoked".into()),
                    Some(f) if kind == "revoke" => {
                        f.revoked = Some(nb.note.clone());
                        Ok(())
                    }
                    Some(f) if f.surrendered => Err("the file was returned to the master".into()),
                    Some(f) if (kind == "return" || kind == "reject") && f.holder != b.chain => {
                        Err(format!("{} is not the holder ({} is)", b.chain, f.holder))
                    }
                    Some(f) if kind == "return" => {
                        f.holder = master.to_string();
                        f.surrendered = true;
                        f.rejectable_to = None;
                        Ok(())
                    }
                    Some(f) if kind == "reject" => match f.rejectable_to.take() {
                        Some(sender) => {
                            ev.detail = format!("back to {sender}{}", if nb.note.is_empty() { String::new() } else { format!(": {}", nb.note) });
                            f.holder = sender;
                            Ok(())
                        }
                        None => Err("no transfer to reject: the holder received it by issue, or endorsed, transferred or returned it since".into()),
                    },
                    Some(f) if kind == "endorse" && f.holder != b.chain => {
                        Err(format!("{} is not the holder ({} is)", b.chain, f.holder))
                    }
                    Some(f) if kind == "endorse" && f.revoked.is_some() => Err("the file is revoked".into()),
                    Some(f) if kind == "endorse" => {
                        f.endorsements.push(b.chain.clone());
                        f.rejectable_to = None;
                        Ok(())
                    }
                    Some(f) => {
                        f.notes.push(nb.note.clone());
                        Ok(())
                    }
                };
                (nb.file, r)
            }
            _ => return,
        };
        ev.rejected = outcome.err();
        match files.get_mut(&file) {
            Some(f) => {
                if ev.rejected.is_none() && status == "tentative" {
                    f.tentative = true;
                }
                f.events.push(ev);
            }
            None => orphans.push((file, ev)),
        }
    }
}

/// The files' states as of a prefix of the final chain (DESIGN §5 "Checkpoints"), for the
/// `files` root of a checkpoint: a function of that prefix alone. Membership is the
/// roster as of each block's place in that chain — admitted by an `admit` before it and
/// not removed by a `remove` before it — never the roster held today, so every node and
/// every later recomputation gets the same states and root. Prefixes only grow: one
/// `AsOf` walks every checkpoint of a chain in order.
#[derive(Debug, Clone)]
pub struct AsOf {
    master: String,
    d: Deriver,
    applied: usize,
    /// Each file's leaf hash, kept current for the files the applied blocks named.
    leaf_hashes: BTreeMap<String, crate::digest::Hash>,
    /// The root, until a block names a file again.
    root: Option<crate::digest::Hash>,
}

impl AsOf {
    pub fn new(master: &str) -> AsOf {
        AsOf {
            master: master.to_string(),
            d: Deriver::default(),
            applied: 0,
            leaf_hashes: BTreeMap::new(),
            root: None,
        }
    }

    /// How many entries of the chain have been applied.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// Apply `entries[self.applied()..upto]` (entries of a complete merge, in global
    /// order; `upto` never below what was applied already).
    pub fn advance(&mut self, entries: &[Entry], upto: usize, cands: &[Cand]) {
        assert!(upto >= self.applied, "final chains only grow");
        for e in &entries[self.applied..upto] {
            let b = cands[e.cand].block.as_ref().expect("valid blocks parse");
            self.apply_block(b);
        }
        self.applied = upto;
    }

    /// Apply the next final entry's block (blocks of kinds outside [`FILE_KINDS`] change
    /// nothing and may be left out; [`Self::applied`] is not counted).
    pub fn apply_block(&mut self, b: &Block) {
        self.d.apply(&self.master, b, "final");
        self.d.orphans.clear();
        if let Some(id) = b.body_str("file") {
            if let Some(f) = self.d.files.get(id) {
                self.leaf_hashes.insert(
                    id.to_string(),
                    crate::digest::merkle::leaf_hash(leaf_line(f).as_bytes()),
                );
                self.root = None;
            }
        }
    }

    /// The states so far, by file id.
    pub fn files(&self) -> &BTreeMap<String, FileState> {
        &self.d.files
    }

    /// The leaves of the `files` tree, sorted by file id.
    pub fn leaves(&self) -> Vec<String> {
        self.d.files.values().map(leaf_line).collect()
    }

    /// The `files` root: the RFC 6962 tree hash over [`Self::leaves`]. Leaf hashes are
    /// kept per file and the root until a block names a file again, so walking many
    /// checkpoints costs one tree per checkpoint that follows a file operation.
    pub fn root(&mut self) -> crate::digest::Hash {
        if let Some(r) = self.root {
            return r;
        }
        let leaves: Vec<_> = self.leaf_hashes.values().copied().collect();
        let r = crate::digest::merkle::root(&leaves);
        debug_assert_eq!(r, files_root(&self.leaves()));
        self.root = Some(r);
        r
    }
}

/// The leaf of one file in a checkpoint's `files` tree: the ASCII line
/// `file <id> holder <node id> revoked <0|1> expires <RFC 3339 or -> manifest <sha256>`,
/// no trailing newline, the expiry written back in the canonical form of
/// `timefmt::rfc3339` (seconds, `Z`), hashes in lowercase hex.
pub fn leaf_line(f: &FileState) -> String {
    let expires = f
        .expires
        .as_deref()
        .and_then(crate::timefmt::parse_rfc3339)
        .map_or_else(|| "-".to_string(), crate::timefmt::rfc3339);
    format!(
        "file {} holder {} revoked {} expires {} manifest {}",
        f.id,
        f.holder,
        u8::from(f.revoked.is_some()),
        expires,
        f.manifest
    )
}

/// The RFC 6962 Merkle tree hash of leaf lines (in the order given).
pub fn files_root(leaves: &[String]) -> crate::digest::Hash {
    let hashed: Vec<_> = leaves
        .iter()
        .map(|l| crate::digest::merkle::leaf_hash(l.as_bytes()))
        .collect();
    crate::digest::merkle::root(&hashed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, holder: &str, revoked: bool, expires: Option<&str>) -> FileState {
        FileState {
            id: id.into(),
            serial: 1,
            holder: holder.into(),
            revoked: revoked.then(|| "reason".to_string()),
            expires: expires.map(str::to_string),
            request: None,
            manifest: "ab".repeat(32),
            endorsements: vec![],
            notes: vec![],
            surrendered: false,
            rejectable_to: None,
            tentative: false,
            events: vec![],
        }
    }

    #[test]
    fn leaf_lines() {
        let m = "ab".repeat(32);
        let cases = [
            (
                state("f1", "0123456789abcdef", false, None),
                format!("file f1 holder 0123456789abcdef revoked 0 expires - manifest {m}"),
            ),
            (
                state("f2", "0123456789abcdef", true, Some("2030-01-02T03:04:05Z")),
                format!("file f2 holder 0123456789abcdef revoked 1 expires 2030-01-02T03:04:05Z manifest {m}"),
            ),
        ];
        for (f, want) in cases {
            assert_eq!(leaf_line(&f), want);
        }
    }

    #[test]
    fn files_root_is_rfc6962_over_the_lines() {
        assert_eq!(files_root(&[]), crate::digest::sha256(b""));
        let l = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let h = |s: &str| crate::digest::merkle::leaf_hash(s.as_bytes());
        let n = crate::digest::merkle::node_hash;
        assert_eq!(files_root(&l), n(&n(&h("a"), &h("b")), &h("c")));
    }
}
