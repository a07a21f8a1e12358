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

/// File state from this node's global chain (final and tentative).
pub fn states(st: &State) -> (global::Global, BTreeMap<String, FileState>) {
    let g = global::merge(&st.eval, &st.cands);
    let f = dossier::state::derive(&g, &st.eval, &st.cands);
    (g, f)
}

/// Load a stored manifest and check the master's signature on it.
pub fn stored_manifest(node: &Node, id: &str) -> Result<(Manifest, Vec<u8>, Vec<u8>)> {
    // ids become paths under files/: check the alphabet first (DESIGN §4)
    if !dossier::docs::is_doc_id(id) {
        return Err(Error::usage(format!("{id:?}: not a file id (32 lowercase hex digits)")));
    }
    let (raw, sig) = dossier::store::load(&node.home, id)?
        .ok_or_else(|| Error::rejected(id, "not-found", "this node never received that file"))?;
    let m: Manifest = dossier::docs::open_signed(&raw, &sig, &node.master_card.identity, id, "manifest")?;
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
