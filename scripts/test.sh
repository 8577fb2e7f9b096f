#!/usr/bin/env bash
# The test suite: unit, emulated-device and end-to-end tests, once in a normal
# build and once under AddressSanitizer + UndefinedBehaviorSanitizer.
# Developer and CI builds treat compiler warnings as errors (OMV_WERROR).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# No retries: a test that fails once is a race in the product or the
# emulator to find. scripts/soak.sh N runs the suite N times in a row.

# Size limits of the product source (600 lines a file, 80 a function).
bash scripts/check-size.sh --self-test
bash scripts/check-size.sh

bash scripts/build.sh build -DOMV_WERROR=ON
(cd build && ctest --output-on-failure -j"$jobs")

bash scripts/build.sh build-asan -DOMV_SANITIZE=ON -DOMV_WERROR=ON
# The emulator preloads libumockdev before libasan; ASan must accept that.
export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")

# Robustness: omvflashd under valgrind memcheck over a subset of the
# e2e cases and fault-matrix rows, then a short libFuzzer smoke run (20 s per
# harness) when clang is installed. Long runs: scripts/fuzz.sh 300.
bash scripts/valgrind.sh build
if command -v clang >/dev/null; then
    bash scripts/fuzz.sh 20
else
    echo "fuzz: clang not installed, skipping the fuzz smoke run"
fi
