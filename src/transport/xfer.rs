//! `xfer DIR`: a spool on a mounted medium, `DIR/<recipient>/<sender>/<bundle>`.
//! Leaves a fresh incremental sync bundle for every peer plus everything in the outbox,
//! imports everything addressed to this node, and keeps what it sent until the
//! recipient's frontier shows it arrived (a dead USB stick must not lose data).
//! Writes on the medium are `<name>.part` + rename; damaged files are reported and skipped.
use super::sync;
use crate::error::{Error, IoContext, Result};
use crate::node::Node;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A bundle left on the medium, kept until the recipient confirms it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sent {
    /// Path relative to the spool root.
    pub file: String,
    pub recipient: String,
    /// This node's chain height when the bundle was made: confirmed once the recipient's
    /// frontier shows it holds this node's chain at least this far.
    pub height: u64,
    /// Where the bundle came from in the outbox (removed on confirmation), if anywhere.
    #[serde(default)]
    pub outbox: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub sent: Vec<Sent>,
}

#[derive(Debug, Default)]
pub struct XferReport {
    pub left: Vec<String>,
    pub imported: Vec<super::ImportReport>,
    pub skipped: Vec<(String, String)>,
    pub confirmed: Vec<String>,
    pub kept: usize,
}

fn ledger_path(node: &Node) -> PathBuf {
    node.home.state_dir().join("xfer-sent.yaml")
}

fn load_ledger(node: &Node) -> Result<Ledger> {
    let p = ledger_path(node);
    match std::fs::read(&p) {
        Ok(b) => serde_yaml::from_slice(&b)
            .map_err(|e| Error::rejected(p.display(), "malformed", format!("bad xfer ledger: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Copy a file onto the medium as `.part`, fsync, rename.
fn put(src: &Path, dest: &Path) -> Result<()> {
    let dir = dest.parent().expect("spool paths have parents");
    std::fs::create_dir_all(dir).at(dir)?;
    let part = PathBuf::from(format!("{}.part", dest.display()));
    {
        let mut from = std::fs::File::open(src).at(src)?;
        let mut to = std::fs::File::create(&part).at(&part)?;
        std::io::copy(&mut from, &mut to).at(&part)?;
        to.sync_all().at(&part)?;
    }
    std::fs::rename(&part, dest).at(dest)?;
    crate::home::fsync_dir(dir)
}

/// Run one exchange with the spool. The caller holds the lock.
pub fn xfer(node: &Node, spool: &Path, armor: bool) -> Result<XferReport> {
    if !spool.is_dir() {
        return Err(Error::Env(format!(
            "{}: spool directory does not exist (is the medium mounted?)",
            spool.display()
        )));
    }
    let me = node.id().to_string();
    let mut report = XferReport::default();
    // 1. import everything addressed to this node
    let inbox = spool.join(&me);
    let mut files: Vec<PathBuf> = Vec::new();
    if inbox.is_dir() {
        for e in walkdir::WalkDir::new(&inbox)
            .min_depth(2)
            .max_depth(2)
            .sort_by_file_name()
        {
            let e = e.map_err(|er| Error::Env(format!("{}: {er}", inbox.display())))?;
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_file() && !name.ends_with(".part") && !name.starts_with('.') {
                files.push(e.path().to_path_buf());
            }
        }
    }
    // A bundle refused now may be accepted after another one in the same run (a member's
    // bundle sorts before the master's that brings its admission): retry the refused ones
    // while a pass imports something new.
    let mut refused: Vec<(PathBuf, String)> = Vec::new();
    loop {
        let mut progress = false;
        for f in files.drain(..) {
            let label = f.display().to_string();
            match super::import(node, &f, &label) {
                Ok(r) => {
                    progress |= r.changed();
                    report.imported.push(r);
                    std::fs::remove_file(&f).at(&f)?;
                }
                Err(Error::Rejected { detail, .. }) => refused.push((f, detail)),
                Err(e) => return Err(e),
            }
        }
        if !progress || refused.is_empty() {
            break;
        }
        files = refused.drain(..).map(|(f, _)| f).collect();
    }
    report
        .skipped
        .extend(refused.into_iter().map(|(f, detail)| (f.display().to_string(), detail)));
    // 2. confirm what peers now hold; drop confirmed copies from the medium and outbox
    let mut ledger = load_ledger(node)?;
    let mut keep = Vec::new();
    for s in ledger.sent.drain(..) {
        let have = sync::peer_frontier(&node.home, &s.recipient)?
            .and_then(|f| f.heads.into_iter().find(|h| h.chain == me).map(|h| h.height));
        if have.is_some_and(|h| h >= s.height) {
            let p = spool.join(&s.file);
            if p.exists() {
                std::fs::remove_file(&p).at(&p)?;
            }
            if let Some(o) = &s.outbox {
                let op = node.home.outbox_dir().join(o);
                if op.exists() {
                    std::fs::remove_file(&op).at(&op)?;
                }
            }
            report.confirmed.push(s.file);
        } else {
            keep.push(s);
        }
    }
    // 3. leave a fresh incremental sync bundle for every peer, and the outbox
    let st = node.load()?;
    let my_height = st.head(&me).map(|(_, b)| b.height).unwrap_or(0);
    let peers: Vec<String> = st
        .eval
        .active()
        .map(|m| m.identity.id.clone())
        .filter(|id| *id != me)
        .collect();
    for peer in &peers {
        let (tmp, ex) = sync::export(node, &st, None, Some(peer), false, armor, &node.home.tmp_dir())?;
        let rel = format!(
            "{peer}/{me}/{}.{}",
            ex.header.id,
            if armor { "bundle.asc" } else { "bundle" }
        );
        put(tmp.path(), &spool.join(&rel))?;
        report.left.push(rel.clone());
        keep.push(Sent {
            file: rel,
            recipient: peer.clone(),
            height: my_height,
            outbox: None,
        });
    }
    let outbox = node.home.outbox_dir();
    if outbox.is_dir() {
        for e in walkdir::WalkDir::new(&outbox)
            .min_depth(2)
            .max_depth(2)
            .sort_by_file_name()
        {
            let e = e.map_err(|er| Error::Env(format!("{}: {er}", outbox.display())))?;
            if !e.file_type().is_file() || e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let rel_out = e
                .path()
                .strip_prefix(&outbox)
                .expect("under outbox")
                .to_string_lossy()
                .into_owned();
            if keep.iter().any(|s| s.outbox.as_deref() == Some(rel_out.as_str())) {
                continue; // already on the medium, awaiting confirmation
            }
            let recipient = rel_out.split('/').next().unwrap_or_default().to_string();
            if !crate::subchain::is_node_id(&recipient) {
                continue;
            }
            let rel = format!("{recipient}/{me}/{}", e.file_name().to_string_lossy());
            put(e.path(), &spool.join(&rel))?;
            report.left.push(rel.clone());
            keep.push(Sent {
                file: rel,
                recipient,
                height: my_height,
                outbox: Some(rel_out),
            });
        }
    }
    report.kept = keep.len();
    let text = serde_yaml::to_string(&Ledger { sent: keep }).expect("ledger serialises");
    crate::home::atomic_write(&ledger_path(node), text.as_bytes())?;
    Ok(report)
}
