//! Seen (DESIGN §5 "Validity"): every block a block names in `seen` must be present and
//! of a smaller clock — except an entry naming a removed member's block beyond the cutoff
//! of a removal held here: it is ignored (neither required nor compared), so that no other
//! member's block waits for blocks that never travel.
use super::removal;
use std::collections::BTreeMap;

/// The cutoffs of the removals held: removed chain -> (cutoff height, cutoff hash).
pub type Cutoffs = BTreeMap<String, (u64, String)>;

/// True when the `seen` entry (chain, height, hash) is ignored.
pub fn ignored(cutoffs: &Cutoffs, chain: &str, height: u64, hash: &str) -> bool {
    cutoffs
        .get(chain)
        .is_some_and(|(h, x)| removal::past_cutoff(height, hash, *h, x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let mut c = Cutoffs::new();
        c.insert("dave".into(), (1, "d1".into()));
        for (chain, h, hash, ign) in [
            ("dave", 1, "d1", false),
            ("dave", 2, "d2", true),
            ("dave", 1, "other", true),
            ("dave", 0, "g", false),
            ("bob", 9, "b9", false),
        ] {
            assert_eq!(ignored(&c, chain, h, hash), ign, "{chain}:{h}");
        }
    }
}
