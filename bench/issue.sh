#!/usr/bin/env bash
# Issue and extract one large file with secfile, and do the same work with the stock tools
# (age + minisign + sha256sum) on the same file; print seconds, peak RSS and ratios.
#
#   bash bench/issue.sh [SIZE_MIB]     (default 1024)
#
# Not a timed test: run it on purpose, on an idle machine, and read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
for t in age minisign /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "needs $t (apt-get install -y age minisign time)" >&2; exit 3; }
done
cargo build --release -q
S=$PWD/target/release/secfile
W=$(mktemp -d "${TMPDIR:-/tmp}/secfile-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
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

echo "making a ${SIZE_MIB} MiB file of random bytes..."
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$W/big"
sync

# measure KEY LABEL CMD...: seconds and peak RSS (KiB) of one run, after a warm read of the input
measure() {
    local key=$1 name=$2
    shift 2
    cat "$W/big" >/dev/null
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    read -r secs rss <"$W/time"
    printf '%-34s %8.2f s %10.1f MiB/s %8d MiB peak RSS\n' "$name" "$secs" \
        "$(echo "$SIZE_MIB / ($secs + 0.0001)" | bc -l)" "$((rss / 1024))"
    eval "${key}_s=$secs; ${key}_rss=$rss"
}

# stock tools doing the same work: hash, sign, encrypt to the holder; verify, decrypt
minisign -G -W -p "$W/m.pub" -s "$W/m.key" >/dev/null 2>&1
R=$(grep -o 'age1[0-9a-z]*' "$W/alice/keys/age.key" | head -1)
measure stock_issue "stock issue (sha256+minisign+age)" sh -c "sha256sum '$W/big' >/dev/null && minisign -S -s '$W/m.key' -m '$W/big' >/dev/null && age -r '$R' -o '$W/big.age' '$W/big'"
minisign -S -s "$W/m.key" -m "$W/big.age" -x "$W/big.age.minisig" >/dev/null
measure stock_receive "stock receive (minisign -V, age -d)" sh -c "minisign -Vm '$W/big.age' -x '$W/big.age.minisig' -p '$W/m.pub' >/dev/null && age -d -i '$W/alice/keys/age.key' -o '$W/big.out' '$W/big.age'"
measure stock_copy "stock checked copy (sha256sum, cp)" sh -c "sha256sum '$W/big.out' >/dev/null && cp '$W/big.out' '$W/big.copy'"
rm -f "$W/big.out" "$W/big.copy" "$W/big.age"

measure sf_issue "secfile issue" "$S" -q --home "$W/hq" issue --to alice --attach "$W/big" --out "$W/f.bundle"
ID=$("$S" --home "$W/hq" --json file list --all | grep -o '"id": "[0-9a-f]*"' | head -1 | cut -d'"' -f4)
measure sf_receive "secfile import (receive)" "$S" -q --home "$W/alice" import "$W/f.bundle"
measure sf_copy "secfile file extract" "$S" -q --home "$W/alice" file extract "$ID" --out "$W/out"
cmp "$W/big" "$W/out"

ratio() { echo "$1 / $2" | bc -l; }
echo
printf 'issue            secfile/stock: %.2f   (hash + sign + encrypt; target <= 1.0 now, 0.6 goal)\n' "$(ratio "$sf_issue_s" "$stock_issue_s")"
printf 'receive          secfile/stock: %.2f   (verify + decrypt to a file)\n' "$(ratio "$sf_receive_s" "$stock_receive_s")"
printf 'extract          secfile/stock: %.2f   (checked copy out of the home)\n' "$(ratio "$sf_copy_s" "$stock_copy_s")"
printf 'receive+extract  secfile/stock: %.2f\n' "$(ratio "$(echo "$sf_receive_s + $sf_copy_s" | bc -l)" "$(echo "$stock_receive_s + $stock_copy_s" | bc -l)")"
printf 'peak RSS: issue %d MiB, import %d MiB, extract %d MiB (target <= 64 MiB)\n' "$((sf_issue_rss / 1024))" "$((sf_receive_rss / 1024))" "$((sf_copy_rss / 1024))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
