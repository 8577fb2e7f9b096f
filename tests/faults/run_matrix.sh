#!/usr/bin/env bash
# Fault matrix runner: run one row of matrix.tsv (see the header there).
# Usage: run_matrix.sh ROW_ID        (one row; CTest runs one test per row)
#        run_matrix.sh --all         (every row, sequentially, with a summary)
# Environment (set by CTest): OMVEMU, OMVFLASHD, SRC, FAULTS_PLUGIN_DIR (test-only
# plugins), PLUGIN_DIR (the build's plugins), USB_CLAIM.
# Exit: 0 pass, 1 fail, 77 skipped (e.g. a chmod row when running as root).
HERE=$(cd "$(dirname "$0")" && pwd)
TSV="$HERE/matrix.tsv"

if [ "${1:-}" = --all ]; then
    pass=0 failed=() skipped=()
    for id in $(awk -F'\t' '/^[a-z]/ {print $1}' "$TSV"); do
        rc=0
        bash "$0" "$id" >/dev/null 2>&1 || rc=$?
        case $rc in
        0) pass=$((pass + 1)) ;;
        77) skipped+=("$id") ;;
        *) failed+=("$id") ;;
        esac
    done
    echo "fault matrix: $pass passed, ${#skipped[@]} skipped (${skipped[*]}), ${#failed[@]} failed (${failed[*]})"
    [ ${#failed[@]} = 0 ]
    exit
fi

. "$SRC/tests/e2e/lib.sh"
unset OMVFLASH_PLUGIN_PATH

ID=${1:?usage: run_matrix.sh ROW_ID | --all}
ROW=$(awk -F'\t' -v id="$ID" '$1 == id { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? "\037" : "\n") }' "$TSV")
[ -n "$ROW" ] || fail "no row '$ID' in $TSV"
IFS=$'\037' read -r _id DESC SETUP EMU ARGS CODE EXPECT POST <<<"$ROW"
[ -n "${POST:-}" ] || fail "row $ID: expected 8 tab-separated fields"

BOARD="$SRC/boards/ae3.ini"
DUMP="$WORK/dump"
STATS="$WORK/stats.json"
CMD=("$OMVFLASHD")
EMU_ON=1

# ---- setup helpers (used in the setup column) ------------------------------

# img NAME BYTES: random image $WORK/NAME.
img() { mkimage "$WORK/$1" "$2"; }
# zeros NAME BYTES: $WORK/NAME of zero bytes.
zeros() { head -c "$2" /dev/zero >"$WORK/$1"; }
# mram_key NAME BYTES: the AE3 recovery key (docs/protocols.md §3.6) padded with zeros
# to BYTES (4096 is the right size).
mram_key() {
    { printf '\x15\x9e\x7d\x42\x96\x1a\x71\xeb\x73\xa3\x26\x29\x2b\x08\x09\x0e'
      head -c "$(($2 - 16))" /dev/zero; } >"$WORK/$1"
}
# fw [FILE...]: the four AE3 images in $WORK/fw; with FILEs, a firmware.lst
# naming them (one per line; "" gives an empty line).
fw() {
    ae3_firmware "$WORK/fw"
    if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$WORK/fw/firmware.lst"; fi
}
# board SED-EXPR...: $WORK/board.ini = ae3.ini edited by sed; BOARD points at it.
board() {
    local args=()
    for e in "$@"; do args+=(-e "$e"); done
    sed "${args[@]}" "$SRC/boards/ae3.ini" >"$WORK/board.ini"
    cmp -s "$SRC/boards/ae3.ini" "$WORK/board.ini" && fail "row $ID: board edit changed nothing: $*"
    BOARD="$WORK/board.ini"
}
# use_board NAME [SED-EXPR...]: BOARD = boards/NAME.ini (a copy edited by sed when given).
use_board() {
    local name=$1
    shift
    if [ $# -eq 0 ]; then BOARD="$SRC/boards/$name.ini"; return; fi
    local args=()
    for e in "$@"; do args+=(-e "$e"); done
    sed "${args[@]}" "$SRC/boards/$name.ini" >"$WORK/board.ini"
    BOARD="$WORK/board.ini"
}
# legacy_fw BYTES: $WORK/fw/firmware.bin only (a legacy-era release).
legacy_fw() { mkdir -p "$WORK/fw"; mkimage "$WORK/fw/firmware.bin" "$1"; }
# transport NAME: board copy whose transport (and its section) is NAME.
transport() { board "s/^transport = .*/transport = $1/" "s/^\[dfu\]/[$1]/"; }
# noemu: run omvflashd without the emulator (nothing to talk to).
noemu() { EMU_ON=0; }
# plugin_copy NAME DIR MODE [FILE_MODE]: the build's omvflash_NAME.so copied
# into $WORK/DIR, the directory chmod MODE (and the file FILE_MODE).
plugin_copy() {
    mkdir -p "$WORK/$2"
    cp "$PLUGIN_DIR/omvflash_$1.so" "$WORK/$2/"
    chmod "$3" "$WORK/$2"
    if [ -n "${4:-}" ]; then chmod "$4" "$WORK/$2/omvflash_$1.so"; fi
}
# skip_unless_root: rows that make device nodes (mknod) need root.
skip_unless_root() { if [ "$(id -u)" != 0 ]; then echo "SKIP: $ID needs root (mknod)"; exit 77; fi; }
# skip_if_root: permission rows mean nothing to root (CI runs as root).
skip_if_root() { if [ "$(id -u)" = 0 ]; then echo "SKIP: $ID needs a non-root user"; exit 77; fi; }
# late MS: omvflashd starts MS ms after the device appeared (a slow host).
late() {
    cat >"$WORK/late.sh" <<EOS
sleep $(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')
exec "$OMVFLASHD" "\$@"
EOS
    CMD=(bash "$WORK/late.sh")
}
# twice: run omvflashd twice in one emulator session (one bootloader session);
# the first run must succeed, the row's expectations apply to the second.
twice() {
    cat >"$WORK/twice.sh" <<EOS
"$OMVFLASHD" "\$@" >/dev/null 2>"$WORK/first.err" || { cat "$WORK/first.err" >&2; exit 50; }
exec "$OMVFLASHD" "\$@"
EOS
    CMD=(bash "$WORK/twice.sh")
}
# change_image_after_dnload FILE [replace|append|rewrite]: while omvflashd
# runs, change FILE once the emulator logged the first DNLOAD (needs omvemu
# -v, whose log shares our stderr file): replace it by another file of the
# same size (default), append 4 KiB to it (a download still running), or
# rewrite its bytes in place. With that block slow, the write is still
# running when the file changes, whatever the host's speed (valgrind too).
change_image_after_dnload() {
    local how
    case ${2:-replace} in
    replace) how="head -c \$(stat -c %s '$1') /dev/urandom >'$1.new' && mv '$1.new' '$1'" ;;
    append) how="head -c 4096 /dev/urandom >>'$1'" ;;
    rewrite) how="head -c \$(stat -c %s '$1') /dev/urandom | dd of='$1' conv=notrunc status=none" ;;
    esac
    cat >"$WORK/change.sh" <<EOS
"$OMVFLASHD" "\$@" & pid=\$!
for i in \$(seq 1 1000); do grep -q 'DNLOAD alt=' "$WORK/err" && break; sleep 0.02; done
$how
wait \$pid
EOS
    CMD=(bash "$WORK/change.sh")
}

# busy VID:PID: another program has the camera: usb_claim (a libusb host)
# claims its interface and holds it while the row's omvflashd runs; exit 50
# if it could not claim first.
busy() {
    cat >"$WORK/busy.sh" <<EOS
"$USB_CLAIM" $1 30 >"$WORK/claim.out" 2>&1 & claim=\$!
for i in \$(seq 1 1000); do grep -q claimed "$WORK/claim.out" && break; sleep 0.01; done
grep -q claimed "$WORK/claim.out" || { cat "$WORK/claim.out" >&2; exit 50; }
rc=0; "$OMVFLASHD" "\$@" || rc=\$?
kill -TERM \$claim; wait \$claim
exit \$rc
EOS
    CMD=(bash "$WORK/busy.sh")
}

# ---- post-condition helpers (used in the post column) ----------------------

need_stats() { [ -s "$STATS" ] || fail "row $ID: no --stats output (post-condition needs the emulator)"; }
# counter KEY OP N: omvemu counter KEY compared with N (OP: = != -ge -le -gt -lt).
counter() {
    need_stats
    local v
    v=$(stat_of "$STATS" "$1")
    [ "$v" "$2" "$3" ] || fail "row $ID: expected $1 $2 $3, stats: $(cat "$STATS")"
}
# no_transfer: not one control transfer reached the device.
no_transfer() { counter control_transfers = 0; }
# no_write: no DNLOAD reached the device.
no_write() { counter dnload = 0; }
# no_detach: the camera was left in its bootloader (a failed flash never resets it).
no_detach() { counter detach = 0; }
absent() { assert_absent "$1"; }
present() { [ -e "$1" ] || fail "row $ID: $1 should exist"; }
same() { assert_same "$1" "$2"; }
# err_lines N: stderr has exactly N lines in all.
err_lines() { [ "$(wc -l <"$WORK/err")" = "$1" ] || fail "row $ID: expected $1 stderr line(s): $(cat "$WORK/err")"; }
# prefix_same A B N: the first N bytes of A and B are equal.
prefix_same() { cmp -n "$3" "$1" "$2" >/dev/null || fail "row $ID: first $3 bytes of $1 and $2 differ"; }

# ---- run ---------------------------------------------------------------------

[ "$SETUP" = - ] || eval "$SETUP"
eval "args=($ARGS)"
if [ "$EMU_ON" = 1 ]; then
    eval "emu=($EMU)"
    [ "$EMU" != - ] || fail "row $ID: emu column is '-' but setup did not say noemu"
    full=("$OMVEMU" --stats "$STATS" --dump "$DUMP" "${emu[@]}" -- "${CMD[@]}" "${args[@]}")
else
    full=("${CMD[@]}" "${args[@]}")
fi

got=0
"${full[@]}" </dev/null >"$WORK/out" 2>"$WORK/err" || got=$?
show() { echo "--- row $ID: $DESC"; echo "--- command: ${full[*]}"; echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"; }

[ "$got" -lt 128 ] || { show; fail "row $ID: crashed (exit $got)"; }
[ "$got" = "$CODE" ] || { show; fail "row $ID: expected exit $CODE, got $got"; }

if [ "$CODE" != 0 ]; then
    n=$(grep -c '^omvflashd: error: ' "$WORK/err" || true)
    [ "$n" = 1 ] || { show; fail "row $ID: expected exactly one 'omvflashd: error:' line, got $n"; }
fi
# Sanitizer reports (ASan build) are failures even if the exit code matched.
if grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer)|runtime error:' "$WORK/err"; then
    show; fail "row $ID: sanitizer report"
fi

# Expected fixed substrings, '|'-separated. @L{REGEX} becomes the number of the
# first line of the board file (as used) matching REGEX, so rows survive edits
# of boards/ae3.ini.
if [ "$EXPECT" != - ]; then
    IFS='|' read -r -a wants <<<"$EXPECT"
    for w in "${wants[@]}"; do
        while [[ $w =~ @L\{([^}]*)\} ]]; do
            re=${BASH_REMATCH[1]}
            ln=$(grep -n -m1 -E -- "$re" "$BOARD" | cut -d: -f1)
            [ -n "$ln" ] || fail "row $ID: no line matching '$re' in $BOARD"
            w=${w/"${BASH_REMATCH[0]}"/$ln}
        done
        grep -qF -- "$w" "$WORK/err" || { show; fail "row $ID: '$w' not found on stderr"; }
    done
fi

[ "$POST" = - ] || eval "$POST" || fail "row $ID: post-condition failed: $POST"
echo "PASS: $ID ($DESC)"
