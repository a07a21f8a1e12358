//! Transactions: every change of a home goes through one (DESIGN §4 "Writes are atomic";
//! jj's `start_transaction` is the model; the mechanism is in `docs/transactions.md`).
//!
//! [`Node::begin`] takes the home's lock (finishing or undoing whatever a dead process
//! left, see [`journal::recover`]), checks the node may act, and loads the store. An
//! operation then *stages* what it changes — blocks ([`Tx::stage_block`]), bundles for the
//! outbox ([`Tx::stage_bundle`]), stored files, removals — in `tmp/tx/`, where nothing is
//! visible. [`Tx::commit`] writes the journal (the commit point) and makes everything
//! visible together. A transaction dropped without commit leaves the home as it was.
//!
//! One file per operation core, mirroring `cli/commands/`: the role checks live there.
pub mod append;
pub mod checkpoint;
pub mod issue;
pub mod journal;
pub mod op;
pub mod prove;
pub mod rekey;
pub mod request;
pub mod roster;

use crate::digest::{self, Hash};
use crate::error::{Error, IoContext, Result};
use crate::home::{Lock, Role};
use crate::identity::Keys;
use crate::merge::{Cand, Status};
use crate::node::{Node, State};
use crate::subchain::store::{self, Place};
use crate::subchain::{Block, sign};
use journal::{Journal, Op};
use std::path::{Path, PathBuf};

/// What a bundle carrying content holds beside it (payload lines, manifest or request and
/// their signatures, a few blocks): added to the content's size for
/// [`crate::bundle::NewBundle::size_hint`].
pub const HINT_SLACK: u64 = 4096;

/// Who may run an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, admitted or not (imports: a new member must import its admission).
    Anyone,
    /// A node that may append to its chain ([`Node::check_can_act`]).
    Acting,
    /// The master only; `what` completes "only the master may …".
    Master(&'static str),
    /// Members only; `what` completes "only members …".
    Member(&'static str),
}

/// A transaction in progress. Dropped without [`Tx::commit`], it undoes what it staged.
pub struct Tx<'n> {
    pub node: &'n Node,
    _lock: Option<Lock>,
    /// The store as loaded, plus this node's blocks staged so far (valid, in `chains`).
    pub st: State,
    keys: Option<Keys>,
    stage: PathBuf,
    staged: usize,
    ops: Vec<Op>,
    outside: Vec<PathBuf>,
    receipts: Option<crate::transport::receipts::Receipts>,
    committed: bool,
    /// A pending key rotation was completed by this transaction ([`Tx::adopt_keys`]).
    adopted: bool,
}

/// A bundle staged for its recipient's outbox (and for `--out`).
#[derive(Debug)]
pub struct Sent {
    pub header: crate::bundle::Header,
    pub recipient: String,
    /// Where the commit puts it in the outbox.
    pub outbox: PathBuf,
    /// `--out` as given, and whether the commit writes it (false for stdout or a device:
    /// [`Sent::write_direct`] writes those after the commit).
    pub out: Option<PathBuf>,
    pub out_staged: bool,
}

impl Sent {
    /// After the commit: write the bundle to an `--out` the commit could not (stdout, a
    /// device). A failure here loses nothing: the bundle is in the outbox (`resend`).
    pub fn write_direct(&self) -> Result<()> {
        let Some(out) = self.out.as_deref().filter(|_| !self.out_staged) else {
            return Ok(());
        };
        let kept = |e: Error| match e {
            Error::Io { input, source } => Error::Io {
                input: format!(
                    "{input} (the bundle is kept in the outbox: `secfile resend {} --out FILE`)",
                    self.header.id
                ),
                source,
            },
            e => e,
        };
        write_copy(&self.outbox, out).map_err(kept)
    }
}

/// Copy a file to stdout (`-`) or to an existing non-regular target (a device, a FIFO).
pub fn write_copy(from: &Path, out: &Path) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::open(from).at(from)?;
    if out == Path::new("-") {
        let mut o = std::io::stdout().lock();
        std::io::copy(&mut f, &mut o).at("stdout")?;
        o.flush().at("stdout")
    } else {
        let mut o = std::fs::OpenOptions::new().write(true).open(out).at(out)?;
        std::io::copy(&mut f, &mut o).at(out)?;
        o.flush().at(out)
    }
}

impl Node {
    /// Begin a transaction: take the lock, check the role, load the store, check the
    /// node may act (for [`Who::Acting`], [`Who::Master`], [`Who::Member`]).
    pub fn begin(&self, who: Who) -> Result<Tx<'_>> {
        let lock = self.lock()?;
        self.begin_inner(Some(lock), who)
    }

    /// [`Node::begin`] for an operation that needs no file state: the store is loaded
    /// through the settled index ([`Node::load_view`]), so its cost is that of what is new.
    pub fn begin_view(&self, who: Who) -> Result<Tx<'_>> {
        let lock = self.lock()?;
        self.check_role(who)?;
        let st = self.load_view()?;
        if who != Who::Anyone {
            self.check_can_act(&st)?;
        }
        Ok(self.tx(Some(lock), st))
    }

    /// [`Node::begin_view`] under a lock the caller already holds.
    pub fn begin_view_under(&self, _held: &Lock, who: Who) -> Result<Tx<'_>> {
        self.check_role(who)?;
        let st = self.load_view()?;
        if who != Who::Anyone {
            self.check_can_act(&st)?;
        }
        Ok(self.tx(None, st))
    }

    /// [`Node::begin`] under a lock the caller already holds (several transactions in
    /// one command, as `xfer` makes one per bundle).
    pub fn begin_under(&self, _held: &Lock, who: Who) -> Result<Tx<'_>> {
        self.begin_inner(None, who)
    }

    /// A transaction under a lock the caller holds, for a command that loaded the store
    /// its own way (`sync export` through the settled index): [`Tx::st`] is empty.
    pub fn begin_loaded(&self, _held: &Lock) -> Tx<'_> {
        self.tx(None, State::default())
    }

    fn tx(&self, lock: Option<Lock>, st: State) -> Tx<'_> {
        Tx {
            node: self,
            _lock: lock,
            st,
            keys: None,
            stage: self.home.path(journal::STAGE),
            staged: 0,
            ops: Vec::new(),
            outside: Vec::new(),
            receipts: None,
            committed: false,
            adopted: false,
        }
    }

    fn begin_inner(&self, lock: Option<Lock>, who: Who) -> Result<Tx<'_>> {
        self.check_role(who)?;
        let st = self.load()?;
        if who != Who::Anyone {
            self.check_can_act(&st)?;
        }
        Ok(self.tx(lock, st))
    }

    fn check_role(&self, who: Who) -> Result<()> {
        match who {
            Who::Master(what) if self.config.role != Role::Master => {
                return Err(Error::rejected(
                    self.id(),
                    "not-authorised",
                    format!("only the master may {what}; this node is a member"),
                ));
            }
            Who::Member(what) if self.config.role != Role::Member => {
                return Err(Error::rejected(
                    self.id(),
                    "not-authorised",
                    format!("only members {what}; this node is the master"),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

impl<'n> Tx<'n> {
    /// True once this transaction completed a pending key rotation ([`Tx::adopt_keys`]).
    pub fn adopted(&self) -> bool {
        self.adopted
    }

    /// This node's secret keys (loaded once).
    pub fn keys(&mut self) -> Result<&Keys> {
        if self.keys.is_none() {
            self.keys = Some(self.node.keys()?);
        }
        Ok(self.keys.as_ref().expect("just loaded"))
    }

    /// The staging directory (made on first use).
    pub fn stage_dir(&mut self) -> Result<&Path> {
        if !self.stage.exists() {
            crate::home::ensure_dir(&self.stage)?;
        }
        Ok(&self.stage)
    }

    fn next_name(&mut self) -> String {
        self.staged += 1;
        format!("s{}", self.staged)
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.node.home.root)
            .expect("a path in the home")
            .to_string_lossy()
            .into_owned()
    }

    /// Stage `data` to become `dest` (a path in the home).
    pub fn put(&mut self, dest: &Path, data: &[u8]) -> Result<()> {
        use std::io::Write;
        self.stage_dir()?;
        let name = self.next_name();
        let p = self.stage.join(&name);
        let mut f = crate::home::create_private_file(&p)?;
        f.write_all(data).at(&p)?;
        f.sync_all().at(&p)?;
        let dest = self.rel(dest);
        self.ops.push(Op::Put { staged: name, dest });
        Ok(())
    }

    /// Stage a temp file (made on the home's filesystem, e.g. in the staging directory or
    /// `tmp/`) to become `dest`.
    pub fn put_temp(&mut self, tmp: tempfile::NamedTempFile, dest: &Path) -> Result<()> {
        self.stage_dir()?;
        tmp.as_file().sync_all().at(tmp.path())?;
        let name = self.next_name();
        let p = self.stage.join(&name);
        tmp.persist(&p).map_err(|e| Error::io(&p, e.error))?;
        crate::home::set_mode(&p, 0o600)?;
        let dest = self.rel(dest);
        self.ops.push(Op::Put { staged: name, dest });
        Ok(())
    }

    /// Stage the removal of a file of the home.
    pub fn remove(&mut self, path: &Path) {
        let path = self.rel(path);
        self.ops.push(Op::Remove { path });
    }

    /// Stage a block file and its signature.
    pub fn put_block(&mut self, path: &Path, bytes: &[u8], sig: &[u8]) -> Result<()> {
        self.put(&PathBuf::from(format!("{}.minisig", path.display())), sig)?;
        self.put(path, bytes)
    }

    /// Stage the removal of a block file and its signature.
    pub fn remove_block(&mut self, path: &Path) {
        self.remove(&PathBuf::from(format!("{}.minisig", path.display())));
        self.remove(path);
    }

    /// Make, sign and stage a new block on this node's chain (clock and `seen` as DESIGN
    /// §5 says, from the store plus what this transaction staged before). Returns the
    /// block and its hash.
    pub fn stage_block(&mut self, kind: &str, body: serde_yaml::Value) -> Result<(Block, Hash)> {
        // a member whose rotation is pending appends nothing until the master's `rekey`
        // block is here (then it signs with the new keys)
        if !self.adopt_keys()? {
            return Err(rekey::pending_error(self.node));
        }
        let block = self.node.next_block(&self.st, kind, body)?;
        self.keys()?;
        let signed = sign_block(self.node, self.keys.as_ref().expect("loaded"), block)?;
        let (block, hash) = (signed.block.clone(), signed.hash);
        self.stage_signed(signed)?;
        Ok((block, hash))
    }

    /// Stage a block made with [`sign_block`] on top of [`Tx::st`] as it is now.
    pub fn stage_signed(&mut self, b: SignedBlock) -> Result<()> {
        let path = store::chain_path(&self.node.home, self.node.id(), b.block.height);
        self.put_block(&path, &b.bytes, &b.sig)?;
        self.st.push_own(path, b.bytes, b.sig);
        Ok(())
    }

    /// The receipts ledger, loaded once; staged at commit when changed.
    pub fn receipts(&mut self) -> &mut crate::transport::receipts::Receipts {
        if self.receipts.is_none() {
            self.receipts = Some(crate::transport::receipts::Receipts::load(&self.node.home));
        }
        self.receipts.as_mut().expect("just loaded")
    }

    /// Stage a copy of the file `from` (already staged or committed) for an outside target
    /// `out`. A regular file (or a new name) is written beside it now and renamed into
    /// place by the commit; stdout and devices are written after the commit
    /// ([`Committed::direct`]). `--out` never creates a directory.
    pub fn stage_out(&mut self, out: &Path, from: &Path) -> Result<bool> {
        use std::io::Write;
        if out == Path::new("-") {
            return Ok(false);
        }
        match std::fs::metadata(out) {
            Ok(m) if !m.is_file() => return Ok(false),
            _ => {}
        }
        let dir = match out.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::Env(format!(
                "{}: directory does not exist (--out never creates one)",
                dir.display()
            )));
        }
        let name = out
            .file_name()
            .ok_or_else(|| Error::usage(format!("{}: not a file name", out.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".secfile-{}.tmp", &crate::bundle::random_id()[..12]));
        let tmp = dir.join(tmp_name);
        // recorded before it exists, so recovery can remove it
        self.outside.push(tmp.clone());
        self.stage_dir()?;
        let list: Vec<String> = self.outside.iter().map(|p| journal::path_hex(p)).collect();
        crate::home::atomic_write(
            &self.stage.join(journal::OUTSIDE),
            &serde_json::to_vec(&list).expect("list"),
        )?;
        // A copy, never a hard link: the outbox keeps the bundle as this node's record until
        // its receipt, and a name outside the home sharing its inode would let a write to
        // `--out` (a truncating redirect, an editor) change the kept bundle. The kernel
        // copies it (copy_file_range), and it is fsynced before the commit point.
        {
            let mut src = std::fs::File::open(from).at(from)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .at(&tmp)?;
            std::io::copy(&mut src, &mut f).at(&tmp)?;
            f.flush().at(&tmp)?;
            f.sync_all().at(&tmp)?;
        }
        self.ops.push(Op::Out {
            staged: journal::path_hex(&tmp),
            dest: journal::path_hex(out),
        });
        Ok(true)
    }

    /// Stage a bundle made in the staging directory for its recipient's outbox, with
    /// what it is (`meta`), and for `--out`.
    pub fn stage_bundle(
        &mut self,
        tmp: tempfile::NamedTempFile,
        header: crate::bundle::Header,
        meta: crate::transport::outbox::Meta,
        out: Option<&Path>,
    ) -> Result<Sent> {
        use crate::transport::outbox;
        let home = &self.node.home;
        let outbox = outbox::bundle_path(home, &meta.recipient, &header.id, meta.armor);
        let meta_path = outbox::meta_path(home, &meta.recipient, &header.id);
        let out_staged = match out {
            Some(o) => self.stage_out(o, tmp.path())?,
            None => false,
        };
        self.put_temp(tmp, &outbox)?;
        self.put(&meta_path, &meta.encode())?;
        Ok(Sent {
            header,
            recipient: meta.recipient,
            outbox,
            out: out.map(Path::to_path_buf),
            out_staged,
        })
    }

    /// Make a bundle to one member carrying `entries` and then the blocks it may lack
    /// (this node's frontier, its staged blocks included), in the staging directory.
    /// `size_hint`: about how many bytes the entries hold ([`crate::bundle::NewBundle`]).
    pub fn make_bundle(
        &mut self,
        kind: &str,
        to: &crate::merge::validate::Member,
        armor: bool,
        size_hint: u64,
        entries: impl FnOnce(&mut crate::bundle::PayloadWriter<&mut dyn std::io::Write>) -> std::io::Result<()>,
    ) -> Result<(tempfile::NamedTempFile, crate::bundle::Header)> {
        use crate::transport::sync;
        let send = sync::select_for(self.node, &self.st, std::slice::from_ref(&to.identity.id))?;
        let recipient = to.identity.recipient().map_err(Error::Env)?;
        let dir = self.stage_dir()?.to_path_buf();
        self.keys()?;
        let keys = self.keys.as_ref().expect("loaded");
        let node = self.node;
        let key = rekey::signing_key(node, &self.st.eval.members, keys, std::slice::from_ref(&to.identity.id));
        let nb = crate::bundle::NewBundle {
            kind,
            sender: node.id(),
            key,
            recipients: vec![(to.identity.id.clone(), recipient)],
            created: node.time(),
            armor,
            size_hint,
        };
        let st = &self.st;
        crate::bundle::create(nb, &dir, |pw| {
            entries(pw)?;
            sync::write_blocks(pw, node, st, st.view.as_deref().map(|v| &v.index), &send)
        })
    }

    /// Make everything staged visible together: the journal is written (the commit
    /// point), then applied. A crash after the journal is written is finished by the
    /// next command; before, undone.
    pub fn commit(mut self) -> Result<()> {
        // an import that brought the `rekey` block of a pending rotation switches the keys
        if !self.ops.is_empty() && !self.st.cands.is_empty() {
            self.adopt_keys()?;
        }
        if let Some(r) = self.receipts.take().filter(|r| r.dirty) {
            let p = crate::transport::receipts::path(&self.node.home);
            self.put(&p, &r.encode())?;
        }
        if self.ops.is_empty() {
            self.committed = true;
            let _ = std::fs::remove_dir_all(&self.stage);
            return Ok(());
        }
        // a transaction of removals alone has staged nothing yet: the journal goes there
        self.stage_dir()?;
        crate::home::fsync_dir(&self.stage)?;
        let j = Journal {
            ops: std::mem::take(&mut self.ops),
        };
        // a journal that could not be written (a full disk) is no commit: dropped, the
        // transaction removes its staging directory now, not the next command
        crate::home::atomic_write(&self.stage.join(journal::JOURNAL), &j.encode())?;
        self.committed = true;
        journal::apply(&self.node.home, &j)?;
        std::fs::remove_dir_all(&self.stage).at(&self.stage)?;
        // the caches: the index this transaction loaded, and the files' state over its final
        // prefix (so that reading commands, which write nothing, apply only what is newer)
        crate::transport::files::refresh(self.node, &self.st);
        self.node.keep_sig_cache(&self.st);
        Ok(())
    }
}

/// A block of this node's chain, encoded and signed.
pub struct SignedBlock {
    pub block: Block,
    pub bytes: Vec<u8>,
    pub sig: Vec<u8>,
    pub hash: Hash,
}

/// Encode and sign a block of this node's chain (within the block size limit).
pub fn sign_block(node: &Node, keys: &Keys, block: Block) -> Result<SignedBlock> {
    let bytes = block
        .encode()
        .map_err(|e| Error::usage(format!("cannot encode block: {e}")))?;
    if bytes.len() > crate::subchain::MAX_BLOCK {
        return Err(Error::rejected(
            "block",
            "limit",
            format!("{} bytes is over the block limit", bytes.len()),
        ));
    }
    let sig = sign::sign(&keys.sign, &bytes, &sign::block_comment(node.id(), block.height)).map_err(Error::Env)?;
    let hash = digest::sha256(&bytes);
    Ok(SignedBlock {
        block,
        bytes,
        sig: sig.into_bytes(),
        hash,
    })
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.committed {
            for p in &self.outside {
                let _ = std::fs::remove_file(p);
            }
            let _ = std::fs::remove_dir_all(&self.stage);
        }
    }
}

impl State {
    /// Add a block of this node's own chain, just made on top of its valid head, as a
    /// valid candidate (what an evaluation of the store with it would say).
    pub fn push_own(&mut self, path: PathBuf, bytes: Vec<u8>, sig: Vec<u8>) {
        let c = Cand::new(path.display().to_string(), false, None, bytes, Some(sig));
        let b = c.block.as_ref().expect("made here").clone();
        let i = self.cands.len();
        let pred = self.eval.head(&b.chain);
        let mut ms = pred.map_or(0, |p| self.eval.master_seen[p]);
        for r in &b.seen {
            if let Some(j) = self
                .eval
                .chains
                .get(&r.chain)
                .and_then(|seq| seq.iter().copied().find(|&j| self.cands[j].height() == r.height))
            {
                ms = ms.max(self.eval.master_seen[j]);
            }
            if r.chain == self.eval.master {
                ms = ms.max(r.height);
            }
        }
        if b.chain == self.eval.master {
            ms = b.height;
        }
        self.cands.push(c);
        self.places.push(Place::Chains);
        self.paths.push(path);
        self.eval.status.push(Status::Valid);
        self.eval.master_seen.push(ms);
        self.eval.chains.entry(b.chain.clone()).or_default().push(i);
    }
}
