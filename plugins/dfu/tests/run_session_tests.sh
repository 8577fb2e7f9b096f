#!/bin/sh
# Runs the dfu plugin against the omvemu emulated AE3, one emulator per scenario.
#
#   run_session_tests.sh OMVEMU DFU_SESSION_TEST PLUGIN_SO [SCENARIO...]
#
# Each scenario starts `omvemu --camera ae3 ... -- dfu_session_test PLUGIN steps...`
# and then checks what the emulator dumped. Exit 0 when all pass, 77 (CTest
# skip) when the emulator cannot run here, 1 otherwise.
# DFU_TEST_VERBOSE=1 shows the plugin's debug log.
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 OMVEMU DFU_SESSION_TEST PLUGIN_SO [SCENARIO...]" >&2
    exit 2
fi
EMU=$1
TEST=$2
PLUGIN=$3
shift 3
for f in "$EMU" "$TEST" "$PLUGIN"; do
    [ -e "$f" ] || { echo "missing: $f" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfu-session.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
PASS=0
FAILED=""

# Deterministic images (no /dev/urandom: failures must reproduce).
mkimg() { # NAME SIZE SEED
    LC_ALL=C awk -v n="$2" -v seed="$3" 'BEGIN {
        srand(seed); for (i = 0; i < n; i++) printf "%c", 1 + int(rand() * 255) }' >"$WORK/$1"
    [ "$(wc -c <"$WORK/$1")" -eq "$2" ] || { echo "mkimg $1 failed" >&2; exit 1; }
}
mkimg hp.bin 300000 1          # 73 full blocks + a 992-byte tail
mkimg he.bin 12288 2           # exactly 3 blocks
mkimg rwfs.bin 4096 3          # one block (the IDE's "erase filesystem" size)
mkimg romfs1.bin 204800 4      # for --load and read-back
mkimg toc.bin 8192 5           # the whole TOC partition
mkimg small.bin 100 6
mkimg mb.bin 1048576 7         # 1 MiB timing run

ERRWRITE_MSG='device reported errWRITE (0x03: write/program failed), state dfuERROR'

# run NAME [omvemu options] -- [test steps]
run() {
    name=$1
    shift
    dump="$WORK/dump-$name"
    rm -rf "$dump"
    emu_args=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        emu_args="$emu_args $1"
        shift
    done
    shift
    # shellcheck disable=SC2086
    start=$(date +%s%N)
    "$EMU" --camera ae3 --dump "$dump" $emu_args -- "$TEST" "$PLUGIN" "$@" >"$WORK/$name.log" 2>&1
    rc=$?
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    if [ $rc -eq 0 ]; then
        echo "PASS $name (${ms} ms)"
        PASS=$((PASS + 1))
        return 0
    fi
    echo "FAIL $name (exit $rc, ${ms} ms)"
    sed 's/^/    /' "$WORK/$name.log"
    FAILED="$FAILED $name"
    return 1
}

check_dump() { # SCENARIO PARTITION IMAGE
    if cmp "$WORK/dump-$1/$2.bin" "$WORK/$3"; then
        echo "PASS $1: dump $2.bin equals $3"
        PASS=$((PASS + 1))
    else
        echo "FAIL $1: dump $2.bin differs from $3"
        FAILED="$FAILED $1-dump-$2"
    fi
}

want() { # is scenario $1 selected?
    [ -z "$SELECTED" ] && return 0
    for s in $SELECTED; do [ "$s" = "$1" ] && return 0; done
    return 1
}
SELECTED="$*"

# Can the emulator run at all (umockdev present, not nested in another mock)?
if ! "$EMU" --camera ae3 -- "$TEST" "$PLUGIN" describe >"$WORK/probe.log" 2>&1; then
    echo "SKIP: omvemu cannot run here:"
    sed 's/^/    /' "$WORK/probe.log"
    exit 77
fi

if want flash; then
    run flash -- describe list 1 open 3000 expect-version 1.0.3 \
        parts BOOT,HP,HE,ROMFS1,TOC,RWFS,ROMFS0,RECOVERY \
        write HP "$WORK/hp.bin" write HE "$WORK/he.bin" write RWFS "$WORK/rwfs.bin" \
        read HP 300000 "$WORK/hp.bin" \
        finish reset &&
        { check_dump flash HP hp.bin; check_dump flash HE he.bin; check_dump flash RWFS rwfs.bin; }
fi

if want readback; then
    # Whole-partition read (length 0) stops at the board size; with a board size
    # larger than the device's partition it stops at the 4-zero EOF frame,
    # which never reaches the sink; an explicit length past the end is an error.
    run readback --load ROMFS1="$WORK/romfs1.bin" --load TOC="$WORK/toc.bin" -- \
        open 3000 read ROMFS1 204800 "$WORK/romfs1.bin" \
        read TOC 0 "$WORK/toc.bin" read TOC 0@16384 "$WORK/toc.bin" \
        read-fail TOC 12288@16384 E_IO \
        "truncated read at block 2: got 4 of 4096 bytes (the device signalled the end of the partition)" \
        read ROMFS1 204800 "$WORK/romfs1.bin" finish keep
fi

if want errwrite; then
    # The error carries the device's own status, the block, and that a new
    # try may succeed; recover() brings the session back to dfuIDLE for it.
    run errwrite --fault errWRITE@HP:3 -- open 3000 \
        write-fail HP "$WORK/hp.bin" E_DEVICE "block 3 (offset 0x3000): $ERRWRITE_MSG" \
        expect-error errWRITE 3 1 recover OK \
        write HP "$WORK/hp.bin" finish reset && check_dump errwrite HP hp.bin
fi

if want boot; then
    run boot -- open 3000 \
        write-fail BOOT "$WORK/small.bin" E_DEVICE "block 0 (offset 0x0): $ERRWRITE_MSG" \
        expect-error errWRITE 0 1 \
        write RWFS "$WORK/rwfs.bin" finish reset && check_dump boot RWFS rwfs.bin
fi

if want stall; then
    run stall --fault stall@HP:3 -- open 3000 \
        write-fail HP "$WORK/hp.bin" E_DEVICE "DNLOAD of block 3 stalled; device status OK, state dfuDNLOAD-IDLE" \
        write HP "$WORK/hp.bin" finish reset && check_dump stall HP hp.bin
fi

if want unplug; then
    # Gone for good: retriable, but recover() says the session must be opened again.
    run unplug --fault unplug@HP:5 -- open 3000 \
        write-fail HP "$WORK/hp.bin" E_IO "device disconnected at block 5 (offset 0x5000)" \
        expect-error - 5 1 recover E_NO_DEVICE finish reset
fi

if want busy; then
    run busy --fault busy@HE:2 -- opt status_timeout_ms=400 open 3000 \
        write-fail HE "$WORK/he.bin" E_TIMEOUT \
        "block 2 (offset 0x2000) of HE: device still busy after 400 ms (raise timeout_ms of partition HE or [dfu] status_timeout_ms)"
fi

if want slow; then
    run slow --fault slow=300@HE:1 -- opt status_timeout_ms=2000 open 3000 write HE "$WORK/he.bin" finish reset &&
        check_dump slow HE he.bin
    run slow-timeout --fault slow=3000@HE:1 -- opt status_timeout_ms=500 open 3000 \
        write-fail HE "$WORK/he.bin" E_TIMEOUT "~block 1 (offset 0x1000) of HE: no answer to GETSTATUS within"
fi

if want stuck; then
    run stuck --fault stuck@HE:1 -- open 3000 \
        write-fail HE "$WORK/he.bin" E_DEVICE "block 1 (offset 0x1000): $ERRWRITE_MSG" close \
        open-fail 1000 E_DEVICE "device stays in dfuERROR (status errWRITE, 0x03: write/program failed) after CLRSTATUS"
fi

if want upload-short; then
    run upload-short --load ROMFS1="$WORK/romfs1.bin" --fault upload-short@ROMFS1:2 -- open 3000 \
        read-fail ROMFS1 204800 E_IO "truncated read at block 2: got 100 of 4096 bytes" \
        read ROMFS1 204800 "$WORK/romfs1.bin"
fi

if want appear; then
    run appear --appear-after 400 -- open 3000 write RWFS "$WORK/rwfs.bin" finish reset &&
        check_dump appear RWFS rwfs.bin
    run appear-late --appear-after 2000 -- list 0 open-fail 300 E_NO_DEVICE \
        "no DFU device 37C5:96E3 is attached"
fi

if want match; then
    run match -- match-serial NOSUCHSERIAL list 0 \
        open-fail 100 E_NO_DEVICE "no DFU device 37C5:96E3 serial NOSUCHSERIAL is attached"
    run match-port -- match-port 9-9 list 0 \
        open-fail 100 E_NO_DEVICE "no DFU device 37C5:96E3 at port 9-9 is attached"
fi

if want multi; then
    # Two cameras: refuse to guess, list both; --serial picks one.
    run multi --camera ae3 --serial BBB -- list 2 \
        open-fail 100 E_MULTIPLE "~2 devices match 37C5:96E3: " \
        open-fail 100 E_MULTIPLE "~serial BBB at port 1-2" \
        match-serial BBB open 1000 write RWFS "$WORK/rwfs.bin" finish reset &&
        check_dump multi BBB/RWFS rwfs.bin
fi

if want window; then
    # Reading the bootloader header attaches the session: the 1.5 s window no
    # longer applies. Without it the bootloader leaves and the write fails.
    run window -- open 3000 sleep 2000 write RWFS "$WORK/rwfs.bin" finish reset &&
        check_dump window RWFS rwfs.bin
    run window-left -- opt bootloader_partition= open 3000 sleep 2000 \
        write-fail RWFS "$WORK/rwfs.bin" E_IO "~device disconnected" finish reset
fi

if want cancel; then
    # Cancel mid-write: OMV_E_CANCELLED naming the block, and the session is
    # back in dfuIDLE for the next write.
    run cancel -- open 3000 cancel-after 3 \
        write-fail HP "$WORK/hp.bin" E_CANCELLED "cancelled before block 3 (offset 0x3000)" \
        cancel-after 0 write HP "$WORK/hp.bin" finish reset && check_dump cancel HP hp.bin
fi

if want ranges; then
    # Only the erase units the ranges touch go out, whole, from their first
    # block (RWFS with 8K units: a change at 0x2100 sends blocks 2 and 3); on
    # an MRAM partition (no erase units, block 0 always) a change at 0x3000
    # sends blocks 0 and 3. Unsent blocks keep what the device held.
    mkimg he2.bin 16384 8
    { head -c 8192 "$WORK/he.bin"; tail -c +8193 "$WORK/he2.bin"; } >"$WORK/mix1.bin"
    { head -c 4096 "$WORK/he2.bin"; tail -c +4097 "$WORK/he.bin"; tail -c +12289 "$WORK/he2.bin"; } >"$WORK/mix2.bin"
    run ranges --load RWFS="$WORK/he.bin" --load HE="$WORK/he.bin" -- open 3000 \
        opt RWFS:erase_units=8K write-ranges RWFS "$WORK/he2.bin" 0x2100+1 8192 \
        read RWFS 16384 "$WORK/mix1.bin" \
        opt HE:erase_units=none opt HE:always_block0=yes write-ranges HE "$WORK/he2.bin" 0x3000+4 8192 \
        read HE 16384 "$WORK/mix2.bin" finish keep &&
        { check_dump ranges RWFS mix1.bin; check_dump ranges HE mix2.bin; }
    # Without the board's erase units a ranged write would leave blocks on unerased flash: refused.
    run ranges-unset -- open 3000 \
        write-ranges-fail ROMFS0 "$WORK/he2.bin" 0x2100+1 E_UNSUPPORTED \
        "partition ROMFS0 has no erase_units in the board file: writing only some ranges of it would leave blocks on unerased flash" \
        finish keep
    # An image at an offset lands at its address; a read starts anywhere.
    dd if="$WORK/he.bin" of="$WORK/he-100.bin" bs=1 skip=256 count=100 2>/dev/null
    run offset -- open 3000 write-at RWFS 0x3000 "$WORK/he.bin" read RWFS 0x3000:12288 "$WORK/he.bin" \
        read RWFS 0x3100:100 "$WORK/he-100.bin" finish keep
fi

if want erase; then
    # --erase-filesystem the openmv_dfu way: one block of zeros at block 0.
    head -c 4096 /dev/zero >"$WORK/zeros.bin"
    run erase --load RWFS="$WORK/rwfs.bin" -- open 3000 erase RWFS read RWFS 4096 "$WORK/zeros.bin" finish keep &&
        check_dump erase RWFS zeros.bin
fi

if want mismatch; then
    run mismatch -- opt transfer_size=2048 open-fail 1000 E_MISMATCH \
        "device wTransferSize is 4096 but [dfu] transfer_size is 2048: openmv_dfu computes the address as start + block x 4096, so blocks of another size would land at wrong addresses; fix the board file"
fi

if want timing; then
    stats=""
    if "$EMU" --help 2>&1 | grep -q -- "--stats"; then
        stats="--stats $WORK/stats.txt"
    fi
    # shellcheck disable=SC2086
    run timing $stats -- open 3000 write HP "$WORK/mb.bin" finish reset && check_dump timing HP mb.bin
    grep "ok   write HP" "$WORK/timing.log" | sed 's/^ok   /    timing: /'
    if [ -n "$stats" ] && [ -f "$WORK/stats.txt" ]; then
        sed 's/^/    stats: /' "$WORK/stats.txt"
    fi
fi

echo "$PASS passed${FAILED:+, failed:$FAILED}"
[ -z "$FAILED" ]
