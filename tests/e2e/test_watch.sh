#!/usr/bin/env bash
# End-to-end tests of watch mode: omvflashd --watch against several emulated
# AE3s at once (omvemu --camera ae3 repeated), appearing at different times,
# some unplugged mid-flash. The JSON stream is parsed with jq: one valid
# object per line, device ids on every per-device event, one device_result
# per camera, nothing written twice. Usage: test_watch.sh CASE
. "$(dirname "$0")/lib.sh"

BOARD="$SRC/boards/ae3.ini"
FW="$WORK/fw"
DUMP="$WORK/dump"
OUT="$WORK/out"
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

SER1=4F4D560096E3000000000001
SER2=4F4D560096E3000000000002
SER3=4F4D560096E3000000000003

# Every line one JSON object; every event except the daemon's own watch_*
# events and the final `finished` carries the device's serial and port.
check_json() {
    jq -R -e 'fromjson | type == "object"' "$1" >/dev/null || { cat "$1"; fail "$1: a line is not one JSON object"; }
    local bad
    bad=$(jq -c 'select((.event | startswith("watch_")) or .event == "finished" | not)
                 | select((.serial // "") == "" or (.port // "") == "")' "$1")
    [ -z "$bad" ] || fail "events without serial/port: $bad"
}
# check_finished FILE CODE: exactly one `finished` per process, the last
# line, with the process's exit code (per-camera ends are device_result).
check_finished() {
    [ "$(count_events "$1" finished)" = 1 ] || fail "expected exactly one finished event, got $(count_events "$1" finished)"
    jq -e -s --argjson c "$2" '.[-1] | .event == "finished" and .exit_code == $c' "$1" >/dev/null \
        || fail "the last event must be finished with exit_code $2: $(tail -n 1 "$1")"
}
# jq_any FILE EXPR: some event satisfies EXPR (jq 1.6's -e looks at the last input only).
jq_any() { jq -s -e "any(.[]; $2)" "$1" >/dev/null; }
count_events() {  # count_events FILE EVENT [JQ-CONDITION]
    jq -r --arg e "$2" "select(.event == \$e) ${3:+| select($3)} | .event" "$1" | wc -l
}
result_of() {  # result_of FILE PORT -> exit_code of that port's device_result(s)
    jq -r --arg p "$2" 'select(.event == "device_result" and .port == $p) | .exit_code' "$1"
}
# No partition of any port written twice.
check_once() {
    local dup
    dup=$(jq -r 'select(.event == "step_started" and .step == "write") | "\(.port) \(.partition)"' "$1" | sort | uniq -d)
    [ -z "$dup" ] || fail "written twice: $dup"
}
# A script run inside omvemu: starts omvflashd in the background (JSON to
# $OUT), waits until UNTIL_CMD succeeds, sends SIGNALS (space separated,
# 0.2 s apart), waits for omvflashd and exits with its code.
signal_wrapper() {  # signal_wrapper FILE UNTIL_CMD SIGNALS OMVFLASHD-ARGS...
    local f=$1 until=$2 sigs=$3; shift 3
    {
        echo 'set -u'
        printf '%q ' "$OMVFLASHD" "$@"; echo ">$OUT 2>$WORK/err &"
        echo 'pid=$!'
        echo "for i in \$(seq 500); do $until && break; sleep 0.02; done"
        for s in $sigs; do echo "kill -$s \$pid; sleep 0.2"; done
        echo 'wait $pid'
    } >"$f"
}

# 3 cameras at 0, 400 and 900 ms, the last one unplugged mid-flash: two
# flashed, one error 10, none twice, exit 1 (--max: not all succeeded).
case_three_cameras() {
    ae3_firmware "$FW"
    run 1 timeout 60 "$OMVEMU" --camera ae3 --camera ae3 --appear-after 400 \
        --camera ae3 --appear-after 900 --fault unplug@HP:2 --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 3 --json
    check_json "$OUT"
    check_once "$OUT"
    [ "$(count_events "$OUT" device_result)" = 3 ] || fail "expected 3 device_result events"
    [ "$(result_of "$OUT" 1-1)" = 0 ] || fail "camera 1-1: $(result_of "$OUT" 1-1)"
    [ "$(result_of "$OUT" 1-2)" = 0 ] || fail "camera 1-2: $(result_of "$OUT" 1-2)"
    [ "$(result_of "$OUT" 1-3)" = 10 ] || fail "camera 1-3 (unplugged): $(result_of "$OUT" 1-3)"
    jq_any "$OUT" '.event == "device_result" and .port == "1-3" and .serial == "'$SER3'" and (.message | test("disconnected"))' \
        || fail "1-3's result must name the disconnection"
    for s in $SER1 $SER2; do
        assert_same "$FW/firmware_M55_HP.bin" "$DUMP/$s/HP.bin"
        assert_same "$FW/firmware_M55_HE.bin" "$DUMP/$s/HE.bin"
        assert_same "$FW/romfs1.img" "$DUMP/$s/ROMFS1.bin"
        assert_same "$FW/romfs0.img" "$DUMP/$s/ROMFS0.bin"
    done
    assert_absent "$DUMP/$SER3/HE.bin"
    jq_any "$OUT" '.event == "watch_finished" and .handled == 3 and .succeeded == 2 and .failed == 1 and .exit_code == 1' \
        || fail "watch_finished summary"
    check_finished "$OUT" 1
}

# SIGTERM while two cameras are in flight: both finish, a third that appears
# afterwards is not started, exit 0.
case_sigterm() {
    ae3_firmware "$FW"
    signal_wrapper "$WORK/w.sh" \
        "[ \$(grep '\"event\":\"step_started\"' $OUT | grep -c '\"partition\":\"HP\"') -ge 2 ]" \
        TERM --board "$BOARD" --firmware "$FW" --watch --json
    run 0 timeout 60 "$OMVEMU" --camera ae3 --fault slow=600@HP:1 --camera ae3 --appear-after 100 --fault slow=600@HP:1 \
        --camera ae3 --appear-after 2500 --dump "$DUMP" -- bash "$WORK/w.sh"
    check_json "$OUT"
    check_once "$OUT"
    [ "$(result_of "$OUT" 1-1)" = 0 ] || fail "in-flight camera 1-1 must complete: $(result_of "$OUT" 1-1)"
    [ "$(result_of "$OUT" 1-2)" = 0 ] || fail "in-flight camera 1-2 must complete: $(result_of "$OUT" 1-2)"
    [ "$(count_events "$OUT" device_appeared '.port == "1-3"')" = 0 ] || fail "no camera may start after SIGTERM"
    [ "$(count_events "$OUT" watch_stopping)" = 1 ] || fail "expected a watch_stopping event"
    jq_any "$OUT" '.event == "watch_finished" and .exit_code == 0 and .handled == 2' || fail "watch_finished"
    check_finished "$OUT" 0
    assert_same "$FW/romfs0.img" "$DUMP/$SER1/ROMFS0.bin"
    assert_same "$FW/romfs0.img" "$DUMP/$SER2/ROMFS0.bin"
    assert_absent "$DUMP/$SER3/HP.bin"
}

# A second signal cancels the camera in flight cleanly: its result is 14,
# the daemon still exits 0.
case_second_signal() {
    ae3_firmware "$FW"
    signal_wrapper "$WORK/w.sh" "grep -q '\"event\":\"step_started\"' $OUT" "TERM TERM" \
        --board "$BOARD" --firmware "$FW" --watch --json
    run 0 timeout 60 "$OMVEMU" --camera ae3 --fault slow=1500@HP:1 --dump "$DUMP" -- bash "$WORK/w.sh"
    check_json "$OUT"
    [ "$(result_of "$OUT" 1-1)" = 14 ] || fail "cancelled camera: expected 14, got $(result_of "$OUT" 1-1)"
    [ "$(count_events "$OUT" watch_cancelling)" = 1 ] || fail "expected a watch_cancelling event"
    [ "$(count_events "$OUT" step_started '.partition == "HE"')" = 0 ] || fail "HE written after the cancel"
    jq_any "$OUT" '.event == "watch_finished" and .exit_code == 0' || fail "watch_finished"
    check_finished "$OUT" 0
}

# A camera that stays plugged after its flash (--no-reset: it stays in its
# bootloader on the same port) is not flashed again while watched.
case_stays_plugged() {
    ae3_firmware "$FW"
    signal_wrapper "$WORK/w.sh" "grep -q device_result $OUT && sleep 1.5" TERM \
        --board "$BOARD" --firmware "$FW" --watch --no-reset --json
    run 0 timeout 60 "$OMVEMU" --camera ae3 --dump "$DUMP" --stats "$WORK/stats" -- bash "$WORK/w.sh"
    check_json "$OUT"
    check_once "$OUT"
    [ "$(count_events "$OUT" device_result)" = 1 ] || fail "expected one device_result"
    [ "$(count_events "$OUT" device_appeared)" = 1 ] || fail "the camera appeared twice"
    [ "$(result_of "$OUT" 1-1)" = 0 ] || fail "flash failed"
    [ "$(stat_of "$WORK/stats" detach)" = 0 ] || fail "--no-reset: no DETACH expected"
    assert_same "$FW/romfs0.img" "$DUMP/ROMFS0.bin"
}

# --once: one camera of two, its own exit code.
case_once() {
    ae3_firmware "$FW"
    run 0 timeout 60 "$OMVEMU" --camera ae3 --camera ae3 --appear-after 1500 --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --once --json
    check_json "$OUT"
    [ "$(count_events "$OUT" device_result)" = 1 ] || fail "--once: one camera"
    check_finished "$OUT" 0
    assert_absent "$DUMP/$SER2/HP.bin"
    run 10 timeout 60 "$OMVEMU" --camera ae3 --fault unplug@HE:0 -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --once --json
    [ "$(result_of "$OUT" 1-1)" = 10 ] || fail "--once exit code must be the camera's"
    check_finished "$OUT" 10
}

# A fleet updated in place: cameras running their (G1) firmware are reset into
# the legacy bootloader (debug protocol v1 and v2), flashed once each, and not
# flashed again when they come back running the new firmware.
case_app_mode_fleet() {
    mkdir -p "$FW"
    mkimage "$FW/firmware.bin" 9000
    cat >"$WORK/fleet.sh" <<EOS
"$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --watch --json --set safe_erase_delay_ms=1 >"$WORK/fleet.json" &
pid=\$!
for i in \$(seq 200); do [ "\$(grep -c '"device_result"' "$WORK/fleet.json")" -ge 2 ] && break; sleep 0.1; done
sleep 1.5   # both are back in app mode by now: nothing more may happen
kill -TERM \$pid
wait \$pid
EOS
    run 0 timeout 60 "$OMVEMU" --camera h7-legacy --app-mode v1 --camera h7-legacy --app-mode v2 --appear-after 300 \
        --dump "$DUMP" -- bash "$WORK/fleet.sh"
    check_json "$WORK/fleet.json"
    [ "$(count_events "$WORK/fleet.json" device_result)" = 2 ] || fail "two cameras, one result each"
    [ "$(result_of "$WORK/fleet.json" 1-1)" = 0 ] && [ "$(result_of "$WORK/fleet.json" 1-2)" = 0 ] || fail "both must succeed"
    for d in "$DUMP"/*/; do
        head -c 9000 "$d/FIRMWARE.bin" | cmp - "$FW/firmware.bin" || fail "$d: firmware differs"
    done
    [ "$(ls -d "$DUMP"/*/ | wc -l)" = 2 ] || fail "expected two cameras' dumps"
}

# openmv_dfu cameras found in their bootloader: each is flashed once, its
# boot confirmed (back in application mode on its port), and the camera now
# running its application on a watched port is neither reset into its
# bootloader nor flashed again.
case_dfu_back_in_app() {
    mkdir -p "$FW"
    mkimage "$FW/firmware.bin" 9000
    mkimage "$FW/romfs0.img" 3000
    cat >"$WORK/fleet.sh" <<EOS
"$OMVFLASHD" --board "$SRC/boards/h7.ini" --firmware "$FW" --watch --json >"$WORK/fleet.json" &
pid=\$!
for i in \$(seq 200); do [ "\$(grep -c '"device_result"' "$WORK/fleet.json")" -ge 2 ] && break; sleep 0.1; done
sleep 1.5   # both run their application by now: nothing more may happen
kill -TERM \$pid
wait \$pid
EOS
    run 0 timeout 60 "$OMVEMU" --camera h7 --forced --camera h7 --forced --appear-after 300 \
        --dump "$DUMP" --stats "$WORK/stats" -- bash "$WORK/fleet.sh"
    check_json "$WORK/fleet.json"
    check_once "$WORK/fleet.json"
    [ "$(count_events "$WORK/fleet.json" device_result)" = 2 ] || fail "two cameras, one result each"
    [ "$(result_of "$WORK/fleet.json" 1-1)" = 0 ] && [ "$(result_of "$WORK/fleet.json" 1-2)" = 0 ] || fail "both must succeed"
    [ "$(count_events "$WORK/fleet.json" log '.message | test("^camera back in application mode: firmware 4.8.1, arch OMV4 H7 1024$")')" = 2 ] \
        || fail "each camera's boot confirmed"
    [ "$(count_events "$WORK/fleet.json" log '.message | test("resetting it into its bootloader")')" = 0 ] \
        || fail "a camera back in application mode was reset into its bootloader"
    [ "$(stat_of "$WORK/stats" v1_resets)" = 0 ] || fail "an application was reset: $(cat "$WORK/stats")"
    [ "$(stat_of "$WORK/stats" v1_arch)" = 2 ] || fail "one identify per camera: $(cat "$WORK/stats")"
    for s in 4F4D56009204000000000001 4F4D56009204000000000002; do
        assert_same "$FW/firmware.bin" "$DUMP/$s/FIRMWARE.bin"
        assert_same "$FW/romfs0.img" "$DUMP/$s/ROMFS0.bin"
    done
}

# Text mode: lines prefixed with the port, one result line per camera.
case_text() {
    ae3_firmware "$FW"
    run 1 timeout 60 "$OMVEMU" --camera ae3 --camera ae3 --fault "errWRITE@HE:1*" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 2
    assert_grep "$WORK/out" "camera at 1-1 (serial $SER1): OK in"
    assert_grep "$WORK/out" "camera at 1-2 (serial $SER2): FAILED (exit 9):"
    assert_grep "$WORK/out" "[1-1] [1/5] write  HP"
    assert_grep "$WORK/err" "[1-2] omvflashd: error: write HE"
    assert_grep "$WORK/out" "watch ended: 2 cameras handled, 1 OK, 1 failed"
}

# Configuration errors are reported before watching, with their own codes.
case_usage() {
    run 2 "$OMVFLASHD" --board "$BOARD" --watch --dry-run
    assert_grep "$WORK/err" "--dry-run"
    run 2 "$OMVFLASHD" --board "$BOARD" --max 0
    run 2 "$OMVFLASHD" --board "$BOARD" --once --max 2
    run 2 "$OMVFLASHD" --board "$BOARD" --watch --read HP=x.bin
    run 5 timeout 20 "$OMVFLASHD" --board "$BOARD" --firmware "$WORK/nonexistent" --watch --json
    jq_any "$WORK/out" '.event == "error" and .code == 5' || fail "image error as JSON"
}

"case_$1"
