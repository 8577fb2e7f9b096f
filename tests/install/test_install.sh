#!/usr/bin/env bash
# Install test: configure a second copy of the project with CMake's defaults
# (tests off, Release, no CMAKE_INSTALL_PREFIX), build it, and
#  - `cmake --install BUILD --prefix DIR` (a prefix other than the configured
#    one): the layout is complete (bin, lib + SONAME links, headers, plugins,
#    boards, pkg-config, udev, systemd, sysusers, man, examples), the unit
#    runs DIR/bin/omvflashd, and the installed library, plugins and omvflashd
#    are byte for byte the ones the build tree ran (no second build for
#    installing) and name no build, source or install path;
#  - the build tree is deleted and DIR is MOVED elsewhere; then, with an
#    EMPTY environment (env -i PATH=/usr/bin:/bin), the moved omvflashd finds
#    its libomvflash, plugins and boards there (also when started through a
#    symbolic link from another directory), plans, lists actions, flashes an
#    emulated AE3 (omvemu) and names only the moved dirs in its messages;
#  - the moved pkg-config file points into the moved prefix,
#    examples/flash_ae3.c builds against it warning-free and flashes an
#    emulated AE3 with the moved library and plugins; so does
#    examples/flash_with_json.py with the moved omvflashd;
#  - DESTDIR staging into the configured prefix (packages) names that prefix
#    in the unit, and the staged tree runs too;
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
PREFIX=$WORK/first/prefix   # installed here, then moved to $MOVED
MOVED=$WORK/elsewhere/a/b/omvflash
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
step "configure (defaults), build, install into $PREFIX"
run 0 "$CMAKE" -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOMV_BUILD_TESTS=OFF -DCMAKE_C_COMPILER="$CC"
CONFIGURED=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
[ -n "$CONFIGURED" ] && [ "$CONFIGURED" != "$PREFIX" ] || fail "configured prefix is '$CONFIGURED'"
run 0 "$CMAKE" --build "$BUILD" --parallel "$(nproc 2>/dev/null || echo 2)"
run 0 "$CMAKE" --install "$BUILD" --prefix "$PREFIX"
grep -q "WARNING" "$WORK/out" && { cat "$WORK/out"; fail "cmake --install --prefix warns"; }
echo "built and installed in $(($(date +%s) - start)) s"

# --------------------------------------------------------------------- layout
step "layout"
PC=$(find "$PREFIX" -path '*/pkgconfig/omvflash.pc' | head -n 1)
[ -n "$PC" ] || fail "omvflash.pc not installed"
LIBDIR=$(dirname "$(dirname "$PC")")
LIBSUB=${LIBDIR#"$PREFIX"/}   # lib, or lib/<multiarch>
assert_file "$PREFIX/bin/omvflashd"
assert_file "$LIBDIR/libomvflash.so.0.1.0"
[ "$(readlink "$LIBDIR/libomvflash.so.0")" = libomvflash.so.0.1.0 ] || fail "libomvflash.so.0 link"
[ "$(readlink "$LIBDIR/libomvflash.so")" = libomvflash.so.0 ] || fail "libomvflash.so link"
objdump -p "$LIBDIR/libomvflash.so.0" | grep -E 'SONAME +libomvflash\.so\.0$' >/dev/null || fail "SONAME is not libomvflash.so.0"
# Only the public API is exported (core/libomvflash.map).
nm -D --defined-only "$LIBDIR/libomvflash.so.0" | awk '$2 == "T" {print $3}' | grep -v '^omv_' &&
    fail "libomvflash exports symbols outside omv_*"
nm -D --defined-only "$LIBDIR/libomvflash.so.0" | grep ' omvi_' >/dev/null && fail "libomvflash exports internal omvi_* symbols"
for h in omvflash.h board_profiles.h plugin.h status.h; do assert_file "$PREFIX/include/omvflash/$h"; done
PLUGINS=(dfu mram_init cdc_bootloader omv_entry)
for p in "${PLUGINS[@]}"; do assert_file "$LIBDIR/omvflash/plugins/omvflash_$p.so"; done
for b in "$SRC"/boards/*.ini; do assert_file "$PREFIX/share/omvflash/boards/$(basename "$b")"; done
assert_file "$PREFIX/lib/udev/rules.d/60-openmv.rules"
assert_file "$PREFIX/lib/systemd/system/omvflashd@.service"
assert_file "$PREFIX/lib/sysusers.d/omvflash.conf"
assert_file "$PREFIX/share/man/man1/omvflashd.1"
assert_file "$PREFIX/share/man/man5/omvflash-board.5"
EXAMPLES=$PREFIX/share/doc/omvflash/examples
for e in flash_ae3.c flash_with_json.py ae3.conf; do assert_file "$EXAMPLES/$e"; done
# systemd needs an absolute ExecStart: the prefix installed to, not the configured one.
grep -qxF "ExecStart=$PREFIX/bin/omvflashd --board %i --watch --json --firmware \${FIRMWARE_DIR} \$EXTRA_ARGS" \
    "$PREFIX/lib/systemd/system/omvflashd@.service" || fail "the installed unit does not run $PREFIX/bin/omvflashd"

# -------------------------------------- the installed files are the built ones
step "installed binaries are the build tree's, naming no path"
cmp "$BUILD/bin/omvflashd" "$PREFIX/bin/omvflashd" || fail "the installed omvflashd is not the one built"
cmp "$BUILD/$LIBSUB/libomvflash.so.0.1.0" "$LIBDIR/libomvflash.so.0.1.0" ||
    fail "the installed libomvflash is not the one built"
for p in "${PLUGINS[@]}"; do
    cmp "$BUILD/$LIBSUB/omvflash/plugins/omvflash_$p.so" "$LIBDIR/omvflash/plugins/omvflash_$p.so" ||
        fail "the installed plugin $p is not the one built"
done
for f in "$PREFIX/bin/omvflashd" "$LIBDIR"/libomvflash.so.0.1.0 "$LIBDIR"/omvflash/plugins/*.so; do
    if grep -qaF -e "$WORK" -e "$SRC" -e "$CONFIGURED/" "$f"; then
        strings "$f" | grep -F -e "$WORK" -e "$SRC" -e "$CONFIGURED/" >&2 || true
        fail "$f names a build, source or install path"
    fi
done
objdump -p "$PREFIX/bin/omvflashd" | grep -E 'R(UN)?PATH' | grep -F '$ORIGIN/../' >/dev/null ||
    fail "omvflashd has no RUNPATH relative to itself: $(objdump -p "$PREFIX/bin/omvflashd" | grep PATH)"

# -------------------------------------------------- DESTDIR staging (packages)
step "DESTDIR staging into the configured prefix $CONFIGURED"
run 0 env DESTDIR="$WORK/stage" "$CMAKE" --install "$BUILD"
STAGED=$WORK/stage$CONFIGURED
grep -qxF "ExecStart=$CONFIGURED/bin/omvflashd --board %i --watch --json --firmware \${FIRMWARE_DIR} \$EXTRA_ARGS" \
    "$STAGED/lib/systemd/system/omvflashd@.service" || fail "the staged unit does not run $CONFIGURED/bin/omvflashd"
run 0 "${EMPTY_ENV[@]}" "$STAGED/bin/omvflashd" --board ae3 --list-actions
assert_grep "$WORK/out" "mram_init"
rm -rf "$WORK/stage"

# ------------------------------------------- delete the build tree, move the prefix
step "move $PREFIX to $MOVED"
rm -rf "$BUILD"
mkdir -p "$(dirname "$MOVED")"
mv "$PREFIX" "$MOVED"
rmdir "$WORK/first"
PREFIX=$MOVED
LIBDIR=$PREFIX/$LIBSUB
EXAMPLES=$PREFIX/share/doc/omvflash/examples
"${EMPTY_ENV[@]}" ldd "$PREFIX/bin/omvflashd" >"$WORK/ldd" 2>&1 || { cat "$WORK/ldd"; fail "ldd omvflashd"; }
loaded=$(sed -n 's/^[[:space:]]*libomvflash\.so\.0 => \([^ ]*\) .*/\1/p' "$WORK/ldd")
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$LIBDIR/libomvflash.so.0")" ] ||
    { cat "$WORK/ldd"; fail "omvflashd does not load $LIBDIR/libomvflash.so.0"; }

# ------------------------------------------------- moved omvflashd, empty environment
step "the moved omvflashd with an empty environment"
FW=$WORK/fw
mkdir -p "$FW"
head -c 40960 /dev/urandom >"$FW/firmware_M55_HP.bin"
head -c 20000 /dev/urandom >"$FW/firmware_M55_HE.bin"
head -c 12288 /dev/urandom >"$FW/romfs1.img"
head -c 36865 /dev/urandom >"$FW/romfs0.img"
cd "$WORK"  # not the source tree, not the prefix

run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --version
assert_grep "$WORK/out" "omvflashd 0.1.0"
run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board ae3 --dry-run --firmware "$FW"
assert_grep "$WORK/out" "write  HP <- $FW/firmware_M55_HP.bin"
assert_grep "$WORK/out" "no device attached now"
run 0 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board ae3 --list-actions
assert_grep "$WORK/out" "mram_init"
# Started through a symbolic link in another directory (~/bin/omvflashd).
mkdir -p "$WORK/home/bin"
ln -s "$PREFIX/bin/omvflashd" "$WORK/home/bin/omvflashd"
run 0 "${EMPTY_ENV[@]}" "$WORK/home/bin/omvflashd" --board ae3 --list-actions
assert_grep "$WORK/out" "mram_init"
# The search lists are exactly the moved prefix's dirs.
run 3 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board no_such_board --dry-run
assert_grep "$WORK/out" "(searched: $PREFIX/share/omvflash/boards)"
sed -e 's/^transport = dfu$/transport = nosuchplugin/' -e 's/^\[dfu\]$/[nosuchplugin]/' "$PREFIX/share/omvflash/boards/ae3.ini" >"$WORK/x.ini"
run 4 "${EMPTY_ENV[@]}" "$PREFIX/bin/omvflashd" --board "$WORK/x.ini" --dry-run --firmware "$FW"
assert_grep "$WORK/out" "omvflash_nosuchplugin.so not found in $LIBDIR/omvflash/plugins"
grep -qE "$WORK/(first|build)|$SRC" "$WORK/out" && fail "the plugin search names an old path: $(cat "$WORK/out")"

step "the moved omvflashd flashes an emulated AE3"
DUMP=$WORK/dump
# --forced (here and below): the install is under test, not the 1.5 s window.
run 0 "${EMU_ENV[@]}" "$OMVEMU" --camera ae3 --forced --dump "$DUMP" -- "$PREFIX/bin/omvflashd" -v --board ae3 --firmware "$FW"
assert_grep "$WORK/out" "transport plugin dfu"
assert_grep "$WORK/out" "loaded from $LIBDIR/omvflash/plugins/omvflash_dfu.so"
cmp "$FW/firmware_M55_HP.bin" "$DUMP/HP.bin" || fail "HP.bin differs"
cmp "$FW/firmware_M55_HE.bin" "$DUMP/HE.bin" || fail "HE.bin differs"
cmp "$FW/romfs1.img" "$DUMP/ROMFS1.bin" || fail "ROMFS1.bin differs"
cmp "$FW/romfs0.img" "$DUMP/ROMFS0.bin" || fail "ROMFS0.bin differs"
rm -rf "$DUMP"

# ------------------------------------------------------------------- pkg-config
step "pkg-config (moved)"
PKG=("${EMPTY_ENV[@]}" PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config)
# pkg-config FLAG VAR: the value, each path in it resolved (-I/x/lib/pkgconfig/../../include).
pc_real() { readlink -m "$("${PKG[@]}" "--variable=$1" omvflash)"; }
[ "$(pc_real prefix)" = "$PREFIX" ] || fail "pkg-config prefix is $(pc_real prefix)"
[ "$(pc_real includedir)" = "$PREFIX/include" ] || fail "includedir is $(pc_real includedir)"
[ "$(pc_real libdir)" = "$LIBDIR" ] || fail "libdir is $(pc_real libdir)"
[ "$(pc_real plugindir)" = "$LIBDIR/omvflash/plugins" ] || fail "plugindir is $(pc_real plugindir)"
BOARDDIR=$(pc_real boarddir)
[ "$BOARDDIR" = "$PREFIX/share/omvflash/boards" ] || fail "boarddir is $BOARDDIR"
version=$(sed -n 's/^#define OMVFLASH_VERSION "\(.*\)"$/\1/p' "$SRC/include/omvflash/omvflash.h")
[ "$("${PKG[@]}" --modversion omvflash)" = "$version" ] || fail "pkg-config version is not $version"
run 0 "${PKG[@]}" --validate omvflash

# -------------------------------------------- examples/flash_ae3.c, built against it
step "examples/flash_ae3.c against the moved library, under omvemu"
# shellcheck disable=SC2046
run 0 "${EMPTY_ENV[@]}" "$CC" -std=c11 -O2 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -o "$WORK/flash_ae3" \
    "$EXAMPLES/flash_ae3.c" $("${PKG[@]}" --cflags --libs omvflash) -Wl,-rpath,"$LIBDIR"
objdump -p "$WORK/flash_ae3" | grep 'NEEDED *libomvflash\.so\.0$' >/dev/null || fail "flash_ae3 does not link libomvflash.so.0"
run 0 "${EMU_ENV[@]}" "$OMVEMU" --camera ae3 --forced --dump "$DUMP" -- "$WORK/flash_ae3" "$BOARDDIR/ae3.ini" "$FW"
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
    step "examples/flash_with_json.py with the moved omvflashd, under omvemu"
    rm -rf "$DUMP"
    run 0 "${EMU_ENV[@]}" "$OMVEMU" --camera ae3 --forced --dump "$DUMP" -- \
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
# The unit names the prefix it was installed to, now moved: verify it with the moved binary.
bash "$HERE/check_systemd_unit.sh" "$PREFIX/lib/systemd/system/omvflashd@.service" \
    "$PREFIX/lib/sysusers.d/omvflash.conf" "$PREFIX/bin/omvflashd" "$PREFIX/share/man" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || fail "installed systemd unit"
rc=0
bash "$HERE/check_man_pages.sh" "$PREFIX/share/man/man1/omvflashd.1" "$PREFIX/share/man/man5/omvflash-board.5" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || fail "installed man pages"

echo "PASS: install test in $(($(date +%s) - start)) s"
