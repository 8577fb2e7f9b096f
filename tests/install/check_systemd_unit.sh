#!/usr/bin/env bash
# Check the systemd files:
#  - omvflashd@.service: `systemd-analyze verify` of an instance
#    (omvflashd@ae3.service), with its documentation (man pages) and its
#    ExecStart binary; any message counts as a failure. A broken copy must be
#    rejected (self-test). Then the settings this unit promises: EnvironmentFile,
#    user/group omvflash, Restart=on-failure, real /dev with USB and ttyACM
#    allowed.
#  - omvflash.conf (sysusers.d): systemd-sysusers creates user and group
#    omvflash in a scratch root.
# Usage: check_systemd_unit.sh UNIT SYSUSERS_CONF [OMVFLASHD MAN_DIR]
#   OMVFLASHD  run the unit with this binary instead of its ExecStart path
#              (for a build tree, where the install path does not exist yet)
#   MAN_DIR    dir with omvflashd.1 and omvflash-board.5, or a man tree (man1/, man5/)
# Exit 77 (skip) when systemd-analyze is missing or cannot run here.
set -euo pipefail

UNIT=${1:?usage: check_systemd_unit.sh UNIT SYSUSERS_CONF [OMVFLASHD MAN_DIR]}
SYSUSERS=${2:?usage: check_systemd_unit.sh UNIT SYSUSERS_CONF [OMVFLASHD MAN_DIR]}
BIN=${3:-}
MAN=${4:-}

fail() { echo "FAIL: $*"; exit 1; }
[ -f "$UNIT" ] || fail "$UNIT: no such file"
[ -f "$SYSUSERS" ] || fail "$SYSUSERS: no such file"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omvflash-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. The settings the unit must have (plain text, works everywhere).
need() {
    grep -qxF -- "$1" "$UNIT" || fail "$UNIT: missing line '$1'"
}
need 'EnvironmentFile=/etc/omvflash/%i.conf'
need 'User=omvflash'
need 'Group=omvflash'
need 'SupplementaryGroups=omvflash'
need 'DynamicUser=no'
need 'Restart=on-failure'
need 'Type=notify'
need 'NotifyAccess=main'
grep -qE '^WatchdogSec=[1-9][0-9]*(s|min)?$' "$UNIT" || fail "$UNIT: WatchdogSec= must be set (omvflashd pings)"
need 'PrivateDevices=no'
need 'DeviceAllow=char-usb_device rw'
need 'DeviceAllow=char-ttyACM rw'
grep -qE '^ExecStart=/[^ ]*/omvflashd --board %i --watch --json ' "$UNIT" ||
    fail "$UNIT: ExecStart must run an absolute omvflashd --board %i --watch --json"
grep -qE '^(PrivateDevices=(yes|true|1)|ProtectKernelModules=no|DevicePolicy=strict)' "$UNIT" &&
    fail "$UNIT: a setting that would hide the camera's device nodes"
echo "ok: $UNIT has the expected settings"

# 2. sysusers.d file: creates user and group omvflash.
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$tmp/root/etc"
    systemd-sysusers --root="$tmp/root" "$SYSUSERS" >"$tmp/sysusers.log" 2>&1 ||
        { cat "$tmp/sysusers.log"; fail "systemd-sysusers $SYSUSERS"; }
    grep -q '^omvflash:' "$tmp/root/etc/group" || fail "$SYSUSERS: no group omvflash created"
    grep -q '^omvflash:' "$tmp/root/etc/passwd" ||
        fail "$SYSUSERS: no user omvflash created"
    echo "ok: $SYSUSERS creates user and group omvflash"
else
    echo "note: systemd-sysusers not available: $SYSUSERS not checked"
fi

# 3. systemd-analyze verify.
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not installed (Debian: apt-get install systemd); unit not verified"
    exit 77
fi
# Can it verify anything at all here (some containers cannot)?
printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$tmp/omvprobe.service"
if ! systemd-analyze verify --man=no "$tmp/omvprobe.service" >"$tmp/probe.log" 2>&1; then
    cat "$tmp/probe.log"
    echo "SKIP: systemd-analyze verify cannot run in this environment"
    exit 77
fi

# A man tree for Documentation=man:... (verify runs `man` for each).
man_opt=--man=no
if [ -n "$MAN" ]; then
    if [ -d "$MAN/man1" ]; then
        export MANPATH=$MAN
    else
        mkdir -p "$tmp/man/man1" "$tmp/man/man5"
        cp "$MAN"/*.1 "$tmp/man/man1/"
        cp "$MAN"/*.5 "$tmp/man/man5/"
        export MANPATH=$tmp/man
    fi
    if command -v man >/dev/null 2>&1; then
        man_opt=--man=yes
    fi
fi

mkdir -p "$tmp/units"
unit_name=$(basename "$UNIT")
if [ -n "$BIN" ]; then
    sed -E "s|^ExecStart=/[^ ]*/omvflashd |ExecStart=$BIN |" "$UNIT" >"$tmp/units/$unit_name"
else
    cp "$UNIT" "$tmp/units/$unit_name"
fi
instance=${unit_name/@./@ae3.}

verify() {  # verify UNIT_FILE: systemd-analyze verify; any message is a failure
    local out=0
    systemd-analyze verify "$man_opt" "$1" >"$tmp/verify.log" 2>&1 || out=$?
    if [ "$out" != 0 ] || [ -s "$tmp/verify.log" ]; then
        cat "$tmp/verify.log"
        return 1
    fi
}

verify "$tmp/units/$instance" || fail "systemd-analyze verify $instance ($UNIT)"
echo "ok: systemd-analyze verify $man_opt $instance"

# Self-test: a misspelt key and a bad value must be reported.
mkdir -p "$tmp/broken1" "$tmp/broken2"
sed 's/^ProtectSystem=/ProtectSytem=/' "$tmp/units/$unit_name" >"$tmp/broken1/$unit_name"
sed 's/^Restart=on-failure/Restart=sometimes/' "$tmp/units/$unit_name" >"$tmp/broken2/$unit_name"
verify "$tmp/broken1/$instance" >/dev/null && fail "self-test: a misspelt key was not reported"
verify "$tmp/broken2/$instance" >/dev/null && fail "self-test: a bad Restart= value was not reported"
echo "ok: self-test: systemd-analyze verify reports a misspelt key and a bad value"
