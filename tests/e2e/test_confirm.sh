#!/usr/bin/env bash
# Confirm boot: after the reset omvflashd waits for the camera to come back in
# application mode on its port and say what it runs; exit 0 only then. A
# camera that does not come back, comes back in its bootloader, never leaves
# it, or runs another board's firmware exits 20, with what was written still
# in its flash (--dump) and the reason in one error line.
# Usage: test_confirm.sh CASE
. "$(dirname "$0")/lib.sh"

FW="$WORK/fw"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"
mkdir -p "$FW"
mkimage "$FW/firmware.bin" 70001
mkimage "$FW/romfs0.img" 20000

# boards/h7.ini with a shorter confirm_ms, so the failing cases end sooner.
H7_SHORT="$WORK/h7.ini"
sed 's/^wait_ms = 10000$/wait_ms = 10000\nconfirm_ms = 1500/' "$SRC/boards/h7.ini" >"$H7_SHORT"
grep -q '^confirm_ms = 1500$' "$H7_SHORT" || fail "could not set confirm_ms in $H7_SHORT"

stat_is() { [ "$(stat_of "$STATS" "$1")" = "$2" ] || fail "stats: want $1=$2, got $(cat "$STATS")"; }
finished() { grep '"event":"finished"' "$WORK/out"; }
landed() {  # the images are in the camera's flash, whatever the confirmation said
    assert_same "$FW/firmware.bin" "$DUMP/FIRMWARE.bin"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
}

# openmv_dfu camera, application on debug protocol v1 (omvemu's default):
# finished carries the version and arch it reported; text mode says them.
case_dfu_v1() {
    run 0 "$OMVEMU" --camera h7 --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --json
    landed
    finished | jq -e '.exit_code == 0 and .firmware_version == "4.8.1" and .arch == "OMV4 H7 1024"
                      and .app_protocol == 1' >/dev/null || fail "finished: $(finished)"
    stat_is v1_version 1
    stat_is v1_arch 1
    run 0 "$OMVEMU" --camera h7 --fw-version 4.7.0 -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" -v
    grep -qE '^done in [0-9.]+ s: the camera runs firmware 4\.7\.0, arch OMV4 H7 1024$' "$WORK/out" \
        || { cat "$WORK/out"; fail "text result without the firmware the camera runs"; }
}

# Protocol v2 (v5.0.0) has no arch string: its application id is its identity.
case_dfu_v2() {
    run 0 "$OMVEMU" --camera h7 --app-mode v2 --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --json
    landed
    finished | jq -e '.exit_code == 0 and .firmware_version == "5.0.0" and .app_id == "37c5:1204"
                      and .app_protocol == 2 and .arch == null' >/dev/null || fail "finished: $(finished)"
}

# The firmware never enumerates: exit 20 after confirm_ms, the bytes landed.
case_not_back() {
    run 20 "$OMVEMU" --camera h7 --no-app --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$H7_SHORT" --firmware "$FW" --json
    landed
    grep '"event":"error"' "$WORK/out" | jq -e '.code == 20 and .message == "confirm boot: the camera on port 1-1 did not come back in application mode within 1500 ms ([board] confirm_ms)"' >/dev/null \
        || fail "error event: $(cat "$WORK/out")"
    finished | jq -e '.exit_code == 20 and .status == "E_BOOT" and .firmware_version == null' >/dev/null \
        || fail "finished: $(finished)"
}

# The new firmware does not start: the camera comes back in its bootloader.
case_back_in_bootloader() {
    run 20 "$OMVEMU" --camera h7 --boot-fails --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$H7_SHORT" --firmware "$FW"
    landed
    assert_grep "$WORK/err" "omvflashd: error: confirm boot: the camera on port 1-1 came back in its bootloader, not in application mode, within 1500 ms: the new firmware does not start"
    [ "$(stat_of "$STATS" boot_failures)" -ge 1 ] || fail "the bootloader did not come back: $(cat "$STATS")"
}

# The camera boots, but reports another board's arch: it runs the wrong firmware.
case_other_board() {
    run 20 "$OMVEMU" --camera h7 --arch "OMV4P H7 32768 SDRAM" --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW"
    landed
    assert_grep "$WORK/err" "omvflashd: error: confirm boot: the camera came back reporting arch 'OMV4P H7 32768 SDRAM' (firmware 4.8.1), not OpenMV Cam H7's 'OMV4 H7 1024': it runs another board's firmware"
}

# --no-confirm: exit 0 once the reset was sent, whatever the camera does then.
case_no_confirm() {
    run 0 "$OMVEMU" --camera h7 --no-app --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$H7_SHORT" --firmware "$FW" --json --no-confirm
    landed
    stat_is detach 1
    finished | jq -e '.exit_code == 0 and .firmware_version == null' >/dev/null || fail "finished: $(finished)"
}

# --no-reset leaves the camera in its bootloader: nothing to confirm.
case_no_reset() {
    run 0 "$OMVEMU" --camera h7 --forced --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --json --no-reset
    landed
    stat_is detach 0
    finished | jq -e '.exit_code == 0 and .firmware_version == null' >/dev/null || fail "finished: $(finished)"
    if grep -q "come back in application mode" "$WORK/out"; then fail "--no-reset waited for the application"; fi
}

# Legacy CDC bootloader (G1 firmware): RESET, then the application (v1, 4.5.9).
case_legacy() {
    mkimage "$FW/firmware.bin" 9000
    run 0 "$OMVEMU" --camera h7-legacy --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --json --set safe_erase_delay_ms=1
    head -c 9000 "$DUMP/FIRMWARE.bin" | cmp - "$FW/firmware.bin" || fail "firmware differs"
    finished | jq -e '.exit_code == 0 and .firmware_version == "4.5.9" and .arch == "OMV4 H7 1024"' >/dev/null \
        || fail "finished: $(finished)"
    stat_is left_in_bootloader 0
}

# An M4 whose V1 legacy bootloader is flashed with the H7's board file: the
# H7's sectors do not exist on the M4's F427, the bootloader halts on the
# first erase and ignores RESET. Never "done": exit 20, it is still there.
case_legacy_halted() {
    mkimage "$FW/firmware.bin" 9000
    run 20 "$OMVEMU" --camera m4-legacy --bootloader-version 1 --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$H7_SHORT" --firmware "$FW" --set safe_erase_delay_ms=1
    assert_grep "$WORK/err" "omvflashd: error: confirm boot: the camera on port 1-1 is still in its bootloader 1500 ms after the reset: it did not leave"
    stat_is halts 1
    stat_is left_in_bootloader 1
    assert_absent "$DUMP/FIRMWARE.bin"
}

name=${1:?usage: test_confirm.sh CASE}
"case_$name"
echo "PASS: $name"
