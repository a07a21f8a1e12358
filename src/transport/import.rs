//! Import of bundles. Everything is checked before anything is written: the header, the
//! addressing, the sender's place in the roster, the signature, the payload digest, the
//! whole age stream, and then every block under its author's key and the rules of
//! DESIGN §5. A rejected bundle leaves the home unchanged.
use super::sync::{self, Frontier};
use crate::bundle::{self, PayloadReader};
use crate::digest;
use crate::error::{Error, Result};
use crate::merge::{Cand, Status, evaluate};
use crate::node::Node;
use crate::subchain::store::{self, Place};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub bundle: String,
    pub kind: String,
    pub sender: String,
    /// Blocks added to chains (including pending blocks that became valid).
    pub added: usize,
    /// Blocks kept as pending, and what each waits for.
    pub pending: Vec<String>,
    /// Fork evidence newly kept.
    pub forks: usize,
    /// Blocks already held.
    pub known: usize,
    /// Relayed blocks ignored as past a removal cutoff.
    pub ignored: usize,
}

impl ImportReport {
    pub fn changed(&self) -> bool {
        self.added > 0 || !self.pending.is_empty() || self.forks > 0
    }
}

/// Open a bundle addressed to this node and return its header and decrypted payload.
/// The caller holds the lock.
pub fn open(
    node: &Node,
    st: &crate::node::State,
    input: &Path,
    label: &str,
) -> Result<(bundle::Header, tempfile::NamedTempFile)> {
    let (path, _guard) = bundle::materialise(input, label, &node.home.tmp_dir())?;
    let parsed = bundle::parse(&path, label)?;
    let h = &parsed.header;
    let me = node.id();
    if !h.recipients.iter().any(|r| r == me) {
        return Err(Error::rejected(
            label,
            "not-addressed",
            format!(
                "bundle is addressed to {}, not to this node ({me})",
                h.recipients.join(", ")
            ),
        ));
    }
    let sender = st.eval.members.get(&h.sender).ok_or_else(|| {
        Error::rejected(
            label,
            "outsider",
            format!("signed by {}, a node outside this roster", h.sender),
        )
    })?;
    let pk = sender
        .identity
        .public_key()
        .map_err(|e| Error::rejected(label, "malformed", e))?;
    bundle::authenticate(&path, label, &parsed, &pk)?;
    if sender.removed.is_some() {
        return Err(Error::rejected(
            label,
            "not-authorised",
            format!("sender {} has been removed from the roster", sender.identity.name),
        ));
    }
    let keys = node.keys()?;
    let plain = bundle::decrypt(&path, label, &parsed, &keys.age, &node.home.tmp_dir())?;
    Ok((parsed.header, plain))
}

/// Import one bundle. The caller holds the lock.
pub fn import(node: &Node, input: &Path, label: &str) -> Result<ImportReport> {
    let st = node.load()?;
    let (header, plain) = open(node, &st, input, label)?;
    let mut report = ImportReport {
        bundle: header.id.clone(),
        kind: header.kind.clone(),
        sender: header.sender.clone(),
        ..Default::default()
    };
    match header.kind.as_str() {
        "sync" => import_sync(node, st, &header, plain, label, &mut report)?,
        k => {
            return Err(Error::rejected(
                label,
                "unsupported",
                format!("bundle kind {k} is not supported by this version"),
            ));
        }
    }
    Ok(report)
}

fn import_sync(
    node: &Node,
    st: crate::node::State,
    header: &bundle::Header,
    plain: tempfile::NamedTempFile,
    label: &str,
    report: &mut ImportReport,
) -> Result<()> {
    let bad = |e: String| Error::rejected(label, "malformed", e);
    let mut r = PayloadReader::new(BufReader::new(plain.as_file())).map_err(bad)?;
    let mut frontier: Option<Frontier> = None;
    let mut blocks: BTreeMap<(String, u64, String), (Option<Vec<u8>>, Option<Vec<u8>>)> = BTreeMap::new();
    while let Some(e) = r.next_entry().map_err(bad)? {
        if e.name == "frontier.yaml" {
            let b = r.read_small(&e, sync::MAX_FRONTIER).map_err(bad)?;
            let f = Frontier::decode(&b).map_err(|er| bad(format!("frontier: {er}")))?;
            if f.node != header.sender {
                return Err(bad("frontier is not the sender's".into()));
            }
            frontier = Some(f);
            continue;
        }
        let Some((chain, height, hash, is_sig)) = sync::parse_entry_name(&e.name) else {
            return Err(bad(format!("unexpected entry {}", e.name)));
        };
        let limit = if is_sig {
            crate::envelope::MAX_SIG
        } else {
            crate::subchain::MAX_BLOCK
        };
        let data = r
            .read_small(&e, limit)
            .map_err(|er| Error::rejected(label, "limit", er))?;
        let slot = blocks.entry((chain, height, hash)).or_default();
        if is_sig {
            slot.1 = Some(data)
        } else {
            slot.0 = Some(data)
        }
    }
    let frontier = frontier.ok_or_else(|| bad("no frontier entry".into()))?;
    let base = st.cands.len();
    let mut cands = st.cands;
    for ((chain, height, hash), (bytes, sig)) in blocks {
        let name = sync::entry_name(&chain, height, &hash);
        let bytes = bytes.ok_or_else(|| bad(format!("{name}: signature without block")))?;
        if digest::hex(&digest::sha256(&bytes)) != hash {
            return Err(Error::rejected(
                label,
                "tampered",
                format!("{name}: content does not match its hash"),
            ));
        }
        let c = Cand::new(format!("{label}: {name}"), true, None, bytes, sig);
        if c.block.as_ref().is_ok_and(|b| b.chain != chain || b.height != height) {
            return Err(bad(format!("{name}: entry name does not match the block")));
        }
        cands.push(c);
    }
    let eval = evaluate(&node.master_card, &cands);
    // decide every write before making any
    let mut writes: Vec<(usize, Place)> = Vec::new();
    let mut removes: Vec<usize> = Vec::new();
    for i in base..cands.len() {
        let c = &cands[i];
        match &eval.status[i] {
            Status::Duplicate(_) => report.known += 1,
            Status::Valid => writes.push((i, Place::Chains)),
            Status::Pending(why) => {
                report
                    .pending
                    .push(format!("{}:{} waits: {why}", c.chain(), c.height()));
                writes.push((i, Place::Pending));
            }
            Status::Cut => writes.push((i, Place::Forks)),
            Status::Invalid("removed", _) => report.ignored += 1,
            Status::Invalid(kind, why) => {
                return Err(Error::rejected(
                    label,
                    kind,
                    format!("block {}:{}: {why}", c.chain(), c.height()),
                ));
            }
            Status::Undecided => unreachable!("evaluate decides every block"),
        }
    }
    for (i, s) in eval.status.iter().enumerate().take(base) {
        match (st.places[i], s) {
            (Place::Pending, Status::Valid) => {
                writes.push((i, Place::Chains));
                removes.push(i);
            }
            (Place::Chains, Status::Cut) => writes.push((i, Place::Forks)),
            _ => {}
        }
    }
    writes.sort_by_key(|&(i, _)| (cands[i].chain().to_string(), cands[i].height()));
    for (i, place) in writes {
        let c = &cands[i];
        let path = match place {
            Place::Chains => store::chain_path(&node.home, c.chain(), c.height()),
            p => store::aside_path(&node.home, p, c.chain(), c.height(), &c.hash),
        };
        if path.exists() {
            continue;
        }
        store::write_block(&path, &c.bytes, c.sig.as_deref().unwrap_or_default())?;
        match place {
            Place::Chains => report.added += 1,
            Place::Forks => report.forks += 1,
            Place::Pending => {}
        }
    }
    for i in removes {
        store::remove_block(&st.paths[i])?;
    }
    // a replayed older bundle must not roll back what we know the sender holds
    let known = sync::peer_frontier(&node.home, &header.sender).ok().flatten();
    if !known.is_some_and(|k| k.covers(&frontier)) {
        crate::home::atomic_write(&sync::peer_path(&node.home, &header.sender), &frontier.encode())?;
    }
    Ok(())
}
