//! Removal cutoff (DESIGN §5): a removed member's blocks up to the cutoff (height, hash)
//! recorded in its removal stay valid; the blocks beyond it are invalid everywhere.

/// True when the block at `height` with hash `hash` (hex) lies beyond the cutoff: above its
/// height, or at its height but another block.
pub fn past_cutoff(height: u64, hash: &str, cutoff_height: u64, cutoff_hash: &str) -> bool {
    height > cutoff_height || (height == cutoff_height && hash != cutoff_hash)
}

/// True when a removed chain stops counting for the threshold: its valid blocks up to the
/// cutoff are all held (its latest block in the cut is at or above the cutoff height).
pub fn done(latest_in_cut: u64, cutoff_height: u64) -> bool {
    latest_in_cut >= cutoff_height
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (h, hash, ch, chash, past) in [
            (1, "a", 2, "b", false),
            (2, "b", 2, "b", false),
            (2, "x", 2, "b", true),
            (3, "c", 2, "b", true),
            (0, "g", 0, "g", false),
        ] {
            assert_eq!(past_cutoff(h, hash, ch, chash), past, "{h}/{hash} vs {ch}/{chash}");
        }
        for (latest, cut, d) in [(0, 1, false), (1, 1, true), (2, 1, true)] {
            assert_eq!(done(latest, cut), d);
        }
    }
}
