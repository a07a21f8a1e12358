//! The node's store of security files: `files/<file id>/manifest.yaml(.minisig)` and
//! `content` (mode 0600). Content is written to a temp file while streaming and persisted
//! only after the bundle it came in has fully authenticated.
use crate::error::{IoContext, Result};
use crate::home::{Home, atomic_write};
use std::path::PathBuf;

pub fn files_dir(home: &Home) -> PathBuf {
    home.path("files")
}

pub fn file_dir(home: &Home, id: &str) -> PathBuf {
    files_dir(home).join(id)
}

/// Store a manifest, its signature, and (if given) the content temp file.
pub fn save(
    home: &Home,
    id: &str,
    manifest: &[u8],
    sig: &[u8],
    content: Option<tempfile::NamedTempFile>,
) -> Result<()> {
    let d = file_dir(home, id);
    crate::home::ensure_dir(&d)?;
    if let Some(tmp) = content {
        tmp.as_file().sync_all().at(tmp.path())?;
        let dest = d.join("content");
        tmp.persist(&dest).map_err(|e| crate::Error::io(&dest, e.error))?;
        crate::home::set_mode(&dest, 0o600)?;
    }
    atomic_write(&d.join("manifest.yaml.minisig"), sig)?;
    atomic_write(&d.join("manifest.yaml"), manifest)?;
    crate::home::fsync_dir(&d)
}

/// Read a stored manifest and signature.
pub fn load(home: &Home, id: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let d = file_dir(home, id);
    let m = d.join("manifest.yaml");
    if !m.exists() {
        return Ok(None);
    }
    let mb = std::fs::read(&m).at(&m)?;
    let sp = d.join("manifest.yaml.minisig");
    let sb = std::fs::read(&sp).at(&sp)?;
    Ok(Some((mb, sb)))
}

pub fn content_path(home: &Home, id: &str) -> PathBuf {
    file_dir(home, id).join("content")
}

/// Every stored file id.
pub fn list(home: &Home) -> Result<Vec<String>> {
    let d = files_dir(home);
    let mut out = Vec::new();
    match std::fs::read_dir(&d) {
        Ok(rd) => {
            for e in rd {
                let e = e.at(&d)?;
                let n = e.file_name().to_string_lossy().into_owned();
                if super::docs::is_doc_id(&n) {
                    out.push(n);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(crate::Error::io(&d, e)),
    }
    out.sort();
    Ok(out)
}
