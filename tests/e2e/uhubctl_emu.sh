#!/usr/bin/env bash
# A stand-in for uhubctl (https://github.com/mvp/uhubctl) in front of
# omvemu's emulated hub: the same options for what omvflashd's --on-stuck
# example uses (-l LOCATION -p PORT -a off|on|cycle|0|1|2 [-d SECONDS]),
# turned into a line for omvemu's port power FIFO ($OMVEMU_POWER). Each call
# is also appended to $UHUBCTL_LOG (arguments, then the OMVFLASH_* it saw).
set -eu
loc= port= action= delay=2
while getopts "l:p:a:d:" opt; do
    case $opt in
        l) loc=$OPTARG ;;
        p) port=$OPTARG ;;
        a) action=$OPTARG ;;
        d) delay=$OPTARG ;;
        *) echo "uhubctl: usage: uhubctl -l LOCATION -p PORT -a off|on|cycle [-d SECONDS]" >&2; exit 1 ;;
    esac
done
[ -n "${UHUBCTL_LOG:-}" ] && echo "$* | port=${OMVFLASH_PORT:-} slot=${OMVFLASH_SLOT:-} serial=${OMVFLASH_SERIAL:-}" >>"$UHUBCTL_LOG"
case $action in 0) action=off ;; 1) action=on ;; 2) action=cycle ;; esac
[ "$loc" = 1 ] && [ -n "$port" ] || { echo "uhubctl: no such hub/port: -l '$loc' -p '$port' (the emulated hub is 1)" >&2; exit 1; }
case $action in
    off|on) echo "$action $port" >"$OMVEMU_POWER" ;;
    cycle) echo "cycle $port $(awk -v d="$delay" 'BEGIN { printf "%d", d * 1000 }')" >"$OMVEMU_POWER" ;;
    *) echo "uhubctl: unknown action '$action'" >&2; exit 1 ;;
esac
echo "Sent power $action to hub $loc port $port"
