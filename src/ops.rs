//! Inputs of operations: `K=V` fields and attachments.
use crate::digest;
use crate::error::{Error, IoContext, Result};
use crate::merge::bodies::{self, Attachment};
use crate::subchain;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Parse `K=V` flags into a field map.
pub fn parse_fields(raw: &[String]) -> Result<BTreeMap<String, String>> {
    let mut fields = BTreeMap::new();
    for f in raw {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--field {f:?}: expected KEY=VALUE")))?;
        if !subchain::is_field_key(k) {
            return Err(Error::usage(format!(
                "--field {k:?}: names are 1-64 of A-Z a-z 0-9 . _ -"
            )));
        }
        crate::text::check_own(&format!("--field {k}"), v).map_err(Error::usage)?;
        if fields.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Error::usage(format!("--field {k}: given twice")));
        }
    }
    bodies::check_fields(&fields).map_err(Error::usage)?;
    Ok(fields)
}

/// The name an attachment is recorded under: its file name.
pub fn attachment_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::usage(format!("{}: attachment needs a file name", path.display())))
}

/// Hash an attachment by streaming it (its content never enters the chain).
pub fn attachment(path: &Path) -> Result<Attachment> {
    let f = crate::input::open_regular(path)?;
    let (hash, size) =
        digest::sha256_reader(std::io::BufReader::new(f).take(crate::input::MAX_ATTACHMENT + 1)).at(path)?;
    if size > crate::input::MAX_ATTACHMENT {
        return Err(Error::rejected(
            path.display(),
            "limit",
            format!("over the attachment limit of {} bytes", crate::input::MAX_ATTACHMENT),
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::usage(format!("{}: attachment needs a file name", path.display())))?;
    Ok(Attachment {
        name,
        size,
        sha256: digest::hex(&hash),
    })
}
