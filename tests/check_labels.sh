#!/usr/bin/env bash
# Every CTest test carries one of the suite's labels (unit, e2e, faults, fuzz,
# install, emu), so `ctest -L` with them selects every test: CI, the ASan run
# and scripts/soak.sh select by label. CMake 3.25 cannot read another
# directory's test properties at configure time, so the check runs here, on
# what ctest itself reports.
# Usage: check_labels.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check_labels.sh BUILD_DIR}
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
json=$(ctest --test-dir "$build" --show-only=json-v1)
total=$(jq '.tests | length' <<<"$json")
missing=$(jq -r '.tests[]
    | select(([.properties[]? | select(.name == "LABELS") | .value[]]
              | any(. == "unit" or . == "e2e" or . == "faults" or . == "fuzz" or . == "install" or . == "emu"))
             | not)
    | .name' <<<"$json")
if [ -n "$missing" ]; then
    echo "tests without one of the labels unit, e2e, faults, fuzz, install, emu:" >&2
    echo "$missing" | sed 's/^/  /' >&2
    exit 1
fi
echo "all $total tests carry a suite label"
