#!/usr/bin/env python3
"""Writes an inventory CSV of N assets (a hospital system's pumps, servers and
workstations) with Python's csv module, so the input is not of our own making."""
import csv
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ouis = ["00:12:21", "58:42:e4", "00:1a:01", "00:13:38", "9c:c8:ae", "00:03:b1"]
vendors = ["B. Braun", "Baxter", "Smiths Medical", "Fresenius Kabi", "BD", "ICU Medical"]
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow("asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality".split(","))
for i in range(n):
    v = i % len(vendors)
    kind = "infusion_pump" if i % 50 else ("pump_server" if i % 100 else "workstation")
    mac = "%s:%02x:%02x:%02x" % (ouis[v], (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)
    ip = "10.%d.%d.%d" % (20 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF)
    w.writerow([
        "A%07d" % i, kind, vendors[v], "Model %d, rev %s" % (v, "ABC"[i % 3]),
        "%d.%d.%d" % (v, i % 7, i % 13), "SN%08d" % i, mac, ip,
        "Building %d / Ward %d / Bed %d" % (i % 9, i % 31, i % 24), "pumps",
        ["life_sustaining", "high", "medium", "low"][i % 4],
    ])
