#!/usr/bin/env python3
"""Writes an inventory CSV of N assets (default 100,000) for the vulnerability-matching
benchmark: infusion pumps and their servers of the models CISA's medical advisories
name (BD Alaris, Baxter Sigma Spectrum, B. Braun, Smiths Medfusion, Fresenius Agilia,
Medtronic MiniMed) at firmware both inside and just outside the affected ranges, plus
models no advisory names. Written with Python's csv module."""
import csv
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
# (vendor, model, firmware choices, kind)
models = [
    ("BD", "Alaris PC Unit 8015", ["9.13", "9.19", "9.33", "9.33.1", "12.1", "12.1.3", "12.2"], "infusion_pump"),
    ("Becton, Dickinson and Company", "Alaris 8015 PC Unit", ["9.5", "9.7", "9.34"], "infusion_pump"),
    ("BD", "Alaris Gateway Workstation", ["1.1.3", "1.1.6", "1.3.2", "1.6.1"], "pump_server"),
    ("BD", "Alaris Systems Manager", ["4.33", "12.3", "12.4"], "pump_server"),
    ("Baxter", "Sigma Spectrum", ["6.x", "8.x", "8.02.01", "9.x"], "infusion_pump"),
    ("Baxter", "Spectrum IQ", ["9.02.00", "9.x"], "infusion_pump"),
    ("B. Braun", "Infusomat Space Large Volume Pump", ["686E", "688H"], "infusion_pump"),
    ("B. Braun", "SpaceCom", ["L81", "L82", "U61", "U62", "012U000040", "012U000061"], "infusion_pump"),
    ("B. Braun Melsungen AG", "Battery Pack SP with Wi-Fi", ["L81", "028U000061", "053L000093"], "infusion_pump"),
    ("Smiths Medical", "Medfusion 4000", ["1.1", "1.5", "1.6", "1.7.2"], "infusion_pump"),
    ("Smiths Medical", "Medfusion 3500", ["5.0", "6.1"], "infusion_pump"),
    ("Fresenius Kabi", "Agilia Connect WiFi module", ["D25", "D26"], "infusion_pump"),
    ("Fresenius Kabi", "Agilia Link+", ["3.0 D15", "3.0 D16"], "infusion_pump"),
    ("Medtronic", "MiniMed Paradigm 522", ["2.4A", "2.6A"], "infusion_pump"),
    ("ICU Medical", "Plum 360", ["15.10", "15.11"], "infusion_pump"),
    ("Mindray", "BeneFusion SP5", ["1.0", "2.1"], "infusion_pump"),
    ("Dell", "OptiPlex 7090", ["", "1.2.0"], "workstation"),
]
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow("asset_id,kind,vendor,model,firmware,mac,ip,zone,criticality".split(","))
for i in range(n):
    vendor, model, firmwares, kind = models[i % len(models)]
    firmware = firmwares[(i // len(models)) % len(firmwares)]
    mac = "02:00:%02x:%02x:%02x:%02x" % ((i >> 24) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)
    ip = "10.%d.%d.%d" % (20 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF)
    w.writerow([
        "F%07d" % i, kind, vendor, model, firmware, mac, ip,
        "pumps" if kind == "infusion_pump" else "clinical",
        ["life_sustaining", "high", "medium", "low"][i % 4],
    ])
