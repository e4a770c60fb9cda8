#!/usr/bin/env bash
# HL7 parse throughput: `pumpguard hl7 get` against python `hl7` on the same ~100 MB of
# PCD messages (bench/gen_hl7.py), both parsing every message and printing MSH-10, PID-3
# and OBX-5 of each; run alternately by hyperfine. Both outputs are compared first.
# Prints MB/s and messages/s for both and the ratio. Issue 4's goal: >= 100x, >= 500 MB/s.
set -euo pipefail
RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=$ROOT/target/release/pumpguard
FILE=$OUT/pcd.hl7
MESSAGES=$(python3 bench/gen_hl7.py "$SIZE_MB" "$FILE")
BYTES=$(stat -c %s "$FILE")
$BIN hl7 get "$FILE" MSH-10 PID-3 OBX-5 > "$OUT/hl7.ours"
python3 bench/hl7_python.py "$FILE" > "$OUT/hl7.theirs"
cmp "$OUT/hl7.ours" "$OUT/hl7.theirs"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/hl7.json" \
  -n pumpguard "$BIN hl7 get $FILE MSH-10 PID-3 OBX-5 > /dev/null" \
  -n python-hl7 "python3 bench/hl7_python.py $FILE > /dev/null"
python3 - "$BYTES" "$MESSAGES" "$OUT/hl7.json" <<'PY'
import json, sys
size, n = int(sys.argv[1]), int(sys.argv[2])
ours, peer = json.load(open(sys.argv[3]))["results"]
def rate(r):
    return size / r["median"] / 1e6, n / r["median"]
(mo, no), (mp, np_) = rate(ours), rate(peer)
print(f"{size / 1e6:.0f} MB, {n} messages: pumpguard {mo:,.0f} MB/s {no:,.0f} msg/s | "
      f"python-hl7 {mp:,.1f} MB/s {np_:,.0f} msg/s | ratio {mo / mp:.0f}")
PY
# The same reads in-process, against the hl7-parser crate (DESIGN.md §6's candidate).
cargo run --release -q -p pumpguard-hl7 --example compare_hl7_parser -- "$FILE"
