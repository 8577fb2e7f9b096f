# Shared helpers for the end-to-end tests: run a command, capture its output
# and exit code, and assert on bytes, codes and messages.
# Environment (set by CTest): OMVEMU, OMVFLASHD, SRC (repository root).

set -euo pipefail

: "${OMVEMU:?OMVEMU must point at the omvemu binary}"
: "${OMVFLASHD:?OMVFLASHD must point at the omvflashd binary}"
: "${SRC:?SRC must point at the repository root}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# run EXPECTED_CODE CMD...: run CMD, keep stdout in $WORK/out and stderr in
# $WORK/err, and fail unless it exits with EXPECTED_CODE.
run() {
    local want=$1; shift
    local got=0
    "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"
        fail "expected exit $want, got $got: $*"
    fi
}

# Random image of N bytes.
mkimage() { head -c "$2" /dev/urandom >"$1"; }

assert_same() { cmp "$1" "$2" || fail "$1 and $2 differ"; }
assert_absent() { [ ! -e "$1" ] || fail "$1 should not exist"; }
assert_grep() {  # assert_grep FILE FIXED-STRING
    grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "'$2' not found in $1"; }
}
# Value of KEY in omvemu's one-line --stats JSON.
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }

ae3_firmware() {  # ae3_firmware DIR: four small random images with the board's names
    mkdir -p "$1"
    mkimage "$1/firmware_M55_HP.bin" 40960
    mkimage "$1/firmware_M55_HE.bin" 20000
    mkimage "$1/romfs1.img" 12288
    mkimage "$1/romfs0.img" 36865
}
