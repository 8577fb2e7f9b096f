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
# Exit: 0 within the limits, 1 over a limit (one line per finding), 2 setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_FILE_LINES=600
MAX_FUNC_LINES=80

# Allowed exceptions, "FILE" (file length) or "FILE:FUNCTION", each with the
# reason it cannot be split. Keep empty: split instead.
ALLOW=(
)

command -v ctags >/dev/null && ctags --version 2>/dev/null | grep -q 'Universal Ctags' ||
    { echo "check-size: universal-ctags is required (apt-get install universal-ctags)" >&2; exit 2; }

allowed() {
    local a
    for a in "${ALLOW[@]}"; do [ "$a" = "$1" ] && return 0; done
    return 1
}

if [ $# -gt 0 ]; then
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
        echo "$f:$l: a body ctags reported no function for (cannot measure it)"
        bad=1
    done
done
echo "check-size: ${#files[@]} files, $nfunc functions; longest function: $longest lines ($longest_at)" >&2
exit $bad
