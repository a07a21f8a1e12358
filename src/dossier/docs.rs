//! The signed documents of security files: the member's request and the master's manifest.
//! Both are canonical YAML (see `subchain::codec`) with a detached minisign signature.
use crate::subchain::codec;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;

/// The largest request or manifest document.
pub const MAX_DOC: usize = 512 * 1024;

/// Encode any serde struct canonically (field order = struct order).
pub fn encode<T: Serialize>(t: &T) -> Vec<u8> {
    let v = serde_yaml::to_value(t).expect("document serialises");
    codec::emit(&v).expect("document emits").into_bytes()
}

/// Decode strictly: the subset, the struct (unknown fields refused), the exact bytes.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    let v = codec::parse_strict(bytes, MAX_DOC)?;
    let t: T = serde_yaml::from_value(v).map_err(|e| format!("bad {what}: {e}"))?;
    if encode(&t) != bytes {
        return Err(format!("{what} keys are not in canonical order"));
    }
    Ok(t)
}

/// A document with a detached signature whose trusted comment names it.
pub trait Signed: Serialize + DeserializeOwned {
    /// The document's name in messages and in [`decode`].
    const WHAT: &'static str;
    /// The trusted comment its signature must carry.
    fn comment(&self) -> String;
}

/// Decode a signed document strictly and check its signature by `signer`; a failure is
/// rejected naming `input` (kind `malformed` or `bad-signature`, the latter prefixed with
/// `sig_what`).
pub fn open_signed<T: Signed>(
    raw: &[u8],
    sig: &[u8],
    signer: &crate::identity::Identity,
    input: &str,
    sig_what: &str,
) -> crate::Result<T> {
    let t: T = decode(raw, T::WHAT).map_err(|e| crate::Error::rejected(input, "malformed", e))?;
    check_signed(&t, raw, sig, signer, input, sig_what)?;
    Ok(t)
}

/// The signature half of [`open_signed`], for a document already decoded.
pub fn check_signed<T: Signed>(
    t: &T,
    raw: &[u8],
    sig: &[u8],
    signer: &crate::identity::Identity,
    input: &str,
    sig_what: &str,
) -> crate::Result<()> {
    use crate::Error;
    let pk = signer
        .public_key()
        .map_err(|e| Error::rejected(input, "malformed", e))?;
    check_signed_keys(t, raw, sig, &[pk], input, sig_what)
}

/// [`check_signed`] with any of a signer's keys (documents carry no height: after a
/// rotation, one signed before it is checked with the key of its time). The error is the
/// first key's.
pub fn check_signed_keys<T: Signed>(
    t: &T,
    raw: &[u8],
    sig: &[u8],
    keys: &[minisign::PublicKey],
    input: &str,
    sig_what: &str,
) -> crate::Result<()> {
    use crate::Error;
    let mut first = None;
    for pk in keys {
        match crate::subchain::sign::verify(pk, raw, sig, &t.comment()) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    let e = first.unwrap_or_else(|| "no key to check it with".into());
    Err(Error::rejected(input, "bad-signature", format!("{sig_what}: {e}")))
}

/// What the content of a file or an attachment is: name, size and SHA-256, the same
/// record blocks use for attachments.
pub type ContentInfo = crate::merge::bodies::Attachment;

/// A member's request for a security file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDoc {
    pub format: u32,
    pub id: String,
    pub member: String,
    #[serde(rename = "for")]
    pub for_member: String,
    pub event: String,
    pub fields: BTreeMap<String, String>,
    pub attachment: Option<ContentInfo>,
    pub created: String,
}

impl Signed for RequestDoc {
    const WHAT: &'static str = "request";
    fn comment(&self) -> String {
        format!("secfile request {}", self.id)
    }
}

/// The master-signed manifest of a security file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub file: String,
    pub serial: u64,
    pub issuer: String,
    pub holder: String,
    pub request: Option<String>,
    pub event: String,
    pub fields: BTreeMap<String, String>,
    pub content: ContentInfo,
    pub issued: String,
    pub expires: Option<String>,
}

impl Signed for Manifest {
    const WHAT: &'static str = "manifest";
    fn comment(&self) -> String {
        format!("secfile manifest {}", self.file)
    }
}

impl Manifest {
    /// Seconds since the epoch when it expires.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires.as_deref().and_then(crate::timefmt::parse_rfc3339)
    }
}

/// True for a file or request id (32 lowercase hex).
pub fn is_doc_id(s: &str) -> bool {
    s.len() == 32 && crate::digest::is_lower_hex(s)
}

/// True for an event name.
pub fn is_event(s: &str) -> bool {
    crate::subchain::is_field_key(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_strictness() {
        let m = Manifest {
            format: 1,
            file: "ab".repeat(16),
            serial: 3,
            issuer: "0123456789abcdef".into(),
            holder: "fedcba9876543210".into(),
            request: None,
            event: "audit".into(),
            fields: [("k".to_string(), "v: \"x\"".to_string())].into(),
            content: ContentInfo {
                name: "a.pdf".into(),
                size: 9,
                sha256: "00".repeat(32),
            },
            issued: "2026-11-23T12:00:00Z".into(),
            expires: Some("2027-01-01T00:00:00Z".into()),
        };
        let b = encode(&m);
        assert_eq!(decode::<Manifest>(&b, "manifest").unwrap(), m);
        let text = String::from_utf8(b).unwrap();
        let extra = format!("{text}x: 1\n");
        assert!(decode::<Manifest>(extra.as_bytes(), "manifest").is_err());
    }
}
