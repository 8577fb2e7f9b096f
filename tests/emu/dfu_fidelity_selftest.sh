#!/bin/bash
# Self-test of the openmv_dfu model where it follows TinyUSB's DFU class (at
# the commit OpenMV pins) and OpenMV's boot/src/common/dfu.c to the letter:
# the edge cases of docs/protocols.md §3.3-3.8 that dfu-util never exercises,
# sent raw by dfuse_probe through the real libusb.
#   usage: dfu_fidelity_selftest.sh /path/to/omvemu /path/to/dfuse_probe
# Every check runs (a failure does not stop the others); exit 0 when all pass,
# 1 otherwise, 77 (skip) without umockdev-wrapper.
set -uo pipefail

EMU=$(readlink -f "${1:?usage: dfu_fidelity_selftest.sh OMVEMU PROBE}")
PROBE=$(readlink -f "${2:?usage: dfu_fidelity_selftest.sh OMVEMU PROBE}")
command -v umockdev-wrapper >/dev/null || { echo "SKIP: umockdev-wrapper not installed"; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/omvemu-fidelity.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tmp"
export TMPDIR="$W/tmp"
cd "$W" || exit 1

failed=0 pass=0
fail() { echo "FAIL: $1: $2" >&2; failed=$((failed + 1)); }
ok() { pass=$((pass + 1)); echo "ok $pass - $1"; }
hex() { od -An -v -tx1 "$@" | tr -d ' \n'; }
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" stats.json; }

# probe OMVEMU_ARGS... -- STEPS...: one session on an emulated AE3; the probe's
# answers (GETSTATUS without its timing) go to out.txt, omvemu's stderr to err.txt.
probe() {
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    rm -rf dump stats.json
    "$EMU" --camera ae3 --stats stats.json --dump dump "${args[@]}" -- "$PROBE" 37c5:96e3 "$@" \
        2>err.txt | sed 's/ ms=[0-9]*$//' >out.txt
}
# expect NAME LINE...: out.txt must be exactly these lines
expect() {
    local name=$1; shift
    if printf '%s\n' "$@" | cmp -s - out.txt; then return 0; fi
    fail "$name" "answers differ (want | got):"
    printf '%s\n' "$@" | diff - out.txt | sed 's/^/    /' >&2
    return 1
}

head -c 4096 /dev/urandom >a.bin
head -c 4096 /dev/urandom >b.bin
head -c 12288 /dev/urandom >c.bin
A=$(hex a.bin) B=$(hex b.bin)
B20=$(hex -N 20 b.bin) B2=$(hex -N 2 b.bin)

# --- 1. AE3 MRAM written without block 0 first: the bootloader hangs ---------
t=hang_without_block0
probe -- alt:1 "dn:1:$A" st to:300 state st
if expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" \
        "state ERR LIBUSB_ERROR_TIMEOUT" "st ERR LIBUSB_ERROR_TIMEOUT"; then
    if [ "$(stat_of hung)" != 1 ] || [ "$(stat_of blocks_written)" != 0 ]; then
        fail $t "stats: $(cat stats.json)"
    elif ! grep -q "^HP block 1 .*power-cycled" dump/HUNG.txt 2>/dev/null; then
        fail $t "dump/HUNG.txt missing or wrong: $(cat dump/HUNG.txt 2>&1)"
    elif ! grep -q "HP block 1 written while its MPU region is read-only" err.txt; then
        fail $t "omvemu did not say why: $(cat err.txt)"
    else
        ok "$t: first GETSTATUS answers dfuDNBUSY, then no request is answered (timeouts); stats hung=1, dump/HUNG.txt"
    fi
fi

t=hang_reset
rm -rf dump stats.json
"$EMU" --camera ae3 -- sh -c "'$PROBE' 37c5:96e3 alt:1 dn:1:$A st to:300 reset state; sleep 0.3; '$PROBE' 37c5:96e3 state" \
    2>err.txt | sed 's/ ms=[0-9]*$//' >out.txt
if expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "reset ERR LIBUSB_ERROR_NOT_FOUND" \
        "state ERR LIBUSB_ERROR_NO_DEVICE"; then
    if grep -q "no 37c5:96e3" err.txt; then
        ok "$t: a USB reset of the hung camera fails (NOT_FOUND) and it drops off the bus for good"
    else
        fail $t "device still listed after the failed reset: $(cat err.txt)"
    fi
fi

t=hang_power_cycle
rm -rf dump stats.json
"$EMU" --camera ae3 --stats stats.json -- sh -c "'$PROBE' 37c5:96e3 alt:1 dn:1:$A st to:300 state;
    echo 'cycle 1 100' >\"\$OMVEMU_POWER\"; sleep 0.6;
    '$PROBE' 37c5:96e3 alt:1 dn:0:$A st st dn:1:$B st st" 2>err.txt | sed 's/ ms=[0-9]*$//' >out.txt
if expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "state ERR LIBUSB_ERROR_TIMEOUT" \
        "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" \
        "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0"; then
    if [ "$(stat_of hung)" = 1 ] && [ "$(stat_of blocks_written)" = 2 ]; then
        ok "$t: after a port power cycle the camera boots again and takes a download from block 0"
    else
        fail $t "stats: $(cat stats.json)"
    fi
fi

t=manifest_relocks_abort_does_not
probe -- alt:1 "dn:0:$A" st st abort "dn:1:$B" st st dn:0:- st st "dn:2:$B" st to:300 state
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "abort ok" \
    "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" \
    "dn ok" "st status=0 state=7 poll=0" "st status=0 state=2 poll=0" \
    "dn ok" "st status=0 state=4 poll=0" "state ERR LIBUSB_ERROR_TIMEOUT" &&
    ok "$t: block 1 after ABORT is written; after the manifestation block 2 without block 0 hangs"

# --- 2. UPLOAD of RECOVERY: 0 bytes and errFILE ------------------------------
t=recovery_upload
probe -- alt:7 up:1:4096 state up:0:4096 st clr st
expect $t "alt ok" "up 00000000" "state 2" "up " "st status=2 state=10 poll=0" "clr ok" \
    "st status=0 state=2 poll=0" &&
    ok "$t: block 0 answers 0 bytes and dfuERROR/errFILE; block 1 the 4-byte end frame"

# --- 3. UPLOAD changes no state (no dfuUPLOAD-IDLE), the end frame neither ----
t=upload_keeps_state
probe -- alt:3 up:0:4 state "dn:0:$A" st st up:300:4096 state up:0:4 state
expect $t "alt ok" "up ffffffff" "state 2" "dn ok" "st status=0 state=4 poll=0" \
    "st status=0 state=5 poll=0" "up 00000000" "state 5" "up ${A:0:8}" "state 5" &&
    ok "$t: DNLOAD right after UPLOAD needs no ABORT; UPLOAD and its end frame leave dfuDNLOAD-IDLE as it is"

# --- 4. UPLOAD between DNLOAD and GETSTATUS drops the block --------------------
t=upload_drops_dnload
probe -- alt:1 "dn:0:$A" up:0:4 st state "dn:1:$B" st to:300 state
if expect $t "alt ok" "dn ok" "up ffffffff" "st status=0 state=5 poll=0" "state 5" \
        "dn ok" "st status=0 state=4 poll=0" "state ERR LIBUSB_ERROR_TIMEOUT"; then
    if [ "$(stat_of blocks_written)" != 0 ] || [ "$(stat_of dnload_dropped)" != 1 ] ||
        [ -e dump/HP.bin ]; then
        fail $t "block 0 landed after all: $(cat stats.json)"
    else
        ok "$t: GETSTATUS answers dfuDNLOAD-IDLE/OK, nothing written, the MRAM region stays read-only"
    fi
fi

t=upload_drops_manifest
probe -- alt:1 "dn:0:$A" st st dn:0:- up:0:4 st "dn:1:$B" st st
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "dn ok" \
    "up ${A:0:8}" "st status=0 state=2 poll=0" "dn ok" "st status=0 state=4 poll=0" \
    "st status=0 state=5 poll=0" &&
    ok "$t: the manifestation is skipped (no dfuMANIFEST), so the region stays writable"

# --- 5. MRAM round-up takes the transfer buffer's stale bytes -----------------
t=mram_stale_dnload
probe -- alt:3 "dn:0:$A" st st "dn:1:$B20" st st up:1:32
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "dn ok" \
    "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "up $B20${A:40:24}" &&
    ok "$t: a 20-byte block stores 32 bytes, the last 12 from the previous block"

t=mram_stale_upload
probe --load ROMFS1=c.bin -- alt:3 "dn:0:$A" st st up:2:4096 "dn:1:$B20" st st up:1:32
C2=$(hex -j 8192 -N 4096 c.bin)
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" \
    "up $C2" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" \
    "up $B20${C2:40:24}" &&
    ok "$t: after an UPLOAD the stale bytes are the uploaded data"

t=mram_stale_eof_frame
probe -- alt:3 "dn:0:$A" st st up:999:4096 "dn:1:$B2" st st up:1:16
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "up 00000000" \
    "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" "up ${B2}0000${A:8:24}" &&
    ok "$t: the end frame zeroes the buffer's first 4 bytes, which a 2-byte block then stores"

# --- 6. STALL changes no state; BOOT keeps errWRITE until CLRSTATUS ---------
t=boot_errwrite_kept
probe -- alt:0 "dn:1:$A" st st "dn:1:$A" st clr st
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=3 state=10 poll=0" \
    "dn ERR LIBUSB_ERROR_PIPE" "st status=3 state=10 poll=0" "clr ok" "st status=0 state=2 poll=0" &&
    ok "$t: dfuERROR/errWRITE, a further DNLOAD stalls and the status stays errWRITE"

t=stall_keeps_state
probe --fault stall@HP:1 -- alt:1 "dn:0:$A" "dn:0:$B" st st up:0:4 "dn:1:$B" st
expect $t "alt ok" "dn ok" "dn ERR LIBUSB_ERROR_PIPE" "st status=0 state=4 poll=0" \
    "st status=0 state=5 poll=0" "up ${A:0:8}" "dn ERR LIBUSB_ERROR_PIPE" \
    "st status=0 state=5 poll=0" &&
    ok "$t: a second DNLOAD before GETSTATUS stalls and the first block is written; an injected stall leaves dfuDNLOAD-IDLE"

# --- 7. The write runs in the first GETSTATUS's status stage -------------------
t=state_after_first_getstatus
probe -- alt:1 "dn:0:$A" st state st
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "state 3" "st status=0 state=5 poll=0" &&
    ok "$t: GETSTATE between the two GETSTATUS answers dfuDNLOAD-SYNC"

t=write_time_on_next_request
t0=${EPOCHREALTIME/./}
probe --fault slow=400@HP:0 -- alt:1 "dn:0:$A" st abort
el=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
if expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "abort ok"; then
    if [ "$el" -ge 400 ]; then
        ok "$t: an ABORT right after the first GETSTATUS waits for the 400 ms write ($el ms)"
    else
        fail $t "the run took $el ms: the ABORT did not wait for the write"
    fi
fi

# --- 8. The window: a manifestation's GETSTATUS attaches ----------------------
t=window_attached_by_manifest
# The bootloader's own 1.5 s window (not a shorter one): the probe must reach
# its first request inside it even on a loaded machine under ASan.
probe -- alt:1 dn:0:- st st sleep:1900 state
expect $t "alt ok" "dn ok" "st status=0 state=7 poll=0" "st status=0 state=2 poll=0" "state 2" &&
    ok "$t: zero-length DNLOAD + GETSTATUS in the window keeps the bootloader"
t=window_not_attached_by_getstatus
probe -- alt:1 st sleep:1900 state
expect $t "alt ok" "st status=0 state=2 poll=0" "state ERR LIBUSB_ERROR_NO_DEVICE" &&
    ok "$t: GETSTATUS alone does not: the bootloader leaves after 1.5 s"

t=window_ended_by_unconfigure
probe -- alt:1 "dn:0:$A" st st config:-1 release config:-1 state
expect $t "alt ok" "dn ok" "st status=0 state=4 poll=0" "st status=0 state=5 poll=0" \
    "config ERR LIBUSB_ERROR_BUSY" "release ok" "config ok" "state ERR LIBUSB_ERROR_NO_DEVICE" &&
    ok "$t: unconfiguring (refused while the interface is claimed) un-mounts TinyUSB: the bootloader leaves, attached or not"

# --- 9. Timing model: per-block read and data-stage times ---------------------
t=read_time_model
printf '[timing]\nread_us_per_block=100000\ndata_us_per_block=40960\n[timing:ospi]\nread_us_per_block=300000\n' >m.ini
probe --model m.ini -- alt:3 up:0:4096 up:1:2048 up:300:4096 alt:6 up:0:4096
sed -i 's/^up \(.\{8\}\).*/up \1/' out.txt
# MRAM 100 ms + 50 ms (2048 bytes) + nothing for the end frame; OSPI 300 ms;
# data stages 4096 + 2048 + 4 + 4096 bytes at 40960 us per 4096.
want=$((100000 + 50000 + 300000 + 40960 + 20480 + 40 + 40960))
if expect $t "alt ok" "up ffffffff" "up ffffffff" "up 00000000" "alt ok" "up ffffffff"; then
    if [ "$(stat_of device_busy_us)" = "$want" ]; then
        ok "$t: device_busy_us = $want (read per memory + data stage, scaled by length)"
    else
        fail $t "device_busy_us $(stat_of device_busy_us), want $want"
    fi
fi

left=$(ls "$TMPDIR" | grep -c '^umockdev\.' || true)
[ "$left" = 0 ] || fail cleanup "$left umockdev testbed dir(s) left behind"

[ "$failed" = 0 ] || { echo "$failed check(s) FAILED, $pass passed" >&2; exit 1; }
echo "all $pass checks passed"
