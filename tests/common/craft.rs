//! Minisign signatures crafted by the key's owner against the signature rule (DESIGN §5):
//! torsion in `R` or in the key, small-order points, non-canonical encodings of `R`, `S` and
//! the key. Each case carries the verdict of libsodium's `crypto_sign_verify_detached` (as
//! stock `minisign -V` applies it), derived here from libsodium's rules, not from secfile's
//! code. Shared by the unit tests of `src/subchain/sign.rs` (`#[path]` include) and
//! `tests/interop.rs`, which checks those verdicts against stock `minisign -V`.
#![allow(dead_code)]
use curve25519_dalek::{EdwardsPoint, Scalar, constants::ED25519_BASEPOINT_POINT as B, edwards::CompressedEdwardsY};

/// One crafted signature file with what it signs and under which key.
#[derive(Clone, Debug)]
pub struct Crafted {
    pub name: String,
    /// The minisign public key: `Ed` ‖ key id ‖ Ed25519 key encoding (42 bytes).
    pub pk: [u8; 42],
    pub data: Vec<u8>,
    /// The `.minisig` file, as secfile writes it.
    pub sig: String,
    pub comment: String,
    /// libsodium's verdict (and so stock `minisign -V`'s).
    pub libsodium: bool,
}

impl Crafted {
    /// The public key as `minisign -P` takes it.
    pub fn pk_base64(&self) -> String {
        b64(&self.pk)
    }
}

/// A key's owner: knows `a` with A = [a]B + `torsion`; `enc` is the key as published
/// (perhaps a non-canonical encoding of A).
#[derive(Clone)]
pub struct Owner {
    pub a: Scalar,
    pub torsion: EdwardsPoint,
    pub enc: [u8; 32],
    pub keynum: [u8; 8],
}

impl Owner {
    /// An honest key: A = [a]B.
    pub fn honest() -> Owner {
        let a = random_scalar();
        Owner::with(a, identity(), (B * a).compress().0)
    }
    /// The owner of a minisign secret key (its Ed25519 seed and key id): a is the clamped
    /// SHA-512 of the seed, as Ed25519 derives it.
    pub fn from_seed(seed: &[u8; 32], keynum: [u8; 8]) -> Owner {
        use sha2::{Digest, Sha512};
        let mut a: [u8; 32] = Sha512::digest(seed)[..32].try_into().unwrap();
        a[0] &= 248;
        a[31] &= 63;
        a[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a);
        Owner {
            a,
            torsion: identity(),
            enc: (B * a).compress().0,
            keynum,
        }
    }
    /// A = [a]B + `torsion`, canonically encoded.
    pub fn mixed(torsion: EdwardsPoint) -> Owner {
        let a = random_scalar();
        Owner::with(a, torsion, (B * a + torsion).compress().0)
    }
    /// A key that is a point of small order (a = 0), with the given encoding.
    pub fn small(torsion: EdwardsPoint, enc: [u8; 32]) -> Owner {
        Owner::with(Scalar::ZERO, torsion, enc)
    }
    fn with(a: Scalar, torsion: EdwardsPoint, enc: [u8; 32]) -> Owner {
        let mut keynum = [0u8; 8];
        getrandom::fill(&mut keynum).unwrap();
        Owner {
            a,
            torsion,
            enc,
            keynum,
        }
    }
    pub fn pk(&self) -> [u8; 42] {
        let mut pk = [0u8; 42];
        pk[..2].copy_from_slice(b"Ed");
        pk[2..10].copy_from_slice(&self.keynum);
        pk[10..].copy_from_slice(&self.enc);
        pk
    }
    /// The challenge k = SHA-512(R ‖ A ‖ msg) mod ℓ, A as published.
    pub fn k(&self, r_enc: &[u8; 32], msg: &[u8]) -> Scalar {
        use sha2::{Digest, Sha512};
        let mut h = Sha512::new();
        h.update(r_enc);
        h.update(self.enc);
        h.update(msg);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }
    /// `R ‖ S` with `R` encoded as `r_enc` and S = r + k·a, as an honest signer computes it
    /// from its nonce r (whatever `R` really is).
    pub fn sign_with(&self, msg: &[u8], r: Scalar, r_enc: [u8; 32]) -> [u8; 64] {
        let s = r + self.k(&r_enc, msg) * self.a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_enc);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
    /// R = [r]B + `r_torsion` for a random r, S = r + k·a.
    pub fn sign_torsion(&self, msg: &[u8], r_torsion: EdwardsPoint) -> [u8; 64] {
        let r = random_scalar();
        self.sign_with(msg, r, (B * r + r_torsion).compress().0)
    }
    /// An honest-looking signature (R = [r]B, S = r + k·a), retried until the cofactorless
    /// equation holds (`holds`) or fails: with a torsion component T in the key, [S]B −
    /// [k]A = R − [k]T, so it holds exactly when [k]T = 0.
    pub fn sign_until(&self, msg: &[u8], holds: bool) -> [u8; 64] {
        loop {
            let r = random_scalar();
            let r_enc = (B * r).compress().0;
            if (self.torsion * self.k(&r_enc, msg) == identity()) == holds {
                return self.sign_with(msg, r, r_enc);
            }
        }
    }
    pub fn sign_honest(&self, msg: &[u8]) -> [u8; 64] {
        self.sign_torsion(msg, identity())
    }
}

/// Which of a minisign file's two Ed25519 signatures is crafted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Which {
    /// the signature over BLAKE2b-512(data)
    Data,
    /// the global signature over signature ‖ trusted comment
    Global,
}

/// A `.minisig` file of prehashed signature `sig` and global signature `global(sig ‖ tc)`.
pub fn file(
    owner: &Owner,
    data: &[u8],
    tc: &str,
    sig: impl FnOnce(&[u8]) -> [u8; 64],
    global: impl FnOnce(&[u8]) -> [u8; 64],
) -> String {
    use blake2::{Blake2b512, Digest};
    let prehash = Blake2b512::digest(data);
    let s = sig(&prehash[..]);
    let mut gm = s.to_vec();
    gm.extend_from_slice(tc.as_bytes());
    let g = global(&gm);
    let mut sb = b"ED".to_vec();
    sb.extend_from_slice(&owner.keynum);
    sb.extend_from_slice(&s);
    format!(
        "untrusted comment: signature from secfile\n{}\ntrusted comment: {tc}\n{}\n",
        b64(&sb),
        b64(&g)
    )
}

pub fn identity() -> EdwardsPoint {
    EdwardsPoint::default()
}

/// A point of order 8; its multiples are all 8 points of small order.
pub fn t8() -> EdwardsPoint {
    let y: [u8; 32] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ];
    CompressedEdwardsY(y).decompress().unwrap()
}

/// A point of small order: order 2 (`n` = 2), 4 or 8 (`j` picks one of that order), 1.
pub fn torsion(n: u8, j: u8) -> EdwardsPoint {
    let m = match n {
        1 => 0,
        2 => 4,
        4 => [2, 6][usize::from(j % 2)],
        8 => [1, 3, 5, 7][usize::from(j % 4)],
        _ => panic!("order {n}"),
    };
    t8() * Scalar::from(m as u64)
}

pub fn random_scalar() -> Scalar {
    let mut wide = [0u8; 64];
    getrandom::fill(&mut wide).unwrap();
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// y (little-endian) + p, for y < 19: a non-canonical encoding of the same y.
pub fn plus_p(y: u8) -> [u8; 32] {
    assert!(y < 19);
    let mut e = [0xffu8; 32];
    e[0] = 0xed + y;
    e[31] = 0x7f;
    e
}

/// The smallest y ≥ 2 whose point is on the curve and not of small order, its canonical
/// encoding and its non-canonical one (y + p): a key encoding ed25519-dalek's decompression
/// takes and libsodium refuses.
pub fn noncanonical_point() -> (EdwardsPoint, [u8; 32]) {
    for y in 2..19u8 {
        let mut e = [0u8; 32];
        e[0] = y;
        if let Some(p) = CompressedEdwardsY(e).decompress() {
            if !p.is_small_order() {
                return (p, plus_p(y));
            }
        }
    }
    panic!("no small y on the curve")
}

/// `S` + ℓ: the same scalar, non-canonical (still below 2²⁵³, so a check of the top three
/// bits alone would pass it).
pub fn add_l(sig: &mut [u8; 64]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (x, l) in sig[32..].iter_mut().zip(L) {
        let v = u16::from(*x) + u16::from(l) + carry;
        *x = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
}

/// Every crafted case once, with data and trusted comment tagged by `tag`. The cases whose
/// verdict is random by construction are made in both outcomes, each with its verdict.
pub fn cases(tag: &str) -> Vec<Crafted> {
    let mut out = Vec::new();
    let data = format!("block body {tag}\n").into_bytes();
    let tc = format!("secfile block crafted {tag}");
    let mut push = |name: String, owner: &Owner, sig: String, libsodium: bool| {
        out.push(Crafted {
            name,
            pk: owner.pk(),
            data: data.clone(),
            sig,
            comment: tc.clone(),
            libsodium,
        })
    };
    let honest = Owner::honest();
    let h = |m: &[u8]| honest.sign_honest(m);
    push("honest".into(), &honest, file(&honest, &data, &tc, h, h), true);
    for which in [Which::Data, Which::Global] {
        // the crafted signature in one place, an honest one in the other
        let place = |crafted: &dyn Fn(&[u8]) -> [u8; 64]| match which {
            Which::Data => file(&honest, &data, &tc, crafted, h),
            Which::Global => file(&honest, &data, &tc, h, crafted),
        };
        let w = format!("{which:?}").to_lowercase();
        // R = [r]B + T: the cofactored equation holds, the cofactorless one never
        for (n, j) in [(2, 0), (4, 0), (4, 1), (8, 0), (8, 1), (8, 2), (8, 3)] {
            let t = torsion(n, j);
            let s = place(&|m| honest.sign_torsion(m, t));
            push(
                format!("{w}: mixed-order R, torsion of order {n} ({j})"),
                &honest,
                s,
                false,
            );
        }
        // R of small order, S = k·a: [S]B − [k]A is the identity; equal to R when R is
        // the identity, which libsodium still refuses (blocklist)
        for (n, j) in [(1, 0), (2, 0), (4, 0), (4, 1), (8, 0), (8, 1), (8, 2), (8, 3)] {
            let t = torsion(n, j);
            let s = place(&|m| honest.sign_with(m, Scalar::ZERO, t.compress().0));
            push(format!("{w}: small-order R of order {n} ({j})"), &honest, s, false);
        }
        // non-canonical encodings of R (only points of small order have any that an
        // owner can sign with): the identity and the order-2 point with the sign bit set,
        // y = p + 1 (the identity), y = p (order 4)
        let mut id_neg = identity().compress().0;
        id_neg[31] |= 0x80;
        let mut t2_neg = torsion(2, 0).compress().0;
        t2_neg[31] |= 0x80;
        for (label, enc) in [
            ("identity, sign bit set", id_neg),
            ("order 2, sign bit set", t2_neg),
            ("y = p + 1", plus_p(1)),
            ("y = p", plus_p(0)),
        ] {
            let s = place(&|m| honest.sign_with(m, Scalar::ZERO, enc));
            push(format!("{w}: non-canonical R ({label})"), &honest, s, false);
        }
        // a non-canonical R of a point of large order (y + p): nobody can sign with it,
        // but its verdict must still be libsodium's
        let (_, enc) = noncanonical_point();
        let s = place(&|m| honest.sign_with(m, random_scalar(), enc));
        push(format!("{w}: non-canonical R of large order"), &honest, s, false);
        // S + ℓ: the same equation with a non-canonical scalar
        let s = place(&|m| {
            let mut sig = honest.sign_honest(m);
            add_l(&mut sig);
            sig
        });
        push(format!("{w}: non-canonical S (S + l)"), &honest, s, false);
    }
    // keys of small order (a = 0): R = [r]B, S = r, retried until [k]A = 0, so the
    // cofactorless equation holds — libsodium refuses the key
    for (n, j) in [(1, 0), (2, 0), (4, 0), (4, 1), (8, 0), (8, 1), (8, 2), (8, 3)] {
        let t = torsion(n, j);
        let o = Owner::small(t, t.compress().0);
        let s = file(&o, &data, &tc, |m| o.sign_until(m, true), |m| o.sign_until(m, true));
        push(format!("small-order key of order {n} ({j})"), &o, s, false);
    }
    // non-canonical encodings of small-order keys: the identity as y = p + 1 and with the
    // sign bit, the order-4 point as y = p
    let mut id_neg = identity().compress().0;
    id_neg[31] |= 0x80;
    for (label, t, enc) in [
        ("identity as y = p + 1", identity(), plus_p(1)),
        ("identity, sign bit set", identity(), id_neg),
        ("order 4 as y = p", torsion(4, 0), plus_p(0)),
    ] {
        let o = Owner::small(t, enc);
        let s = file(&o, &data, &tc, |m| o.sign_until(m, true), |m| o.sign_until(m, true));
        push(format!("non-canonical small-order key ({label})"), &o, s, false);
    }
    // a non-canonical encoding (y + p) of a point of large order, which ed25519-dalek
    // decompresses: nobody knows its discrete log, so the signature is made as if it
    // were an honest key's; libsodium refuses the key
    let (_, enc) = noncanonical_point();
    let o = Owner::with(random_scalar(), identity(), enc);
    let s = file(&o, &data, &tc, |m| o.sign_honest(m), |m| o.sign_honest(m));
    push("non-canonical key of large order".into(), &o, s, false);
    // keys with a torsion component: libsodium does not refuse them; an honest-looking
    // signature verifies exactly when [k]T = 0 for both signatures
    for n in [2, 4, 8] {
        let o = Owner::mixed(torsion(n, 0));
        let s = file(&o, &data, &tc, |m| o.sign_until(m, true), |m| o.sign_until(m, true));
        push(format!("mixed-order key, order {n}: equation holds"), &o, s, true);
        let s = file(&o, &data, &tc, |m| o.sign_until(m, false), |m| o.sign_until(m, true));
        push(format!("mixed-order key, order {n}: equation fails"), &o, s, false);
        let s = file(&o, &data, &tc, |m| o.sign_until(m, true), |m| o.sign_until(m, false));
        push(
            format!("mixed-order key, order {n}: global equation fails"),
            &o,
            s,
            false,
        );
    }
    out
}

/// Standard base64 with padding.
pub fn b64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
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
