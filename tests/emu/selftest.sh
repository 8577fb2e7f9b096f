#!/bin/bash
# Self-test of omvemu against an independent host (Debian's dfu-util).
#   usage: selftest.sh /path/to/omvemu
# Exits 0 when every check passes, 1 on the first failure, 77 (skip) when
# dfu-util or umockdev-wrapper is missing.
set -euo pipefail

EMU=${1:?usage: selftest.sh /path/to/omvemu}
EMU=$(readlink -f "$EMU")
command -v dfu-util >/dev/null || { echo "SKIP: dfu-util not installed"; exit 77; }
command -v umockdev-wrapper >/dev/null || { echo "SKIP: umockdev-wrapper not installed"; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/omvemu-selftest.XXXXXX")
trap 'rm -rf "$W"' EXIT
# umockdev creates its testbed under $TMPDIR: keep ours private so the final
# "nothing left behind" check only sees this script's runs.
mkdir -p "$W/tmp"
export TMPDIR="$W/tmp"
cd "$W"

AE3=",37c5:96e3"
pass=0
fail() { echo "FAIL: $*" >&2; [ -f out.txt ] && tail -n 15 out.txt >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
# run EXPECTED_RC OMVEMU_ARGS... -- CMD...: output to out.txt, checks exit status
run() {
    local want=$1; shift
    local rc=0
    "$EMU" "$@" >out.txt 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: omvemu $*"
}
has() { grep -q -- "$1" out.txt || fail "output lacks '$1'"; }
stat_is() { grep -q "\"$1\":$2[,}]" stats.json || fail "stats: want $1=$2, got $(cat stats.json)"; }
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }

head -c 100000 /dev/urandom >img.bin
head -c 4096 img.bin >block0.bin

# --- 1. download + dump + stats --------------------------------------------
t0=${EPOCHREALTIME/./}
run 0 --camera ae3 --dump d1 --stats stats.json -- dfu-util -d $AE3 -a 1 -D img.bin
cmp img.bin d1/HP.bin || fail "HP.bin differs from the image"
[ "$(ls d1)" = "HP.bin" ] || fail "dump holds more than HP.bin: $(ls d1)"
stat_is blocks_written 25; stat_is dnload 25; stat_is dnload_zero 1; stat_is setinterface 1
stat_is detach 0
has "dfuMANIFEST"
ok "ae3 100 KB download to HP, dump identical ($(ms_since "$t0") ms)"

# --- 2. upload of a preset partition ---------------------------------------
run 0 --camera ae3 --load ROMFS1=img.bin -- dfu-util -d $AE3 -a 3 -U up.bin
[ "$(stat -c %s up.bin)" = $((1048576 + 4)) ] || fail "upload size $(stat -c %s up.bin)"
cmp -n 100000 img.bin up.bin || fail "uploaded head differs"
cmp -n $((1048576 - 100000)) -i 100000:0 up.bin <(head -c $((1048576 - 100000)) /dev/zero | tr '\0' '\377') ||
    fail "unwritten ROMFS1 bytes are not 0xFF"
[ "$(tail -c 4 up.bin | od -An -tx1 | tr -d ' \n')" = 00000000 ] || fail "no 4-byte zero EOF frame"
ok "upload: 1 MB ROMFS1 = preset + 0xFF + 4-byte zero EOF frame"

# --- 3. listing ----------------------------------------------------------------
run 0 --camera ae3 -- dfu-util -l
[ "$(grep -c 'Found DFU: \[37c5:96e3\]' out.txt)" = 8 ] || fail "expected 8 alts"
i=0
for n in BOOT HP HE ROMFS1 TOC RWFS ROMFS0 RECOVERY; do
    has "alt=$i, name=\"$n\", serial=\"4F4D560096E3000000000001\""; i=$((i + 1))
done
has 'ver=0103'
run 0 --camera ae3 --serial 0123456789ABCDEF01234567 -- dfu-util -l
has 'serial="0123456789ABCDEF01234567"'
ok "dfu-util -l: 8 named alts, bcdDevice 0103, default and --serial serials"

# --- 4. hot-plug ---------------------------------------------------------------
t0=${EPOCHREALTIME/./}
run 0 --camera ae3 --appear-after 500 --dump d4 -- dfu-util -w -d $AE3 -a 1 -D img.bin
el=$(ms_since "$t0")
cmp img.bin d4/HP.bin || fail "hot-plug download differs"
[ "$el" -ge 500 ] || fail "finished before the device appeared ($el ms)"
ok "--appear-after 500 with dfu-util -w ($el ms)"

# --- 5. read-only partition and address range ---------------------------------
run 74 --camera ae3 -- dfu-util -d $AE3 -a 0 -D img.bin
has "dfuERROR, status(3)"
run 74 --camera ae3 --dump d5 -- dfu-util -d $AE3 -a TOC -D img.bin
has "dfuERROR, status(8)"
cmp -n 8192 img.bin d5/TOC.bin || fail "TOC dump"
[ "$(stat -c %s d5/TOC.bin)" = 8192 ] || fail "TOC dump size"
ok "BOOT is read-only (errWRITE); past TOC's 8 KB limit -> errADDRESS"

# --- 6. --reset: DETACH then USB reset, device leaves --------------------------
rc=0; "$EMU" --camera ae3 --dump d6 --stats stats.json -- dfu-util -d $AE3 -a 1 -D img.bin --reset >out.txt 2>&1 || rc=$?
# dfu-util 0.11 returns LIBUSB_ERROR_NOT_FOUND (-5 -> 251) when the reset
# finds the device gone, as it is on hardware once the bootloader has left.
[ "$rc" = 0 ] || [ "$rc" = 251 ] || fail "--reset exit $rc"
has "Resetting USB"
stat_is detach 1; stat_is resets 1
cmp img.bin d6/HP.bin || fail "--reset download differs"
ok "--reset: DETACH acknowledged, reset finds the device gone (exit $rc)"

# --- 7. every DFU status fault -------------------------------------------------
code=1
for k in errTARGET errFILE errWRITE errERASE errCHECK_ERASED errPROG errVERIFY errADDRESS \
         errNOTDONE errFIRMWARE errVENDOR errUSBR errPOR errUNKNOWN errSTALLEDPKT; do
    run 74 --camera ae3 --dump d7 --fault "$k@HP:1" -- dfu-util -d $AE3 -a 1 -D img.bin
    has "dfuERROR, status($code)"
    cmp block0.bin d7/HP.bin || fail "$k: only block 0 should be stored"
    code=$((code + 1)); rm -rf d7
done
ok "all 15 status faults reported by dfu-util with their codes; nothing stored from the failed block"

# --- 8. stall / unplug / busy / slow / stuck / upload-short --------------------
run 74 --camera ae3 --stats stats.json --fault stall@HP:2 -- dfu-util -d $AE3 -a 1 -D img.bin
has "LIBUSB_ERROR_PIPE"; stat_is blocks_written 2
run 74 --camera ae3 --fault unplug@HP:2 -- sh -c "dfu-util -d $AE3 -a 1 -D img.bin; rc=\$?; sleep 0.2; dfu-util -l; exit \$rc"
has "LIBUSB_ERROR_NO_DEVICE"
grep -q "Found DFU" out.txt && fail "device still listed after unplug"
ok "stall -> LIBUSB_ERROR_PIPE; unplug -> LIBUSB_ERROR_NO_DEVICE and the device is gone"

run 124 --camera ae3 --stats stats.json --fault busy@HP:1 -- timeout 1.5 dfu-util -d $AE3 -a 1 -D img.bin
n=$(grep -o '"getstatus":[0-9]*' stats.json | cut -d: -f2)
[ "$n" -ge 8 ] && [ "$n" -le 30 ] || fail "busy: $n GETSTATUS in 1.5 s (100 ms poll expected)"
ok "busy: dfu-util polls dfuDNBUSY every ~100 ms forever ($n GETSTATUS in 1.5 s)"

t0=${EPOCHREALTIME/./}
run 0 --camera ae3 --stats stats.json --fault slow=400@HP:3 -- dfu-util -d $AE3 -a 1 -D img.bin
el=$(ms_since "$t0")
[ "$el" -ge 400 ] || fail "slow fault not felt ($el ms)"
stat_is device_busy_us 400000
ok "slow=400: completing GETSTATUS delayed ($el ms total)"

t0=${EPOCHREALTIME/./}
run 74 --camera ae3 --fault slow=8000@HP:1 -- dfu-util -d $AE3 -a 1 -D img.bin
has "LIBUSB_ERROR_TIMEOUT"
el=$(ms_since "$t0")
[ "$el" -lt 7500 ] || fail "host timeout did not cut the slow GETSTATUS ($el ms)"
ok "slow=8000: dfu-util's 5 s control timeout fires, URB discarded ($el ms)"

run 124 --camera ae3 --stats stats.json --fault stuck@HP:1 -- \
    sh -c "dfu-util -d $AE3 -a 1 -D img.bin; echo first=\$?; timeout 1 dfu-util -d $AE3 -a 1 -D img.bin"
has "first=74"
has "dfuERROR, status(3)"
n=$(grep -o '"clrstatus":[0-9]*' stats.json | cut -d: -f2)
[ "$n" -ge 2 ] || fail "stuck: CLRSTATUS count $n"
ok "stuck: errWRITE survives CLRSTATUS (second dfu-util loops clearing, $n CLRSTATUS)"

run 0 --camera ae3 --load ROMFS1=img.bin --fault upload-short@ROMFS1:1 -- dfu-util -d $AE3 -a 3 -U ups.bin
[ "$(stat -c %s ups.bin)" = 4196 ] || fail "upload-short: got $(stat -c %s ups.bin) bytes"
cmp -n 4196 ups.bin img.bin || fail "upload-short bytes"
ok "upload-short@ROMFS1:1: upload ends after 4096 + 100 bytes"

# --- 9. bootloader window ----------------------------------------------------
late="sleep 2; exec dfu-util -d $AE3 -a 1 -D img.bin"
run 74 --camera ae3 -- sh -c "$late"
has "No DFU capable USB device"
run 0 --camera ae3 --forced -- sh -c "$late"
run 0 --camera ae3 --window-ms 3000 -- sh -c "$late"
run 74 --camera ae3 --window-ms 300 -- sh -c "sleep 0.6; dfu-util -d $AE3 -a 1 -D img.bin"
ok "window: gone after 1.5 s without transfers; --forced and --window-ms honoured"

run 74 --camera ae3 --no-appear -- dfu-util -d $AE3 -a 1 -D img.bin
has "No DFU capable USB device"
ok "--no-appear"

# --- 10. every camera: PID, names, dump --------------------------------------
for c in ae3:96e3:HP n6:9206:FIRMWARE h7plus:924a:FIRMWARE pt:9205:FIRMWARE \
         h7:9204:FIRMWARE m7:9203:FIRMWARE m4:9202:FIRMWARE; do
    IFS=: read -r cam pid part <<<"$c"
    rm -rf dc
    run 0 --camera "$cam" --dump dc -- dfu-util -d ",37c5:$pid" -a "$part" -D img.bin
    cmp img.bin "dc/$part.bin" || fail "$cam: $part.bin differs"
done
ok "all seven cameras: download by alt name, dump identical"

# --- 11. bootloader header -------------------------------------------------
run 0 --camera h7 -- dfu-util -d ,37c5:9204 -a BOOTLOADER -U boot.bin
[ "$(od -An -tx1 -j 4096 -N 8 boot.bin | tr -d ' \n')" = "ad1007b001000300" ] || fail "H7 header"
run 0 --camera n6 -- dfu-util -d ,37c5:9206 -a BOOTLOADER -U bootn6.bin
[ "$(od -An -tx1 -j 4096 -N 4 bootn6.bin | tr -d ' \n')" = "ffffffff" ] || fail "N6 must have no header"
ok "bootloader header B00710AD v1.0.3 at +0x1000 (none on N6)"

# --- 12. AE3 RECOVERY --------------------------------------------------------
printf '\x15\x9e\x7d\x42\x96\x1a\x71\xeb\x73\xa3\x26\x29\x2b\x08\x09\x0e' >key.bin
head -c 4080 /dev/zero >>key.bin
run 0 --camera ae3 --dump dr -- dfu-util -d $AE3 -a RECOVERY -D key.bin
[ ! -e dr/RECOVERY.bin ] || fail "RECOVERY must store nothing"
run 74 --camera ae3 -- sh -c "dfu-util -d $AE3 -a RECOVERY -D key.bin && dfu-util -d $AE3 -a RECOVERY -D key.bin"
has "dfuERROR, status(3)"
run 74 --camera ae3 -- dfu-util -d $AE3 -a RECOVERY -D block0.bin
has "dfuERROR, status(3)"
ok "RECOVERY: key accepted once per session; wrong key -> errWRITE"

# --- 13. several cameras on one bus (bonus) ------------------------------------
# --forced: the AE3 is written last, after a listing and the H7's download,
# which on a loaded machine can take longer than its 1.5 s window (section 9).
run 0 --camera ae3 --forced --camera h7 --serial 00000000000000000000ABCD --dump dm -- \
    sh -c "dfu-util -l && dfu-util -d ,37c5:9204 -a FIRMWARE -D img.bin && dfu-util -d $AE3 -a HE -D block0.bin"
has 'serial="00000000000000000000ABCD"'
has '\[37c5:96e3\].*devnum=2'
has '\[37c5:9204\].*devnum=3'
cmp img.bin dm/00000000000000000000ABCD/FIRMWARE.bin || fail "multi: h7 dump"
cmp block0.bin dm/4F4D560096E3000000000001/HE.bin || fail "multi: ae3 dump"
ok "two cameras on one bus, separate state and dumps"

# --- 14. launcher behaviour ----------------------------------------------------
run 7 --camera ae3 -- sh -c 'exit 7'
run 137 --camera ae3 -- sh -c 'kill -9 $$'
run 127 --camera ae3 -- /nonexistent/command
run 2 --camera nosuchcam -- true
run 2 --camera ae3 --fault errBOGUS@HP:1 -- true
run 2 --camera ae3 --fault errWRITE@NOPART:1 -- true
run 2 --camera ae3 --frobnicate -- true
run 2 --camera ae3
# SIGTERM once the command runs (a fixed sleep could signal omvemu before it
# started the command on a loaded machine).
rm -f started
rc=0; "$EMU" --camera ae3 -- sh -c ': >started; exec sleep 30' >out.txt 2>&1 & pid=$!
for _ in $(seq 200); do [ -e started ] && break; sleep 0.05; done
[ -e started ] || fail "SIGTERM: the command did not start"
kill -TERM "$pid"; wait "$pid" || rc=$?
[ "$rc" = 143 ] || fail "SIGTERM: exit $rc"
ok "exit status passthrough (7, 128+9, 127), usage errors exit 2, SIGTERM forwarded (143)"

left=$(ls "$TMPDIR" | grep -c '^umockdev\.' || true)
[ "$left" = 0 ] || fail "$left umockdev testbed dir(s) left behind"
ok "no umockdev testbed left behind"

echo "all $pass checks passed"
