#!/usr/bin/env bash
# omv_identify() through the omv_entry plugin against omvemu's cameras
# running their application: who they are, without resetting them.
# Usage: test_identify.sh CASE   (IDENTIFY = the identify_camera binary)
. "$(dirname "$0")/lib.sh"
: "${IDENTIFY:?IDENTIFY must point at identify_camera}"

# Debug protocol v1: FW_VERSION and ARCH_STR. Asked twice in one emulator
# session: the camera stays in its application (identify never resets).
case_v1() {
    run 0 "$OMVEMU" --camera h7 --app-mode v1 --stats "$WORK/stats.json" -- \
        sh -c '"$1" "$2" >"$3/one" && "$1" "$2" >"$3/two"' sh "$IDENTIFY" "$SRC/boards/h7.ini" "$WORK"
    assert_grep "$WORK/one" "protocol=1"
    assert_grep "$WORK/one" "arch=OMV4 H7 1024"
    grep -qE '^firmware=[0-9]+\.[0-9]+\.[0-9]+$' "$WORK/one" || fail "no firmware version: $(cat "$WORK/one")"
    grep -qE '^unique_id=[0-9A-F]{24}$' "$WORK/one" || fail "no chip id from ARCH_STR: $(cat "$WORK/one")"
    cmp "$WORK/one" "$WORK/two" || fail "the second answer differs: the camera was reset?"
}

# No camera in application mode (it sits in its bootloader): not found, nothing reset.
case_absent() {
    run 6 "$OMVEMU" --camera h7 --window-ms 5000 -- "$IDENTIFY" "$SRC/boards/h7.ini"
    assert_grep "$WORK/err" "no camera of OpenMV Cam H7 in application mode appeared within 3000 ms"
}

"case_$1"
