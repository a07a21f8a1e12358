#!/usr/bin/env bash
# The main job: a whole air-gapped consortium on one machine.
#
# A master `hq` and two members `alice` and `bob`, each in its own home under a temp dir.
# Nothing passes between the homes except files in `usb/`, which stands for a USB stick
# carried from machine to machine. Every node appends a block, the nodes sync until every
# node holds every chain, then every node verifies its home and prints its log.
#
#   cargo build && bash examples/demo.sh     # KEEP=1 keeps the temp dir for a look around
#
# Exits non-zero on any failure. Later steps of the project (global chain, security files)
# extend this script: add a step function and call it from main.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEMBERS=(alice bob)
NODES=(hq "${MEMBERS[@]}")
SYNC_ROUND=0
declare -A LAST_BUNDLE # "from>to" -> the last bundle carried that way

say() { printf '==> %s\n' "$*"; }
indent() { sed 's/^/    /'; }
die() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}

# Run secfile as NODE: `sf alice log`. Output indented under the narrative.
sf() {
    local node=$1
    shift
    "$SECFILE" --home "$WORK/$node" "$@" 2>&1 | indent
}

# Same, with stdout returned as is (for checks), stderr left alone.
sf_out() {
    local node=$1
    shift
    "$SECFILE" --home "$WORK/$node" "$@"
}

setup() {
    if [[ -x "$ROOT/target/debug/secfile" ]]; then
        SECFILE="$ROOT/target/debug/secfile"
    else
        say "building secfile (cargo build -q)"
        (cd "$ROOT" && cargo build -q)
        SECFILE="$ROOT/target/debug/secfile"
    fi
    # The demo names every home with --home; a passphrase file from the caller's
    # environment would protect the demo keys with a slow KDF for nothing.
    unset SECFILE_HOME SECFILE_PASSPHRASE_FILE
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/secfile-demo.XXXXXX")
    trap cleanup EXIT
    mkdir "$WORK/usb" "$WORK/files"
    say "working in $WORK (homes: ${NODES[*]}; the USB stick: usb/)"
}

cleanup() {
    local rc=$?
    if [[ "${KEEP:-0}" == 1 ]]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# Carry a sync bundle FROM -> TO on the stick: export what TO lacks, import it at TO.
carry() {
    local from=$1 to=$2
    SYNC_ROUND=$((SYNC_ROUND + 1))
    local bundle
    bundle=$(printf 'usb/%02d-%s-to-%s.bundle' "$SYNC_ROUND" "$from" "$to")
    say "$from exports a sync bundle for $to; the stick carries it; $to imports it"
    sf "$from" sync export --to "$to" --out "$WORK/$bundle"
    sf "$to" sync import "$WORK/$bundle"
    LAST_BUNDLE["$from>$to"]=$bundle
}

step_create_master() {
    say "master hq: init, then its card goes on the stick"
    sf hq init --name hq --role master
    sf hq card --out "$WORK/usb/hq.card"
}

step_create_members() {
    local master_fp out m
    master_fp=$(sf_out hq status | sed -n 's/^fingerprint //p')
    [[ -n "$master_fp" ]] || die "hq status printed no fingerprint"
    for m in "${MEMBERS[@]}"; do
        say "member $m: init, pinning the master's card from the stick"
        if ! out=$(sf_out "$m" init --name "$m" --role member --master "$WORK/usb/hq.card" 2>&1); then
            printf '%s\n' "$out" | indent
            die "init of $m failed"
        fi
        printf '%s\n' "$out" | indent
        # In real life: read the fingerprint to hq's operator over the phone.
        grep -qF "$master_fp" <<<"$out" || die "$m pinned a master whose fingerprint is not hq's"
        say "$m checked hq's fingerprint out of band: it matches"
        sf "$m" card --out "$WORK/usb/$m.card"
    done
}

step_admit_members() {
    local m
    for m in "${MEMBERS[@]}"; do
        say "master admits $m (an admit block on hq's chain)"
        sf hq roster admit "$WORK/usb/$m.card"
    done
    sf hq roster list
    for m in "${MEMBERS[@]}"; do
        carry hq "$m"
    done
}

step_append_blocks() {
    local site
    say "every node records an inspection (attachments enter the chain by SHA-256 only)"
    for node_site in hq:central alice:north bob:south; do
        local node=${node_site%%:*}
        site=${node_site#*:}
        printf 'inspection report for site %s\n' "$site" >"$WORK/files/$site-report.txt"
        sf "$node" append --kind inspection --field "site=$site" --field result=pass \
            --attach "$WORK/files/$site-report.txt"
    done
}

step_sync_everyone() {
    local m
    say "members bring their blocks to the master"
    for m in "${MEMBERS[@]}"; do
        carry "$m" hq
    done
    say "the master relays everything to every member"
    for m in "${MEMBERS[@]}"; do
        carry hq "$m"
    done
    say "carrying the same bundle twice changes nothing"
    sf alice sync import "$WORK/${LAST_BUNDLE["hq>alice"]}"
}

step_check_converged() {
    local reference node
    say "every node holds every chain (identical logs)"
    reference=$(sf_out hq log)
    for node in "${MEMBERS[@]}"; do
        [[ "$(sf_out "$node" log)" == "$reference" ]] || die "$node's chains differ from hq's"
    done
    local chains
    chains=$(grep -c ':0 clock 0 ' <<<"$reference")
    [[ "$chains" -eq "${#NODES[@]}" ]] || die "expected ${#NODES[@]} chains, found $chains"
}

step_verify_all() {
    local node
    for node in "${NODES[@]}"; do
        say "$node verifies its home"
        sf "$node" verify
    done
}

step_show_logs() {
    local node
    for node in "${NODES[@]}"; do
        say "log of $node"
        sf "$node" log
    done
}

main() {
    setup
    step_create_master
    step_create_members
    step_admit_members
    step_append_blocks
    step_sync_everyone
    step_check_converged
    step_verify_all
    step_show_logs
    say "done: a verifying three-node consortium, synced by USB stick only"
}

main "$@"
