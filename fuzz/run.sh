#!/usr/bin/env bash
# Fuzz every decoder of the secfile library (targets in fuzz/fuzz_targets/), each for
# SECONDS (default 30), with libFuzzer and AddressSanitizer:
#
#   bash fuzz/run.sh            # 30 s a target, as CI runs it (.ci/run)
#   bash fuzz/run.sh 600        # longer by hand: 10 minutes a target
#   bash fuzz/run.sh 600 card   # only some targets
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Builds
# all targets once (`cargo +nightly fuzz build`: release, debug assertions, ASan), seeds
# fuzz/corpus/<target>/ from fixtures/ (fuzz/seed.sh), then runs each target's binary on
# its corpus. The corpus grows run after run; fuzz/corpus/, fuzz/artifacts/ and
# fuzz/target/ are ignored by git. Prints per target the executions (libFuzzer's
# `stat::number_of_executed_units`) and fails, naming the input that crashed, when any
# target panics, trips ASan, runs over 10 s on one input or over 2 GB of memory.
#
# Cost on the 2-core shared build machine (2026-12-01): the build from a clean fuzz/target
# took 4m49s and 6m56s (all targets in one call, one dependency build: age, clap… with ASan
# and coverage); 30 s a target then adds ~5 min, so the CI section takes ~12 min from
# clean; with fuzz/target kept between runs, a change to the library rebuilds in 2–3 min.
#
# Reproduce a crash:  cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…
# Then turn the input into a regression unit test next to the decoder's own tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH=${1:-30}
shift || true
ALL=(block codec sign bundle_header payload armor card docs frontier)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

start=$SECONDS
cargo +nightly fuzz build
echo "fuzz build: $((SECONDS - start)) s"
bash fuzz/seed.sh >/dev/null

triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$triple/release
logs=fuzz/artifacts/logs
mkdir -p "$logs"

failed=()
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=$logs/$t.log
    echo "=== $t: ${SECONDS_EACH} s"
    rc=0
    "$bin_dir/$t" "fuzz/corpus/$t" \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [[ $rc -ne 0 ]]; then
        input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
        failed+=("$t")
        summary+=("$(printf '%-14s %12s execs  %5d corpus  FAILED (exit %d): %s' "$t" "${execs:-?}" "$corpus" "$rc" "${input:-see $log}")")
        grep -m1 -A12 -E '^(==[0-9]+==ERROR|thread .* panicked)' "$log" || tail -n 30 "$log"
        echo "crashing input: ${input:-<none written, see $log>}"
    else
        summary+=("$(printf '%-14s %12s execs  %5d corpus  ok' "$t" "${execs:-?}" "$corpus")")
    fi
    echo "${summary[-1]}"
done

echo
echo "=== fuzz summary (${SECONDS_EACH} s a target, $((SECONDS - start)) s in all)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]} (inputs and logs under fuzz/artifacts/)"
    exit 1
fi
