//! Detached minisign signatures over exact bytes, with a trusted comment that binds the
//! signature to what it signs (`secfile block <chain> <height>`, `secfile bundle <id>`…).
use crate::identity::keys::SigningKey;
use std::io::Cursor;

/// Sign bytes; returns the text of a `.minisig` file.
pub fn sign(key: &SigningKey, data: &[u8], trusted_comment: &str) -> Result<String, String> {
    let sb = minisign::sign(
        Some(&key.pk),
        key.secret(),
        Cursor::new(data),
        Some(trusted_comment),
        Some("signature from secfile"),
    )
    .map_err(|e| format!("signing failed: {e}"))?;
    Ok(sb.into_string())
}

/// Verify a detached signature over bytes with a public key and require the trusted comment.
pub fn verify(pk: &minisign::PublicKey, data: &[u8], sig: &[u8], trusted_comment: &str) -> Result<(), String> {
    if sig.len() > crate::envelope::MAX_SIG {
        return Err(format!("signature file of {} bytes is over the limit", sig.len()));
    }
    let text = std::str::from_utf8(sig).map_err(|_| "signature file is not text".to_string())?;
    let sb = minisign::SignatureBox::from_string(text).map_err(|e| format!("malformed signature: {e}"))?;
    minisign::verify(pk, &sb, Cursor::new(data), true, false, false).map_err(|e| format!("bad signature: {e}"))?;
    let tc = sb.trusted_comment().map_err(|e| format!("malformed signature: {e}"))?;
    if tc != trusted_comment {
        return Err(format!("signature is for {tc:?}, not {trusted_comment:?}"));
    }
    Ok(())
}

/// The trusted comment of a block signature.
pub fn block_comment(chain: &str, height: u64) -> String {
    format!("secfile block {chain} {height}")
}
