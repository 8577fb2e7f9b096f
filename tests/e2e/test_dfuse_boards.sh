#!/usr/bin/env bash
# The Arduino boards (plugins/dfuse, the Arduino bootloader's DfuSe dialect)
# against omvemu's emulated bootloader: what lands in flash (--dump, by
# address), which sectors were erased (--stats "erased"), the exact errors.
# omvemu models the Arduino bootloader, not the firmware it starts: no camera
# comes back in application mode, so every run skips confirming the boot
# (--no-confirm).
# Usage: test_dfuse_boards.sh CASE CAMERA   (CAMERA: portenta, nicla, giga)
. "$(dirname "$0")/lib.sh"

FW="$WORK/fw"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"
mkdir -p "$FW"

cam=${2:?usage: test_dfuse_boards.sh CASE CAMERA}
case $cam in
portenta) BOARD="$SRC/boards/portenta_h7.ini" ;;
nicla) BOARD="$SRC/boards/nicla_vision.ini" ;;
giga) BOARD="$SRC/boards/giga.ini" ;;
*) fail "unknown camera $cam" ;;
esac

# An image whose first word is a stack pointer into RAM, so the bootloader
# starts it after the leave (as OpenMV's firmware.bin does).
app_image() { { printf '\x00\x00\x08\x24'; head -c $(($2 - 4)) /dev/urandom; } >"$1"; }
ff() { head -c "$1" /dev/zero | tr '\0' '\377'; }
# The "erased" object of --stats: sector start -> count.
erased_is() {
    local got
    got=$(grep -o '"erased":{[^}]*}' "$STATS")
    [ "$got" = "\"erased\":{$1}" ] || fail "erased sectors: want {$1}, got ${got#\"erased\":}"
}
stat_is() { [ "$(stat_of "$STATS" "$1")" = "$2" ] || fail "stats: want $1=$2, got $(cat "$STATS")"; }
emu() { run "$1" "$OMVEMU" --camera "$cam" --dump "$DUMP" --stats "$STATS" "${@:2}"; }

# Full flash + --verify: FIRMWARE equal to its image, ROMFS0 equal and padded
# with 0xFF to the bootloader's 4 KB QSPI page; only the touched sectors
# erased; one leave request, after the last image.
case_full() {
    app_image "$FW/firmware.bin" 300000
    mkimage "$FW/romfs0.img" 10000
    emu 0 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --firmware "$FW" --verify
    assert_same "$FW/firmware.bin" "$DUMP/0x08040000.bin"
    { cat "$FW/romfs0.img"; ff $((12288 - 10000)); } >"$WORK/romfs_padded"
    assert_same "$WORK/romfs_padded" "$DUMP/0x90b00000.bin"
    [ "$(ls "$DUMP")" = "$(printf '0x08040000.bin\n0x90b00000.bin')" ] || fail "dump holds more: $(ls "$DUMP")"
    erased_is '"0x08040000":1,"0x08060000":1,"0x08080000":1,"0x90b00000":1,"0x90b01000":1,"0x90b02000":1'
    assert_grep "$WORK/out" "verify FIRMWARE done"
    assert_grep "$WORK/out" "verify ROMFS0 done"
    stat_is dnload_zero 1; stat_is lost_writes 0; stat_is unerased_writes 0
    if grep -q "^warning:" "$WORK/err"; then cat "$WORK/err"; fail "board/device disagree"; fi
}

# One partition: the filesystem sector next to it keeps its data.
case_one_partition() {
    app_image "$FW/fw.bin" 131072
    mkimage "$WORK/fs.bin" 131072
    emu 0 --load 0x08020000="$WORK/fs.bin" --dump-range 0x08020000:0x20000 -- \
        "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin"
    assert_same "$FW/fw.bin" "$DUMP/0x08040000.bin"
    assert_same "$WORK/fs.bin" "$DUMP/range-0x08020000-0x08040000.bin"
    erased_is '"0x08040000":1'
}

# --read by address: the whole partition, preset bytes then erased flash.
case_read() {
    app_image "$FW/fw.bin" 70000
    emu 0 --load 0x08040000="$FW/fw.bin" -- "$OMVFLASHD" --board "$BOARD" --no-confirm --read FIRMWARE="$WORK/back.bin"
    { cat "$FW/fw.bin"; ff $((1792 * 1024 - 70000)); } >"$WORK/want.bin"
    assert_same "$WORK/want.bin" "$WORK/back.bin"
    stat_is blocks_written 0; stat_is erase_cmds 0
    stat_is dnload_zero 1   # and the run ends with the leave request
}

# A block the flash did not take (written, acknowledged, never programmed):
# only --verify tells, with the exact exit code.
case_verify_mismatch() {
    app_image "$FW/fw.bin" 20000
    emu 12 --fault errWRITE@write:0x08040000 -- \
        "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin" --verify
    assert_grep "$WORK/err" "FIRMWARE"
    stat_is lost_writes 1
}

case_too_large() {
    head -c $((1792 * 1024 + 1)) /dev/zero >"$FW/fw.bin"
    emu 5 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin"
    assert_grep "$WORK/err" "FIRMWARE"
    stat_is dnload 0
}

case_bootloader_refused() {
    mkimage "$FW/bl.bin" 4096
    emu 13 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image BOOTLOADER="$FW/bl.bin"
    stat_is dnload 0
}

# The board vanishes mid-write: exit 10 naming the address.
case_unplug() {
    app_image "$FW/fw.bin" 300000
    emu 10 --fault unplug@write:0x08060000 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin" --retries 0
    assert_grep "$WORK/err" "write FIRMWARE ($FW/fw.bin): 0x08060000: device disconnected"
}

# A failing erase: the Arduino bootloader never reports an error status, it
# stays in dfuDNBUSY; the plugin gives up after 100 polls without a wait.
case_erase_fails() {
    app_image "$FW/fw.bin" 300000
    emu 9 --fault errERASE@erase:0x08060000 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin" --retries 0
    assert_grep "$WORK/err" "write FIRMWARE ($FW/fw.bin): erase 0x08060000: device stuck in dfuDNBUSY"
    erased_is '"0x08040000":1'
}

# --erase-filesystem: the filesystem's first sector, nothing else.
case_erase_filesystem() {
    emu 0 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --erase-filesystem
    erased_is "$1"
    stat_is blocks_written 0
}

# Debian's dfu-util and omvflashd leave the same bytes; dfu-util reads back
# what omvflashd wrote.
case_dfu_util() {
    command -v dfu-util >/dev/null || { echo "SKIP: dfu-util not installed"; exit 77; }
    app_image "$FW/fw.bin" 150000
    emu 0 -- dfu-util -a 0 -s 0x08040000:leave -D "$FW/fw.bin"
    mv "$DUMP" "$WORK/dump.dfu-util"
    emu 0 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin"
    diff -r "$WORK/dump.dfu-util" "$DUMP" || fail "dfu-util and omvflashd dumps differ"
    rm -rf "$DUMP"
    emu 0 -- sh -c "\"$OMVFLASHD\" --board \"$BOARD\" --image FIRMWARE=\"$FW/fw.bin\" --no-reset &&
        dfu-util -a 0 -s 0x08040000:150000 -U \"$WORK/up.bin\""
    assert_same "$FW/fw.bin" "$WORK/up.bin"
}

# --skip-unchanged through DfuSe: the camera holds the old firmware; one byte
# changed in the second 128 KB sector: only that sector is erased and
# written, the rest is compared (UPLOAD) and left alone.
case_skip_unchanged() {
    app_image "$WORK/old.bin" 300000
    cp "$WORK/old.bin" "$FW/fw.bin"
    printf '\x5a' | dd of="$FW/fw.bin" bs=1 seek=200000 conv=notrunc status=none
    cmp -s "$WORK/old.bin" "$FW/fw.bin" && printf '\xa5' | dd of="$FW/fw.bin" bs=1 seek=200000 conv=notrunc status=none
    emu 0 --load 0x08040000="$WORK/old.bin" --dump-range 0x08040000:300000 -- \
        "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.bin" --skip-unchanged
    assert_same "$FW/fw.bin" "$DUMP/range-0x08040000-0x080893e0.bin"
    erased_is '"0x08060000":1'
    stat_is unerased_writes 0
    assert_grep "$WORK/out" "compared FIRMWARE with $FW/fw.bin: 4.0 KiB of 293.0 KiB differ"
}

# .dfu input: a file built with mkdfuse.py (prefix, targets, elements) and
# Debian's dfu-suffix (suffix and CRC: dfu-util's own code).
MKDFUSE="$SRC/tests/tools/mkdfuse.py"
mkdfu() {  # mkdfu OUT VID PID ALT:ADDR:FILE...
    local out=$1 vid=$2 pid=$3; shift 3
    command -v dfu-suffix >/dev/null || { echo "SKIP: dfu-suffix not installed"; exit 77; }
    python3 "$MKDFUSE" "$out" --name 0=firmware "$@"
    dfu-suffix -v "$vid" -p "$pid" -d 0xffff -S 0x011a -a "$out" >/dev/null
}

# Elements at their own addresses (internal flash and QSPI), one file; the
# Arduino id OpenMV's build stamped into every board's .dfu (2341:035B) is
# accepted on all three boards.
case_dfu_file() {
    app_image "$FW/fw.bin" 150000
    mkimage "$FW/romfs.img" 8192
    mkdfu "$FW/fw.dfu" 2341 035b 0:0x08040000:"$FW/fw.bin" 1:0x90B00000:"$FW/romfs.img"
    emu 0 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.dfu" --verify
    assert_same "$FW/fw.bin" "$DUMP/0x08040000.bin"
    assert_same "$FW/romfs.img" "$DUMP/0x90b00000.bin"
    erased_is '"0x08040000":1,"0x08060000":1,"0x90b00000":1,"0x90b01000":1'
    assert_grep "$WORK/out" "verify ROMFS0 done"
    stat_is dnload_zero 1
}

# A .dfu whose suffix names another device: refused before anything is written.
case_dfu_wrong_device() {
    app_image "$FW/fw.bin" 5000
    mkdfu "$FW/fw.dfu" 0483 df11 0:0x08040000:"$FW/fw.bin"
    emu 8 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/fw.dfu"
    assert_grep "$WORK/err" "fw.dfu is made for USB device 0483:DF11, but the camera is 2341:"
    assert_grep "$WORK/err" "nothing was written"
    stat_is blocks_written 0; stat_is erase_cmds 0
}

# An element outside every partition of the board (RAM), and a damaged file:
# refused before any device is opened.
case_dfu_refused() {
    app_image "$FW/fw.bin" 5000
    mkdfu "$FW/ram.dfu" 2341 035b 0:0x24000000:"$FW/fw.bin"
    emu 5 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/ram.dfu"
    assert_grep "$WORK/err" "DfuSe element 1 (alt 0): 0x24000000..0x24001388 lies outside every partition of the board"
    mkdfu "$FW/bad.dfu" 2341 035b 0:0x08040000:"$FW/fw.bin"
    # Flip every bit of byte 400 (writing a fixed value left the file intact
    # whenever the image already had that value there).
    b=$(od -An -tu1 -j 400 -N 1 "$FW/bad.dfu" | tr -d ' ')
    printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$FW/bad.dfu" bs=1 seek=400 conv=notrunc 2>/dev/null
    emu 5 -- "$OMVFLASHD" --board "$BOARD" --no-confirm --image FIRMWARE="$FW/bad.dfu"
    assert_grep "$WORK/err" "DFU suffix CRC is 0x"
    stat_is dnload 0
}

name=${1:?usage: test_dfuse_boards.sh CASE CAMERA}
case $name in
erase_filesystem)
    case $cam in
    nicla) case_erase_filesystem '"0x90000000":1' ;;
    *) case_erase_filesystem '"0x08020000":1' ;;
    esac ;;
*) "case_$name" ;;
esac
echo "PASS: $name $cam"
