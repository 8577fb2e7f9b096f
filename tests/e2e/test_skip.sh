#!/usr/bin/env bash
# --skip-unchanged against omvemu: which blocks are sent (omvemu --stats),
# what the emulated flash holds afterwards (--dump), what the run reports.
# Usage: test_skip.sh CASE
. "$(dirname "$0")/lib.sh"

DUMP="$WORK/dump"
STATS="$WORK/stats.json"
AE3="$SRC/boards/ae3.ini"
H7="$SRC/boards/h7.ini"

# flip FILE OFFSET: change the byte at OFFSET (xor 0xFF) in place.
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# changed OLD NEW OFFSET...: NEW = OLD with the bytes at each OFFSET flipped.
changed() {
    local old=$1 new=$2
    shift 2
    cp "$old" "$new"
    for off in "$@"; do flip "$new" "$off"; done
}
stat_is() {  # stat_is KEY N
    local got
    got=$(stat_of "$STATS" "$1")
    [ "$got" = "$2" ] || { cat "$STATS"; fail "stats: $1 = $got, expected $2"; }
}
# ae3 ARGS...: omvflashd on an emulated AE3 (omvemu options before --).
ae3() {
    local emu=()
    while [ "$1" != -- ]; do emu+=("$1"); shift; done
    shift
    "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" "${emu[@]}" -- "$OMVFLASHD" --board "$AE3" "$@"
}

# The camera already holds the four images: nothing but read-backs.
case_identical() {
    ae3_firmware "$WORK/fw"
    local fw=$WORK/fw
    run 0 ae3 --load HP="$fw/firmware_M55_HP.bin" --load HE="$fw/firmware_M55_HE.bin" \
        --load ROMFS1="$fw/romfs1.img" --load ROMFS0="$fw/romfs0.img" -- \
        --firmware "$fw" --skip-unchanged --json --report "$WORK/report.jsonl"
    stat_is blocks_written 0
    stat_is dnload 0
    # one UPLOAD per image block, and the bootloader header's at open
    stat_is upload $(((40960 + 4095) / 4096 + (20000 + 4095) / 4096 + 12288 / 4096 + (36865 + 4095) / 4096 + 1))
    for p in HP:firmware_M55_HP.bin HE:firmware_M55_HE.bin ROMFS1:romfs1.img ROMFS0:romfs0.img; do
        assert_same "$fw/${p#*:}" "$DUMP/${p%%:*}.bin"
        local size
        size=$(stat -c %s "$fw/${p#*:}")
        jq -e -s --arg p "${p%%:*}" --argjson n "$size" '
            ([.[] | select(.event == "compared" and .partition == $p and .changed_bytes == 0 and .skipped_bytes == $n)]
             | length == 1) and
            ([.[] | select(.event == "step_done" and .step == "write" and .partition == $p and .skipped_bytes == $n)]
             | length == 1)' "$WORK/out" >/dev/null || { cat "$WORK/out"; fail "events of $p"; }
    done
    jq -e '.skipped_bytes == 40960 + 20000 + 12288 + 36865 and .result == "ok"' "$WORK/report.jsonl" >/dev/null \
        || { cat "$WORK/report.jsonl"; fail "report record"; }
}

# One unit changed in the middle: AE3 MRAM (block 0 always, then the block),
# OSPI (4 KiB units: only the block).
case_one_unit() {
    mkimage "$WORK/hp.old" 40000
    mkimage "$WORK/r0.old" 50000
    changed "$WORK/hp.old" "$WORK/hp.new" 20000
    changed "$WORK/r0.old" "$WORK/r0.new" 30000
    run 0 ae3 --load HP="$WORK/hp.old" --load ROMFS0="$WORK/r0.old" -- \
        --image HP="$WORK/hp.new" --image ROMFS0="$WORK/r0.new" --skip-unchanged
    stat_is blocks_written 3
    assert_same "$WORK/hp.new" "$DUMP/HP.bin"
    assert_same "$WORK/r0.new" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "compared HP with $WORK/hp.new: 4.0 KiB of 39.1 KiB differ"
    assert_grep "$WORK/out" "write ROMFS0 done: 48.8 KiB (44.8 KiB unchanged, not written)"
}

# H7 internal flash (128 KiB sectors): a changed byte in the second sector
# rewrites that whole sector from its first block, nothing else; the flash
# model ANDs, so a block written into an unerased sector would show in the dump.
case_h7_unit() {
    mkimage "$WORK/fw.old" 300000
    changed "$WORK/fw.old" "$WORK/fw.new" 200000
    run 0 "$OMVEMU" --camera h7 --stats "$STATS" --dump "$DUMP" --load FIRMWARE="$WORK/fw.old" -- \
        "$OMVFLASHD" --board "$H7" --image FIRMWARE="$WORK/fw.new" --skip-unchanged
    stat_is blocks_written 32
    assert_same "$WORK/fw.new" "$DUMP/FIRMWARE.bin"
}

# The first unit changed: block 0 on OSPI; the first 128 KiB sector on the H7.
case_first_unit() {
    mkimage "$WORK/r0.old" 50000
    changed "$WORK/r0.old" "$WORK/r0.new" 0
    run 0 ae3 --load ROMFS0="$WORK/r0.old" -- --image ROMFS0="$WORK/r0.new" --skip-unchanged
    stat_is blocks_written 1
    assert_same "$WORK/r0.new" "$DUMP/ROMFS0.bin"
    mkimage "$WORK/fw.old" 300000
    changed "$WORK/fw.old" "$WORK/fw.new" 5
    run 0 "$OMVEMU" --camera h7 --stats "$STATS" --dump "$DUMP" --load FIRMWARE="$WORK/fw.old" -- \
        "$OMVFLASHD" --board "$H7" --image FIRMWARE="$WORK/fw.new" --skip-unchanged
    stat_is blocks_written 32
    assert_same "$WORK/fw.new" "$DUMP/FIRMWARE.bin"
}

# The last unit, shorter than a unit: its short last block on OSPI; on the H7
# the partial third sector (262144..300000 = 10 blocks, the last one short).
case_last_partial_unit() {
    mkimage "$WORK/r0.old" 50001
    changed "$WORK/r0.old" "$WORK/r0.new" 50000
    run 0 ae3 --load ROMFS0="$WORK/r0.old" -- --image ROMFS0="$WORK/r0.new" --skip-unchanged
    stat_is blocks_written 1
    assert_same "$WORK/r0.new" "$DUMP/ROMFS0.bin"
    mkimage "$WORK/fw.old" 300000
    changed "$WORK/fw.old" "$WORK/fw.new" 299999
    run 0 "$OMVEMU" --camera h7 --stats "$STATS" --dump "$DUMP" --load FIRMWARE="$WORK/fw.old" -- \
        "$OMVFLASHD" --board "$H7" --image FIRMWARE="$WORK/fw.new" --skip-unchanged
    stat_is blocks_written 10
    assert_same "$WORK/fw.new" "$DUMP/FIRMWARE.bin"
}

# A flash cell that did not take block 3 (the write reported success): the
# camera holds something other than what was last written to it. The next
# --skip-unchanged run finds it by reading back and writes that block only.
case_readback_differs() {
    mkimage "$WORK/r0.img" 30000
    cat >"$WORK/twice.sh" <<EOF
set -e
"$OMVFLASHD" --board "$AE3" --image ROMFS0="$WORK/r0.img" --no-reset
"$OMVFLASHD" --board "$AE3" --image ROMFS0="$WORK/r0.img" --skip-unchanged
EOF
    run 0 "$OMVEMU" --camera ae3 --stats "$STATS" --dump "$DUMP" --fault bitflip@ROMFS0:3 -- bash "$WORK/twice.sh"
    stat_is blocks_written $((8 + 1))
    assert_same "$WORK/r0.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/out" "compared ROMFS0 with $WORK/r0.img: 4.0 KiB of 29.3 KiB differ"
}

# The read-back of block 2 fails (a truncated UPLOAD): that block is written,
# the rest is still compared, and the user is told.
case_readback_fails() {
    mkimage "$WORK/r0.img" 30000
    run 0 ae3 --load ROMFS0="$WORK/r0.img" --fault upload-short@ROMFS0:2 -- \
        --image ROMFS0="$WORK/r0.img" --skip-unchanged
    stat_is blocks_written 1
    assert_same "$WORK/r0.img" "$DUMP/ROMFS0.bin"
    assert_grep "$WORK/err" "warning: ROMFS0: read-back failed at offset 0x2000"
    assert_grep "$WORK/err" "truncated read at block 2"
    assert_grep "$WORK/err" "that part is written"
}

# A firmware that changed from its start: after 64 KiB that differ in a row
# (skip_give_up of HP) the rest is written without reading it first.
case_give_up() {
    mkimage "$WORK/hp.old" 200000
    mkimage "$WORK/hp.new" 200000
    run 0 ae3 --load HP="$WORK/hp.old" -- --image HP="$WORK/hp.new" --skip-unchanged
    stat_is upload $((16 + 1))
    stat_is blocks_written 49
    assert_same "$WORK/hp.new" "$DUMP/HP.bin"
}

# --verify still reads back everything written, skipped or not.
case_verify_reads_all() {
    mkimage "$WORK/r0.old" 50000
    changed "$WORK/r0.old" "$WORK/r0.new" 30000
    run 0 ae3 --load ROMFS0="$WORK/r0.old" -- --image ROMFS0="$WORK/r0.new" --skip-unchanged --verify
    stat_is blocks_written 1
    stat_is upload $((2 * 13 + 1))
    assert_grep "$WORK/out" "verify ROMFS0 done"
}

# The legacy serial bootloader cannot read back: refused, not ignored, before
# anything is erased or written; the camera goes back to its application.
case_legacy_refused() {
    mkdir -p "$WORK/fw"
    mkimage "$WORK/fw/firmware.bin" 9000
    run 17 "$OMVEMU" --camera h7-legacy --window-ms 30000 --stats "$STATS" --dump "$DUMP" -- \
        "$OMVFLASHD" --board "$H7" --firmware "$WORK/fw" --skip-unchanged
    assert_grep "$WORK/err" "omvflashd: error: the cdc_bootloader bootloader cannot read partitions back, so --skip-unchanged cannot tell what changed: nothing was written"
    [ "$(grep -c 'omvflashd: error:' "$WORK/err")" = 1 ] || fail "more than one error line"
    stat_is cmd_erase 0
    stat_is cmd_write 0
    stat_is cmd_reset 1
}

# The issue's check over random old/new pairs: sizes that are not multiples
# of the 4 KiB unit, longer and shorter images, scattered changes. The
# emulated flash must hold the new image over its length; past it, what was
# there before (as after a full write).
case_random_pairs() {
    local i
    for i in 1 2 3 4 5 6; do
        local old_size=$((RANDOM % 60000 + 1)) new_size=$((RANDOM % 60000 + 1))
        [ "$i" = 1 ] && new_size=$old_size
        mkimage "$WORK/old.img" "$old_size"
        if [ "$i" -le 3 ]; then
            # new = old (cut or extended) with a few flipped bytes
            { head -c "$new_size" "$WORK/old.img"; head -c $((new_size > old_size ? new_size - old_size : 0)) /dev/urandom; } >"$WORK/base.img"
            changed "$WORK/base.img" "$WORK/new.img" $((RANDOM % new_size)) $((RANDOM % new_size))
        else
            mkimage "$WORK/new.img" "$new_size"
        fi
        rm -rf "$DUMP"
        run 0 ae3 --load ROMFS0="$WORK/old.img" -- --image ROMFS0="$WORK/new.img" --skip-unchanged
        cmp -n "$new_size" "$WORK/new.img" "$DUMP/ROMFS0.bin" || fail "pair $i ($old_size -> $new_size): new image not on the camera"
        local unit_end=$(((new_size + 4095) / 4096 * 4096))
        if [ "$old_size" -gt "$unit_end" ]; then
            cmp -i "$unit_end" "$WORK/old.img" "$DUMP/ROMFS0.bin" \
                || fail "pair $i: the old bytes past the new image's last unit changed"
        fi
    done
}

name=${1:?usage: test_skip.sh CASE}
"case_$name"
echo "PASS: $name"
