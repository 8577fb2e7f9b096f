#!/usr/bin/env bash
# --recover: every STM32 camera restored through its chip's ROM bootloader
# (omvemu's stm32-rom-* cameras, 0483:DF11), the N6 and the AE3 refused with
# the vendor tool named, the bootloader write confirmed or refused before
# any transfer, a too large bootloader refused before any transfer.
# Usage: test_recover.sh CASE
. "$(dirname "$0")/lib.sh"

FW="$WORK/fw"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"

no_dump() { [ -z "$(ls -A "$DUMP" 2>/dev/null)" ] || { ls "$DUMP"; fail "something was written"; }; }

recovery_images() {  # recovery_images [romfs]: bootloader.bin, firmware.bin (and romfs0.img)
    mkdir -p "$FW"
    mkimage "$FW/bootloader.bin" 20001
    mkimage "$FW/firmware.bin" 70001
    [ "${1:-}" != romfs ] || mkimage "$FW/romfs0.img" 9000
}

# recover BOARD ROM_CAMERA FIRMWARE_ADDR [ROMFS_ADDR [ERASED]]: the whole recovery, then the
# emulated flash holds each image at its address, and only the sectors the
# images touch were erased, once each (ERASED: their starts, when an image
# spans more than the first sector).
recover() {
    local board=$1 cam=$2 fw_addr=$3 romfs_addr=${4:-} want=${5:-}
    recovery_images ${romfs_addr:+romfs}
    run 0 "$OMVEMU" --camera "$cam" --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$board" --recover --firmware "$FW" --yes
    assert_same "$FW/bootloader.bin" "$DUMP/0x08000000.bin"
    assert_same "$FW/firmware.bin" "$DUMP/$fw_addr.bin"
    if [ -n "$romfs_addr" ]; then
        assert_same "$FW/romfs0.img" "$DUMP/$romfs_addr.bin"
        [ "$(ls "$DUMP" | wc -l)" = 3 ] || { ls "$DUMP"; fail "more than three ranges written"; }
    else
        [ "$(ls "$DUMP" | wc -l)" = 2 ] || { ls "$DUMP"; fail "more than two ranges written"; }
    fi
    # The message said what to do first; the ROM was left for the restored bootloader.
    assert_grep "$WORK/out" "put a jumper on its BOOT and RST pins"
    [ "$(stat_of "$STATS" leaves)" = 1 ] || { cat "$STATS"; fail "the ROM was not left"; }
    assert_grep "$STATS" '"jump_address":"0x08000000"'
    # Only the sectors the images touch were erased (each once): the filesystem keeps its files.
    local erased
    erased=$(sed -n 's/.*"erased":{\([^}]*\)}.*/\1/p' "$STATS")
    [ -n "$want" ] || want="0x08000000 $fw_addr $romfs_addr"
    [ "$erased" = "$(for a in $want; do printf ',"%s":1' "$a"; done | cut -c2-)" ] || fail "erased sectors: $erased"
}

case_h7() { recover h7 stm32-rom-h7 0x08040000 0x081e0000; }
case_h7plus() { recover h7plus stm32-rom-h7 0x08040000; }
case_pt() { recover pt stm32-rom-h7 0x08040000; }
case_m7() { recover m7 stm32-rom-f7 0x08020000 0x081c0000; }
# The F427's 16 KB sectors: the 20001-byte bootloader takes two, the firmware the 64 KB one and a 128 KB one.
case_m4() { recover m4 stm32-rom-f4 0x08010000 0x080e0000 "0x08000000 0x08004000 0x08010000 0x08020000 0x080e0000"; }

# A release zip as downloaded: the images come from the board's folder in it.
case_release_zip() {
    mkdir -p "$WORK/z/OPENMV4"
    mkimage "$WORK/z/OPENMV4/bootloader.bin" 20001
    mkimage "$WORK/z/OPENMV4/firmware.bin" 70001
    mkimage "$WORK/z/OPENMV4/romfs0.img" 9000
    (cd "$WORK/z" && python3 -c 'import sys, zipfile
with zipfile.ZipFile("firmware_v9.9.9.zip", "w") as z:
    for f in sys.argv[1:]: z.write("OPENMV4/" + f)' bootloader.bin firmware.bin romfs0.img)
    run 0 "$OMVEMU" --camera stm32-rom-h7 --dump "$DUMP" -- \
        "$OMVFLASHD" --board h7 --recover --firmware "$WORK/z/firmware_v9.9.9.zip" --yes
    assert_same "$WORK/z/OPENMV4/bootloader.bin" "$DUMP/0x08000000.bin"
    assert_same "$WORK/z/OPENMV4/firmware.bin" "$DUMP/0x08040000.bin"
    assert_same "$WORK/z/OPENMV4/romfs0.img" "$DUMP/0x081e0000.bin"
}

# refused BOARD MESSAGE: exit 17 with the board's reason, no device touched.
refused() {
    local board=$1 cam=$2 want=$3
    recovery_images
    run 17 "$OMVEMU" --camera "$cam" --stats "$STATS" --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$board" --recover --firmware "$FW" --yes
    [ "$(cat "$WORK/err")" = "omvflashd: error: $want" ] || { cat "$WORK/err"; fail "not the refusal"; }
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the camera was touched"
    no_dump
}

case_refuse_n6() {
    refused n6 n6 "OpenMV Cam N6, profile recover: the N6 is recovered with ST's STM32CubeProgrammer: STM32_Programmer_CLI -c port=USB1 -d OPENMV_N6/FlashLayout.tsv (see the README)"
}
case_refuse_ae3() {
    refused ae3 ae3 "OpenMV AE3, profile recover: the AE3 is recovered through its secure-enclave UART with Alif's Security Toolkit (SETOOLS, app-write-mram; see the README)"
}

# Without --yes and without a terminal the bootloader write is refused, before any transfer.
case_not_confirmed() {
    recovery_images romfs
    run 14 "$OMVEMU" --camera stm32-rom-h7 --stats "$STATS" --dump "$DUMP" -- \
        "$OMVFLASHD" --board h7 --recover --firmware "$FW" </dev/null
    assert_grep "$WORK/err" "profile recover writes BOOTLOADER ($FW/bootloader.bin, 20001 bytes) of OpenMV Cam H7"
    assert_grep "$WORK/err" "omvflashd: error: writing BOOTLOADER not confirmed (pass --yes to write it unattended)"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the camera was touched before the confirmation"
    no_dump
}

# A bootloader larger than its sector(s) is refused before anything is asked or sent.
case_bootloader_too_large() {
    recovery_images romfs
    mkimage "$FW/bootloader.bin" 131073
    run 5 "$OMVEMU" --camera stm32-rom-h7 --stats "$STATS" --dump "$DUMP" -- \
        "$OMVFLASHD" --board h7 --recover --firmware "$FW" --yes
    [ "$(cat "$WORK/err")" = "omvflashd: error: $FW/bootloader.bin is 131073 bytes but partition BOOTLOADER holds 131072" ] ||
        { cat "$WORK/err"; fail "not the size refusal"; }
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the camera was touched"
    no_dump
}

# --dry-run --recover: the profile's plan, its ids and message, nothing asked.
case_dry_run() {
    recovery_images romfs
    run 0 "$OMVFLASHD" --board h7 --recover --firmware "$FW" --dry-run </dev/null
    assert_grep "$WORK/out" "write  BOOTLOADER <- $FW/bootloader.bin"
    assert_grep "$WORK/out" "write  ROMFS0 <- $FW/romfs0.img"
    assert_grep "$WORK/out" "profile recover: waits for 0483:DF11 (dfuse)"
}

name=${1:?usage: test_recover.sh CASE}
"case_$name"
echo "PASS: $name"
