#!/bin/bash
# Self-test of what omvemu's application-mode cameras say about themselves
# (debug protocol v1 FW_VERSION/ARCH_STR, protocol v2 VERSION/SYS_INFO with
# the device's ACK handshake) and of --boot-fails (after a flash the camera
# comes back in its bootloader, not in its application).
#   usage: app_selftest.sh /path/to/omvemu [/path/to/legacy_probe]
# Exits 0 when every check passes, 1 on the first failure, 77 (skip) when
# umockdev-wrapper, the probe, python3 or dfu-util is missing.
set -euo pipefail

EMU=$(readlink -f "${1:?usage: app_selftest.sh /path/to/omvemu [legacy_probe]}")
PROBE=$(readlink -f "${2:-$(dirname "$EMU")/legacy_probe}")
command -v umockdev-wrapper >/dev/null || { echo "SKIP: umockdev-wrapper not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
command -v dfu-util >/dev/null || { echo "SKIP: dfu-util not installed"; exit 77; }
[ -x "$PROBE" ] || { echo "SKIP: $PROBE not built (needs libserialport-dev)"; exit 77; }

W=$(mktemp -d "${TMPDIR:-/tmp}/omvemu-appselftest.XXXXXX")
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
stat_is() { grep -q "\"$1\":$2[,}]" stats.json || fail "stats: want $1=$2, got $(cat stats.json)"; }

# Expected replies, built here from the documented rules (docs/protocols.md
# §1.4, §1.5; FW v4.8.1 common/usbdbg.c, v5.0.0 protocol/omv_protocol.{c,h}),
# independently of the emulator's code.
# arch64 TEXT: the v1 ARCH_STR reply, TEXT and NULs to 64 bytes, as hex.
arch64() { python3 -c 'import sys; b=sys.argv[1].encode(); print((b+bytes(64-len(b))).hex().upper())' "$1"; }
# fw12 A B C: the v1 FW_VERSION reply (three uint32 LE).
fw12() { python3 -c 'import sys,struct; print(struct.pack("<3I",*map(int,sys.argv[1:])).hex().upper())' "$@"; }
# v2 SEQ FLAGS OP PAYLOAD_HEX: one protocol v2 packet (CRC16 0xF94F / CRC32
# 0xFA567D89, MSB-first, init all ones, no final XOR, both stored LE).
v2() {
    python3 - "$@" <<'PY'
import sys, struct
seq, flags, op, payload = int(sys.argv[1], 0), int(sys.argv[2], 0), int(sys.argv[3], 0), bytes.fromhex(sys.argv[4])
def crc(data, poly, width):
    top, mask, c = 1 << (width - 1), (1 << width) - 1, (1 << width) - 1
    for b in data:
        c ^= b << (width - 8)
        for _ in range(8):
            c = ((c << 1) ^ poly) & mask if c & top else (c << 1) & mask
    return c
h = struct.pack('<HBBBBH', 0xD5AA, seq, 0, flags, op, len(payload))
h += struct.pack('<H', crc(h, 0xF94F, 16))
if payload:
    h += payload + struct.pack('<I', crc(payload, 0xFA567D89, 32))
print(h.hex().upper())
PY
}
# the documented vectors first: the helper agrees with docs/protocols.md §1.5
[ "$(v2 0 0 0 '')" = AAD5000000000000B0AC ] || fail "v2 helper: SYNC vector"
[ "$(v2 0 1 0 '')" = AAD50000010000000846 ] || fail "v2 helper: ACK vector"
[ "$(v2 0 0 0x11 '')" = AAD5000000110000CF2F ] || fail "v2 helper: SYS_BOOT vector"
SERIAL=0123456789ABCDEF01234567

# --- 1. v1 defaults per camera: FW_VERSION and ARCH_STR ------------------------------
run 0 --camera h7-legacy --app-mode v1 --serial "$SERIAL" --stats stats.json -- match:app find:1000 \
    w:v1=0x80 expect:"$(fw12 4 5 9)" w:v1=0x83 expect:"$(arch64 "OMV4 H7 1024 [H7:$SERIAL]")"
stat_is v1_version 1; stat_is v1_arch 1
run 0 --camera m4 --app-mode v1 --serial "$SERIAL" -- --match app --vidpid 37c5:1202 find:1000 \
    w:v1=0x80 expect:"$(fw12 4 8 1)" w:v1=0x83 expect:"$(arch64 "OMV2 F4 256 JPEG [M4:$SERIAL]")"
run 0 --camera pt --app-mode v1 --serial "$SERIAL" -- --match app --vidpid 37c5:1205 find:1000 \
    w:v1=0x83 expect:"$(arch64 "OPENMVPT 65536 SDRAM [H7:$SERIAL]")"
run 0 --camera ae3 --app-mode v1 --serial "$SERIAL" -- --match app --vidpid 37c5:16e3 find:1000 \
    w:v1=0x83 expect:"$(arch64 "OPENMV AE3 [AE3:$SERIAL]")"
ok "v1: FW_VERSION 4.5.9 (legacy) / 4.8.1, ARCH_STR '<OMV_BOARD_ARCH> [<type>:<uid>]' per camera"

# --- 2. v1 with --fw-version and --arch: another board's firmware on an H7 ------------
run 0 --camera h7 --app-mode v1 --serial "$SERIAL" --fw-version 4.7.0 --arch "OMV4P H7 32768 SDRAM" \
    -- --match app --vidpid 37c5:1204 find:1000 w:v1=0x80 expect:"$(fw12 4 7 0)" \
    w:v1=0x83 expect:"$(arch64 "OMV4P H7 32768 SDRAM [H7:$SERIAL]")"
rc=0; "$EMU" --camera h7 --app-mode v1 --fw-version 4.8 -- true >out.txt 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "fw-version: '4.8' is not MAJOR.MINOR.PATCH" out.txt || fail "--fw-version 4.8 accepted"
rc=0; "$EMU" --camera h7 --app-mode v1 --arch "THIS ARCH STRING IS LONGER THAN 33 CHARS" -- true >out.txt 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a 40-character --arch accepted"
rc=0; "$EMU" --camera h7 --no-app --arch "OMV4 H7 1024" -- true >out.txt 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "no-app: the firmware never enumerates" out.txt || fail "--arch with --no-app accepted"
rc=0; "$EMU" --camera portenta --arch "OMV4 H7 1024" -- true >out.txt 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--arch for a DfuSe camera accepted"
ok "v1: --fw-version 4.7.0 --arch 'OMV4P H7 32768 SDRAM' reported; bad values are usage errors"

# --- 3. v2 VERSION and SYS_INFO, each ACKed by the host --------------------------------
ver=$(python3 -c 'print(bytes([1,0,2, 1,0,3, 5,0,1]+[0]*7).hex())')
# SYS_INFO: cpu_id (Cortex-M55), dev_id = the uid words, usb_id 37C5:1206, rest 0
info=$(python3 -c 'import struct,sys; s=sys.argv[1]; print(struct.pack("<5I",0x410FD220,*(int(s[i:i+8],16) for i in (0,8,16)),0x37C51206).hex()+"00"*56)' "$SERIAL")
run 0 --camera n6 --app-mode v2 --serial "$SERIAL" --fw-version 5.0.1 --stats stats.json -- \
    --match app --vidpid 37c5:1206 find:1000 w:v2=0,0 expect:"$(v2 0 1 0 '')" \
    w:v2=0x04,0 expect:"$(v2 0 8 0x04 "$ver")" w:v2f=0x04,0,1 \
    w:v2=0x12,1 expect:"$(v2 1 8 0x12 "$info")" w:v2f=0x12,1,1 \
    w:v2=0x11,2 hup:1000
stat_is v2_version 1; stat_is v2_sys_info 1; stat_is v2_acks 2; stat_is v2_boots 1
ok "v2: VERSION (protocol 1.0.2, bootloader 1.0.3, firmware 5.0.1), SYS_INFO (usb_id 37C5:1206), ACK_REQ replies, then SYS_BOOT"

info7=$(python3 -c 'import struct,sys; s=sys.argv[1]; print(struct.pack("<5I",0x410FC270,*(int(s[i:i+8],16) for i in (0,8,16)),0x37C51204).hex()+"00"*56)' "$SERIAL")
# --- 4. v2: nothing is answered before the ACK; a NAK brings the reply again (RTX) -----
run 0 --camera h7 --app-mode v2 --serial "$SERIAL" --stats stats.json -- \
    --match app --vidpid 37c5:1204 find:1000 w:v2=0,0 expect:"$(v2 0 1 0 '')" \
    w:v2=0x04,0 expect:"$(v2 0 8 0x04 "$(python3 -c 'print(bytes([1,0,2,1,0,3,5,0,0]+[0]*7).hex())')")" \
    w:v2=0x12,1 none:300 w:v2f=0x04,0,2 \
    expect:"$(v2 0 12 0x04 "$(python3 -c 'print(bytes([1,0,2,1,0,3,5,0,0]+[0]*7).hex())')")" \
    w:v2f=0x04,0,1 expect:"$(v2 1 8 0x12 "$info7")" w:v2=0,0 expect:"$(v2 0 1 0 '')"
stat_is v2_acks 1; stat_is v2_sys_info 1; stat_is v2_syncs 2
ok "v2: a command sent before the ACK waits for it; NAK -> the same reply with RTX; SYNC resets"

# --- 5. --boot-fails, openmv_dfu: after a flash and a reset the bootloader comes back --
head -c 10000 /dev/urandom >img.bin
# flash FIRMWARE, DETACH + USB reset (dfu-util exits 0 or 251, docs/protocols.md §11.1)
cat >flash.sh <<'SH'
rc=0; dfu-util -d ,37c5:9204 -a 2 -D img.bin --reset >/dev/null 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 251 ] || exit 4
for i in $(seq 100); do sleep 0.05; dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null && exit 0; done
exit 3
SH
rc=0; "$EMU" --camera h7 --boot-fails --window-ms 5000 --stats stats.json -- bash flash.sh >out.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--boot-fails: the bootloader did not come back after the flash (exit $rc)"
stat_is boot_failures 1; stat_is blocks_written 3
# no --boot-fails: the flashed camera starts its application (the bootloader is
# gone; 37C5:1204 answers debug protocol v1 with the H7's arch, by default)
cat >gone.sh <<SH
rc=0; dfu-util -d ,37c5:9204 -a 2 -D img.bin --reset >/dev/null 2>&1 || rc=\$?
[ "\$rc" = 0 ] || [ "\$rc" = 251 ] || exit 4
"$PROBE" --match app --vidpid 37c5:1204 find:1000 w:v1=0x80 expect:"$(fw12 4 8 1)" \
    w:v1=0x83 expect:"$(arch64 "OMV4 H7 1024 [H7:$SERIAL]")" || exit 5
! dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null
SH
rc=0; "$EMU" --camera h7 --serial "$SERIAL" --stats stats.json -- bash gone.sh >out.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "without --boot-fails the flashed camera did not come back in its application (exit $rc)"
stat_is boot_failures 0; stat_is v1_arch 1
# --no-app: the firmware never enumerates, neither the bootloader nor an application comes back
cat >noapp.sh <<SH
rc=0; dfu-util -d ,37c5:9204 -a 2 -D img.bin --reset >/dev/null 2>&1 || rc=\$?
[ "\$rc" = 0 ] || [ "\$rc" = 251 ] || exit 4
! "$PROBE" --match app --vidpid 37c5:1204 find:500 || exit 5
! dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null
SH
rc=0; "$EMU" --camera h7 --no-app --stats stats.json -- bash noapp.sh >out.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--no-app: something came back after the flash (exit $rc)"
# --boot-fails but nothing written: the old firmware starts when the window ends
cat >window.sh <<'SH'
sleep 0.8
! dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null
SH
rc=0; "$EMU" --camera h7 --boot-fails --window-ms 200 --stats stats.json -- bash window.sh >out.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--boot-fails without a write: the bootloader came back (exit $rc)"
stat_is boot_failures 0
ok "--boot-fails (openmv_dfu): flash + reset -> 37C5:9204 again; without it -> the application (v1); --no-app -> gone"

# --- 6. --boot-fails with the application: it never comes back -------------------------
cat >app.sh <<SH
set -e
"$PROBE" --match app --vidpid 37c5:1204 find:1000 w:v1=0x0E hup:1000
for i in \$(seq 50); do dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null && break; sleep 0.05; done
rc=0; dfu-util -d ,37c5:9204 -a 2 -D img.bin --reset >/dev/null 2>&1 || rc=\$?
[ "\$rc" = 0 ] || [ "\$rc" = 251 ]
for i in \$(seq 100); do sleep 0.05; dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null && break; done
dfu-util -l 2>/dev/null | grep 'Found DFU: \[37c5:9204\]' >/dev/null
! "$PROBE" --match app --vidpid 37c5:1204 find:300
SH
rc=0; "$EMU" --camera h7 --app-mode v1 --boot-fails --window-ms 5000 --stats stats.json -- bash app.sh >out.txt 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--boot-fails with --app-mode: exit $rc"
stat_is boot_failures 1; stat_is v1_resets 1
ok "--boot-fails with the application: 0x0E -> flash -> reset -> the bootloader again, no application port"

# --- 7. --boot-fails, legacy bootloader: RESET after a flash brings the bootloader back --
run 0 --camera h7-legacy --app-mode v1 --boot-fails --stats stats.json -- match:app find:1000 \
    w:v1=0x0C hup:1000 match:bl find:2000 w:start expect:0300CDAB w:erase=2 \
    w:write+fill=60,0x77 w:reset hup:1000 gone:1000 find:2000 w:start expect:0300CDAB
stat_is boot_failures 1; stat_is bootloader_entries 2
run 0 --camera h7-legacy --app-mode v1 --boot-fails --stats stats.json -- match:app find:1000 \
    w:v1=0x0C hup:1000 match:bl find:2000 w:start expect:0300CDAB w:reset hup:1000 match:app find:2000
stat_is boot_failures 0
ok "--boot-fails (legacy): START, ERASE, WRITE, RESET -> the bootloader again; RESET without a write -> the application"

left=$(find "$TMPDIR" -maxdepth 1 -name 'umockdev.*' | wc -l)
[ "$left" = 0 ] || fail "$left umockdev testbed directories left behind"
echo "all $pass app self-tests passed"
