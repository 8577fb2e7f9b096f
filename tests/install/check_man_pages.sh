#!/usr/bin/env bash
# Check man pages: `groff -man -ww -z` and `man --warnings -l` must print
# nothing; every page has NAME, SYNOPSIS, DESCRIPTION and SEE ALSO; with
# --self-test, broken copies must be reported (an unknown macro, a font
# escape typo).
# Usage: check_man_pages.sh [--self-test] PAGE...
# Exit 77 (skip) when neither groff nor man is installed.
set -euo pipefail

self_test=0
if [ "${1:-}" = --self-test ]; then self_test=1; shift; fi
[ $# -gt 0 ] || { echo "usage: check_man_pages.sh [--self-test] PAGE..."; exit 2; }

have_groff=0; have_man=0
command -v groff >/dev/null 2>&1 && have_groff=1
command -v man >/dev/null 2>&1 && man --help 2>/dev/null | grep -- --warnings >/dev/null && have_man=1
if [ $have_groff = 0 ] && [ $have_man = 0 ]; then
    echo "SKIP: neither groff nor man-db is installed (Debian: apt-get install groff-base man-db)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

check_page() {  # check_page FILE: prints problems, returns 1 on any
    local page=$1 bad=0 s
    [ -f "$page" ] || { echo "$page: no such file"; return 1; }
    if [ $have_groff = 1 ]; then
        LC_ALL=C groff -man -ww -z "$page" >"$tmp/groff.log" 2>&1 || bad=1
        [ -s "$tmp/groff.log" ] && { sed "s|^|groff: |" "$tmp/groff.log"; bad=1; }
    fi
    if [ $have_man = 1 ]; then
        LC_ALL=C MANWIDTH=80 man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.log" || bad=1
        [ -s "$tmp/man.log" ] && { sed "s|^|man: |" "$tmp/man.log"; bad=1; }
        for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
            grep -q "^$s\$" "$tmp/man.txt" || { echo "$page: no $s section"; bad=1; }
        done
    fi
    return $bad
}

status=0
for page in "$@"; do
    if check_page "$page"; then
        echo "ok: $page"
    else
        echo "FAIL: $page"
        status=1
    fi
done

if [ $self_test = 1 ]; then
    first=$1
    mutate() {  # mutate NAME SED-EXPR
        sed -e "$2" "$first" >"$tmp/$1.${first##*.}"
        if check_page "$tmp/$1.${first##*.}" >"$tmp/$1.out" 2>&1; then
            echo "FAIL: self-test '$1': the broken page was accepted"; status=1
        else
            echo "ok: self-test '$1' rejected: $(head -n 1 "$tmp/$1.out")"
        fi
    }
    mutate unknown_macro '0,/^\.PP$/s//.PX/'
    mutate bad_escape '0,/^\.SH DESCRIPTION$/s//.SH DESCRIPTION\n\\fQbroken\\fR/'
fi
exit $status
