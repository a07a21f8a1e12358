//! The store of sub-chains on disk: scanning `chains/` (and `pending/`, `forks/`) into
//! raw block files with every layout problem named, and writing blocks atomically.
use crate::digest::{self, Hash};
use crate::error::{IoContext, Result};
use crate::home::{Home, atomic_write};
use std::path::{Path, PathBuf};

/// Where a block file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Chains,
    Pending,
    Forks,
}

/// A block file and its signature, as read (not yet checked).
#[derive(Debug, Clone)]
pub struct RawBlock {
    pub place: Place,
    pub path: PathBuf,
    /// The chain the location says (directory name).
    pub dir_chain: String,
    /// The height the file name says (chains/ only).
    pub name_height: Option<u64>,
    pub bytes: Vec<u8>,
    pub sig: Option<Vec<u8>>,
    pub hash: Hash,
}

/// A layout problem found while scanning.
#[derive(Debug, Clone)]
pub struct LayoutProblem {
    pub path: PathBuf,
    pub kind: &'static str,
    pub message: String,
}

/// Everything read from the store directories.
#[derive(Debug, Default)]
pub struct Scan {
    pub blocks: Vec<RawBlock>,
    pub problems: Vec<LayoutProblem>,
}

fn problem(path: &Path, kind: &'static str, message: impl Into<String>) -> LayoutProblem {
    LayoutProblem {
        path: path.to_path_buf(),
        kind,
        message: message.into(),
    }
}

/// Scan `chains/`, `pending/` and `forks/` of a home.
pub fn scan(home: &Home) -> Result<Scan> {
    let mut out = Scan::default();
    scan_dir(&home.chains_dir(), Place::Chains, &mut out)?;
    scan_dir(&home.pending_dir(), Place::Pending, &mut out)?;
    scan_dir(&home.forks_dir(), Place::Forks, &mut out)?;
    Ok(out)
}

/// Scan one chains-like directory (also used by `verify DIR`).
pub fn scan_dir(root: &Path, place: Place, out: &mut Scan) -> Result<()> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::Error::io(root, e)),
    };
    let mut dirs: Vec<_> = entries.collect::<std::io::Result<Vec<_>>>().at(root)?;
    dirs.sort_by_key(|e| e.file_name());
    for d in dirs {
        let path = d.path();
        let ft = std::fs::symlink_metadata(&path).at(&path)?.file_type();
        let name = d.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            continue;
        }
        if ft.is_symlink() {
            out.problems
                .push(problem(&path, "layout", "is a symlink (not allowed in the store)"));
            continue;
        }
        if !ft.is_dir() {
            out.problems
                .push(problem(&path, "layout", "unexpected non-directory in the store"));
            continue;
        }
        if !crate::subchain::is_node_id(&name) {
            out.problems
                .push(problem(&path, "layout", "directory name is not a node id"));
            continue;
        }
        scan_chain(&path, &name, place, out)?;
    }
    Ok(())
}

fn scan_chain(dir: &Path, chain: &str, place: Place, out: &mut Scan) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .at(dir)?
        .collect::<std::io::Result<Vec<_>>>()
        .at(dir)?;
    files.sort_by_key(|e| e.file_name());
    let names: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    for f in files {
        let path = f.path();
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).at(&path)?;
        if meta.file_type().is_symlink() {
            out.problems
                .push(problem(&path, "layout", "is a symlink (not allowed in the store)"));
            continue;
        }
        if !meta.file_type().is_file() {
            out.problems.push(problem(&path, "layout", "is not a regular file"));
            continue;
        }
        if let Some(base) = name.strip_suffix(".minisig") {
            if !names.contains(base) {
                // A signature whose block is absent: a crash between the two renames
                // (signature is written first) or a deleted block; the block's absence
                // is reported through the chain's gap, so this is only noted.
                if place == Place::Chains && parse_name(place, base).is_none() {
                    out.problems
                        .push(problem(&path, "layout", "unexpected file in a chain directory"));
                }
            }
            continue;
        }
        let Some(name_height) = parse_name(place, &name) else {
            out.problems
                .push(problem(&path, "layout", "unexpected file in a chain directory"));
            continue;
        };
        if meta.len() > crate::subchain::MAX_BLOCK as u64 {
            out.problems.push(problem(
                &path,
                "limit",
                format!(
                    "{} bytes is over the block limit of {}",
                    meta.len(),
                    crate::subchain::MAX_BLOCK
                ),
            ));
            continue;
        }
        let bytes = std::fs::read(&path).at(&path)?;
        let sig_path = dir.join(format!("{name}.minisig"));
        let sig = match std::fs::symlink_metadata(&sig_path) {
            Ok(m) if m.file_type().is_file() && m.len() <= crate::envelope::MAX_SIG as u64 => {
                Some(std::fs::read(&sig_path).at(&sig_path)?)
            }
            Ok(_) => {
                out.problems
                    .push(problem(&sig_path, "layout", "signature is not a small regular file"));
                None
            }
            Err(_) => None,
        };
        let hash = digest::sha256(&bytes);
        out.blocks.push(RawBlock {
            place,
            path,
            dir_chain: chain.to_string(),
            name_height: if place == Place::Chains { name_height } else { None },
            bytes,
            sig,
            hash,
        });
    }
    Ok(())
}

fn parse_name(place: Place, name: &str) -> Option<Option<u64>> {
    match place {
        Place::Chains => crate::subchain::parse_block_file_name(name).map(Some),
        Place::Pending | Place::Forks => {
            let stem = name.strip_suffix(".yaml")?;
            let (h, hash) = stem.split_once('-')?;
            (h.len() == 10 && h.bytes().all(|b| b.is_ascii_digit()) && digest::parse_hash(hash).is_some())
                .then_some(None)
        }
    }
}

/// Path of a block in `chains/`.
pub fn chain_path(home: &Home, chain: &str, height: u64) -> PathBuf {
    home.chain_dir(chain).join(crate::subchain::block_file_name(height))
}

/// Path of a block kept aside (pending or fork evidence).
pub fn aside_path(home: &Home, place: Place, chain: &str, height: u64, hash: &Hash) -> PathBuf {
    let root = match place {
        Place::Pending => home.pending_dir(),
        Place::Forks => home.forks_dir(),
        Place::Chains => return chain_path(home, chain, height),
    };
    root.join(chain)
        .join(format!("{height:010}-{}.yaml", digest::hex(hash)))
}

/// Write a block and its signature: signature first, then the block, each atomically,
/// so a block file never exists without its signature.
pub fn write_block(path: &Path, bytes: &[u8], sig: &[u8]) -> Result<()> {
    let sig_path = PathBuf::from(format!("{}.minisig", path.display()));
    atomic_write(&sig_path, sig)?;
    atomic_write(path, bytes)
}

/// Remove a block file and its signature (moving a pending block into the chain).
pub fn remove_block(path: &Path) -> Result<()> {
    let sig_path = PathBuf::from(format!("{}.minisig", path.display()));
    for p in [path, sig_path.as_path()] {
        match std::fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(crate::Error::io(p, e)),
        }
    }
    if let Some(dir) = path.parent() {
        crate::home::fsync_dir(dir)?;
    }
    Ok(())
}
