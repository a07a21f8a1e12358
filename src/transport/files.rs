//! Security files as this node holds them: their state from the global chain, the stored
//! manifest, the checks an operation makes, and extracting the content.
use crate::digest::{self, HashingWriter};
use crate::dossier::{self, ContentInfo, Manifest, state::FileState};
use crate::error::{Error, IoContext, Result};
use crate::merge::global;
use crate::node::{Node, State};
use std::collections::BTreeMap;
use std::io::{Read, Write};

pub fn member<'a>(st: &'a State, who: &str, flag: &str) -> Result<&'a crate::merge::validate::Member> {
    let m = st
        .eval
        .find_member(who)
        .ok_or_else(|| Error::usage(format!("{flag} {who}: no such member in the roster")))?;
    if m.removed.is_some() {
        return Err(Error::rejected(who, "not-authorised", "removed from the roster"));
    }
    Ok(m)
}

/// File state from the global chain of a whole evaluation (final and tentative).
pub fn states_whole(st: &State) -> (global::Global, BTreeMap<String, FileState>) {
    let g = global::merge(&st.eval, &st.cands);
    let f = dossier::state::derive(&g, &st.eval, &st.cands);
    (g, f)
}

/// File state from this node's global chain (final and tentative). Through the settled
/// index ([`State::view`]), the state of the final prefix comes from `state/files` and only
/// the entries after it are read and applied; the same result as [`states_whole`]
/// (tests/view.rs compares them).
pub fn states(node: &Node, st: &State) -> Result<BTreeMap<String, FileState>> {
    if let Some(v) = st.view.as_deref() {
        if let Some(f) = through_view(node, st, v) {
            return Ok(f);
        }
        return Ok(states_whole(&node.load()?).1);
    }
    Ok(states_whole(st).1)
}

/// `state/files`: the file states of the final prefix the index last held (derived, like
/// the index: deleting it costs time, never data).
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilesCache {
    version: u32,
    master: String,
    /// How many global entries are folded in, each chain's last final height among them,
    /// and the running hash of the last.
    final_count: u64,
    final_heights: BTreeMap<String, u64>,
    head: String,
    deriver: dossier::state::Deriver,
}

const FILES_CACHE_VERSION: u32 = 1;

/// Bring `state/files` up to the final prefix of a state loaded through the index (a
/// command that changed the home calls it when it commits). Best effort, like every cache.
pub fn refresh(node: &Node, st: &State) {
    if let Some(v) = st.view.as_deref() {
        let _ = fold(node, st, v, Upto::Final);
    }
}

fn through_view(node: &Node, st: &State, v: &crate::node::View) -> Option<BTreeMap<String, FileState>> {
    fold(node, st, v, Upto::All).map(dossier::state::Deriver::finish)
}

/// The `files` root (DESIGN §5 "Checkpoints") of the first `count` entries of the global
/// order, through the index: `count` must not be below the index's final prefix (`None`
/// otherwise, or when the index's files cannot be read: the caller then evaluates the
/// whole store). Operations on files not issued yet change no leaf, so the root of the
/// derivation's files is that of [`dossier::state::AsOf`] (tests/view.rs compares the
/// checkpoints made both ways).
pub fn root_through_view(node: &Node, st: &State, count: u64) -> Option<crate::digest::Hash> {
    let v = st.view.as_deref()?;
    let d = fold(node, st, v, Upto::Count(count))?;
    let leaves: Vec<String> = d.files.values().map(dossier::state::leaf_line).collect();
    Some(dossier::state::files_root(&leaves))
}

/// How far [`fold`] applies the global order.
#[derive(Clone, Copy)]
enum Upto {
    /// The final prefix (the cache is brought up to it).
    Final,
    /// Every entry, those after the final prefix as `tentative`.
    All,
    /// The first `n` entries, all as `final` (`n` at least the final prefix).
    Count(u64),
}

/// The final prefix's state from `state/files`, advanced by the entries that became final
/// since (and queued to be written back), then as far as `upto` says.
fn fold(node: &Node, st: &State, v: &crate::node::View, upto: Upto) -> Option<dossier::state::Deriver> {
    let ix = &v.index;
    let path = node.home.state_dir().join("files");
    let fresh = || FilesCache {
        version: FILES_CACHE_VERSION,
        master: ix.master.clone(),
        ..FilesCache::default()
    };
    let mut cache = crate::input::read_bounded(&path, 1 << 30, "files cache")
        .ok()
        .and_then(|b| serde_json::from_slice::<FilesCache>(&b).ok())
        .filter(|c| {
            c.version == FILES_CACHE_VERSION
                && c.master == ix.master
                && c.final_count <= ix.final_count
                && (c.final_count < ix.final_count || c.head == digest::hex(&ix.head))
                && c.final_heights
                    .iter()
                    .all(|(ch, h)| ix.chains.get(ch).is_some_and(|x| *h <= x.final_height))
        })
        .unwrap_or_else(fresh);
    // the entries after the folded prefix: those now final (up to each chain's final
    // height), of which only the kinds a file's state or the roster depends on are kept
    // (the index knows each block's kind, and counts them: a chain with none is not
    // read), and all those after the final prefix (the unsettled tail, small)
    let relevant: Vec<bool> = ix
        .kinds
        .iter()
        .map(|k| dossier::state::FILE_KINDS.contains(&k.as_str()))
        .collect();
    let is_relevant = |k: u16| relevant.get(k as usize).copied().unwrap_or(false);
    let mut finals = 0u64;
    let mut fin: Vec<(u64, &str, u64)> = Vec::new();
    let mut rest: Vec<(u64, &str, u64, u16)> = Vec::new();
    for (chain, x) in &ix.chains {
        let from = cache.final_heights.get(chain).map_or(1, |h| h + 1);
        let fh = x.final_height;
        if from <= fh {
            finals += fh - from + 1;
            let any = (0..ix.kinds.len() as u16).any(|k| is_relevant(k) && x.count(k) > 0);
            for h in (from..=fh).filter(|_| any) {
                let r = x.rec(h)?;
                if is_relevant(r.kind) {
                    fin.push((r.clock, chain.as_str(), h));
                }
            }
        }
        for h in (fh + 1).max(from)..x.len() {
            let r = x.rec(h)?;
            rest.push((r.clock, chain.as_str(), h, r.kind));
        }
    }
    fin.sort_unstable();
    rest.sort_unstable();
    if cache.final_count + finals != ix.final_count {
        return None;
    }
    let master = st.eval.master.as_str();
    for part in fin.chunks(4096) {
        let at: Vec<(String, u64)> = part.iter().map(|(_, c, h)| (c.to_string(), *h)).collect();
        for (b, _) in node.settled_blocks(ix, &at)? {
            cache.deriver.apply(master, &b, "final");
        }
    }
    if finals > 0 {
        cache.final_count = ix.final_count;
        cache.head = digest::hex(&ix.head);
        cache.final_heights = ix
            .chains
            .iter()
            .filter(|(_, x)| x.final_height > 0)
            .map(|(c, x)| (c.clone(), x.final_height))
            .collect();
        if let Ok(bytes) = serde_json::to_vec(&cache) {
            node.cache_write(crate::node::Deferred::Files(bytes));
        }
    }
    let mut d = cache.deriver;
    let (rest, status) = match upto {
        Upto::Final => return Some(d),
        Upto::All => (&rest[..], "tentative"),
        Upto::Count(n) => {
            let more = usize::try_from(n.checked_sub(ix.final_count)?).ok()?;
            (rest.get(..more)?, "final")
        }
    };
    for part in rest.chunks(4096) {
        let at: Vec<(String, u64)> = part
            .iter()
            .filter(|(_, _, _, k)| is_relevant(*k))
            .map(|(_, c, h, _)| (c.to_string(), *h))
            .collect();
        for (b, _) in node.settled_blocks(ix, &at)? {
            d.apply(master, &b, status);
        }
    }
    Some(d)
}

/// Load a stored manifest and check the master's signature on it.
pub fn stored_manifest(node: &Node, id: &str) -> Result<(Manifest, Vec<u8>, Vec<u8>)> {
    // ids become paths under files/: check the alphabet first (DESIGN §4)
    if !dossier::docs::is_doc_id(id) {
        return Err(Error::usage(format!("{id:?}: not a file id (32 lowercase hex digits)")));
    }
    let (raw, sig) = dossier::store::load(&node.home, id)?
        .ok_or_else(|| Error::rejected(id, "not-found", "this node never received that file"))?;
    let m: Manifest = dossier::docs::decode(&raw, "manifest").map_err(|e| Error::rejected(id, "malformed", e))?;
    // the pinned card's key, else (after the master rotated its keys) every key the
    // master's chain held here has bound
    if dossier::docs::check_signed(&m, &raw, &sig, &node.master_card.identity, id, "manifest").is_err() {
        let keys = node.master_keys()?;
        dossier::docs::check_signed_keys(&m, &raw, &sig, &keys, id, "manifest")?;
    }
    Ok((m, raw, sig))
}

pub fn holder_checks(node: &Node, f: &FileState, what: &str) -> Result<()> {
    if f.holder != node.id() {
        return Err(Error::rejected(
            &f.id,
            "not-authorised",
            format!("only the current holder may {what} it; the holder is {}", f.holder),
        ));
    }
    let done = match what {
        "transfer" => "transferred",
        "endorse" => "endorsed",
        "return" => "returned",
        _ => "rejected",
    };
    if f.surrendered {
        return Err(Error::rejected(
            &f.id,
            "surrendered",
            format!("the file was returned to the master; it cannot be {done}"),
        ));
    }
    if f.revoked.is_some() && what != "return" {
        return Err(Error::rejected(
            &f.id,
            "revoked",
            format!("the file is revoked; it cannot be {done}"),
        ));
    }
    Ok(())
}

pub fn find_file<'a>(files: &'a BTreeMap<String, FileState>, id: &str) -> Result<&'a FileState> {
    files
        .get(id)
        .ok_or_else(|| Error::rejected(id, "not-found", "no such security file in this node's chain"))
}

/// `file extract`: copy the content out, checking its SHA-256 against the manifest.
pub fn extract(node: &Node, id: &str, out: &mut dyn Write) -> Result<ContentInfo> {
    let (m, _, _) = stored_manifest(node, id)?;
    let cp = dossier::store::content_path(&node.home, id);
    let f = std::fs::File::open(&cp)
        .map_err(|_| Error::rejected(id, "not-found", "this node never received the content of that file"))?;
    let bar = crate::progress::task("extracting", Some(m.content.size), crate::progress::Unit::Bytes);
    let mut w = HashingWriter::background(crate::progress::Writer::new(out, &bar));
    std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, f).take(m.content.size + 1),
        &mut w,
    )
    .at(&cp)?;
    let (_, h, n) = w.finish();
    if n != m.content.size || digest::hex(&h) != m.content.sha256 {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content does not match the manifest's SHA-256",
        ));
    }
    Ok(m.content)
}

/// `file extract --out FILE`: copy the stored content File to File (the kernel copies:
/// copy_file_range, no user-space pass) while a second thread hashes it on the other core,
/// then check it against the manifest's size and SHA-256. The caller writes `dest` as a
/// temp file and renames it only when this returns Ok, so a copy that fails the check is
/// never seen: the two passes run side by side instead of one after the other.
pub fn extract_to_file(node: &Node, id: &str, dest: &mut std::fs::File) -> Result<ContentInfo> {
    let (m, _, _) = stored_manifest(node, id)?;
    let cp = dossier::store::content_path(&node.home, id);
    let open = || {
        std::fs::File::open(&cp)
            .map_err(|_| Error::rejected(id, "not-found", "this node never received the content of that file"))
    };
    let mut f = open()?;
    let g = open()?;
    let (hashed, copied) = std::thread::scope(|s| {
        let hasher = s.spawn(move || digest::sha256_reader(g.take(m.content.size + 1)));
        let copied = std::io::copy(&mut (&mut f).take(m.content.size + 1), dest);
        (hasher.join().expect("hashing thread"), copied)
    });
    let (h, n) = hashed.at(&cp)?;
    let copied = copied.at(&cp)?;
    if n != m.content.size || digest::hex(&h) != m.content.sha256 {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content does not match the manifest's SHA-256",
        ));
    }
    if copied != n {
        return Err(Error::rejected(
            cp.display(),
            "tampered",
            "stored content changed while it was extracted",
        ));
    }
    Ok(m.content)
}
