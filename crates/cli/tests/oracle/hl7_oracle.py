#!/usr/bin/env python3
"""Test oracle for `pumpguard hl7 get`: the same terser reads done by python `hl7`
(https://pypi.org/project/hl7/), a parser pumpguard does not share code with.

    hl7_oracle.py paths FILE        every path present in FILE (plus one past each
                                    level), as python-hl7 sees the tree, one per line
    hl7_oracle.py get FILE PATH...  one line per message, values tab-separated,
                                    tab/CR/LF/backslash written as \\t \\r \\n \\\\

FILE may be MLLP-framed. LF and CRLF segment ends are turned into CR first (python-hl7
splits segments on CR only). A read python-hl7 refuses with IndexError/KeyError is an
absent value: empty, as HAPI's terser returns.
"""
import re
import sys

import hl7

PATH = re.compile(r"^([A-Z0-9]{2,3})(?:\((\d+)\))?-(\d+)(?:\((\d+)\))?(?:-(\d+))?(?:-(\d+))?$")


def messages(data: bytes):
    if data.lstrip()[:1] == b"\x0b":
        frames = [f.split(b"\x1c")[0] for f in data.split(b"\x0b")[1:]]
        frames = [f for f in frames if f not in (b"\x06", b"\x15")]
    else:
        frames = [data]
    out = []
    for frame in frames:
        text = frame.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
        encoding = "latin-1" if b"|8859/1" in text.split(b"\r")[0] else "utf-8"
        batch = hl7.parse_batch(text.decode(encoding))
        out.extend(batch)
    return out


def extract(msg, path):
    m = PATH.match(path)
    if not m:
        raise SystemExit(f"bad path {path}")
    seg, occ, field, rep, comp, sub = m.groups()
    try:
        return msg.extract_field(seg, int(occ or 1), int(field), int(rep or 1), int(comp or 1), int(sub or 1))
    except (IndexError, KeyError):
        return ""


def escaped(value):
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def paths(msgs):
    seen = {}
    for msg in msgs:
        counts = {}
        for segment in msg:
            seg = str(segment[0])
            counts[seg] = counts.get(seg, 0) + 1
            occ = counts[seg]
            prefix = seg if occ == 1 else f"{seg}({occ})"
            for f in range(1, len(segment) + 1):
                field = segment[f] if f < len(segment) else None
                fixed = seg == "MSH" and f <= 2
                reps = len(field) if isinstance(field, hl7.Field) and not fixed else 1
                for r in range(1, reps + 2):
                    rep = field[r - 1] if field is not None and not fixed and r <= reps and isinstance(field, hl7.Field) else None
                    comps = len(rep) if isinstance(rep, hl7.Repetition) else 1
                    for c in range(1, comps + 2):
                        comp = rep[c - 1] if isinstance(rep, hl7.Repetition) and c <= comps else None
                        subs = len(comp) if isinstance(comp, hl7.Component) else 1
                        for s in range(1, subs + 2):
                            p = f"{prefix}-{f}" + (f"({r})" if r > 1 else "") + f"-{c}-{s}"
                            seen.setdefault(p, None)
    return list(seen)


def main():
    cmd, file = sys.argv[1], sys.argv[2]
    with open(file, "rb") as fh:
        msgs = messages(fh.read())
    if cmd == "paths":
        print("\n".join(paths(msgs)))
    elif cmd == "get":
        for msg in msgs:
            print("\t".join(escaped(extract(msg, p)) for p in sys.argv[3:]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
