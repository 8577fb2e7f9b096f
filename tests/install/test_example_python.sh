#!/usr/bin/env bash
# examples/flash_with_json.py against an emulated AE3 (omvemu): the script
# reports progress and success, exits with omvflashd's exit code, and the
# emulated flash holds the images. A failing run (missing image) must report
# omvflashd's exit code 5. A firmware directory whose name is not UTF-8 must
# not break the example's strict JSON decoding.
# Environment (set by CTest): OMVEMU, OMVFLASHD, SRC.
set -euo pipefail
: "${OMVEMU:?}" "${OMVFLASHD:?}" "${SRC:?}"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-pyex.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
assert_grep() { grep -qF -- "$2" "$1" || { cat "$1"; fail "'$2' not in output"; }; }

FW=$WORK/fw
mkdir -p "$FW"
head -c 40960 /dev/urandom >"$FW/firmware_M55_HP.bin"
head -c 20000 /dev/urandom >"$FW/firmware_M55_HE.bin"
head -c 12288 /dev/urandom >"$FW/romfs1.img"
head -c 36865 /dev/urandom >"$FW/romfs0.img"

# --forced throughout: the camera waits for the program (Python starts slowly
# on a loaded machine), as the install, not the 1.5 s window, is under test.
code=0
"$OMVEMU" --camera ae3 --forced --dump "$WORK/dump" -- \
    python3 "$SRC/examples/flash_with_json.py" --omvflashd "$OMVFLASHD" \
    --board "$SRC/boards/ae3.ini" --firmware "$FW" >"$WORK/out" 2>&1 || code=$?
cat "$WORK/out"
[ $code = 0 ] || fail "flash_with_json.py exited $code"
assert_grep "$WORK/out" "found OpenMV Camera (DFU Mode) (37c5:96e3)"
assert_grep "$WORK/out" "write HP: 100%"
assert_grep "$WORK/out" "write ROMFS0: 100%"
assert_grep "$WORK/out" "finished: exit code 0 (OK)"
assert_grep "$WORK/out" "omvflashd exit code: 0"
cmp "$FW/firmware_M55_HP.bin" "$WORK/dump/HP.bin" || fail "HP.bin differs"
cmp "$FW/firmware_M55_HE.bin" "$WORK/dump/HE.bin" || fail "HE.bin differs"
cmp "$FW/romfs1.img" "$WORK/dump/ROMFS1.bin" || fail "ROMFS1.bin differs"
cmp "$FW/romfs0.img" "$WORK/dump/ROMFS0.bin" || fail "ROMFS0.bin differs"

# File names are bytes, not always UTF-8: the example decodes omvflashd's
# JSON strictly as UTF-8 and must not die on such a directory name.
FW2="$WORK/fw-$(printf '\377')"
cp -r "$FW" "$FW2"
code=0
"$OMVEMU" --camera ae3 --forced --dump "$WORK/dump2" -- \
    python3 "$SRC/examples/flash_with_json.py" --omvflashd "$OMVFLASHD" \
    --board "$SRC/boards/ae3.ini" --firmware "$FW2" >"$WORK/out" 2>&1 || code=$?
cat "$WORK/out"
[ $code = 0 ] || fail "flash_with_json.py exited $code with a non-UTF-8 firmware directory name"
assert_grep "$WORK/out" "finished: exit code 0 (OK)"
cmp "$FW/romfs0.img" "$WORK/dump2/ROMFS0.bin" || fail "ROMFS0.bin differs (non-UTF-8 directory)"

# A failure is reported with omvflashd's exit code (5: image missing).
rm "$FW/romfs0.img"
code=0
"$OMVEMU" --camera ae3 --forced -- python3 "$SRC/examples/flash_with_json.py" --omvflashd "$OMVFLASHD" \
    --board "$SRC/boards/ae3.ini" --firmware "$FW" >"$WORK/out" 2>&1 || code=$?
cat "$WORK/out"
[ $code = 5 ] || fail "expected exit code 5 for a missing image, got $code"
assert_grep "$WORK/out" "error 5 (E_IMAGE)"
assert_grep "$WORK/out" "omvflashd exit code: 5"
echo "PASS"
