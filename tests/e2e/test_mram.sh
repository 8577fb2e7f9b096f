#!/usr/bin/env bash
# End-to-end tests of AE3 MRAM initialisation (issue: mram_init action):
# omvflashd + the mram_init action plugin + the dfu plugin against an
# emulated AE3 whose external chip is an uninitialised Everspin MRAM
# (omvemu --mram). Usage: test_mram.sh CASE
. "$(dirname "$0")/lib.sh"

BOARD="$SRC/boards/ae3.ini"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"

# The key block exactly as tools/flash_recovery_key.py writes it (docs/protocols.md §3.6).
mkkey() {
    printf '\x15\x9e\x7d\x42\x96\x1a\x71\xeb\x73\xa3\x26\x29\x2b\x08\x09\x0e' >"$1"
    head -c 4080 /dev/zero >>"$1"
}

case_init_then_restore() {
    mkimage "$WORK/romfs0.img" 20000
    mkimage "$WORK/rwfs.old" 8192
    # The RWFS held data before; after init it must read back blank.
    cat >"$WORK/run.sh" <<EOS
set -e
"$OMVFLASHD" --board "$BOARD" --action mram_init --image ROMFS0="$WORK/romfs0.img" --yes --no-reset
"$OMVFLASHD" -q --board "$BOARD" --read RWFS="$WORK/rwfs.bin" --no-reset
EOS
    run 0 "$OMVEMU" --camera ae3 --mram --mram-init-ms 300 --load RWFS="$WORK/rwfs.old" --dump "$DUMP" -- bash "$WORK/run.sh"
    assert_same "$WORK/romfs0.img" "$DUMP/ROMFS0.bin"
    [ "$(stat -c %s "$WORK/rwfs.bin")" = 8388608 ] || fail "RWFS read is $(stat -c %s "$WORK/rwfs.bin") bytes"
    [ "$(tr -d '\377' <"$WORK/rwfs.bin" | wc -c)" = 0 ] || fail "RWFS is not blank after MRAM init"
    assert_grep "$WORK/err" "RWFS and ROMFS0 will be blank"
    assert_grep "$WORK/out" "action mram_init done"
}

case_uninitialised_suggests_action() {
    mkimage "$WORK/romfs0.img" 8192
    run 9 "$OMVEMU" --camera ae3 --mram -- "$OMVFLASHD" --board "$BOARD" --image ROMFS0="$WORK/romfs0.img"
    assert_grep "$WORK/err" "errWRITE"
    assert_grep "$WORK/err" "--action mram_init"
}

case_wrong_key_refused_before_transfer() {
    mkkey "$WORK/key.bin"
    printf '\x43' | dd of="$WORK/key.bin" bs=1 seek=5 conv=notrunc 2>/dev/null
    run 5 "$OMVEMU" --camera ae3 --mram --stats "$STATS" -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --key "$WORK/key.bin" --yes --no-restore
    assert_grep "$WORK/err" "byte 5 is 0x43, expected 0x1A"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "a wrong key must be refused before any transfer"
}

case_good_key_file_accepted() {
    mkkey "$WORK/key.bin"
    run 0 "$OMVEMU" --camera ae3 --mram --mram-init-ms 10 -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --key "$WORK/key.bin" --yes --no-restore -v
    assert_grep "$WORK/out" "matches the built-in MRAM recovery key"
}

case_second_attempt_in_session() {
    cat >"$WORK/run.sh" <<EOS
"$OMVFLASHD" -q --board "$BOARD" --action mram_init --yes --no-restore --no-reset || exit 100
"$OMVFLASHD" -q --board "$BOARD" --action mram_init --yes --no-restore
EOS
    run 9 "$OMVEMU" --camera ae3 --mram --mram-init-ms 10 -- bash "$WORK/run.sh"
    assert_grep "$WORK/err" "errWRITE"
    assert_grep "$WORK/err" "once per session"
}

case_status_timeout() {
    run 11 "$OMVEMU" --camera ae3 --mram --mram-init-ms 3000 -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --yes --no-restore --set timeout_ms=400
    assert_grep "$WORK/err" "MRAM init did not finish within 400 ms"
}

case_not_confirmed() {
    run 14 "$OMVEMU" --camera ae3 --mram --stats "$STATS" -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --no-restore </dev/null
    assert_grep "$WORK/err" "pass --yes"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "nothing may be sent before confirmation"
}

case_restore_needs_image() {
    mkdir -p "$WORK/empty"
    run 5 "$OMVEMU" --camera ae3 --mram --stats "$STATS" -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --yes --firmware "$WORK/empty"
    assert_grep "$WORK/err" "--no-restore"
    [ "$(stat_of "$STATS" control_transfers)" = 0 ] || fail "a missing restore image must be found before any transfer"
}

case_json_confirm_event() {
    mkimage "$WORK/romfs0.img" 4096
    run 0 "$OMVEMU" --camera ae3 --mram --mram-init-ms 10 -- \
        "$OMVFLASHD" --board "$BOARD" --action mram_init --image ROMFS0="$WORK/romfs0.img" --yes --json
    jq -e -s '[.[] | select(.event == "confirm")][0].message | contains("RWFS and ROMFS0 will be blank")' \
        "$WORK/out" >/dev/null || fail "no confirm event"
    jq -e -s '.[-1].exit_code == 0' "$WORK/out" >/dev/null || fail "finished/0"
}

case_list_actions() {
    run 0 "$OMVFLASHD" --board "$BOARD" --list-actions
    assert_grep "$WORK/out" "mram_init"
    assert_grep "$WORK/out" "restores ROMFS0"
}

# The IDE-less manual procedure with Debian's dfu-util must trigger the same
# model: ROMFS0 refuses writes until key.bin went to alt 7.
case_interop_dfu_util() {
    mkkey "$WORK/key.bin"
    mkimage "$WORK/romfs0.img" 8192
    cat >"$WORK/run.sh" <<EOS
if dfu-util -d ,37c5:96e3 -a 6 -D "$WORK/romfs0.img"; then exit 100; fi
dfu-util -d ,37c5:96e3 -a 7 -D "$WORK/key.bin" || exit 101
dfu-util -d ,37c5:96e3 -a 6 -D "$WORK/romfs0.img" || exit 102
EOS
    run 0 "$OMVEMU" --camera ae3 --mram --mram-init-ms 50 --forced --dump "$DUMP" -- bash "$WORK/run.sh"
    assert_same "$WORK/romfs0.img" "$DUMP/ROMFS0.bin"
}

name=${1:?usage: test_mram.sh CASE}
"case_$name"
echo "PASS: $name"
