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

/// Everything read from the store directories: the blocks (each turned into a `T` on the
/// core that read it, see [`scan_map`]) and the layout problems.
#[derive(Debug)]
pub struct ScanOf<T> {
    pub blocks: Vec<T>,
    pub problems: Vec<LayoutProblem>,
}

impl<T> Default for ScanOf<T> {
    fn default() -> Self {
        ScanOf {
            blocks: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// The raw block files read from the store.
pub type Scan = ScanOf<RawBlock>;

fn problem(path: &Path, kind: &'static str, message: impl Into<String>) -> LayoutProblem {
    LayoutProblem {
        path: path.to_path_buf(),
        kind,
        message: message.into(),
    }
}

/// Scan `chains/`, `forks/` and `pending/` of a home.
pub fn scan(home: &Home) -> Result<Scan> {
    scan_map(home, &|r| r)
}

/// [`scan`], turning each block into a `T` (decoding it, say) on the core that read it.
pub fn scan_map<T: Send>(home: &Home, f: &(dyn Fn(RawBlock) -> T + Sync)) -> Result<ScanOf<T>> {
    let mut out = ScanOf::default();
    // in this order: a block found twice resolves to its copy in chains/, then forks/
    scan_dir_map(&home.chains_dir(), Place::Chains, &mut out, f)?;
    scan_dir_map(&home.forks_dir(), Place::Forks, &mut out, f)?;
    scan_dir_map(&home.pending_dir(), Place::Pending, &mut out, f)?;
    Ok(out)
}

/// Scan one chains-like directory (also used by `verify DIR`).
pub fn scan_dir(root: &Path, place: Place, out: &mut Scan) -> Result<()> {
    scan_dir_map(root, place, out, &|r| r)
}

fn scan_dir_map<T: Send>(
    root: &Path,
    place: Place,
    out: &mut ScanOf<T>,
    f: &(dyn Fn(RawBlock) -> T + Sync),
) -> Result<()> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::Error::io(root, e)),
    };
    let mut dirs: Vec<_> = entries.collect::<std::io::Result<Vec<_>>>().at(root)?;
    dirs.sort_by_cached_key(|e| e.file_name());
    let mut chains = Vec::new();
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
        chains.push((path, name));
    }
    // list every chain directory, then read the files in runs, several runs in flight (a
    // few per core: reads that miss the page cache wait side by side), each block hashed
    // and turned into a `T` on the thread that read it
    let threads = crate::par::io_threads();
    let mut listed = crate::par::par_map_queue(chains, threads, |(dir, chain)| list_chain(dir, chain, place))
        .into_iter()
        .collect::<Result<Vec<Listing>>>()?;
    let mut runs: Vec<(usize, Vec<Job>)> = Vec::new();
    let mut run_count = Vec::with_capacity(listed.len());
    for (c, l) in listed.iter_mut().enumerate() {
        let before = runs.len();
        let mut jobs = std::mem::take(&mut l.jobs).into_iter().peekable();
        while jobs.peek().is_some() {
            runs.push((c, jobs.by_ref().take(READ_RUN).collect()));
        }
        run_count.push(runs.len() - before);
    }
    let mut read = crate::par::par_map_queue(runs, threads, |(c, run)| read_run(&listed[c], run, place, f)).into_iter();
    for (l, count) in listed.into_iter().zip(run_count) {
        out.problems.extend(l.problems);
        for _ in 0..count {
            let part = read.next().expect("one result per run")?;
            out.blocks.extend(part.blocks);
            out.problems.extend(part.problems);
        }
    }
    Ok(())
}

/// Files read by one task of the scan.
const READ_RUN: usize = 256;

/// A block file to read: its path, the height its name says, its signature file if any.
type Job = (PathBuf, Option<u64>, Option<PathBuf>);

/// A chain directory, listed: the block files to read, and what is wrong in it.
struct Listing {
    dir: PathBuf,
    chain: String,
    jobs: Vec<Job>,
    problems: Vec<LayoutProblem>,
}

fn list_chain(dir: PathBuf, chain: String, place: Place) -> Result<Listing> {
    let mut out = Listing {
        jobs: Vec::new(),
        problems: Vec::new(),
        dir,
        chain,
    };
    let dir = out.dir.as_path();
    // names and file types from the directory itself (no stat per file; symlinks are not
    // followed), in byte order
    let mut files: Vec<(std::ffi::OsString, std::fs::FileType)> = Vec::new();
    for e in std::fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        let ft = e.file_type().at(e.path())?;
        files.push((e.file_name(), ft));
    }
    files.sort_unstable_by(|x, y| x.0.cmp(&y.0));
    let kind_of = |name: &str| {
        files
            .binary_search_by(|(n, _)| n.as_os_str().cmp(std::ffi::OsStr::new(name)))
            .ok()
            .map(|k| files[k].1)
    };
    let mut sig_name = String::new();
    for (raw, ft) in &files {
        let name = raw.to_string_lossy();
        if name.starts_with(".tmp-") {
            continue;
        }
        let path = || dir.join(raw);
        if ft.is_symlink() {
            out.problems
                .push(problem(&path(), "layout", "is a symlink (not allowed in the store)"));
            continue;
        }
        if !ft.is_file() {
            out.problems.push(problem(&path(), "layout", "is not a regular file"));
            continue;
        }
        if let Some(base) = name.strip_suffix(".minisig") {
            if kind_of(base).is_none() {
                // A signature whose block is absent: a crash between the two renames
                // (signature is written first) or a deleted block; the block's absence
                // is reported through the chain's gap, so this is only noted.
                if place == Place::Chains && parse_name(place, base).is_none() {
                    out.problems
                        .push(problem(&path(), "layout", "unexpected file in a chain directory"));
                }
            }
            continue;
        }
        let Some(name_height) = parse_name(place, &name) else {
            out.problems
                .push(problem(&path(), "layout", "unexpected file in a chain directory"));
            continue;
        };
        let path = path();
        sig_name.clear();
        sig_name.push_str(&name);
        sig_name.push_str(".minisig");
        let sig = match kind_of(&sig_name) {
            Some(t) if t.is_file() => Some(dir.join(&sig_name)),
            Some(_) => {
                out.problems.push(problem(
                    &dir.join(&sig_name),
                    "layout",
                    "signature is not a small regular file",
                ));
                None
            }
            None => None,
        };
        out.jobs.push((path, name_height, sig));
    }
    Ok(out)
}

/// Read a run of a chain's block files.
fn read_run<T: Send>(
    l: &Listing,
    run: Vec<Job>,
    place: Place,
    f: &(dyn Fn(RawBlock) -> T + Sync),
) -> Result<ScanOf<T>> {
    let mut out = ScanOf::default();
    let dir_handle = DirHandle::open(&l.dir)?;
    let mut buf = Vec::with_capacity(crate::subchain::MAX_BLOCK + 1);
    let mut read = |(path, name_height, sig): Job| -> Result<ReadOne<T>> {
        let sig = sig.as_deref();
        // no stat: read one byte past the limit to know the file is over it
        let bytes = dir_handle.read_capped(&path, crate::subchain::MAX_BLOCK, &mut buf)?;
        if bytes.len() > crate::subchain::MAX_BLOCK {
            return Ok(ReadOne::Problem(problem(
                &path,
                "limit",
                format!(
                    "{} bytes is over the block limit of {}",
                    std::fs::metadata(&path).map_or(bytes.len() as u64, |m| m.len()),
                    crate::subchain::MAX_BLOCK
                ),
            )));
        }
        let mut sig_problem = None;
        let sig = match sig {
            Some(sp) => {
                let s = dir_handle.read_capped(sp, crate::envelope::MAX_SIG, &mut buf)?;
                if s.len() <= crate::envelope::MAX_SIG {
                    Some(s)
                } else {
                    sig_problem = Some(problem(sp, "layout", "signature is not a small regular file"));
                    None
                }
            }
            None => None,
        };
        let hash = digest::sha256(&bytes);
        Ok(ReadOne::Block(
            f(RawBlock {
                place,
                path,
                dir_chain: l.chain.clone(),
                name_height: if place == Place::Chains { name_height } else { None },
                bytes,
                sig,
                hash,
            }),
            sig_problem,
        ))
    };
    for r in run.into_iter().map(&mut read) {
        match r? {
            ReadOne::Problem(p) => out.problems.push(p),
            ReadOne::Block(b, p) => {
                out.problems.extend(p);
                out.blocks.push(b);
            }
        }
    }
    Ok(out)
}

/// A chain directory held open while its files are read.
struct DirHandle {
    #[cfg(unix)]
    fd: std::fs::File,
}

impl DirHandle {
    fn open(dir: &Path) -> Result<DirHandle> {
        Ok(DirHandle {
            #[cfg(unix)]
            fd: std::fs::File::open(dir).at(dir)?,
        })
    }

    /// At most `limit + 1` bytes of the file at `path` (a file of this directory), read
    /// through `buf`.
    fn read_capped(&self, path: &Path, limit: usize, buf: &mut Vec<u8>) -> Result<Vec<u8>> {
        use std::io::Read;
        #[cfg(unix)]
        let file: std::fs::File = {
            let name = path.file_name().unwrap_or(path.as_os_str());
            rustix::fs::openat(
                &self.fd,
                name,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOFOLLOW,
                rustix::fs::Mode::empty(),
            )
            .map_err(std::io::Error::from)
            .at(path)?
            .into()
        };
        #[cfg(not(unix))]
        let file = std::fs::File::open(path).at(path)?;
        buf.clear();
        file.take(limit as u64 + 1).read_to_end(buf).at(path)?;
        Ok(buf.as_slice().to_vec())
    }
}

enum ReadOne<T> {
    Block(T, Option<LayoutProblem>),
    Problem(LayoutProblem),
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
