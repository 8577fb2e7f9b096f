#!/usr/bin/env bash
# The test suite: unit, emulated-device and end-to-end tests, once in a normal
# build and once under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")

bash scripts/build.sh build-asan -DOMV_SANITIZE=ON
# The emulator preloads libumockdev before libasan; ASan must accept that.
export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")
