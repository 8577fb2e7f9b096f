#!/usr/bin/env bash
# Writing only what changed (--skip-unchanged) on an emulated AE3 with the
# realistic timing model, in one sitting: the full flash it is measured
# against, the three cases it is for, the reference for the third, and
# Debian's dfu-util doing the full flash the OpenMV IDE's way.
# Appends a section to bench/RESULTS.md.
#
#   bash bench/skip.sh [RUNS]      (the short rows RUNS times, default 3, medians)
#   LONG_RUNS=N bash bench/skip.sh (the two full flashes N times, default 1)
#   BUILD=dir bash bench/skip.sh   (another build)
#
# Images (as bench/run.sh): HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB.
# Targets: identical re-flash <= 0.1 x full flash; one byte changed in the
# middle of ROMFS0 <= 0.1 x full flash, the camera then holding the new
# images; new HP and HE with unchanged ROMFS <= 1.05 x (full write of HP+HE
# + read of the ROMFS image ranges); 3.0 control transfers per written block;
# peak RSS flat in image size.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
LONG_RUNS=${LONG_RUNS:-1}
BUILD=${BUILD:-build}
MODEL=tests/emu/models/ae3-realistic.ini
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time" >&2; exit 2; }
command -v dfu-util >/dev/null || { echo "bench needs dfu-util: apt-get install dfu-util" >&2; exit 2; }
[ -x "$BUILD/bin/omvemu" ] || bash scripts/build.sh "$BUILD" >/dev/null
EMU=$BUILD/bin/omvemu
FLASHD=$BUILD/bin/omvflashd

W=$(mktemp -d /tmp/omvskip.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/fw" "$W/new" "$W/byte"
head -c 3145728 /dev/urandom >"$W/fw/firmware_M55_HP.bin"
head -c 1433600 /dev/urandom >"$W/fw/firmware_M55_HE.bin"
head -c 1048576 /dev/urandom >"$W/fw/romfs1.img"
head -c 8388608 /dev/urandom >"$W/fw/romfs0.img"
BLOCKS=$(((3145728 + 1433600 + 1048576 + 8388608) / 4096))
# new HP and HE, same ROMFS
head -c 3145728 /dev/urandom >"$W/new/firmware_M55_HP.bin"
head -c 1433600 /dev/urandom >"$W/new/firmware_M55_HE.bin"
cp "$W/fw/romfs1.img" "$W/fw/romfs0.img" "$W/new/"
# one byte changed in the middle of ROMFS0
cp "$W/fw"/* "$W/byte/"
printf '%b' "\\x$(printf '%02x' $((0x$(od -An -tx1 -j 4194304 -N1 "$W/fw/romfs0.img" | tr -d ' ') ^ 0xFF)))" |
    dd of="$W/byte/romfs0.img" bs=1 seek=4194304 conv=notrunc status=none
cmp -s "$W/fw/romfs0.img" "$W/byte/romfs0.img" && { echo "skip: the changed byte did not change" >&2; exit 1; }
# The ROMFS image ranges, for the reference read (today's --read reads whole partitions).
sed '/^\[partition ROMFS0\]/,/^\[/s/^size = 24M$/size = 8M/' boards/ae3.ini >"$W/ae3-romfs0-8m.ini"

loads() {  # loads DIR: --load of the four images of DIR
    echo --load "HP=$1/firmware_M55_HP.bin" --load "HE=$1/firmware_M55_HE.bin" \
        --load "ROMFS1=$1/romfs1.img" --load "ROMFS0=$1/romfs0.img"
}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
same_images() {  # same_images DIR DUMP
    for p in HP:firmware_M55_HP.bin HE:firmware_M55_HE.bin ROMFS1:romfs1.img ROMFS0:romfs0.img; do
        cmp "$1/${p#*:}" "$2/${p%%:*}.bin"
    done
}

# one_run ROW N: leaves $W/ROW-N.{wall,stats,time}
one_run() {
    local row=$1 n=$2 base="$W/$1-$2" t0 rc=0
    local emu=("$EMU" --camera ae3 --model "$MODEL" --stats "$base.stats")
    local timed=(/usr/bin/time -f '%U %S %M' -o "$base.time")
    t0=$(now)
    case $row in
    full)
        "${emu[@]}" --dump "$base.dump" -- "${timed[@]}" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/fw"
        same_images "$W/fw" "$base.dump" ;;
    identical)
        # shellcheck disable=SC2046
        "${emu[@]}" $(loads "$W/fw") --dump "$base.dump" -- \
            "${timed[@]}" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/fw" --skip-unchanged
        same_images "$W/fw" "$base.dump" ;;
    one-byte)
        # shellcheck disable=SC2046
        "${emu[@]}" $(loads "$W/fw") --dump "$base.dump" -- \
            "${timed[@]}" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/byte" --skip-unchanged
        same_images "$W/byte" "$base.dump" ;;
    new-hp-he)
        # shellcheck disable=SC2046
        "${emu[@]}" $(loads "$W/fw") --dump "$base.dump" -- \
            "${timed[@]}" "$FLASHD" -q --board boards/ae3.ini --firmware "$W/new" --skip-unchanged
        same_images "$W/new" "$base.dump" ;;
    ref-write-hp-he)
        "${emu[@]}" --dump "$base.dump" -- "${timed[@]}" "$FLASHD" -q --board boards/ae3.ini \
            --image "HP=$W/new/firmware_M55_HP.bin" --image "HE=$W/new/firmware_M55_HE.bin"
        cmp "$W/new/firmware_M55_HP.bin" "$base.dump/HP.bin" ;;
    ref-read-romfs)
        # shellcheck disable=SC2046
        "${emu[@]}" $(loads "$W/fw") -- "${timed[@]}" "$FLASHD" -q --board "$W/ae3-romfs0-8m.ini" \
            --read "ROMFS1=$W/r1.out" --read "ROMFS0=$W/r0.out"
        cmp "$W/fw/romfs0.img" "$W/r0.out" ;;
    dfu-util)
        # The IDE's four calls (docs/protocols.md §4.2), --reset on the last.
        "${emu[@]}" --dump "$base.dump" -- /usr/bin/time -f '%U %S %M' -o "$base.time" sh -c "
            dfu-util -w -d ,37c5:96e3 -a 1 -D '$W/fw/firmware_M55_HP.bin' &&
            dfu-util -w -d ,37c5:96e3 -a 2 -D '$W/fw/firmware_M55_HE.bin' &&
            dfu-util -w -d ,37c5:96e3 -a 3 -D '$W/fw/romfs1.img' &&
            { dfu-util -w -d ,37c5:96e3 -a 6 -D '$W/fw/romfs0.img' --reset || [ \$? = 251 ]; }" \
            >/dev/null 2>&1 || rc=$?
        [ "$rc" = 0 ] || { echo "skip: dfu-util failed ($rc)" >&2; exit 1; }
        same_images "$W/fw" "$base.dump" ;;
    esac
    echo "$(now) - $t0" | bc -l >"$base.wall"
    rm -rf "$base.dump" "$W"/*.out
}

declare -A WALL CPU RSS XFER UPL DN GS BW BUSY
ROWS="full identical one-byte new-hp-he ref-write-hp-he ref-read-romfs dfu-util"
SHORT="identical one-byte new-hp-he ref-write-hp-he ref-read-romfs"
# The two full flashes (~2 min each) LONG_RUNS times; the short rows RUNS
# times, interleaved run by run so that a change in the machine's load hits
# the skip-unchanged rows and their references alike.
for n in $(seq "$LONG_RUNS"); do
    for row in full dfu-util; do
        echo "skip: $row, run $n/$LONG_RUNS" >&2
        one_run "$row" "$n"
    done
done
for n in $(seq "$RUNS"); do
    for row in $SHORT; do
        echo "skip: $row, run $n/$RUNS" >&2
        one_run "$row" "$n"
    done
done
for row in $ROWS; do
    WALL[$row]=$(cat "$W/$row"-*.wall | median)
    CPU[$row]=$(for f in "$W/$row"-*.time; do awk 'END {print $1+$2}' "$f"; done | median)
    RSS[$row]=$(for f in "$W/$row"-*.time; do awk 'END {print $3}' "$f"; done | median)
    for k in control_transfers:XFER upload:UPL dnload:DN getstatus:GS blocks_written:BW device_busy_us:BUSY; do
        declare -n ref=${k#*:}
        ref[$row]=$(stat_of "$W/$row-1.stats" "${k%%:*}")
        unset -n ref
    done
done

# Peak RSS against image size: ROMFS0 of 1 MiB and 16 MiB, identical, zero model.
rss_for() {
    head -c "$1" /dev/urandom >"$W/rss.img"
    "$EMU" --camera ae3 --load "ROMFS0=$W/rss.img" -- /usr/bin/time -f '%M' -o "$W/rss.time" \
        "$FLASHD" -q --board boards/ae3.ini --image "ROMFS0=$W/rss.img" --skip-unchanged
    tail -n1 "$W/rss.time"
}
RSS_SMALL=$(rss_for 1048576)
RSS_BIG=$(rss_for 16777216)

f2() { printf '%.2f' "$1"; }
ratio() { f2 "$(echo "$1 / $2" | bc -l)"; }
verdict() { [ "$(echo "$1 <= $2" | bc -l)" = 1 ] && echo met || echo "NOT met"; }
per_block() { [ "${BW[$1]}" -gt 0 ] && printf '%.3f' "$(echo "(${DN[$1]} + ${GS[$1]}) / ${BW[$1]}" | bc -l)" || echo "-"; }
ref=$(echo "${WALL[ref-write-hp-he]} + ${WALL[ref-read-romfs]}" | bc -l)
r_ident=$(echo "${WALL[identical]} / ${WALL[full]}" | bc -l)
r_byte=$(echo "${WALL[one-byte]} / ${WALL[full]}" | bc -l)
r_new=$(echo "${WALL[new-hp-he]} / $ref" | bc -l)
{
    echo
    echo "## Writing only what changed (AE3, realistic model, \`LONG_RUNS=$LONG_RUNS bash bench/skip.sh $RUNS\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- Machine: $(nproc) cores, $(uname -sr), load average at the end $(cut -d' ' -f1-3 /proc/loadavg); full flashes $LONG_RUNS run(s), the other rows $RUNS runs interleaved, medians"
    echo "- Images: HP 3 MiB, HE 1400 KiB, ROMFS1 1 MiB, ROMFS0 8 MiB = $BLOCKS blocks of 4096 bytes; model \`$MODEL\`"
    echo "- The camera holds the old images (\`omvemu --load\`) for the \`--skip-unchanged\` rows; every row checks the emulated flash (\`--dump\`) against the images it wrote"
    echo "- dfu-util: the OpenMV IDE's full flash, four \`dfu-util -w -d ,37c5:96e3 -a N -D file\`, \`--reset\` on the last"
    echo
    echo "| operation | tool | wall s (median) | CPU s | peak RSS KiB | UPLOAD | blocks written | DNLOAD+GETSTATUS per written block | all control transfers | modelled device time s |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for row in $ROWS; do
        case $row in
        full) name="full flash (\`--firmware\`)"; tool=omvflashd ;;
        identical) name="identical images, \`--skip-unchanged\`"; tool=omvflashd ;;
        one-byte) name="one byte changed in the middle of ROMFS0, \`--skip-unchanged\`"; tool=omvflashd ;;
        new-hp-he) name="new HP and HE, same ROMFS, \`--skip-unchanged\`"; tool=omvflashd ;;
        ref-write-hp-he) name="reference: write HP + HE (\`--image\`)"; tool=omvflashd ;;
        ref-read-romfs) name="reference: read the ROMFS1 + ROMFS0 image ranges (\`--read\`)"; tool=omvflashd ;;
        dfu-util) name="full flash, the IDE's way"; tool=dfu-util ;;
        esac
        echo "| $name | $tool | $(f2 "${WALL[$row]}") | $(f2 "${CPU[$row]}") | ${RSS[$row]} | ${UPL[$row]} | ${BW[$row]} | $(per_block "$row") | ${XFER[$row]} | $(f2 "$(echo "${BUSY[$row]} / 1000000" | bc -l)") |"
    done
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| identical re-flash <= 0.1 x full flash | $(f2 "$r_ident") x ($(f2 "${WALL[identical]}") s / $(f2 "${WALL[full]}") s) | $(verdict "$r_ident" 0.1) |"
    echo "| one byte changed in ROMFS0 <= 0.1 x full flash, dump = new images | $(f2 "$r_byte") x ($(f2 "${WALL[one-byte]}") s) | $(verdict "$r_byte" 0.1) |"
    echo "| new HP + HE <= 1.05 x (write HP+HE + read ROMFS = $(f2 "$ref") s) | $(f2 "$r_new") x ($(f2 "${WALL[new-hp-he]}") s) | $(verdict "$r_new" 1.05) |"
    echo "| DNLOAD+GETSTATUS per written block = 3.0 (incl. set-up and manifestation) | full $(per_block full), new HP+HE $(per_block new-hp-he), dfu-util $(per_block dfu-util) | - |"
    echo "| peak RSS flat in image size (\`--skip-unchanged\`, ROMFS0 1 MiB vs 16 MiB) | $RSS_SMALL KiB vs $RSS_BIG KiB | - |"
    echo "| dfu-util's full flash / omvflashd's | $(ratio "${WALL[dfu-util]}" "${WALL[full]}") ($(f2 "${WALL[dfu-util]}") s) | - |"
} | tee -a bench/RESULTS.md
