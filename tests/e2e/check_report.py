#!/usr/bin/env python3
"""Check an omvflashd --report file the way its readers are told to read it.

Every line that parses is one complete record: a JSON object (strict: no
NaN, no duplicate keys) with every documented key of the documented type.
A line that does not parse was torn by a crash; at most --torn of them are
allowed, each followed by a record (the next append ends the torn line
first), and the file, once omvflashd has exited, ends in '\\n'.
Prints the number of records; exits 1 with a message on any violation.

Usage: check_report.py FILE [--torn N]
"""
import json
import sys

STR, INT, BOOL, NULLSTR = "string", "integer", "boolean", "string or null"
KEYS = {
    "time": STR, "host": NULLSTR, "board": STR, "board_name": STR, "serial": NULLSTR,
    "port": NULLSTR, "slot": NULLSTR, "mode": NULLSTR, "bootloader_version": NULLSTR,
    "images": "array", "skipped_bytes": INT, "retries": INT, "result": STR, "status": STR,
    "exit_code": INT, "message": STR, "duration_ms": INT, "firmware_version": NULLSTR,
    "arch": NULLSTR, "omvflash_version": STR,
}
IMAGE_KEYS = {"partition": STR, "file": NULLSTR, "bytes": INT, "written": BOOL, "sha256": NULLSTR}


def type_ok(value, want):
    if want == STR:
        return isinstance(value, str)
    if want == NULLSTR:
        return value is None or isinstance(value, str)
    if want == INT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if want == BOOL:
        return isinstance(value, bool)
    return isinstance(value, list)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def reject_constant(name):
    raise ValueError("not JSON: " + name)


def check_record(rec, where):
    if not isinstance(rec, dict):
        sys.exit(f"{where}: not a JSON object")
    for key, want in KEYS.items():
        if key not in rec:
            sys.exit(f"{where}: no '{key}'")
        if not type_ok(rec[key], want):
            sys.exit(f"{where}: '{key}' is not a {want}: {rec[key]!r}")
    extra = set(rec) - set(KEYS)
    if extra:
        sys.exit(f"{where}: undocumented keys {sorted(extra)}")
    for i, im in enumerate(rec["images"]):
        for key, want in IMAGE_KEYS.items():
            if key not in im or not type_ok(im[key], want):
                sys.exit(f"{where}: images[{i}].{key} missing or not a {want}")
    if rec["result"] not in ("ok", "failed") or (rec["result"] == "ok") != (rec["exit_code"] == 0):
        sys.exit(f"{where}: result {rec['result']!r} does not match exit_code {rec['exit_code']}")


def main():
    path = sys.argv[1]
    torn_allowed = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--torn" else 0
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        sys.exit(f"{path}: ends inside a line (after omvflashd exited, every record must be complete)")
    records = torn = 0
    lines = data.split(b"\n")[:-1] if data else []
    for n, raw in enumerate(lines, 1):
        where = f"{path}:{n}"
        try:
            rec = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates,
                             parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError):
            torn += 1
            if n == len(lines):
                sys.exit(f"{where}: the last line is not a record")
            continue
        check_record(rec, where)
        records += 1
    if torn > torn_allowed:
        sys.exit(f"{path}: {torn} torn lines, {torn_allowed} allowed")
    print(records)


if __name__ == "__main__":
    main()
