#!/usr/bin/env bash
# Sensor throughput: `pumpguard sense --pcap` (decode, flows, dissection, identity and
# the store writes, on embedded SQLite) against `ndpiReader -i` (nDPI's DPI over the same
# file) and `tshark -q -z conv,tcp` (Wireshark's conversation table), each pinned to one
# core, run alternately by hyperfine on `pumpguard sim --pumps 400 --minutes 60`
# (~800,000 packets). Prints packets/s for each and the ratios. Issue 5's goal: ≥ 3×
# ndpiReader's packets/s on one core.
#
# Memory: peak RSS of `sense` on a capture holding 100,000 live TCP flows at its end,
# less its peak RSS on an empty capture. Goal: ≤ 64 MB per 100,000 live flows.
set -euo pipefail
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/pumpguard
WARD=$OUT/ward400.pcapng
[ -f "$WARD" ] || $BIN sim --out "$WARD" --pumps 400 --minutes 60 --seed 1 >/dev/null
PACKETS=$(python3 -c "import json; print(json.load(open('$OUT/ward400.truth.json'))['packets'])")
DB=$OUT/sense-bench.db
rm -f "$DB" "$DB-wal" "$DB-shm"
taskset -c 0 "$BIN" --db "sqlite://$DB" sense --pcap "$WARD" --format json > "$OUT/stages-report.json"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/sensor.json" \
  --prepare "rm -f $DB $DB-wal $DB-shm" \
  -n pumpguard-sense "taskset -c 0 $BIN --db sqlite://$DB sense --pcap $WARD --format json" \
  -n ndpiReader "taskset -c 0 ndpiReader -q -n 1 -i $WARD" \
  -n tshark-conv "taskset -c 0 tshark -r $WARD -q -z conv,tcp"
python3 - "$PACKETS" "$OUT/sensor.json" <<'PY'
import json, sys
n = int(sys.argv[1])
ours, ndpi, tshark = json.load(open(sys.argv[2]))["results"]
r = {x["command"]: n / x["median"] for x in (ours, ndpi, tshark)}
print(f"{n} packets, medians of {len(ours['times'])} runs, one core each:")
for x in (ours, ndpi, tshark):
    print(f"  {x['command']:<16} {n / x['median']:>12,.0f} packets/s ({x['median']:.2f} s)")
print(f"ratio vs ndpiReader: {r['pumpguard-sense'] / r['ndpiReader']:.2f}")
print(f"ratio vs tshark conv,tcp: {r['pumpguard-sense'] / r['tshark-conv']:.2f}")
PY

# Where the sensor's time goes (capture in memory, no store), for the next bottleneck.
cargo build --release -q -p pumpguard-sensor --example sensor_stages
taskset -c 0 "${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/sensor_stages" "$WARD" 3 | tail -1
echo "store (SQLite writes of one sense run): $(python3 -c "import json; print(round(json.load(open('$OUT/stages-report.json'))['store_seconds'], 3))") s"

FLOWS=100000
python3 bench/gen_flows.py $FLOWS "$OUT/flows100k.pcap"
python3 bench/gen_flows.py 0 "$OUT/flows0.pcap"
# The sensor's peak RSS once the capture is read (all flows live), and the whole
# command's peak RSS (which adds ending and writing every flow at once).
measure() {
  rm -f "$DB" "$DB-wal" "$DB-shm"
  /usr/bin/time -f %M -o "$OUT/time.txt" "$BIN" --db "sqlite://$DB" sense --pcap "$1" --format json > "$OUT/report.json"
  python3 -c "import json; r = json.load(open('$OUT/report.json')); print(r['sensing_peak_rss_kb'], r['stats']['live_flows'])"
  tail -1 "$OUT/time.txt"
}
read -r BASE _ < <(measure "$OUT/flows0.pcap" | head -1)
{ read -r FULL LIVE; read -r WHOLE; } < <(measure "$OUT/flows100k.pcap")
python3 -c "print(f'memory: {($FULL - $BASE) / 1024 * 100000 / $LIVE:.1f} MB per 100,000 live flows ($LIVE live; sensing peak RSS {$FULL / 1024:.1f} MB, empty capture {$BASE / 1024:.1f} MB; whole command incl. writing them {$WHOLE / 1024:.1f} MB)')"
