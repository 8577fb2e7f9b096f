#!/usr/bin/env bash
# Benchmark: omvflashd --watch flashing 1, 4 and 8 emulated AE3s at once
# (same images), with the emulator's timing model at zero and at the
# realistic AE3 model. Prints a table; the goal is that 8 cameras take far
# less than 8 x one.
#
#   bash bench/watch.sh [BUILD_DIR] [RUNS]   (default build-watch, 1 run per configuration; medians)
#
# Images: HP 1 MiB, HE 512 KiB, ROMFS1 256 KiB, ROMFS0 2 MiB (1024 blocks of 4 KiB).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-watch}
RUNS=${2:-1}
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench needs jq" >&2; exit 2; }
EMU=$BUILD/bin/omvemu
FLASHD=$BUILD/bin/omvflashd
[ -x "$EMU" ] && [ -x "$FLASHD" ] || { echo "build $BUILD first (scripts/build.sh $BUILD)" >&2; exit 2; }

W=$(mktemp -d /tmp/omvbench-watch.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw"
head -c 1048576 /dev/urandom >"$W/fw/firmware_M55_HP.bin"
head -c 524288 /dev/urandom >"$W/fw/firmware_M55_HE.bin"
head -c 262144 /dev/urandom >"$W/fw/romfs1.img"
head -c 2097152 /dev/urandom >"$W/fw/romfs0.img"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# one_run MODEL N RUN: flash N cameras at once; leaves $W/MODEL-N-RUN.{wall,time,json}
one_run() {
    local model=$1 n=$2 run=$3 base="$W/$1-$2-$3"
    local cams=() margs=()
    for _ in $(seq "$n"); do cams+=(--camera ae3); done
    [ "$model" = zero ] || margs=(--model tests/emu/models/ae3-realistic.ini)
    rm -rf "$base.dump"
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%e %U %S' -o "$base.time" "$EMU" "${cams[@]}" "${margs[@]}" --dump "$base.dump" -- \
        "$FLASHD" --board boards/ae3.ini --firmware "$W/fw" --watch --max "$n" --json >"$base.json"
    t1=$(now)
    echo "$t1 - $t0" | bc -l >"$base.wall"
    [ "$(jq -r 'select(.event == "device_result" and .exit_code == 0) | .port' "$base.json" | wc -l)" = "$n" ] ||
        { echo "bench: not all $n cameras flashed" >&2; exit 1; }
    local d
    for d in "$base.dump"/*/ "$base.dump"; do
        [ -f "$d/ROMFS0.bin" ] || continue
        cmp -s "$W/fw/romfs0.img" "$d/ROMFS0.bin" && cmp -s "$W/fw/firmware_M55_HP.bin" "$d/HP.bin" ||
            { echo "bench: $d differs from the images" >&2; exit 1; }
    done
    rm -rf "$base.dump"
}

declare -A WALL CPU DEV
for model in zero realistic; do
    for n in 1 4 8; do
        for r in $(seq "$RUNS"); do
            echo "bench: model $model, $n camera(s), run $r/$RUNS" >&2
            one_run "$model" "$n" "$r"
        done
        WALL[$model-$n]=$(cat "$W/$model-$n"-*.wall | median)
        # CPU of the emulator and omvflashd together (children included)
        CPU[$model-$n]=$(for f in "$W/$model-$n"-*.time; do awk '{print $2+$3}' "$f"; done | median)
        # slowest camera's own flash time (device_result.elapsed_ms)
        DEV[$model-$n]=$(for f in "$W/$model-$n"-*.json; do
            jq -s '[.[] | select(.event == "device_result") | .elapsed_ms] | max / 1000' "$f"; done | median)
    done
done

echo
echo "omvflashd --watch --max N, N emulated AE3s at once ($(nproc) cores; images 3.75 MiB per camera)"
echo
echo "| model | cameras | wall s | wall / (N x one) | slowest camera's flash s | CPU s (emulator + omvflashd) |"
echo "|---|---|---|---|---|---|"
for model in zero realistic; do
    for n in 1 4 8; do
        ratio=$(echo "${WALL[$model-$n]} / ($n * ${WALL[$model-1]})" | bc -l)
        printf '| %s | %d | %.2f | %.2f | %.2f | %.2f |\n' "$model" "$n" "${WALL[$model-$n]}" "$ratio" \
            "${DEV[$model-$n]}" "${CPU[$model-$n]}"
    done
done
