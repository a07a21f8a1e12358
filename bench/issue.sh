#!/usr/bin/env bash
# Issue, receive and extract one large file with secfile, and do the same work with the
# fastest stock tools on this machine (Go age, C minisign, and the fastest SHA-256 CLI found
# here) on the same file; print the median seconds, peak RSS and ratios over ROUNDS rounds.
#
#   bash bench/issue.sh [SIZE_MIB]          (default 1024)
#   ROUNDS=9 bash bench/issue.sh 1024       (default 5 rounds)
#   BUSY=1 bash bench/issue.sh 1024         (one core kept busy by `yes >/dev/null`)
#   SECFILE=path/to/secfile bash bench/...  (measure that binary; no build)
#
# Fairness, so that the ratios mean something:
# - Hashing: every SHA-256 CLI present (`sha256sum`, `openssl dgst -sha256`, `rhash
#   --sha256`, `shasum -a 256`) is timed on the file and the fastest is used; the output
#   names it. coreutils `sha256sum` has no SHA-NI on many builds (3x slower than openssl).
# - Durability, the same on both sides: issue and receive fsync what they write (secfile:
#   every file of its transaction and their directories; stock: `sync FILE`, fsync(2) of
#   that file, coreutils >= 8.24). `file extract --out` renames without fsync, as `age -o`
#   and `cp` do, so the stock extract does not sync either. `sync` runs before every
#   measured step, so nothing written by the previous step is flushed inside the next.
# - Order: the stock tools and secfile alternate step by step (stock, secfile, stock,
#   secfile…), the order flips every round, and the medians of ROUNDS are reported.
# - Work: issue = hash the content, sign, encrypt it to the holder (stock: hash,
#   `minisign -S` of the content, `age -r`); receive = check the sender's signature and
#   decrypt to a file (stock: `minisign -V` of the ciphertext, `age -d`); extract = a copy
#   out checked against the signed SHA-256 (stock: hash, `cp`). secfile does more in each
#   (it keeps the bundle in its outbox as well as writing --out, signs blocks, stages a
#   transaction); that is part of what is measured.
#
# Not a timed test: run it on purpose and read the ratios. Targets (issue 11): <= 0.6 on a
# quiet machine, <= 1.0 with the other core busy; peak RSS <= 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
ROUNDS=${ROUNDS:-5}
BUSY=${BUSY:-0}
for t in age minisign /usr/bin/time bc; do
    command -v "$t" >/dev/null || { echo "needs $t (apt-get install -y age minisign time bc)" >&2; exit 3; }
done
if [ -n "${SECFILE:-}" ]; then
    S=$(realpath "$SECFILE")
else
    cargo build --release -q
    S=$PWD/target/release/secfile
fi
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/secfile-bench.XXXXXX")
BUSY_PID=
cleanup() {
    [ -n "$BUSY_PID" ] && kill "$BUSY_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
export SECFILE_TIME=2026-11-23T12:00:00Z
q() { "$S" -q --no-progress "$@" >/dev/null; }

# a master and one member, admitted and synced
q --home "$W/hq" init --name hq --role master
q --home "$W/hq" card --out "$W/hq.card"
q --home "$W/alice" init --name alice --role member --master "$W/hq.card"
q --home "$W/alice" card --out "$W/alice.card"
q --home "$W/hq" roster admit "$W/alice.card"
q --home "$W/hq" sync export --to alice --out "$W/s.bundle"
q --home "$W/alice" sync import "$W/s.bundle"

echo "making a ${SIZE_MIB} MiB file of random bytes in $W..."
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$W/big"
sync

# the fastest SHA-256 CLI here, timed on the (warm) file
cat "$W/big" >/dev/null
HASH=
best=
for h in "sha256sum" "openssl dgst -sha256" "rhash --sha256" "shasum -a 256"; do
    command -v "${h%% *}" >/dev/null || continue
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e" -o "$W/time" $h "$W/big" >/dev/null 2>&1 || continue
    s=$(cat "$W/time")
    printf 'hasher %-22s %6.2f s\n' "$h" "$s"
    if [ -z "$best" ] || [ "$(echo "$s < $best" | bc -l)" = 1 ]; then best=$s HASH=$h; fi
done
echo "stock hasher: $HASH (fastest of those present)"

minisign -G -W -p "$W/m.pub" -s "$W/m.key" >/dev/null 2>&1
R=$(grep -o 'age1[0-9a-z]*' "$W/alice/keys/age.key" | head -1)

if [ "$BUSY" = 1 ]; then
    yes >/dev/null &
    BUSY_PID=$!
    echo "other core busy: yes >/dev/null (pid $BUSY_PID)"
fi

# run KEY CMD...: one timed run (seconds and peak RSS in KiB appended to KEY's lists),
# after a sync and a warm read of the input
run() {
    local key=$1
    shift
    sync
    cat "$W/big" >/dev/null
    /usr/bin/time -f "%e %M %O %U %S" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    read -r secs rss blocks usr sys <"$W/time"
    cpu=$(echo "$usr + $sys" | bc -l)
    eval "${key}_s+=\" $secs\"; ${key}_rss+=\" $rss\"; ${key}_cpu+=\" $cpu\"; ${key}_w=$((blocks / 2048))"
    printf '  %-14s %7.2f s %7.2f s CPU %6d MiB peak RSS %6d MiB written\n' "$key" "$secs" "$cpu" "$((rss / 1024))" "$((blocks / 2048))"
}

stock_issue() {
    run stock_issue sh -c "$HASH '$W/big' >/dev/null && minisign -S -s '$W/m.key' -m '$W/big' -x '$W/big.minisig' >/dev/null \
        && age -r '$R' -o '$W/big.age' '$W/big' && sync '$W/big.age' '$W/big.minisig'"
}
stock_receive() {
    minisign -S -s "$W/m.key" -m "$W/big.age" -x "$W/big.age.minisig" >/dev/null
    run stock_receive sh -c "minisign -Vm '$W/big.age' -x '$W/big.age.minisig' -p '$W/m.pub' >/dev/null \
        && age -d -i '$W/alice/keys/age.key' -o '$W/big.out' '$W/big.age' && sync '$W/big.out'"
}
stock_extract() {
    run stock_extract sh -c "$HASH '$W/big.out' >/dev/null && cp '$W/big.out' '$W/big.copy'"
    rm -f "$W/big.out" "$W/big.copy" "$W/big.age" "$W/big.minisig" "$W/big.age.minisig"
}
sf_issue() {
    rm -f "$W/f.bundle"
    run sf_issue "$S" -q --no-progress --home "$W/hq" issue --to alice --attach "$W/big" --out "$W/f.bundle"
}
sf_receive() { run sf_receive "$S" -q --no-progress --home "$W/alice" import "$W/f.bundle"; }
sf_extract() {
    rm -f "$W/out"
    # the one file whose content is held (each round removes the one it extracted)
    ID=$(basename "$(dirname "$(ls "$W"/alice/files/*/content)")")
    run sf_extract "$S" -q --no-progress --home "$W/alice" file extract "$ID" --out "$W/out"
    cmp "$W/big" "$W/out"
    # what this round left in the homes (the outbox copy, the stored content) is not read
    # again: removed so that the disk holds one round's files
    rm -f "$W/out" "$W/f.bundle" "$W"/hq/outbox/*/*.bundle "$W/alice/files/$ID/content"
}

for r in $(seq 1 "$ROUNDS"); do
    echo "round $r/$ROUNDS"
    if [ $((r % 2)) = 1 ]; then
        stock_issue; sf_issue; stock_receive; sf_receive; stock_extract; sf_extract
    else
        sf_issue; stock_issue; sf_receive; stock_receive; sf_extract; stock_extract
    fi
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
med() { eval "echo \"\$$1\"" | median; }
ratio() { echo "$1 / $2" | bc -l; }
echo
echo "medians of $ROUNDS rounds, ${SIZE_MIB} MiB, $( [ "$BUSY" = 1 ] && echo "other core busy" || echo "no added load" ):"
printf '%-9s %-46s %8s %8s %6s  %-17s %-26s %s\n' step stock stock secfile ratio "CPU s stock / sf" "peak RSS stock / secfile" "MiB written stock / secfile"
row() {
    local step=$1 what=$2 st sf
    st=$(med "stock_${step}_s")
    sf=$(med "sf_${step}_s")
    printf '%-9s %-46s %7.2fs %7.2fs %6.2f  %-17s %-26s %s\n' "$step" "$what" "$st" "$sf" "$(ratio "$sf" "$st")" \
        "$(printf '%.2f / %.2f' "$(med "stock_${step}_cpu")" "$(med "sf_${step}_cpu")")" \
        "$(($(med "stock_${step}_rss") / 1024)) / $(($(med "sf_${step}_rss") / 1024)) MiB" \
        "$(eval "echo \$stock_${step}_w") / $(eval "echo \$sf_${step}_w")"
}
row issue "$HASH, minisign -S, age -r, sync"
row receive "minisign -V, age -d, sync"
row extract "$HASH, cp (no fsync, as secfile)"
echo "per round (s): stock issue$stock_issue_s | secfile issue$sf_issue_s"
echo "               stock receive$stock_receive_s | secfile import$sf_receive_s"
echo "               stock extract$stock_extract_s | secfile extract$sf_extract_s"
echo "targets: ratio <= 0.6 quiet, <= 1.0 with the other core busy; secfile peak RSS <= 64 MiB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%H:%MZ)"
case $HASH in
openssl*) hv=$(openssl version) ;;
*) hv=$(${HASH%% *} --version 2>&1 | head -1) ;;
esac
echo "tools: age $(age --version 2>&1 | head -1), $(minisign -v 2>&1 | head -1), $hv"
