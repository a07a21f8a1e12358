//! Anchors (DESIGN §5 "Causal past and anchors"): a block is anchored at master height m
//! when it is in the causal past of the master's block m and of none below it. The causal
//! past of a block is the block, its predecessors and the causal past of every block it
//! names in `seen`.

/// The anchor of a block no master block held here has in its causal past.
pub const NO_ANCHOR: u64 = u64::MAX;

/// Fill `anchor` (indexed by block) from the master's valid blocks `masters`, as
/// (index, height) in height order. `refs(i, m, out)` pushes into `out` the blocks that
/// block `i` names and that are held (its predecessor and its seen blocks), as the causal
/// past of master block `m` follows them. Anchors already set (settled blocks) stop the
/// walk: what they reach is anchored no later. Each block is visited once.
pub fn anchors(anchor: &mut [u64], masters: &[(usize, u64)], mut refs: impl FnMut(usize, u64, &mut Vec<usize>)) {
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for &(mi, m) in masters {
        if anchor[mi] != NO_ANCHOR {
            continue;
        }
        stack.push(mi);
        while let Some(j) = stack.pop() {
            if anchor[j] != NO_ANCHOR {
                continue;
            }
            anchor[j] = m;
            out.clear();
            refs(j, m, &mut out);
            stack.extend(out.iter().copied().filter(|&k| anchor[k] == NO_ANCHOR));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// blocks: 0 master genesis, 1 master:1 (names 3), 2 master:2 (names 5), 3 a:1,
    /// 4 a:2 (seen by 5), 5 b:1, 6 a:3 (seen by nobody)
    fn refs(i: usize) -> Vec<usize> {
        match i {
            1 => vec![0, 3],
            2 => vec![1, 5],
            4 => vec![3],
            5 => vec![4],
            6 => vec![4],
            _ => vec![],
        }
    }

    #[test]
    fn table() {
        let mut a = vec![NO_ANCHOR; 7];
        a[0] = 0;
        anchors(&mut a, &[(1, 1), (2, 2)], |i, _, out| out.extend(refs(i)));
        assert_eq!(a, vec![0, 1, 2, 1, 2, 2, NO_ANCHOR]);
        // only the first master block held: the rest is not anchored
        let mut a = vec![NO_ANCHOR; 7];
        a[0] = 0;
        anchors(&mut a, &[(1, 1)], |i, _, out| out.extend(refs(i)));
        assert_eq!(a, vec![0, 1, NO_ANCHOR, 1, NO_ANCHOR, NO_ANCHOR, NO_ANCHOR]);
        // a settled anchor stops the walk
        let mut a = vec![NO_ANCHOR; 7];
        a[0] = 0;
        a[1] = 1;
        a[4] = 1; // (as if settled under 1)
        anchors(&mut a, &[(2, 2)], |i, _, out| out.extend(refs(i)));
        assert_eq!(a[3], NO_ANCHOR, "behind a settled block: not walked again");
        assert_eq!((a[2], a[5]), (2, 2));
    }
}
