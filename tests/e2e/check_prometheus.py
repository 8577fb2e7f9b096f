#!/usr/bin/env python3
"""Strict check of a Prometheus text exposition file (format 0.0.4, what
node_exporter's textfile collector reads), then print its samples as JSON
({"name{label=\\"v\\",...}": value}) for the test to assert on.

Checked: line syntax (metric and label names, quoted label values with only
the \\\\ \\" \\n escapes, float values), one HELP and one TYPE per family before
its samples, families not interleaved, no duplicate series, counters >= 0,
histograms with increasing le buckets, a +Inf bucket equal to _count, and
_sum; the file ends with a newline. Exits 1 with "FILE:LINE: ..." otherwise.

Usage: check_prometheus.py FILE
"""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*)?,?\}})? (\S+)(?: (-?\d+))?$")
LABEL_PAIR = re.compile(rf"({LABEL})=({VALUE})")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def fail(where, msg):
    sys.exit(f"{where}: {msg}")


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        fail(where, f"not a float: {text!r}")
    return float(text)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def check_histogram(base, series, where):
    by_labels = {}
    for (name, labels), value in series.items():
        if family_of(name, {base: "histogram"}) != base:
            continue
        rest = tuple(p for p in labels if p[0] != "le")
        entry = by_labels.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == base + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                fail(where, f"{base}_bucket without le")
            entry["buckets"].append((parse_value(json.loads(le), where), value))
        elif name == base + "_sum":
            entry["sum"] = value
        elif name == base + "_count":
            entry["count"] = value
    for rest, e in by_labels.items():
        buckets = sorted(e["buckets"])
        if not buckets or buckets[-1][0] != math.inf:
            fail(where, f"{base}{rest}: no +Inf bucket")
        counts = [c for _, c in buckets]
        if any(counts[i] > counts[i + 1] for i in range(len(counts) - 1)):
            fail(where, f"{base}{rest}: bucket counts decrease")
        if e["count"] is None or e["sum"] is None:
            fail(where, f"{base}{rest}: _count or _sum missing")
        if buckets[-1][1] != e["count"]:
            fail(where, f"{base}{rest}: +Inf bucket {buckets[-1][1]} != _count {e['count']}")


def main():
    path = sys.argv[1]
    text = open(path, encoding="utf-8").read()
    if not text.endswith("\n"):
        fail(path, "does not end with a newline")
    helps, types, seen_families, series = {}, {}, [], {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"{path}:{n}"
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.*)$", line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            table = helps if kind == "HELP" else types
            if name in table:
                fail(where, f"second {kind} for {name}")
            if name in seen_families and kind == "TYPE":
                fail(where, f"TYPE for {name} after its samples")
            if kind == "TYPE" and rest not in TYPES:
                fail(where, f"unknown type {rest!r}")
            table[name] = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(where, f"not a sample line: {line!r}")
        name, labels_text, value_text, _ = m.groups()
        labels = tuple(LABEL_PAIR.findall(labels_text or ""))
        if len({k for k, _ in labels}) != len(labels):
            fail(where, "a label given twice")
        family = family_of(name, types)
        if family not in types:
            fail(where, f"{name} has no TYPE")
        if seen_families and seen_families[-1] != family:
            if family in seen_families:
                fail(where, f"samples of {family} are not together")
            seen_families.append(family)
        elif not seen_families:
            seen_families.append(family)
        value = parse_value(value_text, where)
        if (name, labels) in series:
            fail(where, f"duplicate series {name}{labels}")
        if types[family] == "counter" and not value >= 0:
            fail(where, f"counter {name} is {value}")
        series[(name, labels)] = value
    for family, kind in types.items():
        if kind == "histogram":
            check_histogram(family, series, path)
    out = {}
    for (name, labels), value in series.items():
        key = name + ("{" + ",".join(f"{k}={v}" for k, v in labels) + "}" if labels else "")
        out[key] = value
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
