#!/bin/bash
# Self-test of omvemu's DfuSe cameras (STM32 ROM bootloaders, Arduino
# bootloader) against Debian's dfu-util in DfuSe mode, plus raw request
# sequences through dfuse_probe (libusb) that dfu-util never sends.
#   usage: dfuse_selftest.sh /path/to/omvemu /path/to/dfuse_probe
# Exits 0 when every check passes, 1 on the first failure, 77 (skip) when
# dfu-util, dfu-suffix, python3 or umockdev-wrapper is missing.
set -euo pipefail

EMU=$(readlink -f "${1:?usage: dfuse_selftest.sh OMVEMU DFUSE_PROBE}")
PROBE=$(readlink -f "${2:?usage: dfuse_selftest.sh OMVEMU DFUSE_PROBE}")
MKDFUSE=$(readlink -f "$(dirname "$0")/../tools/mkdfuse.py")
for t in dfu-util dfu-suffix python3 umockdev-wrapper; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/omvemu-dfuse.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tmp"
export TMPDIR="$W/tmp"
cd "$W"

pass=0
fail() { echo "FAIL: $*" >&2; [ -f out.txt ] && grep -v $'^\\(Erase\\|Download\\|Upload\\)\t' out.txt | tail -n 15 >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
run() {
    local want=$1; shift
    local rc=0
    "$EMU" "$@" >out.txt 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: omvemu $*"
}
has() { grep -q -- "$1" out.txt || fail "output lacks '$1'"; }
hasnt() { ! grep -q -- "$1" out.txt || fail "output has '$1'"; }
stat_is() { grep -q "\"$1\":$2[,}]" stats.json || fail "stats: want $1=$2, got $(cat stats.json)"; }
erased_is() {
    local got
    got=$(grep -o '"erased":{[^}]*}' stats.json)
    [ "$got" = "\"erased\":{$1}" ] || fail "erased sectors: want {$1}, got ${got#\"erased\":}"
}
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }
ff() { head -c "$1" /dev/zero | tr '\0' '\377'; }

# Images. app.bin starts with a stack pointer into RAM (0x24080000), so the
# Arduino bootloader starts it; bad.bin starts with 0xFFFFFFFF, so it does not.
head -c 100000 /dev/urandom >rnd.bin
{ printf '\x00\x00\x08\x24'; head -c 99996 rnd.bin; } >app.bin
{ printf '\xff\xff\xff\xff'; head -c 99996 rnd.bin; } >bad.bin
head -c 5000 /dev/urandom >small.bin
head -c 4096 /dev/urandom >a4k.bin
head -c 4096 /dev/urandom >b4k.bin
head -c 32768 /dev/urandom >fs.bin
# Helpers for COMMANDs run under omvemu: wait (bounded) for the device to
# leave the bus, or to come back re-enumerated with device number N.
cat >wait.sh <<'EOF2'
wait_gone() { t=$(($1 * 20)); while [ $t -gt 0 ]; do
    dfu-util -l 2>/dev/null | grep "Found DFU" >/dev/null || return 0; sleep 0.05; t=$((t - 1)); done
    echo STILL_THERE; return 1; }
wait_devnum() { t=$(($2 * 20)); while [ $t -gt 0 ]; do
    dfu-util -l 2>/dev/null | grep "devnum=$1," >/dev/null && return 0; sleep 0.05; t=$((t - 1)); done
    echo NOT_BACK; return 1; }
EOF2

# --- 1. descriptors as dfu-util lists them ------------------------------------
for spec in portenta:2341:035b:0200:4 nicla:2341:035f:0200:4 giga:2341:0366:0200:4 \
            stm32-rom-h7:0483:df11:0200:2 stm32-rom-f7:0483:df11:0200:2 stm32-rom-f4:0483:df11:2200:4; do
    IFS=: read -r cam vid pid ver nalt <<<"$spec"
    run 0 --camera "$cam" -- dfu-util -l
    [ "$(grep -c "Found DFU: \[$vid:$pid\] ver=$ver" out.txt)" = "$nalt" ] ||
        fail "$cam: want $nalt alts of $vid:$pid ver=$ver"
done
run 0 --camera portenta -- dfu-util -l
has 'alt=0, name="@Internal Flash  2MB   /0x08000000/01\*128Ka,15\*128Kg", serial="0035001C3231510F33353501"'
has 'alt=1, name="@Ext RAW  Flash 16MB   /0x90000000/4096\*4Kg"'
run 0 --camera stm32-rom-h7 -- dfu-util -l
has 'alt=0, name="@Internal Flash   /0x08000000/16\*128Kg", serial="2073327A5301"'
has 'alt=1, name="@Option Bytes   /0x5200201C/01\*128 e"'
ok "six DfuSe cameras: ids, bcdDevice, alt strings, serials as dfu-util lists them"

# --- 2. Portenta: the IDE's firmware command ------------------------------------
run 0 --camera portenta --dump d2 --stats stats.json -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08040000:leave -D app.bin; rc=$?; wait_gone 10; exit $rc'
cmp app.bin d2/0x08040000.bin || fail "dump differs from the image"
[ "$(ls d2)" = "0x08040000.bin" ] || fail "dump holds more than the image: $(ls d2)"
has "Transitioning to dfuMANIFEST state"
hasnt STILL_THERE
erased_is '"0x08040000":1'
stat_is blocks_written 25; stat_is set_address 26; stat_is dnload_zero 1; stat_is leaves 1
stat_is jump_address '"0x08040000"'; stat_is early_polls 0
ok "portenta: -s 0x08040000:leave -D: dump identical, one sector erased, board resets into the sketch"

run 0 --camera portenta --stats stats.json -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08040000:leave -D bad.bin && wait_devnum 3 10 && dfu-util -l'
[ "$(grep -c 'Found DFU: \[2341:035b\] ver=0200, devnum=3' out.txt)" = 4 ] || fail "bootloader did not come back"
stat_is leaves 1; stat_is jump_address null
ok "portenta: no valid stack pointer at 0x08040000 -> the bootloader comes back after the reset"

# --- 3. read-back by address -----------------------------------------------------
run 0 --camera portenta --dump d3 -- sh -c 'dfu-util -a 0 -s 0x08040000 -D app.bin &&
    dfu-util -a 0 -s 0x08040000:100000 -U up3.bin &&
    dfu-util -a 1 -s 0x90B00000 -D rnd.bin && dfu-util -a 1 -s 0x90B00000:100000 -U q3.bin'
cmp app.bin up3.bin || fail "internal flash read-back"
cmp rnd.bin q3.bin || fail "QSPI read-back"
cmp rnd.bin d3/0x90b00000.bin || fail "QSPI dump"
run 0 --camera stm32-rom-f7 --load 0x08100000=rnd.bin -- dfu-util -a 0 -s 0x08100000:100000 -U up3b.bin
cmp rnd.bin up3b.bin || fail "--load then -U"
ok "dfu-util -U ADDR:LEN reads back what was written or preset (internal flash, QSPI)"

# --- 4. only the touched sectors are erased (F4 16/64/128 KB map) -----------------
run 0 --camera stm32-rom-f4 --load 0x08008000=fs.bin --dump d4 --dump-range 0x08008000:0x8000 \
    --stats stats.json -- dfu-util -a 0 -s 0x08010000 -D rnd.bin
cmp rnd.bin d4/0x08010000.bin || fail "F4 dump"
cmp fs.bin d4/range-0x08008000-0x08010000.bin || fail "FILESYSTEM sectors were touched"
erased_is '"0x08010000":1,"0x08020000":1'
has "DFU state(10) = dfuERROR, status(10)"; has "Clearing status"
ok "f4: 100000 bytes at 0x08010000 erase the 64 KB and one 128 KB sector only; ROM starts in dfuERROR/errFIRMWARE"

# --- 5. leaving through the ROM -----------------------------------------------------
run 74 --camera stm32-rom-h7 --dump d5 --stats stats.json -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08040000:leave -D rnd.bin; rc=$?; wait_gone 10; exit $rc'
has "Error during download get_status"; hasnt STILL_THERE
cmp rnd.bin d5/0x08040000.bin || fail "H7 ROM dump"
stat_is jump_address '"0x08040000"'; stat_is leaves 1
run 0 --camera stm32-rom-f7 --stats stats.json -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08020000:leave -D rnd.bin; rc=$?; wait_gone 10; exit $rc'
has "Transitioning to dfuMANIFEST state"; hasnt STILL_THERE
stat_is jump_address '"0x08020000"'
ok ":leave: H7 ROM vanishes before answering (dfu-util exit 74, as reported on hardware), F7 answers dfuMANIFEST; both jump"

# --- 6. a .dfu file (dfu-suffix adds suffix + CRC) -------------------------------------
python3 "$MKDFUSE" fw.dfu --name 0=firmware 0:0x08010000:small.bin 0:0x08020000:a4k.bin
dfu-suffix -v 0483 -p df11 -d 0xffff -S 0x011a -a fw.dfu >/dev/null
dfu-suffix -c fw.dfu >out.txt 2>&1; has "contains a DFU suffix"
run 0 --camera stm32-rom-f4 --dump d6 --stats stats.json -- dfu-util -a 0 -s :leave -D fw.dfu
cmp small.bin d6/0x08010000.bin || fail "element 1"
cmp a4k.bin d6/0x08020000.bin || fail "element 2"
# dfu-util sends no SET_ADDRESS before leaving with a .dfu: the ROM jumps to
# the pointer its last chunk left (0x08020800), not to the first element.
stat_is jump_address '"0x08020800"'
ok ".dfu (prefix + dfu-suffix CRC): both elements land; dfu-util's -s :leave jumps to the last chunk's address"

# --- 7. a write to an unerased page fails as the device does --------------------------
# Overlapping elements: dfu-util erases the page once, then writes element 2
# onto programmed flash.
python3 "$MKDFUSE" ov.dfu 0:0x08040000:a4k.bin 0:0x08040800:b4k.bin
dfu-suffix -v 0483 -p df11 -S 0x011a -a ov.dfu >/dev/null
run 74 --camera stm32-rom-h7 --dump d7 --stats stats.json -- dfu-util -a 0 -s : -D ov.dfu
has "status(3) = "
cmp a4k.bin d7/0x08040000.bin || fail "H7: element 1 damaged"
stat_is unerased_writes 1
run 74 --camera stm32-rom-f7 --dump d7f --stats stats.json -- dfu-util -a 0 -s : -D ov.dfu
want=$(python3 -c "import sys;a=open('a4k.bin','rb').read();b=open('b4k.bin','rb').read();sys.stdout.write(bytes(x&y for x,y in zip(a[2048:2052],b[:4])).hex())")
got=$(od -An -tx1 -j 2048 -N 4 d7f/0x08040000.bin | tr -d ' \n')
[ "$got" = "$want" ] || fail "F7: unerased word should hold old AND new ($want), got $got"
dfu-suffix -D ov.dfu >/dev/null && dfu-suffix -v 2341 -p 035b -S 0x011a -a ov.dfu >/dev/null
run 0 --camera portenta --dump d7p --stats stats.json -- dfu-util -a 0 -s : -D ov.dfu
# The extent covers what the host sent (0x08040000-0x08041800); element 2
# never reached the flash, so its second half reads erased.
cmp -n 4096 a4k.bin d7p/0x08040000.bin || fail "portenta: element 1 damaged"
cmp <(tail -c +4097 d7p/0x08040000.bin) <(ff 2048) || fail "portenta: element 2 should be dropped"
stat_is unerased_writes 1; stat_is lost_writes 1
ok "unerased flash: H7 ROM errWRITE (word unchanged), F7 ROM errWRITE (old AND new), Arduino acknowledges and drops it"

# --- 8. mass erase and read protection (ROM) ------------------------------------
run 0 --camera stm32-rom-h7 --load 0x08040000=rnd.bin --stats stats.json -- \
    sh -c 'dfu-util -a 0 -s 0x08000000:mass-erase:force -D /dev/null && dfu-util -a 0 -s 0x08040000:4096 -U me.bin'
cmp me.bin <(ff 4096) || fail "mass erase left data"
stat_is mass_erase 1
erased_is "$(for s in $(seq 0 15); do printf '"0x%08x":1,' $((0x08000000 + s * 0x20000)); done | sed 's/,$//')"
run 0 --camera stm32-rom-h7 --rdp --load 0x08040000=rnd.bin --stats stats.json -- sh -c '
    dfu-util -a 0 -s 0x08040000:4096 -U r1.bin; echo "upload=$?"
    dfu-util -a 0 -s 0x08040000 -D rnd.bin; echo "download=$?"
    dfu-util -a 0 -s :unprotect:force -D /dev/null; echo "unprotect=$?"
    . ./wait.sh; wait_devnum 3 10; dfu-util -a 0 -s 0x08040000:4096 -U r2.bin; echo "after=$?"'
has "LIBUSB_ERROR_PIPE"; has "upload=74"; has "status(11) = "; has "download=74"
has "Device disconnects, erases flash and resets now"; has "after=0"
cmp r2.bin <(ff 4096) || fail "read unprotect did not erase the flash"
stat_is read_unprotect 1
ok "mass erase erases all 16 H7 sectors; --rdp: UPLOAD stalls, erase errVENDOR, 0x92 erases, resets and re-enumerates"

# --- 9. Arduino bootloader quirks ----------------------------------------------------
run 0 --camera portenta --load 0x08040000=rnd.bin --stats stats.json -- \
    sh -c 'dfu-util -a 0 -s 0x08040000:mass-erase:force -D /dev/null && dfu-util -a 0 -s 0x08040000:100000 -U m9.bin'
cmp rnd.bin m9.bin || fail "portenta: mass erase should be ignored"
stat_is mass_erase 0
printf '[timing]\n[dfuse]\nprogram_pct=10000\n' >slow.ini
run 0 --camera portenta --model slow.ini --dump d9 -- \
    sh -c 'dfu-util -a 0 -s 0x08040000 -D app.bin && dfu-util -a 0 -s 0x08040000:100000 -U q9.bin'
cmp -s app.bin q9.bin && fail "read-back right after the download should miss queued writes"
cmp <(tail -c 1696 q9.bin) <(ff 1696) || fail "the last block (programmed ~5 s later) should read erased"
cmp app.bin d9/0x08040000.bin || fail "queued writes not programmed in the end"
run 0 --camera portenta --model slow.ini --dump d9b --stats stats.json -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08040000:leave -D app.bin; wait_gone 10'
n=$(grep -o '"lost_writes":[0-9]*' stats.json | cut -d: -f2)
[ "$n" -ge 1 ] || fail "leave with a write backlog: no write lost"
# The last block is programmed ~5 s after the download at the earliest.
cmp <(tail -c 1696 d9b/0x08040000.bin) <(ff 1696) || fail "lost writes should show in the dump"
ok "portenta: internal-flash writes acknowledged before programmed; the reset after :leave loses the backlog ($n of 25)"

run 0 --camera portenta --dump d9c --dump-range 0x90F01388:0xC78 -- dfu-util -a 1 -s 0x90F00000 -D small.bin
cmp small.bin d9c/0x90f00000.bin || fail "QSPI dump"
cmp <(tail -c +905 small.bin | head -c 3192) d9c/range-0x90f01388-0x90f02000.bin ||
    fail "QSPI tail should be the stale transfer-buffer bytes"
run 74 --camera portenta --fault errERASE@erase:0x08040000 -- dfu-util -a 0 -s 0x08040000 -D app.bin
has "Device stuck after special command request"
run 64 --camera portenta -- dfu-util -a 0 -s 0x08000000 -D small.bin
has "is not writeable"
ok "portenta: QSPI short write rounded to 4 KB with stale buffer bytes; failed erase -> dfuDNBUSY for good; 'a' sector refused by dfu-util"

run 0 --camera portenta -- "$PROBE" 2341:035b up:0:16 dn:1:00112233 st st abort up:1:16 st clr st \
    clr st dn:0:92 st st dn:2:- st st gone:10000
mapfile -t L < <(grep -v '^omvemu' out.txt)
want=("up 002141" "dn ok" "st status=0 state=4" "st status=0 state=5" "abort ok" "up ERR LIBUSB_ERROR_PIPE"
      "st status=0 state=15" "clr ok" "st status=14 state=10" "clr ok" "st status=0 state=2"
      "dn ok" "st status=0 state=4" "st status=0 state=5" "dn ok" "st status=0 state=7 poll=1"
      "st status=0 state=8" "gone")
for i in "${!want[@]}"; do
    [[ "${L[$i]:-}" == "${want[$i]}"* ]] || fail "probe step $i: want '${want[$i]}', got '${L[$i]:-}'"
done
ok "portenta raw: commands 00 21 41, block 1 ignored, UPLOAD block 1 stores 15 as the state, CLRSTATUS twice, 0x92 ignored, zero-length DNLOAD resets the board"

# --- 10. ROM raw requests and timing --------------------------------------------------
run 0 --camera stm32-rom-h7 -- "$PROBE" 0483:df11 up:0:16 up:1:16 st clr dn:0:ff st clr \
    dn:0:2100000000 st st clr st clr st
mapfile -t L < <(grep -v '^omvemu' out.txt)
want=("up 00214192" "up ERR LIBUSB_ERROR_PIPE" "st status=15 state=10" "clr ok" "dn ok"
      "st status=15 state=10" "clr ok" "dn ok" "st status=0 state=4" "st status=1 state=10"
      "clr ok" "st status=0 state=2" "clr ok" "st status=14 state=10")
for i in "${!want[@]}"; do
    [[ "${L[$i]:-}" == "${want[$i]}"* ]] || fail "probe step $i: want '${want[$i]}', got '${L[$i]:-}'"
done
ok "rom raw: commands 00 21 41 92, block 1 and unknown commands errSTALLEDPKT, bad pointer errTARGET, CLRSTATUS outside dfuERROR -> errUNKNOWN"

printf '[timing]\n[dfuse]\nerase_pct=20\n' >erase.ini
run 0 --camera stm32-rom-h7 --model erase.ini --stats stats.json -- "$PROBE" 0483:df11 \
    dn:0:4100000408 st st
mapfile -t L < <(grep -v '^omvemu' out.txt)
[[ "${L[1]}" == "st status=0 state=4 poll=220 "* ]] || fail "poll timeout: ${L[1]}"
ms=${L[2]##*ms=}
[ "$ms" -ge 180 ] || fail "an early GETSTATUS must wait for the erase (took $ms ms)"
stat_is early_polls 1
t0=${EPOCHREALTIME/./}
run 0 --camera stm32-rom-h7 --model erase.ini --stats stats.json -- dfu-util -a 0 -s 0x08040000 -D rnd.bin
el=$(ms_since "$t0")
[ "$el" -ge 220 ] || fail "dfu-util finished before the erase could ($el ms)"
stat_is early_polls 0; stat_is device_busy_us 220000
ok "rom timing: sector erase reports bwPollTimeout 220 ms; a host polling early waits ($ms ms), dfu-util honours it"

run 74 --camera stm32-rom-h7 --h7-rev-v -- dfu-util -a 0 -s 0x08100000 -D small.bin
has "Device stuck after special command request"
run 0 --camera stm32-rom-h7 --h7-rev-v --stats stats.json -- "$PROBE" 0483:df11 \
    dn:0:4100001008 st st st clr st clr st
mapfile -t L < <(grep -v '^omvemu' out.txt)
want=("dn ok" "st status=0 state=4" "st status=0 state=4" "st status=0 state=4" "clr ok"
      "st status=14 state=10" "clr ok" "st status=0 state=2")
for i in "${!want[@]}"; do
    [[ "${L[$i]:-}" == "${want[$i]}"* ]] || fail "probe step $i: want '${want[$i]}', got '${L[$i]:-}'"
done
erased_is '"0x08100000":1'
ok "--h7-rev-v: a bank-2 erase stays dfuDNBUSY until CLRSTATUS, CLRSTATUS (erase done)"

# --- 11. faults -----------------------------------------------------------------------
run 74 --camera stm32-rom-f7 --dump d11 --fault errPROG@0x08041000 -- dfu-util -a 0 -s 0x08040000 -D rnd.bin
has "status(6) = "
cmp -n 4096 rnd.bin d11/0x08040000.bin || fail "bytes before the fault"
[ "$(stat -c %s d11/0x08040000.bin)" = 4096 ] || fail "nothing after the failed block may be written"
run 74 --camera stm32-rom-f7 --fault errERASE@erase:0x08060000 -- dfu-util -a 0 -s 0x08040000 -D rnd.bin
has "ERASE_PAGE not correctly executed"
run 74 --camera stm32-rom-f7 --fault unplug@0x08041000 -- \
    sh -c '. ./wait.sh; dfu-util -a 0 -s 0x08040000 -D rnd.bin; rc=$?; wait_gone 10; exit $rc'
has "LIBUSB_ERROR_NO_DEVICE"; hasnt STILL_THERE
run 74 --camera stm32-rom-f7 --fault stall@0x08041000 -- dfu-util -a 0 -s 0x08040000 -D rnd.bin
has "LIBUSB_ERROR_PIPE"
t0=${EPOCHREALTIME/./}
run 0 --camera stm32-rom-f7 --fault slow=300@0x08041000 -- dfu-util -a 0 -s 0x08040000 -D rnd.bin
[ "$(ms_since "$t0")" -ge 300 ] || fail "slow fault not felt"
run 0 --camera stm32-rom-f7 --load 0x08040000=rnd.bin --fault upload-short@read:0x08040800 -- \
    dfu-util -a 0 -s 0x08040000:8192 -U us.bin
[ "$(stat -c %s us.bin)" = 2148 ] || fail "upload-short: $(stat -c %s us.bin) bytes"
ok "faults by address: errPROG, errERASE, unplug, stall, slow, upload-short"

run 0 --camera stm32-rom-f4 --stats stats.json -- sh -c '. ./wait.sh; dfu-util -a 0 -e; wait_devnum 3 10; dfu-util -l'
has 'Found DFU: \[0483:df11\] ver=2200, devnum=3'; stat_is detach 1
ok "DETACH: the bootloader re-enumerates as itself (new device number)"

# --- 12. usage errors ---------------------------------------------------------------
run 2 --camera portenta --fault errWRITE@FIRMWARE:1 -- true; has "takes KIND@"
run 2 --camera h7 --fault errWRITE@0x08040000 -- true; has "takes KIND@PARTITION:BLOCK"
run 2 --camera portenta --load 0x50000000=small.bin -- true; has "outside the portenta's memories"
run 2 --camera portenta --load FIRMWARE=small.bin -- true; has "loaded by address"
run 2 --camera portenta --rdp -- true; has "read protection"
run 2 --camera stm32-rom-f4 --h7-rev-v -- true
run 2 --camera stm32-rom-h7 --dump-range 0x08000000 -- true; has "expected ADDR:LEN"
run 2 --camera stm32-rom-h7 --fault bogus@0x08000000 -- true; has "KIND must be"
run 2 --camera stm32-rom-h7 --fault errWRITE@read:0x08000000 -- true; has "upload-short goes with read"
ok "usage errors exit 2 with a reason"

left=$(ls "$TMPDIR" | grep -c '^umockdev\.' || true)
[ "$left" = 0 ] || fail "$left umockdev testbed dir(s) left behind"
ok "no umockdev testbed left behind"
echo "all $pass checks passed"
