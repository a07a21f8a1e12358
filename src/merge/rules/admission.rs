//! Admission in the causal past (DESIGN §5 "Validity"): after its genesis, a member's
//! block has its admission (a master block) in its causal past, so membership is judged
//! the same on every node whatever order blocks arrive in.

/// True when a block whose causal past reaches master height `master_seen` may be
/// appended by a member admitted at master height `admitted_at` (`None`: never admitted).
pub fn admitted(admitted_at: Option<u64>, master_seen: u64) -> bool {
    admitted_at.is_some_and(|a| a <= master_seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (at, seen, ok) in [
            (Some(3), 3, true),
            (Some(3), 5, true),
            (Some(3), 2, false),
            (None, 9, false),
        ] {
            assert_eq!(admitted(at, seen), ok, "{at:?} {seen}");
        }
    }
}
