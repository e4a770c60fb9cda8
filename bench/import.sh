#!/usr/bin/env bash
# Import of N (default 100,000) inventory rows: `pumpguard assets import` against each
# database's own bulk loader on the same CSV, run alternately by hyperfine in one run.
#   SQLite:     pumpguard (asset rows + one audit entry per asset, hashed, one
#               transaction)  vs  sqlite3 `.import` into an equivalent table (rows only).
#   PostgreSQL: pumpguard  vs  psql `\copy` into an equivalent table (rows only).
# The peers write no audit trail, so a ratio near 0.5 means "as fast as the database's
# own loader writing twice the rows". Prints rows/s and ratios; set BENCH_PG to a
# server URL (default postgres://postgres@127.0.0.1:5432) or BENCH_PG=none to skip it.
set -euo pipefail
N=${N:-100000}
RUNS=${RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -q -p pumpguard
BIN=$ROOT/target/release/pumpguard
CSV=$OUT/inventory.csv
rm -f "$OUT/sqlite.json" "$OUT/postgres.json"
python3 bench/gen_inventory.py "$N" > "$CSV"

COLUMNS="asset_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, vendor TEXT, model TEXT,
  firmware TEXT, serial TEXT, mac TEXT, ip TEXT, location TEXT, zone TEXT, criticality TEXT"

# Deleting the previous run's database (hundreds of MB) is not part of either import.
hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/sqlite.json" \
  --prepare "rm -f $OUT/ours.db* $OUT/peer.db*; sync" \
  -n pumpguard-sqlite \
  "$BIN --db sqlite://$OUT/ours.db assets import $CSV" \
  -n sqlite3-import \
  "sqlite3 $OUT/peer.db 'PRAGMA journal_mode=WAL;' 'CREATE TABLE assets ($COLUMNS); CREATE INDEX assets_mac ON assets (mac);' '.import --csv --skip 1 $CSV assets' >/dev/null"

if [ "$PG" != none ]; then
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS pumpguard_bench" -c "CREATE DATABASE pumpguard_bench" >/dev/null
  DB=$PG/pumpguard_bench
  hyperfine --runs "$RUNS" --warmup 1 --export-json "$OUT/postgres.json" \
    -n pumpguard-postgres \
    "psql -q $DB -c 'DROP TABLE IF EXISTS assets, audit_log, audit_head, _sqlx_migrations' 2>/dev/null; $BIN --db $DB assets import $CSV" \
    -n psql-copy \
    "psql -q $DB -c 'DROP TABLE IF EXISTS peer_assets' -c 'CREATE TABLE peer_assets ($COLUMNS)' -c 'CREATE INDEX peer_assets_mac ON peer_assets (mac)' -c '\\copy peer_assets FROM $CSV CSV HEADER' 2>/dev/null"
fi

python3 - "$N" "$OUT" <<'PY'
import json, os, sys
n, out = int(sys.argv[1]), sys.argv[2]
for backend in ("sqlite", "postgres"):
    path = os.path.join(out, backend + ".json")
    if not os.path.exists(path):
        continue
    ours, peer = json.load(open(path))["results"]
    ro, rp = n / ours["median"], n / peer["median"]
    print(f"{backend:9} pumpguard {ro:9.0f} rows/s | {peer['command']:18} {rp:9.0f} rows/s | ratio {ro / rp:.2f}")
PY
