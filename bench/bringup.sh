#!/usr/bin/env bash
# A new peer brought up by a split `sync export --all` (issue 11, item 3); not a timed test.
#
#   bash bench/bringup.sh [K N [PER [ORDER [PARTS]]]]
#     K x N blocks (default 16 x 625 = 10k; 16 62500 = 1M, generated once under $BENCH_DIR
#     as bench/chain.sh does), PER blocks a bundle (default: secfile's --max-blocks default),
#     ORDER fwd (default) or rev, PARTS: import only the first PARTS bundles
#   NOCOPY=1 WORKDIR=DIR bash bench/bringup.sh ...   # use DIR (a copy made before) as is
#
# A new member is initialised and admitted by the generated master, which exports every
# block to it; the member imports the bundles one command each. Prints the export's and
# each import's seconds (wall, user, sys) and peak RSS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K=${1:-16} N=${2:-625} PER=${3:-} ORDER=${4:-fwd} MAXP=${5:-1000000}
(cd "$ROOT" && cargo build -q --release --bins --examples)
S=$ROOT/target/release/secfile
GEN=$ROOT/target/release/examples/bench_gen
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/secfile-bench}
D=$BENCH_DIR/k${K}n${N}
[[ -d $D/master ]] || "$GEN" "$D" "$K" "$N" >/dev/null
W=${WORKDIR:-$BENCH_DIR/bringup}
if [[ -z ${NOCOPY:-} ]]; then
    rm -rf "$W"
    cp -a "$D" "$W"
    sync
fi
rm -rf "$W/new" "$W"/full.bundle*
NAME=peer$$
q() { "$S" -q --no-progress "$@" >/dev/null; }
q --home "$W/master" card --out "$W/m.card"
q --home "$W/new" init --name "$NAME" --role member --master "$W/m.card"
q --home "$W/new" card --out "$W/new.card"
q --home "$W/master" roster admit "$W/new.card"
q --home "$W/master" merge
sync
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%FT%TZ), $((K * N)) blocks"
/usr/bin/time -f 'export: %e s (%U user, %S sys), peak RSS %M KiB' \
    "$S" -q --home "$W/master" sync export --to "$NAME" --all ${PER:+--max-blocks "$PER"} --out "$W/full.bundle" >/dev/null
echo "bundles: $(ls "$W"/full.bundle* | wc -l), $(cat "$W"/full.bundle* | wc -c) bytes"
files=$(ls "$W"/full.bundle*)
[[ $ORDER == rev ]] && files=$(ls -r "$W"/full.bundle*)
n=0
for f in $files; do
    n=$((n + 1))
    [[ $n -gt $MAXP ]] && break
    sync
    /usr/bin/time -f "import $(basename "$f"): %e s (%U user, %S sys), peak RSS %M KiB" \
        "$S" -q --home "$W/new" sync import "$f" >/dev/null
done
/usr/bin/time -f 'merge after: %e s, peak RSS %M KiB' "$S" -q --home "$W/new" merge >/dev/null
