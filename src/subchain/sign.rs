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
    check_signature_line(text)?;
    let sb = minisign::SignatureBox::from_string(text).map_err(|e| format!("malformed signature: {e}"))?;
    // minisign 0.10 panics (index out of range) on a global signature under 64 bytes, and
    // reads one over 64 bytes as its first 64 (a second valid, canonical file for the same
    // signature, which stock minisign refuses); the line decoded above, so its length tells
    // the decoded size
    let global_len = text.lines().nth(3).map_or(0, b64_len);
    if global_len < 64 {
        return Err("malformed signature: the global signature is too short".to_string());
    }
    if global_len > 64 {
        return Err("malformed signature: the global signature is too long".to_string());
    }
    minisign::verify(pk, &sb, Cursor::new(data), true, false, false).map_err(|e| format!("bad signature: {e}"))?;
    let tc = sb.trusted_comment().map_err(|e| format!("malformed signature: {e}"))?;
    if tc != trusted_comment {
        return Err(format!("signature is for {tc:?}, not {trusted_comment:?}"));
    }
    Ok(())
}

/// The number of bytes a base64 line decodes to, when it decodes.
fn b64_len(line: &str) -> usize {
    line.trim().trim_end_matches('=').len() * 6 / 8
}

/// Refuse a signature line (the second) that decodes to more than the 74 bytes of algorithm,
/// key id and signature, before minisign 0.10 parses it: it reads the first 74 and ignores
/// the rest (a debug assertion panics), where stock minisign refuses the file.
fn check_signature_line(text: &str) -> Result<(), String> {
    if text.lines().nth(1).is_some_and(|l| b64_len(l) > 74) {
        return Err("malformed signature: the signature line is too long".to_string());
    }
    Ok(())
}

/// One signature check for [`verify_many`]: public key, signed data, `.minisig` file bytes,
/// expected trusted comment — the arguments of [`verify`].
pub type SigCheck<'a> = (&'a minisign::PublicKey, &'a [u8], &'a [u8], &'a str);

/// Items per Ed25519 batch (each item holds two signatures). Larger batches are a little
/// faster (2048: ~5% on 100k blocks) but a failing batch is checked again one by one.
/// `bench_floor` uses the same size.
pub const BATCH: usize = 512;

/// [`verify`] for many signatures at once, much faster: returns, item by item, what
/// [`verify`] returns, using ed25519-dalek batch verification on all cores.
///
/// A signature file takes the fast path only when it is exactly as secfile writes it
/// (four `\n`-terminated lines, canonical base64, a prehashed `ED` signature with the public
/// key's key id, the expected trusted comment with no surrounding spaces, canonical `S`,
/// canonically encoded `R` of order above 8) and the public key is canonically encoded and not
/// of small order. Every other item, and every item of a batch that fails, goes through
/// [`verify`] itself, so errors (and their messages) are exactly [`verify`]'s.
///
/// Known remaining difference: batch verification does not check the same equation as a
/// single verification. minisign checks the cofactorless equation `[S]B = R + [k]A`, comparing
/// the encoding of `R` byte for byte; ed25519-dalek 2 sums the signatures with random
/// 128-bit coefficients derived from the inputs and tests the sum for the identity, so a
/// small torsion component (order 2, 4 or 8) vanishes whenever its coefficient is a multiple of
/// its order: for such components it behaves like the cofactored equation
/// `[8][S]B = [8]R + [8][k]A`. Small-order `R` and weak keys are rejected up front (they go
/// through [`verify`]), but a mixed-order `R` (or key) cannot be detected cheaply (it takes a
/// multiplication by the group order): a signature crafted by the key's owner with a
/// mixed-order `R` can pass a batch yet fail a single [`verify`] — and whether it passes can
/// depend on the other signatures of its batch. Nobody without the secret key can make a
/// signature that passes either check; honest signers never produce such signatures.
pub fn verify_many(items: &[SigCheck<'_>]) -> Vec<Result<(), String>> {
    // public keys usable in a batch, once per distinct key object
    let mut by_ptr: std::collections::HashMap<*const minisign::PublicKey, usize> = Default::default();
    let mut keys: Vec<Option<BatchKey>> = Vec::new();
    let key_of: Vec<usize> = items
        .iter()
        .map(|&(pk, ..)| {
            *by_ptr.entry(pk as *const _).or_insert_with(|| {
                keys.push(BatchKey::new(pk));
                keys.len() - 1
            })
        })
        .collect();
    let mut out: Vec<Result<(), String>> = vec![Ok(()); items.len()];
    let run = |start: usize, out: &mut [Result<(), String>]| {
        let end = start + out.len();
        verify_chunk(&items[start..end], &key_of[start..end], &keys, out)
    };
    // one batch per task, each thread taking the next batch when done with one
    let parts: Vec<(usize, &mut [Result<(), String>])> = out.chunks_mut(BATCH).enumerate().collect();
    crate::par::par_map_queue(parts, crate::par::cores(), |(c, part)| run(c * BATCH, part));
    out
}

/// A public key as ed25519-dalek sees it, with the key id signatures must carry.
struct BatchKey {
    keynum: [u8; 8],
    vk: ed25519_dalek::VerifyingKey,
}

impl BatchKey {
    /// `None` when the key must not take the batch path (unusual encoding, small order).
    fn new(pk: &minisign::PublicKey) -> Option<BatchKey> {
        let b = pk.to_bytes(); // algorithm (2) ‖ key id (8) ‖ Ed25519 key (32)
        if b.len() != 42 {
            return None;
        }
        let raw: [u8; 32] = b[10..42].try_into().ok()?;
        if !point_ok(&raw) {
            return None;
        }
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).ok()?;
        if vk.is_weak() {
            return None;
        }
        Some(BatchKey {
            keynum: b[2..10].try_into().ok()?,
            vk,
        })
    }
}

/// One batch: the items that parse strictly are prehashed and verified together; the rest,
/// and all of them when the batch fails, are verified one by one with [`verify`].
fn verify_chunk(items: &[SigCheck<'_>], key_of: &[usize], keys: &[Option<BatchKey>], out: &mut [Result<(), String>]) {
    use blake2::{Blake2b512, Digest};
    let mut fast: Vec<usize> = Vec::with_capacity(items.len());
    let mut hashes: Vec<[u8; 64]> = Vec::with_capacity(items.len());
    let mut globals: Vec<u8> = Vec::with_capacity(items.len() * 96);
    let mut global_ends: Vec<usize> = Vec::with_capacity(items.len());
    let mut sigs: Vec<ed25519_dalek::Signature> = Vec::with_capacity(2 * items.len());
    let mut gsigs: Vec<ed25519_dalek::Signature> = Vec::with_capacity(items.len());
    let mut vks: Vec<ed25519_dalek::VerifyingKey> = Vec::with_capacity(2 * items.len());
    for (i, &(pk, data, sig, comment)) in items.iter().enumerate() {
        let parsed = keys[key_of[i]]
            .as_ref()
            .and_then(|k| parse_strict(sig, &k.keynum, comment).map(|p| (k, p)));
        let Some((k, (s, g))) = parsed else {
            out[i] = verify(pk, data, sig, comment);
            continue;
        };
        fast.push(i);
        hashes.push(Blake2b512::digest(data).into());
        globals.extend_from_slice(&s);
        globals.extend_from_slice(comment.as_bytes());
        global_ends.push(globals.len());
        sigs.push(ed25519_dalek::Signature::from_bytes(&s));
        gsigs.push(ed25519_dalek::Signature::from_bytes(&g));
        vks.push(k.vk);
    }
    if fast.is_empty() {
        return;
    }
    let mut msgs: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
    let mut start = 0;
    for &end in &global_ends {
        msgs.push(&globals[start..end]);
        start = end;
    }
    sigs.extend(gsigs);
    vks.extend_from_within(..);
    if ed25519_dalek::verify_batch(&msgs, &sigs, &vks).is_err() {
        for &i in &fast {
            let (pk, data, sig, comment) = items[i];
            out[i] = verify(pk, data, sig, comment);
        }
    }
    // on success the items of `fast` keep the `Ok(())` they start with
}

/// The signature and global signature of a `.minisig` file, when the file is exactly in the
/// form secfile writes and [`verify`] would check them against `keynum` and `comment` (and
/// nothing else) — `None` for anything else.
fn parse_strict(sig: &[u8], keynum: &[u8; 8], comment: &str) -> Option<([u8; 64], [u8; 64])> {
    if sig.len() > crate::envelope::MAX_SIG || sig.contains(&b'\r') {
        return None;
    }
    let text = std::str::from_utf8(sig).ok()?;
    let mut lines = text.strip_suffix('\n')?.split('\n');
    let (untrusted, sig_line, tc_line, global_line) = (lines.next()?, lines.next()?, lines.next()?, lines.next()?);
    if lines.next().is_some() || !untrusted.starts_with("untrusted comment: ") {
        return None;
    }
    let tc = tc_line.strip_prefix("trusted comment: ")?;
    if tc != comment || tc.trim() != tc {
        return None;
    }
    let sb: [u8; 74] = b64_decode(sig_line)?;
    let global: [u8; 64] = b64_decode(global_line)?;
    if sb[..2] != *b"ED" || sb[2..10] != keynum[..] {
        return None;
    }
    let s: [u8; 64] = sb[10..].try_into().ok()?;
    (signature_ok(&s) && signature_ok(&global)).then_some((s, global))
}

/// `S` below the group order (ed25519-dalek checks it too, unless its `legacy_compatibility`
/// feature is on), `R` canonically encoded and not of small order.
fn signature_ok(sig: &[u8; 64]) -> bool {
    // the group order ℓ, little-endian
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let s = &sig[32..];
    let s_lt_l = s
        .iter()
        .rev()
        .zip(L.iter().rev())
        .find(|(a, b)| a != b)
        .is_some_and(|(a, b)| a < b);
    s_lt_l && point_ok(sig[..32].try_into().expect("32 bytes"))
}

/// The y coordinates (little-endian) of the 8 points of small order: 0 (order 4), 1 (order 1),
/// the two of order 8, p − 1 (order 2).
const SMALL_ORDER_Y: [[u8; 32]; 5] = {
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    [
        [0u8; 32],
        one,
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
            0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
            0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
        ],
        p_minus_1,
    ]
};

/// An Edwards point encoding whose y is canonical (below p = 2²⁵⁵ − 19) and not that of a
/// point of small order. (It may still not decode to a point: ed25519-dalek rejects those.)
fn point_ok(enc: &[u8; 32]) -> bool {
    let mut y = *enc;
    y[31] &= 0x7f;
    let at_least_p = y[0] >= 0xed && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    !at_least_p && !SMALL_ORDER_Y.contains(&y)
}

/// Base64 digit values, 0xff for anything else.
const B64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[digits[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Strict standard base64 of exactly `N` bytes, with padding: `None` unless `s` is the exact
/// (canonical) encoding of the result.
fn b64_decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    let pad = (3 - N % 3) % 3;
    if N == 0 || s.len() != N.div_ceil(3) * 4 || s[s.len() - pad..].iter().any(|&c| c != b'=') {
        return None;
    }
    let mut out = [0u8; N];
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &c in &s[..s.len() - pad] {
        let v = B64[usize::from(c)];
        if v == 0xff {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // the unused bits of the last digit must be zero
    (acc == 0 && n == N).then_some(out)
}

/// True when a signature file is byte for byte what secfile writes: the untrusted comment
/// and the layout that minisign leaves unauthenticated cannot then change unnoticed.
pub fn is_canonical(sig: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(sig) else {
        return false;
    };
    if check_signature_line(text).is_err() {
        return false;
    }
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

    fn b64(b: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn sign_with(kp: &minisign::KeyPair, data: &[u8], tc: &str) -> String {
        minisign::sign(None, &kp.sk, Cursor::new(data), Some(tc), Some(UNTRUSTED_COMMENT))
            .unwrap()
            .into_string()
    }

    /// The four lines of a signature file.
    fn lines(sig: &str) -> Vec<String> {
        sig.lines().map(str::to_string).collect()
    }

    fn join(l: &[String]) -> String {
        l.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The bytes of a signature box (74) or global signature (64) line.
    fn dec(line: &str) -> Vec<u8> {
        match line.len() {
            100 => b64_decode::<74>(line).unwrap().to_vec(),
            88 => b64_decode::<64>(line).unwrap().to_vec(),
            n => panic!("line of {n} characters"),
        }
    }

    /// Re-encode line `n` (1 = signature box, 3 = global signature) after editing its bytes.
    fn edit_line(sig: &str, n: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut l = lines(sig);
        let mut b = dec(&l[n]);
        f(&mut b);
        l[n] = b64(&b);
        join(&l)
    }

    /// S + ℓ in place of S: the same signature with a non-canonical scalar.
    fn add_l(s: &mut [u8]) {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (x, l) in s.iter_mut().zip(L) {
            let v = u16::from(*x) + u16::from(l) + carry;
            *x = v as u8;
            carry = v >> 8;
        }
    }

    /// A legacy (`Ed`, not prehashed) minisign signature, valid as such: Ed25519 over the raw
    /// data, made with ed25519-dalek from the minisign secret seed (minisign 0.10 only writes
    /// prehashed signatures).
    fn legacy_sig(kp: &minisign::KeyPair, data: &[u8], tc: &str) -> String {
        use ed25519_dalek::Signer;
        let skb = kp.sk.to_bytes(); // alg, kdf, chk (6) ‖ salt (32) ‖ limits (16) ‖ key id (8) ‖ seed ‖ pk
        let seed: [u8; 32] = skb[62..94].try_into().unwrap();
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(sk.verifying_key().as_bytes()[..], kp.pk.to_bytes()[10..42]);
        let sig = sk.sign(data).to_bytes();
        let mut sb = b"Ed".to_vec();
        sb.extend_from_slice(kp.pk.keynum());
        sb.extend_from_slice(&sig);
        let mut gm = sig.to_vec();
        gm.extend_from_slice(tc.as_bytes());
        let global = sk.sign(&gm).to_bytes();
        format!(
            "untrusted comment: {UNTRUSTED_COMMENT}\n{}\ntrusted comment: {tc}\n{}\n",
            b64(&sb),
            b64(&global)
        )
    }

    #[derive(Clone)]
    struct Case {
        name: String,
        pk: minisign::PublicKey,
        data: Vec<u8>,
        sig: Vec<u8>,
        comment: String,
    }

    /// Assert that verify_many agrees with verify on every case, Ok/Err and message.
    fn check_against_verify(cases: &[Case]) -> Vec<Result<(), String>> {
        let items: Vec<SigCheck<'_>> = cases
            .iter()
            .map(|c| (&c.pk, &c.data[..], &c.sig[..], &c.comment[..]))
            .collect();
        let got = verify_many(&items);
        assert_eq!(got.len(), cases.len());
        for (c, g) in cases.iter().zip(&got) {
            let want = verify(&c.pk, &c.data, &c.sig, &c.comment);
            assert_eq!(g, &want, "case {}", c.name);
        }
        got
    }

    #[test]
    fn verify_many_accepts_good_signatures_of_several_keys() {
        let kps: Vec<_> = (0..3)
            .map(|_| minisign::KeyPair::generate_unencrypted_keypair().unwrap())
            .collect();
        let mut cases = Vec::new();
        for i in 0..700usize {
            let kp = &kps[i % 3];
            let data = format!("block {i} {}", "x".repeat(i % 50)).into_bytes();
            let comment = block_comment(&format!("chain{}", i % 3), i as u64);
            let sig = sign_with(kp, &data, &comment);
            // the fast path takes every one of these
            let keynum: [u8; 8] = kp.pk.keynum().try_into().unwrap();
            assert!(parse_strict(sig.as_bytes(), &keynum, &comment).is_some());
            cases.push(Case {
                name: format!("good {i}"),
                pk: kp.pk.clone(),
                data,
                sig: sig.into_bytes(),
                comment,
            });
        }
        assert!(check_against_verify(&cases).iter().all(Result::is_ok));
        assert!(verify_many(&[]).is_empty());
    }

    #[test]
    fn verify_many_matches_verify_on_bad_and_odd_signatures() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let other = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        // the other key's Ed25519 key under this key's id: the fast path takes it, the batch fails
        let mut twin = kp.pk.to_bytes();
        twin[10..42].copy_from_slice(&other.pk.to_bytes()[10..42]);
        let twin = minisign::PublicKey::from_bytes(&twin).unwrap();
        let mut cases = Vec::new();
        let push =
            |cases: &mut Vec<Case>, name: &str, pk: &minisign::PublicKey, data: &[u8], sig: String, comment: &str| {
                cases.push(Case {
                    name: name.to_string(),
                    pk: pk.clone(),
                    data: data.to_vec(),
                    sig: sig.into_bytes(),
                    comment: comment.to_string(),
                })
            };
        for i in 0..40u64 {
            let data = format!("block body {i}").into_bytes();
            let tc = block_comment("c1", i);
            let good = sign_with(&kp, &data, &tc);
            // good signatures between the bad ones, so that batches fail and fall back
            for j in 0..7 {
                let d = format!("filler {i} {j}").into_bytes();
                let t = block_comment("c2", i * 10 + j);
                let s = sign_with(&kp, &d, &t);
                push(&mut cases, "filler", &kp.pk, &d, s, &t);
            }
            let mut flipped = data.clone();
            flipped[i as usize % data.len()] ^= 1 << (i % 8);
            let before = cases.len();
            match i % 20 {
                0 => push(&mut cases, "data flip", &kp.pk, &flipped, good.clone(), &tc),
                1 => {
                    let s = edit_line(&good, 1, |b| b[10 + (i as usize * 7) % 64] ^= 0x40);
                    push(&mut cases, "signature flip", &kp.pk, &data, s, &tc)
                }
                2 => {
                    let s = edit_line(&good, 1, |b| b[2 + i as usize % 8] ^= 1);
                    push(&mut cases, "key id flip", &kp.pk, &data, s, &tc)
                }
                3 => {
                    let s = edit_line(&good, 3, |b| b[i as usize % 64] ^= 0x80);
                    push(&mut cases, "global signature flip", &kp.pk, &data, s, &tc)
                }
                4 => {
                    // the trusted comment line and the expected comment edited together: only
                    // the global signature can tell
                    let t = block_comment("c1", i + 1000);
                    let s = good.replace(&format!("trusted comment: {tc}"), &format!("trusted comment: {t}"));
                    push(&mut cases, "trusted comment flip", &kp.pk, &data, s, &t)
                }
                5 => {
                    let t = block_comment("c1", i + 1000);
                    let s = good.replace(&format!("trusted comment: {tc}"), &format!("trusted comment: {t}"));
                    push(&mut cases, "trusted comment edited", &kp.pk, &data, s, &tc)
                }
                6 => push(
                    &mut cases,
                    "wrong expected comment",
                    &kp.pk,
                    &data,
                    good.clone(),
                    &block_comment("c1", i + 1),
                ),
                7 => push(&mut cases, "wrong key", &other.pk, &data, good.clone(), &tc),
                8 => push(&mut cases, "wrong key, same key id", &twin, &data, good.clone(), &tc),
                9 => {
                    let s = edit_line(&good, 1, |b| b[1] = b'd');
                    push(&mut cases, "ED edited to Ed", &kp.pk, &data, s, &tc)
                }
                10 => push(
                    &mut cases,
                    "legacy signature",
                    &kp.pk,
                    &data,
                    legacy_sig(&kp, &data, &tc),
                    &tc,
                ),
                11 => {
                    let s = edit_line(&good, 1, |b| add_l(&mut b[42..74]));
                    push(&mut cases, "non-canonical S", &kp.pk, &data, s, &tc)
                }
                12 => {
                    let s = edit_line(&good, 3, |b| add_l(&mut b[32..64]));
                    push(&mut cases, "non-canonical global S", &kp.pk, &data, s, &tc)
                }
                13 => {
                    let s = edit_line(&good, 1, |b| {
                        b[10..42].fill(0);
                        b[10] = 1
                    });
                    push(&mut cases, "identity R", &kp.pk, &data, s, &tc)
                }
                14 => {
                    // signed with a trailing space, which minisign's verify trims away
                    let t = format!("{tc} ");
                    push(
                        &mut cases,
                        "trailing space",
                        &kp.pk,
                        &data,
                        sign_with(&kp, &data, &t),
                        &t,
                    )
                }
                15 => push(
                    &mut cases,
                    "untrusted comment",
                    &kp.pk,
                    &data,
                    good.replacen("from secfile", "from elsewhere", 1),
                    &tc,
                ),
                16 => push(&mut cases, "CRLF", &kp.pk, &data, good.replace('\n', "\r\n"), &tc),
                17 => push(&mut cases, "extra line", &kp.pk, &data, format!("{good}more\n"), &tc),
                18 => {
                    // the last base64 digit of the signature box with its unused bits set
                    let mut l = lines(&good);
                    let n = l[1].len() - 2;
                    let c = l[1].as_bytes()[n];
                    let bumped = match c {
                        b'A'..=b'Y' | b'a'..=b'y' | b'0'..=b'8' => (c + 1) as char,
                        _ => unreachable!("canonical digits are multiples of 4"),
                    };
                    l[1].replace_range(n..n + 1, &bumped.to_string());
                    push(&mut cases, "non-canonical base64", &kp.pk, &data, join(&l), &tc)
                }
                _ => push(
                    &mut cases,
                    "no final newline",
                    &kp.pk,
                    &data,
                    good.trim_end().to_string(),
                    &tc,
                ),
            }
            assert_eq!(cases.len(), before + 1);
        }
        // all together: batches fail and fall back
        let got = check_against_verify(&cases);
        // each odd one alone among good ones: a batch that wrongly passes shows here
        for (k, c) in cases.iter().enumerate().filter(|(_, c)| c.name != "filler") {
            let mut few: Vec<Case> = cases[k - 3..k].to_vec();
            few.push(c.clone());
            few.extend(cases[k - 7..k - 4].iter().cloned());
            check_against_verify(&few);
            check_against_verify(std::slice::from_ref(c));
        }
        // every tampering that minisign notices is an error here too, and the fillers pass
        let errors: Vec<&str> = cases
            .iter()
            .zip(&got)
            .filter(|(_, r)| r.is_err())
            .map(|(c, _)| &c.name[..])
            .collect();
        assert!(!errors.contains(&"filler"));
        for name in [
            "data flip",
            "signature flip",
            "key id flip",
            "global signature flip",
            "trusted comment flip",
            "trusted comment edited",
            "wrong expected comment",
            "wrong key",
            "wrong key, same key id",
            "ED edited to Ed",
            "legacy signature",
            "non-canonical S",
            "non-canonical global S",
            "identity R",
            "trailing space",
        ] {
            assert!(errors.contains(&name), "{name} is accepted");
        }
        for name in ["untrusted comment", "CRLF", "extra line", "no final newline"] {
            assert!(!errors.contains(&name), "{name} is refused");
        }
    }

    #[test]
    fn short_global_signature_is_an_error_not_a_panic() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let good = sign_with(&kp, b"x", "t");
        for len in [0, 1, 32, 63] {
            let mut l = lines(&good);
            l[3] = b64(&vec![7u8; len]);
            let sig = join(&l);
            let want = Err("malformed signature: the global signature is too short".to_string());
            if len > 0 {
                assert_eq!(verify(&kp.pk, b"x", sig.as_bytes(), "t"), want);
            }
            let got = verify_many(&[(&kp.pk, b"x", sig.as_bytes(), "t")]);
            assert_eq!(got[0], verify(&kp.pk, b"x", sig.as_bytes(), "t"));
            assert!(got[0].is_err());
        }
    }

    /// Found by `fuzz/fuzz_targets/sign.rs`: minisign 0.10 reads a global signature line of
    /// more than 64 bytes as its first 64, so appending base64 digits to that line of a valid
    /// signature file gave a second file that verified and that `is_canonical` took for
    /// secfile's own, where stock minisign refuses it ("base64 conversion failed").
    #[test]
    fn long_global_signature_is_refused_like_stock_minisign() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let good = sign_with(&kp, b"x", "t");
        for extra in [&[0u8][..], &[0, 0], &[1, 2, 3, 4]] {
            let mut l = lines(&good);
            let mut g = dec(&l[3]);
            g.extend_from_slice(extra);
            l[3] = b64(&g);
            let sig = join(&l);
            let want = Err("malformed signature: the global signature is too long".to_string());
            assert_eq!(verify(&kp.pk, b"x", sig.as_bytes(), "t"), want);
            assert_eq!(verify_many(&[(&kp.pk, b"x", sig.as_bytes(), "t")]), vec![want]);
        }
        // the fuzzer's input: the fixture's signature file with its global signature's
        // padding `BA==` turned into `BAA=` (65 bytes)
        let crash: &[u8] = b"untrusted comment: signature from secfile\n\
RUT2UfM9pDTt5dWiEWCuQWoy+FY5jpDYx0muwEM+wrVH+KMSOW681GxIcp/oXG9pM4+5pWIhn/dEfh/hQLDJ8ClE3/zxt7IdOwk=\n\
trusted comment: secfile block 9dd1e07a3c19a0c0 1\n\
9tYa3LzYFHZGXsfPWYCSXtwD2aRzKfNLIZ6jmEyDzeqnLgKFYAqpWG7+meq17EX6MNFYdlRc8xhCdenuvs0bBAA=\n";
        let data = include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml");
        let pk = minisign::PublicKey::from_base64("RWT2UfM9pDTt5czZ/1i8rRe9JJ7HpXu9XYJpqgj7acJocFv6BKphrO9U").unwrap();
        let tc = "secfile block 9dd1e07a3c19a0c0 1";
        let fixture = include_bytes!("../../fixtures/homes/hq/chains/9dd1e07a3c19a0c0/0000000001.yaml.minisig");
        assert_eq!(verify(&pk, data, fixture, tc), Ok(()));
        let want = Err("malformed signature: the global signature is too long".to_string());
        assert_eq!(verify(&pk, data, crash, tc), want);
        assert_eq!(verify_many(&[(&pk, data, crash, tc)]), vec![want]);
    }

    /// Seen while fixing the one above: minisign 0.10 also reads a signature line of more
    /// than 74 bytes as its first 74, so such a file verified (`is_canonical` refused it)
    /// where stock minisign says "Signature too long".
    #[test]
    fn long_signature_line_is_refused_like_stock_minisign() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let good = sign_with(&kp, b"x", "t");
        let sig = edit_line(&good, 1, |b| b.extend_from_slice(&[0, 0]));
        let want = Err("malformed signature: the signature line is too long".to_string());
        assert_eq!(verify(&kp.pk, b"x", sig.as_bytes(), "t"), want);
        assert_eq!(verify_many(&[(&kp.pk, b"x", sig.as_bytes(), "t")]), vec![want]);
        assert!(!is_canonical(sig.as_bytes()));
    }

    /// A prehashed minisign signature by `kp` whose Ed25519 signature over the prehash has
    /// R = [r]B + T for T the point of order 2 (r = 0 when `torsion_only`), with S = r + k·a
    /// as an honest signer would compute it: single verification always refuses it, the
    /// batch equation accepts it whenever its random coefficient is even.
    fn torsion_sig(kp: &minisign::KeyPair, data: &[u8], tc: &str, torsion_only: bool) -> String {
        use blake2::Digest as _;
        use curve25519_dalek::{constants::ED25519_BASEPOINT_POINT, edwards::CompressedEdwardsY, scalar::Scalar};
        use ed25519_dalek::Signer;
        use sha2::Digest as _;
        let skb = kp.sk.to_bytes();
        let seed: [u8; 32] = skb[62..94].try_into().unwrap();
        let mut a: [u8; 32] = sha2::Sha512::digest(seed)[..32].try_into().unwrap();
        a[0] &= 248;
        a[31] &= 63;
        a[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a);
        let pk: [u8; 32] = kp.pk.to_bytes()[10..42].try_into().unwrap();
        assert_eq!((ED25519_BASEPOINT_POINT * a).compress().to_bytes(), pk);
        let t2 = CompressedEdwardsY(SMALL_ORDER_Y[4]).decompress().unwrap();
        let mut wide = [0u8; 64];
        getrandom::fill(&mut wide).unwrap();
        let r = if torsion_only {
            Scalar::ZERO
        } else {
            Scalar::from_bytes_mod_order_wide(&wide)
        };
        let big_r = (ED25519_BASEPOINT_POINT * r + t2).compress().to_bytes();
        let prehash = blake2::Blake2b512::digest(data);
        let mut h = sha2::Sha512::new();
        h.update(big_r);
        h.update(pk);
        h.update(&prehash[..]);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize()[..].try_into().unwrap());
        let mut sig = big_r.to_vec();
        sig.extend_from_slice((r + k * a).as_bytes());
        let mut sb = b"ED".to_vec();
        sb.extend_from_slice(kp.pk.keynum());
        sb.extend_from_slice(&sig);
        let mut gm = sig.clone();
        gm.extend_from_slice(tc.as_bytes());
        let global = ed25519_dalek::SigningKey::from_bytes(&seed).sign(&gm).to_bytes();
        format!(
            "untrusted comment: {UNTRUSTED_COMMENT}\n{}\ntrusted comment: {tc}\n{}\n",
            b64(&sb),
            b64(&global)
        )
    }

    /// Whether ed25519-dalek's batch alone accepts the signature file, as verify_chunk calls it.
    fn raw_batch_accepts(kp: &minisign::KeyPair, data: &[u8], sig: &str, tc: &str) -> bool {
        use blake2::Digest as _;
        let l = lines(sig);
        let sb = dec(&l[1]);
        let s: [u8; 64] = sb[10..].try_into().unwrap();
        let g: [u8; 64] = b64_decode(&l[3]).unwrap();
        let mut gm = s.to_vec();
        gm.extend_from_slice(tc.as_bytes());
        let hash = blake2::Blake2b512::digest(data);
        let vk = BatchKey::new(&kp.pk).unwrap().vk;
        ed25519_dalek::verify_batch(
            &[&hash[..], &gm],
            &[
                ed25519_dalek::Signature::from_bytes(&s),
                ed25519_dalek::Signature::from_bytes(&g),
            ],
            &[vk, vk],
        )
        .is_ok()
    }

    #[test]
    fn small_order_r_is_refused_though_a_batch_would_take_it() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let mut batch_took = 0;
        for i in 0..40 {
            let data = format!("block {i}").into_bytes();
            let tc = block_comment("c", i);
            let sig = torsion_sig(&kp, &data, &tc, true);
            batch_took += usize::from(raw_batch_accepts(&kp, &data, &sig, &tc));
            assert!(verify(&kp.pk, &data, sig.as_bytes(), &tc).is_err());
            let got = verify_many(&[(&kp.pk, &data[..], sig.as_bytes(), &tc[..])]);
            assert_eq!(got[0], verify(&kp.pk, &data, sig.as_bytes(), &tc));
        }
        // about half: without the small-order check, those would be accepted
        assert!(batch_took > 0);
    }

    /// The known difference documented on verify_many: a mixed-order R made by the key's owner
    /// can pass a batch though verify refuses it. If this starts failing, update that doc.
    #[test]
    fn known_gap_mixed_order_r_made_by_the_owner_can_pass_a_batch() {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let mut passed = 0;
        for i in 0..40 {
            let data = format!("block {i}").into_bytes();
            let tc = block_comment("c", i);
            let sig = torsion_sig(&kp, &data, &tc, false);
            assert!(verify(&kp.pk, &data, sig.as_bytes(), &tc).is_err());
            passed += usize::from(verify_many(&[(&kp.pk, &data[..], sig.as_bytes(), &tc[..])])[0].is_ok());
        }
        assert!(passed > 0 && passed < 40, "{passed}");
    }

    #[test]
    fn small_order_encodings_are_refused() {
        for y in SMALL_ORDER_Y {
            for sign in [0, 0x80] {
                let mut e = y;
                e[31] |= sign;
                assert!(!point_ok(&e));
                // every listed y is that of a small-order point (or of none)
                if let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&e) {
                    assert!(vk.is_weak(), "{e:?}");
                }
            }
        }
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let raw: [u8; 32] = kp.pk.to_bytes()[10..42].try_into().unwrap();
        assert!(point_ok(&raw));
        assert!(BatchKey::new(&kp.pk).is_some());
        // y = p + 1 encodes 1 non-canonically
        let mut e = [0xffu8; 32];
        e[0] = 0xee;
        e[31] = 0x7f;
        assert!(!point_ok(&e));
    }

    #[test]
    fn strict_base64() {
        fn round<const N: usize>() {
            let b: [u8; N] = std::array::from_fn(|x| (x as u8).wrapping_mul(37).wrapping_add(N as u8));
            assert_eq!(b64_decode::<N>(&b64(&b)), Some(b));
            assert_eq!(b64_decode::<N>(&b64(&b[..N - 1])), None);
            assert_eq!(b64_decode::<N>(&b64(&[b.as_slice(), &[1]].concat())), None);
        }
        round::<1>();
        round::<2>();
        round::<3>();
        round::<4>();
        round::<64>();
        round::<74>();
        assert_eq!(b64_decode::<2>("AAE="), Some([0, 1]));
        assert_eq!(b64_decode::<1>("AQ=="), Some([1]));
        for bad in [
            "", "AAF=", "AB==", "A===", "AA=A", "AA A", "AAE", "AAE=\n", "====", "A=E=", "AAE*",
        ] {
            assert_eq!(b64_decode::<2>(bad), None, "{bad:?}");
        }
        for bad in ["AR==", "A===", "AQ=A", "AQ"] {
            assert_eq!(b64_decode::<1>(bad), None, "{bad:?}");
        }
    }

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
