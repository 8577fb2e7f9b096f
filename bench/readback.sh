#!/usr/bin/env bash
# The read-back floor for writing only what changed: on an emulated AE3 with
# the realistic timing model, how long today's `--read` takes to read back a
# full image set, beside the full flash of the same images, in one sitting.
# Re-flashing identical images after a read-back can take no less than the
# read (plus block 0 of each partition, which must always be written), so the
# ratio read / flash is the best a skip-unchanged write can do.
# Appends a section to bench/RESULTS.md.
#
#   bash bench/readback.sh [RUNS]     (default 3 runs per row; medians reported)
#   BUILD=dir bash bench/readback.sh  (another build)
#
# Images (as bench/run.sh): HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB.
# HP, HE and ROMFS1 fill their partitions; ROMFS0 is 8 of 24 MiB, so the
# image-range read uses a copy of boards/ae3.ini whose ROMFS0 is 8M (today's
# --read reads whole partitions), and the whole-partition read is shown too.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
MODEL=tests/emu/models/ae3-realistic.ini
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
[ -x "$BUILD/bin/omvemu" ] || bash scripts/build.sh "$BUILD" >/dev/null
EMU=$BUILD/bin/omvemu
FLASHD=$BUILD/bin/omvflashd

W=$(mktemp -d /tmp/omvreadback.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw"
head -c 3145728 /dev/urandom >"$W/fw/firmware_M55_HP.bin"
head -c 1433600 /dev/urandom >"$W/fw/firmware_M55_HE.bin"
head -c 1048576 /dev/urandom >"$W/fw/romfs1.img"
head -c 8388608 /dev/urandom >"$W/fw/romfs0.img"
BLOCKS=$(((3145728 + 1433600 + 1048576 + 8388608) / 4096))
sed '/^\[partition ROMFS0\]/,/^\[/s/^size = 24M$/size = 8M/' boards/ae3.ini >"$W/ae3-romfs0-8m.ini"
grep -q '^size = 8M$' "$W/ae3-romfs0-8m.ini" || { echo "readback: could not size ROMFS0 to 8M" >&2; exit 1; }

LOADS=(--load "HP=$W/fw/firmware_M55_HP.bin" --load "HE=$W/fw/firmware_M55_HE.bin"
       --load "ROMFS1=$W/fw/romfs1.img" --load "ROMFS0=$W/fw/romfs0.img")
READS=(--read "HP=$W/hp.out" --read "HE=$W/he.out" --read "ROMFS1=$W/romfs1.out" --read "ROMFS0=$W/romfs0.out")

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }

# one_run ROW MODEL N: time one operation; leaves $W/ROW-N.{wall,stats,time}
one_run() {
    local row=$1 model=$2 n=$3 base="$W/$1-$3" margs=() t0
    [ "$model" = zero ] || margs=(--model "$MODEL")
    t0=$(now)
    case $row in
    flash)
        "$EMU" --camera ae3 "${margs[@]}" --stats "$base.stats" --dump "$base.dump" -- \
            /usr/bin/time -f '%U %S %M' -o "$base.time" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/fw"
        cmp "$W/fw/firmware_M55_HP.bin" "$base.dump/HP.bin"
        cmp "$W/fw/romfs0.img" "$base.dump/ROMFS0.bin"
        rm -rf "$base.dump" ;;
    read-images|read-zero)
        "$EMU" --camera ae3 "${margs[@]}" "${LOADS[@]}" --stats "$base.stats" -- \
            /usr/bin/time -f '%U %S %M' -o "$base.time" "$FLASHD" -q --board "$W/ae3-romfs0-8m.ini" "${READS[@]}"
        cmp "$W/fw/firmware_M55_HP.bin" "$W/hp.out"
        cmp "$W/fw/firmware_M55_HE.bin" "$W/he.out"
        cmp "$W/fw/romfs1.img" "$W/romfs1.out"
        cmp "$W/fw/romfs0.img" "$W/romfs0.out" ;;
    read-partitions)
        "$EMU" --camera ae3 "${margs[@]}" "${LOADS[@]}" --stats "$base.stats" -- \
            /usr/bin/time -f '%U %S %M' -o "$base.time" "$FLASHD" -q --board boards/ae3.ini "${READS[@]}"
        cmp "$W/fw/firmware_M55_HP.bin" "$W/hp.out"
        cmp -n 8388608 "$W/fw/romfs0.img" "$W/romfs0.out" ;;
    esac
    echo "$(now) - $t0" | bc -l >"$base.wall"
    rm -f "$W"/*.out
}

declare -A WALL CPU RSS XFER UPL BUSY
ROWS="read-zero read-images read-partitions flash"
for row in $ROWS; do
    model=realistic
    [ "$row" = read-zero ] && model=zero
    for n in $(seq "$RUNS"); do
        echo "readback: $row, run $n/$RUNS" >&2
        one_run "$row" "$model" "$n"
    done
    WALL[$row]=$(cat "$W/$row"-*.wall | median)
    CPU[$row]=$(for f in "$W/$row"-*.time; do awk '{print $1+$2}' "$f"; done | median)
    RSS[$row]=$(for f in "$W/$row"-*.time; do awk '{print $3}' "$f"; done | median)
    XFER[$row]=$(stat_of "$W/$row-1.stats" control_transfers)
    UPL[$row]=$(stat_of "$W/$row-1.stats" upload)
    BUSY[$row]=$(stat_of "$W/$row-1.stats" device_busy_us)
done

f2() { printf '%.2f' "$1"; }
# Emulation cost per control transfer, from the zero-model read (an upper
# bound: it includes process start-up and writing the files).
xfer_cost=$(echo "${WALL[read-zero]} / ${XFER[read-zero]}" | bc -l)
read_min=$(echo "${BUSY[read-images]} / 1000000 + ${XFER[read-images]} * $xfer_cost" | bc -l)
ratio=$(echo "${WALL[read-images]} / ${WALL[flash]}" | bc -l)
ratio_dev=$(echo "${BUSY[read-images]} / ${BUSY[flash]}" | bc -l)
per_block_us=$(echo "${BUSY[read-images]} / ${UPL[read-images]}" | bc -l)
{
    echo
    echo "## Read-back floor for skip-unchanged (AE3, realistic model, \`bash bench/readback.sh $RUNS\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- Machine: $(nproc) cores, $(uname -sr), load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs per row, medians"
    echo "- Images as above: HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB = $BLOCKS blocks of 4096 bytes"
    echo "- Model: \`$MODEL\`: a read block costs transfer 125 us + EP0 data stage 400 us + the memory's read (MRAM 25 us, OSPI 800 us); a written block 3 x 125 + 400 us + its write (MRAM 1.5 ms; OSPI 6.4 ms + 40 ms erase)"
    echo "- read, image range: \`omvflashd --read\` of the four partitions with ROMFS0 sized 8M in a board copy (the ranges a skip-unchanged write must compare); read, whole partitions: the stock board (ROMFS0 24 MiB); read, zero model: the image range without device time (the emulator's own cost)"
    echo
    echo "| operation | wall s (median) | CPU s | peak RSS KiB | control transfers | UPLOAD | modelled device time s |"
    echo "|---|---|---|---|---|---|---|"
    for row in flash read-images read-partitions read-zero; do
        case $row in
        flash) name="full flash (\`--firmware\`)" ;;
        read-images) name="read, image range" ;;
        read-partitions) name="read, whole partitions" ;;
        read-zero) name="read, image range, zero model" ;;
        esac
        echo "| $name | $(f2 "${WALL[$row]}") | $(f2 "${CPU[$row]}") | ${RSS[$row]} | ${XFER[$row]} | ${UPL[$row]} | $(f2 "$(echo "${BUSY[$row]} / 1000000" | bc -l)") |"
    done
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| read (image range) / full flash, wall | $(f2 "$ratio") |"
    echo "| read (image range) / full flash, modelled device time | $(f2 "$ratio_dev") |"
    echo "| modelled device time per UPLOAD block (image range) | $(printf '%.0f' "$per_block_us") us |"
    echo "| read wall vs model minimum ($(f2 "$read_min") s = device time + transfers x $(printf '%.3f' "$(echo "$xfer_cost * 1000" | bc -l)") ms) | $(f2 "$(echo "${WALL[read-images]} / $read_min" | bc -l)") x |"
} | tee -a bench/RESULTS.md
