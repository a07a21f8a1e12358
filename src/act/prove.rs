//! `prove ID` (holder, master): assemble the proof of a file's state as of the master's
//! latest checkpoint held here whose final chain includes the file (DESIGN §3 `prove`):
//! its manifest and signature, its leaf and Merkle path under that checkpoint's `files`
//! root, the checkpoint block and signature, and the master's `rekey` blocks below it.
//! Reads only: nothing in the home changes.
use crate::digest::merkle;
use crate::dossier::proof::Proof;
use crate::dossier::state::{AsOf, leaf_line};
use crate::error::{Error, Result};
use crate::merge::bodies::CheckpointBody;
use crate::merge::global;
use crate::node::Node;

pub struct Made {
    pub proof: Proof,
    /// The checkpoint's height on the master's chain, and its time.
    pub checkpoint: u64,
    pub time: String,
    pub holder: String,
    pub revoked: bool,
}

pub fn prove(node: &Node, id: &str) -> Result<Made> {
    let st = node.load()?;
    let master = st.eval.master.clone();
    let g = global::merge(&st.eval, &st.cands);
    let seq = st.eval.chains.get(&master).cloned().unwrap_or_default();
    // the latest checkpoint that records a files root: the final chains only grow, so if
    // the file is not in its final chain, it is in no earlier one either
    let latest = seq.iter().rev().copied().find(|&i| {
        let b = st.block(i);
        b.kind == "checkpoint" && b.body_as::<CheckpointBody>().is_ok_and(|c| c.files.is_some())
    });
    let known = || crate::dossier::state::derive(&g, &st.eval, &st.cands).contains_key(id);
    let Some(i) = latest else {
        return Err(match known() {
            true => Error::rejected(
                id,
                "not-final",
                "no checkpoint of the master held here records a files root yet",
            ),
            false => Error::rejected(id, "not-found", "no such security file in this node's chain"),
        });
    };
    let b = st.block(i).clone();
    let body: CheckpointBody = b
        .body_as()
        .map_err(|e| Error::rejected(st.paths[i].display(), "malformed", e))?;
    let cuts = global::Cuts::of(&st.eval, &st.cands);
    let (count, _, _) = global::checkpoint_body_at(&st.eval, &st.cands, &cuts, &g, i);
    let mut at = AsOf::new(&master);
    at.advance(&g.entries, count as usize, &st.cands);
    let root = crate::digest::hex(&at.root());
    if body.files.as_deref() != Some(root.as_str()) {
        return Err(Error::rejected(
            st.paths[i].display(),
            "checkpoint",
            format!(
                "the master's checkpoint at height {} records a files root this node computes otherwise ({root}): run verify",
                b.height
            ),
        ));
    }
    let Some((index, f)) = at.files().values().enumerate().find(|(_, f)| f.id == id) else {
        return Err(match known() {
            true => Error::rejected(
                id,
                "not-final",
                format!(
                    "not in the final chain of the master's latest checkpoint held here (height {}): prove it after the next checkpoint",
                    b.height
                ),
            ),
            false => Error::rejected(id, "not-found", "no such security file in this node's chain"),
        });
    };
    if node.id() != master && f.holder != node.id() {
        return Err(Error::rejected(
            id,
            "not-authorised",
            format!(
                "only its holder or the master may prove it: as of checkpoint {} it is held by {}",
                b.height, f.holder
            ),
        ));
    }
    let (manifest, manifest_sig) = crate::dossier::store::load(&node.home, id)?
        .ok_or_else(|| Error::rejected(id, "not-found", "this node holds no manifest of it"))?;
    if crate::digest::hex(&crate::digest::sha256(&manifest)) != f.manifest {
        return Err(Error::rejected(
            id,
            "tampered",
            "the stored manifest is not the one its issue block names",
        ));
    }
    let leaves: Vec<_> = at.leaves().iter().map(|l| merkle::leaf_hash(l.as_bytes())).collect();
    let siblings = merkle::path(&leaves, index).expect("the file is a leaf");
    let read = |i: usize| -> Result<(Vec<u8>, Vec<u8>)> {
        let p = &st.paths[i];
        let bytes = crate::input::read_bounded(p, crate::subchain::MAX_BLOCK as u64, "block")?;
        let sp = std::path::PathBuf::from(format!("{}.minisig", p.display()));
        let sig = crate::input::read_bounded(&sp, crate::envelope::MAX_SIG as u64, "signature")?;
        if crate::digest::sha256(&bytes) != st.cands[i].hash {
            return Err(Error::rejected(
                p.display(),
                "tampered",
                "changed since it was read: run verify",
            ));
        }
        Ok((bytes, sig))
    };
    let mut rekeys = Vec::new();
    for &j in &seq {
        let r = st.block(j);
        if r.height < b.height
            && r.kind == "rekey"
            && r.body.get("node").and_then(|v| v.as_str()) == Some(master.as_str())
        {
            rekeys.push(read(j)?);
        }
    }
    let (checkpoint, checkpoint_sig) = read(i)?;
    Ok(Made {
        proof: Proof {
            leaf: leaf_line(f),
            index: index as u64,
            size: leaves.len() as u64,
            siblings,
            manifest,
            manifest_sig,
            rekeys,
            checkpoint,
            checkpoint_sig,
        },
        checkpoint: b.height,
        time: b.time.clone(),
        holder: f.holder.clone(),
        revoked: f.revoked.is_some(),
    })
}
