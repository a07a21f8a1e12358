//! `xfer DIR`: a spool on a mounted medium, `DIR/<recipient>/<sender>/<bundle>`, read
//! and written only beneath DIR (see [`super::medium`]).
//!
//! One visit: import everything addressed to this node (each bundle in a transaction of
//! its own; a bundle refused now is tried again after the others); leave on the medium
//! every bundle of the outbox that still awaits its recipient's receipt (replacing a
//! missing or damaged copy); remove what was receipted; leave a fresh incremental sync
//! bundle for every peer, which stays until the peer's frontier shows it arrived.
//! Damaged, refused or unsafe inputs (symlinks, FIFOs) are reported with a kind and
//! skipped; the command exits 1 after doing all else.
use super::medium::{self, Medium};
use super::{outbox, sync};
use crate::act::Who;
use crate::error::{Error, Result};
use crate::home::Lock;
use crate::node::Node;
use rustix::fs::FileType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A fresh sync bundle left on the medium, kept until the recipient's frontier shows it
/// holds this node's chain as far as the bundle did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Left {
    /// Path relative to the spool root.
    pub file: String,
    pub recipient: String,
    pub height: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub sent: Vec<Left>,
    /// Per peer, the SHA-256 of the frontier in the last sync bundle left for it: a new
    /// one is left only when it carries blocks, receipts, or a frontier that changed.
    #[serde(default)]
    pub frontiers: std::collections::BTreeMap<String, String>,
}

/// An input xfer did not import.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub input: String,
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct XferReport {
    pub left: Vec<String>,
    pub imported: Vec<super::ImportReport>,
    pub skipped: Vec<Skipped>,
    /// Bundles removed from the medium (and the outbox) once acknowledged.
    pub confirmed: Vec<String>,
    /// Outbox bundles still awaiting their recipient's receipt.
    pub awaiting: usize,
    /// Leftover `.part` files of an interrupted visit removed.
    pub cleaned: usize,
    /// The checkpoint the master appended after importing new blocks: (height, final).
    pub checkpoint: Option<(u64, u64)>,
}

fn ledger_path(node: &Node) -> PathBuf {
    node.home.state_dir().join("xfer-sent.yaml")
}

/// The ledger; a missing or unreadable one is empty (its bundles are left again).
fn load_ledger(node: &Node) -> Ledger {
    crate::input::read_bounded(&ledger_path(node), 16 << 20, "xfer ledger")
        .ok()
        .and_then(|b| serde_yaml::from_slice(&b).ok())
        .unwrap_or_default()
}

fn is_bundle_name(n: &str) -> bool {
    !n.starts_with('.') && !n.ends_with(".part")
}

/// The bundle id a file name on the medium carries (`<id>.bundle`, `<id>.bundle.asc`).
fn bundle_id_of(name: &str) -> Option<&str> {
    let id = name
        .strip_suffix(".bundle.asc")
        .or_else(|| name.strip_suffix(".bundle"))?;
    crate::dossier::docs::is_doc_id(id).then_some(id)
}

fn skipped(input: String, e: &Error) -> Skipped {
    Skipped {
        input,
        kind: e.kind().to_string(),
        message: e.to_string(),
    }
}

/// A bundle that could not be left on the medium: a symlinked (or not a folder) component
/// of its path is refused as `unsafe` — never followed — anything else is the medium's
/// I/O trouble.
fn put_skipped(input: String, e: &Error) -> Skipped {
    use rustix::io::Errno;
    if let Error::Io { source, .. } = e {
        if [Errno::NOTDIR, Errno::LOOP]
            .iter()
            .any(|x| source.raw_os_error() == Some(x.raw_os_error()))
        {
            return Skipped {
                input,
                kind: "unsafe".into(),
                message: format!(
                    "{e} (a symlink or a file where a folder belongs: symlinks on the medium are not followed)"
                ),
            };
        }
    }
    skipped(input, e)
}

/// Run one exchange with the spool (takes the home's lock).
pub fn xfer(node: &Node, spool: &Path, armor: bool, max_size: Option<u64>) -> Result<XferReport> {
    let lock = node.lock()?;
    let medium = Medium::open(spool)?;
    let me = node.id().to_string();
    let mut report = XferReport::default();
    // 0. a bundle the medium cannot hold fails before anything is consumed
    let kept = outbox::list(&node.home)?;
    if kept
        .iter()
        .any(|e| std::fs::metadata(&e.path).is_ok_and(|m| m.len() > medium::FAT32_MAX_FILE))
        && medium.is_fat()
    {
        let e = kept
            .iter()
            .find(|e| std::fs::metadata(&e.path).is_ok_and(|m| m.len() > medium::FAT32_MAX_FILE))
            .expect("found above");
        return Err(Error::rejected(
            e.path.display(),
            "limit",
            format!(
                "bundle {} is over 4 GiB, the largest file FAT32 holds: {} is FAT; nothing was imported or left (carry it on another medium)",
                e.meta.bundle,
                spool.display()
            ),
        ));
    }
    // 1. `.part` files of an interrupted visit of this node
    let top = medium.list(&[]).unwrap_or_default();
    for (r, t) in &top {
        if *t != FileType::Directory || !crate::subchain::is_node_id(r) {
            continue;
        }
        for (n, _) in medium.list(&[r, &me]).unwrap_or_default() {
            if n.ends_with(".part") && medium.remove(&[r, &me], &n).is_ok() {
                report.cleaned += 1;
            }
        }
    }
    // 2. import everything addressed to this node
    import_inbox(node, &lock, &medium, &me, &mut report)?;
    // the master records a checkpoint of what it now holds before it leaves bundles, so
    // finality advances one stick round behind the slowest member (DESIGN §5)
    if node.config.role == crate::home::Role::Master && report.imported.iter().any(|r| r.added > 0) {
        let c = crate::act::checkpoint::checkpoint_under(node, &lock)?;
        report.checkpoint = Some((c.block.height, c.body.final_count));
    }
    // 3. what the peers confirmed: sync bundles by frontier, outbox bundles by receipt
    // (the imports above dropped those from the outbox)
    // through the settled index, as `sync export` loads it
    let loaded = node.load_settled()?;
    let st = &loaded.st;
    let my_height = st.head(&me).map(|(_, b)| b.height).unwrap_or(0);
    let covered = |recipient: &str, height: u64| -> bool {
        sync::peer_frontier(&node.home, recipient)
            .ok()
            .flatten()
            .and_then(|f| f.heads.into_iter().find(|h| h.chain == me).map(|h| h.height))
            .is_some_and(|h| h >= height)
    };
    let mut ledger = load_ledger(node);
    let mut keep_left: Vec<Left> = Vec::new();
    for l in ledger.sent.drain(..) {
        if covered(&l.recipient, l.height) {
            let _ = remove_rel(&medium, &l.file);
            report.confirmed.push(l.file);
        } else {
            keep_left.push(l);
        }
    }
    // 4. the outbox: bundles awaiting a receipt stay on the medium (a damaged or missing
    // copy replaced); sync bundles of the outbox until the frontier covers them
    let mut tx = node.begin_under(&lock, Who::Anyone)?;
    let mut on_medium: BTreeSet<String> = BTreeSet::new();
    for e in outbox::list(&node.home)? {
        let m = &e.meta;
        let name = e.path.file_name().expect("named").to_string_lossy().into_owned();
        let rel = format!("{}/{me}/{name}", m.recipient);
        if !m.wants_receipt() && covered(&m.recipient, m.height.unwrap_or(u64::MAX)) {
            tx.remove(&e.path);
            tx.remove(&outbox::meta_path(&node.home, &m.recipient, &m.bundle));
            let _ = medium.remove(&[&m.recipient, &me], &name);
            report.confirmed.push(rel);
            continue;
        }
        if m.wants_receipt() {
            report.awaiting += 1;
        }
        let too_big = max_size.is_some_and(|max| std::fs::metadata(&e.path).is_ok_and(|md| md.len() > max));
        let mut parts_dir: Option<tempfile::TempDir> = None;
        let files: Vec<(String, PathBuf)> = if too_big {
            // signed parts within --max-size, made afresh (they are the same bytes each visit)
            let keys = node.keys()?;
            let whose = crate::bundle::parts::Whose {
                id: m.bundle.clone(),
                sender: me.clone(),
                recipients: vec![m.recipient.clone()],
            };
            let dir = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempdir_in(tx.stage_dir()?)
                .map_err(|er| Error::io(node.home.tmp_dir(), er))?;
            let made = crate::bundle::parts::split(
                &e.path,
                &whose,
                crate::act::rekey::key_of_bundle(&keys, &e.path),
                max_size.unwrap_or(0),
                None,
                |i, n| crate::bundle::parts::part_name(&dir.path().join(&name), i, n),
            )?;
            let out = made
                .into_iter()
                .map(|p| (p.file_name().expect("named").to_string_lossy().into_owned(), p))
                .collect();
            parts_dir = Some(dir);
            out
        } else {
            vec![(name.clone(), e.path.clone())]
        };
        for (fname, src) in &files {
            let rel = format!("{}/{me}/{fname}", m.recipient);
            on_medium.insert(rel.clone());
            let same = if too_big {
                // parts are signed afresh each time (different signature bytes): the copy on
                // the medium is good when it is a part with the same header, correctly signed
                same_part(node, &medium, &[&m.recipient, &me], fname, src)
            } else {
                medium.holds_copy_of(&[&m.recipient, &me], fname, src)
            };
            if same {
                continue;
            }
            match medium.put(&[&m.recipient, &me], fname, src) {
                Ok(()) => report.left.push(rel),
                Err(err) => report.skipped.push(put_skipped(rel, &err)),
            }
        }
        drop(parts_dir);
    }
    // 5. a fresh incremental sync bundle for every peer (superseding older ones)
    let peers: Vec<String> = st
        .eval
        .active()
        .map(|m| m.identity.id.clone())
        .filter(|id| *id != me)
        .collect();
    // made in the staging directory: a kill -9 leaves nothing there past the next command
    let tmp_dir = tx.stage_dir()?.to_path_buf();
    let frontier = crate::digest::hex(&crate::digest::sha256(
        &sync::Frontier {
            node: me.clone(),
            heads: st.frontier(),
        }
        .encode(),
    ));
    for peer in &peers {
        let (tmp, ex) = sync::export(node, st, loaded.index.as_ref(), Some(peer), false, armor, &tmp_dir)?;
        if ex.blocks == 0 && ex.receipts == 0 && ledger.frontiers.get(peer) == Some(&frontier) {
            // nothing the peer lacks: leave nothing new
            continue;
        }
        let name = format!("{}.{}", ex.header.id, if armor { "bundle.asc" } else { "bundle" });
        let rel = format!("{peer}/{me}/{name}");
        match medium.put(&[peer, &me], &name, tmp.path()) {
            Ok(()) => {
                for old in keep_left.iter().filter(|l| &l.recipient == peer) {
                    let _ = remove_rel(&medium, &old.file);
                }
                keep_left.retain(|l| &l.recipient != peer);
                report.left.push(rel.clone());
                keep_left.push(Left {
                    file: rel,
                    recipient: peer.clone(),
                    height: my_height,
                });
                ledger.frontiers.insert(peer.clone(), frontier.clone());
            }
            Err(err) => report.skipped.push(put_skipped(rel, &err)),
        }
    }
    // 6. what this node left before and no longer needs to (receipted, confirmed)
    on_medium.extend(keep_left.iter().map(|l| l.file.clone()));
    for (r, t) in &top {
        if *t != FileType::Directory || !crate::subchain::is_node_id(r) || *r == me {
            continue;
        }
        for (n, t) in medium.list(&[r, &me]).unwrap_or_default() {
            let rel = format!("{r}/{me}/{n}");
            if t == FileType::RegularFile && bundle_id_of(&n).is_some() && !on_medium.contains(&rel) {
                if medium.remove(&[r, &me], &n).is_ok() && !report.confirmed.contains(&rel) {
                    report.confirmed.push(rel);
                }
            }
        }
    }
    write_readme(&medium, st);
    let text = serde_yaml::to_string(&Ledger {
        sent: keep_left,
        frontiers: ledger.frontiers,
    })
    .expect("ledger serialises");
    tx.put(&ledger_path(node), text.as_bytes())?;
    tx.commit()?;
    Ok(report)
}

/// `DIR/README.txt`: what the folders are, with the names beside the ids. Written when
/// missing or when the roster changed (best effort: the medium is for bundles).
fn write_readme(medium: &Medium, st: &crate::node::State) {
    let mut text = String::from(
        "This medium carries secfile bundles between the nodes of a consortium.\n\
         \n\
         <recipient id>/<sender id>/<bundle id>.bundle   a bundle from sender to recipient\n\
         \n\
         Run `secfile xfer DIR` on each node: it imports what is addressed to it and leaves\n\
         what it has for the others. Bundles are signed and encrypted; do not edit them.\n\
         A bundle stays here until its recipient acknowledges it.\n\
         \n\
         Nodes:\n",
    );
    for m in st.eval.members.values() {
        let status = if m.removed.is_some() { " (removed)" } else { "" };
        text.push_str(&format!(
            "  {}  {} ({}){status}\n",
            m.identity.id,
            m.identity.name,
            m.identity.role.as_str()
        ));
    }
    let current = medium.open_file(&[], "README.txt").ok().and_then(|f| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(f, 1 << 20), &mut s).ok()?;
        Some(s)
    });
    if current.as_deref() == Some(text.as_str()) {
        return;
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::io::Write::write_all(tmp.as_file_mut(), text.as_bytes()).is_ok() {
        let _ = medium.put(&[], "README.txt", tmp.path());
    }
}

/// True when `comps/name` on the medium is a good part with the same header as the part
/// file `want` (signed by this node).
fn same_part(node: &Node, medium: &Medium, comps: &[&str], name: &str, want: &Path) -> bool {
    use crate::bundle::parts;
    let Ok(f) = medium.open_file(comps, name) else {
        return false;
    };
    let path = Medium::fd_path(&f);
    let (Ok(have), Ok(want)) = (parts::parse(&path, name), parts::parse(want, name)) else {
        return false;
    };
    have.header == want.header
        && node
            .own_public_keys()
            .iter()
            .any(|pk| parts::authenticate(&path, name, &have, pk).is_ok())
}

fn remove_rel(medium: &Medium, rel: &str) -> std::io::Result<()> {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        [a, b, n] => medium.remove(&[a, b], n),
        _ => Ok(()),
    }
}

/// Import every bundle under `DIR/<me>/<sender>/`, each in its own transaction; a refused
/// one is tried again while a pass imports something new (a member's bundle may sort
/// before the master's that brings its admission).
fn import_inbox(node: &Node, lock: &Lock, medium: &Medium, me: &str, report: &mut XferReport) -> Result<()> {
    let mut files: Vec<(String, String)> = Vec::new();
    let inbox = match medium.list(&[me]) {
        Ok(v) => v,
        Err(e) => {
            report.skipped.push(Skipped {
                input: medium.label(&[me]),
                kind: "unsafe".into(),
                message: format!("{}: {e} (symlinks on the medium are not followed)", medium.label(&[me])),
            });
            return Ok(());
        }
    };
    for (sender, t) in inbox {
        if t != FileType::Directory {
            report.skipped.push(Skipped {
                input: medium.label(&[me, &sender]),
                kind: "unsafe".into(),
                message: format!(
                    "{}: not a folder (symlinks on the medium are not followed)",
                    medium.label(&[me, &sender])
                ),
            });
            continue;
        }
        for (name, t) in medium.list(&[me, &sender]).unwrap_or_default() {
            if !is_bundle_name(&name) {
                continue;
            }
            if t != FileType::RegularFile {
                report.skipped.push(Skipped {
                    input: medium.label(&[me, &sender, &name]),
                    kind: "unsafe".into(),
                    message: format!(
                        "{}: not a regular file (symlinks and FIFOs on the medium are not followed)",
                        medium.label(&[me, &sender, &name])
                    ),
                });
                continue;
            }
            files.push((sender.clone(), name));
        }
    }
    let mut refused: Vec<(String, String, Error)> = Vec::new();
    loop {
        let mut progress = false;
        for (sender, name) in files.drain(..) {
            match import_one(node, lock, medium, me, &sender, &name) {
                Ok(r) => {
                    progress |= r.changed();
                    report.imported.push(r);
                    let _ = medium.remove(&[me, &sender], &name);
                }
                Err(e @ (Error::Rejected { .. } | Error::Io { .. })) => refused.push((sender, name, e)),
                Err(e) => return Err(e),
            }
        }
        if !progress || refused.is_empty() {
            break;
        }
        files = refused.drain(..).map(|(s, n, _)| (s, n)).collect();
    }
    for (sender, name, e) in refused {
        report.skipped.push(skipped(medium.label(&[me, &sender, &name]), &e));
    }
    // later bundles of split exports kept aside, whose earlier blocks are here now
    for (label, r) in crate::transport::import::release_held(node, lock)? {
        match r {
            Ok(r) => report.imported.push(r),
            Err(e) => report.skipped.push(skipped(label, &e)),
        }
    }
    Ok(())
}

fn import_one(
    node: &Node,
    lock: &Lock,
    medium: &Medium,
    me: &str,
    sender: &str,
    name: &str,
) -> Result<super::ImportReport> {
    let label = medium.label(&[me, sender, name]);
    let f = medium
        .open_file(&[me, sender], name)
        .map_err(|e| Error::rejected(&label, "unsafe", format!("cannot open it safely: {e}")))?;
    let path = Medium::fd_path(&f);
    let home = node.home.root.display().to_string();
    let mut tx = node.begin_view_under(lock, Who::Anyone)?;
    let r = crate::transport::import::import_in(&mut tx, &path, &label).and_then(|r| tx.commit().map(|()| r));
    match r {
        // a full or failing disk in the home is this node's trouble, not the bundle's
        Err(Error::Io { input, source }) if input.starts_with(&home) => Err(Error::Env(format!("{input}: {source}"))),
        Err(Error::Io { input, source }) => Err(Error::Io {
            input: input.replace(&path.display().to_string(), &label),
            source,
        }),
        r => r,
    }
}
