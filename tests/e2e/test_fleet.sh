#!/usr/bin/env bash
# End-to-end tests of the production-line features of watch mode against
# several emulated AE3s: --jobs (bounded parallelism, arrival order), slots
# files (names of USB ports in events, text and --list-devices).
# Usage: test_fleet.sh CASE
. "$(dirname "$0")/lib.sh"

BOARD="$SRC/boards/ae3.ini"
FW="$WORK/fw"
DUMP="$WORK/dump"
OUT="$WORK/out"
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

serial_of() { printf '4F4D560096E30000000000%02X' "$1"; }  # serial_of N: omvemu's default for camera N

# N emulated AE3s in forced DFU mode (they wait in their bootloader for as
# long as it takes, as on a line where cameras are plugged in with BOOT held).
cameras() {
    local i
    for i in $(seq "$1"); do printf -- '--camera ae3 --forced '; done
}

check_dumps() {  # check_dumps N: every camera holds the four images
    local i s
    for i in $(seq "$1"); do
        s=$(serial_of "$i")
        assert_same "$FW/firmware_M55_HP.bin" "$DUMP/$s/HP.bin"
        assert_same "$FW/firmware_M55_HE.bin" "$DUMP/$s/HE.bin"
        assert_same "$FW/romfs1.img" "$DUMP/$s/ROMFS1.bin"
        assert_same "$FW/romfs0.img" "$DUMP/$s/ROMFS0.bin"
    done
}

# Most cameras in progress at any point of the event stream: a camera is in
# progress from its device_started to its device_result (output is
# serialised, so the stream's order is the order things happened in).
max_in_progress() {
    jq -s '[foreach .[] as $e ({n: 0, max: 0};
              if $e.event == "device_started" then .n += 1
              elif $e.event == "device_result" then .n -= 1 else . end
              | .max = ([.max, .n] | max); .max)] | max' "$1"
}

write_slots() {  # the line's ports 1-1, 1-2 and 1-5 are named; the others are not
    cat >"$WORK/slots.ini" <<'EOF'
; line 1
[slot A1]
port = 1-1
[slot A2]
port = 1-2
[slot B1]
port = 1-5
EOF
}

# 8 cameras, --jobs 3: never more than 3 in progress, the others wait and
# start in arrival (port) order, each flashed exactly once with the right bytes.
case_jobs_limit() {
    ae3_firmware "$FW"
    # shellcheck disable=SC2046
    run 0 timeout 120 "$OMVEMU" $(cameras 8) --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 8 --jobs 3 --json
    jq -R -e 'fromjson | type == "object"' "$OUT" >/dev/null || fail "a line is not one JSON object"
    jq -e -s 'any(.[]; .event == "watch_started" and .jobs == 3)' "$OUT" >/dev/null || fail "watch_started.jobs"
    local most
    most=$(max_in_progress "$OUT")
    [ "$most" = 3 ] || fail "expected at most (and at some point exactly) 3 cameras in progress, saw $most"
    [ "$(jq -s '[.[] | select(.event == "device_started")] | length' "$OUT")" = 8 ] || fail "8 device_started"
    [ "$(jq -s '[.[] | select(.event == "device_result" and .exit_code == 0)] | length' "$OUT")" = 8 ] \
        || fail "8 successful device_result"
    [ "$(jq -s '[.[] | select(.event == "step_started" and .step == "write")] | length' "$OUT")" = 32 ] \
        || fail "4 partitions written per camera, no more"
    # The five that waited were told their place and started in that order.
    local waited started
    waited=$(jq -r 'select(.event == "device_waiting") | "\(.position) \(.port)"' "$OUT" | sort -n | cut -d' ' -f2 | xargs)
    [ "$waited" = "1-4 1-5 1-6 1-7 1-8" ] || fail "waiting order: $waited"
    started=$(jq -r 'select(.event == "device_started") | .port' "$OUT" | xargs)
    [ "$started" = "1-1 1-2 1-3 1-4 1-5 1-6 1-7 1-8" ] || fail "start order: $started"
    jq -e -s 'all(.[] | select(.event == "device_waiting"); .in_progress == 3)' "$OUT" >/dev/null \
        || fail "a camera waited while fewer than 3 were in progress"
    check_dumps 8
}

# Slots: the slot is in every per-camera event of a named port (and in no
# event of an unnamed one), in the text lines and in device_result.
case_slots_events() {
    ae3_firmware "$FW"
    write_slots
    # shellcheck disable=SC2046
    run 0 timeout 60 "$OMVEMU" $(cameras 5) --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 5 --jobs 2 --slots "$WORK/slots.ini" --json
    local bad
    for pair in 1-1:A1 1-2:A2 1-5:B1; do
        bad=$(jq -c --arg p "${pair%:*}" --arg s "${pair#*:}" 'select(.port == $p and .slot != $s)' "$OUT")
        [ -z "$bad" ] || fail "events of port ${pair%:*} without slot ${pair#*:}: $bad"
    done
    bad=$(jq -c 'select((.port == "1-3" or .port == "1-4") and has("slot"))' "$OUT")
    [ -z "$bad" ] || fail "unnamed ports must carry no slot: $bad"
    for e in device_appeared device_started device_found step_started step_done finished device_result; do
        jq -e -s --arg e "$e" 'any(.[]; .event == $e and .slot == "B1")' "$OUT" >/dev/null \
            || fail "no $e event with slot B1"
    done
    jq -e -s 'any(.[]; .event == "device_waiting" and .slot == "B1" and .position >= 1)' "$OUT" >/dev/null \
        || fail "B1 (port 1-5) must have waited with --jobs 2"
    check_dumps 5

    # Text mode: every line of a named port's camera names its slot.
    # shellcheck disable=SC2046
    run 0 timeout 60 "$OMVEMU" $(cameras 2) -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 2 --slots "$WORK/slots.ini"
    assert_grep "$WORK/out" "camera A1 at 1-1 (serial $(serial_of 1), bootloader): flashing"
    assert_grep "$WORK/out" "camera A2 at 1-2 (serial $(serial_of 2)): OK in"
    assert_grep "$WORK/out" "[A1 1-1] [1/5] write  HP"
    assert_grep "$WORK/out" "[A2 1-2] device: OpenMV Camera (DFU Mode) 37c5:96e3 serial $(serial_of 2) port 1-2 slot A2"
    bad=$(grep '^\[' "$WORK/out" | grep -v '^\[A[12] 1-[12]\] ' || true)
    [ -z "$bad" ] || fail "lines without their slot: $bad"
}

# --list-devices shows each camera's slot; --slot selects a camera by slot.
case_slots_select() {
    ae3_firmware "$FW"
    write_slots
    # shellcheck disable=SC2046
    run 0 timeout 60 "$OMVEMU" $(cameras 3) -- "$OMVFLASHD" --list-devices --board ae3 --slots "$WORK/slots.ini"
    assert_grep "$WORK/out" "port 1-1      slot A1       serial $(serial_of 1)"
    assert_grep "$WORK/out" "port 1-3      slot -        serial $(serial_of 3)"
    # shellcheck disable=SC2046
    run 0 timeout 60 "$OMVEMU" $(cameras 3) -- "$OMVFLASHD" --list-devices --board ae3 --slots "$WORK/slots.ini" --json
    [ "$(jq -r 'select(.event == "device") | "\(.port)=\(.slot // "-")"' "$OUT" | sort | xargs)" = "1-1=A1 1-2=A2 1-3=-" ] \
        || fail "list-devices slots: $(cat "$OUT")"
    # --slot A2 flashes only the camera on port 1-2; its events carry the slot.
    # shellcheck disable=SC2046
    run 0 timeout 60 "$OMVEMU" $(cameras 3) --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --slots "$WORK/slots.ini" --slot A2 --json
    jq -e -s 'any(.[]; .event == "device_found" and .port == "1-2" and .slot == "A2")' "$OUT" >/dev/null \
        || fail "--slot A2: device_found"
    jq -e -s 'any(.[]; .event == "finished" and .slot == "A2" and .exit_code == 0)' "$OUT" >/dev/null \
        || fail "--slot A2: finished"
    assert_same "$FW/romfs0.img" "$DUMP/$(serial_of 2)/ROMFS0.bin"
    assert_absent "$DUMP/$(serial_of 1)/HP.bin"
    assert_absent "$DUMP/$(serial_of 3)/HP.bin"
}

# A bad slots file is refused before anything else, naming file and line,
# with exit code 18; usage errors are 2.
case_slots_errors() {
    ae3_firmware "$FW"
    printf '[slot A1]\nport = 1-1\n[slot A2]\nport = 1-1\n' >"$WORK/dup.ini"
    run 18 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --slots "$WORK/dup.ini"
    [ "$(cat "$WORK/err")" = "omvflashd: error: $WORK/dup.ini:4: [slot A2]: port 1-1 is already slot A1 (line 2)" ] \
        || fail "dup port message: $(cat "$WORK/err")"
    printf '[slot A1]\nport 1-1\n' >"$WORK/syntax.ini"
    run 18 "$OMVFLASHD" --list-devices --slots "$WORK/syntax.ini" --json
    jq -e -s 'any(.[]; .event == "error" and .code == 18 and .status == "E_CONFIG"
                     and (.message | endswith("syntax.ini:2: syntax error: expected [section], key = value or a comment")))' \
        "$OUT" >/dev/null || fail "JSON error for the slots file: $(cat "$OUT")"
    run 18 "$OMVFLASHD" --board "$BOARD" --slots "$WORK/missing.ini"
    assert_grep "$WORK/err" "missing.ini: cannot open: No such file or directory"
    write_slots
    run 2 "$OMVFLASHD" --board "$BOARD" --slots "$WORK/slots.ini" --slot C9
    assert_grep "$WORK/err" "--slot C9: $WORK/slots.ini names no such slot (it has: A1, A2, B1)"
    run 2 "$OMVFLASHD" --board "$BOARD" --slot A1
    assert_grep "$WORK/err" "--slot NAME needs --slots FILE"
    run 2 "$OMVFLASHD" --board "$BOARD" --slots "$WORK/slots.ini" --slot A1 --port 1-1
    run 2 "$OMVFLASHD" --board "$BOARD" --jobs 2
    assert_grep "$WORK/err" "--jobs limits watch mode"
    run 2 "$OMVFLASHD" --board "$BOARD" --watch --jobs 0
    assert_grep "$WORK/err" "--jobs '0': expected a number of cameras (1 or more)"
}

"case_$1"
