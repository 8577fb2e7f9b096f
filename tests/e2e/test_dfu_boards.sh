#!/usr/bin/env bash
# Every shipped openmv_dfu board file flashes its emulated camera: the board
# files (host config) and omvemu's fact-sheet model (device truth) must agree.
# Usage: test_dfu_boards.sh CASE   (CASE = a camera: n6 h7plus pt h7 m7 m4, or a named case)
. "$(dirname "$0")/lib.sh"

FW="$WORK/fw"
DUMP="$WORK/dump"

full_flash() {  # full_flash CAMERA: firmware.bin + romfs0.img through boards/CAMERA.ini
    local cam=$1
    mkdir -p "$FW"
    mkimage "$FW/firmware.bin" 70001
    mkimage "$FW/romfs0.img" 20000
    run 0 "$OMVEMU" --camera "$cam" --dump "$DUMP" -- "$OMVFLASHD" --board "$SRC/boards/$cam.ini" --firmware "$FW" --verify
    assert_same "$FW/firmware.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "verify FIRMWARE done"
    # No warning: the board file declares exactly what the device offers.
    if grep -q "^warning:" "$WORK/err"; then cat "$WORK/err"; fail "board/device disagree"; fi
}

case_n6() { full_flash n6; }
case_h7plus() { full_flash h7plus; }
case_pt() { full_flash pt; }
case_h7() { full_flash h7; }
case_m7() { full_flash m7; }
case_m4() { full_flash m4; }

# A firmware dir without romfs0.img is fine for the legacy bootloader (its
# flash_order is FIRMWARE only) but not when the openmv_dfu one answers.
case_h7_dfu_needs_romfs() {
    mkdir -p "$FW"
    mkimage "$FW/firmware.bin" 8192
    run 5 "$OMVEMU" --camera h7 --dump "$DUMP" -- "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW"
    assert_grep "$WORK/err" "romfs0.img (image of partition ROMFS0)"
    assert_grep "$WORK/err" "the dfu bootloader that answered"
    assert_absent "$DUMP/FIRMWARE.bin"
}

# --erase-filesystem alone, the IDE's way: 4096 zero bytes to the filesystem alt.
case_h7_erase_filesystem() {
    run 0 "$OMVEMU" --camera h7 --dump "$DUMP" -- "$OMVFLASHD" --board "$SRC/boards/h7.ini" --erase-filesystem
    [ "$(stat -c %s "$DUMP/FILESYSTEM.bin")" = 4096 ] || fail "FILESYSTEM.bin is not one block"
    [ "$(tr -d '\000' <"$DUMP/FILESYSTEM.bin" | wc -c)" = 0 ] || fail "FILESYSTEM block is not zeros"
    assert_absent "$DUMP/FIRMWARE.bin"
}

name=${1:?usage: test_dfu_boards.sh CASE}
"case_$name"
echo "PASS: $name"
