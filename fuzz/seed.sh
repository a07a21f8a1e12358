#!/usr/bin/env bash
# Build each fuzz target's seed corpus from the committed test data:
#
#   bash fuzz/seed.sh            # into fuzz/corpus/<target>/ (ignored by git)
#
# Sources: blocks, signatures, frontiers and cards of fixtures/homes/ and fixtures/tampered/,
# the bundles of fixtures/bundles/ (whole, and their header cut out of the framing), sync
# payloads in the real archive format assembled from fixture blocks, and the hand-written
# seeds of fuzz/seeds/<target>/ (documents no fixture holds, armor inside a mail). Seeds are
# named by their SHA-256, so running it again adds nothing; what libFuzzer finds later lands
# in the same directories.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
FIX=fixtures
OUT=fuzz/corpus

# add FILE... to target $1's corpus
add() {
    local t=$1
    shift
    mkdir -p "$OUT/$t"
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        cp "$f" "$OUT/$t/$(sha256sum <"$f" | cut -c1-40)"
    done
}

# add stdin to target $1's corpus
add_stdin() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    add "$1" "$tmp"
    rm -f "$tmp"
}

# the header of a bundle or the block of a card: the document after the prologue line
doc_part() {
    local line doc_len
    line=$(head -n1 "$1" | tr -d '\0')
    doc_len=$(awk '{print $3}' <<<"$line")
    [[ $doc_len =~ ^[0-9]+$ ]] || return 0
    # head closing the pipe early is not an error
    tail -c +$((${#line} + 2)) "$1" | head -c "$doc_len" || true
}

# a payload archive (bundle/payload.rs) of the given entries: NAME=FILE...
payload() {
    local n=0 spec
    printf 'secfile-payload 1\n'
    for spec in "$@"; do
        printf '%s %d\n' "${spec%%=*}" "$(stat -c %s "${spec#*=}")"
        cat "${spec#*=}"
        printf '\n'
        n=$((n + 1))
    done
    printf 'end %d\n' "$n"
}

mapfile -t blocks < <(find "$FIX/homes" "$FIX/tampered" -path '*/chains/*' -name '*.yaml' | sort)
mapfile -t sigs < <(find "$FIX/homes" "$FIX/tampered" -name '*.minisig' | sort)
mapfile -t peers < <(find "$FIX/homes" "$FIX/tampered" -path '*/peers/*' -name '*.yaml' | sort)
mapfile -t cards < <(find "$FIX" -name '*.card' | sort)
mapfile -t bundles < <(find "$FIX/bundles" -name '*.bundle' | sort)
mapfile -t armored < <(find "$FIX/bundles" -name '*.asc' | sort)

add block "${blocks[@]}"
add codec "${blocks[@]}" "${peers[@]}" "$FIX"/homes/*/node.yaml fuzz/seeds/docs/*
add sign "${sigs[@]}"
add card "${cards[@]}"
add frontier "${peers[@]}"
add bundle_header "${bundles[@]}" "${cards[@]}"
for b in "${bundles[@]}"; do
    doc_part "$b" | add_stdin bundle_header
    doc_part "$b" | add_stdin codec
done
# a card is a chain's genesis block and its signature, framed (identity/card.rs)
for g in "$FIX"/homes/hq/chains/*/0000000000.yaml; do
    { printf 'secfile-card 1 %d %d\n' "$(stat -c %s "$g")" "$(stat -c %s "$g.minisig")"; cat "$g" "$g.minisig"; } |
        add_stdin card
done
for c in "${cards[@]}"; do
    doc_part "$c" | add_stdin block
done
add armor "${armored[@]}"
add docs fuzz/seeds/docs/*

# sync payloads: each chain of hq's home as it would travel, blocks and signatures
for chain in "$FIX"/homes/hq/chains/*/; do
    specs=("frontier.yaml=${peers[0]}")
    for y in "$chain"*.yaml; do
        h=$(basename "$y" .yaml)
        hash=$(sha256sum <"$y" | cut -c1-64)
        name="blocks/$(basename "$chain")/$h-$hash.yaml"
        specs+=("$name=$y" "$name.minisig=$y.minisig")
    done
    payload "${specs[@]}" | add_stdin payload
done
payload | add_stdin payload
payload "request.yaml=fuzz/seeds/docs/request.yaml" "request.yaml.minisig=${sigs[0]}" | add_stdin payload
payload "manifest.yaml=fuzz/seeds/docs/manifest.yaml" "content=$FIX/README.md" | add_stdin payload

# the committed hand-written seeds
for d in fuzz/seeds/*/; do
    add "$(basename "$d")" "$d"*
done

for d in "$OUT"/*/; do
    printf '%-14s %4d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
