#!/usr/bin/env bash
# The out-of-tree plugin example (examples/plugin: a toy transport that
# "flashes" into files) against an installed omvflash:
#  - `cmake --install` of this build into a temporary prefix;
#  - the example, as installed (share/doc/omvflash/examples/plugin), built
#    with only the installed headers and `pkg-config omvflash`, in an empty
#    environment;
#  - the installed omvflashd loads it through the example board file and
#    --plugin-dir: --help --board lists the option it adds, a full flash with
#    --verify leaves every image in its file (the partition option `file`
#    names one), --erase-filesystem erases through it, a missing "camera"
#    ends with the plugin's own reason, a partition option it declares unique
#    given twice is a board error naming the line;
#  - the same plugin built for ABI 1 is refused, naming both ABIs.
# Environment (set by CTest): BUILD (this build tree), CMAKE_COMMAND, CC.
set -euo pipefail

: "${BUILD:?BUILD must point at the build tree}"
CMAKE=${CMAKE_COMMAND:-cmake}
CC=${CC:-cc}
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config is not installed"; exit 77; }
command -v make >/dev/null || { echo "SKIP: make is not installed"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-plugin.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
EMPTY_ENV=(env -i PATH=/usr/bin:/bin)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
run() { # run EXPECTED_CODE CMD...: output in $WORK/out
    local want=$1; shift
    local got=0
    "$@" >"$WORK/out" 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat "$WORK/out"; fail "expected exit $want, got $got: $*"; }
}
assert_grep() { grep -qF -- "$2" "$1" || { cat "$1"; fail "'$2' not in output"; }; }

step "install this build into $PREFIX"
run 0 "$CMAKE" --install "$BUILD" --prefix "$PREFIX"
PC=$(find "$PREFIX" -path '*/pkgconfig/omvflash.pc' | head -n 1)
[ -n "$PC" ] || fail "omvflash.pc not installed"
EXAMPLE=$(find "$PREFIX" -path '*/examples/plugin/filedrop.c' | head -n 1)
[ -n "$EXAMPLE" ] || fail "examples/plugin not installed"

step "build the example with the installed headers and pkg-config only"
cp -r "$(dirname "$EXAMPLE")" "$WORK/plugin"
PKG=(PKG_CONFIG_PATH="$(dirname "$PC")")
run 0 "${EMPTY_ENV[@]}" "${PKG[@]}" pkg-config --cflags omvflash
inc=$(sed -n 's/^-I\([^ ]*\).*/\1/p' "$WORK/out")
[ -n "$inc" ] && [ "$(realpath "$inc")" = "$(realpath "$PREFIX/include")" ] || fail "cflags do not point at $PREFIX/include: $(cat "$WORK/out")"
run 0 "${EMPTY_ENV[@]}" "${PKG[@]}" pkg-config --variable=plugin_abi omvflash
[ "$(cat "$WORK/out")" = 2 ] || fail "plugin_abi is '$(cat "$WORK/out")', want 2"
run 0 "${EMPTY_ENV[@]}" "${PKG[@]}" make -C "$WORK/plugin" CC="$CC"
[ -f "$WORK/plugin/omvflash_filedrop.so" ] || fail "the plugin was not built"

OMVFLASHD=$PREFIX/bin/omvflashd
BOARD=$WORK/plugin/filedrop.ini
CAM=$WORK/cam
mkdir -p "$WORK/fw" "$CAM"
head -c 70000 /dev/urandom >"$WORK/fw/firmware.bin"
head -c 5000 /dev/urandom >"$WORK/fw/romfs.img"
FLASH=("${EMPTY_ENV[@]}" "$OMVFLASHD" --board "$BOARD" --plugin-dir "$WORK/plugin")

step "--help --board lists the option the plugin adds"
run 0 "${FLASH[@]}" --help
assert_grep "$WORK/out" "--drop-dir DIR"

step "full flash with --verify through the plugin"
run 0 "${FLASH[@]}" --drop-dir "$CAM" --firmware "$WORK/fw" --verify -v
cmp "$WORK/fw/firmware.bin" "$CAM/firmware-slot.bin" || fail "FIRMWARE did not land in its file"
cmp "$WORK/fw/romfs.img" "$CAM/ROMFS.bin" || fail "ROMFS did not land in its file"
assert_grep "$WORK/out" "transport plugin filedrop 1.0.0 loaded from $WORK/plugin/omvflash_filedrop.so"
assert_grep "$WORK/out" "filedrop: the camera would now start its application"

step "--erase-filesystem through the plugin's erase()"
head -c 32768 /dev/zero >"$CAM/FS.bin"
run 0 "${FLASH[@]}" --drop-dir "$CAM" --erase-filesystem
[ "$(head -c 4096 "$CAM/FS.bin" | tr -d '\377' | wc -c)" = 0 ] || fail "FS.bin's first 4 KiB are not erased"
[ "$(tail -c +4097 "$CAM/FS.bin" | tr -d '\000' | wc -c)" = 0 ] || fail "erase went past its unit"

step "no camera: the plugin's reason in the error"
run 6 "${FLASH[@]}" --drop-dir "$WORK/nowhere" --firmware "$WORK/fw" --wait 0.2
assert_grep "$WORK/out" "(filedrop: directory $WORK/nowhere does not exist)"

step "a partition option the plugin declares unique, given twice"
sed 's/^size = 64K$/size = 64K\nfile = firmware-slot.bin/' "$BOARD" >"$WORK/twice.ini"
line=$(grep -n '^file = firmware-slot.bin' "$WORK/twice.ini" | tail -n 1 | cut -d: -f1)
run 3 "${EMPTY_ENV[@]}" "$OMVFLASHD" --board "$WORK/twice.ini" --plugin-dir "$WORK/plugin" --firmware "$WORK/fw" --dry-run
assert_grep "$WORK/out" "$WORK/twice.ini:$line: [partition ROMFS] file: firmware-slot.bin is already used by [partition FIRMWARE]"

step "the same plugin built for ABI 1 is refused"
mkdir -p "$WORK/old"
sed 's/\.abi_version = OMV_PLUGIN_ABI_VERSION/.abi_version = 1/' "$WORK/plugin/filedrop.c" >"$WORK/old/filedrop.c"
cp "$WORK/plugin/Makefile" "$WORK/old/"
run 0 "${EMPTY_ENV[@]}" "${PKG[@]}" make -C "$WORK/old" CC="$CC"
run 4 "${EMPTY_ENV[@]}" "$OMVFLASHD" --board "$BOARD" --plugin-dir "$WORK/old" --firmware "$WORK/fw" --dry-run
assert_grep "$WORK/out" "$WORK/old/omvflash_filedrop.so was built for plugin ABI 1, but this omvflash supports only ABI 2"
echo "PASS"
