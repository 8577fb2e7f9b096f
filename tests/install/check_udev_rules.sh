#!/usr/bin/env bash
# Check udev/60-openmv.rules:
#  1. syntax: `udevadm verify` when the installed udevadm has it (systemd 254+);
#     always also a strict line parser: every line is blank, a comment or a
#     well-formed rule (KEY{attr}OP"value" tokens separated by commas, known
#     keys, match operators only on match keys, assignments only on
#     assignable keys, MODE octal, GROUP a plain name);
#  2. coverage: every OpenMV VID:PID of docs/protocols.md §1.2, §8.1 and §9.1 has a rule
#     for its USB device node and one for its ttyACM (or hidraw) node, and
#     every rule grants TAG+="uaccess", GROUP="omvflash", MODE="0660" and
#     ENV{ID_MM_DEVICE_IGNORE}="1".
# Usage: check_udev_rules.sh RULES_FILE      check the file
#        check_udev_rules.sh --self-test RULES_FILE
#                                            also prove the checks fail on
#                                            broken copies of the file
set -euo pipefail

# docs/protocols.md §1.2, §8.1, §9.1: application and bootloader ids of the OpenMV cameras
# and of the Arduino boards running OpenMV firmware
# (vid:pid:second-node; second node "tty" for CDC devices, "hidraw" for the
# RT1062's NXP HID loaders).
IDS="
37c5:1202:tty 37c5:9202:tty
37c5:1203:tty 37c5:9203:tty
37c5:1204:tty 37c5:9204:tty
37c5:124a:tty 37c5:924a:tty
37c5:1205:tty 37c5:9205:tty
37c5:1206:tty 37c5:9206:tty
37c5:16e3:tty 37c5:96e3:tty
37c5:1060:tty
1209:abd1:tty
0483:df11:tty
2341:045b:tty 2341:035b:tty 2341:045f:tty 2341:055f:tty 2341:035f:tty 2341:0466:tty 2341:0366:tty
15a2:0073:hidraw 1fc9:0135:hidraw
"

MATCH_KEYS=" ACTION DEVPATH KERNEL KERNELS SUBSYSTEM SUBSYSTEMS DRIVER DRIVERS ATTR ATTRS SYSCTL TAGS TEST PROGRAM RESULT CONST "
ASSIGN_KEYS=" NAME SYMLINK OWNER GROUP MODE SECLABEL ATTR SYSCTL RUN LABEL GOTO IMPORT OPTIONS TAG ENV "
BOTH_KEYS=" ENV TAG ATTR SYSCTL NAME SYMLINK "   # may be matched and assigned

check_syntax() {  # check_syntax FILE: the line parser; prints problems, returns 1 on any
    local file=$1 n=0 bad=0 line rest tok key op val
    local tokre='^([A-Z_]+)(\{[A-Za-z0-9_.:*?-]+\})?[[:space:]]*(==|!=|\+=|-=|:=|=)[[:space:]]*"([^"\\]*)"[[:space:]]*'
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        case "$line" in
        *$'\r') echo "$file:$n: CR line ending"; bad=1; continue ;;
        esac
        if [[ "$line" =~ ^[[:space:]]*$ || "$line" =~ ^[[:space:]]*# ]]; then
            continue
        fi
        if [[ "$line" =~ \\$ ]]; then
            echo "$file:$n: continuation lines are not used in this file"; bad=1; continue
        fi
        rest=$line
        local nmatch=0 nassign=0 first=1
        while [ -n "$rest" ]; do
            if [ $first = 0 ]; then
                if [[ "$rest" =~ ^,[[:space:]]*(.*)$ ]]; then
                    rest=${BASH_REMATCH[1]}
                else
                    echo "$file:$n: expected ',' before: $rest"; bad=1; continue 2
                fi
            fi
            first=0
            if ! [[ "$rest" =~ $tokre ]]; then
                echo "$file:$n: not a KEY{attr}OP\"value\" token: $rest"; bad=1; continue 2
            fi
            tok=${BASH_REMATCH[0]}
            key=${BASH_REMATCH[1]}
            op=${BASH_REMATCH[3]}
            val=${BASH_REMATCH[4]}
            rest=${rest:${#tok}}
            case "$MATCH_KEYS$ASSIGN_KEYS" in
            *" $key "*) ;;
            *) echo "$file:$n: unknown key $key"; bad=1; continue 2 ;;
            esac
            if [ "$op" = "==" ] || [ "$op" = "!=" ]; then
                case "$MATCH_KEYS$BOTH_KEYS" in
                *" $key "*) nmatch=$((nmatch + 1)) ;;
                *) echo "$file:$n: $key cannot be matched with $op"; bad=1; continue 2 ;;
                esac
            else
                case "$ASSIGN_KEYS" in
                *" $key "*) nassign=$((nassign + 1)) ;;
                *) echo "$file:$n: $key cannot be assigned with $op"; bad=1; continue 2 ;;
                esac
            fi
            case "$key" in
            MODE) [[ "$val" =~ ^0[0-7]{3}$ ]] || { echo "$file:$n: MODE '$val' is not octal 0NNN"; bad=1; continue 2; } ;;
            GROUP|OWNER) [[ "$val" =~ ^[a-z_][a-z0-9_-]*$ ]] || { echo "$file:$n: $key '$val' is not a name"; bad=1; continue 2; } ;;
            esac
        done
        if [ "$nmatch" = 0 ] || [ "$nassign" = 0 ]; then
            echo "$file:$n: a rule needs at least one match and one assignment"; bad=1
        fi
    done <"$file"
    return $bad
}

GRANTS='TAG+="uaccess", GROUP="omvflash", MODE="0660", ENV{ID_MM_DEVICE_IGNORE}="1"'

check_coverage() {  # check_coverage FILE
    local file=$1 bad=0 id vid pid node
    for id in $IDS; do
        vid=${id%%:*}; pid=${id#*:}; node=${pid#*:}; pid=${pid%%:*}
        grep -qF "SUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", ATTR{idVendor}==\"$vid\", ATTR{idProduct}==\"$pid\", $GRANTS" "$file" ||
            { echo "$file: no USB device node rule (with all grants) for $vid:$pid"; bad=1; }
        if [ "$node" = tty ]; then
            grep -qF "SUBSYSTEM==\"tty\", KERNEL==\"ttyACM*\", ATTRS{idVendor}==\"$vid\", ATTRS{idProduct}==\"$pid\", $GRANTS" "$file" ||
                { echo "$file: no ttyACM rule (with all grants) for $vid:$pid"; bad=1; }
        else
            grep -qF "SUBSYSTEM==\"hidraw\", ATTRS{idVendor}==\"$vid\", ATTRS{idProduct}==\"$pid\", $GRANTS" "$file" ||
                { echo "$file: no hidraw rule (with all grants) for $vid:$pid"; bad=1; }
        fi
    done
    # Every rule, not only the expected ones, carries all four grants.
    local n=0 line
    while IFS= read -r line; do
        n=$((n + 1))
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        case "$line" in
        *", $GRANTS") ;;
        *) echo "$file:$n: rule does not end with $GRANTS"; bad=1 ;;
        esac
    done <"$file"
    return $bad
}

check_file() {  # check_file FILE [quiet]
    local bad=0
    check_syntax "$1" || bad=1
    check_coverage "$1" || bad=1
    return $bad
}

self_test=0
if [ "${1:-}" = --self-test ]; then self_test=1; shift; fi
RULES=${1:?usage: check_udev_rules.sh [--self-test] RULES_FILE}
[ -f "$RULES" ] || { echo "FAIL: $RULES: no such file"; exit 1; }

status=0
if command -v udevadm >/dev/null 2>&1 && udevadm verify --help >/dev/null 2>&1; then
    echo "udevadm verify $RULES"
    udevadm verify --resolve-names=never "$RULES" || { echo "FAIL: udevadm verify"; status=1; }
else
    echo "note: udevadm verify not available (needs systemd 254+): using the built-in parser only"
fi
if check_file "$RULES"; then
    echo "ok: $RULES: syntax (parser) and coverage of $(echo "$IDS" | wc -w) VID:PIDs"
else
    echo "FAIL: $RULES"
    status=1
fi

if [ $self_test = 1 ]; then
    # Each broken copy must be rejected, or the checks above prove nothing.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-udev.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    mutate() {  # mutate NAME SED-EXPR
        sed -e "$2" "$RULES" >"$tmp/$1.rules"
        if check_file "$tmp/$1.rules" >"$tmp/$1.log" 2>&1; then
            echo "FAIL: self-test '$1': the broken copy was accepted"; status=1
        else
            echo "ok: self-test '$1' rejected: $(head -n 1 "$tmp/$1.log")"
        fi
    }
    mutate missing_ae3_bootloader '/idProduct}=="96e3"/d'
    mutate missing_tty_rule '/SUBSYSTEM=="tty".*"df11"/d'
    mutate unquoted_value '0,/^SUBSYSTEM.*MODE="0660"/s/MODE="0660"/MODE=0660/'
    mutate missing_comma '0,/^SUBSYSTEM.*, TAG+=/s/, TAG+=/  TAG+=/'
    mutate assign_to_match_key '0,/SUBSYSTEM=="usb"/s//SUBSYSTEM="usb"/'
    mutate unknown_key '0,/SUBSYSTEM=="usb"/s//SUBSYTEM=="usb"/'
    mutate bad_mode '0,/^SUBSYSTEM.*MODE="0660"/s/MODE="0660"/MODE="rw"/'
    mutate no_mm_ignore '0,/^SUBSYSTEM.*ID_MM/s/, ENV{ID_MM_DEVICE_IGNORE}="1"//'
    mutate stray_text '1i this is not a rule'
fi
exit $status
