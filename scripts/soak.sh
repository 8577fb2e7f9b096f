#!/usr/bin/env bash
# Soak test: build, then run the whole CTest suite N times in a row under
# `ctest -j2` (two tests at once, as on the 2-core CI machine) with no retry,
# and report how many runs passed and which tests failed how often. A test
# that fails in any run is a race to find, not noise to retry.
#
# Usage: scripts/soak.sh N [BUILD_DIR [CTEST_ARGS...]]
#   N          number of runs (e.g. 20)
#   BUILD_DIR  default build (configured and built by scripts/build.sh);
#              for ASan: scripts/build.sh build-asan -DOMV_SANITIZE=ON first,
#              then scripts/soak.sh N build-asan
#   CTEST_ARGS passed on, e.g. -L faults
# Logs of failed runs: BUILD_DIR/soak/run-K.log. Exit 0 only if every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: scripts/soak.sh N [BUILD_DIR [CTEST_ARGS...]]}
dir=${2:-build}
shift $(($# < 2 ? $# : 2))
case $n in '' | *[!0-9]* | 0) echo "soak: N must be a positive number" >&2; exit 2 ;; esac

if [ "$dir" = build ]; then
    bash scripts/build.sh build >/dev/null
else
    [ -f "$dir/CTestTestfile.cmake" ] || { echo "soak: $dir is not a configured build dir" >&2; exit 2; }
    cmake --build "$dir" -j"$(nproc)" >/dev/null
fi
if [ -f "$dir/CMakeCache.txt" ] && grep -q '^OMV_SANITIZE:BOOL=ON' "$dir/CMakeCache.txt"; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

logs="$dir/soak"
rm -rf "$logs"
mkdir -p "$logs"
passed=0
declare -A fails=()
start=$(date +%s)
for k in $(seq 1 "$n"); do
    t0=$(date +%s)
    rc=0
    (cd "$dir" && ctest -j2 --output-on-failure "$@") >"$logs/run-$k.log" 2>&1 || rc=$?
    summary=$(grep -E '^[0-9]+% tests passed' "$logs/run-$k.log" || echo "no summary (ctest exit $rc)")
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        rm -f "$logs/run-$k.log"
        echo "run $k/$n: PASS ($summary, $(($(date +%s) - t0)) s)"
    else
        failed=$(sed -n '/^The following tests FAILED:/,$ s/^[[:space:]]*[0-9]* - \([^ ]*\) (.*/\1/p' \
            "$logs/run-$k.log" | tr '\n' ' ')
        for t in $failed; do fails[$t]=$((${fails[$t]:-0} + 1)); done
        echo "run $k/$n: FAIL ($summary, $(($(date +%s) - t0)) s): ${failed:-see $logs/run-$k.log}"
    fi
done
echo "soak: $passed/$n runs passed in $(($(date +%s) - start)) s ($dir, ctest -j2${*:+ $*})"
for t in "${!fails[@]}"; do echo "  $t failed in ${fails[$t]} run(s)"; done
[ "$passed" = "$n" ]
