#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz) with clang into build-fuzz/ and
# run each for SECONDS (default 60) on its seed corpus. Fails on any crash,
# sanitizer report, leak or timeout; the reproducer is left in
# build-fuzz/fuzz/artifacts/<harness>/ and printed.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
# Env: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (parallel harnesses, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

CC=clang cmake -S . -B "$build" -DOMV_FUZZ=ON -DOMV_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers >/dev/null

harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_board_load fuzz_firmware_lst fuzz_dfu_status fuzz_legacy_reply
                                   fuzz_dfuse_layout fuzz_dfuse_file fuzz_zip_names fuzz_release_zip)

# Seeds: the checked-in corpus, plus for the board loader the live board files
# (shipped and unit-test golden ones) so new boards are seeds too.
seeds_of() {
    echo "tests/fuzz/corpus/$1"
    if [ "$1" = fuzz_board_load ]; then
        echo boards
        echo tests/unit/boards/good
        echo tests/unit/boards/bad
    fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for h in "${harnesses[@]}"; do
    bin="$build/fuzz/$h"
    [ -x "$bin" ] || { echo "fuzz: no harness $h" >&2; exit 1; }
    work="$build/fuzz/corpus/$h"       # grows; the checked-in seeds stay untouched
    art="$build/fuzz/artifacts/$h/"
    log="$build/fuzz/$h.log"
    mkdir -p "$work" "$art"
    mapfile -t seeds < <(seeds_of "$h")
    rc=0
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$art" -print_final_stats=1 "$work" "${seeds[@]}" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        echo "fuzz: $h ok: ${secs}s, ${execs:-?} runs, ${eps:-?} exec/s, $cov"
    else
        status=1
        echo "fuzz: $h FAILED (exit $rc); log $log; reproducer(s):" >&2
        ls -1 "$art" >&2 || true
        grep -m5 -E 'ERROR: |SUMMARY: |runtime error' "$log" >&2 || tail -20 "$log" >&2
    fi
done
exit $status
