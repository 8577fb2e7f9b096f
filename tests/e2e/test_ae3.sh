#!/usr/bin/env bash
# End-to-end tests: the real omvflashd (core + dfu plugin + libusb) against an
# emulated OpenMV AE3 (omvemu on umockdev). Each case asserts what landed in
# the emulated flash (omvemu --dump), the exit code and the user's message.
# Usage: test_ae3.sh CASE
. "$(dirname "$0")/lib.sh"

BOARD="$SRC/boards/ae3.ini"
FW="$WORK/fw"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"

case_full_flash() {
    ae3_firmware "$FW"
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW"
    assert_same "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin"
    assert_same "$FW/firmware_M55_HE.bin" "$DUMP/HE.bin"
    assert_same "$FW/romfs1.img" "$DUMP/ROMFS1.bin"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
    assert_absent "$DUMP/BOOT.bin"
    assert_absent "$DUMP/TOC.bin"
    # The session ends with DETACH (the camera leaves the bootloader).
    [ "$(stat_of "$STATS" detach)" = 1 ] || fail "expected one DETACH, stats: $(cat "$STATS")"
    assert_grep "$WORK/out" "done in"
}

# The headline command: no --firmware means the images in the current directory.
case_default_dir() {
    ae3_firmware "$FW"
    (cd "$FW" && run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD")
    assert_same "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
}

case_firmware_lst() {
    ae3_firmware "$FW"
    printf 'firmware_M55_HP.bin\nfirmware_M55_HE.bin\n' >"$FW/firmware.lst"
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW"
    assert_same "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin"
    assert_same "$FW/firmware_M55_HE.bin" "$DUMP/HE.bin"
    assert_absent "$DUMP/ROMFS1.bin"
    assert_absent "$DUMP/ROMFS0.bin"
}

case_firmware_lst_missing_file() {
    ae3_firmware "$FW"
    printf 'firmware_M55_HP.bin\nmissing.bin\n' >"$FW/firmware.lst"
    run 5 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW"
    assert_grep "$WORK/err" "firmware.lst:2"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "nothing may be sent before the plan is valid"
}

case_one_partition() {
    mkimage "$WORK/hp.bin" 50000
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin"
    assert_same "$WORK/hp.bin" "$DUMP/HP.bin"
    assert_absent "$DUMP/HE.bin"
    assert_absent "$DUMP/ROMFS0.bin"
}

case_verify() {
    mkimage "$WORK/romfs0.img" 30000
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- \
        "$OMVFLASHD" --board "$BOARD" --image ROMFS0="$WORK/romfs0.img" --verify
    assert_same "$WORK/romfs0.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "verify ROMFS0 done"
    [ "$(stat_of "$STATS" upload)" -ge 8 ] || fail "verify must read the image back: $(cat "$STATS")"
}

case_read() {
    mkimage "$WORK/romfs1.img" 70000
    run 0 "$OMVEMU" --camera ae3 --load ROMFS1="$WORK/romfs1.img" -- \
        "$OMVFLASHD" --board "$BOARD" --read ROMFS1="$WORK/backup.img"
    # The whole 1 MiB partition: the loaded bytes, then erased (0xFF) flash;
    # the bootloader's 4-byte end-of-upload frame must not be part of it.
    [ "$(stat -c %s "$WORK/backup.img")" = 1048576 ] || fail "backup is $(stat -c %s "$WORK/backup.img") bytes"
    head -c 70000 "$WORK/backup.img" | cmp - "$WORK/romfs1.img" || fail "read-back differs"
    tail -c +70001 "$WORK/backup.img" | tr -d '\377' | wc -c | grep -qx 0 || fail "tail of backup is not 0xFF"
    assert_absent "$WORK/backup.img.partial"
}

case_dry_run() {
    ae3_firmware "$FW"
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --dry-run
    assert_grep "$WORK/out" "HP"
    assert_grep "$WORK/out" "firmware_M55_HP.bin"
    assert_grep "$WORK/out" "40.0 KiB"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "dry run sent DNLOADs"
    [ "$(stat_of "$STATS" detach)" = 0 ] || fail "dry run detached the camera"
    assert_absent "$DUMP/HP.bin"
}

case_oversized() {
    head -c 1433601 /dev/zero >"$WORK/he.bin"
    run 5 "$OMVEMU" --camera ae3 --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --image HE="$WORK/he.bin"
    assert_grep "$WORK/err" "1433601"
    assert_grep "$WORK/err" "1433600"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "oversized image must be refused before any transfer"
}

case_boot_readonly() {
    mkimage "$WORK/boot.bin" 4096
    run 13 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --image BOOT="$WORK/boot.bin"
    assert_grep "$WORK/err" "BOOT"
    assert_grep "$WORK/err" "read-only"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "BOOT must never be written"
    assert_absent "$DUMP/BOOT.bin"
}

# A board file whose partition names do not match the device must not flash it.
case_wrong_board() {
    sed -e 's/^\[partition HP\]/[partition FIRMWARE]/' -e 's/^flash_order = HP,/flash_order = FIRMWARE,/' \
        "$BOARD" >"$WORK/wrong.ini"
    ae3_firmware "$FW"
    run 8 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$STATS" -- "$OMVFLASHD" --board "$WORK/wrong.ini" --firmware "$FW"
    assert_grep "$WORK/err" "FIRMWARE"
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "wrong board file: nothing may be written"
}

case_appears_late() {
    mkimage "$WORK/hp.bin" 20000
    run 0 "$OMVEMU" --camera ae3 --appear-after 500 --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin"
    assert_same "$WORK/hp.bin" "$DUMP/HP.bin"
}

case_never_appears() {
    mkimage "$WORK/hp.bin" 20000
    run 6 "$OMVEMU" --camera ae3 --no-appear -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --wait 1
    assert_grep "$WORK/err" "37C5:96E3"
}

case_device_error() {
    mkimage "$WORK/hp.bin" 40960
    run 9 "$OMVEMU" --camera ae3 --fault errWRITE@HP:2 -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --retries 0
    assert_grep "$WORK/err" "HP"
    assert_grep "$WORK/err" "block 2"
    assert_grep "$WORK/err" "errWRITE"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "a failure is one line: $(cat "$WORK/err")"
}

case_unplugged() {
    mkimage "$WORK/hp.bin" 40960
    run 10 "$OMVEMU" --camera ae3 --fault unplug@HP:3 -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin"
    assert_grep "$WORK/err" "HP"
    assert_grep "$WORK/err" "block 3"
}

case_json() {
    command -v jq >/dev/null || fail "jq is required for this test"
    mkimage "$WORK/hp.bin" 20000
    run 0 "$OMVEMU" --camera ae3 --serial 0123456789ABCDEF01234567 -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --json
    # Every line is one valid JSON object with an event name.
    jq -e -s 'length > 0 and all(.[]; type == "object" and has("event"))' "$WORK/out" >/dev/null || fail "invalid JSON lines"
    jq -e -s 'map(.event) | index("device_found") < index("step_started")' "$WORK/out" >/dev/null || fail "event order"
    jq -e -s '[.[] | select(.event == "step_done" and .partition == "HP")] | length == 1' "$WORK/out" >/dev/null \
        || fail "no step_done for HP"
    jq -e -s '.[-1] | .event == "finished" and .exit_code == 0' "$WORK/out" >/dev/null || fail "last event must be finished/0"
    jq -e -s '[.[] | select(.event == "progress")] | all(.serial == "0123456789ABCDEF01234567")' "$WORK/out" >/dev/null \
        || fail "progress events must carry the device serial"
}

case_json_error() {
    command -v jq >/dev/null || fail "jq is required for this test"
    mkimage "$WORK/hp.bin" 20000
    run 9 "$OMVEMU" --camera ae3 --fault errWRITE@HP:2 -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --json --retries 0
    jq -e -s '[.[] | select(.event == "error")][0] | .code == 9 and (.message | contains("errWRITE"))' "$WORK/out" >/dev/null \
        || fail "error event"
    # The device's own status, where it failed and whether a retry may help are fields, not text to parse.
    jq -e -s '[.[] | select(.event == "error")][0] | .device_status == 3 and .device_status_name == "errWRITE"
              and .block == 2 and .offset == 8192 and .retriable == true' "$WORK/out" >/dev/null \
        || { cat "$WORK/out"; fail "error event details"; }
    jq -e -s '.[-1] | .event == "finished" and .exit_code == 9' "$WORK/out" >/dev/null || fail "finished/9"
    # A read-only target is not worth another try.
    run 9 "$OMVEMU" --camera ae3 --fault errADDRESS@HP:1 -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --json
    jq -e -s '[.[] | select(.event == "error")][0] | .device_status_name == "errADDRESS" and .retriable == false' \
        "$WORK/out" >/dev/null || { cat "$WORK/out"; fail "errADDRESS is not retriable"; }
}

# Option values are checked by the core against the plugin's declaration,
# with FILE:LINE, before any device is looked for (also in --dry-run).
case_option_range_dry_run() {
    sed 's/^transfer_size = 4096/transfer_size = 0/' "$BOARD" >"$WORK/board.ini"
    mkimage "$WORK/hp.bin" 4096
    line=$(grep -n '^transfer_size = 0' "$WORK/board.ini" | cut -d: -f1)
    run 3 "$OMVEMU" --camera ae3 --stats "$STATS" -- "$OMVFLASHD" --board "$WORK/board.ini" --image HP="$WORK/hp.bin" --dry-run
    assert_grep "$WORK/err" "$WORK/board.ini:$line: [dfu] transfer_size: 0 is out of range (a number from 1 to 65535)"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "nothing may be sent: $(cat "$STATS")"
    # --set overrides are checked the same way: a usage error.
    run 2 "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --dry-run --set transfer_size=70000
    assert_grep "$WORK/err" "--set transfer_size=70000: 70000 is out of range (a number from 1 to 65535)"
}

# --help --board lists the options the board's plugins add.
case_help_board() {
    run 0 "$OMVFLASHD" --help --board "$SRC/boards/h7.ini"
    assert_grep "$WORK/out" "--mode safe|fast"
    assert_grep "$WORK/out" "(cdc_bootloader: --set mode=...)"
    run 0 "$OMVFLASHD" --help --board "$BOARD"
    assert_grep "$WORK/out" "--key FILE"
}

# --json is honoured by every mode: a usage error, --list-actions (also when
# it fails) and --list-devices end with exactly one `finished`, and nothing
# goes to stderr.
json_lines_end_finished() {  # FILE CODE: every line JSON, one finished, last, with CODE
    jq -e -s --argjson c "$2" '[.[] | select(.event == "finished")] | length == 1' "$1" >/dev/null \
        || { cat "$1"; fail "expected exactly one finished event"; }
    jq -e -s --argjson c "$2" '.[-1] | .event == "finished" and .exit_code == $c' "$1" >/dev/null \
        || { cat "$1"; fail "the last event must be finished/$2"; }
}

case_json_usage_error() {
    command -v jq >/dev/null || fail "jq is required for this test"
    run 2 "$OMVFLASHD" --bogus --json
    json_lines_end_finished "$WORK/out" 2
    jq -e -s '.[0] | .event == "error" and .code == 2 and (.message | contains("--bogus"))' "$WORK/out" >/dev/null \
        || fail "error event"
    [ ! -s "$WORK/err" ] || fail "--json: nothing on stderr: $(cat "$WORK/err")"
    run 2 "$OMVFLASHD" --json --board "$BOARD" --mode bogus
    json_lines_end_finished "$WORK/out" 2
    assert_grep "$WORK/out" "unknown option '--mode'"
}

case_json_list_actions() {
    command -v jq >/dev/null || fail "jq is required for this test"
    run 0 "$OMVFLASHD" --board "$BOARD" --list-actions --json
    json_lines_end_finished "$WORK/out" 0
    jq -e -s '.[0] | .event == "action" and .action == "mram_init" and .restores == "ROMFS0"' "$WORK/out" >/dev/null \
        || { cat "$WORK/out"; fail "action event"; }
    run 3 "$OMVFLASHD" --board "$WORK/none.ini" --list-actions --json
    json_lines_end_finished "$WORK/out" 3
    [ ! -s "$WORK/err" ] || fail "--json: nothing on stderr: $(cat "$WORK/err")"
}

# File names are bytes; JSON is UTF-8: a byte that is not UTF-8 becomes U+FFFD
# and every line still decodes strictly (Python's json, as in the example).
case_json_invalid_utf8() {
    command -v python3 >/dev/null || fail "python3 is required for this test"
    local bad
    bad="$WORK/fw-$(printf '\377\376')-é"
    mkdir -p "$bad"
    mkimage "$bad/hp.bin" 8192
    run 0 "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD" --image HP="$bad/hp.bin" --json
    assert_same "$bad/hp.bin" "$DUMP/HP.bin"
    run 5 "$OMVFLASHD" --board "$BOARD" --image HP="$bad/missing.bin" --json --dry-run
    python3 - "$WORK/out" <<'PY' || fail "output is not strict UTF-8 JSON lines"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8", errors="strict")]
err = [e for e in events if e["event"] == "error"][0]
assert "fw-\ufffd\ufffd-\u00e9/missing.bin" in err["message"], err["message"]
assert events[-1]["event"] == "finished" and events[-1]["exit_code"] == 5
PY
}

# A camera the user may not open (no udev rules; emulated as EACCES): the
# list says why its serial is unknown and how to fix it.
case_list_devices_no_access() {
    run 0 "$OMVEMU" --camera ae3 --host-fault no-access -- "$OMVFLASHD" --list-devices --board "$BOARD"
    assert_grep "$WORK/out" "37c5:96e3"
    assert_grep "$WORK/err" "37C5:96E3 at port 1-1 cannot be opened, so its serial is unknown: permission denied; install the omvflash udev rules"
}

case_list_devices() {
    run 0 "$OMVEMU" --camera ae3 --serial 00AABBCCDDEEFF0011223344 -- "$OMVFLASHD" --list-devices --board "$BOARD"
    assert_grep "$WORK/out" "37c5:96e3"
    assert_grep "$WORK/out" "00AABBCCDDEEFF0011223344"
    assert_grep "$WORK/out" "OpenMV AE3"
}

case_serial_mismatch() {
    mkimage "$WORK/hp.bin" 8192
    run 6 "$OMVEMU" --camera ae3 --stats "$STATS" -- "$OMVFLASHD" --board "$BOARD" --image HP="$WORK/hp.bin" --serial NOTTHISONE --wait 0.3
    [ "$(stat_of "$STATS" dnload)" = 0 ] || fail "another camera's serial: nothing may be written"
}

case_usage_errors() {
    run 2 "$OMVFLASHD" --bogus
    assert_grep "$WORK/err" "unknown option '--bogus'"
    run 2 "$OMVFLASHD" --board "$BOARD" --image HP
    assert_grep "$WORK/err" "expected NAME=FILE"
    run 3 "$OMVFLASHD" --board "$WORK/nonexistent.ini" --dry-run
    assert_grep "$WORK/err" "nonexistent.ini"
    printf '[board]\nname = x\nbogus_key = 1\n' >"$WORK/bad.ini"
    run 3 "$OMVFLASHD" --board "$WORK/bad.ini" --dry-run
    assert_grep "$WORK/err" "bad.ini:3"
}

# The emulator is only honest if an independent host agrees with it:
# Debian's dfu-util downloads the four images the IDE's way and reads one back.
case_interop_dfu_util() {
    command -v dfu-util >/dev/null || fail "dfu-util is required for this test"
    ae3_firmware "$FW"
    cat >"$WORK/ide.sh" <<EOS
set -e
dfu-util -w -d ,37c5:96e3 -a 1 -D "$FW/firmware_M55_HP.bin"
dfu-util -w -d ,37c5:96e3 -a 2 -D "$FW/firmware_M55_HE.bin"
dfu-util -w -d ,37c5:96e3 -a 3 -D "$FW/romfs1.img"
dfu-util -w -d ,37c5:96e3 -a 6 -D "$FW/romfs0.img"
dfu-util -w -d ,37c5:96e3 -a 3 -U "$WORK/romfs1.up"
EOS
    run 0 "$OMVEMU" --camera ae3 --forced --dump "$DUMP" -- bash "$WORK/ide.sh"
    assert_same "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin"
    assert_same "$FW/firmware_M55_HE.bin" "$DUMP/HE.bin"
    assert_same "$FW/romfs1.img" "$DUMP/ROMFS1.bin"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
    # dfu-util's upload holds the partition plus the 4-byte EOF frame.
    head -c 12288 "$WORK/romfs1.up" | cmp - "$FW/romfs1.img" || fail "dfu-util upload differs"
}

# omvflashd's own upload must agree with what dfu-util wrote, and vice versa.
case_interop_readback() {
    command -v dfu-util >/dev/null || fail "dfu-util is required for this test"
    mkimage "$WORK/he.bin" 30000
    cat >"$WORK/mixed.sh" <<EOS
set -e
dfu-util -d ,37c5:96e3 -a 2 -D "$WORK/he.bin"
"$OMVFLASHD" --board "$BOARD" --read HE="$WORK/he.back" --no-reset
EOS
    run 0 "$OMVEMU" --camera ae3 -- bash "$WORK/mixed.sh"
    head -c 30000 "$WORK/he.back" | cmp - "$WORK/he.bin" || fail "omvflashd read differs from what dfu-util wrote"
}

name=${1:?usage: test_ae3.sh CASE}
"case_$name"
echo "PASS: $name"
