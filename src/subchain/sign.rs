//! Detached minisign signatures over exact bytes, with a trusted comment that binds the
//! signature to what it signs (`secfile block <chain> <height>`, `secfile bundle <kind> <id>`, `secfile manifest <id>`…).
use crate::identity::keys::SigningKey;
use std::io::Cursor;

/// The untrusted comment secfile writes in every signature.
pub const UNTRUSTED_COMMENT: &str = "signature from secfile";

/// Sign bytes; returns the text of a `.minisig` file.
pub fn sign(key: &SigningKey, data: &[u8], trusted_comment: &str) -> Result<String, String> {
    let sb = minisign::sign(
        Some(&key.pk),
        key.secret(),
        Cursor::new(data),
        Some(trusted_comment),
        Some(UNTRUSTED_COMMENT),
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

/// True when a signature file is byte for byte what secfile writes: the untrusted comment
/// and the layout that minisign leaves unauthenticated cannot then change unnoticed.
pub fn is_canonical(sig: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(sig) else {
        return false;
    };
    minisign::SignatureBox::from_string(text)
        .is_ok_and(|sb| sb.untrusted_comment().is_ok_and(|c| c == UNTRUSTED_COMMENT) && sb.to_string() == text)
}

/// The trusted comment of a block signature.
pub fn block_comment(chain: &str, height: u64) -> String {
    format!("secfile block {chain} {height}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_signature_files_only() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let text = minisign::sign(None, &kp.sk, Cursor::new(b"x"), Some("t"), Some(UNTRUSTED_COMMENT))
            .unwrap()
            .into_string();
        assert!(is_canonical(text.as_bytes()));
        let edited = text.replacen("from secfile", "from secfilf", 1);
        assert!(!is_canonical(edited.as_bytes()));
        let mut vt = text.clone().into_bytes();
        *vt.last_mut().unwrap() = 0x0b;
        assert!(!is_canonical(&vt));
    }
}
