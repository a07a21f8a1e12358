#!/usr/bin/env bash
# verify of two builds on one copy of a bench home, alternated (for a change that makes
# verify slower or faster on purpose, e.g. the signature rule of 2026-12-01):
#   bash bench/compare.sh OLD_RELEASE_DIR [HOME] [REPEAT]
# OLD_RELEASE_DIR holds the other build's `secfile` and `bench_floor` (e.g. built from
# `git archive <commit>` with its own CARGO_TARGET_DIR); HOME defaults to the 100k home that
# bench/chain.sh generates. Prints each round: both floors, both verifies (seconds, peak KiB).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=${1:?usage: bench/compare.sh OLD_RELEASE_DIR [HOME] [REPEAT]}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/secfile-bench}
SRC=${2:-$BENCH_DIR/k16n6250}
REPEAT=${3:-3}
NEW=$ROOT/target/release
W=$BENCH_DIR/compare
rm -rf "$W" && cp -a "$SRC" "$W" && sync
M=$W/master
warm() { find "$M/chains" -type f -print0 | xargs -0 -P "$(nproc)" -n 1000 cat >/dev/null; }
t() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
for ((rep = 1; rep <= REPEAT; rep++)); do
    echo "round $rep $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    echo "  old floor: $("$OLD"/bench_floor "$M" | tr '\n' ' ')"
    echo "  new floor: $("$NEW"/examples/bench_floor "$M" | tr '\n' ' ')"
    warm
    echo "  old verify: $(t "$OLD"/secfile --home "$M" verify)"
    warm
    echo "  new verify: $(t "$NEW"/secfile --home "$M" verify)"
done
