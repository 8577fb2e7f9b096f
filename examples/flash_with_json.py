#!/usr/bin/env python3
"""Flash an OpenMV camera from Python by running omvflashd --json.

    python3 flash_with_json.py --board ae3 --firmware firmware/
    python3 flash_with_json.py --board ae3 --image HP=firmware_M55_HP.bin --verify

Every argument is passed on to omvflashd (see `omvflashd --help`), plus
--json. omvflashd then prints one JSON object per line on stdout; this
script reads them as they come, prints the progress, and exits with
omvflashd's exit code (0 = success; the numbers are in `man omvflashd`).
Errors also go to stderr, one line each.

Which omvflashd: --omvflashd PATH, else $OMVFLASHD, else the one on $PATH.
"""
import json
import os
import subprocess
import sys


def main(argv):
    omvflashd = os.environ.get("OMVFLASHD", "omvflashd")
    if len(argv) >= 2 and argv[0] == "--omvflashd":
        omvflashd, argv = argv[1], argv[2:]
    cmd = [omvflashd, "--json"] + argv

    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    except OSError as e:
        print(f"cannot run {omvflashd}: {e}", file=sys.stderr)
        return 127

    last_percent = {}  # (camera, step, partition) -> last printed percent
    finished = None
    for line in proc.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            print(line, end="")  # not an event; show it as it is
            continue
        kind = ev.get("event")
        camera = ev.get("serial") or "-"  # which camera this event is about
        what = f"{ev.get('step') or ''} {ev.get('partition') or ''}".strip()  # "write HP", "reset"
        if kind == "plan":
            if ev.get("file"):
                print(f"plan: {what} <- {ev['file']} ({ev.get('bytes')} bytes)")
            else:
                print(f"plan: {what}")
        elif kind == "waiting":
            print(f"waiting up to {ev.get('timeout_ms')} ms for the camera's bootloader")
        elif kind == "device_found":
            print(f"[{camera}] found {ev.get('product')} ({ev.get('id')}) on port {ev.get('port')}")
        elif kind == "step_started":
            print(f"[{camera}] step {ev.get('index')}/{ev.get('count')}: {what}")
        elif kind == "progress":
            key = (camera, what)
            total = ev.get("total") or 0
            percent = 100 * ev.get("done", 0) // total if total else 100
            if percent // 10 != last_percent.get(key, -10) // 10:  # every 10 %
                print(f"[{camera}] {what}: {percent:3d}%")
                last_percent[key] = percent
        elif kind == "step_done":
            print(f"[{camera}] {what} done in {ev.get('elapsed_ms')} ms")
        elif kind == "log":
            print(f"[{camera}] {ev.get('level')}: {ev.get('message')}")
        elif kind == "error":
            print(f"[{camera}] error {ev.get('code')} ({ev.get('status')}): {ev.get('message')}", file=sys.stderr)
        elif kind == "finished":
            finished = ev
    code = proc.wait()

    if finished is not None:
        print(f"finished: exit code {finished.get('exit_code')} ({finished.get('status')}) "
              f"after {finished.get('elapsed_ms')} ms")
    print(f"omvflashd exit code: {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
