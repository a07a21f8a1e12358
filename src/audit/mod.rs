//! Audits: `verify` of a home, of bundles and cards given as paths. Every problem is
//! collected and reported, each naming its input; the CLI decides the exit code.
use crate::bundle;
use crate::error::{Error, Result};
use crate::identity::Card;
use crate::merge::Status;
use crate::node::Node;
use crate::subchain::store::Place;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One problem: the input it concerns, a stable kind word, and what is wrong.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub input: String,
    pub kind: String,
    pub message: String,
}

/// The result of an audit.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    pub blocks: usize,
    pub chains: usize,
    pub bundles: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    fn push(&mut self, input: impl std::fmt::Display, kind: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            input: input.to_string(),
            kind: kind.to_string(),
            message: message.into(),
        });
    }
}

/// Audit the whole home.
pub fn verify_home(node: &Node, report: &mut Report) -> Result<()> {
    let st = node.load_full()?;
    verify_state(node, &st, report)
}

/// Audit an already loaded home.
pub fn verify_state(node: &Node, st: &crate::node::State, report: &mut Report) -> Result<()> {
    for p in &st.layout {
        report.push(p.path.display(), p.kind, p.message.clone());
    }
    report.chains = st.eval.chains.len();
    let me = node.id();
    let awaiting_admission = node.config.role == crate::home::Role::Member && !st.eval.members.contains_key(me);
    // A stored block waits when no validly signed predecessor is known; when the file at the
    // predecessor's place is there but invalid, say so instead of calling it missing.
    let invalid_at: HashMap<(&str, u64), usize> = (0..st.cands.len())
        .filter(|&i| matches!(st.eval.status[i], Status::Invalid(k, _) if k != "removed"))
        .filter_map(|i| match &st.cands[i].location {
            Some((chain, Some(h))) => Some(((chain.as_str(), *h), i)),
            _ => None,
        })
        .collect();
    let sound_at: HashSet<(&str, u64)> = (0..st.cands.len())
        .filter(|&i| matches!(st.eval.status[i], Status::Valid | Status::Pending(_) | Status::Cut))
        .filter_map(|i| st.cands[i].block.as_ref().ok().map(|b| (b.chain.as_str(), b.height)))
        .collect();
    let invalid_prev = |i: usize| {
        let b = st.cands[i].block.as_ref().ok().filter(|b| b.height > 0)?;
        let at = (b.chain.as_str(), b.height - 1);
        (!sound_at.contains(&at))
            .then(|| invalid_at.get(&at).copied())
            .flatten()
    };
    for (i, s) in st.eval.status.iter().enumerate() {
        let path = st.paths[i].display();
        let stored = st.places[i] == Place::Chains;
        if stored {
            report.blocks += 1;
        }
        match (st.places[i], s) {
            (_, Status::Valid) | (_, Status::Cut) => {}
            (Place::Chains, Status::Duplicate(j)) => {
                report.push(path, "duplicate", format!("same bytes as {}", st.paths[*j].display()))
            }
            (_, Status::Duplicate(_)) => {}
            (Place::Chains, Status::Pending(why)) => match invalid_prev(i) {
                Some(j) => report.push(
                    path,
                    "after-invalid",
                    format!(
                        "cannot be validated: its predecessor {} is invalid",
                        st.paths[j].display()
                    ),
                ),
                None => report.push(path, "missing", format!("cannot be validated: {why}")),
            },
            (_, Status::Pending(why)) => report.notes.push(format!("{path}: pending ({why})")),
            (_, Status::Invalid("removed", why)) => report.notes.push(format!("{path}: {why}")),
            // a member's own genesis before it has imported its admission: not yet a problem
            (Place::Chains, Status::Invalid("not-admitted", _)) if awaiting_admission && st.cands[i].chain() == me => {
                report.notes.push(format!(
                    "{path}: this member is not admitted yet: import a sync bundle from the master"
                ))
            }
            (_, Status::Invalid(kind, why)) => report.push(path, kind, why.clone()),
            (_, Status::Undecided) => {}
        }
    }
    for f in &st.eval.forks {
        report.push(
            node.home.chain_dir(&f.chain).display(),
            "fork",
            format!(
                "fork at height {}: {} validly signed blocks ({})",
                f.height,
                f.hashes.len(),
                f.hashes.join(", ")
            ),
        );
    }
    for name in ["age.key", "minisign.key"] {
        let p = node.home.keys_dir().join(name);
        check_private(&p, report);
    }
    Ok(())
}

#[cfg(unix)]
fn check_private(p: &Path, report: &mut Report) {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(p) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => report.push(
            p.display(),
            "permissions",
            format!(
                "secret key file has mode {:o}; want 600",
                m.permissions().mode() & 0o777
            ),
        ),
        Ok(_) => {}
        Err(e) => report.push(p.display(), "io", format!("cannot read: {e}")),
    }
}

#[cfg(not(unix))]
fn check_private(_p: &Path, _report: &mut Report) {}

/// Audit a file given on the command line: a bundle or a card.
pub fn verify_path(node: Option<&Node>, path: &Path, report: &mut Report) -> Result<()> {
    let label = path.display().to_string();
    let mut head = [0u8; 32];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        f.read(&mut head).map_err(|e| Error::io(path, e))?
    };
    let head = &head[..n];
    if head.starts_with(crate::identity::card::CARD_MAGIC.as_bytes()) {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        match Card::parse(&bytes) {
            Ok(c) => report.notes.push(format!(
                "{label}: card of {} ({}), fingerprint {}",
                c.identity.name,
                c.identity.id,
                c.identity.fingerprint()
            )),
            Err(e) => report.push(&label, "malformed", e),
        }
        return Ok(());
    }
    report.bundles += 1;
    let Some(node) = node else {
        return Err(Error::Env(format!(
            "{label}: verifying a bundle needs a home (the roster holds the sender's key)"
        )));
    };
    let st = node.load_full()?;
    let tmp = node.home.tmp_dir();
    let res = (|| -> Result<()> {
        let (p, _g) = bundle::materialise(path, &label, &tmp)?;
        let parsed = bundle::parse(&p, &label)?;
        let h = &parsed.header;
        let sender = st.eval.members.get(&h.sender).ok_or_else(|| {
            Error::rejected(
                &label,
                "outsider",
                format!("signed by {}, a node outside this roster", h.sender),
            )
        })?;
        let pk = sender
            .identity
            .public_key()
            .map_err(|e| Error::rejected(&label, "malformed", e))?;
        bundle::authenticate(&p, &label, &parsed, &pk)?;
        if h.recipients.iter().any(|r| r == node.id()) {
            let keys = node.keys()?;
            let plain = bundle::decrypt(&p, &label, &parsed, &keys.age, &tmp)?;
            let mut r = bundle::PayloadReader::new(std::io::BufReader::new(plain.as_file()))
                .map_err(|e| Error::rejected(&label, "malformed", e))?;
            while let Some(e) = r.next_entry().map_err(|e| Error::rejected(&label, "malformed", e))? {
                r.copy_to(&e, &mut std::io::sink())
                    .map_err(|e| Error::rejected(&label, "malformed", e))?;
            }
            report.notes.push(format!(
                "{label}: {} bundle {} from {}: signature, digest and payload check",
                h.kind, h.id, sender.identity.name
            ));
        } else {
            report.notes.push(format!(
                "{label}: {} bundle {} from {}: signature and digest check (not addressed to this node)",
                h.kind, h.id, sender.identity.name
            ));
        }
        Ok(())
    })();
    match res {
        Ok(()) => {}
        Err(Error::Rejected { input, kind, detail }) => report.push(input, kind, detail),
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The heads `verify` last found clean, kept in `state/checkpoint.yaml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub global: String,
    pub heads: Vec<crate::subchain::SeenRef>,
}

pub fn checkpoint_path(node: &Node) -> std::path::PathBuf {
    node.home.state_dir().join("checkpoint.yaml")
}

/// Report every chain that is now shorter than, or different below, the last checkpoint,
/// and a final global chain that no longer extends the checkpointed head.
pub fn check_rollback(
    node: &Node,
    st: &crate::node::State,
    global: &crate::merge::global::Global,
    report: &mut Report,
) -> Result<()> {
    let p = checkpoint_path(node);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let cp: Checkpoint = match serde_yaml::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => {
            report.push(p.display(), "malformed", format!("unreadable checkpoint: {e}"));
            return Ok(());
        }
    };
    for h in &cp.heads {
        let seq = st.eval.chains.get(&h.chain);
        match seq.and_then(|s| s.get(h.height as usize)) {
            None => {
                let now = seq.map(|s| s.len() as i64 - 1).unwrap_or(-1);
                report.push(
                    format!("chains/{}", h.chain),
                    "rollback",
                    format!(
                        "rollback: chain now ends at height {now}, below the checkpoint height {}",
                        h.height
                    ),
                )
            }
            Some(&i) if crate::digest::hex(&st.cands[i].hash) != h.hash => report.push(
                st.paths[i].display(),
                "rollback",
                format!(
                    "rollback: block at checkpoint height {} differs from the one verified before",
                    h.height
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(g) = crate::digest::parse_hash(&cp.global) {
        if !global.contains_head(&g) {
            report.push(
                "global chain",
                "rollback",
                format!(
                    "rollback: the final global chain no longer contains the checkpointed head {}",
                    cp.global
                ),
            );
        }
    }
    Ok(())
}

/// Record the current heads as the checkpoint (after a clean verify).
pub fn save_checkpoint(node: &Node, st: &crate::node::State, global: &crate::merge::global::Global) -> Result<()> {
    let cp = Checkpoint {
        global: global.head_hex(),
        heads: st.frontier(),
    };
    let text = serde_yaml::to_string(&cp).expect("checkpoint serialises");
    crate::home::atomic_write(&checkpoint_path(node), text.as_bytes())
}
