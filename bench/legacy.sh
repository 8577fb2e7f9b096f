#!/usr/bin/env bash
# Legacy CDC bootloader throughput against omvemu, per mode, next to the
# mode's own limit; appends a section to bench/RESULTS.md.
#   FIRMWARE (h7-legacy V3, internal flash) and SPI_FLASH (h7plus-legacy V3, QSPI).
#   safe: one 4+56-byte WRITE per safe_write_delay_ms (1 ms) -> the floor is
#         packets x 1 ms; fast: 4+60-byte WRITEs, a FLASH_LAYOUT barrier per
#         32 packets, so its limit is the barrier round trip (no fixed floor).
# The write step's time is what omvflashd reports for "write <PARTITION>"; each
# figure is the median of REPEAT runs.
#   bash bench/legacy.sh [KiB]   (default 256)
#   BUILD=dir BOARDS=dir bash bench/legacy.sh   (another build, e.g. to compare
#   two versions in one sitting; BOARDS: the board files that build accepts)
set -euo pipefail
cd "$(dirname "$0")/.."
KIB=${1:-256}
BUILD=${BUILD:-build}
BOARDS=${BOARDS:-boards}
REPEAT=${REPEAT:-3}
[ -x "$BUILD/bin/omvemu" ] || bash scripts/build.sh "$BUILD" >/dev/null
W=$(mktemp -d /tmp/omvlegacy.XXXXXX)
trap 'rm -rf "$W"' EXIT
head -c $((KIB * 1024)) /dev/urandom >"$W/image.bin"
size=$((KIB * 1024))

# The emulator erases at once (no --model): the erase waits only wait for the
# flash, so they are shortened for the measurement (reported separately).
short_waits() { # board -> --set arguments this build accepts
    local a=(--set safe_erase_delay_ms=1)
    if "$BUILD/bin/omvflashd" --board "$1" --image "SPI_FLASH=$W/image.bin" --dry-run \
        --set qspi_erase_delay_ms=1 >/dev/null 2>&1; then
        a+=(--set qspi_erase_delay_ms=1)
    fi
    echo "${a[@]}"
}

write_s() { # camera board partition mode -> median seconds of the write step
    local cam=$1 board=$2 part=$3 mode=$4 i t=()
    # shellcheck disable=SC2046 # short_waits prints several words on purpose
    for i in $(seq "$REPEAT"); do
        t+=("$("$BUILD/bin/omvemu" --camera "$cam" --bootloader-version 3 -- "$BUILD/bin/omvflashd" \
            --board "$board" --image "$part=$W/image.bin" --mode "$mode" $(short_waits "$board") --wait 5 2>&1 |
            sed -n "s/.*write $part done: .* in \([0-9.]*\) s/\1/p")")
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((REPEAT + 1) / 2))p"
}

safe=$(write_s h7-legacy "$BOARDS/h7.ini" FIRMWARE safe)
fast=$(write_s h7-legacy "$BOARDS/h7.ini" FIRMWARE fast)
qsafe=$(write_s h7plus-legacy "$BOARDS/h7plus.ini" SPI_FLASH safe)
qfast=$(write_s h7plus-legacy "$BOARDS/h7plus.ini" SPI_FLASH fast)
packets=$(((size + 55) / 56))
floor=$(echo "$packets / 1000" | bc -l)
{
    echo
    echo "## Legacy CDC bootloader (V3, ${KIB} KiB, $BUILD, \`bash bench/legacy.sh\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| partition | mode | write step s | KB/s | mode's own limit | within |"
    echo "|---|---|---|---|---|---|"
    for row in "FIRMWARE safe $safe" "SPI_FLASH safe $qsafe"; do
        set -- $row
        printf '| %s | %s | %.2f | %.1f | %d packets x 1 ms = %.2f s (56 KB/s) | %.1f %% |\n' "$1" "$2" "$3" \
            "$(echo "$size / $3 / 1000" | bc -l)" "$packets" "$floor" "$(echo "($3 / $floor - 1) * 100" | bc -l)"
    done
    for row in "FIRMWARE fast $fast" "SPI_FLASH fast $qfast"; do
        set -- $row
        printf '| %s | %s | %.2f | %.1f | one FLASH_LAYOUT round trip per 32 x 60 bytes (no fixed floor) | - |\n' \
            "$1" "$2" "$3" "$(echo "$size / $3 / 1000" | bc -l)"
    done
    echo
    echo "Erase waits shortened to 1 ms for the measurement (the emulator erases at once; on a camera the IDE's 2 s per sector, and 3 s per QSPI block on H7 Plus/PT in safe mode, only wait for the flash)."
} | tee -a bench/RESULTS.md
