#!/usr/bin/env bash
# Simulator throughput: `pumpguard sim` generating ~1,600,000 packets (400 pumps, 120
# minutes) against `editcap` merely copying that same capture (a floor: reading and
# writing pcapng without generating anything), run alternately by hyperfine.
# Prints packets/s for both and the ratio. Issue 3's goal: 1 M packets in under 10 s.
set -euo pipefail
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/pumpguard
ARGS="--pumps 400 --minutes 120 --seed 1"
$BIN sim --out "$OUT/ward.pcapng" $ARGS 2>/dev/null
PACKETS=$(python3 -c "import json; print(json.load(open('$OUT/ward.truth.json'))['packets'])")
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/sim.json" \
  -n pumpguard-sim "$BIN sim --out $OUT/ward2.pcapng $ARGS" \
  -n editcap-copy "editcap -F pcapng $OUT/ward.pcapng $OUT/copy.pcapng"
python3 - "$PACKETS" "$OUT/sim.json" <<'PY'
import json, sys
n = int(sys.argv[1])
ours, peer = json.load(open(sys.argv[2]))["results"]
ro, rp = n / ours["median"], n / peer["median"]
print(f"{n} packets: pumpguard sim {ro:,.0f} packets/s ({ours['median']:.2f} s) | editcap copy {rp:,.0f} packets/s | ratio {ro / rp:.2f}")
PY
