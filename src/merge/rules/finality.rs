//! Finality (DESIGN §5): the final chain is a function of one master block M. T is the
//! minimum, over every chain active in the roster as of M, of the clock of that chain's
//! latest block in M's causal past (the cut) — an admitted member counts at least its
//! admission block's clock; a removed member stops counting once its blocks up to the
//! cutoff are in the cut. The final chain is every valid block of the cut with clock ≤ T.
use super::removal;
use crate::merge::validate::Member;
use std::collections::BTreeMap;

/// The clock that counts for T, per chain that counts at master height `m`. `latest(id)`
/// gives (height, clock) of the chain's latest valid block in the cut of `m` (`None`:
/// not even its genesis).
pub fn bounds(
    members: &BTreeMap<String, Member>,
    m: u64,
    latest: impl Fn(&str) -> Option<(u64, u64)>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (id, mem) in members {
        if mem.admitted_at > m {
            continue; // not yet in the roster as of m
        }
        let l = latest(id);
        if let (Some((cut_h, _, at)), Some((h, _))) = (&mem.removed, l) {
            if *at <= m && removal::done(h, *cut_h) {
                continue;
            }
        }
        out.insert(id.clone(), l.map_or(0, |(_, c)| c).max(mem.admit_clock));
    }
    out
}

/// T: the smallest bound (`None` when no chain counts).
pub fn threshold(bounds: &BTreeMap<String, u64>) -> Option<u64> {
    bounds.values().min().copied()
}

/// True when a valid block of the cut with this clock is final under `threshold`.
pub fn is_final(clock: u64, threshold: Option<u64>) -> bool {
    threshold.is_some_and(|t| clock <= t)
}

/// The height of a chain's latest valid block in the cut of master height `m`, given the
/// anchors of its valid blocks by height (never decreasing along a chain: a block's
/// predecessor is in the causal past of everything that has the block in its own).
pub fn latest_in_cut(anchors: &[u64], m: u64) -> Option<u64> {
    anchors.partition_point(|&a| a <= m).checked_sub(1).map(|h| h as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn member(admitted_at: u64, admit_clock: u64, removed: Option<(u64, u64)>) -> Member {
        let identity = Identity {
            name: "x".into(),
            role: crate::home::Role::Member,
            id: "x".into(),
            age: String::new(),
            minisign: String::new(),
        };
        let mut m = Member::new(identity, admitted_at, admit_clock, String::new());
        m.removed = removed.map(|(h, at)| (h, String::new(), at));
        m
    }

    #[test]
    fn table() {
        let mut ms = BTreeMap::new();
        ms.insert("hq".to_string(), member(0, 0, None));
        ms.insert("alice".to_string(), member(1, 1, None));
        ms.insert("bob".to_string(), member(2, 2, None));
        ms.insert("dave".to_string(), member(3, 3, Some((2, 6))));
        ms.insert("late".to_string(), member(9, 20, None));
        // (master height, latest (height, clock) per chain, wanted bounds)
        let latest = |hq: (u64, u64), alice: Option<(u64, u64)>, bob: Option<(u64, u64)>, dave: (u64, u64)| {
            move |id: &str| match id {
                "hq" => Some(hq),
                "alice" => alice,
                "bob" => bob,
                "dave" => Some(dave),
                _ => Some((0, 0)),
            }
        };
        // at 5: dave's removal (at 6) is not in the roster yet; late is not admitted
        let b = bounds(&ms, 5, latest((5, 10), Some((2, 7)), None, (2, 8)));
        assert_eq!(
            b,
            [("alice", 7), ("bob", 2), ("dave", 8), ("hq", 10)]
                .map(|(k, v)| (k.to_string(), v))
                .into()
        );
        assert_eq!(threshold(&b), Some(2));
        // at 6: dave removed with his blocks up to the cutoff in the cut: he stops counting
        let b = bounds(&ms, 6, latest((6, 12), Some((2, 7)), Some((1, 9)), (2, 8)));
        assert!(!b.contains_key("dave"));
        assert_eq!(threshold(&b), Some(7));
        // removed, but the cutoff block is not in the cut yet: still counts
        let b = bounds(&ms, 6, latest((6, 12), Some((2, 7)), Some((1, 9)), (1, 4)));
        assert_eq!(b["dave"], 4);
        assert!(is_final(7, Some(7)) && !is_final(8, Some(7)) && !is_final(0, None));
        for (anchors, m, want) in [
            (vec![0, 1, 1, 3, NO], 0, Some(0)),
            (vec![0, 1, 1, 3, NO], 2, Some(2)),
            (vec![0, 1, 1, 3, NO], 9, Some(3)),
            (vec![2], 1, None),
        ] {
            assert_eq!(latest_in_cut(&anchors, m), want, "{anchors:?} at {m}");
        }
    }
    const NO: u64 = super::super::NO_ANCHOR;
}
