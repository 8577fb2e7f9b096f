#!/usr/bin/env bash
# Install dependencies, build, and run the main job: a full flash of an
# OpenMV AE3.
#  - No AE3 attached (the usual case): an emulated AE3 (omvemu) is flashed
#    with generated demo images, and its flash is compared with them.
#  - An AE3 attached (in its bootloader or running its firmware): it is
#    flashed only with real firmware, OMVFLASH_DEMO_FIRMWARE=DIR (the
#    OPENMV_AE3 folder of a release zip): the demo images are random bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build

# Whether an AE3 is attached: omvflashd lists it (a host without USB lists nothing).
attached=$(build/bin/omvflashd --board boards/ae3.ini --list-devices --json 2>/dev/null |
           grep -c '"event":"device"' || true)

if [ "${attached:-0}" -gt 0 ]; then
    if [ -z "${OMVFLASH_DEMO_FIRMWARE:-}" ]; then
        echo "demo: an OpenMV AE3 is attached; the demo images are random bytes, not firmware." >&2
        echo "demo: flash it with real firmware: OMVFLASH_DEMO_FIRMWARE=DIR bash scripts/demo.sh" >&2
        echo "demo: (DIR: the OPENMV_AE3 folder of a release zip), or unplug it for the emulated demo." >&2
        exit 1
    fi
    echo "== omvflashd --board boards/ae3.ini --firmware $OMVFLASH_DEMO_FIRMWARE (attached AE3)"
    exec build/bin/omvflashd --board boards/ae3.ini --firmware "$OMVFLASH_DEMO_FIRMWARE"
fi

demo=demo
mkdir -p "$demo/firmware"
head -c 1048576 /dev/urandom >"$demo/firmware/firmware_M55_HP.bin"
head -c 524288 /dev/urandom >"$demo/firmware/firmware_M55_HE.bin"
head -c 262144 /dev/urandom >"$demo/firmware/romfs1.img"
head -c 2097152 /dev/urandom >"$demo/firmware/romfs0.img"
rm -rf "$demo/flash"

echo "== no AE3 attached: omvemu --camera ae3 -- omvflashd --board boards/ae3.ini --firmware $demo/firmware"
build/bin/omvemu --camera ae3 --dump "$demo/flash" -- \
    build/bin/omvflashd --board boards/ae3.ini --firmware "$demo/firmware"
for p in HP:firmware_M55_HP.bin HE:firmware_M55_HE.bin ROMFS1:romfs1.img ROMFS0:romfs0.img; do
    cmp "$demo/firmware/${p#*:}" "$demo/flash/${p%%:*}.bin"
done
echo "== emulated flash holds exactly the four images"
