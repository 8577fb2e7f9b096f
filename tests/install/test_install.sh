#!/usr/bin/env bash
# Install test: configure, build and `cmake --install` a second copy of the
# project into a temporary prefix (tests off, Release), then check with an
# EMPTY environment (env -i PATH=/usr/bin:/bin) that
#  - the layout is complete (bin, lib + SONAME links, headers, plugins, boards,
#    pkg-config, udev, systemd, sysusers, man, examples);
#  - the installed files name neither the build tree nor the source tree, and
#    omvflashd finds libomvflash, plugins and boards of its own prefix (the
#    build tree is deleted before anything runs);
#  - omvflashd --board ae3 --dry-run --firmware DIR and --list-actions work;
#  - pkg-config --cflags --libs omvflash is right, examples/flash_ae3.c builds
#    against it warning-free, and flashes an emulated AE3 (omvemu) with the
#    installed library and plugins; so does examples/flash_with_json.py with
#    the installed omvflashd;
#  - the installed unit, rules and man pages pass their checks.
# Environment (set by CTest): SRC (source tree), OMVEMU (omvemu binary of the
# outer build), CMAKE_COMMAND, CC.
set -euo pipefail

: "${SRC:?SRC must point at the source tree}"
: "${OMVEMU:?OMVEMU must point at the omvemu binary}"
CMAKE=${CMAKE_COMMAND:-cmake}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
BUILD=$WORK/build
EMPTY_ENV=(env -i PATH=/usr/bin:/bin)
# omvemu itself may be a sanitizer build (scripts/test.sh): keep its options.
EMU_ENV=(env -i PATH=/usr/bin:/bin ${ASAN_OPTIONS:+"ASAN_OPTIONS=$ASAN_OPTIONS"}
         ${UBSAN_OPTIONS:+"UBSAN_OPTIONS=$UBSAN_OPTIONS"})

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# run EXPECTED_CODE CMD...: stdout+stderr in $WORK/out; fail unless the code matches.
run() {
    local want=$1; shift
    local got=0
    "$@" >"$WORK/out" 2>&1 || got=$?
    if [ "$got" != "$want" ]; then
        cat "$WORK/out"
        fail "expected exit $want, got $got: $*"
    fi
}
assert_grep() { grep -qF -- "$2" "$1" || { cat "$1"; fail "'$2' not in output"; }; }
assert_file() { [ -f "$1" ] || fail "not installed: $1"; }

# ---------------------------------------------------------------- build + install
start=$(date +%s)
step "configure, build, install into $PREFIX"
run 0 "$CMAKE" -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOMV_BUILD_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_C_COMPILER="$CC"
run 0 "$CMAKE" --build "$BUILD" --parallel "$(nproc 2>/dev/null || echo 2)"
run 0 "$CMAKE" --install "$BUILD"
echo "built and installed in $(($(date +%s) - start)) s"

# --------------------------------------------------------------------- layout
step "layout"
PC=$(find "$PREFIX" -path '*/pkgconfig/omvflash.pc' | head -n 1)
[ -n "$PC" ] || fail "omvflash.pc not installed"
LIBDIR=$(dirname "$(dirname "$PC")")
assert_file "$PREFIX/bin/omvflashd"
assert_file "$LIBDIR/libomvflash.so.0.1.0"
[ "$(readlink "$LIBDIR/libomvflash.so.0")" = libomvflash.so.0.1.0 ] || fail "libomvflash.so.0 link"
[ "$(readlink "$LIBDIR/libomvflash.so")" = libomvflash.so.0 ] || fail "libomvflash.so link"
objdump -p "$LIBDIR/libomvflash.so.0" | grep -qE 'SONAME +libomvflash\.so\.0$' || fail "SONAME is not libomvflash.so.0"
# Only the public API is exported (core/libomvflash.map).
nm -D --defined-only "$LIBDIR/libomvflash.so.0" | awk '$2 == "T" {print $3}' | grep -v '^omv_' &&
    fail "libomvflash exports symbols outside omv_*"
nm -D --defined-only "$LIBDIR/libomvflash.so.0" | grep -q ' omvi_' && fail "libomvflash exports internal omvi_* symbols"
for h in omvflash.h plugin.h status.h; do assert_file "$PREFIX/include/omvflash/$h"; done
assert_file "$LIBDIR/omvflash/plugins/omvflash_dfu.so"
assert_file "$LIBDIR/omvflash/plugins/omvflash_mram_init.so"
for b in "$SRC"/boards/*.ini; do assert_file "$PREFIX/share/omvflash/boards/$(basename "$b")"; done
assert_file "$PREFIX/lib/udev/rules.d/60-openmv.rules"
assert_file "$PREFIX/lib/systemd/system/omvflashd@.service"
assert_file "$PREFIX/lib/sysusers.d/omvflash.conf"
assert_file "$PREFIX/share/man/man1/omvflashd.1"
assert_file "$PREFIX/share/man/man5/omvflash-board.5"
EXAMPLES=$PREFIX/share/doc/omvflash/examples
for e in flash_ae3.c flash_with_json.py ae3.conf; do assert_file "$EXAMPLES/$e"; done
grep -qF "ExecStart=$PREFIX/bin/omvflashd --board %i" "$PREFIX/lib/systemd/system/omvflashd@.service" ||
    fail "the installed unit does not run $PREFIX/bin/omvflashd"

# ---------------------------------------------- nothing points at the build/source tree
step "installed files do not name the build or source tree"
for f in "$PREFIX/bin/omvflashd" "$LIBDIR"/libomvflash.so.0.1.0 "$LIBDIR"/omvflash/plugins/*.so; do
    if grep -qaF -e "$BUILD" -e "$SRC/boards" -e "$SRC/build" "$f"; then
        strings "$f" | grep -F -e "$BUILD" -e "$SRC" >&2 || true
        fail "$f names the build or source tree"
    fi
done
objdump -p "$PREFIX/bin/omvflashd" | grep -E 'R(UN)?PATH' | grep -qF "$WORK" && fail "omvflashd has a build RPATH"
# The build tree goes away: the installed files must not need it.
rm -rf "$BUILD"
"${EMPTY_ENV[@]}" ldd "$PREFIX/bin/omvflashd" >"$WORK/ldd" 2>&1 || { cat "$WORK/ldd"; fail "ldd omvflashd"; }
loaded=$(sed -n 's/^[[:space:]]*libomvflash\.so\.0 => \([^ ]*\) .*/\1/p' "$WORK/ldd")
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$LIBDIR/libomvflash.so.0")" ] ||
    { cat "$WORK/ldd"; fail "omvflashd does not load $LIBDIR/libomvflash.so.0"; }

# ------------------------------------------------------- omvflashd, empty environment
step "omvflashd with an empty environment"
FW=$WORK/fw
mkdir -p "$FW"
head -c 40960 /dev/urandom >"$FW/firmware_M55_HP.bin"
head -c 20000 /dev/urandom >"$FW/firmware_M55_HE.bin"
head -c 12288 /dev/urandom >"$FW/romfs1.img"
head -c 36865 /dev/urandom >"$FW/romfs0.img"
cd "$WORK"  # not the source tree

run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --version
assert_grep "$WORK/out" "omvflashd 0.1.0"
run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board ae3 --dry-run --firmware "$FW"
assert_grep "$WORK/out" "write  HP <- $FW/firmware_M55_HP.bin"
assert_grep "$WORK/out" "no device attached now"
run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board ae3 --list-actions
assert_grep "$WORK/out" "mram_init"
# The search lists are exactly the install dirs (no build tree, no source tree).
run 3 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board no_such_board --dry-run
assert_grep "$WORK/out" "(searched: $PREFIX/share/omvflash/boards)"
sed -e 's/^transport = dfu$/transport = nosuchplugin/' -e 's/^\[dfu\]$/[nosuchplugin]/' "$PREFIX/share/omvflash/boards/ae3.ini" >"$WORK/x.ini"
run 4 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board "$WORK/x.ini" --dry-run --firmware "$FW"
assert_grep "$WORK/out" "omvflash_nosuchplugin.so not found in $LIBDIR/omvflash/plugins"
grep -qF "$SRC" "$WORK/out" && fail "the plugin search names the source/build tree: $(cat "$WORK/out")"

# ------------------------------------------------------------------- pkg-config
step "pkg-config"
PKG=("${EMPTY_ENV[@]}" PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config)
run 0 "${PKG[@]}" --cflags --libs omvflash
assert_grep "$WORK/out" "-I$PREFIX/include"
assert_grep "$WORK/out" "-L$LIBDIR -lomvflash"
version=$(sed -n 's/^#define OMVFLASH_VERSION "\(.*\)"$/\1/p' "$SRC/include/omvflash/omvflash.h")
[ "$("${PKG[@]}" --modversion omvflash)" = "$version" ] || fail "pkg-config version is not $version"
[ "$("${PKG[@]}" --variable=plugindir omvflash)" = "$LIBDIR/omvflash/plugins" ] || fail "plugindir"
BOARDDIR=$("${PKG[@]}" --variable=boarddir omvflash)
[ "$BOARDDIR" = "$PREFIX/share/omvflash/boards" ] || fail "boarddir is $BOARDDIR"
run 0 "${PKG[@]}" --validate omvflash

# -------------------------------------------- examples/flash_ae3.c, built against it
step "examples/flash_ae3.c against the installed library, under omvemu"
# shellcheck disable=SC2046
run 0 "${EMPTY_ENV[@]}" "$CC" -std=c11 -O2 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -o "$WORK/flash_ae3" \
    "$EXAMPLES/flash_ae3.c" $("${PKG[@]}" --cflags --libs omvflash) -Wl,-rpath,"$LIBDIR"
objdump -p "$WORK/flash_ae3" | grep -q 'NEEDED *libomvflash\.so\.0$' || fail "flash_ae3 does not link libomvflash.so.0"
DUMP=$WORK/dump
run 0 "${EMU_ENV[@]}" "$OMVEMU" --camera ae3 --dump "$DUMP" -- "$WORK/flash_ae3" "$BOARDDIR/ae3.ini" "$FW"
cat "$WORK/out"
assert_grep "$WORK/out" "write HP: 100% (40960/40960 bytes)"
assert_grep "$WORK/out" "write ROMFS0: 100% (36865/36865 bytes)"
assert_grep "$WORK/out" "finished: OK"
cmp "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin" || fail "HP.bin differs"
cmp "$FW/firmware_M55_HE.bin" "$DUMP/HE.bin" || fail "HE.bin differs"
cmp "$FW/romfs1.img" "$DUMP/ROMFS1.bin" || fail "ROMFS1.bin differs"
cmp "$FW/romfs0.img" "$DUMP/ROMFS0.bin" || fail "ROMFS0.bin differs"

# ------------------------------------ examples/flash_with_json.py, installed omvflashd
if command -v /usr/bin/python3 >/dev/null 2>&1; then
    step "examples/flash_with_json.py with the installed omvflashd, under omvemu"
    rm -rf "$DUMP"
    run 0 "${EMU_ENV[@]}" "$OMVEMU" --camera ae3 --dump "$DUMP" -- \
        python3 "$EXAMPLES/flash_with_json.py" --omvflashd "$PREFIX/bin/omvflashd" --board ae3 --firmware "$FW"
    assert_grep "$WORK/out" "finished: exit code 0 (OK)"
    assert_grep "$WORK/out" "omvflashd exit code: 0"
    cmp "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin" || fail "HP.bin differs"
    cmp "$FW/romfs0.img" "$DUMP/ROMFS0.bin" || fail "ROMFS0.bin differs"
else
    echo "note: no /usr/bin/python3: flash_with_json.py not run here"
fi

# ------------------------------------------------- installed unit, rules, man pages
step "installed udev rules, systemd unit, man pages"
bash "$HERE/check_udev_rules.sh" "$PREFIX/lib/udev/rules.d/60-openmv.rules"
rc=0
bash "$HERE/check_systemd_unit.sh" "$PREFIX/lib/systemd/system/omvflashd@.service" \
    "$PREFIX/lib/sysusers.d/omvflash.conf" "" "$PREFIX/share/man" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || fail "installed systemd unit"
rc=0
bash "$HERE/check_man_pages.sh" "$PREFIX/share/man/man1/omvflashd.1" "$PREFIX/share/man/man5/omvflash-board.5" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || fail "installed man pages"

echo "PASS: install test in $(($(date +%s) - start)) s"
