#!/usr/bin/env bash
# Automatic retries against omvemu: a partition whose write fails in a way
# that may not repeat is written again from its start after the device is
# brought back (recover, or re-open when it left the bus); permanent
# failures are not retried; when every attempt failed, the last error ends
# the run. What the emulated flash holds (--dump) and what was sent (--stats)
# are checked, not only the exit code.
# Usage: test_retry.sh CASE
. "$(dirname "$0")/lib.sh"

DUMP="$WORK/dump"
STATS="$WORK/stats.json"
AE3="$SRC/boards/ae3.ini"

stat_is() {  # stat_is KEY N
    local got
    got=$(stat_of "$STATS" "$1")
    [ "$got" = "$2" ] || { cat "$STATS"; fail "stats: $1 = $got, expected $2"; }
}
one_error_line() { [ "$(grep -c 'omvflashd: error:' "$WORK/err")" = 1 ] || { cat "$WORK/err"; fail "not one error line"; }; }

# errWRITE once at block 3 of HP: written again from block 0, the camera ends
# up with the image; the retry is an event (text, JSON, --report record).
case_transient_errwrite() {
    mkimage "$WORK/hp.bin" 40000
    run 0 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --fault errWRITE@HP:3 -- \
        "$OMVFLASHD" --board "$AE3" --image HP="$WORK/hp.bin" --report "$WORK/report.jsonl"
    assert_same "$WORK/hp.bin" "$DUMP/HP.bin"
    stat_is blocks_written $((3 + 10))
    assert_grep "$WORK/err" "retry 1 of 2: write HP ($WORK/hp.bin): block 3 (offset 0x3000): device reported errWRITE"
    assert_grep "$WORK/err" "; writing HP again from its start"
    jq -e '.retries == 1 and .result == "ok"' "$WORK/report.jsonl" >/dev/null || { cat "$WORK/report.jsonl"; fail "report"; }
    run 0 "$OMVEMU" --camera ae3 --fault errWRITE@HP:3 -- \
        "$OMVFLASHD" --board "$AE3" --image HP="$WORK/hp.bin" --json
    jq -e -s '[.[] | select(.event == "retry")] | length == 1 and .[0].partition == "HP" and .[0].attempt == 1
              and .[0].retries == 2 and .[0].device_status_name == "errWRITE" and .[0].block == 3
              and .[0].retriable == true' "$WORK/out" >/dev/null || { cat "$WORK/out"; fail "retry event"; }
    jq -e -s '.[-1].event == "finished" and .[-1].exit_code == 0' "$WORK/out" >/dev/null || fail "not finished ok"
}

# The camera drops off the bus at block 2 and is plugged in again (its port
# power cycled, as uhubctl or a person does) once the retry is announced: it
# is opened again and written from the start.
case_unplug_replug() {
    mkimage "$WORK/r0.img" 30000
    cat >"$WORK/replug.sh" <<EOF
set -o pipefail
"$OMVFLASHD" --board "$AE3" --image ROMFS0="$WORK/r0.img" --json | while IFS= read -r line; do
    printf '%s\n' "\$line"
    case \$line in *'"event":"retry"'*) echo "cycle 1 100" >"\$OMVEMU_POWER" ;; esac
done
EOF
    run 0 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --fault unplug@ROMFS0:2 -- bash "$WORK/replug.sh"
    assert_same "$WORK/r0.img" "$DUMP/ROMFS0.bin"
    stat_is blocks_written $((2 + 8))
    jq -e -s '([.[] | select(.event == "retry")] | length == 1 and .[0].status == "E_IO") and
              ([.[] | select(.event == "device_found")] | length == 2)' "$WORK/out" >/dev/null \
        || { cat "$WORK/out"; fail "events"; }
}

# No answer to the GETSTATUS of block 2 within the partition's timeout: the
# device is brought back to idle (it finishes the write first) and HP is
# written again.
case_timeout() {
    sed '/^\[partition HP\]/a timeout_ms = 300' "$AE3" >"$WORK/board.ini"
    mkimage "$WORK/hp.bin" 20000
    run 0 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --fault slow=1500@HP:2 -- \
        "$OMVFLASHD" --board "$WORK/board.ini" --image HP="$WORK/hp.bin"
    assert_same "$WORK/hp.bin" "$DUMP/HP.bin"
    assert_grep "$WORK/err" "retry 1 of 2: write HP ($WORK/hp.bin): block 2 (offset 0x2000)"
    assert_grep "$WORK/err" "timeout_ms of partition HP"
}

# Permanent failures are never retried: an address beyond the partition
# (errADDRESS), a target the device refuses (errTARGET).
case_permanent() {
    mkimage "$WORK/he.bin" 8192
    for st in errADDRESS errTARGET; do
        run 9 "$OMVEMU" --camera ae3 --stats "$STATS" --fault "$st@HE:1*" -- \
            "$OMVFLASHD" --board "$AE3" --image HE="$WORK/he.bin"
        assert_grep "$WORK/err" "block 1 (offset 0x1000): device reported $st"
        if grep -q '^retry' "$WORK/err"; then cat "$WORK/err"; fail "$st was retried"; fi
        stat_is dnload 2
        one_error_line
    done
}

# errWRITE every time: the first attempt and two retries, then the last
# attempt's error (exit 9); --retries and the board's retries decide how many.
case_exhausted() {
    mkimage "$WORK/hp.bin" 20000
    run 9 "$OMVEMU" --camera ae3 --stats "$STATS" --fault 'errWRITE@HP:1*' -- \
        "$OMVFLASHD" --board "$AE3" --image HP="$WORK/hp.bin" --report "$WORK/report.jsonl"
    [ "$(grep -c '^retry' "$WORK/err")" = 2 ] || { cat "$WORK/err"; fail "expected 2 retries"; }
    assert_grep "$WORK/err" "retry 2 of 2: write HP"
    assert_grep "$WORK/err" "omvflashd: error: write HP ($WORK/hp.bin): block 1 (offset 0x1000): device reported errWRITE"
    one_error_line
    stat_is dnload 6
    jq -e '.retries == 2 and .status == "E_DEVICE"' "$WORK/report.jsonl" >/dev/null || { cat "$WORK/report.jsonl"; fail "report"; }
    run 9 "$OMVEMU" --camera ae3 --stats "$STATS" --fault 'errWRITE@HP:1*' -- \
        "$OMVFLASHD" --board "$AE3" --image HP="$WORK/hp.bin" --retries 0
    stat_is dnload 2
    if grep -q '^retry' "$WORK/err"; then fail "--retries 0 retried"; fi
    sed 's/^wait_ms = .*/&\nretries = 5/' "$AE3" >"$WORK/board.ini"
    run 9 "$OMVEMU" --camera ae3 --stats "$STATS" --fault 'errWRITE@HP:1*' -- \
        "$OMVFLASHD" --board "$WORK/board.ini" --image HP="$WORK/hp.bin"
    stat_is dnload 12
    assert_grep "$WORK/err" "retry 5 of 5: write HP"
}

# A camera that drops off the bus and does not come back: one wait (--wait),
# then the write's own error, saying why it was not retried.
case_gone_for_good() {
    mkimage "$WORK/hp.bin" 20000
    run 10 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --fault unplug@HP:3 -- \
        "$OMVFLASHD" --board "$AE3" --image HP="$WORK/hp.bin" --wait 1
    [ "$(grep -c '^retry' "$WORK/err")" = 1 ] || { cat "$WORK/err"; fail "expected 1 retry"; }
    assert_grep "$WORK/err" "omvflashd: error: write HP ($WORK/hp.bin): device disconnected at block 3 (offset 0x3000)"
    assert_grep "$WORK/err" "(not retried: "
    one_error_line
    stat_is blocks_written 3
}

# With --skip-unchanged a retry compares again: what the failed attempt
# already wrote is not written twice.
case_skip_resumes() {
    mkimage "$WORK/old.img" 40960
    mkimage "$WORK/new.img" 40960
    run 0 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --load ROMFS0="$WORK/old.img" \
        --fault errPROG@ROMFS0:6 -- "$OMVFLASHD" --board "$AE3" --image ROMFS0="$WORK/new.img" --skip-unchanged
    assert_same "$WORK/new.img" "$DUMP/ROMFS0.bin"
    stat_is blocks_written 10
    assert_grep "$WORK/out" "compared ROMFS0 with $WORK/new.img: 16.0 KiB of 40.0 KiB differ"
}

name=${1:?usage: test_retry.sh CASE}
"case_$name"
echo "PASS: $name"
