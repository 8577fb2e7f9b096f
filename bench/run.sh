#!/usr/bin/env bash
# Benchmark: omvflashd vs the OpenMV IDE's way (four dfu-util calls) on the
# same emulated AE3, in one run, with the device timing model at zero and at
# the realistic model. Writes bench/RESULTS.md.
#
#   bash bench/run.sh [RUNS]        (default 3 runs per configuration; medians reported)
#
# Images (the issue's sizes): HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
bash scripts/build.sh build >/dev/null

EMU=build/bin/omvemu
FLASHD=build/bin/omvflashd
W=$(mktemp -d /tmp/omvbench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw"
head -c 3145728 /dev/urandom >"$W/fw/firmware_M55_HP.bin"
head -c 1433600 /dev/urandom >"$W/fw/firmware_M55_HE.bin"
head -c 1048576 /dev/urandom >"$W/fw/romfs1.img"
head -c 8388608 /dev/urandom >"$W/fw/romfs0.img"
BLOCKS=$(( (3145728 + 1433600 + 1048576 + 8388608) / 4096 ))

cat >"$W/ide.sh" <<EOS
set -e
dfu-util -w -d ,37c5:96e3 -a 1 -D "$W/fw/firmware_M55_HP.bin"
dfu-util -w -d ,37c5:96e3 -a 2 -D "$W/fw/firmware_M55_HE.bin"
dfu-util -w -d ,37c5:96e3 -a 3 -D "$W/fw/romfs1.img"
# dfu-util exits 251 (libusb NOT_FOUND) when the camera leaves after --reset,
# as on hardware; the bytes are checked against the dump afterwards.
dfu-util -w -d ,37c5:96e3 -a 6 -D "$W/fw/romfs0.img" --reset || [ \$? = 251 ]
EOS

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }

# one_run TOOL MODEL N: time one full flash; leaves $W/TOOL-MODEL-N.{wall,stats,time}
one_run() {
    local tool=$1 model=$2 n=$3 base="$W/$1-$2-$3"
    local margs=()
    [ "$model" = zero ] || margs=(--model "tests/emu/models/ae3-$model.ini")
    local t0 t1
    t0=$(now)
    if [ "$tool" = omvflashd ]; then
        "$EMU" --camera ae3 "${margs[@]}" --stats "$base.stats" --dump "$base.dump" -- \
            /usr/bin/time -f '%U %S %M' -o "$base.time" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/fw"
    else
        "$EMU" --camera ae3 "${margs[@]}" --stats "$base.stats" --dump "$base.dump" -- \
            /usr/bin/time -f '%U %S %M' -o "$base.time" bash "$W/ide.sh" >/dev/null 2>&1
    fi
    t1=$(now)
    echo "$t1 - $t0" | bc -l >"$base.wall"
    cmp "$W/fw/romfs0.img" "$base.dump/ROMFS0.bin"
    cmp "$W/fw/firmware_M55_HP.bin" "$base.dump/HP.bin"
    rm -rf "$base.dump"
}

declare -A WALL CPU RSS XFER BUSY TOTALX
for model in zero realistic; do
    for tool in omvflashd dfu-util; do
        for n in $(seq "$RUNS"); do
            echo "bench: $tool, model $model, run $n/$RUNS" >&2
            one_run "$tool" "$model" "$n"
        done
        WALL[$tool-$model]=$(cat "$W/$tool-$model"-*.wall | median)
        CPU[$tool-$model]=$(for f in "$W/$tool-$model"-*.time; do awk '{print $1+$2}' "$f"; done | median)
        RSS[$tool-$model]=$(for f in "$W/$tool-$model"-*.time; do awk '{print $3}' "$f"; done | median)
        s="$W/$tool-$model-1.stats"
        XFER[$tool-$model]=$(echo "scale=3; ($(stat_of "$s" dnload) + $(stat_of "$s" getstatus)) / $(stat_of "$s" blocks_written)" | bc -l)
        BUSY[$tool-$model]=$(stat_of "$s" device_busy_us)
        TOTALX[$tool-$model]=$(stat_of "$s" control_transfers)
    done
done

# Cost of one emulated control transfer, measured in this run: the zero-delay
# omvflashd wall time divided by its control transfers (an upper bound: it
# also contains process start-up and file reading).
xfer_cost=$(echo "${WALL[omvflashd-zero]} / ${TOTALX[omvflashd-zero]}" | bc -l)
model_min=$(echo "${BUSY[omvflashd-realistic]} / 1000000 + ${TOTALX[omvflashd-realistic]} * $xfer_cost" | bc -l)
ratio_zero=$(echo "${WALL[omvflashd-zero]} / ${WALL[dfu-util-zero]}" | bc -l)
ratio_real=$(echo "${WALL[omvflashd-realistic]} / ${WALL[dfu-util-realistic]}" | bc -l)
vs_min=$(echo "${WALL[omvflashd-realistic]} / $model_min" | bc -l)

# Peak RSS must not grow with image size: flash 1 MiB vs 8 MiB of ROMFS0.
rss_for() {
    head -c "$1" /dev/urandom >"$W/r.img"
    "$EMU" --camera ae3 -- /usr/bin/time -f '%M' -o "$W/r.time" "$FLASHD" -q --board boards/ae3.ini --image ROMFS0="$W/r.img"
    cat "$W/r.time"
}
rss_small=$(rss_for 1048576)
rss_large=$(rss_for 16777216)

verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo met; else echo MISSED; fi; }
f2() { printf '%.2f' "$1"; }

{
    echo "# Benchmark results"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "- Command: \`bash bench/run.sh $RUNS\` ($RUNS runs per configuration, medians)"
    echo "- Images: HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB = $BLOCKS blocks of 4096 bytes"
    echo "- (a) \`omvflashd --board boards/ae3.ini --firmware DIR\`; (b) the IDE's way: four \`dfu-util -w -d ,37c5:96e3 -a N -D file\`, \`--reset\` on the last"
    echo "- Realistic model: \`tests/emu/models/ae3-realistic.ini\` (see the comments there for the per-block write and erase times)"
    echo
    echo "| model | tool | wall s (median) | CPU s | peak RSS KiB | DNLOAD+GETSTATUS per block | all control transfers | modelled device time s |"
    echo "|---|---|---|---|---|---|---|---|"
    for model in zero realistic; do
        for tool in omvflashd dfu-util; do
            echo "| $model | $tool | $(f2 "${WALL[$tool-$model]}") | $(f2 "${CPU[$tool-$model]}") | ${RSS[$tool-$model]} | ${XFER[$tool-$model]} | ${TOTALX[$tool-$model]} | $(f2 "$(echo "${BUSY[$tool-$model]} / 1000000" | bc -l)") |"
        done
    done
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| zero-delay ratio a/b <= 0.9 | $(f2 "$ratio_zero") | $(verdict "$ratio_zero <= 0.9") |"
    echo "| realistic ratio a/b (information) | $(f2 "$ratio_real") | - |"
    echo "| realistic wall <= 1.05 x model minimum ($(f2 "$model_min") s = device time + transfers x $(printf '%.3f' "$(echo "$xfer_cost * 1000" | bc -l)") ms) | $(f2 "$vs_min") x | $(verdict "$vs_min <= 1.05") |"
    echo "| transfers per block = 3.0 (incl. set-up and manifestation) | ${XFER[omvflashd-zero]} | $(verdict "$(printf %.1f "${XFER[omvflashd-zero]}") == 3.0") |"
    echo "| peak RSS flat in image size (ROMFS0 1 MiB vs 16 MiB) | $rss_small KiB vs $rss_large KiB | $(verdict "$rss_large - $rss_small < 1024") |"
} >bench/RESULTS.md
cat bench/RESULTS.md
