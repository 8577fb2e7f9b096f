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
    for e in device_appeared device_started device_found step_started step_done device_result; do
        jq -e -s --arg e "$e" 'any(.[]; .event == $e and .slot == "B1")' "$OUT" >/dev/null \
            || fail "no $e event with slot B1"
    done
    # A camera ends with device_result; the run's one `finished` is the last line.
    [ "$(jq -r 'select(.event == "finished") | .event' "$OUT" | wc -l)" = 1 ] || fail "expected one finished event"
    jq -e -s '.[-1].event == "finished"' "$OUT" >/dev/null || fail "the last event must be finished"
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
    assert_grep "$WORK/err" "missing.ini: No such file or directory"
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

CHECK_REPORT="python3 $(dirname "$0")/check_report.py"
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

# --report: one complete record per camera and run, with the documented
# fields; a failed camera says why; device_result says it was recorded.
case_report_records() {
    ae3_firmware "$FW"
    write_slots
    # shellcheck disable=SC2046
    run 1 timeout 60 "$OMVEMU" --camera ae3 --forced --camera ae3 --forced --fault "errWRITE@HE:1*" --camera ae3 --forced \
        --dump "$DUMP" -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 3 --json \
        --slots "$WORK/slots.ini" --report "$WORK/report.jsonl"
    [ "$($CHECK_REPORT "$WORK/report.jsonl")" = 3 ] || fail "3 records expected"
    jq -e -s 'map(select(.event == "device_result")) | length == 3 and all(.recorded == true)' "$OUT" >/dev/null \
        || fail "every device_result must say recorded"
    local r1 r2
    r1=$(jq -c --arg s "$(serial_of 1)" 'select(.serial == $s)' "$WORK/report.jsonl")
    echo "$r1" | jq -e --arg fw "$FW" --arg hp "$(sha256sum "$FW/firmware_M55_HP.bin" | cut -d' ' -f1)" '.result == "ok" and .exit_code == 0 and .port == "1-1" and .slot == "A1"
        and .board == "ae3" and .board_name == "OpenMV AE3" and .mode == "bootloader" and .bootloader_version == "1.0.3"
        and ([.images[] | "\(.partition)=\(.bytes)=\(.written)"] | join(" "))
            == "HP=40960=true HE=20000=true ROMFS1=12288=true ROMFS0=36865=true"
        and .images[0].file == "\($fw)/firmware_M55_HP.bin" and .images[0].sha256 == $hp
        and .skipped_bytes == 0 and .retries == 0 and .firmware_version == null and .duration_ms > 0
        and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' >/dev/null \
        || fail "record of camera 1: $r1"
    r2=$(jq -c --arg s "$(serial_of 2)" 'select(.serial == $s)' "$WORK/report.jsonl")
    echo "$r2" | jq -e '.result == "failed" and .exit_code == 9 and .status == "E_DEVICE" and .slot == "A2"
        and (.message | test("write HE.*errWRITE")) and .retries == 2
        and ([.images[] | "\(.partition)=\(.written)"] | join(" ")) == "HP=true HE=false ROMFS1=false ROMFS0=false"' \
        >/dev/null || fail "record of the failed camera 2: $r2"
    jq -s -e --arg s "$(serial_of 3)" 'any(.[]; .serial == $s and .port == "1-3" and .slot == null)' \
        "$WORK/report.jsonl" >/dev/null || fail "camera 3 has no slot"
    # Without --watch: one record for the run, appended.
    run 0 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --report "$WORK/report.jsonl"
    [ "$($CHECK_REPORT "$WORK/report.jsonl")" = 4 ] || fail "the single run's record was not appended"
}

# SIGKILL in the middle of a run: every line of the report is a complete
# record, every result that was reported has its record, and the next run
# appends to the same file.
case_report_sigkill() {
    ae3_firmware "$FW"
    local args=() i
    for i in 1 2 3 4 5 6; do args+=(--camera ae3 --forced --fault slow=300@HP:1); done
    {
        printf '%q ' "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --jobs 2 --json --report "$WORK/report.jsonl"
        echo ">$OUT 2>$WORK/err &"
        echo 'pid=$!'
        echo "for i in \$(seq 1500); do [ \$(grep -c '\"device_result\"' $OUT) -ge 3 ] && break; sleep 0.02; done"
        echo 'kill -KILL $pid; wait $pid; exit 0'
    } >"$WORK/kill.sh"
    run 0 timeout 60 "$OMVEMU" "${args[@]}" -- bash "$WORK/kill.sh"
    local results records
    results=$(grep -c '"device_result"' "$OUT" || true)
    [ "$results" -ge 3 ] && [ "$results" -lt 6 ] || fail "the kill must land mid-run (saw $results results)"
    records=$($CHECK_REPORT "$WORK/report.jsonl") || fail "report after SIGKILL: $records"
    [ "$records" -ge "$results" ] || fail "$results results reported but only $records records"
    [ "$(jq -r .serial "$WORK/report.jsonl" | sort | uniq -d)" = "" ] || fail "a camera recorded twice"
    jq -r 'select(.event == "device_result") | "\(.serial) \(.exit_code)"' "$OUT" | while read -r s code; do
        jq -s -e --arg s "$s" --argjson c "$code" 'any(.[]; .serial == $s and .exit_code == $c)' "$WORK/report.jsonl" \
            >/dev/null || fail "camera $s: result reported but not recorded"
    done
    run 0 timeout 60 "$OMVEMU" --camera ae3 --forced --camera ae3 --forced -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 2 --json --report "$WORK/report.jsonl"
    [ "$($CHECK_REPORT "$WORK/report.jsonl")" = $((records + 2)) ] || fail "the next run must append 2 records"
}

# A record torn by a crash (power lost mid-append: part of a line, no '\n')
# stays one line of its own: the next record starts on a fresh line and
# every record after it parses.
case_report_torn_tail() {
    ae3_firmware "$FW"
    run 0 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --report "$WORK/report.jsonl"
    printf '{"time":"2026-01-01T00:00:00.000Z","host":"line1","board":"ae3","ser' >>"$WORK/report.jsonl"
    printf '\0\0\0\0' >>"$WORK/report.jsonl"  # blocks the filesystem allocated but never wrote
    run 0 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --report "$WORK/report.jsonl"
    run 0 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --report "$WORK/report.jsonl"
    [ "$(wc -l <"$WORK/report.jsonl")" = 4 ] || fail "expected 3 records and the torn line: $(cat -A "$WORK/report.jsonl")"
    sed -n 2p "$WORK/report.jsonl" | grep -q '^{"time":"2026-01-01T00:00:00.000Z","host":"line1","board":"ae3","ser' \
        || fail "the torn line must stay as it was, on its own line"
    [ "$($CHECK_REPORT "$WORK/report.jsonl" --torn 1)" = 3 ] || fail "3 complete records around the torn line"
    if $CHECK_REPORT "$WORK/report.jsonl" >/dev/null 2>&1; then fail "the checker must see the torn line"; fi
}

# A report file that cannot be opened stops omvflashd before anything else
# (exit 18); a record that cannot be written makes the camera's result 18,
# said before the result, never a silent success.
case_report_errors() {
    ae3_firmware "$FW"
    run 18 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --report "$WORK/no/such/dir/report.jsonl"
    assert_grep "$WORK/err" "--report $WORK/no/such/dir/report.jsonl: cannot open: No such file or directory"
    run 2 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --dry-run --report "$WORK/r.jsonl"
    assert_absent "$WORK/r.jsonl"
    [ -w /dev/full ] || { echo "SKIP: no /dev/full"; return 0; }
    run 18 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --report /dev/full --json
    jq -e -s 'any(.[]; .event == "error" and .code == 18
                      and .message == "--report /dev/full: cannot append a record: No space left on device")' "$OUT" \
        >/dev/null || fail "record error event: $(cat "$OUT")"
    jq -e -s 'map(select(.event == "finished")) | length == 1 and .[0].exit_code == 18' "$OUT" >/dev/null \
        || fail "finished must say 18"
    run 18 timeout 60 "$OMVEMU" --camera ae3 -- "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --once --report /dev/full --json
    jq -e -s 'any(.[]; .event == "device_result" and .exit_code == 18 and .recorded == false
                      and (.message | test("cannot append a record")))' "$OUT" >/dev/null \
        || fail "watch: device_result must say 18, not recorded: $(grep device_result "$OUT")"
}

CHECK_PROM="python3 $(dirname "$0")/check_prometheus.py"

# metric VALUES-JSON NAME{LABELS}: one sample's value as an integer.
metric() { jq -r --arg k "$2" '.[$k] | floor' "$1"; }

# --metrics: the file is a valid exposition at every moment (replaced
# atomically), shows the cameras in progress and waiting while they are, and
# counts results, bytes and durations; promtool (Debian's prometheus
# package) lints it when installed.
case_metrics() {
    ae3_firmware "$FW"
    local prom="$WORK/prom/omvflash-ae3.prom"
    mkdir -p "$WORK/prom"
    # Runs inside omvemu: omvflashd in the background; while it runs, every
    # snapshot of the file parses, and one shows 2 in progress and 2 waiting.
    cat >"$WORK/sample.sh" <<'EOS'
prom=$1 check=$2 snap=$3; shift 3
"$@" &
pid=$!
busy=0
while kill -0 $pid 2>/dev/null; do
    [ -e "$prom" ] || continue
    python3 "$check" "$prom" >"$snap" || { echo "torn metrics file" >&2; kill $pid; exit 3; }
    [ "$(jq -r '[.["omvflash_cameras_in_progress{board=\"ae3\"}"], .["omvflash_cameras_waiting{board=\"ae3\"}"]] | join(" ")' "$snap")" = "2 2" ] && busy=1
done
wait $pid; rc=$?
[ $busy = 1 ] || { echo "never saw 2 in progress and 2 waiting" >&2; exit 4; }
exit $rc
EOS
    run 1 timeout 90 "$OMVEMU" --camera ae3 --forced --fault slow=1500@HP:1 --camera ae3 --forced --fault slow=1500@HP:1 \
        --camera ae3 --forced --fault "errWRITE@HE:1*" --camera ae3 --forced -- \
        bash "$WORK/sample.sh" "$prom" "$(dirname "$0")/check_prometheus.py" "$WORK/snap.json" \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 4 --jobs 2 --json --metrics "$prom"
    $CHECK_PROM "$prom" >"$WORK/final.json" || fail "final metrics file"
    local k='{board="ae3"}'
    [ "$(metric "$WORK/final.json" 'omvflash_cameras_total{board="ae3",result="ok"}')" = 3 ] || fail "3 ok: $(cat "$WORK/final.json")"
    [ "$(metric "$WORK/final.json" 'omvflash_cameras_total{board="ae3",result="device"}')" = 1 ] || fail "1 device error"
    [ "$(metric "$WORK/final.json" "omvflash_bytes_written_total$k")" = $((3 * (40960 + 20000 + 12288 + 36865) + 40960)) ] \
        || fail "bytes written"
    [ "$(metric "$WORK/final.json" "omvflash_flash_duration_seconds_count$k")" = 3 ] || fail "3 durations"
    [ "$(metric "$WORK/final.json" 'omvflash_flash_duration_seconds_bucket{board="ae3",le="1"}')" -le 2 ] \
        || fail "the two 1.5 s flashes are not in the 1 s bucket"
    [ "$(metric "$WORK/final.json" "omvflash_cameras_in_progress$k")" = 0 ] || fail "nothing in progress at the end"
    [ "$(metric "$WORK/final.json" "omvflash_last_success_timestamp_seconds$k")" -ge \
      "$(metric "$WORK/final.json" "omvflash_start_time_seconds$k")" ] || fail "last success before the start"
    [ "$(ls -A "$WORK/prom")" = "omvflash-ae3.prom" ] || fail "temporary files left: $(ls -A "$WORK/prom")"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$prom" || fail "promtool check metrics"
    else
        echo "promtool not installed (Debian: prometheus): strict python check only"
    fi
    run 18 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --metrics "$WORK/no/dir/m.prom"
    assert_grep "$WORK/err" "--metrics $WORK/no/dir/m.prom: cannot create $WORK/no/dir/.m.prom."
    run 2 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --metrics "$WORK/m.prom"
    assert_grep "$WORK/err" "--metrics counts the cameras of watch mode"
}

# Runs inside omvemu: a notification socket stand-in, omvflashd started as
# systemd would (NOTIFY_SOCKET, and WATCHDOG_USEC/WATCHDOG_PID from the
# caller's environment), stopped with SIGTERM once UNTIL holds.
notify_wrapper() {  # notify_wrapper FILE UNTIL OMVFLASHD-ARGS...
    local f=$1 until=$2; shift 2
    {
        echo "python3 $(dirname "$0")/notify_socket.py $WORK/notify.sock $WORK/notify.log &"
        echo 'lpid=$!'
        echo "for i in \$(seq 500); do [ -S $WORK/notify.sock ] && break; sleep 0.01; done"
        printf 'NOTIFY_SOCKET=%q ' "$WORK/notify.sock"; printf '%q ' "$OMVFLASHD" "$@"; echo ">$OUT 2>$WORK/err &"
        echo 'pid=$!'
        echo "for i in \$(seq 1500); do $until && break; sleep 0.02; done"
        echo 'kill -TERM $pid; wait $pid; rc=$?; kill $lpid; wait $lpid; exit $rc'
    } >"$f"
}
notes() { jq -r --arg p "$2" 'select(startswith($p)) | gsub("\n"; " | ")' "$1"; }  # notes LOG PREFIX: messages starting so, one line each

# systemd notifications (Type=notify, WatchdogSec=): READY first with a
# STATUS, STATUS while cameras are flashed and after, WATCHDOG pings from the
# main loop, STOPPING at SIGTERM.
case_sd_notify() {
    ae3_firmware "$FW"
    notify_wrapper "$WORK/n.sh" "[ \$(grep -c WATCHDOG=1 $WORK/notify.log) -ge 3 ] && grep -q '; 2 done' $WORK/notify.log" \
        --board "$BOARD" --firmware "$FW" --watch --json
    WATCHDOG_USEC=300000 run 0 timeout 60 "$OMVEMU" --camera ae3 --forced --fault slow=500@HP:1 \
        --camera ae3 --forced --appear-after 200 -- bash "$WORK/n.sh"
    local first
    first=$(head -1 "$WORK/notify.log" | jq -r .)
    [ "$first" = "$(printf 'READY=1\nSTATUS=watching for OpenMV AE3 cameras')" ] || fail "first message: $first"
    notes "$WORK/notify.log" "STATUS=watching for OpenMV AE3 cameras: " | grep -qE '^STATUS=[^:]*: [12] in progress' \
        || fail "no STATUS while a camera was flashed: $(cat "$WORK/notify.log")"
    notes "$WORK/notify.log" "STATUS=watching for OpenMV AE3 cameras: 0 in progress, 0 waiting; 2 done (2 OK, 0 failed)" \
        | grep -q . || fail "no STATUS after both cameras"
    [ "$(notes "$WORK/notify.log" "WATCHDOG=1" | wc -l)" -ge 3 ] || fail "watchdog pings"
    [ "$(notes "$WORK/notify.log" "STOPPING=1" | wc -l)" = 1 ] || fail "one STOPPING at SIGTERM: $(cat "$WORK/notify.log")"
    [ "$(notes "$WORK/notify.log" "READY=1" | wc -l)" = 1 ] || fail "one READY"
    # A watchdog meant for another process (WATCHDOG_PID) is not fed; none without WATCHDOG_USEC.
    rm -f "$WORK/notify.log" "$WORK/notify.sock"
    notify_wrapper "$WORK/n.sh" "[ \$(grep -c device_result $OUT) -ge 1 ] && sleep 0.5" \
        --board "$BOARD" --firmware "$FW" --watch --json
    # --forced: these cases are about notifications, not the bootloader's
    # 1.5 s window, which a loaded machine can miss while omvflashd starts.
    WATCHDOG_USEC=100000 WATCHDOG_PID=1 run 0 timeout 60 "$OMVEMU" --camera ae3 --forced -- bash "$WORK/n.sh"
    notes "$WORK/notify.log" "READY=1" | grep -q . || fail "READY without a watchdog"
    [ "$(notes "$WORK/notify.log" "WATCHDOG=1" | wc -l)" = 0 ] || fail "pings for another process's watchdog"
    rm -f "$WORK/notify.log" "$WORK/notify.sock"
    run 0 timeout 60 "$OMVEMU" --camera ae3 --forced -- bash "$WORK/n.sh"
    [ "$(notes "$WORK/notify.log" "WATCHDOG=1" | wc -l)" = 0 ] || fail "pings without WATCHDOG_USEC"
}

# PATH with uhubctl standing in front of omvemu's hub; calls logged to $WORK/uhubctl.log.
fake_uhubctl() {
    mkdir -p "$WORK/bin"
    cp "$(dirname "$0")/uhubctl_emu.sh" "$WORK/bin/uhubctl"
    chmod +x "$WORK/bin/uhubctl"
    export PATH="$WORK/bin:$PATH" UHUBCTL_LOG="$WORK/uhubctl.log"
}
# The README's example, as is.
ON_STUCK='uhubctl -a cycle -l "$OMVFLASH_HUB" -p "$OMVFLASH_HUB_PORT"'

# --on-stuck: a camera that stops answering mid-flash (its GETSTATUS answers
# "busy" for ever) gets CMD once, with its port and slot; CMD power-cycles
# its hub port, the camera comes back and is flashed again, and counts once.
case_on_stuck() {
    ae3_firmware "$FW"
    write_slots
    fake_uhubctl
    run 0 timeout 90 "$OMVEMU" --camera ae3 --forced --camera ae3 --forced --fault busy@HP:2 --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --watch --max 2 --json --set status_timeout_ms=1500 \
        --slots "$WORK/slots.ini" --report "$WORK/report.jsonl" --on-stuck "$ON_STUCK"
    jq -R -e 'fromjson | type == "object"' "$OUT" >/dev/null || fail "stdout must stay JSON lines (CMD's output goes to stderr)"
    [ "$(cat "$WORK/uhubctl.log")" = "-a cycle -l 1 -p 2 | port=1-2 slot=A2 serial=$(serial_of 2)" ] \
        || fail "uhubctl calls: $(cat "$WORK/uhubctl.log")"
    [ "$(jq -r 'select(.port == "1-2") | select(.event | test("^device_(result|stuck|recovering|appeared)$"))
                | "\(.event):\(.exit_code // .outcome // "")"' "$OUT" | xargs)" = \
      "device_appeared: device_result:11 device_stuck: device_recovering:exit 0 device_appeared: device_result:0" ] \
        || fail "camera 1-2's events: $(grep '"1-2"' "$OUT" | grep -v progress)"
    jq -e -s 'any(.[]; .event == "device_stuck" and .slot == "A2" and .command == "uhubctl -a cycle -l \"$OMVFLASH_HUB\" -p \"$OMVFLASH_HUB_PORT\""
                      and (.message | test("busy")))' "$OUT" >/dev/null || fail "device_stuck event"
    jq -e -s 'any(.[]; .event == "watch_finished" and .handled == 2 and .succeeded == 2 and .failed == 0 and .exit_code == 0)' \
        "$OUT" >/dev/null || fail "watch_finished: both cameras flashed, each counted once"
    check_dumps 2
    [ "$(jq -r --arg s "$(serial_of 2)" 'select(.serial == $s) | .exit_code' "$WORK/report.jsonl" | xargs)" = "11 0" ] \
        || fail "report: the stuck run and the one after it"
}

# A camera that stops answering again after --on-stuck brought it back is not
# given to CMD a second time: its result is the timeout.
case_on_stuck_once() {
    ae3_firmware "$FW"
    fake_uhubctl
    run 11 timeout 90 "$OMVEMU" --camera ae3 --forced --fault slow=60000@HP:2*2 -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --once --json --set status_timeout_ms=1000 --on-stuck "$ON_STUCK"
    [ "$(wc -l <"$WORK/uhubctl.log")" = 1 ] || fail "CMD must run once: $(cat "$WORK/uhubctl.log")"
    [ "$(jq -r 'select(.event == "device_result") | .exit_code' "$OUT" | xargs)" = "11 11" ] || fail "two timeouts"
    [ "$(count_of device_stuck)" = 1 ] || fail "one device_stuck"
    # Without --on-stuck the first timeout is the result.
    run 11 timeout 90 "$OMVEMU" --camera ae3 --forced --fault busy@HP:2 -- \
        "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --once --json --set status_timeout_ms=1000
    [ "$(count_of device_stuck)" = 0 ] || fail "no device_stuck without --on-stuck"
    run 2 "$OMVFLASHD" --board "$BOARD" --firmware "$FW" --on-stuck "$ON_STUCK"
    assert_grep "$WORK/err" "--on-stuck CMD needs a command and applies to --watch"
}
count_of() { jq -r --arg e "$1" 'select(.event == $e) | .event' "$OUT" | wc -l; }

"case_$1"
