//! The state of every security file as a pure function of the global chain: operations
//! are applied in global order (final entries, then the tentative tail); the first valid
//! conflicting operation wins and later ones are reported as rejected, with the reason.
//! A `return` makes the master holder and the file surrendered (nothing but `revoke`
//! after it); a `reject` by a transfer's new holder, before it endorses, transfers or
//! returns the file, makes the sender holder again.
use crate::merge::bodies::{AcceptBody, IssueBody, NoteBody, RemoveBody, TransferBody};
use crate::merge::global::Global;
use crate::merge::validate::Member;
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

/// Derive every file's state from the merged global chain.
pub fn derive(global: &Global, eval: &Evaluation, cands: &[Cand]) -> BTreeMap<String, FileState> {
    let mut d = Deriver::default();
    for (n, e) in global.entries.iter().enumerate() {
        let b = cands[e.cand].block.as_ref().expect("valid blocks parse");
        let status = if n < global.final_count { "final" } else { "tentative" };
        d.apply(&eval.members, &eval.master, b, status);
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
    /// Members removed so far, in global order.
    removed: BTreeSet<String>,
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
    pub fn apply(&mut self, members: &BTreeMap<String, Member>, master: &str, b: &Block, status: &'static str) {
        let Deriver {
            files,
            orphans,
            removed,
        } = self;
        let member_ok = |id: &str| {
            members
                .get(id)
                .is_some_and(|m| (m.admit_clock, master) < (b.clock, b.chain.as_str()) && !removed.contains(id))
        };
        if b.kind == "remove" && b.chain == master {
            if let Ok(r) = b.body_as::<RemoveBody>() {
                removed.insert(r.id);
            }
            return;
        }
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
