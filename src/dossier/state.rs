//! The state of every security file as a pure function of the global chain: operations
//! are applied in global order (final entries, then the tentative tail); the first valid
//! conflicting operation wins and later ones are reported as rejected, with the reason.
//! A `return` makes the master holder and the file surrendered (nothing but `revoke`
//! after it); a `reject` by a transfer's new holder, before it endorses, transfers or
//! returns the file, makes the sender holder again.
use crate::merge::bodies::{AcceptBody, IssueBody, NoteBody, TransferBody};
use crate::merge::global::Global;
use crate::merge::{Cand, Evaluation};
use serde::Serialize;
use std::collections::BTreeMap;

/// One operation on a file, as the chain tells it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub kind: String,
    pub by: String,
    pub chain: String,
    pub height: u64,
    pub clock: u64,
    pub time: String,
    pub detail: String,
    /// `final` or `tentative`.
    pub status: &'static str,
    /// `None` when applied; the reason when rejected.
    pub rejected: Option<String>,
}

/// A file's state.
#[derive(Debug, Clone, Serialize)]
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
    let mut files: BTreeMap<String, FileState> = BTreeMap::new();
    let mut orphans: Vec<(String, Event)> = Vec::new();
    let member_ok = |id: &str| eval.members.get(id).is_some_and(|m| m.removed.is_none());
    for (n, e) in global.entries.iter().enumerate() {
        let b = cands[e.cand].block.as_ref().expect("valid blocks parse");
        let status = if n < global.final_count { "final" } else { "tentative" };
        let mut ev = Event {
            kind: b.kind.clone(),
            by: b.chain.clone(),
            chain: b.chain.clone(),
            height: b.height,
            clock: b.clock,
            time: b.time.clone(),
            detail: String::new(),
            status,
            rejected: None,
        };
        let block_time = crate::timefmt::parse_rfc3339(&b.time).unwrap_or(0);
        let (file, outcome): (String, Result<(), String>) = match b.kind.as_str() {
            "issue" => {
                let Ok(i) = b.body_as::<IssueBody>() else { continue };
                ev.detail = format!("serial {} to {}", i.serial, i.holder);
                if files.contains_key(&i.file) {
                    orphans.push((
                        i.file.clone(),
                        Event {
                            rejected: Some("already issued".into()),
                            ..ev
                        },
                    ));
                    continue;
                }
                if !member_ok(&i.holder) {
                    orphans.push((
                        i.file.clone(),
                        Event {
                            rejected: Some("holder is not an active member".into()),
                            ..ev
                        },
                    ));
                    continue;
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
                let Ok(t) = b.body_as::<TransferBody>() else { continue };
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
                let Ok(a) = b.body_as::<AcceptBody>() else { continue };
                ev.detail = format!("from {}", a.from);
                let r = match files.get(&a.file) {
                    None => Err("no such file issued".to_string()),
                    Some(f) if f.holder != b.chain => Err(format!("{} is not the holder ({} is)", b.chain, f.holder)),
                    Some(_) => Ok(()),
                };
                (a.file, r)
            }
            "endorse" | "annotate" | "revoke" | "return" | "reject" => {
                let Ok(nb) = b.body_as::<NoteBody>() else { continue };
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
                        f.holder = eval.master.clone();
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
            _ => continue,
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
    for (file, ev) in orphans {
        if let Some(f) = files.get_mut(&file) {
            f.events.push(ev);
        }
    }
    files
}
