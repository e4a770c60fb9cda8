#!/usr/bin/env bash
# Regenerates oui.tsv: the IEEE MA-L (24-bit) assignments of the vendors that matter on a
# hospital's pump network, taken from Wireshark's `manuf` (a copy of the IEEE registry;
# Debian package libwireshark-data). Column 2 is the short vendor name pumpguard shows.
set -euo pipefail
manuf=${1:-/usr/share/wireshark/manuf}
{
  printf 'oui\tvendor\tieee_organization\n'
  awk -F'\t' '
    $1 ~ /^[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]$/ {
      org = $3; v = ""
      if (org ~ /^Baxter/) v = "Baxter"
      else if (org ~ /^Becton/ || org ~ /^Alaris/ || org ~ /^Carefusion/) v = "BD"
      else if (org ~ /^B\.Braun/) v = "B. Braun"
      else if (org ~ /^Smiths Medical/) v = "Smiths Medical"
      else if (org ~ /^Fresenius-Vial/ || org ~ /^Fresenius Kabi/) v = "Fresenius Kabi"
      else if (org ~ /^Fresenius Medical Care/) v = "Fresenius Medical Care"
      else if (org ~ /^ICU Medical/ || org ~ /^Hospira/) v = "ICU Medical"
      else if (org ~ /Mindray/) v = "Mindray"
      else if (org ~ /^Medtronic/) v = "Medtronic"
      else if (org ~ /^Raspberry Pi/) v = "Raspberry Pi"
      else if (org ~ /^Hewlett Packard$/ || org ~ /^HP Inc/) v = "HP"
      else if (org ~ /^Dell Inc/) v = "Dell"
      else if (org ~ /^Cisco Systems/) v = "Cisco"
      else if (org ~ /^VMware/) v = "VMware"
      else if (org ~ /^Zebra Technologies/) v = "Zebra"
      if (v != "") printf "%s\t%s\t%s\n", tolower($1), v, org
    }' "$manuf" | sort
} > "$(dirname "$0")/oui.tsv"
