#!/usr/bin/env bash
# Run a subset of the end-to-end tests (tests/e2e) and of the fault matrix
# (tests/faults) with omvflashd under valgrind memcheck: any memory error or
# definite leak fails the run (exit 99 from valgrind, reported per case).
# Usage: scripts/valgrind.sh [BUILD_DIR]   (default: build; built if missing)
#
# How it works with the emulator: omvemu runs its COMMAND with
# LD_PRELOAD=libumockdev-preload. The command here is a wrapper that execs
# valgrind; valgrind's tool is static, so the preload only applies to the
# guest omvflashd (valgrind appends its own vgpreload to LD_PRELOAD), which
# then talks to the emulated camera as usual. Two adjustments:
#  - umockdev's preload forwards each usbfs ioctl to the emulator with the
#    whole transfer buffer, including the not-yet-filled IN data that libusb
#    malloc'ed: a false "sendto(msg) points to uninitialised byte(s)" inside
#    libumockdev-preload, suppressed below (only inside that library).
#  - valgrind's start-up (1-2 s) exceeds the emulated bootloader's 1.5 s
#    window, so an omvemu wrapper adds --window-ms 60000 after every --camera
#    (a case's own later --window-ms still wins). The window itself is
#    covered by the normal e2e and fault-matrix runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$build/bin/omvflashd" ] && [ -x "$build/bin/omvemu" ] || bash scripts/build.sh "$build"
src=$(pwd)
bin=$(cd "$build/bin" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-vg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs"

cat >"$tmp/umockdev.supp" <<'EOF'
{
   umockdev-preload forwards usbfs IN buffers before the device filled them
   Memcheck:Param
   socketcall.sendto(msg)
   ...
   obj:*/libumockdev-preload.so*
}
{
   umockdev-preload forwards usbfs IN buffers before the device filled them (write)
   Memcheck:Param
   write(buf)
   ...
   obj:*/libumockdev-preload.so*
}
EOF

cat >"$tmp/omvflashd" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --suppressions="$tmp/umockdev.supp" \\
    --log-file="$tmp/logs/vg.%p.log" "$bin/omvflashd" "\$@"
EOF
cat >"$tmp/omvemu" <<EOF
#!/usr/bin/env bash
# --window-ms 60000 after every --camera CAM (before the command's --).
args=()
while [ \$# -gt 0 ]; do
    case \$1 in
    --) break ;;
    --camera) args+=("\$1" "\$2" --window-ms 60000); shift 2; continue ;;
    --camera=*) args+=("\$1" --window-ms 60000) ;;
    *) args+=("\$1") ;;
    esac
    shift
done
exec "$bin/omvemu" "\${args[@]}" "\$@"
EOF
chmod +x "$tmp/omvflashd" "$tmp/omvemu"

export OMVEMU="$tmp/omvemu" OMVFLASHD="$tmp/omvflashd" SRC="$src"
export FAULTS_PLUGIN_DIR="$(cd "$build" && pwd)/tests/faults/plugins"
export PLUGIN_DIR="$(cd "$build" && pwd)/lib/omvflash/plugins"
unset OMVFLASH_PLUGIN_PATH

# The subset: every e2e path through the core and the dfu plugin (write,
# verify, read, dry run, plan/image errors, device error statuses, unplug,
# JSON, listing, selection, usage errors, mixed with dfu-util), then fault
# rows for the paths e2e does not reach (stall, busy/slow timeouts, short
# upload, MRAM action twice, bad plugins, board errors, two cameras).
e2e=(full_flash verify read dry_run firmware_lst_missing_file oversized boot_readonly wrong_board
     never_appears device_error unplugged json_error list_devices serial_mismatch usage_errors
     interop_readback)
faults=(stall_dnload stuck_error busy_forever slow_status read_short_upload verify_mismatch window_missed
        mram_second_attempt mram_wrong_key two_cameras plugin_bad_abi plugin_no_symbol
        board_bad_size firmware_lst_slash)

jobs=()
for c in "${e2e[@]}"; do jobs+=("e2e $c"); done
if [ -f tests/faults/run_matrix.sh ] && [ -d "$FAULTS_PLUGIN_DIR" ]; then
    for r in "${faults[@]}"; do jobs+=("faults $r"); done
else
    echo "valgrind: fault matrix not built in $build (tests/faults not registered?): e2e only"
fi

run_one() {
    local kind=$1 name=$2 log="$tmp/logs/$1.$2.out"
    local rc=0
    if [ "$kind" = e2e ]; then
        bash tests/e2e/test_ae3.sh "$name" >"$log" 2>&1 || rc=$?
    else
        bash tests/faults/run_matrix.sh "$name" >"$log" 2>&1 || rc=$?
    fi
    if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then echo "ok   $kind.$name"; else echo "FAIL $kind.$name"; cat "$log"; fi
}
export -f run_one
export tmp
start=$(date +%s)
printf '%s\n' "${jobs[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_one {}' | tee "$tmp/summary"

fails=$(grep -c '^FAIL' "$tmp/summary" || true)
# Every valgrind log must be empty (-q: only errors are written).
bad=0
for f in "$tmp"/logs/vg.*.log; do
    [ -e "$f" ] || continue
    if [ -s "$f" ]; then bad=$((bad + 1)); echo "--- $f"; cat "$f"; fi
done
runs=$(ls "$tmp"/logs/vg.*.log 2>/dev/null | wc -l)
echo "valgrind: ${#jobs[@]} cases, $runs omvflashd runs under memcheck, $fails failed, $bad with valgrind reports, $(($(date +%s) - start)) s"
[ "$fails" = 0 ] && [ "$bad" = 0 ]
