#!/bin/bash
# Runs test_dfuse_file with a golden .dfu made outside omvflash's code: the
# DfuSe part by tests/tools/mkdfuse.py from random data, the suffix and its
# CRC by Debian's dfu-suffix (dfu-util). dfu-prefix cannot help: it only
# writes TI Stellaris and NXP LPC prefixes, not ST's DfuSe one.
#   usage: run_test_dfuse_file.sh TEST_BINARY MKDFUSE_PY
set -euo pipefail
TEST=${1:?usage: run_test_dfuse_file.sh TEST_BINARY MKDFUSE_PY}
MK=${2:?usage: run_test_dfuse_file.sh TEST_BINARY MKDFUSE_PY}
W=$(mktemp -d "${TMPDIR:-/tmp}/dfuse-golden.XXXXXX")
trap 'rm -rf "$W"' EXIT
if command -v dfu-suffix >/dev/null && command -v python3 >/dev/null; then
    head -c 70001 /dev/urandom >"$W/a.bin"
    head -c 4096 /dev/urandom >"$W/b.bin"
    head -c 333 /dev/urandom >"$W/c.bin"
    spec="0:0x08040000:$W/a.bin 0:0x08100000:$W/b.bin 1:0x90B00000:$W/c.bin"
    # shellcheck disable=SC2086
    python3 "$MK" "$W/fw.dfu" --name "0=OpenMV firmware" $spec
    dfu-suffix -v 2341 -p 035b -d 0x0200 -S 0x011a -a "$W/fw.dfu" >/dev/null
    # Captured first: `| grep -q` would end the pipe early and, under
    # pipefail, dfu-suffix's SIGPIPE would fail the script.
    check=$(dfu-suffix -c "$W/fw.dfu")
    grep -q "contains a DFU suffix" <<<"$check" || { echo "dfu-suffix -c: $check" >&2; exit 1; }
    export DFUSE_GOLDEN="$W/fw.dfu" DFUSE_GOLDEN_SPEC="$spec"
else
    echo "note: dfu-suffix or python3 missing: the dfu-suffix golden case is skipped" >&2
fi
"$TEST"
