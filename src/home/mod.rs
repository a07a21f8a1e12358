//! A node's home directory: its layout, the lock, and the one atomic-write helper
//! every store write goes through.
//!
//! ```text
//! node.yaml              name, role, id, master id (format 1)
//! master.card            the pinned master card (members)
//! keys/age.key           age X25519 identity, age-keygen format (0600; passphrase-encrypted when asked)
//! keys/minisign.key      minisign secret key (0600)
//! keys/minisign.pub      minisign public key
//! keys/next/             a member's new keys while its rotation is pending (rekey)
//! keys/retired/<n>/      keys replaced by a rotation, kept for old bundles (rekey)
//! chains/<id>/<height>.yaml(.minisig)   sub-chains, one file per block + detached signature
//! pending/<id>/<height>-<hash>.yaml(.minisig)  blocks waiting for predecessors
//! forks/<id>/<height>-<hash>.yaml(.minisig)    fork evidence
//! peers/<id>.yaml        the frontier last received from each peer
//! outbox/<recipient>/    bundles made without --out, emptied by xfer
//! files/<file id>/        security files: manifest.yaml(.minisig) signed by the master, content (0600)
//! requests/<request id>/ requests imported by the master: request.yaml(.minisig), attachment
//! state/                 checkpoints and caches (derivable)
//! tmp/                   temp files, same filesystem as the store
//! lock                   the home's lock file (flock)
//! ```
mod atomic;
pub mod durable;
mod lock;
pub mod sweep;

pub use atomic::{atomic_write, atomic_write_with, fsync_dir, write_cache, write_out_with};
pub use lock::Lock;
pub use sweep::sweep_temps;

use crate::error::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Node roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Master,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Member => "member",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "master" => Some(Role::Master),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// `node.yaml`: who this home is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub format: u32,
    pub name: String,
    pub role: Role,
    pub id: String,
    pub master: String,
    /// Whether the secret keys are passphrase-protected.
    #[serde(default)]
    pub encrypted_keys: bool,
}

/// A home directory (not necessarily initialised).
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    pub fn node_file(&self) -> PathBuf {
        self.path("node.yaml")
    }
    pub fn chains_dir(&self) -> PathBuf {
        self.path("chains")
    }
    pub fn chain_dir(&self, id: &str) -> PathBuf {
        self.chains_dir().join(id)
    }
    pub fn pending_dir(&self) -> PathBuf {
        self.path("pending")
    }
    pub fn forks_dir(&self) -> PathBuf {
        self.path("forks")
    }
    pub fn peers_dir(&self) -> PathBuf {
        self.path("peers")
    }
    pub fn outbox_dir(&self) -> PathBuf {
        self.path("outbox")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.path("tmp")
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.path("keys")
    }
    pub fn master_card(&self) -> PathBuf {
        self.path("master.card")
    }

    pub fn is_initialised(&self) -> bool {
        self.node_file().exists()
    }

    /// Create the directory skeleton of a new home (the caller holds the lock): the root
    /// and every directory 0700, whatever the umask.
    pub fn create_layout(&self) -> Result<()> {
        ensure_dir(&self.root)?;
        set_mode(&self.root, 0o700)?;
        for d in ["chains", "pending", "forks", "peers", "outbox", "state", "tmp", "keys"] {
            ensure_dir(&self.path(d))?;
        }
        Ok(())
    }

    /// Read `node.yaml`, failing with an environment error when the home is missing.
    pub fn config(&self) -> Result<NodeConfig> {
        let f = self.node_file();
        let bytes = match std::fs::read(&f) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Env(format!(
                    "{}: no secfile home here (run `secfile init` or pass --home)",
                    self.root.display()
                )));
            }
            Err(e) => return Err(Error::io(&f, e)),
        };
        serde_yaml::from_slice(&bytes)
            .map_err(|e| Error::rejected(f.display(), "malformed", format!("bad node config: {e}")))
    }

    pub fn write_config(&self, cfg: &NodeConfig) -> Result<()> {
        let s = serde_yaml::to_string(cfg).expect("config serialises");
        atomic_write(&self.node_file(), s.as_bytes())
    }

    /// Take the home's lock, waiting up to `wait`.
    pub fn lock(&self, wait: Duration) -> Result<Lock> {
        Lock::acquire(&self.path("lock"), &self.root, wait)
    }
}

/// Make a directory of the home (and any missing parent) mode 0700, whatever the umask.
/// The one way store code makes directories (`files/ID`, `requests/ID`, `outbox/R`,
/// `chains/ID`, …); an existing directory is left as it is.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).at(dir)
}

/// Create a new file of the home, 0600 whatever the umask; an existing one is an error.
pub fn create_private_file(path: &Path) -> Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path).at(path)?;
    set_mode(path, 0o600)?;
    Ok(f)
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).at(path)
}

/// Set the mode of a file outside the home (an `--out` target, its temp file). A
/// filesystem without Unix modes may refuse: FAT through FUSE (fusefat) answers ENOSYS,
/// others EOPNOTSUPP or EPERM. That is no failure: the file keeps the filesystem's mode.
#[cfg(unix)]
pub fn set_mode_outside(path: &Path, mode: u32) -> Result<()> {
    use rustix::io::Errno;
    use std::os::unix::fs::PermissionsExt;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        Err(e)
            if [Errno::NOSYS, Errno::OPNOTSUPP, Errno::PERM]
                .iter()
                .any(|x| e.raw_os_error() == Some(x.raw_os_error())) =>
        {
            Ok(())
        }
        r => r.at(path),
    }
}

#[cfg(not(unix))]
pub fn set_mode_outside(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}
