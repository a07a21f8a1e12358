//! Forks (DESIGN §5): two different validly signed blocks at one (chain, height). The
//! branch whose block at the fork height is anchored first (the lower master height) stays
//! the chain's valid sequence, the other is invalid from the fork height on. While neither
//! is anchored, or when both are first anchored by the same master block, the chain is
//! cut before the fork height. (A fork of the master's own chain cuts it for good: that
//! case never reaches this function.)
use super::anchor::NO_ANCHOR;

/// One validly signed block of a chain: its height, its anchor, and its predecessor (an
/// index into the same slice) when that is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    pub height: u64,
    pub anchor: u64,
    pub prev: Option<usize>,
}

/// Per block: true when it is cut (on a losing branch, or at or above an unresolved fork).
pub fn cut(blocks: &[Branch]) -> Vec<bool> {
    let mut dead = vec![false; blocks.len()];
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| blocks[i].height);
    let mut heights: Vec<u64> = order
        .windows(2)
        .filter(|w| blocks[w[0]].height == blocks[w[1]].height)
        .map(|w| blocks[w[0]].height)
        .collect();
    heights.dedup();
    for h in heights {
        let live: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| blocks[i].height == h && !dead[i])
            .collect();
        if live.len() < 2 {
            continue;
        }
        let first = live.iter().map(|&i| blocks[i].anchor).min().expect("two or more");
        let winners = live.iter().filter(|&&i| blocks[i].anchor == first).count();
        if first == NO_ANCHOR || winners > 1 {
            for &i in &order {
                if blocks[i].height >= h {
                    dead[i] = true;
                }
            }
            break;
        }
        for &i in &live {
            dead[i] = blocks[i].anchor != first;
        }
        // what builds on a losing block loses with it
        for &i in &order {
            if blocks[i].height > h && blocks[i].prev.is_some_and(|p| dead[p]) {
                dead[i] = true;
            }
        }
    }
    dead
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(height: u64, anchor: u64, prev: Option<usize>) -> Branch {
        Branch { height, anchor, prev }
    }

    #[test]
    fn table() {
        const N: u64 = NO_ANCHOR;
        let cases: Vec<(&str, Vec<Branch>, Vec<bool>)> = vec![
            (
                "no fork",
                vec![b(0, 0, None), b(1, 2, Some(0)), b(2, N, Some(1))],
                vec![false; 3],
            ),
            (
                "first anchored wins, its successor too",
                vec![
                    b(0, 0, None),
                    b(1, 3, Some(0)),
                    b(1, 5, Some(0)),
                    b(2, N, Some(1)),
                    b(2, N, Some(2)),
                ],
                vec![false, false, true, false, true],
            ),
            (
                "anchored beats unanchored",
                vec![b(0, 0, None), b(1, N, Some(0)), b(1, 4, Some(0))],
                vec![false, true, false],
            ),
            (
                "neither anchored: cut before the fork height",
                vec![b(0, 0, None), b(1, N, Some(0)), b(1, N, Some(0)), b(2, N, Some(1))],
                vec![false, true, true, true],
            ),
            (
                "tie: cut before the fork height",
                vec![b(0, 0, None), b(1, 2, Some(0)), b(1, 2, Some(0)), b(2, 3, Some(1))],
                vec![false, true, true, true],
            ),
            (
                "a second fork on the winning branch, unresolved",
                vec![
                    b(0, 0, None),
                    b(1, 1, Some(0)),
                    b(1, 2, Some(0)),
                    b(2, N, Some(1)),
                    b(2, N, Some(1)),
                    b(2, N, Some(2)),
                ],
                vec![false, false, true, true, true, true],
            ),
            (
                "a successor whose predecessor is not held stays",
                vec![b(0, 0, None), b(1, 1, Some(0)), b(1, 2, Some(0)), b(3, N, None)],
                vec![false, false, true, false],
            ),
        ];
        for (name, blocks, want) in cases {
            assert_eq!(cut(&blocks), want, "{name}");
        }
    }
}
