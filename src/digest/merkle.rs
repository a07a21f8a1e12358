//! RFC 6962 (Certificate Transparency) Merkle tree hashing, as the `files` root of a
//! checkpoint uses it (DESIGN §5 "Checkpoints"): leaf = SHA-256(0x00 ‖ leaf bytes),
//! node = SHA-256(0x01 ‖ left ‖ right), a tree of n > 1 leaves split at the largest power
//! of two below n, the empty tree = SHA-256 of nothing. Inclusion proofs (audit paths)
//! and their verification follow RFC 6962 §2.1.1 and RFC 9162 §2.1.3.2. Pure functions.
use super::{Hash, sha256};
use sha2::{Digest, Sha256};

/// The hash of one leaf: SHA-256(0x00 ‖ bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash of leaves already hashed with [`leaf_hash`].
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (siblings from the leaf up to the root), or `None`
/// when `index` is not a leaf of the tree.
pub fn path(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    path_into(leaves, index, &mut out);
    Some(out)
}

fn path_into(leaves: &[Hash], index: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path_into(&leaves[..k], index, out);
        out.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], index - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// The root an audit path gives for `leaf` (a [`leaf_hash`]) at `index` in a tree of
/// `size` leaves (RFC 9162 §2.1.3.2), or `None` when the path has the wrong length for
/// that index and size. The caller compares it with the root it trusts.
pub fn root_from_path(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// The length of the audit path of `index` in a tree of `size` leaves.
pub fn path_len(index: u64, size: u64) -> usize {
    if index >= size || size <= 1 {
        return 0;
    }
    let k = split(size as usize) as u64;
    1 + if index < k {
        path_len(index, k)
    } else {
        path_len(index - k, size - k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::hex;

    /// The leaves of the RFC 6962 reference tests (certificate-transparency-go
    /// `merkle/testdata`, also in Google's trillian `merkle/rfc6962` tests).
    fn reference_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
    }

    #[test]
    fn rfc6962_reference_roots() {
        // roots of the first n reference leaves, n = 1..=8 (trillian rfc6962 tests)
        let want = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<Hash> = reference_leaves().iter().map(|l| leaf_hash(l)).collect();
        for (n, w) in want.iter().enumerate() {
            assert_eq!(hex(&root(&leaves[..n + 1])), *w, "root of {} leaves", n + 1);
        }
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "the empty tree is SHA-256 of nothing"
        );
    }

    #[test]
    fn leaf_and_node_prefixes() {
        assert_eq!(leaf_hash(b"x"), sha256(b"\x00x"));
        let (a, b) = ([7u8; 32], [9u8; 32]);
        let mut cat = vec![1u8];
        cat.extend_from_slice(&a);
        cat.extend_from_slice(&b);
        assert_eq!(node_hash(&a, &b), sha256(&cat));
    }

    /// Every index of every size 1..=17: the path verifies, has the length `path_len`
    /// says, and fails with any sibling flipped, the wrong index, a size of another shape,
    /// a path one hash short or long, or another leaf.
    #[test]
    fn inclusion_proofs_sizes_1_to_17_at_every_index() {
        for size in 1..=17usize {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
            let r = root(&leaves);
            for i in 0..size {
                let p = path(&leaves, i).unwrap();
                assert_eq!(p.len(), path_len(i as u64, size as u64), "size {size} index {i}");
                assert!(p.len() <= (usize::BITS - (size - 1).leading_zeros()) as usize);
                assert_eq!(
                    root_from_path(&leaves[i], i as u64, size as u64, &p),
                    Some(r),
                    "size {size} index {i}"
                );
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j][0] ^= 1;
                    assert_ne!(root_from_path(&leaves[i], i as u64, size as u64, &bad), Some(r));
                }
                for j in 0..size {
                    if j != i {
                        assert_ne!(
                            root_from_path(&leaves[i], j as u64, size as u64, &p),
                            Some(r),
                            "index {j} for {i}"
                        );
                        assert_ne!(root_from_path(&leaves[j], i as u64, size as u64, &p), Some(r));
                    }
                }
                // the size is not bound by the root (leaf 0 of 3 and of 4 share a path): it
                // only fixes the path's shape, and a shape that does not fit is refused
                for other in 1..=18u64 {
                    if path_len(i as u64, other) != p.len() {
                        assert_ne!(
                            root_from_path(&leaves[i], i as u64, other, &p),
                            Some(r),
                            "size {other} for {size}"
                        );
                    }
                }
                let mut long = p.clone();
                long.push([0u8; 32]);
                assert_eq!(root_from_path(&leaves[i], i as u64, size as u64, &long), None);
                if !p.is_empty() {
                    assert_eq!(
                        root_from_path(&leaves[i], i as u64, size as u64, &p[..p.len() - 1]),
                        None
                    );
                }
            }
            assert_eq!(path(&leaves, size), None);
            assert_eq!(root_from_path(&leaves[0], size as u64, size as u64, &[]), None);
        }
    }

    /// A tree of one million leaves: its audit paths are 19 or 20 hashes long.
    #[test]
    fn one_million_leaves_paths_are_twenty_hashes() {
        let n = 1_000_000u64;
        let max = (0..n).step_by(997).map(|i| path_len(i, n)).max().unwrap();
        assert_eq!(max, 20);
        assert!(path_len(n - 1, n) < 20, "the last leaf sits in a smaller right subtree");
    }
}
