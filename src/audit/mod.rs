//! Audits: `verify` of a home, of bundles and cards given as paths. Every problem is
//! collected and reported, each naming its input; the CLI decides the exit code.
use crate::bundle;
use crate::dossier::docs::Signed;
use crate::error::{Error, Result};
use crate::identity::Card;
use crate::merge::Status;
use crate::node::Node;
use crate::subchain::store::Place;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub mod proof;
pub mod stream;

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
    /// Proof files checked (`verify P --master CARD`).
    pub proofs: usize,
    pub steps: Vec<Step>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    pub fn push(&mut self, input: impl std::fmt::Display, kind: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            input: input.to_string(),
            kind: kind.to_string(),
            message: message.into(),
        });
    }
}

/// Audit the whole home: its chains, its keys and its stored content.
pub fn verify_home(node: &Node, report: &mut Report) -> Result<()> {
    let st = node.load_full()?;
    verify_state(node, &st, report)?;
    check_keys(node, &st.eval.members, report);
    check_stored_content(node, report)
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
    check_key_modes(node, report);
    Ok(())
}

/// The secret key files are private (kind `permissions`): the current keys, and those of
/// a rotation (pending, retired).
pub fn check_key_modes(node: &Node, report: &mut Report) {
    // the current keys, and those of a rotation (pending, retired)
    let kd = node.home.keys_dir();
    let mut dirs = vec![kd.clone()];
    let next = kd.join(crate::identity::keys::NEXT);
    if next.is_dir() {
        dirs.push(next);
    }
    if let Ok(rd) = std::fs::read_dir(kd.join(crate::identity::keys::RETIRED)) {
        let mut r: Vec<_> = rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        r.sort();
        dirs.extend(r);
    }
    for (k, d) in dirs.iter().enumerate() {
        for name in ["age.key", "minisign.key"] {
            // keys/next/ is left empty once a rotation is bound
            let p = d.join(name);
            if k == 0 || std::fs::symlink_metadata(&p).is_ok() {
                check_private(&p, report);
            }
        }
    }
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

/// One named step of checking a security file (Blockcerts-style), with its result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub input: String,
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

fn step(report: &mut Report, input: &str, name: &str, res: std::result::Result<String, String>) -> bool {
    let ok = res.is_ok();
    let detail = match res {
        Ok(d) => d,
        Err(e) => {
            report.push(input, name, e.clone());
            e
        }
    };
    report.steps.push(Step {
        input: input.to_string(),
        step: name.to_string(),
        ok,
        detail,
    });
    ok
}

/// The manifest checks shared by bundles, stored files and extracted content.
fn check_security_file(
    node: &Node,
    st: &crate::node::State,
    label: &str,
    raw: &[u8],
    sig: &[u8],
    content: Option<(crate::digest::Hash, u64)>,
    report: &mut Report,
) {
    use crate::dossier::{self, Manifest};
    let m: Manifest = match dossier::docs::decode(raw, "manifest") {
        Ok(m) => m,
        Err(e) => {
            step(report, label, "manifest-format", Err(e));
            return;
        }
    };
    let pk = node.master_card.identity.public_key().expect("pinned card checked");
    let sig_ok = crate::subchain::sign::verify(&pk, raw, sig, &m.comment())
        .or_else(|e| {
            // signed after a rotation of the master's keys: any key its chain binds
            let keys = node.master_keys().unwrap_or_default();
            match keys
                .iter()
                .any(|k| crate::subchain::sign::verify(k, raw, sig, &m.comment()).is_ok())
            {
                true => Ok(()),
                false => Err(e),
            }
        })
        .map(|_| format!("signed by the master {}", node.master_card.identity.id))
        .map_err(|e| format!("manifest signature: {e}"));
    step(report, label, "manifest-signature", sig_ok);
    if let Some((h, n)) = content {
        let res = if crate::digest::hex(&h) == m.content.sha256 && n == m.content.size {
            Ok(format!("{} bytes, sha256 {}", n, m.content.sha256))
        } else {
            Err(format!(
                "content sha256 {} ({n} bytes) does not match the manifest's {}",
                crate::digest::hex(&h),
                m.content.sha256
            ))
        };
        step(report, label, "content-digest", res);
    }
    let exp = match m.expires_at() {
        Some(x) if node.opts.now > x => Err(format!("expired on {}", m.expires.as_deref().unwrap_or(""))),
        Some(_) => Ok(format!("valid until {}", m.expires.as_deref().unwrap_or(""))),
        None => Ok("no expiry".into()),
    };
    step(report, label, "expiry", exp);
    let (g, files) = crate::transport::files::states_whole(st);
    let final_only = {
        let mut g2 = g.clone();
        g2.entries.truncate(g2.final_count);
        crate::dossier::state::derive(&g2, &st.eval, &st.cands)
    };
    match (final_only.get(&m.file), files.get(&m.file)) {
        (Some(f), _) => {
            let rev = match &f.revoked {
                Some(r) => Err(format!("revoked by the master: {r}")),
                None => Ok("not revoked in the final global chain".into()),
            };
            step(report, label, "revocation", rev);
            let name = st
                .eval
                .members
                .get(&f.holder)
                .map(|x| x.identity.name.clone())
                .unwrap_or_default();
            step(
                report,
                label,
                "holder",
                Ok(format!("held by {name} ({}) per the final global chain", f.holder)),
            );
        }
        (None, Some(_)) => {
            report.steps.push(Step {
                input: label.to_string(),
                step: "revocation".into(),
                ok: true,
                detail: "issued, but not final yet: revocation and holder are tentative".into(),
            });
        }
        (None, None) => {
            step(
                report,
                label,
                "issued",
                Err("no issue block for this file in this node's global chain".into()),
            );
        }
    }
}

/// Audit a path given on the command line: a card, a bundle, a home, a stored security
/// file directory, or an extracted content file.
pub fn verify_path(node: Option<&Node>, path: &Path, report: &mut Report) -> Result<()> {
    let label = path.display().to_string();
    let mut head = [0u8; 40];
    // a FIFO or device is refused here, without blocking (bounded input)
    let n = match crate::input::open_regular(path) {
        Ok(mut f) => {
            use std::io::Read;
            f.read(&mut head).map_err(|e| Error::io(path, e))?
        }
        Err(Error::Rejected { kind, detail, .. }) => {
            report.push(&label, kind, detail);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let head = &head[..n];
    if head.starts_with(crate::identity::card::CARD_MAGIC.as_bytes()) {
        let bytes = crate::input::read_bounded(path, crate::input::MAX_CARD, "card")?;
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
    let Some(node) = node else {
        return Err(Error::Env(format!(
            "{label}: verifying this needs a home (the roster holds the keys to check against)"
        )));
    };
    let st = node.load_full()?;
    if head.starts_with(b"chain: \"") {
        return verify_block_file(&st, path, report);
    }
    let is_bundle = head.starts_with(bundle::MAGIC.as_bytes())
        || String::from_utf8_lossy(head)
            .trim_start()
            .starts_with(bundle::armor::BEGIN);
    if !is_bundle {
        // an extracted content file: find the security file it belongs to
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let (h, n) = crate::digest::sha256_reader(std::io::BufReader::new(f)).map_err(|e| Error::io(path, e))?;
        let hex = crate::digest::hex(&h);
        for id in crate::dossier::store::list(&node.home)? {
            if let Some((raw, sig)) = crate::dossier::store::load(&node.home, &id)? {
                if let Ok(m) = crate::dossier::docs::decode::<crate::dossier::Manifest>(&raw, "manifest") {
                    if m.content.sha256 == hex {
                        report.notes.push(format!("{label}: content of security file {id}"));
                        check_security_file(node, &st, &label, &raw, &sig, Some((h, n)), report);
                        return Ok(());
                    }
                }
            }
        }
        // not a held file's content: say what is wrong with it as a bundle (empty input,
        // not a secfile-bundle file), as for any malformed bundle
        let why = bundle::materialise(path, &label, &node.home.tmp_dir())
            .and_then(|(p, _g)| bundle::parse(&p, &label).map(|_| ()));
        match why {
            Err(Error::Rejected { kind, detail, .. }) => report.push(
                &label,
                kind,
                format!("{detail}; and no security file held here has this content"),
            ),
            _ => report.push(
                &label,
                "not-found",
                "not a bundle or card, and no security file held here has this content",
            ),
        }
        return Ok(());
    }
    report.bundles += 1;
    let res = (|| -> Result<()> {
        let tmp = node.home.tmp_dir();
        let (p, _g) = bundle::materialise(path, &label, &tmp)?;
        let parsed = bundle::parse(&p, &label)?;
        let h = parsed.header.clone();
        if !h.recipients.iter().any(|r| r == node.id()) {
            let sender = crate::transport::import::authenticate_sender(&st, &p, &label, &parsed)?;
            report.notes.push(format!(
                "{label}: {} bundle {} from {}: signature and digest check (not addressed to this node)",
                h.kind, h.id, sender.identity.name
            ));
            return Ok(());
        }
        let (header, payload) = crate::transport::import::open(node, &st, path, &label, &node.home.tmp_dir())?;
        report.steps.push(Step {
            input: label.clone(),
            step: "bundle-signature".into(),
            ok: true,
            detail: format!("{} bundle {} signed by {}", header.kind, header.id, header.sender),
        });
        report.steps.push(Step {
            input: label.clone(),
            step: "payload-digest".into(),
            ok: true,
            detail: "payload sha256 matches the signed header; decrypted".into(),
        });
        let crate::transport::import::Payload {
            blocks, docs, content, ..
        } = payload;
        let mut rep = crate::transport::ImportReport::default();
        // the bundle's blocks judged against the store (a second read: check_blocks takes
        // the state it extends)
        let after = crate::transport::import::check_blocks(node, node.load_full()?, blocks, &label, &mut rep)?;
        step(
            report,
            &label,
            "blocks",
            Ok(format!(
                "{} new here, {} already held, {} pending",
                if rep.added_planned == 1 {
                    "1 block".to_string()
                } else {
                    format!("{} blocks", rep.added_planned)
                },
                rep.known,
                rep.pending.len()
            )),
        );
        if let (Some(raw), Some(sig)) = (docs.get("manifest.yaml"), docs.get("manifest.yaml.minisig")) {
            let c = content.as_ref().map(|(_, h, n)| (*h, *n));
            // judged with the blocks the bundle carries (e.g. the issue block of a file
            // not imported yet), as an import would
            check_security_file(node, &after, &label, raw, sig, c, report);
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

/// Audit a stored security file directory (`files/<id>`).
pub fn verify_stored_file(node: &Node, dir: &Path, report: &mut Report) -> Result<()> {
    let label = dir.display().to_string();
    let st = node.load()?;
    let m = dir.join("manifest.yaml");
    let raw = std::fs::read(&m).map_err(|e| Error::io(&m, e))?;
    let sp = dir.join("manifest.yaml.minisig");
    let sig = std::fs::read(&sp).map_err(|e| Error::io(&sp, e))?;
    let cp = dir.join("content");
    let content = match std::fs::File::open(&cp) {
        Ok(f) => Some(crate::digest::sha256_reader(std::io::BufReader::new(f)).map_err(|e| Error::io(&cp, e))?),
        Err(_) => None,
    };
    check_security_file(node, &st, &label, &raw, &sig, content, report);
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

/// The rollback checkpoint, when there is one; an unreadable one is only noted.
pub fn read_checkpoint(node: &Node, report: &mut Report) -> Result<Option<Checkpoint>> {
    let p = checkpoint_path(node);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, e)),
    };
    match serde_yaml::from_slice(&bytes) {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            // derived state, never fatal: a clean verify writes it again
            report.notes.push(format!(
                "{}: unreadable checkpoint ({e}); rebuilt by this verify if the home is clean, so rollback below it cannot be checked this time",
                p.display()
            ));
            Ok(None)
        }
    }
}

/// Report every chain that is now shorter than, or different below, the last checkpoint,
/// and a final global chain that no longer extends the checkpointed head.
pub fn check_rollback(
    node: &Node,
    st: &crate::node::State,
    global: &crate::merge::global::Global,
    report: &mut Report,
) -> Result<()> {
    let Some(cp) = read_checkpoint(node, report)? else {
        return Ok(());
    };
    for h in &cp.heads {
        // blocks past a removal's cutoff are invalid by the removal, not rolled back
        let removed = st.eval.members.get(&h.chain).and_then(|m| m.removed.as_ref());
        if removed.is_some_and(|(cut, _, _)| h.height > *cut) {
            continue;
        }
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

/// Recompute every valid `checkpoint` block of the master's chain (DESIGN §5
/// "Checkpoints"): its `final`, `head` and `threshold` must be those of the final chain of
/// its own cut, and its `files` root (when present) the Merkle root over the files' states
/// in that final chain. Each one that disagrees is a problem of kind `checkpoint`. The
/// final chains of successive checkpoints only grow, so the files' states are walked once.
pub fn check_checkpoints(st: &crate::node::State, global: &crate::merge::global::Global, report: &mut Report) {
    use crate::merge::bodies::CheckpointBody;
    use crate::merge::global;
    let Some(seq) = st.eval.chains.get(&st.eval.master) else {
        return;
    };
    let cuts = global::Cuts::of(&st.eval, &st.cands);
    let mut at = crate::dossier::state::AsOf::new(&st.eval.master);
    for &i in seq {
        let b = st.block(i);
        if b.kind != "checkpoint" {
            continue;
        }
        let Ok(body) = b.body_as::<CheckpointBody>() else {
            continue;
        };
        let (count, head, threshold) = global::checkpoint_body_at(&st.eval, &st.cands, &cuts, global, i);
        let want = (count, crate::digest::hex(&head), threshold);
        let got = (body.final_count, body.head.clone(), body.threshold);
        if got != want {
            report.push(
                st.paths[i].display(),
                "checkpoint",
                format!(
                    "checkpoint at master height {} records final {} head {} threshold {}, but its cut gives final {} head {} threshold {}",
                    b.height, got.0, got.1, got.2, want.0, want.1, want.2
                ),
            );
        }
        if let Some(files) = &body.files {
            if (count as usize) < at.applied() {
                at = crate::dossier::state::AsOf::new(&st.eval.master);
            }
            at.advance(&global.entries, count as usize, &st.cands);
            let root = crate::digest::hex(&at.root());
            if *files != root {
                report.push(
                    st.paths[i].display(),
                    "checkpoint",
                    format!(
                        "checkpoint at master height {} records files root {files}, but the {} files of its final chain give {root}",
                        b.height,
                        at.files().len()
                    ),
                );
            }
        }
    }
}

/// Record the current heads as the checkpoint (after a clean verify).
pub fn save_checkpoint(node: &Node, st: &crate::node::State, global: &crate::merge::global::Global) -> Result<()> {
    save_checkpoint_of(node, global.head_hex(), st.frontier())
}

/// Record `global` and `heads` as the checkpoint.
pub fn save_checkpoint_of(node: &Node, global: String, heads: Vec<crate::subchain::SeenRef>) -> Result<()> {
    let cp = Checkpoint { global, heads };
    let text = serde_yaml::to_string(&cp).expect("checkpoint serialises");
    crate::home::atomic_write(&checkpoint_path(node), text.as_bytes())
}

/// Audit one block file on its own (e.g. fork evidence from `forks/`): strict format, the
/// owner's signature from the roster (`FILE.minisig` beside it), and whether it conflicts
/// with the block this home holds at that (chain, height) — a fork.
pub fn verify_block_file(st: &crate::node::State, path: &Path, report: &mut Report) -> Result<()> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() > crate::subchain::MAX_BLOCK {
        report.push(&label, "limit", "over the block size limit");
        return Ok(());
    }
    let b = match crate::subchain::Block::decode(&bytes) {
        Ok(b) => b,
        Err(e) => {
            report.push(&label, "malformed", e);
            return Ok(());
        }
    };
    let sig_path = std::path::PathBuf::from(format!("{}.minisig", path.display()));
    let Ok(sig) = std::fs::read(&sig_path) else {
        report.push(
            &label,
            "missing-signature",
            format!("no signature file {}", sig_path.display()),
        );
        return Ok(());
    };
    let Some(owner) = st.eval.members.get(&b.chain) else {
        report.push(
            &label,
            "not-admitted",
            format!("chain {} belongs to no node of this roster", b.chain),
        );
        return Ok(());
    };
    // the key in force at its height (DESIGN §5 "Keys")
    let pk = minisign::PublicKey::from_base64(&owner.key_at(b.height).minisign)
        .map_err(|e| Error::rejected(&label, "malformed", format!("bad minisign public key: {e}")))?;
    if let Err(e) = crate::subchain::sign::verify(
        &pk,
        &bytes,
        &sig,
        &crate::subchain::sign::block_comment(&b.chain, b.height),
    ) {
        report.push(&label, "bad-signature", e);
        return Ok(());
    }
    let hash = crate::digest::hex(&crate::digest::sha256(&bytes));
    report.steps.push(Step {
        input: label.clone(),
        step: "block-signature".into(),
        ok: true,
        detail: format!("{}:{} signed by its owner {}", owner.identity.name, b.height, b.chain),
    });
    let held: Vec<String> = st
        .cands
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.chain() == b.chain
                && c.height() == b.height
                && matches!(st.eval.status[*i], Status::Valid | Status::Cut | Status::Pending(_))
        })
        .map(|(_, c)| crate::digest::hex(&c.hash))
        .filter(|h| *h != hash)
        .collect();
    if held.is_empty() {
        report.notes.push(format!(
            "{label}: validly signed; no conflicting block at {}:{} here",
            b.chain, b.height
        ));
    } else {
        report.push(
            &label,
            "fork",
            format!(
                "fork at {}:{}: this validly signed block ({hash}) conflicts with {}",
                b.chain,
                b.height,
                held.join(", ")
            ),
        );
    }
    Ok(())
}

/// The files of `keys/` (plain `verify` of a home): each parses, the public keys are
/// this node's card's, an unencrypted secret key matches its public key (a passphrase-
/// protected one is only checked to be an age or minisign key file: nothing is prompted),
/// and nothing else lies there (but `retired/` and `next/`, the key sets of a rotation).
/// After a rotation the keys in force are those the master's chain bound last (`st`'s
/// roster), not the card's. Problems have kind `keys`.
pub fn check_keys(
    node: &Node,
    members: &std::collections::BTreeMap<String, crate::merge::validate::Member>,
    report: &mut Report,
) {
    use std::str::FromStr;
    let dir = node.home.keys_dir();
    let mut bad = |p: &Path, why: String| report.push(p.display(), "keys", why);
    let card = match node.card() {
        Ok(c) => members.get(node.id()).map_or(c.identity, |m| m.identity.clone()),
        Err(e) => {
            bad(
                &dir,
                format!("this node's card cannot be read to check the keys against: {e}"),
            );
            return;
        }
    };
    let encrypted = node.config.encrypted_keys;
    let text = |p: &Path| -> std::result::Result<String, String> {
        let bytes = crate::input::read_bounded(p, 64 * 1024, "key file").map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "not a text file".to_string())
    };
    // age identity
    let age_p = dir.join("age.key");
    match text(&age_p) {
        Err(e) => bad(&age_p, e),
        Ok(t) if encrypted => {
            if age::Decryptor::new(age::armor::ArmoredReader::new(t.as_bytes())).is_err() {
                bad(&age_p, "not a passphrase-encrypted age file".into());
            }
        }
        Ok(t) => match t.lines().find(|l| l.starts_with("AGE-SECRET-KEY-1")) {
            None => bad(&age_p, "no AGE-SECRET-KEY line".into()),
            Some(line) => match age::x25519::Identity::from_str(line) {
                Err(e) => bad(&age_p, format!("bad age identity: {e}")),
                Ok(id) if id.to_public().to_string() != card.age => bad(
                    &age_p,
                    format!("its public key {} is not this node's ({})", id.to_public(), card.age),
                ),
                Ok(_) => {}
            },
        },
    }
    // minisign public key
    let pk_p = dir.join("minisign.pub");
    match text(&pk_p).and_then(|t| {
        minisign::PublicKeyBox::from_string(&t)
            .and_then(|b| b.into_public_key())
            .map_err(|e| format!("bad minisign public key: {e}"))
    }) {
        Err(e) => bad(&pk_p, e),
        Ok(pk) if pk.to_base64() != card.minisign => {
            bad(&pk_p, "not this node's minisign public key (its card's)".into())
        }
        Ok(_) => {}
    }
    // minisign secret key
    let sk_p = dir.join("minisign.key");
    match text(&sk_p)
        .and_then(|t| minisign::SecretKeyBox::from_string(&t).map_err(|e| format!("bad minisign key: {e}")))
    {
        Err(e) => bad(&sk_p, e),
        Ok(_) if encrypted => {}
        Ok(sk_box) => match minisign::SecretKey::from_unencrypted_box(sk_box)
            .and_then(|sk| minisign::PublicKey::from_secret_key(&sk))
        {
            Err(e) => bad(&sk_p, format!("bad minisign key: {e}")),
            Ok(pk) if pk.to_base64() != card.minisign => {
                bad(&sk_p, "does not match this node's minisign public key".into())
            }
            Ok(_) => {}
        },
    }
    // modes, and nothing else in keys/
    let Ok(rd) = std::fs::read_dir(&dir) else {
        bad(&dir, "cannot be listed".into());
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let rotation = [crate::identity::keys::RETIRED, crate::identity::keys::NEXT].contains(&name.as_str());
        if rotation && std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if !["age.key", "minisign.key", "minisign.pub"].contains(&name.as_str()) {
            bad(&p, "an unexpected file in keys/".into());
            continue;
        }
        // secret key modes are the state audit's (kind `permissions`)
        if std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_file()) {
            bad(&p, "not a regular file".into());
        }
    }
}

/// Every stored `files/ID/content` against its manifest's size and SHA-256, and every
/// `requests/ID/attachment` against its request (kind `tampered`; an unreadable document
/// is `malformed`). A missing content file is no problem (the master keeps manifests of
/// the files it issued without their content). Signatures and chain links of stored files are the state audit's.
pub fn check_stored_content(node: &Node, report: &mut Report) -> Result<()> {
    use crate::dossier::{Manifest, RequestDoc, docs};
    let hash_of = |p: &Path| -> std::result::Result<Option<(String, u64)>, String> {
        match crate::input::open_regular(p) {
            Ok(f) => crate::digest::sha256_reader(std::io::BufReader::new(f))
                .map(|(h, n)| Some((crate::digest::hex(&h), n)))
                .map_err(|e| e.to_string()),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    };
    let check = |p: &Path, want: Option<(&str, u64)>, what: &str, report: &mut Report| match (hash_of(p), want) {
        (Err(e), _) => report.push(p.display(), "tampered", e),
        // the issuer keeps the manifest only: no content is not a problem
        (Ok(None), _) => {}
        (Ok(Some(_)), None) => report.push(p.display(), "tampered", format!("present, but the {what} names none")),
        (Ok(Some((h, n))), Some((wh, wn))) if h != wh || n != wn => report.push(
            p.display(),
            "tampered",
            format!("sha256 {h} ({n} bytes) does not match the {what}'s {wh} ({wn} bytes)"),
        ),
        _ => {}
    };
    for id in crate::dossier::store::list(&node.home)? {
        let Some((raw, _)) = crate::dossier::store::load(&node.home, &id)? else {
            continue;
        };
        match docs::decode::<Manifest>(&raw, "manifest") {
            Err(e) => report.push(format!("files/{id}/manifest.yaml"), "malformed", e),
            Ok(m) => check(
                &crate::dossier::store::content_path(&node.home, &id),
                Some((&m.content.sha256, m.content.size)),
                "manifest",
                report,
            ),
        }
    }
    let rdir = node.home.path("requests");
    if let Ok(rd) = std::fs::read_dir(&rdir) {
        let mut ids: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| docs::is_doc_id(n))
            .collect();
        ids.sort();
        for id in ids {
            let rp = rdir.join(&id).join("request.yaml");
            let Ok(raw) = std::fs::read(&rp) else { continue };
            match docs::decode::<RequestDoc>(&raw, "request") {
                Err(e) => report.push(rp.display(), "malformed", e),
                Ok(r) => check(
                    &rdir.join(&id).join("attachment"),
                    r.attachment.as_ref().map(|a| (a.sha256.as_str(), a.size)),
                    "request",
                    report,
                ),
            }
        }
    }
    Ok(())
}
