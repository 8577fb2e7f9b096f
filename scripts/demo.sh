#!/usr/bin/env bash
# Install dependencies, build, and run the main job: a full flash of an
# OpenMV AE3 with generated demo images. With no camera attached it runs
# against an emulated AE3 (omvemu) and checks the emulated flash afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build

demo=demo
mkdir -p "$demo/firmware"
head -c 1048576 /dev/urandom >"$demo/firmware/firmware_M55_HP.bin"
head -c 524288 /dev/urandom >"$demo/firmware/firmware_M55_HE.bin"
head -c 262144 /dev/urandom >"$demo/firmware/romfs1.img"
head -c 2097152 /dev/urandom >"$demo/firmware/romfs0.img"
rm -rf "$demo/flash"

if [ -z "${OMVFLASH_REAL_CAMERA:-}" ]; then
    echo "== omvemu --camera ae3 -- omvflashd --board boards/ae3.ini --firmware $demo/firmware"
    build/bin/omvemu --camera ae3 --dump "$demo/flash" -- \
        build/bin/omvflashd --board boards/ae3.ini --firmware "$demo/firmware"
    for p in HP:firmware_M55_HP.bin HE:firmware_M55_HE.bin ROMFS1:romfs1.img ROMFS0:romfs0.img; do
        cmp "$demo/firmware/${p#*:}" "$demo/flash/${p%%:*}.bin"
    done
    echo "== emulated flash holds exactly the four images"
else
    build/bin/omvflashd --board boards/ae3.ini --firmware "$demo/firmware"
fi
