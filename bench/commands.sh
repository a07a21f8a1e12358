#!/usr/bin/env bash
# Issue 11 item 4 (not a timed test): every everyday command at 1k and 100k blocks, and at
# 1M with --1m (it needs ~8 GiB of disk per copy and ~5 min to generate): seconds and peak
# RSS (medians of REPEAT runs, default 3), and each one's ratio to the same command at 1k.
#
#   bash bench/commands.sh [--1m]        (also: bash bench/chain.sh --commands [--1m])
#
# With CALLGRIND=1, each command is also run once under `valgrind --tool=callgrind` and its
# instruction count printed (exact whatever else the machine does: the 1M/1k ratio of a
# command that takes 0.00 s is better read there). `import_100` is compared with its floor:
# bench/floor_write.py creating the same 100 block and signature files durably.
# `index_build` is the master's first merge of the copied store, which builds its settled
# index from chains/ (run once: it is not an everyday command, and its cost is the history).
#
# Homes come from examples/bench_gen.rs (16 sub-chains, cached under $BENCH_DIR); each size
# is copied to a scratch dir, the master's and a member's index is brought up to date once
# and one command that changes it run (as a node in use has them), the member is given
# everything so far, and 100 new blocks are
# made for the `sync export`/`sync import` pair.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/secfile-bench}
REPEAT=${REPEAT:-3}
K=16
SIZES=(63 6250)
[[ ${1:-} == --1m ]] && SIZES+=(62500)
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 2; }
(cd "$ROOT" && cargo build -q --release --bins --examples)
S=$ROOT/target/release/secfile
GEN=$ROOT/target/release/examples/bench_gen
unset SECFILE_HOME SECFILE_PASSPHRASE_FILE
export SECFILE_TIME=2026-06-01T00:00:00Z
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
declare -A SEC RSS FLOOR
# measure SIZE NAME CMD...: median seconds and peak RSS (KiB) of REPEAT runs
measure() {
    local size=$1 name=$2
    shift 2
    local ss=() rs=() s r
    for ((i = 0; i < REPEAT; i++)); do
        /usr/bin/time -o "$W/.t" -f "%e %M" "$@" >"$W/.out" 2>&1 || { cat "$W/.out" >&2; exit 1; }
        read -r s r <"$W/.t"
        ss+=("$s") rs+=("$r")
    done
    SEC[$size.$name]=$(median "${ss[@]}")
    RSS[$size.$name]=$(median "${rs[@]}")
    printf '  %-8s %-12s %7s s %6d MiB\n' "$size" "$name" "${SEC[$size.$name]}" "$((RSS[$size.$name] / 1024))" >&2
    if [[ ${CALLGRIND:-0} == 1 ]]; then
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >"$W/.out" 2>"$W/.cg" || true
        INS[$size.$name]=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/.cg" | tail -1)
        printf '  %-8s %-12s %12s instructions\n' "$size" "$name" "${INS[$size.$name]}" >&2
    fi
}
declare -A INS
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%FT%TZ)"
NAMES=(index_build status log log_limit file_list append merge export_100 import_100)
for N in "${SIZES[@]}"; do
    TOTAL=$((K * N))
    DATA=$BENCH_DIR/k${K}n${N}
    if [[ ! -d $DATA/master ]]; then
        echo "generating $K x $N blocks into $DATA" >&2
        "$GEN" "$DATA" "$K" "$N" >&2
    fi
    W=$BENCH_DIR/commands
    rm -rf "$W" && cp -a "$DATA" "$W"
    sync
    M=$W/master
    P=$(ls -d "$W"/members/* | head -1)
    PEER=$(basename "$P")
    # the member holds everything so far and the master knows it (its frontier)
    cp -a "$M/chains/." "$P/chains/"
    # the first merge of a store without an index builds it (once: not repeated)
    REPEAT_WAS=$REPEAT REPEAT=1
    CG_WAS=${CALLGRIND:-0} CALLGRIND=0
    measure "$TOTAL" index_build "$S" --home "$M" merge
    REPEAT=$REPEAT_WAS CALLGRIND=$CG_WAS
    "$S" --home "$P" merge >/dev/null
    "$GEN" --frontier "$P" "$M"
    "$GEN" --frontier "$M" "$P"
    # a node in use has run a command that changed it since: its caches are current
    "$S" --home "$M" append --kind warm >/dev/null
    # and the member has sent something since (no block: the blocks to come are made for it)
    MASTER_ID=$("$S" --home "$M" --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    "$S" --home "$P" sync export --to "$MASTER_ID" --out "$W/warm.bundle" >/dev/null 2>&1
    measure "$TOTAL" status "$S" --home "$M" status
    measure "$TOTAL" log_limit "$S" --home "$M" log --global --limit 20
    measure "$TOTAL" file_list "$S" --home "$M" file list --all
    measure "$TOTAL" append "$S" --home "$M" append --kind bench
    measure "$TOTAL" merge "$S" --home "$M" merge
    if [[ $TOTAL -lt 200000 ]]; then
        # the whole log is the history itself: what it prints grows with it
        measure "$TOTAL" log "$S" --home "$M" log
    fi
    # 100 new blocks, exported to the member and imported there (once: a second import is
    # a no-op)
    HELD=$(find "$M/chains" -name '*.yaml' | wc -l)
    "$GEN" "$W" "$K" "$N" --extra "$(echo "scale=6; 100 * 100 / $HELD" | bc)" >/dev/null 2>&1
    "$S" --home "$M" merge >/dev/null
    measure "$TOTAL" export_100 "$S" --home "$M" sync export --to "$PEER" --out "$W/inc.bundle"
    REPEAT_WAS=$REPEAT REPEAT=1
    CG_WAS=${CALLGRIND:-0} CALLGRIND=0
    measure "$TOTAL" import_100 "$S" --home "$P" sync import "$W/inc.bundle"
    REPEAT=$REPEAT_WAS CALLGRIND=$CG_WAS
    # the floor: the same blocks' files (the newest 100 of the master's store) created durably
    mapfile -t NEWEST < <(find "$M/chains" -name '*.yaml' -printf '%T@ %p\n' | sort -n | tail -100 | cut -d' ' -f2)
    FILES=()
    for f in "${NEWEST[@]}"; do FILES+=("$f" "$f.minisig"); done
    fl=()
    for ((i = 0; i < REPEAT; i++)); do
        rm -rf "$W/floor"
        fl+=("$(python3 "$ROOT/bench/floor_write.py" "$W/floor" "${FILES[@]}")")
    done
    FLOOR[$TOTAL]=$(median "${fl[@]}")
    printf '  %-8s %-12s %7s s (floor: %d files created durably)\n' "$TOTAL" floor_import "${FLOOR[$TOTAL]}" "${#FILES[@]}" >&2
    rm -rf "$W"
done
FIRST=$((K * SIZES[0]))
printf '\n%-12s' command
for N in "${SIZES[@]}"; do printf ' %22s' "$((K * N)) blocks"; done
printf '   %s\n' "largest/first: time, RSS"
for name in "${NAMES[@]}"; do
    printf '%-12s' "$name"
    last=
    for N in "${SIZES[@]}"; do
        k=$((K * N)).$name
        if [[ -n ${SEC[$k]:-} ]]; then
            printf ' %10s s %7d MiB' "${SEC[$k]}" "$((RSS[$k] / 1024))"
            last=$k
        else
            printf ' %22s' -
        fi
    done
    f=$FIRST.$name
    if [[ -n $last && -n ${SEC[$f]:-} ]]; then
        printf '   %sx, +%d MiB' "$(echo "scale=2; ${SEC[$last]} / (${SEC[$f]} + 0.005)" | bc)" \
            "$(((RSS[$last] - RSS[$f]) / 1024))"
    fi
    printf '\n'
done
for N in "${SIZES[@]}"; do
    T=$((K * N))
    printf 'import_100 at %s blocks: %s s against a floor of %s s (%sx)\n' "$T" "${SEC[$T.import_100]}" "${FLOOR[$T]}" \
        "$(echo "scale=2; ${SEC[$T.import_100]} / ${FLOOR[$T]}" | bc)"
done
if [[ ${CALLGRIND:-0} == 1 ]]; then
    printf '\n%-12s' instructions
    for N in "${SIZES[@]}"; do printf ' %16s' "$((K * N)) blocks"; done
    printf '   largest/first\n'
    for name in "${NAMES[@]}"; do
        [[ -n ${INS[$FIRST.$name]:-} ]] || continue
        printf '%-12s' "$name"
        last=
        for N in "${SIZES[@]}"; do
            k=$((K * N)).$name
            printf ' %16s' "${INS[$k]:--}"
            [[ -n ${INS[$k]:-} ]] && last=$k
        done
        printf '   %sx\n' "$(echo "scale=2; ${INS[$last]} / ${INS[$FIRST.$name]}" | bc)"
    done
fi
