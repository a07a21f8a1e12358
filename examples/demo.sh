#!/usr/bin/env bash
# The main job: a whole air-gapped consortium on one machine.
#
# A master `hq` and three members `alice`, `bob` and `carol`, each in its own home under a
# temp dir. Nothing passes between the homes except files in `usb/`, which stands for a USB
# stick carried from machine to machine: first the cards (for `init` and `roster admit`),
# then only what `secfile xfer usb/` leaves there. Every node appends blocks over several
# rounds, each after it has seen the others' blocks, so the global chain's final prefix
# grows; then every node runs `merge` and the script checks that all four print the same
# non-zero head and write byte-identical `merge --out` files, that `verify --global-head`
# accepts that head everywhere, and that `verify` is clean. Finality is anchored at the
# master's latest block: hq records a `checkpoint` once it has seen everyone's latest
# blocks, and the stick carries it to the others.
#
#   cargo build && bash examples/demo.sh     # KEEP=1 keeps the temp dir for a look around
#
# Exits non-zero on any failure. Later steps of the project (global chain, security files)
# extend this script: add a step function and call it from main.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEMBERS=(alice bob carol)
NODES=(hq "${MEMBERS[@]}")
XFER_COUNT=0
declare -A HEAD # node -> the head `merge` printed there

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
    # the binary cargo builds, wherever CARGO_TARGET_DIR puts it (SECFILE overrides)
    if [[ -z "${SECFILE:-}" ]]; then
        local target="${CARGO_TARGET_DIR:-$ROOT/target}"
        [[ "$target" = /* ]] || target="$ROOT/$target"
        if [[ ! -x "$target/debug/secfile" ]]; then
            say "building secfile (cargo build -q)"
            (cd "$ROOT" && cargo build -q)
        fi
        SECFILE="$target/debug/secfile"
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

# One exchange of NODE with the stick: `secfile xfer usb/` imports everything left there for
# NODE, leaves a fresh incremental sync bundle for every peer under usb/<peer>/<NODE>/, and
# removes what NODE left earlier once the recipient's frontier shows it arrived.
xfer() {
    local node=$1
    XFER_COUNT=$((XFER_COUNT + 1))
    say "the stick is plugged into $node: secfile xfer usb/"
    sf "$node" xfer "$WORK/usb"
}

# A round: the stick visits every node in turn.
xfer_round() {
    local node
    for node in "${NODES[@]}"; do
        xfer "$node"
    done
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
    say "from now on only \`secfile xfer usb/\` writes to and reads from the stick"
    rm -f "$WORK"/usb/*.card
    say "the stick brings every member its admission"
    xfer_round
}

step_append_blocks() {
    local site node node_site
    say "every node records an inspection (attachments enter the chain by SHA-256 only)"
    for node_site in hq:central alice:north bob:south carol:east; do
        node=${node_site%%:*}
        site=${node_site#*:}
        printf 'inspection report for site %s\n' "$site" >"$WORK/files/$site-report.txt"
        sf "$node" append --kind inspection --field "site=$site" --field result=pass \
            --attach "$WORK/files/$site-report.txt"
    done
}

step_security_file() {
    local rid fid
    say "alice's trigger event: an audit is due. She asks the master for a security file;"
    say "the event goes on her chain, the fields and the attachment travel encrypted to hq only"
    printf 'audit scope: north site, all valves\n' >"$WORK/files/audit-scope.txt"
    sf alice request --event audit-due --field site=north --field ref=A-17 \
        --attach "$WORK/files/audit-scope.txt"
    xfer alice
    xfer hq
    rid=$(sf_out hq status | sed -n 's/^  request \([0-9a-f]*\) awaits issue.*/\1/p' | head -1)
    [[ -n "$rid" ]] || die "hq did not receive alice's request"
    say "hq issues the security file for request $rid: a manifest signed by the master plus the"
    say "content, encrypted to alice, and an issue block on hq's chain"
    sf hq issue "$rid" --expires 2027-12-31
    xfer hq
    xfer alice
    fid=$(sf_out alice file list | awk '{print $1; exit}')
    [[ "$fid" =~ ^[0-9a-f]{32}$ ]] || die "alice holds no security file"
    FILE_ID=$fid
    say "alice holds file $fid; she extracts it (checked against the manifest's SHA-256)"
    sf alice file extract "$fid" --out "$WORK/files/alice-copy.txt"
    cmp -s "$WORK/files/alice-copy.txt" "$WORK/files/audit-scope.txt" || die "extracted content differs"
    sf alice verify "$WORK/files/alice-copy.txt"
    say "alice endorses it and transfers it to bob (re-encrypted to bob)"
    sf alice op endorse "$fid" --note "scope confirmed"
    sf alice op transfer "$fid" --to bob
    xfer alice
    xfer bob
    sf bob file list
    sf bob op annotate "$fid" --note "received for the audit"
    say "alice can no longer transfer it: she is not the holder"
    if sf_out alice op transfer "$fid" --to carol >/dev/null 2>&1; then
        die "a non-holder's transfer was accepted"
    fi
}

step_rotate_keys() {
    local before after
    say "carol rotates her keys (planned, same node id): new keys and a rekey request signed by"
    say "her old and her new key go to hq; she appends nothing until hq's rekey block arrives"
    before=$(cat "$WORK/carol/keys/minisign.pub")
    sf carol rekey
    if sf_out carol append --kind note >/dev/null 2>&1; then
        die "carol appended while her rotation was pending"
    fi
    xfer carol
    say "hq binds carol's new keys from her next height: a rekey block on hq's chain"
    xfer hq
    say "the stick brings carol the rekey block: she switches keys (the old age key is kept)"
    xfer carol
    after=$(cat "$WORK/carol/keys/minisign.pub")
    [[ "$before" != "$after" ]] || die "carol's keys did not switch"
    sf carol append --kind note --field signed-with=new-key
    say "hq rotates its own keys: a rekey block signed by its old key; members follow it"
    say "through hq's chain without pinning a new card"
    sf hq rekey
    sf hq append --kind note --field signed-with=new-key
}

step_file_history() {
    local node reference
    say "the file's life from the global chain, identical on every node:"
    reference=$(sf_out hq file history "$FILE_ID")
    printf '%s\n' "$reference" | indent
    grep -q 'transfer .*\[final\]' <<<"$reference" || die "the transfer is not final on hq"
    for node in "${MEMBERS[@]}"; do
        [[ "$(sf_out "$node" file history "$FILE_ID")" == "$reference" ]] ||
            die "$node tells a different history of $FILE_ID"
    done
    sf bob file show "$FILE_ID"
}

step_exchange_rounds() {
    local round node
    for round in 1 2 3; do
        say "round $round: the stick visits every node; each one records a check-in after importing"
        for node in "${NODES[@]}"; do
            xfer "$node"
            sf "$node" append --kind checkin --field "round=$round"
            xfer "$node" # leave the new block on the stick at once
        done
    done
    say "a quiet round (no appends): the stick brings hq everyone's latest check-in"
    xfer_round
    say "hq records a checkpoint: the final chain of its own cut (count, head, threshold),"
    say "which every node recomputes when it verifies"
    sf hq checkpoint
    say "another quiet round carries it to everyone: finality is anchored at the master's"
    say "latest block, so the others need it to reach the same final chain"
    xfer_round
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
    say "the stick holds only what is not yet confirmed by its recipient:"
    (cd "$WORK" && find usb -type f | sort | indent)
}

step_merge_all() {
    local node head out zero
    zero=$(printf '0%.0s' {1..64})
    for node in "${NODES[@]}"; do
        say "$node merges every sub-chain into the global chain"
        out=$(sf_out "$node" merge --out "$WORK/files/global-$node.txt")
        printf '%s\n' "$out" | indent
        head=$(sed -n 's/^head //p' <<<"$out")
        [[ "$head" =~ ^[0-9a-f]{64}$ ]] || die "$node's merge printed no head"
        [[ "$head" != "$zero" ]] || die "$node's head is all zeros: nothing is final"
        HEAD[$node]=$head
    done
    for node in "${MEMBERS[@]}"; do
        [[ "${HEAD[$node]}" == "${HEAD[hq]}" ]] ||
            die "$node's head ${HEAD[$node]} differs from hq's ${HEAD[hq]}"
        cmp -s "$WORK/files/global-$node.txt" "$WORK/files/global-hq.txt" ||
            die "$node's merge --out differs from hq's"
    done
    say "all four nodes print the same head ${HEAD[hq]}, and their merge --out files are byte-identical:"
    indent <"$WORK/files/global-hq.txt"
    say "the checkpoint itself is not final yet: it waits for a later master block"
    sf hq merge --include-pending
}

step_verify_all() {
    local node
    for node in "${NODES[@]}"; do
        say "$node verifies its home, and that its final chain extends the head ${HEAD[hq]:0:16}…"
        sf "$node" verify || die "verify failed on $node"
        sf "$node" verify --global-head "${HEAD[hq]}" || die "verify --global-head failed on $node"
    done
}

step_prove_to_outsider() {
    local out="$WORK/outsider"
    mkdir "$out"
    say "bob proves his file's state to an outsider (a bank, customs): the manifest, its leaf"
    say "and Merkle path under the files root of hq's latest checkpoint, that signed block"
    sf bob prove "$FILE_ID" --out "$out/file.proof"
    sf hq card --out "$out/hq.card"
    say "the outsider has no home and no roster: only the master's card (fingerprint compared"
    say "out of band) and the proof"
    (cd "$out" && env -u HOME -u XDG_DATA_HOME -u SECFILE_HOME "$SECFILE" verify file.proof --master hq.card 2>&1 | indent) ||
        die "the outsider could not verify bob's proof"
    if command -v python3 >/dev/null && command -v minisign >/dev/null; then
        say "the same check without secfile: Python's standard library and stock minisign"
        python3 "$ROOT/tests/verify_proof.py" "$out/file.proof" "$out/hq.card" | indent ||
            die "tests/verify_proof.py refused bob's proof"
    fi
    say "one flipped byte in the proof, and the outsider refuses it"
    sed 's/revoked 0/revoked 1/' "$out/file.proof" >"$out/forged.proof"
    if (cd "$out" && env -u HOME -u XDG_DATA_HOME "$SECFILE" verify forged.proof --master hq.card >/dev/null 2>&1); then
        die "a forged proof passed"
    fi
}

step_mail_in_parts_and_return() {
    local dir="$WORK/mail" fid2 parts
    mkdir -p "$dir"
    say "a second file goes to carol by email, where a message has a size limit: hq writes"
    say "signed parts of at most 16 KiB (--max-size); carol imports them last first"
    head -c 40000 /dev/urandom >"$WORK/files/drawings.bin"
    sf hq issue --to carol --attach "$WORK/files/drawings.bin" --max-size 16k --out "$dir/drawings.bundle"
    parts=$(cd "$dir" && ls -r drawings.bundle.p*)
    [[ $(wc -w <<<"$parts") -gt 1 ]] || die "no parts written"
    for p in $parts; do
        sf carol import "$dir/$p"
    done
    fid2=$(sf_out carol file list | awk '{print $1; exit}')
    [[ "$fid2" =~ ^[0-9a-f]{32}$ ]] || die "carol holds no file after the last part"
    sf carol file extract "$fid2" --out "$WORK/files/carol-copy.bin"
    cmp -s "$WORK/files/carol-copy.bin" "$WORK/files/drawings.bin" || die "the parts did not rebuild the file"
    say "carol has no use for it and returns it to the master: hq holds it again, surrendered"
    say "(no operation but a revocation may follow)"
    sf carol op return "$fid2" --note "not ours"
    sf_out carol file show "$fid2" | grep -q "surrendered yes" || die "the return did not surrender the file"
    sf carol file show "$fid2"
}

step_show_logs() {
    say "the global order as alice sees it (clock, chain id)"
    sf alice log --global
}

main() {
    setup
    step_create_master
    step_create_members
    step_admit_members
    step_append_blocks
    step_security_file
    step_rotate_keys
    step_exchange_rounds
    step_check_converged
    step_merge_all
    step_verify_all
    step_file_history
    step_prove_to_outsider
    step_mail_in_parts_and_return
    step_show_logs
    say "done: a four-node consortium synced by USB stick only ($XFER_COUNT xfers); every node agrees on head ${HEAD[hq]}"
    say "security file $FILE_ID: requested by alice, issued by hq, transferred to bob, the same final history everywhere,"
    say "proven to an outsider who holds only the master's card"
    say "carol and hq rotated their keys on the way; every node verifies every block with the key in force at its height"
    say "a second file reached carol in mail-sized parts, and she returned it to the master"
}

main "$@"
