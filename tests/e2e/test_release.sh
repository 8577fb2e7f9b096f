#!/usr/bin/env bash
# --firmware ZIP: OpenMV release zips as downloaded, built here from random
# images (stable layout: one folder per target; development: the files at the
# top), flashed into emulated cameras; images checked for the board's arch
# string before any transfer; SHA-256 in the plan; hostile archives refused.
# Usage: test_release.sh CASE
. "$(dirname "$0")/lib.sh"

DUMP="$WORK/dump"
STATS="$WORK/stats.json"

# arch_image FILE SIZE ARCH: random bytes with ARCH as a NUL-terminated
# literal inside, where the firmware's .rodata would hold OMV_BOARD_ARCH.
arch_image() {
    local f=$1 size=$2 arch=$3
    head -c 1000 /dev/urandom >"$f"
    printf '\0%s\0' "$arch" >>"$f"
    head -c $((size - 1002 - ${#arch})) /dev/urandom >>"$f"
}

# mkzip OUT NAME=FILE...: a zip with those entries (deflated), names as given.
mkzip() {
    python3 - "$@" <<'EOF'
import sys, zipfile, warnings
warnings.simplefilter("ignore")  # duplicate names are wanted by some cases
out, specs = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for s in specs:
        name, path = s.split("=", 1)
        info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))  # the name exactly as given
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read())
EOF
}

# A stable release: OPENMV4 (H7), OPENMV4P (H7 Plus), OPENMV2 (M4), Wi-Fi blobs.
stable_release() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7.bin" 70001 "OMV4 H7 1024"
    mkimage "$WORK/src/h7_romfs.img" 20000
    arch_image "$WORK/src/h7p.bin" 60000 "OMV4P H7 32768 SDRAM"
    mkimage "$WORK/src/h7p_romfs.img" 10000
    arch_image "$WORK/src/m4.bin" 50000 "OMV2 F4 256 JPEG"
    mkimage "$WORK/src/wifi.bin" 3000
    mkzip "$WORK/firmware_v9.9.9.zip" \
        OPENMV4/firmware.bin="$WORK/src/h7.bin" OPENMV4/romfs0.img="$WORK/src/h7_romfs.img" \
        OPENMV4P/firmware.bin="$WORK/src/h7p.bin" OPENMV4P/romfs0.img="$WORK/src/h7p_romfs.img" \
        OPENMV2/firmware.bin="$WORK/src/m4.bin" CYW4343/cyw4343_7_45_98_102.bin="$WORK/src/wifi.bin"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# The H7 from the stable zip: the bytes that landed, the plan's SHA-256 and checks.
case_stable_h7() {
    stable_release
    run 0 "$OMVEMU" --camera h7 --dump "$DUMP" -- "$OMVFLASHD" --board h7 --firmware "$WORK/firmware_v9.9.9.zip" --verify
    assert_same "$WORK/src/h7.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$WORK/src/h7_romfs.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "FIRMWARE <- $WORK/firmware_v9.9.9.zip:OPENMV4/firmware.bin"
    assert_grep "$WORK/out" "sha256 $(sha "$WORK/src/h7.bin"); built for this board (its arch string found)"
    assert_grep "$WORK/out" "sha256 $(sha "$WORK/src/h7_romfs.img"); unchecked (no board's arch string in it)"
    assert_grep "$WORK/out" "verify ROMFS0 done"
    assert_grep "$WORK/out" "write FIRMWARE done: 68.4 KiB"
}

# JSON: the plan and step_done events carry sha256 and check.
case_json() {
    stable_release
    run 0 "$OMVEMU" --camera h7plus -- "$OMVFLASHD" --board h7plus --firmware "$WORK/firmware_v9.9.9.zip" --json
    local h
    h=$(sha "$WORK/src/h7p.bin")
    grep '"event":"plan"' "$WORK/out" | grep '"partition":"FIRMWARE"' | grep -qF "\"sha256\":\"$h\",\"check\":\"arch\"" ||
        { cat "$WORK/out"; fail "plan event without sha256/check"; }
    grep '"event":"step_done"' "$WORK/out" | grep '"partition":"FIRMWARE"' | grep -qF "\"sha256\":\"$h\"" ||
        { cat "$WORK/out"; fail "step_done without sha256"; }
    grep '"event":"plan"' "$WORK/out" | grep '"partition":"ROMFS0"' | grep -qF '"check":"unchecked"' ||
        { cat "$WORK/out"; fail "ROMFS0 not unchecked"; }
}

# A development zip (firmware_OPENMV4P.zip): the files at its top.
case_development() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/fw.bin" 40000 "OMV4P H7 32768 SDRAM"
    mkimage "$WORK/src/romfs0.img" 9000
    mkzip "$WORK/firmware_OPENMV4P.zip" firmware.bin="$WORK/src/fw.bin" romfs0.img="$WORK/src/romfs0.img"
    run 0 "$OMVEMU" --camera h7plus --dump "$DUMP" -- "$OMVFLASHD" --board h7plus --firmware "$WORK/firmware_OPENMV4P.zip"
    assert_same "$WORK/src/fw.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$WORK/src/romfs0.img" "$DUMP/ROMFS0.bin"
}

# The H7 Plus image in the H7's folder: refused before any transfer, exit 8, naming the board it is for.
wrong_arch_zip() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7p.bin" 60000 "OMV4P H7 32768 SDRAM"
    mkimage "$WORK/src/romfs.img" 9000
    mkzip "$WORK/firmware_v9.9.9.zip" OPENMV4/firmware.bin="$WORK/src/h7p.bin" OPENMV4/romfs0.img="$WORK/src/romfs.img"
}

case_wrong_arch() {
    wrong_arch_zip
    run 8 "$OMVEMU" --camera h7 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board h7 --firmware "$WORK/firmware_v9.9.9.zip"
    assert_grep "$WORK/err" "firmware_v9.9.9.zip:OPENMV4/firmware.bin was built for OpenMV Cam H7 Plus, not OpenMV Cam H7: it carries the arch string 'OMV4P H7 32768 SDRAM' (at offset 0x3E9) and not 'OMV4 H7 1024'; nothing was written (--force writes it anyway)"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "a block was sent: $(cat "$STATS")"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the device was touched: $(cat "$STATS")"
    assert_absent "$DUMP/FIRMWARE.bin"
}

# The same check for an --image and for a directory.
case_wrong_arch_image() {
    wrong_arch_zip
    run 8 "$OMVEMU" --camera h7 --stats "$STATS" -- "$OMVFLASHD" --board h7 --image FIRMWARE="$WORK/src/h7p.bin"
    assert_grep "$WORK/err" "$WORK/src/h7p.bin was built for OpenMV Cam H7 Plus"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the device was touched"
}

case_force() {
    wrong_arch_zip
    run 0 "$OMVEMU" --camera h7 --dump "$DUMP" -- "$OMVFLASHD" --board h7 --firmware "$WORK/firmware_v9.9.9.zip" --force
    assert_same "$WORK/src/h7p.bin" "$DUMP/FIRMWARE.bin"
    assert_grep "$WORK/err" "warning: --force: writing $WORK/firmware_v9.9.9.zip:OPENMV4/firmware.bin to FIRMWARE although it carries another board's arch string, not 'OMV4 H7 1024'"
    assert_grep "$WORK/out" "FORCED: built for another board"
}

# A release without the board's folder names the folders it has.
case_no_folder() {
    stable_release
    run 5 "$OMVEMU" --camera n6 --stats "$STATS" -- "$OMVFLASHD" --board n6 --firmware "$WORK/firmware_v9.9.9.zip"
    assert_grep "$WORK/err" "OPENMV_N6"
    assert_grep "$WORK/err" "CYW4343, OPENMV2, OPENMV4, OPENMV4P"
}

# Hostile archives: refused with one line naming the entry, nothing sent.
hostile() {  # hostile NAME=FILE... then expect the message in $EXPECT
    mkzip "$WORK/bad.zip" "$@"
    run 5 "$OMVEMU" --camera h7 --stats "$STATS" -- "$OMVFLASHD" --board h7 --firmware "$WORK/bad.zip"
    assert_grep "$WORK/err" "$EXPECT"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the device was touched"
}

case_zip_slip() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7.bin" 9000 "OMV4 H7 1024"
    EXPECT="bad.zip: entry 'OPENMV4/../../evil.bin': '..' path component (leaves the archive)" hostile OPENMV4/firmware.bin="$WORK/src/h7.bin" OPENMV4/../../evil.bin="$WORK/src/h7.bin"
}

case_duplicate() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7.bin" 9000 "OMV4 H7 1024"
    EXPECT="bad.zip: entry 'OPENMV4/firmware.bin': duplicate of entry 1" \
        hostile OPENMV4/firmware.bin="$WORK/src/h7.bin" OPENMV4/firmware.bin="$WORK/src/h7.bin"
}

case_truncated() {
    stable_release
    head -c 30000 "$WORK/firmware_v9.9.9.zip" >"$WORK/cut.zip"
    run 5 "$OMVEMU" --camera h7 --stats "$STATS" -- "$OMVFLASHD" --board h7 --firmware "$WORK/cut.zip"
    assert_grep "$WORK/err" "cut.zip"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "the device was touched"
}

# The release zip's entries for every openmv_dfu board: firmware.bin (built
# for the board's arch) and romfs0.img in the board's firmware_dir, made in
# $WORK/src/CAM.{bin,img}; appended to the caller's specs array.
dfu_board_specs() {
    local cam dir arch
    mkdir -p "$WORK/src"
    for cam in n6 h7plus pt h7 m7 m4; do
        dir=$(sed -n 's/^firmware_dir *= *//p' "$SRC/boards/$cam.ini")
        arch=$(sed -n 's/^arch *= *//p' "$SRC/boards/$cam.ini")
        arch_image "$WORK/src/$cam.bin" 30000 "$arch"
        mkimage "$WORK/src/$cam.img" 8192
        specs+=("$dir/firmware.bin=$WORK/src/$cam.bin" "$dir/romfs0.img=$WORK/src/$cam.img")
    done
}

# Every openmv_dfu board from its folder of one stable release.
case_every_dfu_board() {
    local specs=() cam
    dfu_board_specs
    mkzip "$WORK/firmware_v9.9.9.zip" "${specs[@]}"
    for cam in n6 h7plus pt h7 m7 m4; do
        rm -rf "$DUMP"
        run 0 "$OMVEMU" --camera "$cam" --dump "$DUMP" -- "$OMVFLASHD" --board "$cam" --firmware "$WORK/firmware_v9.9.9.zip"
        assert_same "$WORK/src/$cam.bin" "$DUMP/FIRMWARE.bin"
        assert_same "$WORK/src/$cam.img" "$DUMP/ROMFS0.bin"
        assert_grep "$WORK/out" "built for this board"
    done
}

# The AE3's four images from its folder.
case_ae3() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/hp.bin" 40960 "OPENMV AE3"
    arch_image "$WORK/src/he.bin" 20000 "OPENMV AE3"
    mkimage "$WORK/src/romfs1.img" 12288
    mkimage "$WORK/src/romfs0.img" 36865
    mkzip "$WORK/firmware_v9.9.9.zip" OPENMV_AE3/firmware_M55_HP.bin="$WORK/src/hp.bin" \
        OPENMV_AE3/firmware_M55_HE.bin="$WORK/src/he.bin" OPENMV_AE3/romfs1.img="$WORK/src/romfs1.img" \
        OPENMV_AE3/romfs0.img="$WORK/src/romfs0.img"
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$OMVFLASHD" --board ae3 --firmware "$WORK/firmware_v9.9.9.zip" --verify
    assert_same "$WORK/src/hp.bin" "$DUMP/HP.bin"
    assert_same "$WORK/src/he.bin" "$DUMP/HE.bin"
    assert_same "$WORK/src/romfs0.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "verify HP done"
}

# A legacy (serial) bootloader H7 from the stable zip: only FIRMWARE is its to write.
case_legacy_h7() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7.bin" 6000 "OMV4 H7 1024"
    mkimage "$WORK/src/romfs.img" 4096
    mkzip "$WORK/firmware_v9.9.9.zip" OPENMV4/firmware.bin="$WORK/src/h7.bin" OPENMV4/romfs0.img="$WORK/src/romfs.img"
    run 0 "$OMVEMU" --camera h7-legacy --app-mode v1 --dump "$DUMP" -- "$OMVFLASHD" --board h7 --firmware "$WORK/firmware_v9.9.9.zip" --mode fast
    cmp -n 6000 "$WORK/src/h7.bin" "$DUMP/FIRMWARE.bin" || fail "FIRMWARE differs"
    assert_grep "$WORK/out" "sha256 $(sha "$WORK/src/h7.bin"); built for this board"
    assert_grep "$WORK/err" "cannot write ROMFS0"
}

# --skip-unchanged with images streamed from a zip (entries cannot seek: the
# compare reads each one through, the write skips by reading): the camera
# holds the release except one byte in FIRMWARE's second 128 KB sector.
case_skip_unchanged() {
    mkdir -p "$WORK/src"
    arch_image "$WORK/src/h7.bin" 300000 "OMV4 H7 1024"
    mkimage "$WORK/src/romfs.img" 20000
    mkzip "$WORK/firmware_v9.9.9.zip" OPENMV4/firmware.bin="$WORK/src/h7.bin" OPENMV4/romfs0.img="$WORK/src/romfs.img"
    cp "$WORK/src/h7.bin" "$WORK/old.bin"
    printf '\x%02x' $(($(od -An -tu1 -j 200000 -N1 "$WORK/old.bin") ^ 255)) |
        dd of="$WORK/old.bin" bs=1 seek=200000 conv=notrunc status=none
    run 0 "$OMVEMU" --camera h7 --stats "$STATS" --dump "$DUMP" --load FIRMWARE="$WORK/old.bin" \
        --load ROMFS0="$WORK/src/romfs.img" -- \
        "$OMVFLASHD" --board h7 --firmware "$WORK/firmware_v9.9.9.zip" --skip-unchanged --verify
    assert_same "$WORK/src/h7.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$WORK/src/romfs.img" "$DUMP/ROMFS0.bin"
    [ "$(stat_of "$STATS" blocks_written)" = 32 ] || fail "expected one 128 KB sector written: $(cat "$STATS")"
    assert_grep "$WORK/out" "compared FIRMWARE with $WORK/firmware_v9.9.9.zip:OPENMV4/firmware.bin: 4.0 KiB of 293.0 KiB differ"
    assert_grep "$WORK/out" "verify FIRMWARE done"
}

# --board auto with the stable zip: the H7 is told by its bootloader's USB id
# (37C5:9204, the H7's alone), its folder's images land, and exit 0 comes
# only once the camera is back in application mode reporting the H7's arch.
case_auto_h7() {
    stable_release
    run 0 "$OMVEMU" --camera h7 --dump "$DUMP" -- "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip" --json
    assert_same "$WORK/src/h7.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$WORK/src/h7_romfs.img" "$DUMP/ROMFS0.bin"
    grep '"event":"log"' "$WORK/out" | jq -s -e --arg m "--board auto: the camera (37C5:9204 bootloader at port 1-1) is OpenMV Cam H7 ($SRC/boards/h7.ini)" \
        'any(.[]; .message == $m)' >/dev/null || fail "the choice is not logged: $(cat "$WORK/out")"
    grep '"event":"finished"' "$WORK/out" | jq -e '.exit_code == 0 and .arch == "OMV4 H7 1024"' >/dev/null \
        || fail "finished: $(grep finished "$WORK/out")"
    # the same flash whose new firmware does not start is not a success
    rm -rf "$DUMP"
    run 20 "$OMVEMU" --camera h7 --boot-fails --dump "$DUMP" -- \
        "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip"
    assert_same "$WORK/src/h7.bin" "$DUMP/FIRMWARE.bin"
    assert_grep "$WORK/err" "came back in its bootloader"
}

# One camera of each kind, each from one release zip with every target:
# openmv_dfu bootloaders (their ids), applications with a per-camera id (G2,
# reset into the bootloader by the entry plugin), and a G1 application
# (1209:ABD1, shared by five boards) told by the arch string it reports.
case_auto_every_camera() {
    local specs=() cam
    dfu_board_specs
    arch_image "$WORK/src/hp.bin" 40960 "OPENMV AE3"
    arch_image "$WORK/src/he.bin" 20000 "OPENMV AE3"
    mkimage "$WORK/src/romfs1.img" 12288
    specs+=("OPENMV_AE3/firmware_M55_HP.bin=$WORK/src/hp.bin" "OPENMV_AE3/firmware_M55_HE.bin=$WORK/src/he.bin"
        "OPENMV_AE3/romfs1.img=$WORK/src/romfs1.img" "OPENMV_AE3/romfs0.img=$WORK/src/n6.img")
    mkzip "$WORK/firmware_v9.9.9.zip" "${specs[@]}"
    for cam in n6 h7plus pt h7 m7 m4; do
        rm -rf "$DUMP"
        run 0 "$OMVEMU" --camera "$cam" --dump "$DUMP" -- "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip"
        assert_same "$WORK/src/$cam.bin" "$DUMP/FIRMWARE.bin"
        assert_same "$WORK/src/$cam.img" "$DUMP/ROMFS0.bin"
    done
    rm -rf "$DUMP"
    run 0 "$OMVEMU" --camera ae3 --forced --dump "$DUMP" -- "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip" -v
    assert_same "$WORK/src/hp.bin" "$DUMP/HP.bin"
    assert_grep "$WORK/out" "--board auto: the camera (37C5:96E3 bootloader at port 1-1) is OpenMV AE3"
    # G2 application, protocol v2: its USB id 37C5:1203 is the M7's
    rm -rf "$DUMP"
    run 0 "$OMVEMU" --camera m7 --app-mode v2 --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip" -v
    assert_same "$WORK/src/m7.bin" "$DUMP/FIRMWARE.bin"
    assert_grep "$WORK/out" "--board auto: the camera (37C5:1203 app at port 1-1) is OpenMV Cam M7"
    [ "$(stat_of "$STATS" v2_sys_info)" = 1 ] || fail "the M7 was identified before its boot was confirmed: $(cat "$STATS")"
    # G1 application (1209:ABD1): asked for its arch before the reset
    rm -rf "$DUMP"
    run 0 "$OMVEMU" --camera m4-legacy --app-mode v1 --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip" --mode fast -v
    cmp -n 30000 "$WORK/src/m4.bin" "$DUMP/FIRMWARE.bin" || fail "M4 FIRMWARE differs"
    assert_grep "$WORK/out" "--board auto: the camera reports arch 'OMV2 F4 256 JPEG' (firmware 4.5.9)"
    assert_grep "$WORK/out" "--board auto: the camera (1209:ABD1 app at port 1-1) is OpenMV Cam M4"
    # one ARCH_STR to choose the board, one to confirm the boot
    [ "$(stat_of "$STATS" v1_arch)" = 2 ] || fail "v1_arch: $(cat "$STATS")"
}

# A camera that does not say which board it is: exit 21 naming the
# candidates, before anything is sent to it.
case_auto_ambiguous() {
    stable_release
    run 21 "$OMVEMU" --camera h7-legacy --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip"
    assert_grep "$WORK/err" "omvflashd: error: --board auto: the camera (1209:ABD1 legacy bootloader at port 1-1) could be any of OpenMV Cam H7 ($SRC/boards/h7.ini), OpenMV Cam H7 Plus ($SRC/boards/h7plus.ini), OpenMV Cam M4 ($SRC/boards/m4.ini), OpenMV Cam M7 ($SRC/boards/m7.ini), OpenMV Pure Thermal ($SRC/boards/pt.ini); its bootloader does not say which: name its board with --board"
    [ "$(stat_of "$STATS" transfers)" = 0 ] || fail "the bootloader was talked to: $(cat "$STATS")"
    assert_absent "$DUMP/FIRMWARE.bin"
    # a G1 application on protocol v2 reports no arch: not reset either
    run 21 "$OMVEMU" --camera h7plus-legacy --app-mode v2 --stats "$STATS" -- \
        "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip"
    assert_grep "$WORK/err" "its firmware does not say which: name its board with --board"
    [ "$(stat_of "$STATS" v2_boots)" = 0 ] && [ "$(stat_of "$STATS" v2_resets)" = 0 ] || fail "reset: $(cat "$STATS")"
    # two cameras: choose one
    run 7 "$OMVEMU" --camera h7 --camera m7 -- "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip"
    assert_grep "$WORK/err" "--board auto: 2 cameras attached (37C5:9204 bootloader at port 1-1, 37C5:9203 bootloader at port 1-2); choose one with --port"
    run 0 "$OMVEMU" --camera h7 --camera m7 --dump "$DUMP" -- \
        "$OMVFLASHD" --board auto --port 1-1 --firmware "$WORK/firmware_v9.9.9.zip"
    assert_same "$WORK/src/h7.bin" "$DUMP/4F4D56009204000000000001/FIRMWARE.bin"
    assert_absent "$DUMP/4F4D56009203000000000002/FIRMWARE.bin"
    run 2 "$OMVFLASHD" --board auto --firmware "$WORK/firmware_v9.9.9.zip" --watch
    assert_grep "$WORK/err" "--board auto identifies the one attached camera"
}

name=${1:?usage: test_release.sh CASE}
"case_$name"
echo "PASS: $name"
