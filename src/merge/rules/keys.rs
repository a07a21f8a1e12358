//! Keys in force (DESIGN §5 "Keys"): a node signs with the keys of its card until a
//! `rekey` block on the master's chain names new ones from a height of its chain on. The
//! key in force at a height is the latest change whose `from` is at or below it; a
//! rotation binds only when it is admissible (below), the same verdict on every node
//! because it depends on the master's chain alone.
use serde::{Deserialize, Serialize};

/// One entry of a node's key history: from chain height `from` on, the node signs with
/// `minisign` and receives with `age`. The first entry is its card's (`from` 0, `at` the
/// admission's master height); each later one is a `rekey` block at master height `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyChange {
    pub from: u64,
    pub at: u64,
    pub age: String,
    pub minisign: String,
}

/// The position in `history` (sorted by strictly increasing `from`, the first at 0) of the
/// key in force at `height`: the latest change with `from` ≤ `height`.
pub fn in_force(history: &[KeyChange], height: u64) -> usize {
    history.partition_point(|k| k.from <= height).saturating_sub(1)
}

/// Whether a `rekey` block at master height `at`, naming `from`, binds new keys to a node
/// whose key history is `history` (`None`: not admitted by a master block below `at`)
/// and which `removed` or not; `saw` is the highest height of the node's chain that the
/// master's chain has named in a `seen` entry up to this block included (what the master
/// held of it). `master_self`: the node is the master (its own rotation, on its own
/// chain). The rules:
/// - the node is in the roster and not removed (a removed node is not rotated back);
/// - `from` lies beyond every earlier change of the node (a second rekey for the same
///   `from`, or a lower one, is refused: one key per height, whatever the order of the
///   blocks that carry them);
/// - `from` lies beyond what the master's chain has seen of the node's chain (its blocks
///   there are signed already, and may be final);
/// - the master's own rotation takes effect at the next height: `from` = `at` + 1.
pub fn admissible(
    history: Option<&[KeyChange]>,
    removed: bool,
    master_self: bool,
    at: u64,
    from: u64,
    saw: u64,
) -> Result<(), String> {
    let Some(history) = history else {
        return Err("rekey for a node the master has not admitted".into());
    };
    if removed {
        return Err("rekey for a removed node".into());
    }
    if let Some(last) = history.last() {
        if from <= last.from {
            return Err(format!(
                "rekey from height {from} is not beyond the node's previous keys (from height {})",
                last.from
            ));
        }
    }
    if !master_self && from <= saw {
        return Err(format!(
            "rekey from height {from} is not beyond height {saw} of the node's chain, which the master's chain has seen"
        ));
    }
    if master_self && from != at + 1 {
        return Err(format!(
            "the master's own rekey at height {at} must take effect at height {}, not {from}",
            at + 1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(from: u64) -> KeyChange {
        KeyChange {
            from,
            at: 0,
            age: format!("age{from}"),
            minisign: format!("ms{from}"),
        }
    }

    #[test]
    fn key_in_force_is_the_latest_change_at_or_below_the_height() {
        let h = [k(0), k(5), k(9)];
        for (height, want) in [(0, 0), (1, 0), (4, 0), (5, 1), (8, 1), (9, 2), (1000, 2)] {
            assert_eq!(in_force(&h, height), want, "height {height}");
        }
        assert_eq!(in_force(&[k(0)], 7), 0);
        assert_eq!(in_force(&[], 7), 0);
    }

    #[test]
    fn admissible_table() {
        let h = [k(0), k(5)];
        let cases: [(Option<&[KeyChange]>, bool, bool, u64, u64, bool); 11] = [
            (Some(&h), false, false, 10, 6, true),
            (Some(&h), false, false, 10, 50, true),
            // not beyond what the master's chain has seen of the node (saw = 7 below)
            (Some(&h), false, false, 10, 7, false),
            (Some(&h), false, false, 10, 8, true),
            // a second rekey for the same from, or a lower one
            (Some(&h), false, false, 10, 5, false),
            (Some(&h), false, false, 10, 3, false),
            // unknown, removed
            (None, false, false, 10, 6, false),
            (Some(&h), true, false, 10, 6, false),
            // the master's own: from = at + 1
            (Some(&h), false, true, 10, 11, true),
            (Some(&h), false, true, 10, 12, false),
            (Some(&h), false, true, 3, 4, false),
        ];
        for (hist, removed, master, at, from, ok) in cases {
            assert_eq!(
                admissible(
                    hist,
                    removed,
                    master,
                    at,
                    from,
                    if from == 7 || from == 8 { 7 } else { 0 }
                )
                .is_ok(),
                ok,
                "{hist:?} removed={removed} master={master} at={at} from={from}"
            );
        }
    }
}
