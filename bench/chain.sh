#!/usr/bin/env bash
# Scale benchmark of issue 3 item 8 (not a timed test):
#   bash bench/chain.sh [K] [N]          # default 16 × 6250 = 100k blocks; 16 62500 = 1M
#   REPEAT=5 bash bench/chain.sh         # verify and its floors: median of 5 runs (default 3)
#   WHOLE=1 bash bench/chain.sh          # also time verify's whole evaluation (every block
#                                        # held at once, SECFILE_VERIFY_WHOLE=1): ~4 GiB at 1M
# Generates (once, cached under $BENCH_DIR) a master home with K sub-chains of N blocks,
# copies it to a scratch dir and measures full verify, full merge, merge after +1% blocks,
# sync export --to of ~100 new blocks and its import at the peer: seconds, blocks/s,
# peak RSS, each one's ratio to a floor measured in the same run, and the targets.
#   bash bench/chain.sh --commands [--1m] # every everyday command at 1k/100k(/1M): bench/commands.sh
#   bash bench/bringup.sh [K N [PER]]     # a new peer brought up by a split sync export --all
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} == --commands ]]; then
    shift
    exec bash "$ROOT/bench/commands.sh" "$@"
fi
K=${1:-16}
N=${2:-6250}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/secfile-bench}
DATA=$BENCH_DIR/k${K}n${N}
WORK=$BENCH_DIR/work
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 2; }
(cd "$ROOT" && cargo build -q --release --bins --examples)
S=$ROOT/target/release/secfile
GEN=$ROOT/target/release/examples/bench_gen
FLOOR=$ROOT/target/release/examples/bench_floor
unset SECFILE_HOME SECFILE_PASSPHRASE_FILE
if [[ ! -d $DATA/master ]]; then
    echo "generating $K x $N blocks into $DATA"
    "$GEN" "$DATA" "$K" "$N"
fi
rm -rf "$WORK" && cp -a "$DATA" "$WORK"
sync # the copy's writeback must not run under the measurements
M=$WORK/master
P=$(ls -d "$WORK"/members/* | head -1)
TOTAL=$((K * N))
declare -A SEC RSS
# run NAME CMD...: time one command, keep seconds and peak RSS (KiB)
run() {
    local name=$1
    shift
    /usr/bin/time -o "$WORK/.t" -f "%e %M" "$@" >"$WORK/.out" 2>&1 || { cat "$WORK/.out"; exit 1; }
    read -r SEC[$name] RSS[$name] <"$WORK/.t"
    echo "  $name: ${SEC[$name]} s, peak RSS $((RSS[$name] / 1024)) MiB" >&2
}
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%FT%TZ)"
# floors (reading the same files warm on all cores; the Ed25519 work, each signature on
# its own as the signature rule requires, on all cores) and
# verify, alternately $REPEAT times, medians reported. This VM drops cached file pages
# within seconds, so verify gets the same warm-up read right before it as floor_read does.
REPEAT=${REPEAT:-3}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
warm() { find "$M/chains" -type f -print0 | xargs -0 -P "$(nproc)" -n 1000 cat >/dev/null; }
FR=() FV=() VS=() VR=()
for ((rep = 1; rep <= REPEAT; rep++)); do
    "$FLOOR" "$M" >"$WORK/.floor"
    FR+=("$(awk '$1 == "floor_read" {print $2}' "$WORK/.floor")")
    FV+=("$(awk '$1 == "floor_verify" {print $2}' "$WORK/.floor")")
    warm
    run verify "$S" --home "$M" verify
    VS+=("${SEC[verify]}") VR+=("${RSS[verify]}")
done
FLOOR_READ=$(median "${FR[@]}")
FLOOR_VERIFY=$(median "${FV[@]}")
SEC[verify]=$(median "${VS[@]}")
RSS[verify]=$(median "${VR[@]}")
echo "  floor_read ${FR[*]}; floor_verify ${FV[*]}; verify ${VS[*]}, peak RSS ${VR[*]} KiB (medians below)" >&2
if [[ ${WHOLE:-0} == 1 ]]; then
    warm
    run verify_whole env SECFILE_VERIFY_WHOLE=1 "$S" --home "$M" verify
fi
SEC[floor_read]=$FLOOR_READ
FLOOR_BOTH=$(echo "$FLOOR_READ + $FLOOR_VERIFY" | bc)
# a cold merge: no signature cache, no settled index
rm -f "$M/state/sigcache" "$M/state/index"
run merge_full "$S" --home "$M" merge
run merge_warm "$S" --home "$M" merge
"$GEN" "$WORK" "$K" "$N" --extra 1 2>/dev/null
run merge_inc "$S" --home "$M" merge
# the peer holds everything so far and tells the master so (its frontier): by a sync
# bundle while the history fits in one (2,000,000 entries), else handed over directly
cp -a "$M/chains/." "$P/chains/"
sync
"$S" --home "$P" merge >/dev/null
if [[ $TOTAL -lt 900000 ]]; then
    "$S" --home "$P" sync export --to master --out "$WORK/peer.bundle" >/dev/null
    "$S" --home "$M" sync import "$WORK/peer.bundle" >/dev/null
else
    "$GEN" --frontier "$P" "$M"
fi
run export_full "$S" --home "$M" sync export --to "$(basename "$P")" --all --out "$WORK/full.bundle"
HELD=$(find "$M/chains" -name '*.yaml' | wc -l)
"$GEN" "$WORK" "$K" "$N" --extra "$(echo "scale=6; 100 * 100 / $HELD" | bc)" 2>/dev/null
"$S" --home "$M" merge >/dev/null
run export_inc "$S" --home "$M" sync export --to "$(basename "$P")" --out "$WORK/inc.bundle"
run import_inc "$S" --home "$P" sync import "$WORK/inc.bundle"


r() { echo "scale=3; $1 / $2" | bc; }
bps() { echo "scale=0; $2 / $1" | bc 2>/dev/null || echo -; }
printf '%-12s %8s %10s %9s  %s\n' step seconds blocks/s "RSS MiB" "ratio to floor / target"
line() { printf '%-12s %8s %10s %9s  %s\n' "$1" "${SEC[$1]}" "$(bps "${SEC[$1]}" "$2")" "$((RSS[$1] / 1024))" "$3"; }
printf '%-12s %8s %10s %9s  %s\n' floor_read "$FLOOR_READ" "$(bps "$FLOOR_READ" $TOTAL)" - "listing and reading every block and signature file, warm"
printf '%-12s %8s %10s %9s  %s\n' floor_verify "$FLOOR_VERIFY" "$(bps "$FLOOR_VERIFY" $TOTAL)" - "single verification (ed25519-dalek verify), all cores"
line verify $TOTAL "$(r "${SEC[verify]}" "$FLOOR_BOTH")x (floor_read + floor_verify) (target <= 1.5); $(r "${SEC[verify]}" "$FLOOR_VERIFY")x floor_verify alone"
[[ -n ${SEC[verify_whole]:-} ]] && line verify_whole $TOTAL "$(r "${SEC[verify_whole]}" "$FLOOR_BOTH")x floor; the whole evaluation, one run (SECFILE_VERIFY_WHOLE=1)"
line merge_full $TOTAL "$(r "${SEC[merge_full]}" "${SEC[floor_read]}")x floor_read; cold signature cache"
line merge_warm $TOTAL "$(r "${SEC[merge_warm]}" "${SEC[merge_full]}")x merge_full; nothing new"
line merge_inc $((TOTAL / 100)) "$(r "${SEC[merge_inc]}" "${SEC[merge_full]}")x merge_full after +1% (target <= 0.05)"
line export_full $TOTAL "$(r "${SEC[export_full]}" "${SEC[floor_read]}")x floor_read"
line export_inc 100 "$(r "${SEC[export_inc]}" "${SEC[export_full]}")x export_full for ~100 blocks (target <= 0.05)"
line import_inc 100 "$(r "${SEC[import_inc]}" "${SEC[export_full]}")x export_full"
echo "memory targets at 1M blocks: merge <= 256 MiB, verify (streamed) <= 512 MiB (RSS above at $TOTAL blocks)"
