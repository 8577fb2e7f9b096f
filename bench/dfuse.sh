#!/usr/bin/env bash
# Arduino Portenta H7 full flash through the Arduino bootloader (plugins/dfuse):
# omvflashd --board boards/portenta_h7.ini --firmware DIR against the IDE's
# way with Debian's dfu-util (one process per image, the main image last with
# :leave), on omvemu's emulated Portenta, with no device time (zero) and with
# tests/emu/models/dfuse-realistic.ini (the compiled-in sector erase and
# program estimates). Every run's dump is checked against the images, so a
# fast but wrong run cannot count. Prints a table in bench/RESULTS.md's format.
#
#   bash bench/dfuse.sh [RUNS]      (default 3 runs per row; medians reported)
#   BUILD=dir bash bench/dfuse.sh   (another build)
#
# Images: firmware.bin 1.75 MiB (14 of the 128 KiB internal-flash sectors),
# romfs0.img 1 MiB (256 of the 4 KiB QSPI sectors).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
command -v dfu-util >/dev/null || { echo "bench needs dfu-util" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
[ -x "$BUILD/bin/omvemu" ] || bash scripts/build.sh "$BUILD" >/dev/null
EMU=$BUILD/bin/omvemu
FLASHD=$BUILD/bin/omvflashd

W=$(mktemp -d /tmp/omvdfuse-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw"
# firmware.bin starts with a stack pointer into RAM, as a real one does.
{ printf '\x00\x00\x08\x24'; head -c $((1835008 - 4 - 57344)) /dev/urandom; } >"$W/fw/firmware.bin"
head -c 1048576 /dev/urandom >"$W/fw/romfs0.img"

# run TOOL MODEL: one full flash; prints "wall_s cpu_s rss_kib device_s transfers"
run() {
    local tool=$1 model=$2 margs=() cmd
    [ "$model" = realistic ] && margs=(--model tests/emu/models/dfuse-realistic.ini)
    rm -rf "$W/dump" "$W/stats.json"
    if [ "$tool" = omvflashd ]; then
        # --no-confirm: omvemu models the Arduino bootloader, not the firmware it
        # starts (and dfu-util does not wait for it either)
        cmd="\"$FLASHD\" --board boards/portenta_h7.ini --firmware \"$W/fw\" -q --no-confirm"
    else
        cmd="dfu-util -d ,2341:035b -a 1 -s 0x90B00000 -D \"$W/fw/romfs0.img\" >/dev/null 2>&1 &&
             dfu-util -d ,2341:035b -a 0 -s 0x08040000:leave -D \"$W/fw/firmware.bin\" >/dev/null 2>&1"
    fi
    local t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$W/time" "$EMU" --camera portenta "${margs[@]}" --dump "$W/dump" \
        --stats "$W/stats.json" -- sh -c "$cmd"
    local t1=$EPOCHREALTIME
    cmp -s "$W/fw/firmware.bin" "$W/dump/0x08040000.bin" || { echo "$tool: firmware dump differs" >&2; exit 1; }
    cmp -s "$W/fw/romfs0.img" "$W/dump/0x90b00000.bin" || { echo "$tool: romfs0 dump differs" >&2; exit 1; }
    local lost
    lost=$(sed -n 's/.*"lost_writes":\([0-9]*\).*/\1/p' "$W/stats.json")
    [ "$lost" = 0 ] || { echo "$tool: $lost writes lost" >&2; exit 1; }
    read -r u s m <"$W/time"
    local dev xfers
    dev=$(sed -n 's/.*"device_busy_us":\([0-9]*\).*/\1/p' "$W/stats.json")
    xfers=$(sed -n 's/.*"control_transfers":\([0-9]*\).*/\1/p' "$W/stats.json")
    awk -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v m="$m" -v d="$dev" -v x="$xfers" \
        'BEGIN { printf "%.2f %.2f %d %.2f %d\n", b - a, u + s, m, d / 1e6, x }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| model | tool | wall s (median of $RUNS) | CPU s | peak RSS KiB | control transfers | modelled device time s |"
echo "|---|---|---|---|---|---|---|"
for model in zero realistic; do
    for tool in omvflashd dfu-util; do
        : >"$W/rows"
        for _ in $(seq "$RUNS"); do run "$tool" "$model" >>"$W/rows"; done
        wall=$(cut -d' ' -f1 "$W/rows" | median)
        line=$(awk -v w="$wall" '$1 == w { print; exit }' "$W/rows")
        read -r _ cpu rss dev xf <<<"$line"
        echo "| $model | $tool | $wall | $cpu | $rss | $xf | $dev |"
    done
done
