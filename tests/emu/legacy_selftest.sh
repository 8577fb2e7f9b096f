#!/bin/bash
# Self-test of omvemu's legacy USB-CDC cameras and application mode, driven
# by legacy_probe (a tiny libserialport host built for tests).
#   usage: legacy_selftest.sh /path/to/omvemu [/path/to/legacy_probe]
# Exits 0 when every check passes, 1 on the first failure, 77 (skip) when
# umockdev-wrapper or the probe is missing.
set -euo pipefail

EMU=$(readlink -f "${1:?usage: legacy_selftest.sh /path/to/omvemu [legacy_probe]}")
PROBE=$(readlink -f "${2:-$(dirname "$EMU")/legacy_probe}")
command -v umockdev-wrapper >/dev/null || { echo "SKIP: umockdev-wrapper not installed"; exit 77; }
[ -x "$PROBE" ] || { echo "SKIP: $PROBE not built (needs libserialport-dev)"; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/omvemu-lselftest.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tmp"
export TMPDIR="$W/tmp"
cd "$W"

pass=0
fail() { echo "FAIL: $*" >&2; [ -f out.txt ] && tail -n 20 out.txt >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
# run EXPECTED_RC OMVEMU_ARGS... -- PROBE_STEPS...
run() {
    local want=$1; shift
    local emu=() rc=0
    while [ $# -gt 0 ] && [ "$1" != -- ]; do emu+=("$1"); shift; done
    shift
    "$EMU" "${emu[@]}" -- "$PROBE" "$@" >out.txt 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: omvemu ${emu[*]} -- probe $*"
}
has() { grep -q -- "$1" out.txt || fail "output lacks '$1'"; }
stat_is() { grep -q "\"$1\":$2[,}]" stats.json || fail "stats: want $1=$2, got $(cat stats.json)"; }
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }
# bytes N BYTE: N copies of the byte (hex) on stdout
bytes() { head -c "$1" /dev/zero | tr '\0' "\\$(printf '%03o' "0x$2")"; }
le32() { printf '%02X%02X%02X%02X' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
layout_hex() { echo "$(le32 "$1")$(le32 "$2")$(le32 "$3")"; }

# --- 1. START answers the version; V1 has no FLASH_LAYOUT ------------------------
for v in 1 2 3; do
    run 0 --camera h7-legacy --bootloader-version $v -- find:1000 w:start expect:0${v}00CDAB
done
run 0 --camera h7-legacy --bootloader-version 1 -- find:1000 w:start expect:0100CDAB w:layout none:150 \
    w:start expect:0100CDAB
ok "START -> 0xABCD0001/2/3 per --bootloader-version; V1 ignores FLASH_LAYOUT"

# --- 2. FLASH_LAYOUT triple per camera, QSPIF_LAYOUT on V3 ----------------------------
for cl in "h7 1 2 15 0" "m7 1 4 11 0" "m4 1 4 11 0" "h7plus 1 2 15 1" "pt 1 2 15 1"; do
    set -- $cl
    q=$(layout_hex 0 0 0); [ "$5" = 1 ] && q=$(layout_hex 0 511 65536)
    run 0 --camera "$1-legacy" -- find:1000 w:layout expect:"$(layout_hex "$2" "$3" "$4")" \
        w:qlayout expect:"$q"
done
ok "FLASH_LAYOUT {1,2,15} H7/H7 Plus/PT, {1,4,11} M7/M4; QSPIF_LAYOUT {0,511,65536} on H7 Plus/PT"

# --- 3. ERASE + 60-byte WRITE packets + RESET -> padded FIRMWARE.bin --------------
t0=${EPOCHREALTIME/./}
run 0 --camera h7-legacy --dump d3 --stats stats.json -- find:1000 w:start expect:0300CDAB w:erase=2 \
    w:write+fill=56,0x11 w:write+fill=56,0x22 w:write+fill=8,0x33 w:reset hup:1000 gone:1000
{ bytes 56 11; bytes 56 22; bytes 8 33; bytes 8 FF; } >want3.bin
cmp d3/FIRMWARE.bin want3.bin || fail "FIRMWARE.bin is not the data padded with 0xFF to 64"
[ "$(cat d3/erase.log)" = "flash 2 0x08040000 131072" ] || fail "erase.log: $(cat d3/erase.log)"
[ ! -e d3/FILESYSTEM.bin ] && [ ! -e d3/QSPI.bin ] && [ ! -e d3/BOOTLOADER_DAMAGED ] || fail "extra dump files: $(ls d3)"
stat_is cmd_write 3; stat_is bytes_written 120; stat_is flash_programs 2; stat_is unerased_writes 0
stat_is cmd_reset 1; stat_is windows_missed 0; stat_is unframed_bytes 0; stat_is dtr_changes 1
ok "safe-mode write: ERASE, 60-byte packets, RESET pads with 0xFF; port hangs up and goes ($(ms_since "$t0") ms)"

# --- 4. full 64-byte packets: fine on Linux, misparsed after a macOS ZLP -----------
run 0 --camera m7-legacy --dump d4 --stats stats.json -- find:1000 w:start expect:0300CDAB w:erase=4 \
    w:write+fill=60,0xA5 w:write+fill=60,0x5A w:layout expect:"$(layout_hex 1 4 11)" w:reset gone:1000
{ bytes 60 A5; bytes 60 5A; bytes 8 FF; } >want4.bin
cmp d4/FIRMWARE.bin want4.bin || fail "64-byte packets: FIRMWARE.bin differs"
stat_is zlps 0; stat_is zlp_misparsed 0
run 0 --camera m7-legacy --zlp --dump d4z --stats stats.json -- find:1000 w:start expect:0300CDAB w:erase=4 \
    w:write+fill=60,0xA5 w:layout none:300
stat_is zlps 1; stat_is zlp_misparsed 1; stat_is halts 1; stat_is ignored_halted 1
# with the IDE's macOS workaround (WRITE + FLASH_LAYOUT in one 68-byte write) it works
run 0 --camera m7-legacy --zlp --dump d4w --stats stats.json -- find:1000 w:start expect:0300CDAB w:erase=4 \
    w:write+fill=60,0xA5+layout expect:"$(layout_hex 1 4 11)" w:reset gone:1000
{ bytes 60 A5; bytes 4 FF; } >want4w.bin
cmp d4w/FIRMWARE.bin want4w.bin || fail "ZLP workaround: FIRMWARE.bin differs"
stat_is zlps 0; stat_is zlp_misparsed 0
ok "4+60-byte WRITE works on Linux; --zlp: ZLP re-runs WRITE with a length underflow and the bootloader dies; 68-byte workaround OK"

# --- 5. one write larger than 64 bytes is cut at 64: fast-mode ERASE+LAYOUT barrier --
cat >slow.ini <<'INI'
[timing]
[legacy]
erase_us_128k=300000
INI
t0=${EPOCHREALTIME/./}
run 0 --camera h7-legacy --model slow.ini --stats stats.json -- find:1000 w:start expect:0300CDAB \
    w:erase=3+zeros=56+layout none:200 expect:"$(layout_hex 1 2 15)":1000
el=$(ms_since "$t0")
stat_is cmd_erase 1; stat_is cmd_layout 1; stat_is packets 3; stat_is transfers 2; stat_is legacy_busy_us 300000
ok "68-byte write = 64-byte ERASE packet + 4-byte FLASH_LAYOUT packet; reply only after the 300 ms erase ($el ms)"

# --- 6. window missed: the port goes away ---------------------------------------------
t0=${EPOCHREALTIME/./}
run 0 --camera h7-legacy --window-ms 300 --stats stats.json -- find:1000 hup:2000 gone:1000
el=$(ms_since "$t0")
stat_is windows_missed 1; stat_is cmd_start 0
ok "no START within --window-ms: the bootloader jumps to the app, port hung up and removed ($el ms)"

# --- 7. app mode v1: 30 0C -> app port gone, bootloader port appears; RESET -> app back
t0=${EPOCHREALTIME/./}
run 0 --camera h7-legacy --app-mode v1 --dump d7 --stats stats.json -- match:app find:1000 \
    w:v1=0x80 expect:040000000500000009000000 w:v1=0x0C hup:1000 match:bl find:2000 w:start \
    expect:0300CDAB w:erase=2 w:write+fill=8,0x77 w:reset hup:1000 match:app find:2000
{ bytes 8 77; bytes 56 FF; } >want7.bin
cmp d7/FIRMWARE.bin want7.bin || fail "app v1 -> bootloader: FIRMWARE.bin differs"
stat_is v1_resets 1; stat_is app_resets 1; stat_is bootloader_entries 1; stat_is appearances 3
# the debug protocol needs 921600/12 Mbaud: at 115200 the port is the REPL
run 0 --camera h7-legacy --app-mode v1 --stats stats.json -- --match app --baud 115200 find:1000 \
    w:v1=0x0C none:300 close
stat_is app_ignored_repl 1; stat_is v1_resets 0
ok "app v1: FW_VERSION, SYS_RESET -> legacy bootloader -> RESET -> app again; REPL baud ignored ($(ms_since "$t0") ms)"

# --- 8. app mode v2: SYNC -> ACK (valid CRC16), SYS_BOOT -> bootloader --------------
run 0 --camera m4-legacy --app-mode v2 --stats stats.json -- match:app find:1000 \
    w:hex=AAD5000000000000B0AC expect:AAD50000010000000846 w:v2=0x11,0 hup:1000 match:bl \
    find:2000 w:layout expect:"$(layout_hex 1 4 11)"
stat_is v2_syncs 1; stat_is v2_boots 1; stat_is v2_bad_crc 0
run 0 --camera m4-legacy --app-mode v2 --stats stats.json -- match:app find:1000 \
    w:hex=AAD5000000000000B0AD none:200 w:v2=0x11,1 none:200 w:v2=0,0 expect:AAD50000010000000846
stat_is v2_bad_crc 1; stat_is v2_bad_seq 1; stat_is v2_boots 0
ok "app v2: SYNC (CRC test vector) -> ACK AA D5 00 00 01 00 00 00 08 46; SYS_BOOT -> bootloader; bad CRC/sequence dropped"

# --- 9. programming unerased flash, erasing the bootloader -----------------------------
run 0 --camera h7-legacy --dump d9 --stats stats.json -- find:1000 w:start expect:0300CDAB \
    w:write+fill=60,0xF0 w:write+fill=4,0x0F w:reset gone:1000
stat_is unerased_writes 1; stat_is erases 0
[ "$(head -c 1 d9/FIRMWARE.bin | od -An -tx1 | tr -d ' ')" != f0 ] || fail "unerased program did not AND with old data"
run 0 --camera m7-legacy --dump d9b --stats stats.json -- find:1000 w:start expect:0300CDAB \
    w:erase=1 w:erase=0 w:layout none:300
stat_is bootloader_sector_erased 1; stat_is halts 1
[ -f d9b/BOOTLOADER_DAMAGED ] || fail "no BOOTLOADER_DAMAGED marker"
[ "$(cat d9b/erase.log)" = $'flash 1 0x08008000 32768\nflash 0 0x08000000 32768' ] || fail "erase.log: $(cat d9b/erase.log)"
[ -f d9b/FILESYSTEM.bin ] && [ "$(stat -c %s d9b/FILESYSTEM.bin)" = 98304 ] || fail "FILESYSTEM.bin (sectors 1-3 = 96 KB) missing"
ok "writing without ERASE counted (AND semantics); ERASE 0 kills the bootloader: BOOTLOADER_DAMAGED, erase.log in order"

# --- 10. QSPI (V3, H7 Plus): START does not rewind the QSPI pointer -----------------
# 5 x 60 bytes: page 0 programmed, 44 bytes buffered; START drops the buffer
# but keeps the pointer, so the next data lands at 0x100.
run 0 --camera h7plus-legacy --dump d10 --stats stats.json -- find:1000 w:start expect:0300CDAB w:qerase=0 \
    w:qwrite+fill=60,0x44 w:qwrite+fill=60,0x44 w:qwrite+fill=60,0x44 w:qwrite+fill=60,0x44 \
    w:qwrite+fill=60,0x44 w:start expect:0300CDAB w:qwrite+fill=60,0x55 w:reset gone:1000
{ bytes 256 44; bytes 60 55; bytes 196 FF; } >want10.bin
cmp <(head -c 512 d10/QSPI.bin) want10.bin || fail "QSPI.bin head differs"
stat_is qspi_programs 2; stat_is qspi_erases 1
[ "$(stat -c %s d10/QSPI.bin)" = 65536 ] || fail "QSPI.bin is not the erased 64 KB block"
run 0 --camera h7plus-legacy --bootloader-version 2 --stats stats.json -- find:1000 w:qlayout none:200
stat_is cmd_qspi_layout 0; stat_is cmd_unknown 1
ok "QSPIF_ERASE/WRITE: 256-byte pages, pointer kept across START, RESET pads; V2 ignores QSPI commands"

# --- 11. faults ----------------------------------------------------------------------
run 0 --camera h7-legacy --fault unplug@FIRMWARE:100 --dump d11 -- find:1000 w:start expect:0300CDAB \
    w:erase=2 w:write+fill=60,0x11 w:write+fill=60,0x22 w:write+fill=60,0x33 hup:1000 gone:1000
[ "$(stat -c %s d11/FIRMWARE.bin)" = 64 ] || fail "unplug@FIRMWARE:100: want the first 64 bytes only"
run 0 --camera h7-legacy --fault unplug-erase@3 -- find:1000 w:start expect:0300CDAB w:erase=2 \
    w:erase=3 hup:1000 gone:1000
run 0 --camera h7-legacy --fault stall-reply --stats stats.json -- find:1000 w:layout none:200 \
    w:start expect:0300CDAB w:layout none:200
stat_is replies_dropped 2
run 0 --camera h7-legacy --fault drop-layout-reply:2 -- find:1000 w:layout expect:"$(layout_hex 1 2 15)" \
    w:layout none:200 w:layout expect:"$(layout_hex 1 2 15)"
run 1 --camera h7-legacy --no-appear -- find:300
run 0 --camera h7-legacy --appear-after 300 -- gone:1 find:2000 w:start expect:0300CDAB
run 2 --camera h7 --fault stall-reply -- find:1
ok "faults: unplug@FIRMWARE, unplug-erase, stall-reply, drop-layout-reply, --no-appear, --appear-after"

# Host-side sysfs races (omvemu_host_fault_shim.so): the probe lists ports the
# way omvflashd does and must neither crash nor take a half-removed
# bootloader port (serial unreadable) for an application.
run 0 --camera h7-legacy --host-fault list-race -- find:1000 w:start expect:0300CDAB
run 1 --camera h7-legacy --host-fault serial-unreadable -- match:app find:300
run 0 --camera h7-legacy --host-fault serial-unreadable -- find:1000 w:start expect:0300CDAB
run 2 --camera h7-legacy --host-fault bogus -- find:1
ok "host faults: a port vanishing mid-listing, a half-removed port's serial"

# --- 12. DFU-era application: reset -> the openmv_dfu device appears ----------------
if command -v dfu-util >/dev/null; then
    cat >dfu.sh <<SH
set -e
"$PROBE" --match app --vidpid 37c5:1204 find:1000 w:v1=0x0E hup:1000
for i in \$(seq 50); do dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null && break; sleep 0.05; done
dfu-util -l | grep 'Found DFU: \[37c5:9204\]' >/dev/null
SH
    rc=0; "$EMU" --camera h7 --app-mode v1 --stats stats.json -- bash dfu.sh >out.txt 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail "DFU-era app v1 -> openmv_dfu device: exit $rc"
    stat_is v1_resets 1
    ok "DFU-era h7 app (37C5:1204) v1 0x0E -> openmv_dfu 37C5:9204 appears (forced)"
else
    echo "ok - # SKIP DFU-era app mode: dfu-util not installed"
fi

left=$(find "$TMPDIR" -maxdepth 1 -name 'umockdev.*' | wc -l)
[ "$left" = 0 ] || fail "$left umockdev testbed directories left behind"
echo "PASS: $pass checks"
