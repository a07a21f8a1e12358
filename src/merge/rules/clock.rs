//! Clock (DESIGN §5): a block's clock is strictly greater than its predecessor's and than
//! that of every block it has seen; a new block takes 1 + the largest of them.

/// True when `clock` may follow a block of clock `before` (its predecessor or a seen block).
pub fn follows(clock: u64, before: u64) -> bool {
    clock > before
}

/// The clock of a new block over its predecessor's clock and those of its seen blocks.
pub fn next(pred: u64, seen: impl IntoIterator<Item = u64>) -> u64 {
    seen.into_iter().fold(pred, u64::max) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (clock, before, ok) in [(1, 0, true), (5, 4, true), (4, 4, false), (3, 4, false), (0, 0, false)] {
            assert_eq!(follows(clock, before), ok, "{clock} after {before}");
        }
        for (pred, seen, want) in [(0, vec![], 1), (3, vec![1, 2], 4), (3, vec![7, 2], 8), (9, vec![9], 10)] {
            assert_eq!(next(pred, seen.clone()), want, "{pred} {seen:?}");
        }
    }
}
