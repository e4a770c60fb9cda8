#!/usr/bin/env python3
"""The peer side of bench/hl7.sh: python `hl7` parses every message of FILE and prints
the same terser reads as `pumpguard hl7 get FILE MSH-10 PID-3 OBX-5`."""
import sys

import hl7

data = open(sys.argv[1], "rb").read().decode("utf-8")
out = []
for part in data.split("\rMSH|"):
    text = part if part.startswith("MSH|") else "MSH|" + part
    m = hl7.parse(text)
    out.append("\t".join(m.extract_field(s, 1, f, 1, 1, 1) for s, f in (("MSH", 10), ("PID", 3), ("OBX", 5))))
sys.stdout.write("\n".join(out) + "\n")
