#!/usr/bin/env bash
# Legacy CDC bootloader throughput against omvemu (h7-legacy, V3), per mode,
# next to the mode's own limit; appends a section to bench/RESULTS.md.
#   safe: one 4+56-byte WRITE per safe_write_delay_ms (1 ms) -> the floor is
#         packets x 1 ms; fast: 4+60-byte WRITEs, a FLASH_LAYOUT barrier per
#         32 packets, so its limit is the barrier round trip (no fixed floor).
# The write step's time is what omvflashd reports for "write FIRMWARE".
#   bash bench/legacy.sh [KiB]   (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
KIB=${1:-256}
[ -x build/bin/omvemu ] || bash scripts/build.sh build >/dev/null
W=$(mktemp -d /tmp/omvlegacy.XXXXXX)
trap 'rm -rf "$W"' EXIT
head -c $((KIB * 1024)) /dev/urandom >"$W/firmware.bin"
size=$((KIB * 1024))
write_s() {  # write_s MODE -> seconds of the write step
    build/bin/omvemu --camera h7-legacy --bootloader-version 3 -- build/bin/omvflashd --board boards/h7.ini \
        --image FIRMWARE="$W/firmware.bin" --mode "$1" --set safe_erase_delay_ms=1 --wait 5 2>&1 |
        sed -n 's/.*write FIRMWARE done: .* in \([0-9.]*\) s/\1/p'
}
safe=$(write_s safe)
fast=$(write_s fast)
packets=$(( (size + 55) / 56 ))
floor=$(echo "$packets / 1000" | bc -l)
{
    echo
    echo "## Legacy CDC bootloader (h7-legacy V3, ${KIB} KiB, \`bash bench/legacy.sh\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| mode | write step s | KB/s | mode's own limit | within |"
    echo "|---|---|---|---|---|"
    printf '| safe | %.2f | %.1f | %d packets x 1 ms = %.2f s (56 KB/s) | %.1f %% |\n' "$safe" \
        "$(echo "$size / $safe / 1000" | bc -l)" "$packets" "$floor" "$(echo "($safe / $floor - 1) * 100" | bc -l)"
    printf '| fast | %.2f | %.1f | one FLASH_LAYOUT round trip per 32 x 60 bytes (no fixed floor) | - |\n' "$fast" \
        "$(echo "$size / $fast / 1000" | bc -l)"
    echo
    echo "Erase delays shortened to 1 ms for the measurement (the IDE's 2 s after each erase only waits for the flash; fast mode replaces it with the layout barrier)."
} | tee -a bench/RESULTS.md
