#!/usr/bin/env bash
# End-to-end tests of the cdc_bootloader and omv_entry plugins: the real
# omvflashd with the real board files (timings shortened, see tune_board)
# against omvemu's emulated legacy cameras.
#
#   run_legacy_e2e.sh --list                       print the scenario names
#   run_legacy_e2e.sh OMVEMU OMVFLASHD REPO [SCENARIO...]
#
# Exit 0 = all passed, 1 = a failure, 77 = skipped (emulator without legacy
# cameras, or no umockdev). LEGACY_E2E_VERBOSE=1 shows every command's output.
set -u

FAMILIES="h7 m7 m4 h7plus pt"

scenarios() {
    for f in $FAMILIES; do
        for v in 1 2 3; do echo "${f}_v${v}_safe"; done
        for v in 2 3; do echo "${f}_v${v}_fast"; done
        echo "${f}_app_v1"
        echo "${f}_app_v2"
    done
    echo h7_v1_fast_fallback
    echo h7_zlp_fast
    echo h7_zlp_safe
    echo m7_layout_mismatch
    echo h7_layout_override
    echo m4_image_too_large
    echo h7_unplug_mid_write
    echo h7_erase_filesystem
    echo m7_erase_filesystem
    echo h7plus_erase_filesystem
    echo h7_window_missed
    echo h7_fast_timeout_fallback
    echo h7_throughput
    echo h7_cli_mode_fast
    echo h7_firmware_only_dir
    echo h7_fast_resync_after_slow_erase
    echo h7plus_qspi_tail_after_fast_fallback
    echo h7plus_qspi_next_run_after_error
    echo h7plus_qspi_next_run_after_cancel
    echo h7plus_qspi_no_reset_refused
    echo h7plus_refused_before_start
    echo h7plus_qspi_slow_erase_safe
    echo h7plus_qspi_slow_erase_fast
    echo h7plus_erase_filesystem_slow_chip
}

if [ "${1:-}" = "--list" ]; then
    scenarios
    exit 0
fi

if [ $# -lt 3 ]; then
    echo "usage: $0 OMVEMU OMVFLASHD REPO [SCENARIO...] | --list" >&2
    exit 2
fi
OMVEMU=$1
OMVFLASHD=$2
REPO=$3
shift 3

if ! "$OMVEMU" --help 2>&1 | grep -q -- "-legacy"; then
    echo "SKIP: $OMVEMU has no legacy cameras"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/legacy-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0}

# ASan builds: keep libusb loaded to the end (the dfu plugin is dlclose()d, which
# makes its frames unsymbolisable) so that lsan.supp can name its known leak.
FLASHD=("$OMVFLASHD")
if ldd "$OMVFLASHD" 2>/dev/null | grep -q libasan; then
    LIBUSB=$(ldconfig -p | awk '/libusb-1.0.so.0 /{print $NF; exit}')
    printf '#!/bin/sh\nLD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}%s" exec "%s" "$@"\n' "$LIBUSB" "$OMVFLASHD" \
        >"$WORK/omvflashd-asan"
    chmod +x "$WORK/omvflashd-asan"
    FLASHD=("$WORK/omvflashd-asan")
    export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi

FAILS=0
CUR=""
fail() {
    echo "FAIL [$CUR]: $*"
    FAILS=$((FAILS + 1))
    return 1
}

# A copy of boards/NAME.ini with the [cdc_bootloader] section extended by KEY=VALUE
# lines (keys the board already has are replaced; a later KEY wins). The IDE's 2 s
# per erase in safe mode would make every H7 run take 28 s, and the QSPI erase
# wait 3 s per block: the emulator erases at once unless --model says otherwise,
# so both are shortened unless the scenario sets them (or KEEP_ERASE_WAITS=1:
# the board's own waits).
tune_board() { # name out key=value...
    local name=$1 out=$2
    shift 2
    local extra=""
    if [ "${KEEP_ERASE_WAITS:-0}" != 1 ]; then
        extra="safe_erase_delay_ms = 1"
        grep -q '^qspi_erase_delay_ms' "$REPO/boards/$name.ini" && extra="$extra"$'\n'"qspi_erase_delay_ms = 1"
    fi
    local kv
    for kv in "$@"; do extra="$extra"$'\n'"${kv%%=*} = ${kv#*=}"; done
    python3 - "$REPO/boards/$name.ini" "$out" "$extra" <<'EOF'
import sys
src, out, extra = sys.argv[1], sys.argv[2], sys.argv[3]
pairs = list(dict(l.split(" = ", 1) for l in extra.split("\n") if l).items())
keys = {k for k, _ in pairs}
lines, sec = [], None
for line in open(src):
    s = line.strip()
    if s.startswith("["):
        sec = s
    if sec == "[cdc_bootloader]" and "=" in s and not s.startswith(";") and s.split("=")[0].strip() in keys:
        continue
    lines.append(line)
    if s == "[cdc_bootloader]":
        lines += [f"{k} = {v}\n" for k, v in pairs]
open(out, "w").write("".join(lines))
EOF
}

# make_image FILE SIZE: deterministic bytes, not a multiple of 4 or 64. A
# firmware.bin also gets a romfs0.img next to it (the board's flash_order names
# ROMFS0; the legacy bootloader's flash_order = FIRMWARE skips it with a warning).
make_image() {
    case "$1" in */firmware.bin) printf 'romfs' >"${1%/*}/romfs0.img" ;; esac
    python3 -c "
import sys
n = int(sys.argv[2]); b = bytearray((i * 131 + (i >> 8) * 7 + 1) & 0xFF for i in range(n))
open(sys.argv[1], 'wb').write(b)" "$1" "$2"
}

# padded_equal DUMP IMAGE: DUMP == IMAGE padded with 0xFF to a 64-byte multiple
padded_equal() {
    python3 - "$1" "$2" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
i = open(sys.argv[2], "rb").read()
want = i + b"\xff" * ((-len(i)) % 64)
if d[:len(want)] != want:
    first = next((k for k in range(min(len(d), len(want))) if d[k] != want[k]), min(len(d), len(want)))
    print(f"dump differs from padded image at offset {first:#x} (dump {len(d)} bytes, want {len(want)})")
    sys.exit(1)
if any(c != 0xFF for c in d[len(want):]):
    print(f"dump has non-0xFF bytes after the padded image ({len(d)} > {len(want)})")
    sys.exit(1)
EOF
}

# run_emu OUTFILE EMU-ARGS... -- OMVFLASHD-ARGS... ; sets RC
run_emu() {
    local out=$1
    shift
    local emu=() arg
    while [ $# -gt 0 ]; do
        arg=$1
        shift
        [ "$arg" = "--" ] && break
        emu+=("$arg")
    done
    umockdev-wrapper "$OMVEMU" "${emu[@]}" -- "${FLASHD[@]}" --yes -v "$@" >"$out" 2>&1
    RC=$?
    if [ "${LEGACY_E2E_VERBOSE:-0}" = 1 ]; then
        echo "--- omvemu ${emu[*]} -- omvflashd $*  (rc $RC)"
        cat "$out"
    fi
}

# run_emu_script OUTFILE EMU-ARGS... -- SCRIPT: a bash SCRIPT that runs omvflashd
# ("$FLASHD") several times against ONE emulated camera, which keeps its state
# between the runs (a bootloader that got START stays in it; its write pointers
# stay where they were) as a real camera would; sets RC to the script's status.
run_emu_script() {
    local out=$1
    shift
    local emu=() arg
    while [ $# -gt 0 ]; do
        arg=$1
        shift
        [ "$arg" = "--" ] && break
        emu+=("$arg")
    done
    umockdev-wrapper "$OMVEMU" "${emu[@]}" -- env FLASHD="${FLASHD[0]}" bash "$1" >"$out" 2>&1
    RC=$?
    if [ "${LEGACY_E2E_VERBOSE:-0}" = 1 ]; then
        echo "--- omvemu ${emu[*]} -- bash $1  (rc $RC)"
        cat "$out"
    fi
}

# stat_of STATS KEY: one counter of omvemu --stats
stat_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

expect_stat() { # stats key want
    local got
    got=$(stat_of "$1" "$2") || got="(none)"
    [ "$got" = "$3" ] || fail "omvemu counted $2 = $got, want $3"
}

# qspi_holds DUMP IMAGE: the QSPI dump starts with IMAGE padded with 0xFF to
# whole 256-byte pages (then only erased bytes)
qspi_holds() {
    python3 - "$1" "$2" <<'EOF'
import sys
try:
    d = open(sys.argv[1], "rb").read()
except OSError as e:
    print(f"no QSPI dump: {e}")
    sys.exit(1)
i = open(sys.argv[2], "rb").read()
want = i + b"\xff" * ((-len(i)) % 256)
if d[:len(want)] != want:
    first = next((k for k in range(min(len(d), len(want))) if d[k] != want[k]), min(len(d), len(want)))
    print(f"QSPI differs from the padded image at offset {first:#x} (dump {len(d)} bytes, image {len(i)})")
    sys.exit(1)
if any(c != 0xFF for c in d[len(want):]):
    print("QSPI holds non-0xFF bytes after the image")
    sys.exit(1)
EOF
}

# blank_block DUMP: the first 64 KB of the QSPI dump are erased (0xFF)
blank_block() {
    python3 - "$1" <<'EOF'
import sys
try:
    d = open(sys.argv[1], "rb").read()
except OSError as e:
    print(f"no QSPI dump: {e}")
    sys.exit(1)
bad = [k for k in range(65536) if k >= len(d) or d[k] != 0xFF]
if bad:
    print(f"QSPI block 0 is not erased: {len(bad)} bytes are not 0xFF, the first at {bad[0]:#x}")
    sys.exit(1)
EOF
}

# legacy_model OUT KEY=VALUE...: an omvemu --model file with those [legacy] keys
legacy_model() {
    local out=$1
    shift
    { printf '[timing]\n[legacy]\n'; printf '%s\n' "$@"; } >"$out"
}

expect_rc() { # want out
    [ "$RC" = "$1" ] || fail "exit $RC, want $1: $(tail -3 "$2" | tr '\n' ' ')"
}

expect_text() { # out regex
    grep -Eq -- "$2" "$1" || fail "output lacks /$2/: $(tail -3 "$1" | tr '\n' ' ')"
}

family_of() { echo "${1%%_*}"; }

# ---- scenarios ---------------------------------------------------------------

flash_ok() { # family version mode [extra emu args...]
    local fam=$1 ver=$2 mode=$3
    shift 3
    local d="$WORK/$CUR"
    mkdir -p "$d/fw" "$d/dump"
    make_image "$d/fw/firmware.bin" 20003
    tune_board "$fam" "$d/board.ini" "mode=$mode" ${EXTRA_KEYS:-}
    run_emu "$d/out" --camera "$fam-legacy" --bootloader-version "$ver" --dump "$d/dump" "$@" -- \
        --board "$d/board.ini" --firmware "$d/fw" --wait 5
    expect_rc 0 "$d/out" || return 1
    expect_text "$d/out" "legacy bootloader V$ver caught" || return 1
    [ -f "$d/dump/FIRMWARE.bin" ] || { fail "no FIRMWARE.bin in the dump"; return 1; }
    local why
    why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || { fail "$why"; return 1; }
    if [ "$mode" = fast ] && [ "$ver" -ge 2 ]; then
        expect_text "$d/out" "in fast mode" || return 1
        ! grep -q "restarting the whole write in safe mode" "$d/out" || fail "fast mode fell back to safe"
    fi
    # flash_order = FIRMWARE of [cdc_bootloader] narrowed the plan
    expect_text "$d/out" "cannot write ROMFS0" || return 1
    expect_erased "$d" "$fam" firmware
}

# expect_erased DIR FAMILY firmware|filesystem: the emulator's erase.log lists
# exactly the IDE's sectors (settings.json "internal": M4/M7 erase 4-11, FS 1-3;
# H7 family erase 2-15, FS 1; H7 Plus/PT filesystem = QSPI block 0)
expect_erased() {
    local d=$1 fam=$2 what=$3 want
    case "$fam:$what" in
    m4:firmware | m7:firmware) want="flash 4 5 6 7 8 9 10 11" ;;
    m4:filesystem | m7:filesystem) want="flash 1 2 3" ;;
    *:firmware) want="flash 2 3 4 5 6 7 8 9 10 11 12 13 14 15" ;;
    h7plus:filesystem | pt:filesystem) want="qspi 0" ;;
    *:filesystem) want="flash 1" ;;
    esac
    local got
    got=$(awk 'BEGIN{k=""} {if ($1 != k) {printf "%s%s", (NR>1?" ":""), $1; k=$1} printf " %s", $2} END{print ""}' "$d/dump/erase.log" 2>/dev/null)
    [ "$got" = "$want" ] || fail "erased [$got], want [$want]"
}

app_entry() { # family protocol
    local fam=$1 proto=$2
    local d="$WORK/$CUR"
    mkdir -p "$d/fw" "$d/dump"
    make_image "$d/fw/firmware.bin" 12345
    tune_board "$fam" "$d/board.ini"
    run_emu "$d/out" --camera "$fam-legacy" --app-mode "$proto" --dump "$d/dump" -- \
        --board "$d/board.ini" --firmware "$d/fw" --wait 5
    expect_rc 0 "$d/out" || return 1
    expect_text "$d/out" "application mode" || return 1
    if [ "$proto" = v2 ]; then
        expect_text "$d/out" "protocol v2 camera: SYS_BOOT sent" || return 1
    else
        expect_text "$d/out" "debug protocol v1 SYS_RESET \(0x0C\) sent" || return 1
    fi
    local why
    why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || { fail "$why"; return 1; }
}

# ---- legacy QSPI (H7 Plus, Pure Thermal) and resync ----------------------------

# After a slow sector erase the fast-mode barrier times out; its reply comes
# late, just before the reply to the resync's START: the resync must find it.
# The erase (700 ms) outlasts the barrier's 500 ms by 200 ms, and the resync,
# sent after that, waits up to 500 ms for the ~180 ms rest of it.
fast_resync_after_slow_erase() {
    local d="$WORK/$CUR"
    make_image "$d/fw/firmware.bin" 9000
    legacy_model "$d/model.ini" erase_us_128k=700000
    tune_board h7 "$d/board.ini" mode=fast reply_timeout_ms=500 safe_erase_delay_ms=800 firmware_sectors=2-3 \
        layout_check=no
    run_emu "$d/out" --camera h7-legacy --model "$d/model.ini" --dump "$d/dump" -- \
        --board "$d/board.ini" --firmware "$d/fw" --wait 5
    expect_rc 0 "$d/out" || return 1
    expect_text "$d/out" "restarting the whole write in safe mode" || return 1
    local why
    why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || fail "$why"
}

# SPI_FLASH then FIRMWARE in one run; FIRMWARE's fast mode falls back to safe
# mode, whose START empties the bootloader's QSPI page buffer: the image's
# last partial page must not have been waiting there.
qspi_tail_after_fast_fallback() {
    local d="$WORK/$CUR"
    make_image "$d/fw/firmware.bin" 9000
    make_image "$d/qspi.bin" 1000 # 3 pages + 232 bytes
    tune_board h7plus "$d/board.ini" mode=fast reply_timeout_ms=300
    # FLASH_LAYOUT #1 layout query, #2 QSPI erase barrier, #3 the QSPI write's
    # last barrier (17 packets), #4 the barrier of FIRMWARE's first erase
    run_emu "$d/out" --camera h7plus-legacy --dump "$d/dump" --fault drop-layout-reply:4 -- \
        --board "$d/board.ini" --image "SPI_FLASH=$d/qspi.bin" --image "FIRMWARE=$d/fw/firmware.bin" --wait 5
    expect_rc 0 "$d/out" || return 1
    expect_text "$d/out" "restarting the whole write in safe mode" || return 1
    local why
    why=$(qspi_holds "$d/dump/QSPI.bin" "$d/qspi.bin") || fail "$why"
    why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || fail "$why"
}

# Run 1 (--retries 0) fails after writing QSPI (its last barrier gets no reply); run 2 (the
# next camera that shows up: --once) writes another image to the same camera:
# it must land at QSPI offset 0.
qspi_next_run_after_error() {
    local d="$WORK/$CUR"
    make_image "$d/a.bin" 5000
    python3 -c "import sys; open(sys.argv[1], 'wb').write(bytes((i * 7 + 3) & 0xFF for i in range(5000)))" "$d/b.bin"
    tune_board h7plus "$d/board.ini" reply_timeout_ms=300
    cat >"$d/runs.sh" <<EOF
"\$FLASHD" --yes -v --board "$d/board.ini" --image "SPI_FLASH=$d/a.bin" --wait 5 --retries 0 >"$d/out1" 2>&1; echo \$? >"$d/rc1"
"\$FLASHD" --yes -v --board "$d/board.ini" --image "SPI_FLASH=$d/b.bin" --once >"$d/out2" 2>&1; echo \$? >"$d/rc2"
EOF
    # FLASH_LAYOUT #1 run 1's layout query, #2 its last barrier (counted over reboots)
    run_emu_script "$d/out" --camera h7plus-legacy --app-mode v1 --dump "$d/dump" --stats "$d/stats.json" \
        --fault drop-layout-reply:2 -- "$d/runs.sh"
    [ "$(cat "$d/rc1")" = 11 ] || { fail "run 1 exit $(cat "$d/rc1"), want 11: $(tail -2 "$d/out1" | tr '\n' ' ')"; return 1; }
    [ "$(cat "$d/rc2")" = 0 ] || { fail "run 2 exit $(cat "$d/rc2"): $(tail -2 "$d/out2" | tr '\n' ' ')"; return 1; }
    local why
    why=$(qspi_holds "$d/dump/QSPI.bin" "$d/b.bin") || fail "$why"
    expect_stat "$d/stats.json" left_in_bootloader 0
}

# Run 1 is cancelled (SIGINT) while it streams QSPI; run 2 (--once) writes
# another image to the same camera: it must land at QSPI offset 0.
qspi_next_run_after_cancel() {
    local d="$WORK/$CUR"
    make_image "$d/a.bin" 200000
    python3 -c "import sys; open(sys.argv[1], 'wb').write(bytes((i * 7 + 3) & 0xFF for i in range(5000)))" "$d/b.bin"
    tune_board h7plus "$d/board.ini"
    mkfifo "$d/events"
    cat >"$d/runs.sh" <<EOF
"\$FLASHD" --yes --json --board "$d/board.ini" --image "SPI_FLASH=$d/a.bin" --wait 5 >"$d/events" 2>"$d/err1" &
pid=\$!
exec 3<"$d/events"
# the first progress event of the write: Ctrl-C
while IFS= read -r line <&3; do
    echo "\$line" >>"$d/out1"
    case \$line in *'"progress"'*'"SPI_FLASH"'*) kill -INT \$pid; break ;; esac
done
cat <&3 >>"$d/out1"
wait \$pid; echo \$? >"$d/rc1"
"\$FLASHD" --yes -v --board "$d/board.ini" --image "SPI_FLASH=$d/b.bin" --once >"$d/out2" 2>&1; echo \$? >"$d/rc2"
EOF
    run_emu_script "$d/out" --camera h7plus-legacy --app-mode v1 --dump "$d/dump" --stats "$d/stats.json" -- "$d/runs.sh"
    [ "$(cat "$d/rc1")" = 14 ] || { fail "run 1 exit $(cat "$d/rc1"), want 14 (cancelled): $(tail -2 "$d/out1" | tr '\n' ' ')"; return 1; }
    [ "$(cat "$d/rc2")" = 0 ] || { fail "run 2 exit $(cat "$d/rc2"): $(tail -2 "$d/out2" | tr '\n' ' ')"; return 1; }
    local why
    why=$(qspi_holds "$d/dump/QSPI.bin" "$d/b.bin") || fail "$why"
}

# --no-reset would leave the QSPI write pointer where the write stopped.
qspi_no_reset_refused() {
    local d="$WORK/$CUR"
    make_image "$d/a.bin" 5000
    tune_board h7plus "$d/board.ini"
    run_emu "$d/out" --camera h7plus-legacy --dump "$d/dump" --stats "$d/stats.json" -- \
        --board "$d/board.ini" --image "SPI_FLASH=$d/a.bin" --no-reset --wait 5
    expect_rc 17 "$d/out" || return 1
    expect_text "$d/out" "--no-reset cannot be used when the legacy bootloader writes SPI_FLASH" || return 1
    expect_stat "$d/stats.json" cmd_start 0
    [ ! -e "$d/dump/QSPI.bin" ] || fail "QSPI was written"
}

# Requests the legacy bootloader cannot do are refused before START (the
# camera goes back to its application by itself), with the same reason for
# ROMFS0 as the warning of a full flash that skips it.
refused_before_start() {
    local d="$WORK/$CUR" k
    make_image "$d/fw/firmware.bin" 9000
    printf 'romfs' >"$d/r.img"
    tune_board h7plus "$d/board.ini"
    local -a req=("--image ROMFS0=$d/r.img" "--image FILESYSTEM=$d/r.img" "--firmware $d/fw --verify")
    local -a why=("cannot write ROMFS0: it writes FIRMWARE and SPI_FLASH" "cannot write FILESYSTEM"
        "cannot read FIRMWARE back")
    for k in 0 1 2; do
        # shellcheck disable=SC2086 # req[k] is two words on purpose
        run_emu "$d/out$k" --camera h7plus-legacy --stats "$d/stats$k.json" -- \
            --board "$d/board.ini" ${req[k]} --wait 5
        expect_rc 17 "$d/out$k" || return 1
        expect_text "$d/out$k" "${why[k]}" || return 1
        expect_stat "$d/stats$k.json" cmd_start 0
        expect_stat "$d/stats$k.json" left_in_bootloader 0
    done
    run_emu "$d/out3" --camera h7plus-legacy --dump "$d/dump" -- --board "$d/board.ini" --firmware "$d/fw" --wait 5
    expect_rc 0 "$d/out3" || return 1
    local reason
    reason=$(sed -n 's/.*error: cdc_bootloader: \(.*\) (nothing was sent to the camera).*/\1/p' "$d/out0")
    grep -qF -- "cdc_bootloader: $reason: $d/fw/romfs0.img not written" "$d/out3" ||
        fail "the full flash does not skip ROMFS0 with the same reason [$reason]: $(grep -i romfs0 "$d/out3" | head -2)"
}

# A QSPI chip whose 64 KB erase outlasts the bootloader's own 2000 ms wait
# (2300 ms): the next block's erase must not reach it while it is busy.
qspi_slow_erase() { # mode
    local d="$WORK/$CUR"
    make_image "$d/qspi.bin" 70000 # blocks 0 and 1
    legacy_model "$d/model.ini" qspi_erase_us=2300000
    KEEP_ERASE_WAITS=1 tune_board h7plus "$d/board.ini" "mode=$1"
    run_emu "$d/out" --camera h7plus-legacy --model "$d/model.ini" --dump "$d/dump" --stats "$d/stats.json" -- \
        --board "$d/board.ini" --image "SPI_FLASH=$d/qspi.bin" --wait 5
    expect_rc 0 "$d/out" || return 1
    local why
    why=$(qspi_holds "$d/dump/QSPI.bin" "$d/qspi.bin") || fail "$why"
    expect_stat "$d/stats.json" qspi_busy_dropped 0
    expect_stat "$d/stats.json" unerased_writes 0
}

# --erase-filesystem on H7 Plus / PT: the filesystem is on the QSPI chip, so
# QSPI block 0 only (no internal sector), and erased completely before the
# RESET (the application resets the chip as it starts), in both modes.
erase_filesystem_slow_chip() {
    local d="$WORK/$CUR" m
    legacy_model "$d/model.ini" qspi_erase_us=2300000
    for m in safe fast; do
        KEEP_ERASE_WAITS=1 tune_board h7plus "$d/board-$m.ini" "mode=$m"
        run_emu "$d/out-$m" --camera h7plus-legacy --model "$d/model.ini" --dump "$d/dump-$m" --stats "$d/stats-$m.json" -- \
            --board "$d/board-$m.ini" --erase-filesystem --wait 5
        expect_rc 0 "$d/out-$m" || return 1
        [ "$(cut -d' ' -f1,2 "$d/dump-$m/erase.log" | tr '\n' ' ')" = "qspi 0 " ] ||
            fail "$m: erased [$(tr '\n' ' ' <"$d/dump-$m/erase.log")], want QSPI block 0 only"
        local why
        why=$(blank_block "$d/dump-$m/QSPI.bin") || fail "$m: $why"
        expect_stat "$d/stats-$m.json" qspi_erase_aborted 0
    done
}

scenario() {
    local sc=$1 fam
    fam=$(family_of "$sc")
    local d="$WORK/$sc"
    mkdir -p "$d/fw" "$d/dump"
    case "$sc" in
    *_v[123]_safe) local v=${sc#*_v}; flash_ok "$fam" "${v%%_*}" safe ;;
    *_v[23]_fast) local v=${sc#*_v}; flash_ok "$fam" "${v%%_*}" fast ;;
    *_app_v1) app_entry "$fam" v1 ;;
    *_app_v2) app_entry "$fam" v2 ;;
    h7_v1_fast_fallback)
        flash_ok h7 1 fast || return 1
        expect_text "$d/out" "V1 bootloader lacks: writing in safe mode"
        ;;
    h7_zlp_fast)
        # an OS that adds a ZLP after a 64-byte transfer (macOS): fast mode with
        # the IDE's workaround (FLASH_LAYOUT appended to every full-size write)
        EXTRA_KEYS="zlp_workaround=yes" flash_ok h7 3 fast --zlp || return 1
        expect_text "$d/out" "in fast mode"
        ;;
    h7_zlp_safe)
        # safe mode never sends a full packet: no ZLP, no workaround needed
        flash_ok h7 3 safe --zlp
        ;;
    h7_fast_timeout_fallback)
        # the emulator drops one FLASH_LAYOUT reply: fast mode times out and the
        # whole write restarts in safe mode
        make_image "$d/fw/firmware.bin" 9000
        tune_board h7 "$d/board.ini" "mode=fast" "reply_timeout_ms=300"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 3 --dump "$d/dump" --fault drop-layout-reply:3 -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 5
        expect_rc 0 "$d/out" || return 1
        expect_text "$d/out" "restarting the whole write in safe mode" || return 1
        local why
        why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || fail "$why"
        ;;
    m7_layout_mismatch)
        # an H7 bootloader (layout {1, 2, 15}) seen through the M7 board (4-11, 1-3)
        make_image "$d/fw/firmware.bin" 4000
        tune_board m7 "$d/board.ini"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 2 --dump "$d/dump" -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 3
        expect_rc 8 "$d/out" || return 1
        expect_text "$d/out" "firmware sectors 2-15, filesystem sectors 1-1 \(FLASH_LAYOUT \{1, 2, 15\}\)" || return 1
        expect_text "$d/out" "firmware_sectors = 4-11, filesystem_sectors = 1-3" || return 1
        [ ! -s "$d/dump/FIRMWARE.bin" ] || fail "something was written despite the mismatch"
        ;;
    h7_layout_override)
        # layout_check = no: the board's narrower range wins, with a warning
        make_image "$d/fw/firmware.bin" 4000
        tune_board h7 "$d/board.ini" "firmware_sectors=2-14" "layout_check=no"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 2 --dump "$d/dump" -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 3
        expect_rc 0 "$d/out" || return 1
        expect_text "$d/out" "layout_check = no: using the board's" || return 1
        ;;
    m4_image_too_large)
        # firmware sectors 4-4 on the F427 = 64 KB; the image is 70000 bytes
        make_image "$d/fw/firmware.bin" 70000
        tune_board m4 "$d/board.ini" "firmware_sectors=4-4" "layout_check=no"
        run_emu "$d/out" --camera m4-legacy --bootloader-version 2 --dump "$d/dump" -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 3
        expect_rc 5 "$d/out" || return 1
        expect_text "$d/out" "image is 70000 bytes but firmware sectors 4-4 of the stm32f4 hold 65536 bytes"
        ;;
    h7_unplug_mid_write)
        make_image "$d/fw/firmware.bin" 30000
        tune_board h7 "$d/board.ini"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 3 --dump "$d/dump" --fault unplug@FIRMWARE:8000 -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 3
        expect_rc 10 "$d/out" || return 1
        expect_text "$d/out" "write at offset 0x[0-9A-F]+: device gone"
        ;;
    h7_erase_filesystem | m7_erase_filesystem | h7plus_erase_filesystem)
        tune_board "$fam" "$d/board.ini"
        run_emu "$d/out" --camera "$fam-legacy" --bootloader-version 3 --dump "$d/dump" -v -- \
            --board "$d/board.ini" --erase-filesystem --wait 3
        expect_rc 0 "$d/out" || return 1
        case $fam in
        h7) expect_text "$d/out" "erasing FILESYSTEM sectors 1-1" ;;
        m7) expect_text "$d/out" "erasing FILESYSTEM sectors 1-3" ;;
        h7plus) expect_text "$d/out" "erasing QSPI block 0" ;;
        esac
        expect_erased "$d" "$fam" filesystem
        [ ! -s "$d/dump/FIRMWARE.bin" ] || fail "FIRMWARE was touched by --erase-filesystem"
        ;;
    h7_cli_mode_fast)
        # --mode fast on the command line reaches the transport's options
        make_image "$d/fw/firmware.bin" 9000
        tune_board h7 "$d/board.ini"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 3 --dump "$d/dump" -- \
            --board "$d/board.ini" --firmware "$d/fw" --mode fast --wait 3
        expect_rc 0 "$d/out" || return 1
        expect_text "$d/out" "in fast mode" || return 1
        local why
        why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || fail "$why"
        ;;
    h7_firmware_only_dir)
        # a legacy-era release holds firmware.bin only: ROMFS0 is needed only if
        # the DFU bootloader answered, so the run goes on and flashes FIRMWARE
        make_image "$d/fw/firmware.bin" 9000
        rm -f "$d/fw/romfs0.img"
        tune_board h7 "$d/board.ini"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 3 --dump "$d/dump" -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 3
        expect_rc 0 "$d/out" || return 1
        expect_text "$d/out" "romfs0.img not found: partition ROMFS0 is written only if" || return 1
        local why
        why=$(padded_equal "$d/dump/FIRMWARE.bin" "$d/fw/firmware.bin") || fail "$why"
        ;;
    h7_window_missed)
        make_image "$d/fw/firmware.bin" 4000
        tune_board h7 "$d/board.ini"
        run_emu "$d/out" --camera h7-legacy --bootloader-version 3 --window-ms 0 -- \
            --board "$d/board.ini" --firmware "$d/fw" --wait 1
        expect_rc 6 "$d/out"
        ;;
    h7_throughput)
        # 256 KB in each mode; prints KB/s for the report
        make_image "$d/fw/firmware.bin" 262144
        local m t0 t1
        for m in safe fast; do
            tune_board h7 "$d/board-$m.ini" "mode=$m"
            rm -rf "$d/dump" && mkdir -p "$d/dump"
            t0=$(date +%s%N)
            run_emu "$d/out-$m" --camera h7-legacy --bootloader-version 3 --dump "$d/dump" -- \
                --board "$d/board-$m.ini" --image "FIRMWARE=$d/fw/firmware.bin" --wait 5
            t1=$(date +%s%N)
            expect_rc 0 "$d/out-$m" || return 1
            echo "throughput $m: $((262144 * 1000000 / ((t1 - t0) / 1000) / 1024)) KB/s (whole run $(((t1 - t0) / 1000000)) ms)"
            grep -E "write FIRMWARE done" "$d/out-$m" || true
        done
        ;;
    h7_fast_resync_after_slow_erase) fast_resync_after_slow_erase ;;
    h7plus_qspi_tail_after_fast_fallback) qspi_tail_after_fast_fallback ;;
    h7plus_qspi_next_run_after_error) qspi_next_run_after_error ;;
    h7plus_qspi_next_run_after_cancel) qspi_next_run_after_cancel ;;
    h7plus_qspi_no_reset_refused) qspi_no_reset_refused ;;
    h7plus_refused_before_start) refused_before_start ;;
    h7plus_qspi_slow_erase_safe) qspi_slow_erase safe ;;
    h7plus_qspi_slow_erase_fast) qspi_slow_erase fast ;;
    h7plus_erase_filesystem_slow_chip) erase_filesystem_slow_chip ;;
    *)
        fail "unknown scenario"
        ;;
    esac
}

list=("$@")
[ ${#list[@]} -eq 0 ] && mapfile -t list < <(scenarios)
for sc in "${list[@]}"; do
    CUR=$sc
    before=$FAILS
    scenario "$sc"
    [ "$FAILS" = "$before" ] && echo "ok   [$sc]"
done
[ "$FAILS" = 0 ] && exit 0
exit 1
