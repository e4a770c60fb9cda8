#!/usr/bin/env bash
# Vulnerability intelligence at hospital-system scale: `pumpguard vuln import` of the whole
# CISA CSAF corpus (../shared/data/csaf/cisa-corpus, 2,035 advisories) into an empty
# store, then `pumpguard vuln match` of it against N (default 100,000) generated assets
# (bench/gen_fleet.py), each timed by hyperfine. Issue 7's goals: import <= 5 s, match
# <= 1 s on this machine. `match` runs with PUMPGUARD_TIMINGS=1, which prints on stderr
# how long loading, matching and writing took, so the matcher's own time is shown too.
set -euo pipefail
N=${N:-100000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
DATA=${PUMPGUARD_SHARED_DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] || DATA=/work/shared/data
CORPUS=$DATA/csaf/cisa-corpus
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=$ROOT/target/release/pumpguard
DB=$OUT/vuln.db
python3 bench/gen_fleet.py "$N" > "$OUT/fleet.csv"

echo "== import: $(find "$CORPUS" -name '*.json' | wc -l) files from $CORPUS"
hyperfine --runs "$RUNS" --export-json "$OUT/vuln-import.json" \
  --prepare "rm -f $DB $DB-wal $DB-shm" \
  "$BIN --db sqlite://$DB vuln import $CORPUS --format json"

rm -f "$DB" "$DB-wal" "$DB-shm"
$BIN --db "sqlite://$DB" vuln import "$CORPUS" --format json > "$OUT/vuln-import.out"
$BIN --db "sqlite://$DB" assets import "$OUT/fleet.csv" > /dev/null
echo "== match: $N assets"
PUMPGUARD_TIMINGS=1 $BIN --db "sqlite://$DB" vuln match --format json > "$OUT/vuln-match.json"
python3 - "$OUT/vuln-match.json" <<'PY'
import collections, json, sys
f = json.load(open(sys.argv[1]))
by = collections.Counter(x["status"] for x in f)
print(f"{len(f)} findings on {len({x['asset_id'] for x in f})} assets: {dict(by)}")
PY
# Twice: the whole job, and the job less its output (a filter that keeps no finding:
# the ~600 MB of JSON for 100,000 assets takes a second to write on its own).
hyperfine --runs "$RUNS" --export-json "$OUT/vuln-match.json.time" \
  "$BIN --db sqlite://$DB vuln match --format json > /dev/null" \
  "$BIN --db sqlite://$DB vuln match --format json --cve CVE-0000-0000 > /dev/null"
python3 - "$OUT/vuln-import.json" "$OUT/vuln-match.json.time" <<'PY'
import json, sys
imp = json.load(open(sys.argv[1]))["results"][0]["mean"]
res = json.load(open(sys.argv[2]))["results"]
mat, quiet = res[0]["mean"], res[1]["mean"]
print(f"import {imp:.2f} s (goal <= 5 s, ratio to goal {imp / 5:.2f}); "
      f"match end to end {mat:.2f} s, without writing the findings {quiet:.2f} s "
      f"(goal <= 1 s, ratios to goal {mat:.2f} and {quiet:.2f})")
PY
