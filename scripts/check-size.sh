#!/usr/bin/env bash
# Size limits for product source: no C file in core/, cli/, plugins/,
# include/ or tests/emu/ over 600 lines, no function in them over 80 lines
# (from the line with its name to its closing brace). A file that big has
# more than one job; a function that big does not fit a screen.
#
# Functions and their extents come from universal-ctags (--fields=+ne: start
# and end line of every function definition). As a cross-check that ctags
# saw every function, each body opened by a '{' in column 0 (the project's
# style for function bodies) must lie inside a function ctags reported; one
# that does not is an error, so a definition ctags cannot parse is never
# silently unmeasured.
#
# Usage: scripts/check-size.sh [FILE...]   (default: every product C file)
#        scripts/check-size.sh --self-test  (the checks must catch made-up
#                                           offenders, and pass their fixes)
# Exit: 0 within the limits, 1 over a limit (one line per finding), 2 setup error.
set -euo pipefail
# FILE arguments are taken relative to the current directory.
args=()
for a in "$@"; do
    case $a in --*) args+=("$a") ;; *) args+=("$(readlink -f -- "$a")") ;; esac
done
set -- ${args[@]+"${args[@]}"}
cd "$(dirname "$0")/.."
MAX_FILE_LINES=600
MAX_FUNC_LINES=80

# Allowed exceptions, "FILE" (file length) or "FILE:FUNCTION", each with the
# reason it cannot be split. Keep empty: split instead.
ALLOW=(
)

command -v ctags >/dev/null && ctags --version 2>/dev/null | grep 'Universal Ctags' >/dev/null ||
    { echo "check-size: universal-ctags is required (apt-get install universal-ctags)" >&2; exit 2; }

allowed() {
    local a
    for a in "${ALLOW[@]}"; do [ "$a" = "$1" ] && return 0; done
    return 1
}

# --self-test: files over each limit, and one just within, in a temp dir.
self_test() {
    local tmp rc out
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-size.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    body() { local n; for ((n = 0; n < $1; n++)); do echo "    x += $n;"; done; }
    { echo "int fits(int x)"; echo "{"; body 76; echo "    return x;"; echo "}"; } >"$tmp/fits.c"
    { echo "int too_long(int x)"; echo "{"; body 77; echo "    return x;"; echo "}"; } >"$tmp/long_func.c"
    { for ((n = 0; n < 601; n++)); do echo "/* $n */"; done; } >"$tmp/long_file.c"
    { echo "static const int table[] ="; echo "{"; echo "    1,"; echo "};"; } >"$tmp/unparsed.c"
    out=$(bash "$0" "$tmp/fits.c" 2>/dev/null) || { echo "check-size self-test: an 80-line function was refused: $out"; return 1; }
    rc=0; out=$(bash "$0" "$tmp/long_func.c" 2>/dev/null) || rc=$?
    [ $rc = 1 ] && grep -q "too_long: 81 lines" <<<"$out" || { echo "check-size self-test: an 81-line function passed"; return 1; }
    rc=0; out=$(bash "$0" "$tmp/long_file.c" 2>/dev/null) || rc=$?
    [ $rc = 1 ] && grep -q "601 lines" <<<"$out" || { echo "check-size self-test: a 601-line file passed"; return 1; }
    rc=0; out=$(bash "$0" "$tmp/unparsed.c" 2>/dev/null) || rc=$?
    [ $rc = 1 ] && grep -q "cannot measure" <<<"$out" || { echo "check-size self-test: a body outside every function passed"; return 1; }
    echo "check-size self-test: ok" >&2
}

if [ "${1:-}" = --self-test ]; then
    self_test
    exit
elif [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(find core cli plugins include tests/emu -type f -name '*.[ch]' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "check-size: no files" >&2; exit 2; }

bad=0 nfunc=0 longest=0 longest_at=
for f in "${files[@]}"; do
    lines=$(wc -l <"$f")
    if [ "$lines" -gt "$MAX_FILE_LINES" ] && ! allowed "$f"; then
        echo "$f: $lines lines (limit $MAX_FILE_LINES)"
        bad=1
    fi
    # NAME START END, one function definition a line.
    tags=$(ctags -x --_xformat='%N %n %e' --fields=+ne --kinds-C=f --language-force=C -o - "$f")
    while read -r name start end; do
        [ -n "$name" ] || continue
        if [ -z "$end" ] || [ "$end" -lt "$start" ]; then
            echo "$f:$start: $name: ctags found no end of this function"
            bad=1
            continue
        fi
        n=$((end - start + 1))
        nfunc=$((nfunc + 1))
        if [ "$n" -gt "$longest" ]; then longest=$n longest_at="$f:$start $name"; fi
        if [ "$n" -gt "$MAX_FUNC_LINES" ] && ! allowed "$f:$name"; then
            echo "$f:$start: $name: $n lines (limit $MAX_FUNC_LINES)"
            bad=1
        fi
    done <<<"$tags"
    # Cross-check: every column-0 '{' inside some reported function.
    unmeasured=$(awk -v ranges="$(awk '{ printf "%s-%s ", $2, $3 }' <<<"$tags")" '
        BEGIN { n = split(ranges, r, " "); for (i = 1; i <= n; i++) { split(r[i], se, "-"); s[i] = se[1]; e[i] = se[2] } }
        /^\{/ { inside = 0; for (i = 1; i <= n; i++) if (FNR >= s[i] && FNR <= e[i]) inside = 1
                if (!inside) print FNR }' "$f")
    for l in $unmeasured; do
        echo "$f:$l: a '{' in column 0 outside every function ctags found: a definition it cannot parse (cannot measure it), or a table (put its '{' on the line of its '=')"
        bad=1
    done
done
echo "check-size: ${#files[@]} files, $nfunc functions; longest function: $longest lines ($longest_at)" >&2
exit $bad
