#!/usr/bin/env bash
# Benchmark: 8 emulated AE3s flashed by omvflashd --watch with --jobs 2, 4
# and no limit, on the realistic AE3 timing model, release-sized images.
# Prints a table: wall time, the ideal (ceil(8 / jobs) rounds of one camera's
# flash), the most cameras seen in progress at once (from the events), CPU.
#
#   bash bench/jobs.sh [BUILD_DIR] [RUNS]   (default build, 1 run per configuration; medians)
#
# Images as in bench/run.sh: HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB.
# The cameras are in forced DFU mode (--forced: no 1.5 s bootloader window),
# as on a bench where they wait for their turn in their bootloader.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-1}
N=8
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench needs jq" >&2; exit 2; }
EMU=$BUILD/bin/omvemu
FLASHD=$BUILD/bin/omvflashd
[ -x "$EMU" ] && [ -x "$FLASHD" ] || { echo "build $BUILD first (scripts/build.sh $BUILD)" >&2; exit 2; }

W=$(mktemp -d /tmp/omvbench-jobs.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw"
head -c 3145728 /dev/urandom >"$W/fw/firmware_M55_HP.bin"
head -c 1433600 /dev/urandom >"$W/fw/firmware_M55_HE.bin"
head -c 1048576 /dev/urandom >"$W/fw/romfs1.img"
head -c 8388608 /dev/urandom >"$W/fw/romfs0.img"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# one_run JOBS RUN (JOBS 0 = no limit): leaves $W/JOBS-RUN.{wall,time,json}
one_run() {
    local jobs=$1 base="$W/$1-$2" cams=() jargs=()
    for _ in $(seq "$N"); do cams+=(--camera ae3 --forced); done
    [ "$jobs" = 0 ] || jargs=(--jobs "$jobs")
    rm -rf "$base.dump"
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%e %U %S' -o "$base.time" "$EMU" "${cams[@]}" --model tests/emu/models/ae3-realistic.ini \
        --dump "$base.dump" -- "$FLASHD" --board boards/ae3.ini --firmware "$W/fw" --watch --max "$N" \
        "${jargs[@]}" --json >"$base.json"
    t1=$(now)
    echo "$t1 - $t0" | bc -l >"$base.wall"
    [ "$(jq -r 'select(.event == "device_result" and .exit_code == 0) | .port' "$base.json" | wc -l)" = "$N" ] ||
        { echo "bench: not all $N cameras flashed" >&2; exit 1; }
    local d
    for d in "$base.dump"/*/; do
        cmp -s "$W/fw/romfs0.img" "$d/ROMFS0.bin" && cmp -s "$W/fw/firmware_M55_HP.bin" "$d/HP.bin" ||
            { echo "bench: $d differs from the images" >&2; exit 1; }
    done
    rm -rf "$base.dump"
}

# Most cameras in progress at once, from the event stream (device_started .. device_result).
most_at_once() {
    jq -s '[foreach .[] as $e ({n: 0, max: 0};
              if $e.event == "device_started" then .n += 1
              elif $e.event == "device_result" then .n -= 1 else . end
              | .max = ([.max, .n] | max); .max)] | max' "$1"
}

declare -A WALL CPU ONE MOST
for jobs in 2 4 0; do
    for r in $(seq "$RUNS"); do
        echo "bench: $N cameras, --jobs ${jobs/#0/unlimited}, run $r/$RUNS" >&2
        one_run "$jobs" "$r"
    done
    WALL[$jobs]=$(cat "$W/$jobs"-*.wall | median)
    CPU[$jobs]=$(for f in "$W/$jobs"-*.time; do awk '{print $2+$3}' "$f"; done | median)
    # one camera's own flash time (device_result.elapsed_ms), median over all cameras of all runs
    ONE[$jobs]=$(cat "$W/$jobs"-*.json | jq -r 'select(.event == "device_result") | .elapsed_ms / 1000' | median)
    MOST[$jobs]=$(for f in "$W/$jobs"-*.json; do most_at_once "$f"; done | sort -n | tail -1)
done

echo
echo "omvflashd --watch --max $N [--jobs J], $N emulated AE3s (realistic model, forced DFU), $(nproc) cores;"
echo "images HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB per camera"
echo
echo "| --jobs | wall s | one camera's flash s (median) | ideal: rounds x one s | wall / ideal | most in progress | CPU s (emulator + omvflashd) |"
echo "|---|---|---|---|---|---|---|"
for jobs in 2 4 0; do
    j=$jobs; [ "$jobs" = 0 ] && j=$N
    rounds=$(( (N + j - 1) / j ))
    ideal=$(echo "$rounds * ${ONE[$jobs]}" | bc -l)
    printf '| %s | %.1f | %.1f | %d x %.1f = %.1f | %.3f | %s | %.1f |\n' "${jobs/#0/unlimited}" "${WALL[$jobs]}" \
        "${ONE[$jobs]}" "$rounds" "${ONE[$jobs]}" "$ideal" "$(echo "${WALL[$jobs]} / $ideal" | bc -l)" \
        "${MOST[$jobs]}" "${CPU[$jobs]}"
done
